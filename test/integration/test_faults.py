#!/usr/bin/env python3
"""roam under faults injected by the emulator: it survives and converges,
with nothing lost.

"Converges" is checked against a reference: the policies and the ledger a
fault-free `roam apply` of manifests/examples/ leaves behind (computed once,
on its own emulator).  After each fault the final policies must equal the
reference (etags aside), the owned bindings of the ledger must equal the
reference's, and `roam plan --detailed-exitcode` must find nothing to do.

The last test kills roam with SIGKILL at random points of 20 consecutive
applies over a changing source and checks, after every rerun, that each
binding roam granted is in the ledger; deleting every app at the end must
revoke all of them and leave the foreign ones.  ROAM_FAULTS_SEED fixes the
random choices (default: a fixed seed; the seed is printed).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
import unittest
from datetime import datetime

from harness import REPO, ROAM, Emulator, roam, seed_from_live, write_app

EXAMPLES = os.path.join(REPO, "manifests", "examples")
LIVE = json.load(open(os.path.join(REPO, "hack", "demo", "live.json")))
PAY = "projects/acme-payments/locations/europe-west1/services/payments-api"
HELLO = "projects/acme-sandbox/locations/europe-west1/services/hello"
CART = "projects/acme-shop/locations/europe-west1/services/cart-api"
MIB = 1024 * 1024


def norm_policy(p):
    """A policy without its etag, bindings sorted: comparable."""
    out = []
    for b in p.get("bindings", []):
        out.append((b["role"], json.dumps(b.get("condition"), sort_keys=True), tuple(sorted(b["members"]))))
    return {"bindings": sorted(out), "auditConfigs": json.dumps(p.get("auditConfigs"), sort_keys=True)}


def norm_policies(state):
    return {k: norm_policy(v) for k, v in state["policies"].items()}


def owned(state_dir):
    """Every owned binding of every ledger record: {(app, resource, role, condition, member)}."""
    out = set()
    if not os.path.isdir(state_dir):
        return out
    for name in sorted(os.listdir(state_dir)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(state_dir, name)) as f:
            rec = json.load(f)
        for b in rec.get("bindings", []):
            if b.get("owned"):
                out.add((rec["app"], b["resource"], b["role"],
                         json.dumps(b.get("condition"), sort_keys=True), b["member"]))
    return out


def bindings(policies):
    """{(resource, role, condition, member)} of a policies map (raw, from state)."""
    out = set()
    for res, p in policies.items():
        for b in p.get("bindings", []):
            for m in b["members"]:
                out.add((res, b["role"], json.dumps(b.get("condition"), sort_keys=True), m))
    return out


def ts(entry):
    return datetime.fromisoformat(entry["time"].replace("Z", "+00:00")).timestamp()


class Reference:
    """The outcome of a fault-free apply of the examples, computed once."""
    policies = None
    owned = None

    @classmethod
    def get(cls):
        if cls.policies is None:
            emu = Emulator(seed_from_live(LIVE))
            tmp = tempfile.mkdtemp(prefix="roam-ref-")
            try:
                p = roam(emu, "apply", "--source", EXAMPLES, "--state", os.path.join(tmp, "state"))
                assert p.returncode == 0, p.stderr
                cls.policies = norm_policies(emu.state())
                cls.owned = owned(os.path.join(tmp, "state"))
            finally:
                emu.close()
                shutil.rmtree(tmp, ignore_errors=True)
        return cls


class Base(unittest.TestCase):
    def setUp(self):
        self.ref = Reference.get()
        self.emu = Emulator(seed_from_live(LIVE))
        self.tmp = tempfile.mkdtemp(prefix="roam-faults-")
        self.state = os.path.join(self.tmp, "state")

    def tearDown(self):
        self.emu.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def apply(self, *extra, env=None, timeout=300):
        return self.run_roam("apply", "--source", EXAMPLES, "--state", self.state, *extra, env=env,
                             timeout=timeout)

    def run_roam(self, *args, env=None, timeout=300):
        if env is None:
            return roam(self.emu, *args, timeout=timeout)
        e = self.emu.env()
        e.update(env)
        p = subprocess.run([ROAM, *args], capture_output=True, text=True, env=e, timeout=timeout)
        self.assertFalse(p.returncode >= 128 or p.returncode < 0 or "Sanitizer" in p.stderr,
                         f"roam crashed ({p.returncode}):\n{p.stderr}")
        return p

    def assert_converged(self):
        """The reference policies and ledger, and nothing left to plan."""
        self.emu.call("DELETE", "/_emulator/faults")
        self.assertEqual(norm_policies(self.emu.state()), self.ref.policies)
        self.assertEqual(owned(self.state), self.ref.owned)
        p = self.run_roam("plan", "--source", EXAMPLES, "--state", self.state, "--detailed-exitcode")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def calls(self, suffix):
        return [e for e in self.emu.log() if e["path"].endswith(suffix)]

    def assert_every_write_guarded(self):
        for w in self.calls(":setIamPolicy"):
            self.assertFalse(w.get("iam_unconditional_write"), w["path"])


class Transport(Base):
    """Broken answers: each is retried (reads, and writes under an etag)."""

    def test_reset_mid_response_on_read(self):
        self.emu.faults([{"match": {"path_regex": "services/payments-api:getIamPolicy$"}, "count": 1,
                          "action": {"reset_mid_body": True}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        reads = self.calls("services/payments-api:getIamPolicy")
        self.assertEqual(len(reads), 2, [r["status"] for r in reads])
        self.assert_every_write_guarded()
        self.assert_converged()

    def test_reset_mid_response_on_write(self):
        # The write is committed, the answer is lost: the retry carries the
        # old etag, gets 409, re-reads and finds nothing left to do.
        self.emu.faults([{"match": {"path_regex": "services/payments-api:setIamPolicy$"}, "count": 1,
                          "action": {"reset_mid_body": True}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        writes = self.calls("services/payments-api:setIamPolicy")
        self.assertGreaterEqual(len(writes), 1)
        self.assert_every_write_guarded()
        self.assert_converged()

    def test_truncated_json_body(self):
        self.emu.faults([{"match": {"path_regex": ":getIamPolicy$"}, "count": 3,
                          "action": {"truncate": True}},
                         {"match": {"path_regex": "services/hello:setIamPolicy$"}, "count": 1,
                          "action": {"truncate": True}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_every_write_guarded()
        self.assert_converged()

    def test_response_larger_than_the_cap(self):
        # A 9 MiB answer (still valid JSON) is refused, not buffered: the
        # apps with a stake in that resource fail, the others converge, and
        # the next pass converges.
        self.emu.faults([{"match": {"path_regex": "services/payments-api:getIamPolicy$"}, "count": 1,
                          "action": {"oversize_bytes": 9 * MIB}}])
        p = self.apply("--output", "json")
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        status = {a["name"]: a["status"] for a in out["apps"]}
        self.assertEqual(status["payments"], "failed", out["apps"])
        msg = json.dumps([a["errors"] for a in out["apps"] if a["name"] == "payments"])
        self.assertIn(PAY, msg)
        self.assertIn("response larger than 8388608 bytes", msg)
        for app in ("hello", "storefront", "nightly-export"):
            self.assertEqual(status[app], "ok", out["apps"])
        self.assertEqual(len(self.calls("services/payments-api:setIamPolicy")), 0)
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_converged()

    def test_stall_times_out_then_retries(self):
        # A 30 s stall against a 2 s attempt timeout, on a read and on a
        # committed write.
        self.emu.faults([{"match": {"path_regex": "services/hello:getIamPolicy$"}, "count": 1,
                          "action": {"stall_ms": 30000}},
                         {"match": {"path_regex": "services/web:setIamPolicy$"}, "count": 1,
                          "action": {"stall_ms": 30000}}])
        t0 = time.time()
        p = self.apply(env={"ROAM_HTTP_TIMEOUT_MS": "2000"})
        took = time.time() - t0
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertLess(took, 25, "the stall was waited out, not timed out")
        self.assertGreaterEqual(took, 2.0)
        # The stalled requests are logged only once the stall ends; the
        # retries that replaced them are there.
        self.assertEqual([e["status"] for e in self.calls("services/hello:getIamPolicy")], [200])
        self.assert_every_write_guarded()
        self.assert_converged()


class Throttling(Base):
    def test_429_storm_with_retry_after(self):
        self.emu.faults([{"match": {"path_regex": ":(get|set)IamPolicy$"}, "count": 12,
                          "action": {"status": 429, "retry_after": 1}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.emu.log()
        by_path = {}
        for e in log:
            if e["path"].endswith("IamPolicy"):
                by_path.setdefault(e["path"], []).append(e)
        throttled = 0
        for path, entries in by_path.items():
            for a, b in zip(entries, entries[1:]):
                if a["status"] == 429:
                    throttled += 1
                    # Retry-After: 1 is honoured (the clock is the emulator's).
                    self.assertGreaterEqual(ts(b) - ts(a), 0.95, path)
        self.assertEqual(throttled, 12)
        self.assert_converged()

    def test_5xx_longer_than_the_retry_budget(self):
        # Every read of one resource fails for the whole pass: the apps with
        # a stake in it fail (exit 1), the others converge, nothing is
        # written there; once the burst is over the next pass converges.
        self.emu.faults([{"match": {"path_regex": "services/cart-api:getIamPolicy$"}, "count": -1,
                          "action": {"status": 503}}])
        p = self.apply("--output", "json", timeout=600)
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        status = {a["name"]: a for a in out["apps"]}
        self.assertEqual(status["storefront"]["status"], "failed")
        self.assertIn("UNAVAILABLE", json.dumps(status["storefront"]["errors"]))
        for app in ("hello", "payments", "nightly-export"):
            self.assertEqual(status[app]["status"], "ok", status[app])
        reads = self.calls("services/cart-api:getIamPolicy")
        self.assertEqual(len(reads), 6, "the retry budget is 6 attempts")
        self.assertEqual(len(self.calls("services/cart-api:setIamPolicy")), 0)
        self.emu.call("DELETE", "/_emulator/faults")
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assert_converged()


class Credentials(Base):
    def test_token_endpoint_down(self):
        # A service-account key whose token_uri is a closed port: a clear
        # error naming the endpoint, no secret printed, nothing written.
        key = os.path.join(self.tmp, "key.pem")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                        "-out", key], check=True, capture_output=True)
        with open(key) as f:
            pem = f.read()
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            closed = s.getsockname()[1]
        cred = os.path.join(self.tmp, "sa.json")
        with open(cred, "w") as f:
            json.dump({"type": "service_account", "project_id": "acme", "private_key_id": "k1",
                       "private_key": pem, "client_email": "roam@acme.iam.gserviceaccount.com",
                       "client_id": "1", "token_uri": f"http://127.0.0.1:{closed}/token"}, f)
        t0 = time.time()
        p = self.apply(env={"GOOGLE_APPLICATION_CREDENTIALS": cred}, timeout=300)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLess(time.time() - t0, 120)
        err = p.stdout + p.stderr
        self.assertIn(f"127.0.0.1:{closed}", err)
        self.assertRegex(err, "access token")
        self.assertNotIn("BEGIN PRIVATE KEY", err)
        self.assertNotIn(pem.splitlines()[1], err)
        log = self.emu.log()
        self.assertEqual([e for e in log if e["method"] != "GET" or "IamPolicy" in e["path"]], [],
                         "nothing may be read or written without a token")
        # The ledger may record the failure as status, but no binding.
        self.assertEqual(owned(self.state), set())
        for name in os.listdir(self.state) if os.path.isdir(self.state) else []:
            if name.endswith(".json"):
                with open(os.path.join(self.state, name)) as f:
                    rec = json.load(f)
                self.assertEqual(rec.get("bindings", []), [], name)
                self.assertEqual(rec["status"]["conditions"][0]["reason"], "Failed", name)

    def test_metadata_server_slow(self):
        self.emu.faults([{"match": {"path_regex": "^/computeMetadata/"}, "count": -1,
                          "action": {"latency_ms": 3000}}])
        t0 = time.time()
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreaterEqual(time.time() - t0, 3.0)
        tokens = self.calls("/service-accounts/default/token")
        self.assertEqual(len(tokens), 1, "one token request, shared by every call")
        self.assert_converged()


# ---- kill -9 at random points ----

S = "projects/acme-kill/locations/europe-west1/services/"
FOREIGN = "user:someone-else@acme.example"
POOL = [f"group:team-{i}@acme.example" for i in range(6)]


def kill_seed(n):
    return {"services": [{"name": S + f"svc{i}",
                          "policy": {"bindings": [{"role": "roles/run.invoker", "members": [FOREIGN]},
                                                  {"role": "roles/run.developer",
                                                   "members": ["group:old-devs@acme.example"]}]}}
                         for i in range(n)]}


def kill_app(name, comps):
    lines = ["apiVersion: core.oam.dev/v1beta1", "kind: Application", f"metadata: {{name: {name}}}",
             "spec:", "  components:"]
    for svc, inv, dev in comps:
        lines += [f"    - name: {svc}", "      type: cloud-run-service",
                  "      properties: {project: acme-kill, region: europe-west1}", "      traits:",
                  "        - type: invoker", f"          properties: {{members: [{', '.join(inv)}]}}"]
        if dev:
            lines += ["        - type: iam-bindings", "          properties:", "            bindings:",
                      f"              - {{role: roles/run.developer, members: [{', '.join(dev)}]}}"]
    return "\n".join(lines) + "\n"


class KillNine(unittest.TestCase):
    N_SERVICES = 12
    ROUNDS = 20

    def setUp(self):
        self.seed_value = int(os.environ.get("ROAM_FAULTS_SEED", "20261128"))
        print(f"\nkill -9 test: ROAM_FAULTS_SEED={self.seed_value}", flush=True)
        self.rng = random.Random(self.seed_value)
        self.seed = kill_seed(self.N_SERVICES)
        self.emu = Emulator(self.seed)
        self.emu.config(latency_ms=15)
        self.tmp = tempfile.mkdtemp(prefix="roam-kill-")
        self.src = os.path.join(self.tmp, "src")
        self.state = os.path.join(self.tmp, "state")
        os.makedirs(self.src)
        self.initial = bindings(self.emu.state()["policies"])

    def tearDown(self):
        self.emu.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def write_source(self):
        """Three apps over the services, with random members each round."""
        for f in os.listdir(self.src):
            os.unlink(os.path.join(self.src, f))
        for a in range(3):
            comps = []
            for i in range(a, self.N_SERVICES, 3):
                if self.rng.random() < 0.15:
                    continue  # the component disappears this round
                inv = self.rng.sample(POOL, self.rng.randint(1, 3))
                dev = self.rng.sample(POOL, self.rng.randint(0, 2))
                comps.append((f"svc{i}", inv, dev))
            if comps:
                write_app(self.src, f"app{a}.yaml", kill_app(f"app{a}", comps))

    def roam_cmd(self, *args):
        return [ROAM, *args, "--source", self.src, "--state", self.state]

    def check_ledger_holds_grants(self, rnd):
        live = bindings(self.emu.state()["policies"])
        granted = live - self.initial
        held = {(r, role, c, m) for (_, r, role, c, m) in owned(self.state)}
        lost = granted - held
        self.assertEqual(lost, set(), f"round {rnd}: bindings granted but not in the ledger")
        # Foreign bindings are never touched.
        self.assertTrue(all(b in live for b in self.initial if b[3] == FOREIGN), f"round {rnd}")

    def test_kill_9_at_random_points(self):
        kills = kills_mid_write = 0
        for rnd in range(self.ROUNDS):
            self.write_source()
            self.emu.clear_log()
            env = self.emu.env()
            delay = self.rng.uniform(0.0, 0.8)
            # Two in flight and 15 ms per request: a pass of about a second,
            # so that the kill lands in every phase.
            p = subprocess.Popen(self.roam_cmd("apply") + ["--max-inflight", "2"], env=env,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
                kills += 1
                p.wait()
                time.sleep(0.05)  # let the emulator finish what it was answering
                if any(e["path"].endswith(":setIamPolicy") for e in self.emu.log()):
                    kills_mid_write += 1
            p.wait()
            r = roam(self.emu, *self.roam_cmd("apply")[1:])
            self.assertEqual(r.returncode, 0, f"round {rnd} (killed after {delay:.2f}s): {r.stderr}")
            q = roam(self.emu, *self.roam_cmd("plan")[1:], "--detailed-exitcode")
            self.assertEqual(q.returncode, 0, f"round {rnd}: not converged:\n{q.stdout}")
            self.check_ledger_holds_grants(rnd)
        print(f"kill -9 test: {kills} of {self.ROUNDS} applies killed, {kills_mid_write} after "
              "their first write", flush=True)
        self.assertGreaterEqual(kills, self.ROUNDS // 2, "too few runs were killed mid-way")
        self.assertGreaterEqual(kills_mid_write, 3, "too few kills among the writes")
        # Delete every app: every granted binding goes, foreign ones stay.
        for f in os.listdir(self.src):
            os.unlink(os.path.join(self.src, f))
        r = roam(self.emu, *self.roam_cmd("apply")[1:], "--allow-mass-removal")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(bindings(self.emu.state()["policies"]), self.initial)
        self.assertEqual(owned(self.state), set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
