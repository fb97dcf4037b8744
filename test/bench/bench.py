#!/usr/bin/env python3
"""The benchmark behind `make bench` (bench/RESULTS.md).

For each N (default 1,000 and 10,000 services, spread over projects and
regions) it generates the services with IAM policies, M apps (N/10)
referencing them, and a fraction of drift (declared bindings missing from
the live policies), seeds a server, and times `roam plan`, `roam apply`
(drifted), `roam apply` again (converged) and `roam plan
--detailed-exitcode`.  Each row: wall time, API requests by method, writes,
peak RSS (wait4 of the child), the time from exec to roam's first request,
and the floor -- requests x injected latency / in-flight -- with the ratio
wall/floor.  roam runs with --max-inflight 32 --qps 0 against 10 ms of
injected latency.

The server is test/bench/benchd.js (Node.js), a purpose-built stand-in for
the IAM paths: the Python emulator cannot answer 3,200 requests a second.
The ceilings of both servers are measured in the same run with wrk (or a
Python client when wrk is missing), and one row runs against the Python
emulator, so a reader sees which side is the limit.

Then the peer: the same 100 drifted services converged by a script of
`gcloud run services add-iam-policy-binding` / `remove-iam-policy-binding`
calls (one per drifted binding) and by one `roam apply`, against the Python
emulator (gcloud uses the Run Admin API v1 IAM paths); skipped with a notice
when gcloud is missing.

Start-up: exec to the first request of `roam apply` on manifests/examples/
(the median of 21 runs).

Push: `roam serve --push-auth none` on manifests/examples/ against benchd
(no injected latency: loopback); 100 times, a policy is changed out of band,
a Pub/Sub push (Asset feed) names the resource, and the time from sending
the push to the corrective setIamPolicy arriving at the server is taken
(median, 90th percentile, max); pushes are 250 ms apart (--push-gap-ms),
so each finds roam idle.  Skipped with a notice when `roam help`
does not list serve.

  bench.py --roam build/roam [--sizes 1000,10000] [--drift 0.1]
           [--latency-ms 10] [--inflight 32] [--gcloud-services 100]
           [--pushes 100] [--no-gcloud] [--update bench/RESULTS.md]
"""
import argparse
import base64
import datetime
import json
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(REPO, "test", "emulator", "emulator.py")
BENCHD = os.path.join(HERE, "benchd.js")
REGIONS = ["europe-west1", "us-central1", "asia-east1"]
DOMAIN = "bench.example"


# ---- generation ----

def svc_name(i, n_projects):
    return (f"bench-p{i % n_projects}", REGIONS[(i // n_projects) % len(REGIONS)], f"svc-{i:05d}")


def resource(p, r, s):
    return f"projects/{p}/locations/{r}/services/{s}"


def generate(n, m, drift, tmp, rng, n_projects=10):
    """Returns (seed, source dir, number of drifted services)."""
    src = os.path.join(tmp, f"apps-{n}")
    os.makedirs(src, exist_ok=True)
    per = max(1, n // m)
    drifted = set(rng.sample(range(n), int(round(n * drift))))
    services = []
    for i in range(n):
        p, r, s = svc_name(i, n_projects)
        team = i // per
        bindings = [{"role": "roles/run.admin", "members": [f"user:owner@{DOMAIN}"]},
                    {"role": "roles/run.viewer", "members": [f"group:auditors@{DOMAIN}"],
                     "condition": {"title": "audit", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}}]
        if i not in drifted:
            bindings.append({"role": "roles/run.invoker", "members": [f"group:team-{team}@{DOMAIN}"]})
        services.append({"name": resource(p, r, s), "policy": {"bindings": bindings}})
    for a in range(m):
        lines = ["apiVersion: core.oam.dev/v1beta1", "kind: Application",
                 f"metadata: {{name: team-{a}}}", "spec:", "  components:"]
        for i in range(a * per, min(n, (a + 1) * per)):
            p, r, s = svc_name(i, n_projects)
            lines += [f"    - name: {s}", "      type: cloud-run-service",
                      f"      properties: {{project: {p}, region: {r}}}", "      traits:",
                      "        - type: invoker",
                      f"          properties: {{members: [group:team-{a}@{DOMAIN}]}}"]
        lines += ["  policies:", "    - {name: no-public, type: no-public-access}",
                  f"    - {{name: members, type: allowed-members, properties: {{domains: [{DOMAIN}]}}}}"]
        with open(os.path.join(src, f"team-{a}.yaml"), "w") as f:
            f.write("\n".join(lines) + "\n")
    return {"services": services}, src, len(drifted)


# ---- servers ----

def http(method, url, body=None, headers=None, timeout=60):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        raw = r.read()
        return json.loads(raw) if raw else None


class Server:
    """benchd.js (kind 'benchd') or the Python emulator (kind 'emulator')."""

    def __init__(self, kind, tmp, seed):
        self.kind = kind
        self.dir = tempfile.mkdtemp(prefix=f"roam-bench-{kind}-", dir=tmp)
        seed_path = os.path.join(self.dir, "seed.json")
        with open(seed_path, "w") as f:
            json.dump(seed, f)
        port_file = os.path.join(self.dir, "port")
        if kind == "benchd":
            cmd = ["node", BENCHD, "--seed", seed_path, "--port", "0", "--port-file", port_file]
        else:
            cmd = [sys.executable, EMULATOR, "--seed", seed_path, "--port", "0", "--port-file", port_file]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"{kind} did not start")
            time.sleep(0.02)
        self.port = int(open(port_file).read())
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def reseed(self, seed):
        if self.kind == "benchd":
            http("POST", self.url + "/_bench/seed", seed)
        else:
            http("POST", self.url + "/_emulator/state", seed)

    def latency(self, ms):
        path = "/_bench/config" if self.kind == "benchd" else "/_emulator/config"
        http("POST", self.url + path, {"latency_ms": ms})

    def clear(self):
        if self.kind == "benchd":
            http("DELETE", self.url + "/_bench/stats")
        else:
            http("DELETE", self.url + "/_emulator/log")

    def token(self):
        if self.kind == "benchd":
            return "ya29.bench"
        return http("POST", self.url + "/_emulator/token", {"lifetime": 3600})["access_token"]

    def stats(self):
        """{"requests": {"GET getIamPolicy": n, ...}, "writes": n, "first_ms", "first_api_ms"}"""
        if self.kind == "benchd":
            s = http("GET", self.url + "/_bench/stats")
            req = {}
            for k, v in s["requests"].items():
                meth, verb, status = k.split(" ")
                key = f"{meth} {verb}" + ("" if status in ("200", "201") else f" ({status})")
                req[key] = req.get(key, 0) + v
            return {"requests": req, "first_ms": s["first_ms"], "first_api_ms": s["first_api_ms"],
                    "last_ms": s["last_ms"], "max_inflight": s["max_inflight"]}
        log = http("GET", self.url + "/_emulator/log")
        req = {}
        first = first_api = 0
        for e in log:
            verb = e["path"].rsplit(":", 1)[1] if ":" in e["path"].rsplit("/", 1)[-1] else (
                "token" if "/token" in e["path"] else "get")
            key = f"{e['method']} {verb}" + ("" if e["status"] in (200, 201) else f" ({e['status']})")
            req[key] = req.get(key, 0) + 1
            t = datetime.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000
            first = t if not first else min(first, t)
            if "/computeMetadata/" not in e["path"]:
                first_api = t if not first_api else min(first_api, t)
        return {"requests": req, "first_ms": first, "first_api_ms": first_api, "last_ms": None,
                "max_inflight": None}


# ---- roam ----

def roam_env(server, home):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("ROAM_") and k not in ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST")}
    env.update({"GCE_METADATA_HOST": f"127.0.0.1:{server.port}", "ROAM_RUN_ENDPOINT": server.url,
                "ROAM_IAM_ENDPOINT": server.url, "HOME": home,
                "CLOUDSDK_CONFIG": os.path.join(home, "no-gcloud")})
    return env


def run_measured(cmd, env, out_dir, tag):
    """Runs cmd; returns dict(rc, wall_s, rss_kib, t0_ms, stdout, stderr)."""
    out = os.path.join(out_dir, tag + ".out")
    err = os.path.join(out_dir, tag + ".err")
    rss_file = os.path.join(out_dir, tag + ".rss")
    # The peak RSS of a child forked from this (large) Python process would
    # count Python's pages too; /usr/bin/time forks from a small process.
    wrap = ["/usr/bin/time", "-f", "%M", "-o", rss_file] if os.path.exists("/usr/bin/time") else []
    with open(out, "w") as fo, open(err, "w") as fe:
        t0 = time.time()
        p = subprocess.Popen(wrap + cmd, stdout=fo, stderr=fe, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.time() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss
    if wrap:
        with open(rss_file) as f:
            rss = int(f.read().strip().splitlines()[-1])
    return {"rc": p.returncode, "wall_s": wall, "rss_kib": rss, "t0_ms": t0 * 1000,
            "stdout": open(out).read(), "stderr": open(err).read()}


def one_pass(args, server, src, state, mode, extra, out_dir, tag):
    server.clear()
    cmd = [args.roam, mode, "--source", src, "--state", state, "--max-inflight", str(args.inflight),
           "--qps", "0", *extra]
    r = run_measured(cmd, roam_env(server, out_dir), out_dir, tag)
    s = server.stats()
    r["requests"] = s["requests"]
    r["reads"] = sum(v for k, v in s["requests"].items() if "getIamPolicy" in k)
    r["writes"] = sum(v for k, v in s["requests"].items() if k.startswith("POST setIamPolicy"))
    api = sum(v for k, v in s["requests"].items() if "token" not in k)
    r["api_requests"] = api
    r["floor_s"] = api * args.latency_ms / 1000.0 / args.inflight
    r["ratio"] = r["wall_s"] / r["floor_s"] if r["floor_s"] > 0 else float("nan")
    r["first_req_ms"] = s["first_ms"] - r["t0_ms"] if s["first_ms"] else float("nan")
    r["first_api_ms"] = s["first_api_ms"] - r["t0_ms"] if s["first_api_ms"] else float("nan")
    r["max_inflight"] = s["max_inflight"]
    m = re.search(r"(\d+) ledger records written", r["stderr"])
    r["ledger_writes"] = int(m.group(1)) if m else 0
    # After the last answer: deciding, rendering, the ledger, exit.
    r["tail_ms"] = r["t0_ms"] + r["wall_s"] * 1000 - s["last_ms"] if s.get("last_ms") else float("nan")
    if r["rc"] >= 128 or r["rc"] < 0:
        raise RuntimeError(f"roam crashed ({r['rc']}): {r['stderr'][-2000:]}")
    return r


def run_size(args, kind, n, tmp, rng, rows):
    m = max(1, n // args.per_app)
    seed, src, n_drift = generate(n, m, args.drift, tmp, rng)
    server = Server(kind, tmp, seed)
    try:
        server.latency(args.latency_ms)
        state = os.path.join(tmp, f"state-{kind}-{n}")
        shutil.rmtree(state, ignore_errors=True)
        label = f"{n:,} svc / {m:,} apps" + ("" if kind == "benchd" else " (emulator.py)")
        # The first converged apply still rewrites the records whose status
        # changed (their last changes); the second is the steady state.
        steps = [("plan (drifted)", "plan", []), ("apply (drifted)", "apply", []),
                 ("apply (converged)", "apply", []), ("apply (converged again)", "apply", []),
                 ("plan --detailed-exitcode", "plan", ["--detailed-exitcode"])]
        for name, mode, extra in steps:
            r = one_pass(args, server, src, state, mode, extra, tmp, f"{kind}-{n}-{mode}")
            r.update({"label": label, "step": name, "n": n, "m": m, "drift": n_drift, "server": kind})
            rows.append(r)
            print(fmt_row(r), flush=True)
            if name == "apply (drifted)" and (r["rc"] != 0 or r["writes"] != n_drift):
                print(f"bench: WARNING: drifted apply exit {r['rc']}, {r['writes']} writes for {n_drift} drifted",
                      file=sys.stderr)
            if name.startswith("apply (converged") and r["writes"] != 0:
                print(f"bench: WARNING: converged pass wrote {r['writes']} times", file=sys.stderr)
            if name.startswith("plan --detailed") and r["rc"] != 0:
                print(f"bench: WARNING: plan after apply exit {r['rc']}", file=sys.stderr)
    finally:
        server.close()


def fmt_requests(req):
    return ", ".join(f"{k} {v}" for k, v in sorted(req.items()) if "token" not in k)


def fmt_row(r):
    return (f"| {r['label']} | {r['step']} | {r['rc']} | {r['wall_s']:.2f} | {r['floor_s']:.2f} | "
            f"{r['ratio']:.2f} | {fmt_requests(r['requests'])} | {r['writes']} / {r['ledger_writes']} | "
            f"{r['rss_kib'] / 1024:.1f} | {r['first_req_ms']:.1f} / {r['first_api_ms']:.0f} | "
            f"{'-' if r['tail_ms'] != r['tail_ms'] else format(r['tail_ms'], '.0f')} | "
            f"{r['max_inflight'] if r['max_inflight'] is not None else '-'} |")


ROW_HEAD = ("| size | pass | exit | wall s | floor s | wall/floor | API requests | IAM / ledger writes | "
            "peak RSS MiB | first request / first Run call, ms | after the last answer, ms | "
            "max in flight seen |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|")


# ---- server ceilings ----

def ceiling(server, latency_ms, seconds, conns):
    """Requests/s the server sustains for getIamPolicy at `conns` in flight."""
    server.latency(latency_ms)
    if server.kind == "benchd":
        path = "/v2/" + resource(*svc_name(0, 10)) + ":getIamPolicy?options.requestedPolicyVersion=3"
    else:
        path = "/v2/" + resource(*svc_name(0, 10)) + ":getIamPolicy?options.requestedPolicyVersion=3"
    url = server.url + path
    tok = server.token()
    if shutil.which("wrk"):
        p = subprocess.run(["wrk", "-t2", f"-c{conns}", f"-d{seconds}s", "-H", f"Authorization: Bearer {tok}",
                            url], capture_output=True, text=True)
        m = re.search(r"Requests/sec:\s*([\d.]+)", p.stdout)
        server.clear()
        return (float(m.group(1)) if m else float("nan")), "wrk"
    # Fallback: a thread per connection with http.client keep-alive.
    import http.client
    stop = time.time() + seconds
    counts = [0] * conns

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        while time.time() < stop:
            c.request("GET", path, headers={"Authorization": f"Bearer {tok}"})
            c.getresponse().read()
            counts[i] += 1
        c.close()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    server.clear()
    return sum(counts) / seconds, "python client (wrk not installed)"


# ---- the peer: gcloud ----

GCLOUD_APP_HEAD = """apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: {name: peer}
spec:
  components:
"""


def peer_setup(n, tmp):
    """n services: even ones miss the declared invoker (add), odd ones carry
    an undeclared invoker under an authoritative role (remove).  Returns the
    seed, the app dir and the gcloud commands that converge it."""
    src = os.path.join(tmp, "peer-apps")
    os.makedirs(src, exist_ok=True)
    services, lines, cmds = [], [GCLOUD_APP_HEAD.rstrip("\n")], []
    for i in range(n):
        s = f"peer-{i:03d}"
        want = f"group:team-{i}@{DOMAIN}"
        bindings = [{"role": "roles/run.admin", "members": [f"user:owner@{DOMAIN}"]}]
        if i % 2 == 0:
            cmds.append(["add-iam-policy-binding", s, "--member", want, "--role", "roles/run.invoker"])
        else:
            bindings.append({"role": "roles/run.invoker", "members": [want, f"user:intruder-{i}@{DOMAIN}"]})
            cmds.append(["remove-iam-policy-binding", s, "--member", f"user:intruder-{i}@{DOMAIN}",
                         "--role", "roles/run.invoker"])
        services.append({"name": resource("bench-peer", "europe-west1", s), "policy": {"bindings": bindings}})
        lines += [f"    - name: {s}", "      type: cloud-run-service",
                  "      properties: {project: bench-peer, region: europe-west1}", "      traits:",
                  "        - type: invoker", f"          properties: {{members: [{want}]}}"]
    lines += ["  policies:", "    - name: only-declared-invokers", "      type: authoritative-bindings",
              "      properties: {rules: [{roles: [roles/run.invoker]}]}"]
    with open(os.path.join(src, "peer.yaml"), "w") as f:
        f.write("\n".join(lines) + "\n")
    return {"services": services}, src, cmds


def normalized_policies(server):
    pols = http("GET", server.url + "/_emulator/state")["policies"]
    out = {}
    for k, p in pols.items():
        out[k] = sorted((b["role"], json.dumps(b.get("condition")), tuple(sorted(b["members"])))
                        for b in p.get("bindings", []))
    return out


def run_peer(args, tmp):
    if args.no_gcloud or args.gcloud_services <= 0:
        return None
    gcloud = shutil.which("gcloud")
    if gcloud is None:
        print("bench: skipped the gcloud comparison: gcloud not found", file=sys.stderr)
        return {"skipped": "gcloud not found"}
    seed, src, cmds = peer_setup(args.gcloud_services, tmp)
    server = Server("emulator", tmp, seed)
    res = {"n": args.gcloud_services, "bindings": len(cmds)}
    try:
        server.latency(args.latency_ms)
        tok_file = os.path.join(tmp, "gcloud-token")
        with open(tok_file, "w") as f:
            f.write(server.token())
        cfg = os.path.join(tmp, "gcloud-config")
        env = {**os.environ, "CLOUDSDK_CONFIG": cfg, "CLOUDSDK_CORE_PROJECT": "bench-peer",
               "CLOUDSDK_API_ENDPOINT_OVERRIDES_RUN": server.url + "/",
               "CLOUDSDK_CORE_DISABLE_PROMPTS": "1", "CLOUDSDK_COMPONENT_MANAGER_DISABLE_UPDATE_CHECK": "1",
               "CLOUDSDK_CORE_DISABLE_USAGE_REPORTING": "true"}
        server.clear()
        t0 = time.time()
        failed = 0
        for c in cmds:
            p = subprocess.run([gcloud, "run", "services", *c, "--region", "europe-west1", "--platform",
                                "managed", "--access-token-file", tok_file, "--format", "none", "--quiet"],
                               env=env, capture_output=True, text=True)
            if p.returncode != 0:
                failed += 1
                if failed == 1:
                    print("bench: gcloud failed: " + p.stderr[-1000:], file=sys.stderr)
        res["gcloud_wall_s"] = time.time() - t0
        res["gcloud_failed"] = failed
        res["gcloud_requests"] = server.stats()["requests"]
        gcloud_state = normalized_policies(server)

        server.reseed(seed)
        state = os.path.join(tmp, "peer-state")
        r = one_pass(args, server, src, state, "apply", [], tmp, "peer-roam")
        res["roam_wall_s"] = r["wall_s"]
        res["roam_rc"] = r["rc"]
        res["roam_requests"] = r["requests"]
        res["same_result"] = normalized_policies(server) == gcloud_state
        res["ratio"] = res["gcloud_wall_s"] / res["roam_wall_s"]
    finally:
        server.close()
    return res


# ---- start-up ----

def run_startup(args, tmp, runs=21):
    """Exec to the first request (the token) and to the first Run/IAM call of
    `roam apply` on manifests/examples/ (4 apps, 12 resources), against
    benchd without latency: the median and the range over `runs` runs."""
    sys.path.insert(0, os.path.join(REPO, "test", "integration"))
    from harness import seed_from_live
    with open(os.path.join(REPO, "hack", "demo", "live.json")) as f:
        seed = seed_from_live(json.load(f))
    server = Server("benchd", tmp, seed)
    first, api = [], []
    try:
        env = roam_env(server, tmp)
        state = os.path.join(tmp, "startup-state")
        for _ in range(runs):
            server.clear()
            t0 = time.time() * 1000
            subprocess.run([args.roam, "apply", "--source", os.path.join(REPO, "manifests", "examples"),
                            "--state", state], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            s = server.stats()
            first.append(s["first_ms"] - t0)
            api.append(s["first_api_ms"] - t0)
    finally:
        server.close()
    first.sort()
    api.sort()
    return {"runs": runs, "first": (first[0], first[runs // 2], first[-1]),
            "api": (api[0], api[runs // 2], api[-1])}


# ---- push -> corrective setIamPolicy (roam serve) ----

PUSH_RESOURCE = "projects/acme-sandbox/locations/europe-west1/services/hello"


def run_push(args, tmp):
    if args.pushes <= 0:
        return None
    h = subprocess.run([args.roam, "help"], capture_output=True, text=True)
    if "roam serve" not in h.stdout + h.stderr:
        print("bench: skipped the push latency: this roam has no serve command", file=sys.stderr)
        return {"skipped": "roam serve not built"}
    sys.path.insert(0, os.path.join(REPO, "test", "integration"))
    from harness import seed_from_live
    with open(os.path.join(REPO, "hack", "demo", "live.json")) as f:
        seed = seed_from_live(json.load(f))
    server = Server("benchd", tmp, seed)
    import socket
    with socket.socket() as sk:
        sk.bind(("127.0.0.1", 0))
        port = sk.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    log = open(os.path.join(tmp, "serve.log"), "w")
    proc = subprocess.Popen([args.roam, "serve", "--source", os.path.join(REPO, "manifests", "examples"),
                             "--state", os.path.join(tmp, "push-state"), "--listen", f"127.0.0.1:{port}",
                             "--push-auth", "none"], env=roam_env(server, tmp), stdout=log,
                            stderr=subprocess.STDOUT)
    lat = []
    try:
        deadline = time.time() + 30
        while True:
            try:
                with urllib.request.urlopen(url + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline or proc.poll() is not None:
                raise RuntimeError("roam serve did not become ready")
            time.sleep(0.05)
        # Let the first full pass settle: no write for half a second.
        n = -1
        while True:
            time.sleep(0.5)
            m = len(http("GET", server.url + "/_bench/writes"))
            if m == n:
                break
            n = m
        for i in range(args.pushes):
            # Each push finds roam idle: the pass a push starts also writes
            # the app's ledger record (two fsyncs) after the setIamPolicy,
            # and a push arriving meanwhile waits for that pass to end.
            time.sleep(args.push_gap_ms / 1000.0)
            pol = http("GET", server.url + "/_bench/policy?resource=" + PUSH_RESOURCE)
            pol["bindings"] = [b for b in pol.get("bindings", []) if b["role"] != "roles/run.invoker"]
            http("POST", server.url + "/_bench/policy", {"resource": PUSH_RESOURCE, "policy": pol})
            server.clear()
            data = base64.b64encode(json.dumps(
                {"asset": {"name": "//run.googleapis.com/" + PUSH_RESOURCE,
                           "assetType": "run.googleapis.com/Service"}}).encode()).decode()
            body = {"message": {"messageId": f"bench-{i}-{time.time_ns()}", "data": data},
                    "subscription": "projects/p/subscriptions/roam"}
            t0 = time.time() * 1000
            http("POST", url + "/pubsub", body)
            seen = None
            end = time.time() + 5
            while seen is None and time.time() < end:
                w = [e for e in http("GET", server.url + "/_bench/writes") if e["resource"] == PUSH_RESOURCE]
                if w:
                    seen = w[0]["ms"]
                else:
                    time.sleep(0.001)
            if seen is None:
                raise RuntimeError(f"push {i}: no corrective setIamPolicy within 5 s")
            lat.append(seen - t0)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()
        server.close()
    lat.sort()
    return {"n": len(lat), "median_ms": lat[len(lat) // 2], "p90_ms": lat[int(len(lat) * 0.9)],
            "max_ms": lat[-1]}


# ---- report ----

def machine():
    model = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), {platform.system()} {platform.release()}"


def report(args, rows, ceilings, peer, push, startup):
    out = [f"Measured {datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on "
           f"{machine()}; load average before the run {args.loadavg}.",
           "", "Command: `" + " ".join(args.command) + "`", "",
           f"Injected latency {args.latency_ms} ms per request, `--max-inflight {args.inflight} --qps 0`, "
           f"{args.drift:.0%} of the services drifted (their declared invoker binding missing). "
           "The floor is API requests x latency / in-flight.", "", ROW_HEAD]
    out += [fmt_row(r) for r in rows]
    out += ["", "Server ceiling, `getIamPolicy` of one service, "
            f"{args.inflight} connections (the most a client at {args.inflight} in flight can get):", "",
            "| server | injected latency ms | requests/s | measured with |", "|---|---|---|---|"]
    out += [f"| {k} | {lat} | {v:,.0f} | {how} |" for (k, lat), (v, how) in ceilings.items()]
    out += [f"", f"At {args.latency_ms} ms and {args.inflight} in flight a client needs "
            f"{args.inflight * 1000 // max(1, args.latency_ms):,} requests/s."]
    if startup is not None:
        f, a = startup["first"], startup["api"]
        out += ["", f"Start-up, `roam apply` on manifests/examples/ (4 apps, 12 resources), {startup['runs']} runs: "
                f"exec to the first request (the access token) median {f[1]:.1f} ms (min {f[0]:.1f}, "
                f"max {f[2]:.1f}); to the first Run/IAM call median {a[1]:.1f} ms (min {a[0]:.1f}, "
                f"max {a[2]:.1f})."]
    if push is not None:
        out += ["", "Push (Asset feed) -> corrective `setIamPolicy` received, `roam serve` on the examples, "
                "benchd without injected latency:", ""]
        if "skipped" in push:
            out += [f"skipped: {push['skipped']}"]
        else:
            out += [f"median {push['median_ms']:.1f} ms, 90th percentile {push['p90_ms']:.1f} ms, "
                    f"max {push['max_ms']:.1f} ms over {push['n']} pushes, {args.push_gap_ms} ms apart."]
    if peer is not None:
        out += ["", "The peer: converging the same drifted services",
                ""]
        if "skipped" in peer:
            out += [f"skipped: {peer['skipped']}"]
        else:
            out += ["| how | wall s | requests | exit |", "|---|---|---|---|",
                    f"| {peer['bindings']} x `gcloud run services add/remove-iam-policy-binding` | "
                    f"{peer['gcloud_wall_s']:.1f} | {fmt_requests(peer['gcloud_requests'])} | "
                    f"{peer['gcloud_failed']} failed |",
                    f"| one `roam apply` | {peer['roam_wall_s']:.2f} | {fmt_requests(peer['roam_requests'])} | "
                    f"{peer['roam_rc']} |", "",
                    f"{peer['n']} services, {peer['bindings']} drifted bindings (half missing, half to remove), "
                    f"Python emulator at {args.latency_ms} ms; gcloud/roam wall time: {peer['ratio']:.0f}x; "
                    f"same final policies: {'yes' if peer['same_result'] else 'NO'}."]
    return "\n".join(out) + "\n"


def update_results(path, text):
    begin, end = "<!-- bench:begin -->", "<!-- bench:end -->"
    old = open(path).read() if os.path.exists(path) else f"# Benchmark results\n\n{begin}\n{end}\n"
    if begin not in old:
        old += f"\n{begin}\n{end}\n"
    head, rest = old.split(begin, 1)
    tail = rest.split(end, 1)[1] if end in rest else ""
    with open(path, "w") as f:
        f.write(head + begin + "\n" + text + end + tail)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--roam", default=os.path.join(REPO, "build", "roam"))
    ap.add_argument("--sizes", default="1000,10000")
    ap.add_argument("--per-app", type=int, default=10, help="services per app (M = N / this)")
    ap.add_argument("--drift", type=float, default=0.1)
    ap.add_argument("--latency-ms", type=int, default=10)
    ap.add_argument("--inflight", type=int, default=32)
    ap.add_argument("--emulator-size", type=int, default=1000,
                    help="also run this N against the Python emulator (0: no)")
    ap.add_argument("--ceiling-seconds", type=int, default=5)
    ap.add_argument("--pushes", type=int, default=100, help="pushes timed through roam serve (0: no)")
    ap.add_argument("--push-gap-ms", type=int, default=250, help="pause before each push")
    ap.add_argument("--gcloud-services", type=int, default=100)
    ap.add_argument("--no-gcloud", action="store_true")
    ap.add_argument("--update", help="replace the measured part of this markdown file")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    args.command = ["test/bench/bench.py", *sys.argv[1:]]
    if os.environ.get("ROAM_BENCH_VIA_MAKE"):
        args.command = ["make", "bench", "#"] + args.command
    args.loadavg = " ".join(f"{x:.2f}" for x in os.getloadavg())
    if shutil.which("node") is None:
        print("bench: node not found (apt-get install nodejs)", file=sys.stderr)
        return 1
    rng = random.Random(args.seed)
    tmp = tempfile.mkdtemp(prefix="roam-bench-")
    rows, ceilings = [], {}
    try:
        print(ROW_HEAD, flush=True)
        for n in [int(x) for x in args.sizes.split(",") if x and int(x) > 0]:
            run_size(args, "benchd", n, tmp, rng, rows)
        if args.emulator_size > 0:
            run_size(args, "emulator", args.emulator_size, tmp, rng, rows)
        seed, _, _ = generate(10, 1, 0, tmp, rng)
        for kind in ("benchd", "emulator"):
            s = Server(kind, tmp, seed)
            try:
                for lat in (args.latency_ms, 0):
                    ceilings[(kind if kind == "benchd" else "emulator.py", lat)] = ceiling(
                        s, lat, args.ceiling_seconds, args.inflight)
            finally:
                s.close()
        startup = run_startup(args, tmp)
        push = run_push(args, tmp)
        peer = run_peer(args, tmp)
        text = report(args, rows, ceilings, peer, push, startup)
        print()
        print(text)
        if args.update:
            update_results(args.update, text)
            print(f"bench: wrote {args.update}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
