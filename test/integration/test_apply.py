#!/usr/bin/env python3
"""roam plan / apply against the local Google API emulator (real HTTP).

Each test seeds its own emulator with drifted IAM, runs the real roam binary,
and checks the emulator's state and request log.
"""
import json
import os
import re
import shutil
import tempfile
import threading
import time
import unittest
from datetime import datetime

from harness import REPO, Emulator, members, roam, seed_from_live, write_app

EXAMPLES = os.path.join(REPO, "manifests", "examples")
LIVE = json.load(open(os.path.join(REPO, "hack", "demo", "live.json")))
PAY = "projects/acme-payments/locations/europe-west1/services/payments-api"
WEB = "projects/acme-shop/locations/europe-west1/services/web"
CART = "projects/acme-shop/locations/europe-west1/services/cart-api"
HELLO = "projects/acme-sandbox/locations/europe-west1/services/hello"
EXPORT_SA = "projects/acme-data/serviceAccounts/ledger-export@acme-data.iam.gserviceaccount.com"

HELLO_APP = """apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: {name: hello}
spec:
  components:
    - name: hello
      type: cloud-run-service
      properties: {project: acme-sandbox, region: europe-west1}
      traits:
        - type: invoker
          properties: {members: [%s]}
"""


class Base(unittest.TestCase):
    seed = None

    def setUp(self):
        self.emu = Emulator(self.seed if self.seed is not None else seed_from_live(LIVE))
        self.tmp = tempfile.mkdtemp(prefix="roam-it-state-")
        self.state = os.path.join(self.tmp, "state")

    def tearDown(self):
        self.emu.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def apply(self, source=EXAMPLES, *extra):
        return roam(self.emu, "apply", "--source", source, "--state", self.state, *extra)

    def plan(self, source=EXAMPLES, *extra):
        return roam(self.emu, "plan", "--source", source, "--state", self.state, *extra)

    def iam_calls(self, log, suffix):
        return [e for e in log if e["path"].endswith(suffix)]


class Converge(Base):
    def test_converge_then_zero_writes(self):
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.emu.log()
        writes = self.iam_calls(log, ":setIamPolicy")
        self.assertEqual(len(writes), 7, [w["path"] for w in writes])
        # Every write carried the etag it read; every read asked for version 3.
        for w in writes:
            body = w["body"] if isinstance(w["body"], dict) else json.loads(w["body"])
            self.assertIn("etag", body["policy"], w["path"])
            self.assertFalse(w.get("iam_unconditional_write"), w["path"])
        reads = self.iam_calls(log, ":getIamPolicy")
        self.assertEqual(len(reads), 9)
        for r in reads:
            self.assertEqual(r["query"].get("options.requestedPolicyVersion"), "3", r)
        # The second pass reads each managed resource once and writes nothing.
        self.apply()  # statuses settle (Applied -> UpToDate)
        self.emu.clear_log()
        q = self.apply()
        self.assertEqual(q.returncode, 0, q.stderr)
        log = self.emu.log()
        self.assertEqual(len(self.iam_calls(log, ":setIamPolicy")), 0)
        self.assertEqual(len(self.iam_calls(log, ":getIamPolicy")), 9)
        self.assertIn("Nothing to change", q.stdout)
        # ... and leaves the ledger alone: a converged pass writes nothing.
        self.assertIn(" 0 ledger records written", q.stderr)
        r = self.plan(EXAMPLES, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        # The status is kept beside the ledger: readable without a server.
        st = roam(self.emu, "status", "--state", self.state, "--output", "json")
        self.assertEqual(st.returncode, 0, st.stderr)
        apps = {a["app"]: a for a in json.loads(st.stdout)["apps"]}
        self.assertEqual(sorted(apps), ["hello", "nightly-export", "payments", "storefront"])
        for a in apps.values():
            ready = [c for c in a["conditions"] if c["type"] == "Ready"][0]
            self.assertEqual(ready["status"], "True", a)
            self.assertTrue(a["lastAppliedRevision"].startswith("dir:"))
        self.assertEqual(apps["hello"]["ownedBindings"], 1)
        one = roam(self.emu, "status", "--state", self.state, "payments")
        self.assertIn("app payments", one.stdout)
        self.assertIn("Ready   True", one.stdout)

    def test_foreign_bindings_survive(self):
        self.assertEqual(self.apply().returncode, 0)
        pay = self.emu.policy(PAY)
        cond = {"title": "audit-window", "expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}
        self.assertEqual(members(pay, "roles/run.viewer", cond), {"group:auditors@acme.example"})
        self.assertEqual(members(pay, "roles/run.invoker"),
                         {"group:web@acme.example",
                          "serviceAccount:checkout@acme-payments.iam.gserviceaccount.com"})
        dev_cond = {"title": "until-q3", "description": "developer access ends with the migration",
                    "expression": 'request.time < timestamp("2026-10-01T00:00:00Z")'}
        self.assertEqual(members(pay, "roles/run.developer", dev_cond), {"group:payments-devs@acme.example"})
        self.assertEqual(pay.get("version"), 3)
        state = self.emu.state()
        audit = state["policies"][PAY].get("auditConfigs")
        self.assertEqual(audit, [{"service": "allServices", "auditLogConfigs": [{"logType": "DATA_READ"}]}])
        self.assertEqual(members(self.emu.policy(WEB), "roles/run.admin"), {"user:sre-oncall@acme.example"})

    def test_ledger_records_and_revocation(self):
        self.assertEqual(self.apply().returncode, 0)
        with open(os.path.join(self.state, "hello.json")) as f:
            rec = json.load(f)
        owned = {(b["role"], b["member"]) for b in rec["bindings"] if b["owned"]}
        self.assertIn(("roles/run.invoker", "group:everyone@acme.example"), owned)
        # Declare a second member, apply, then remove it: it is revoked.
        src = os.path.join(self.tmp, "src")
        write_app(src, "hello.yaml", HELLO_APP % "group:everyone@acme.example, user:temp@acme.example")
        self.assertEqual(self.apply(src).returncode, 0)
        self.assertIn("user:temp@acme.example", members(self.emu.policy(HELLO), "roles/run.invoker"))
        write_app(src, "hello.yaml", HELLO_APP % "group:everyone@acme.example")
        p = self.apply(src)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("pruned", p.stdout)
        # group:old-team was there before roam: found, never pruned.
        self.assertEqual(members(self.emu.policy(HELLO), "roles/run.invoker"),
                         {"group:everyone@acme.example", "group:old-team@acme.example"})


class Faults(Base):
    def test_409_race_keeps_the_concurrent_change(self):
        self.emu.faults([{"match": {"method": "POST", "path_regex": "services/hello:setIamPolicy$"},
                          "count": 1,
                          "action": {"concurrent_change": {"add": {"role": "roles/run.invoker",
                                                                  "member": "user:racer@acme.example"}}}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        got = members(self.emu.policy(HELLO), "roles/run.invoker")
        self.assertIn("user:racer@acme.example", got)
        self.assertIn("group:everyone@acme.example", got)
        # Not roam's (no ledger says so): left alone.
        self.assertIn("group:old-team@acme.example", got)
        hello = [e for e in self.emu.log() if "services/hello:" in e["path"]]
        self.assertEqual([e["status"] for e in hello if e["path"].endswith(":setIamPolicy")], [409, 200])
        # After the 409, the policy was read again before the retry.
        self.assertEqual(len([e for e in hello if e["path"].endswith(":getIamPolicy")]), 2)
        self.assertIn("1 conflicts retried", p.stderr)

    def test_429_retry_after_is_honoured(self):
        self.emu.faults([{"match": {"path_regex": "services/hello:getIamPolicy$"}, "count": 1,
                          "action": {"status": 429, "retry_after": 1}}])
        t0 = time.time()
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        hello = [e for e in self.emu.log() if e["path"].endswith("services/hello:getIamPolicy")]
        self.assertEqual([e["status"] for e in hello], [429, 200])
        gap = datetime.fromisoformat(hello[1]["time"].replace("Z", "+00:00")) - \
            datetime.fromisoformat(hello[0]["time"].replace("Z", "+00:00"))
        self.assertGreaterEqual(gap.total_seconds(), 0.95)
        self.assertGreaterEqual(time.time() - t0, 1.0)

    def test_503_burst_is_retried(self):
        self.emu.faults([{"match": {"path_regex": ":setIamPolicy$"}, "count": 3,
                          "action": {"status": 503}}])
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        r = self.plan(EXAMPLES, "--detailed-exitcode")
        self.assertEqual(r.returncode, 0, r.stdout)

    def test_permission_denied_on_one_resource(self):
        self.emu.faults([{"match": {"path_regex": "services/cart-api:getIamPolicy$"}, "count": -1,
                          "action": {"status": 403}}])
        p = self.apply(EXAMPLES, "--output", "json")
        self.assertEqual(p.returncode, 1, p.stderr)
        out = json.loads(p.stdout)
        status = {a["name"]: a for a in out["apps"]}
        self.assertEqual(status["storefront"]["status"], "failed")
        msg = json.dumps(status["storefront"]["errors"])
        self.assertIn("cannot get IAM policy for '" + CART + "'", msg)
        self.assertIn("PERMISSION_DENIED", msg)
        for app in ("hello", "payments", "nightly-export"):
            self.assertEqual(status[app]["status"], "ok", status[app])
        # The others converged.
        self.assertIn("group:everyone@acme.example", members(self.emu.policy(HELLO), "roles/run.invoker"))
        st = roam(self.emu, "status", "--state", self.state, "--output", "json")
        apps = {a["app"]: a for a in json.loads(st.stdout)["apps"]}
        ready = [c for c in apps["storefront"]["conditions"] if c["type"] == "Ready"][0]
        self.assertEqual((ready["status"], ready["reason"]), ("False", "Failed"))
        self.assertIn("PERMISSION_DENIED", apps["storefront"]["lastError"])
        self.assertNotIn("user:intruder@acme.example", members(self.emu.policy(PAY), "roles/run.invoker"))

    def test_token_expiry_mid_run_refreshes_once(self):
        self.emu.config(latency_ms=60)
        done = threading.Event()

        def revoke():
            # Wait until roam has made some authorised calls, then revoke.
            for _ in range(200):
                if any(":getIamPolicy" in e["path"] for e in self.emu.log()):
                    break
                time.sleep(0.02)
            self.emu.call("POST", "/_emulator/tokens/revoke", {})
            done.set()

        t = threading.Thread(target=revoke)
        t.start()
        p = self.apply(EXAMPLES, "--max-inflight", "2")
        t.join()
        self.assertTrue(done.is_set())
        self.assertEqual(p.returncode, 0, p.stderr)
        log = self.emu.log()
        tokens = [e for e in log if e["path"].endswith("/service-accounts/default/token")]
        self.assertEqual(len(tokens), 2, "one token at start, one refresh after the 401")
        self.assertTrue(any(e["status"] == 401 for e in log))


class Identity(Base):
    seed = {"services": [{"name": "projects/acme-x/locations/europe-west1/services/api",
                          "template": {"serviceAccount": "old@acme-x.iam.gserviceaccount.com"},
                          "policy": {}}],
            "serviceAccounts": [{"email": "api@acme-x.iam.gserviceaccount.com"}]}

    APP = """apiVersion: core.oam.dev/v1beta1
kind: Application
metadata: {name: ident}
spec:
  components:
    - name: api
      type: cloud-run-service
      properties: {project: acme-x, region: europe-west1}
      traits:
        - type: service-identity
          properties: {serviceAccount: api@acme-x.iam.gserviceaccount.com, mode: %s}
"""

    def test_verify_reports_enforce_updates(self):
        src = os.path.join(self.tmp, "src")
        write_app(src, "a.yaml", self.APP % "verify")
        p = self.apply(src)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("runs as old@acme-x.iam.gserviceaccount.com", p.stdout)
        self.assertFalse(any(e["method"] == "PATCH" for e in self.emu.log()))
        write_app(src, "a.yaml", self.APP % "enforce")
        q = roam(self.emu, "plan", "--source", src, "--state", self.state, "--detailed-exitcode")
        self.assertEqual(q.returncode, 2, q.stdout)
        p = self.apply(src)
        self.assertEqual(p.returncode, 0, p.stderr)
        patches = [e for e in self.emu.log() if e["method"] == "PATCH"]
        self.assertEqual(len(patches), 1)
        self.assertEqual(patches[0]["query"].get("updateMask"), "template.serviceAccount")
        svc = self.emu.state()["services"]
        svc = svc if isinstance(svc, list) else list(svc.values())
        self.assertEqual(svc[0]["template"]["serviceAccount"], "api@acme-x.iam.gserviceaccount.com")
        # A service is never pointed at an account that does not exist.
        write_app(src, "a.yaml", (self.APP % "enforce").replace("api@acme-x", "ghost@acme-x"))
        self.emu.clear_log()
        p = self.apply(src, "--output", "json")
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("service account 'ghost@acme-x.iam.gserviceaccount.com' does not exist",
                      p.stdout)
        self.assertFalse(any(e["method"] == "PATCH" for e in self.emu.log()))


class Pending(Base):
    seed = {"services": []}

    def test_missing_service_is_pending(self):
        src = os.path.join(self.tmp, "src")
        write_app(src, "hello.yaml", HELLO_APP % "group:everyone@acme.example")
        p = self.apply(src, "--output", "json")
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout)
        self.assertEqual(out["apps"][0]["status"], "pending")
        self.assertEqual(out["pending"], [HELLO])


if __name__ == "__main__":
    unittest.main(verbosity=2)
