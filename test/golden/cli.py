#!/usr/bin/env python3
"""End-to-end checks of the roam command line: exit codes, outputs, flags.

Runs the real binary on the examples and on small temporary trees.
usage: cli.py ROAM REPO_ROOT
"""
import json
import os
import subprocess
import sys
import tempfile

roam, repo = sys.argv[1], sys.argv[2]
EX = os.path.join(repo, "manifests", "examples")
LIVE = os.path.join(repo, "hack", "demo", "live.json")
STATE = os.path.join(repo, "hack", "demo", "state")
passed = failed = 0


def run(*args, env=None):
    e = dict(os.environ)
    for k in list(e):
        if k.startswith("ROAM_"):
            del e[k]
    e.update(env or {})
    p = subprocess.run([roam, *args], capture_output=True, text=True, timeout=60, env=e)
    assert p.returncode < 128, f"crashed: {args}: {p.returncode}\n{p.stderr}"
    return p


def case(name):
    def wrap(fn):
        global passed, failed
        try:
            fn()
            passed += 1
            print(f"ok   {name}")
        except AssertionError as ex:
            failed += 1
            print(f"FAIL {name}: {ex}")
        return fn
    return wrap


@case("version")
def _():
    p = run("version")
    assert p.returncode == 0 and p.stdout.startswith("roam "), p.stdout


@case("unknown command exits 1 with usage")
def _():
    p = run("frobnicate")
    assert p.returncode == 1 and "unknown command 'frobnicate'" in p.stderr, p.stderr


@case("unknown option is a usage error")
def _():
    p = run("validate", "--frob", EX)
    assert p.returncode == 1 and "--frob" in p.stderr, p.stderr


@case("bad number is a usage error")
def _():
    p = run("plan", "--max-removals", "ten", "--source", EX, "--live-state", LIVE)
    assert p.returncode == 1 and "--max-removals" in p.stderr, p.stderr


@case("validate examples")
def _():
    p = run("validate", EX)
    assert p.returncode == 0, p.stderr
    assert "0 rejected" in p.stdout, p.stdout


@case("validate -v prints canonical forms that validate again")
def _():
    p = run("validate", "-v", EX)
    assert p.returncode == 0, p.stderr
    assert p.stdout.count("kind: Application") >= 4, p.stdout
    with tempfile.TemporaryDirectory() as d:
        docs = p.stdout.rsplit("\n", 2)[0]  # drop the summary line
        path = os.path.join(d, "canon.yaml")
        with open(path, "w") as f:
            f.write(docs + "\n")
        q = run("validate", "-v", path)
        assert q.returncode == 0, q.stderr
        assert q.stdout.split("\n")[:-2] == p.stdout.split("\n")[:-2], "print is not a fixed point"


@case("validate reports every problem with file:line:col and path")
def _():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bad.yaml")
        with open(path, "w") as f:
            f.write("""apiVersion: core.oam.dev/v1beta1
kind: Application
metadata:
  name: shop
spec:
  components:
    - name: web
      type: cloud-run-service
      properties: {project: acme-shop, region: europe-west1}
      traits:
        - type: invoker
          properties:
            members: [group:ok@acme.example, users:bob@acme.example]
    - name: worker
      type: k8s-objects
""")
        p = run("validate", path)
        assert p.returncode == 1, p.returncode
        assert f"{path}:13:" in p.stderr and "spec.components[0].traits[0].properties.members[1]" in p.stderr, p.stderr
        assert "spec.components[1].type" in p.stderr, p.stderr
        assert "1 rejected" in p.stdout, p.stdout


@case("validate without a path")
def _():
    p = run("validate")
    assert p.returncode == 1 and "no PATH" in p.stderr


@case("plan without a source says what to do")
def _():
    p = run("plan", "--live-state", LIVE)
    assert p.returncode == 1 and "--source" in p.stderr, p.stderr


@case("plan against an unreachable API fails clearly, per app")
def _():
    p = run("plan", "--source", EX, "--output", "json", env={
        "ROAM_RUN_ENDPOINT": "http://127.0.0.1:9", "ROAM_IAM_ENDPOINT": "http://127.0.0.1:9",
        "GCE_METADATA_HOST": "127.0.0.1:9", "CLOUDSDK_CONFIG": "/nonexistent",
        "ROAM_STATE": "/nonexistent/state"})
    assert p.returncode == 1, (p.returncode, p.stderr)
    j = json.loads(p.stdout)
    assert all(a["status"] == "failed" for a in j["apps"]), j["apps"]
    assert "no credentials" in json.dumps(j["apps"]) or "metadata" in json.dumps(j["apps"]), j["apps"]


@case("plan text on the demo drift")
def _():
    p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    assert "user:intruder@acme.example" in out, out
    assert "to add" in out and "to remove" in out, out


@case("plan --detailed-exitcode is 2 with drift")
def _():
    p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE, "--detailed-exitcode")
    assert p.returncode == 2, (p.returncode, p.stderr)


@case("plan JSON has the documented shape")
def _():
    p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE, "--output", "json")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    for k in ("source", "revision", "apps", "changes", "summary"):
        assert k in j, k
    assert set(j["summary"]) >= {"add", "remove", "resources_changed", "resources_unchanged"}
    for c in j["changes"]:
        assert set(c) >= {"resource", "action", "role", "member", "condition", "app", "origin", "reason"}, c
        assert c["action"] in ("add", "remove") and c["reason"] in ("declared", "authoritative", "pruned", "restored")
    assert j["summary"]["add"] == sum(c["action"] == "add" for c in j["changes"])
    assert j["summary"]["remove"] == sum(c["action"] == "remove" for c in j["changes"])
    names = {a["name"]: a["status"] for a in j["apps"]}
    assert names.get("payments") == "ok", names
    removed = {(c["member"], c["reason"]) for c in j["changes"] if c["action"] == "remove"}
    assert ("user:intruder@acme.example", "authoritative") in removed, removed
    # roam never removes what it does not own outside an authoritative role.
    assert not any(c["member"] == "user:sre-oncall@acme.example" for c in j["changes"])
    # auditConfigs and the conditional viewer binding are not touched.
    assert not any(c["role"] == "roles/run.viewer" and c["resource"].endswith("payments-api") for c in j["changes"])


@case("plan is converged against its own result")
def _():
    # Apply the planned changes to the export by hand, then plan again: no changes.
    p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE, "--output", "json")
    plan = json.loads(p.stdout)
    with open(LIVE) as f:
        live = json.load(f)
    for c in plan["changes"]:
        pol = live.setdefault(c["resource"], {})
        binds = pol.setdefault("bindings", [])
        cond = c["condition"]
        b = next((b for b in binds if b["role"] == c["role"] and b.get("condition") == cond), None)
        if c["action"] == "add":
            if b is None:
                b = {"role": c["role"], "members": []}
                if cond:
                    b["condition"] = cond
                binds.append(b)
            b["members"].append(c["member"])
        else:
            b["members"].remove(c["member"])
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "live.json")
        with open(path, "w") as f:
            json.dump(live, f)
        # The pruned binding has left the live policy; a ledger written after the
        # apply would no longer hold it, so plan without the old ledger.
        q = run("plan", "--source", EX, "--live-state", path, "--state", os.path.join(d, "none"),
                "--detailed-exitcode")
        assert q.returncode == 0, (q.returncode, q.stdout, q.stderr)
        assert "No changes" in q.stdout, q.stdout


@case("plan with a bad live-state file")
def _():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "live.json")
        with open(path, "w") as f:
            f.write('{"projects/p/locations/r/services/s": {"bindings": [{"role": 7}]}}')
        p = run("plan", "--source", EX, "--live-state", path)
        assert p.returncode == 1 and "bindings[0].role" in p.stderr, p.stderr


@case("environment variables configure flags")
def _():
    p = run("plan", env={"ROAM_SOURCE": EX, "ROAM_LIVE_STATE": LIVE, "ROAM_STATE": STATE,
                          "ROAM_OUTPUT": "json"})
    assert p.returncode == 0, p.stderr
    json.loads(p.stdout)


@case("shards together cover every app exactly once")
def _():
    full = json.loads(run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE,
                          "--output", "json").stdout)
    seen = []
    changes = 0
    for i in range(3):
        p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE, "--output", "json",
                "--shard", f"{i}/3")
        assert p.returncode == 0, p.stderr
        j = json.loads(p.stdout)
        seen += [a["name"] for a in j["apps"]]
        changes += len(j["changes"])
    assert sorted(seen) == sorted(a["name"] for a in full["apps"]), (seen, full["apps"])
    assert changes == len(full["changes"]), (changes, len(full["changes"]))
    # The job's environment picks the shard too.
    p = run("plan", "--source", EX, "--live-state", LIVE, "--state", STATE, "--output", "json",
            env={"CLOUD_RUN_TASK_INDEX": "0", "CLOUD_RUN_TASK_COUNT": "3"})
    assert p.returncode == 0, p.stderr
    assert run("plan", "--shard", "3/2", "--source", EX, "--live-state", LIVE).returncode == 1


print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
