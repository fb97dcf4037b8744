#!/usr/bin/env python3
"""Behaviour tests for emulator.py (stdlib unittest; starts the emulator itself).

Run: python3 test/emulator/test_emulator.py [-v]
"""

import base64
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR = os.path.join(HERE, "emulator.py")

P = "projects/p/locations/europe-west1"
SVC = P + "/services/api"
JOB = P + "/jobs/nightly"
SA = "runner@p.iam.gserviceaccount.com"
SA2 = "deployer@p.iam.gserviceaccount.com"
COND = {"title": "expires",
        "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}


def make_seed():
    services = [{"name": SVC, "template": {"serviceAccount": SA},
                 "policy": {"bindings": [
                     {"role": "roles/run.invoker", "members": ["user:a@example.com"]},
                     {"role": "roles/run.admin", "members": ["user:b@example.com"],
                      "condition": COND}],
                     "auditConfigs": [{"service": "allServices", "auditLogConfigs": [
                         {"logType": "DATA_READ"}]}]}}]
    for i in range(7):
        services.append({"name": P + "/services/svc-%d" % i})
    return {
        "services": services,
        "jobs": [{"name": JOB, "template": {"template": {"serviceAccount": SA}}}],
        "serviceAccounts": [
            {"email": SA, "policy": {"bindings": [
                {"role": "roles/iam.serviceAccountUser",
                 "members": ["deleted:user:gone@example.com?uid=123456789",
                             "user:c@example.com"]}]}},
            {"email": SA2},
            {"email": "third@p.iam.gserviceaccount.com"},
            {"email": "other@q.iam.gserviceaccount.com"},
        ],
        "buckets": {"b": {"objects": {"apps/a.yaml": "kind: App\n",
                                      "apps/b.yaml": "kind: App\n",
                                      "top.txt": "top"}}},
        "page_size_max": 100,
    }


def b64url(obj):
    raw = json.dumps(obj).encode() if not isinstance(obj, bytes) else obj
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def make_assertion(**over):
    now = int(time.time())
    header = over.pop("header", {"alg": "RS256", "typ": "JWT", "kid": "k1"})
    claims = {"iss": SA, "scope": "https://www.googleapis.com/auth/cloud-platform",
              "aud": "https://oauth2.googleapis.com/token", "iat": now, "exp": now + 3600}
    claims.update(over)
    for k in [k for k, v in claims.items() if v is None]:
        del claims[k]
    return "%s.%s.%s" % (b64url(header), b64url(claims), b64url(b"\x01" * 256))


class Emu:
    """A running emulator process."""

    def __init__(self, seed, extra_args=()):
        self.dir = tempfile.mkdtemp(prefix="roam-emu-test-")
        self.seed_path = os.path.join(self.dir, "seed.json")
        with open(self.seed_path, "w") as fh:
            json.dump(seed, fh)
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, "--seed", self.seed_path, "--port", "0",
             "--port-file", port_file] + list(extra_args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on 127\.0\.0\.1:(\d+)", line)
        if not m:
            raise RuntimeError("emulator did not start: %r %s" % (line, self.proc.stderr.read()))
        self.port = int(m.group(1))
        with open(port_file) as fh:
            assert int(fh.read().strip()) == self.port

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.proc.stderr.close()

    def conn(self, timeout=10):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def raw(self, method, path, body=None, headers=None, conn=None):
        c = conn or self.conn()
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            c.request(method, path, body=body, headers=hdrs)
            r = c.getresponse()
            data = r.read()
        finally:
            if conn is None:
                c.close()
        return r.status, r, data

    def call(self, method, path, body=None, token=True, headers=None):
        hdrs = dict(headers or {})
        if token is True:
            token = self.token()
        if token:
            hdrs["Authorization"] = "Bearer " + token
        status, r, data = self.raw(method, path, body, hdrs)
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data
        return status, r, parsed

    _token = None

    def token(self):
        if self._token is None:
            _, _, data = self.raw("POST", "/_emulator/token", {"subject": "tests"})
            self._token = json.loads(data)["access_token"]
        return self._token

    def control(self, method, path, body=None):
        status, _, data = self.raw(method, "/_emulator/" + path, body)
        assert status == 200, (status, data)
        return json.loads(data) if data else None


EMU = None


def setUpModule():
    global EMU
    EMU = Emu(make_seed())


def tearDownModule():
    EMU.stop()


class Base(unittest.TestCase):
    def setUp(self):
        EMU.control("DELETE", "faults")
        EMU.control("POST", "state", make_seed())
        EMU.control("POST", "config", {"latency_ms": 0, "token_lifetime": 3599,
                                       "require_auth": True,
                                       "storage_require_auth": False,
                                       "denied_permissions": []})
        EMU.control("DELETE", "log")

    def get_policy(self, resource=SVC, version=3, api="v2"):
        if resource.startswith("projects/p/serviceAccounts") or "/serviceAccounts/" in resource:
            st, _, body = EMU.call("POST", "/v1/%s:getIamPolicy?options.requestedPolicyVersion=%d"
                                   % (resource, version))
        else:
            st, _, body = EMU.call("GET", "/%s/%s:getIamPolicy?options.requestedPolicyVersion=%d"
                                   % (api, resource, version))
        self.assertEqual(st, 200, body)
        return body

    def set_policy(self, policy, resource=SVC, api="v2", mask=None):
        body = {"policy": policy}
        if mask is not None:
            body["updateMask"] = mask
        prefix = "v1" if "/serviceAccounts/" in resource else api
        return EMU.call("POST", "/%s/%s:setIamPolicy" % (prefix, resource), body)


class AuthTests(Base):
    def test_missing_token_is_401(self):
        st, r, body = EMU.call("GET", "/v2/" + SVC, token=None)
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["status"], "UNAUTHENTICATED")
        self.assertEqual(body["error"]["code"], 401)

    def test_unknown_token_is_401(self):
        st, _, body = EMU.call("GET", "/v2/" + SVC, token="ya29.not-minted-here")
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["status"], "UNAUTHENTICATED")

    def test_expired_token_is_401(self):
        tok = EMU.control("POST", "token", {"lifetime": 0})["access_token"]
        time.sleep(0.05)
        st, _, body = EMU.call("GET", "/v2/" + SVC, token=tok)
        self.assertEqual(st, 401)
        self.assertEqual(body["error"]["details"][0]["reason"], "ACCESS_TOKEN_EXPIRED")

    def test_jwt_bearer_grant(self):
        form = urllib.parse.urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": make_assertion()})
        st, _, data = EMU.raw("POST", "/token", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, data)
        tok = json.loads(data)
        self.assertEqual(tok["token_type"], "Bearer")
        self.assertEqual(tok["expires_in"], 3599)
        st, _, _ = EMU.call("GET", "/v2/" + SVC, token=tok["access_token"])
        self.assertEqual(st, 200)

    def test_jwt_bearer_rejects_bad_assertions(self):
        now = int(time.time())
        bad = [
            "abc.def",
            make_assertion(header={"alg": "HS256", "typ": "JWT"}),
            make_assertion(exp=now + 3601),
            make_assertion(iss=None),
            make_assertion(aud=None),
            make_assertion(iat=None),
            make_assertion(exp=None),
            make_assertion(aud="https://example.com/token"),
            make_assertion(iat=now - 7200, exp=now - 3600),
        ]
        for a in bad:
            form = urllib.parse.urlencode({
                "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": a})
            st, _, data = EMU.raw("POST", "/token", form,
                                  {"Content-Type": "application/x-www-form-urlencoded"})
            self.assertIn(st, (400, 401), (a, data))
            self.assertIn(json.loads(data)["error"], ("invalid_grant", "invalid_client"))

    def test_refresh_token_grant(self):
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": "cid",
                                       "client_secret": "sec", "refresh_token": "1//rt"})
        st, _, data = EMU.raw("POST", "/token", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 200, data)
        self.assertTrue(json.loads(data)["access_token"])
        form = urllib.parse.urlencode({"grant_type": "refresh_token", "client_id": "cid"})
        st, _, data = EMU.raw("POST", "/token", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        self.assertEqual(st, 400)
        self.assertEqual(json.loads(data)["error"], "invalid_request")

    def test_token_lifetime_from_config(self):
        EMU.control("POST", "config", {"token_lifetime": 1})
        form = urllib.parse.urlencode({
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": make_assertion()})
        st, _, data = EMU.raw("POST", "/token", form,
                              {"Content-Type": "application/x-www-form-urlencoded"})
        tok = json.loads(data)
        self.assertEqual(tok["expires_in"], 1)
        self.assertEqual(EMU.call("GET", "/v2/" + SVC, token=tok["access_token"])[0], 200)
        time.sleep(1.2)
        self.assertEqual(EMU.call("GET", "/v2/" + SVC, token=tok["access_token"])[0], 401)

    def test_revoke_all_tokens(self):
        tok = EMU.control("POST", "token", {})["access_token"]
        self.assertEqual(EMU.call("GET", "/v2/" + SVC, token=tok)[0], 200)
        EMU.control("POST", "tokens/revoke", {})
        self.assertEqual(EMU.call("GET", "/v2/" + SVC, token=tok)[0], 401)
        EMU._token = None

    def test_log_never_contains_token(self):
        EMU.call("GET", "/v2/" + SVC)
        EMU.call("GET", "/v2/" + SVC, token=None)
        log = EMU.control("GET", "log")
        text = json.dumps(log)
        self.assertNotIn(EMU.token(), text)
        self.assertEqual([e["auth"] for e in log], [True, False])
        self.assertEqual([e["status"] for e in log], [200, 401])
        self.assertIs(log[0]["headers"]["authorization"], True)


class MetadataTests(Base):
    H = {"Metadata-Flavor": "Google"}

    def test_requires_flavor_header(self):
        st, r, _ = EMU.raw("GET", "/computeMetadata/v1/project/project-id")
        self.assertEqual(st, 403)
        self.assertEqual(r.getheader("Metadata-Flavor"), "Google")

    def test_token_email_identity_project(self):
        st, r, data = EMU.raw("GET", "/computeMetadata/v1/instance/service-accounts/default/token",
                              headers=self.H)
        self.assertEqual(st, 200)
        self.assertEqual(r.getheader("Metadata-Flavor"), "Google")
        tok = json.loads(data)
        self.assertEqual(tok["token_type"], "Bearer")
        self.assertEqual(EMU.call("GET", "/v2/" + SVC, token=tok["access_token"])[0], 200)
        st, _, data = EMU.raw("GET", "/computeMetadata/v1/instance/service-accounts/default/email",
                              headers=self.H)
        self.assertEqual((st, data.decode()), (200, SA))
        st, _, data = EMU.raw("GET", "/computeMetadata/v1/instance/service-accounts/default/"
                              "identity?audience=https://x.example&format=full", headers=self.H)
        self.assertEqual(st, 200)
        parts = data.decode().split(".")
        self.assertEqual(len(parts), 3)
        claims = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
        self.assertEqual(claims["aud"], "https://x.example")
        self.assertEqual(claims["email"], SA)
        st, _, _ = EMU.raw("GET", "/computeMetadata/v1/instance/service-accounts/default/identity",
                           headers=self.H)
        self.assertEqual(st, 400)
        st, _, data = EMU.raw("GET", "/computeMetadata/v1/project/project-id", headers=self.H)
        self.assertEqual((st, data.decode()), (200, "p"))


class RunTests(Base):
    def test_list_paginates_newest_first(self):
        names, token, pages = [], None, 0
        while True:
            q = "?pageSize=3" + ("&pageToken=" + urllib.parse.quote(token) if token else "")
            st, _, body = EMU.call("GET", "/v2/%s/services%s" % (P, q))
            self.assertEqual(st, 200, body)
            pages += 1
            names += [s["name"] for s in body["services"]]
            token = body.get("nextPageToken")
            if not token:
                self.assertNotIn("nextPageToken", body)
                break
        self.assertEqual(pages, 3)
        self.assertEqual(len(names), 8)
        self.assertEqual(names[0], P + "/services/svc-6")   # last seeded = newest
        self.assertEqual(names[-1], SVC)
        times = [EMU.call("GET", "/v2/" + n)[2]["createTime"] for n in names]
        self.assertEqual(times, sorted(times, reverse=True))

    def test_list_empty_omits_field_and_rejects_wildcard(self):
        st, _, body = EMU.call("GET", "/v2/projects/p/locations/us-east1/services")
        self.assertEqual((st, body), (200, {}))
        st, _, body = EMU.call("GET", "/v2/projects/p/locations/-/services")
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["status"], "INVALID_ARGUMENT")
        st, _, body = EMU.call("GET", "/v2/%s/services?pageToken=garbage" % P)
        self.assertEqual(st, 400)

    def test_list_jobs(self):
        st, _, body = EMU.call("GET", "/v2/%s/jobs" % P)
        self.assertEqual(st, 200)
        self.assertEqual(body["jobs"][0]["template"]["template"]["serviceAccount"], SA)

    def test_get_and_404(self):
        st, _, body = EMU.call("GET", "/v2/" + SVC)
        self.assertEqual(st, 200)
        self.assertEqual(body["template"]["serviceAccount"], SA)
        self.assertIsInstance(body["generation"], str)
        st, _, body = EMU.call("GET", "/v2/%s/services/nope" % P)
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["status"], "NOT_FOUND")
        st, _, body = EMU.call("GET", "/v2/%s/services/nope:getIamPolicy" % P)
        self.assertEqual(st, 404)

    def test_unknown_route_and_wrong_method(self):
        st, _, body = EMU.call("GET", "/v2/projects/p/whatever")
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["code"], 404)
        st, r, body = EMU.call("DELETE", "/v2/" + SVC)
        self.assertEqual(st, 405)
        self.assertIn("GET", r.getheader("Allow"))
        st, _, body = EMU.call("POST", "/v2/%s:getIamPolicy" % SVC, {})
        self.assertEqual(st, 405)

    def test_patch_service_account(self):
        st, _, op = EMU.call("PATCH", "/v2/%s?updateMask=template.serviceAccount" % SVC,
                             {"template": {"serviceAccount": SA2}})
        self.assertEqual(st, 200, op)
        self.assertTrue(op["done"])
        self.assertRegex(op["name"], r"^projects/p/locations/europe-west1/operations/.+")
        self.assertEqual(op["response"]["template"]["serviceAccount"], SA2)
        self.assertEqual(op["response"]["generation"], "2")
        svc = EMU.call("GET", "/v2/" + SVC)[2]
        self.assertEqual(svc["template"]["serviceAccount"], SA2)
        self.assertTrue(svc["template"]["containers"], "mask must not wipe containers")
        st, _, op2 = EMU.call("GET", "/v2/" + op["name"])
        self.assertEqual((st, op2["name"]), (200, op["name"]))
        st, _, op = EMU.call("PATCH", "/v2/" + JOB, {"template": {"template": {
            "serviceAccount": SA2}}})
        self.assertEqual(st, 200, op)
        job = EMU.call("GET", "/v2/" + JOB)[2]
        self.assertEqual(job["template"]["template"]["serviceAccount"], SA2)
        st, _, _ = EMU.call("PATCH", "/v2/%s/services/nope" % P, {})
        self.assertEqual(st, 404)
        st, _, _ = EMU.call("PATCH", "/v2/%s?updateMask=uid" % SVC, {"uid": "x"})
        self.assertEqual(st, 400)


class IamPolicyTests(Base):
    def test_version3_and_withcond_rendering(self):
        p3 = self.get_policy(version=3)
        self.assertEqual(p3["version"], 3)
        conds = [b for b in p3["bindings"] if "condition" in b]
        self.assertEqual(conds[0]["condition"], COND)
        for v in (0, 1):
            p1 = self.get_policy(version=v)
            self.assertEqual(p1["version"], 1)
            self.assertEqual(p1["etag"], p3["etag"])
            roles = [b["role"] for b in p1["bindings"]]
            self.assertTrue(any(re.fullmatch(r"roles/run\.admin_withcond_[0-9a-f]{20}", r)
                                for r in roles), roles)
            self.assertFalse(any("condition" in b for b in p1["bindings"]))
        st, _, body = EMU.call("GET", "/v2/%s:getIamPolicy" % SVC)
        self.assertEqual(st, 200)
        self.assertIn("_withcond_", json.dumps(body))
        for bad in ("2", "4", "x"):
            st, _, body = EMU.call("GET", "/v2/%s:getIamPolicy?options.requestedPolicyVersion=%s"
                                   % (SVC, bad))
            self.assertEqual(st, 400, bad)
            self.assertEqual(body["error"]["status"], "INVALID_ARGUMENT")

    def test_unknown_query_parameter_400(self):
        st, _, body = EMU.call("GET", "/v2/%s:getIamPolicy?requestedPolicyVersion=3" % SVC)
        self.assertEqual(st, 400)
        self.assertIn("requestedPolicyVersion", body["error"]["message"])
        st, _, _ = EMU.call("GET", "/v2/%s:getIamPolicy?options.requestedPolicyVersion=3"
                            "&prettyPrint=false&fields=etag" % SVC)
        self.assertEqual(st, 200)

    def test_policy_without_conditions_is_version1(self):
        p = self.get_policy(JOB, 3)
        self.assertEqual(p["version"], 1)
        self.assertNotIn("bindings", p)
        self.assertTrue(p["etag"])

    def test_set_with_etag_changes_etag_then_stale_etag_409(self):
        p = self.get_policy()
        old = p["etag"]
        p["bindings"].append({"role": "roles/run.invoker",
                              "members": ["serviceAccount:pusher@p.iam.gserviceaccount.com"]})
        st, _, new = self.set_policy(p)
        self.assertEqual(st, 200, new)
        self.assertNotEqual(new["etag"], old)
        self.assertEqual(new["version"], 3)
        inv = [b for b in new["bindings"] if b["role"] == "roles/run.invoker"]
        self.assertEqual(len(inv), 1, "bindings with the same role are merged")
        self.assertEqual(self.get_policy()["etag"], new["etag"])
        st, _, body = self.set_policy(p)  # still carries the old etag
        self.assertEqual(st, 409)
        self.assertEqual(body, {"error": {
            "code": 409, "status": "ABORTED",
            "message": "There were concurrent policy changes. Please retry the whole "
                       "read-modify-write with exponential backoff."}})

    def test_etag_in_either_base64_alphabet(self):
        # gcloud (apitools) decodes the bytes etag and sends it back URL-safe.
        import base64
        p = self.get_policy(JOB)
        for _ in range(100):  # until the etag differs between the alphabets
            if "+" in p["etag"] or "/" in p["etag"]:
                break
            self.assertEqual(self.set_policy(p, JOB)[0], 200)
            p = self.get_policy(JOB)
        self.assertRegex(p["etag"], "[+/]")
        raw = base64.b64decode(p["etag"])
        p["etag"] = base64.urlsafe_b64encode(raw).decode()
        st, _, body = self.set_policy(p, JOB)
        self.assertEqual(st, 200, body)
        p["etag"] = base64.urlsafe_b64encode(bytes(b ^ 1 for b in raw)).decode()
        self.assertEqual(self.set_policy(p, JOB)[0], 409)

    def test_parallel_writers_one_wins(self):
        import threading
        p = self.get_policy(JOB)
        results = []

        def writer(i):
            pol = dict(p, bindings=[{"role": "roles/run.invoker",
                                     "members": ["user:w%d@example.com" % i]}])
            results.append(self.set_policy(pol, JOB)[0])

        threads = [threading.Thread(target=writer, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [200] + [409] * 11)

    def test_unconditional_write_is_logged(self):
        st, _, body = self.set_policy({"bindings": [
            {"role": "roles/run.invoker", "members": ["allUsers"]}]}, JOB)
        self.assertEqual(st, 200, body)
        log = EMU.control("GET", "log")
        self.assertTrue(log[-1].get("iam_unconditional_write"))
        p = self.get_policy(JOB)
        p["bindings"][0]["members"].append("allAuthenticatedUsers")
        self.assertEqual(self.set_policy(p, JOB)[0], 200)
        self.assertNotIn("iam_unconditional_write", EMU.control("GET", "log")[-1])

    def test_empty_bindings_dropped(self):
        p = self.get_policy()
        p["bindings"].append({"role": "roles/run.viewer", "members": []})
        p["bindings"].append({"role": "roles/run.developer"})
        st, _, new = self.set_policy(p)
        self.assertEqual(st, 200, new)
        roles = [b["role"] for b in new["bindings"]]
        self.assertNotIn("roles/run.viewer", roles)
        self.assertNotIn("roles/run.developer", roles)

    def test_removing_everything_omits_bindings(self):
        p = self.get_policy(JOB)
        p["bindings"] = []
        st, _, new = self.set_policy(p, JOB)
        self.assertEqual(st, 200, new)
        self.assertNotIn("bindings", new)

    def test_invalid_policies_400(self):
        base = self.get_policy()
        cases = [
            [{"role": "roles/run.invoker", "members": ["bob@example.com"]}],
            [{"role": "roles/run.invoker", "members": ["user:"]}],
            [{"role": "roles/run.invoker", "members": ["deleted:user:x@example.com?uid=1"]}],
            [{"role": "run.invoker", "members": ["user:a@example.com"]}],
            [{"role": "roles/run.admin_withcond_0123456789abcdef0123",
              "members": ["user:a@example.com"]}],
            [{"role": "roles/run.invoker", "members": ["user:a@example.com"],
              "condition": {"title": "t"}}],
        ]
        for bindings in cases:
            pol = dict(base, bindings=bindings)
            st, _, body = self.set_policy(pol)
            self.assertEqual(st, 400, bindings)
            self.assertEqual(body["error"]["status"], "INVALID_ARGUMENT")
        # conditions need version 3
        pol = dict(base, version=1)
        st, _, body = self.set_policy(pol)
        self.assertEqual(st, 400)
        # jobs do not accept conditions
        jp = self.get_policy(JOB)
        jp.update(version=3, bindings=[{"role": "roles/run.invoker",
                                        "members": ["user:a@example.com"],
                                        "condition": COND}])
        st, _, body = self.set_policy(jp, JOB)
        self.assertEqual(st, 400)
        self.assertEqual(self.get_policy()["etag"], base["etag"], "nothing was written")

    def test_valid_member_forms(self):
        p = self.get_policy(JOB)
        p["bindings"] = [{"role": "roles/run.invoker", "members": [
            "user:a@example.com", "group:g@example.com",
            "serviceAccount:s@p.iam.gserviceaccount.com",
            "serviceAccount:p.svc.id.goog[ns/ksa]", "domain:example.com",
            "principal://iam.googleapis.com/locations/global/workforcePools/pool/subject/s",
            "principalSet://iam.googleapis.com/projects/1/locations/global/"
            "workloadIdentityPools/pool/*", "allUsers", "allAuthenticatedUsers"]},
            {"role": "projects/p/roles/custom", "members": ["user:a@example.com"]},
            {"role": "organizations/123/roles/custom", "members": ["user:a@example.com"]}]
        st, _, body = self.set_policy(p, JOB)
        self.assertEqual(st, 200, body)

    def test_deleted_member_kept_when_present(self):
        res = "projects/p/serviceAccounts/" + SA
        p = self.get_policy(res)
        self.assertIn("deleted:user:gone@example.com?uid=123456789",
                      p["bindings"][0]["members"])
        p["bindings"][0]["members"].append("user:d@example.com")
        st, _, body = self.set_policy(p, res)
        self.assertEqual(st, 200, body)

    def test_update_mask_and_audit_configs(self):
        p = self.get_policy()
        self.assertIn("auditConfigs", p)
        p2 = dict(p)
        del p2["auditConfigs"]
        st, _, new = self.set_policy(p2)
        self.assertEqual(st, 200)
        self.assertIn("auditConfigs", new, "default mask leaves auditConfigs alone")
        st, _, new2 = self.set_policy(dict(p2, etag=new["etag"]),
                                      mask="bindings,etag,auditConfigs")
        self.assertEqual(st, 200, new2)
        self.assertNotIn("auditConfigs", new2)
        st, _, _ = self.set_policy(dict(p2, etag=new2["etag"]), mask="bindings,foo")
        self.assertEqual(st, 400)

    def test_version1_write_over_conditional_policy_rejected(self):
        p1 = self.get_policy(version=1)
        st, _, body = self.set_policy(p1)  # carries _withcond_ roles
        self.assertEqual(st, 400)
        p1["bindings"] = [b for b in p1["bindings"] if "_withcond_" not in b["role"]]
        st, _, body = self.set_policy(p1)  # v1 with etag over a v3 policy
        self.assertEqual(st, 400)
        del p1["etag"]
        st, _, body = self.set_policy(p1)  # without etag: allowed, conditions lost
        self.assertEqual(st, 200)
        self.assertEqual(self.get_policy()["version"], 1)

    def test_run_v1_paths_share_store(self):
        p = self.get_policy(api="v1")
        self.assertEqual(p["etag"], self.get_policy()["etag"])
        p["bindings"].append({"role": "roles/run.viewer", "members": ["user:v@example.com"]})
        st, _, new = self.set_policy(p, api="v1")
        self.assertEqual(st, 200, new)
        self.assertEqual(self.get_policy()["etag"], new["etag"])

    def test_test_iam_permissions(self):
        perms = ["run.services.get", "run.services.setIamPolicy"]
        st, _, body = EMU.call("POST", "/v2/%s:testIamPermissions" % SVC,
                               {"permissions": perms})
        self.assertEqual((st, body), (200, {"permissions": perms}))
        EMU.control("POST", "config", {"denied_permissions": ["run.services.setIamPolicy"]})
        st, _, body = EMU.call("POST", "/v2/%s:testIamPermissions" % SVC,
                               {"permissions": perms})
        self.assertEqual(body, {"permissions": ["run.services.get"]})
        st, _, body = EMU.call("POST", "/v2/%s:testIamPermissions" % SVC,
                               {"permissions": ["run.*"]})
        self.assertEqual(st, 400)

    def test_out_of_band_policy(self):
        before = self.get_policy()
        after = EMU.control("POST", "policy", {"resource": SVC, "policy": {"bindings": [
            {"role": "roles/run.invoker", "members": ["user:z@example.com"]}]}})
        self.assertNotEqual(after["etag"], before["etag"])
        self.assertEqual(self.get_policy()["bindings"], after["bindings"])
        st, _, _ = EMU.raw("POST", "/_emulator/policy", {"resource": P + "/services/x",
                                                          "policy": {}})
        self.assertEqual(st, 404)


class ServiceAccountTests(Base):
    def test_list_paginates(self):
        st, _, body = EMU.call("GET", "/v1/projects/p/serviceAccounts?pageSize=2")
        self.assertEqual(st, 200)
        self.assertEqual(len(body["accounts"]), 2)
        st, _, body2 = EMU.call("GET", "/v1/projects/p/serviceAccounts?pageSize=2&pageToken="
                                + urllib.parse.quote(body["nextPageToken"]))
        self.assertEqual(len(body2["accounts"]), 1)
        self.assertNotIn("nextPageToken", body2)
        st, _, body = EMU.call("GET", "/v1/projects/empty/serviceAccounts")
        self.assertEqual((st, body), (200, {}))

    def test_get(self):
        st, _, acc = EMU.call("GET", "/v1/projects/p/serviceAccounts/" + SA)
        self.assertEqual(st, 200)
        self.assertEqual(acc["name"], "projects/p/serviceAccounts/" + SA)
        self.assertEqual(acc["projectId"], "p")
        self.assertNotIn("disabled", acc)
        st, _, acc2 = EMU.call("GET", "/v1/projects/-/serviceAccounts/" + SA)
        self.assertEqual(acc2, acc)
        st, _, acc3 = EMU.call("GET", "/v1/projects/p/serviceAccounts/" + acc["uniqueId"])
        self.assertEqual(acc3, acc)
        st, _, body = EMU.call("GET", "/v1/projects/p/serviceAccounts/nobody@p.iam.gserviceaccount.com")
        self.assertEqual((st, body["error"]["status"]), (404, "NOT_FOUND"))
        st, _, body = EMU.call("GET", "/v1/projects/-/serviceAccounts/nobody@p.iam.gserviceaccount.com")
        self.assertEqual((st, body["error"]["status"]), (403, "PERMISSION_DENIED"))

    def test_policy_roundtrip(self):
        path = "/v1/projects/p/serviceAccounts/%s:getIamPolicy?options.requestedPolicyVersion=3" % SA2
        st, _, p = EMU.call("POST", path)  # empty body
        self.assertEqual(st, 200, p)
        self.assertEqual(p["version"], 1)
        p["version"] = 3
        p["bindings"] = [{"role": "roles/iam.serviceAccountUser",
                          "members": ["user:e@example.com"], "condition": COND}]
        st, _, new = self.set_policy(p, "projects/p/serviceAccounts/" + SA2)
        self.assertEqual(st, 200, new)
        self.assertEqual(new["version"], 3)
        st, _, p1 = EMU.call("POST", path.replace("=3", "=1"))
        self.assertIn("_withcond_", p1["bindings"][0]["role"])
        st, _, body = EMU.call("POST", "/v1/projects/p/serviceAccounts/%s:testIamPermissions" % SA2,
                               {"permissions": ["iam.serviceAccounts.actAs"]})
        self.assertEqual(body, {"permissions": ["iam.serviceAccounts.actAs"]})


class StorageTests(Base):
    def upload(self, name, data, gen=None, token=None, ctype="application/json"):
        q = {"uploadType": "media", "name": name}
        if gen is not None:
            q["ifGenerationMatch"] = str(gen)
        return EMU.call("POST", "/upload/storage/v1/b/b/o?" + urllib.parse.urlencode(q),
                        data, token=token, headers={"Content-Type": ctype})

    def test_lease_cycle(self):
        st, _, obj = self.upload("locks/lease.json", b'{"holder":"a"}', 0)
        self.assertEqual(st, 200, obj)
        gen = obj["generation"]
        self.assertIsInstance(gen, str)
        self.assertEqual(obj["size"], "14")
        st, _, body = self.upload("locks/lease.json", b'{"holder":"b"}', 0)
        self.assertEqual(st, 412)
        self.assertEqual(body["error"]["code"], 412)
        self.assertEqual(body["error"]["errors"][0]["reason"], "conditionNotMet")
        self.assertNotIn("status", body["error"])
        st, _, obj2 = self.upload("locks/lease.json", b'{"holder":"a2"}', gen)
        self.assertEqual(st, 200)
        self.assertGreater(int(obj2["generation"]), int(gen))
        st, r, data = EMU.raw("GET", "/storage/v1/b/b/o/locks%2Flease.json?alt=media")
        self.assertEqual((st, data), (200, b'{"holder":"a2"}'))
        self.assertEqual(r.getheader("x-goog-generation"), obj2["generation"])
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        st, _, body = EMU.call("DELETE", "/storage/v1/b/b/o/locks%2Flease.json?ifGenerationMatch="
                               + gen, token=None)
        self.assertEqual(st, 412)
        st, r, body = EMU.call("DELETE", "/storage/v1/b/b/o/locks%2Flease.json?ifGenerationMatch="
                               + obj2["generation"], token=None)
        self.assertEqual((st, body), (204, None))
        st, _, body = EMU.call("GET", "/storage/v1/b/b/o/locks%2Flease.json", token=None)
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["errors"][0]["reason"], "notFound")

    def test_metadata_and_hashes(self):
        st, _, obj = EMU.call("GET", "/storage/v1/b/b/o/apps%2Fa.yaml", token=None)
        self.assertEqual(st, 200)
        self.assertEqual(obj["name"], "apps/a.yaml")
        self.assertEqual(obj["md5Hash"], base64.b64encode(
            __import__("hashlib").md5(b"kind: App\n").digest()).decode())
        for k in ("generation", "metageneration", "size"):
            self.assertIsInstance(obj[k], str)
        st, _, _ = EMU.call("GET", "/storage/v1/b/b/o/apps%2Fa.yaml?ifGenerationNotMatch="
                            + obj["generation"], token=None)
        self.assertEqual(st, 304)

    def test_list_prefix_delimiter_pages(self):
        st, _, body = EMU.call("GET", "/storage/v1/b/b/o?prefix=apps/", token=None)
        self.assertEqual([i["name"] for i in body["items"]], ["apps/a.yaml", "apps/b.yaml"])
        st, _, body = EMU.call("GET", "/storage/v1/b/b/o?prefix=none/", token=None)
        self.assertEqual(body, {"kind": "storage#objects"})
        st, _, body = EMU.call("GET", "/storage/v1/b/b/o?delimiter=/", token=None)
        self.assertEqual(body["prefixes"], ["apps/"])
        self.assertEqual([i["name"] for i in body["items"]], ["top.txt"])
        names, token = [], None
        while True:
            q = "maxResults=1" + ("&pageToken=" + urllib.parse.quote(token) if token else "")
            st, _, body = EMU.call("GET", "/storage/v1/b/b/o?" + q, token=None)
            names += [i["name"] for i in body.get("items", [])]
            token = body.get("nextPageToken")
            if not token:
                break
        self.assertEqual(names, ["apps/a.yaml", "apps/b.yaml", "top.txt"])
        st, _, body = EMU.call("GET", "/storage/v1/b/nobucket/o", token=None)
        self.assertEqual(st, 404)

    def test_multipart_upload(self):
        boundary = "xyzzy"
        body = ("--xyzzy\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                '{"name":"m/obj.txt","contentType":"text/plain","metadata":{"k":"v"}}\r\n'
                "--xyzzy\r\nContent-Type: text/plain\r\n\r\nhello\r\n--xyzzy--\r\n")
        st, _, obj = EMU.call("POST", "/upload/storage/v1/b/b/o?uploadType=multipart",
                              body.encode(), token=None,
                              headers={"Content-Type": "multipart/related; boundary=" + boundary})
        self.assertEqual(st, 200, obj)
        self.assertEqual((obj["name"], obj["size"], obj["metadata"]), ("m/obj.txt", "5", {"k": "v"}))

    def test_storage_auth_rules(self):
        st, _, _ = self.upload("x", b"1", token=EMU.token())
        self.assertEqual(st, 200)
        st, _, body = self.upload("x", b"1", token="bogus")
        self.assertEqual(st, 401)
        self.assertIn("errors", body["error"])
        EMU.control("POST", "config", {"require_auth": False})
        self.assertEqual(self.upload("x", b"1", token="bogus")[0], 200)
        EMU.control("POST", "config", {"require_auth": True, "storage_require_auth": True})
        self.assertEqual(self.upload("x", b"1")[0], 401)
        self.assertEqual(self.upload("x", b"1", token=EMU.token())[0], 200)


class FaultTests(Base):
    def faults(self, *rules):
        EMU.control("POST", "faults", list(rules))

    def test_429_with_retry_after_then_clears(self):
        self.faults({"match": {"method": "POST", "path_regex": ":setIamPolicy$"},
                     "count": 1, "action": {"status": 429, "retry_after": 2}})
        p = self.get_policy()
        st, r, body = self.set_policy(p)
        self.assertEqual(st, 429)
        self.assertEqual(r.getheader("Retry-After"), "2")
        self.assertEqual(body["error"]["status"], "RESOURCE_EXHAUSTED")
        st, _, _ = self.set_policy(p)
        self.assertEqual(st, 200)
        self.assertEqual(EMU.control("GET", "faults"), [])

    def test_503_and_custom_body_and_storage_format(self):
        self.faults({"match": {"path_regex": "/services/api$"}, "count": 2,
                     "action": {"status": 503}},
                    {"match": {"path_regex": "^/storage/"}, "count": 1,
                     "action": {"status": 429}})
        st, _, body = EMU.call("GET", "/v2/" + SVC)
        self.assertEqual((st, body["error"]["status"]), (503, "UNAVAILABLE"))
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[0], 503)
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[0], 200)
        st, _, body = EMU.call("GET", "/storage/v1/b/b/o", token=None)
        self.assertEqual(st, 429)
        self.assertEqual(body["error"]["errors"][0]["reason"], "rateLimitExceeded")
        self.faults({"match": {}, "action": {"status": 500, "body": {"custom": 1}}})
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[2], {"custom": 1})

    def test_forever_and_clear(self):
        self.faults({"match": {"path_regex": "/jobs/"}, "count": -1, "action": {"status": 500}})
        for _ in range(3):
            self.assertEqual(EMU.call("GET", "/v2/" + JOB)[0], 500)
        EMU.control("DELETE", "faults")
        self.assertEqual(EMU.call("GET", "/v2/" + JOB)[0], 200)

    def test_drop(self):
        self.faults({"match": {"path_regex": "/services/api$"}, "action": {"drop": True}})
        with self.assertRaises((http.client.RemoteDisconnected, ConnectionError)):
            EMU.call("GET", "/v2/" + SVC)
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[0], 200)

    def test_truncate(self):
        self.faults({"match": {"path_regex": "/services/api$"}, "action": {"truncate": True}})
        with self.assertRaises(http.client.IncompleteRead):
            EMU.call("GET", "/v2/" + SVC)

    def test_reset_mid_body(self):
        self.faults({"match": {"path_regex": "/services/api$"},
                     "action": {"reset_mid_body": True}})
        with self.assertRaises((http.client.IncompleteRead, ConnectionError,
                                http.client.RemoteDisconnected)):
            EMU.call("GET", "/v2/" + SVC)
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[0], 200)

    def test_latency_and_stall(self):
        self.faults({"match": {"path_regex": "/services/api$"}, "action": {"latency_ms": 300}})
        t = time.time()
        self.assertEqual(EMU.call("GET", "/v2/" + SVC)[0], 200)
        self.assertGreaterEqual(time.time() - t, 0.3)
        # a stalled write is applied even when the client gives up waiting
        self.faults({"match": {"path_regex": ":setIamPolicy$"}, "action": {"stall_ms": 1500}})
        p = self.get_policy(JOB)
        p["bindings"] = [{"role": "roles/run.invoker", "members": ["allUsers"]}]
        c = EMU.conn(timeout=0.5)
        with self.assertRaises((TimeoutError, OSError)):
            EMU.raw("POST", "/v2/%s:setIamPolicy" % JOB, {"policy": p},
                    {"Authorization": "Bearer " + EMU.token()}, conn=c)
        c.close()
        time.sleep(1.2)
        self.assertEqual(self.get_policy(JOB)["bindings"][0]["members"], ["allUsers"])

    def test_global_latency(self):
        EMU.control("POST", "config", {"latency_ms": 200})
        t = time.time()
        EMU.call("GET", "/v2/" + SVC)
        self.assertGreaterEqual(time.time() - t, 0.2)

    def test_oversize(self):
        self.faults({"match": {"path_regex": "/services/api$"},
                     "action": {"oversize_bytes": 5 * 1024 * 1024}})
        st, r, data = EMU.raw("GET", "/v2/" + SVC, headers={
            "Authorization": "Bearer " + EMU.token()})
        self.assertEqual(st, 200)
        self.assertEqual(len(data), 5 * 1024 * 1024)
        self.assertEqual(json.loads(data)["name"], SVC)

    def test_concurrent_change(self):
        self.faults({"match": {"method": "POST", "path_regex": ":setIamPolicy$"},
                     "action": {"concurrent_change": {"add": {
                         "role": "roles/run.invoker", "member": "user:sneaky@example.com"}}}})
        p = self.get_policy()
        st, _, body = self.set_policy(p)
        self.assertEqual(st, 409)
        self.assertEqual(body["error"]["status"], "ABORTED")
        fresh = self.get_policy()
        inv = [b for b in fresh["bindings"] if b["role"] == "roles/run.invoker"][0]
        self.assertIn("user:sneaky@example.com", inv["members"])
        self.assertEqual(self.set_policy(fresh)[0], 200)

    def test_bad_rule_rejected(self):
        st, _, _ = EMU.raw("POST", "/_emulator/faults", [{"match": {}, "action": {"explode": 1}}])
        self.assertEqual(st, 400)
        st, _, _ = EMU.raw("POST", "/_emulator/faults", [{"match": {"path_regex": "("},
                                                          "action": {"drop": True}}])
        self.assertEqual(st, 400)


class ControlAndTransportTests(Base):
    def test_state_snapshot_and_merge(self):
        st = EMU.control("GET", "state")
        self.assertIn(SVC, st["policies"])
        self.assertEqual(len(st["services"]), 8)
        self.assertEqual(st["buckets"]["b"]["objects"]["top.txt"]["content"], "top")
        EMU.control("POST", "state?mode=merge", {"services": [{"name": P + "/services/new"}]})
        self.assertEqual(len(EMU.control("GET", "state")["services"]), 9)
        EMU.control("POST", "state", {"services": [{"name": P + "/services/only"}]})
        self.assertEqual(len(EMU.control("GET", "state")["services"]), 1)

    def test_keep_alive(self):
        c = EMU.conn()
        h = {"Authorization": "Bearer " + EMU.token()}
        for _ in range(3):
            st, r, _ = EMU.raw("GET", "/v2/" + SVC, headers=h, conn=c)
            self.assertEqual(st, 200)
            self.assertIsNotNone(r.getheader("Content-Length"))
        st, _, _ = EMU.raw("GET", "/v2/nope", headers=h, conn=c)
        self.assertEqual(st, 404)
        self.assertEqual(EMU.raw("GET", "/v2/" + SVC, headers=h, conn=c)[0], 200)
        c.close()

    def test_chunked_request_body(self):
        c = EMU.conn()
        c.putrequest("POST", "/upload/storage/v1/b/b/o?uploadType=media&name=chunked")
        c.putheader("Transfer-Encoding", "chunked")
        c.putheader("Content-Type", "text/plain")
        c.endheaders()
        for part in (b"abc", b"defg"):
            c.send(b"%x\r\n%s\r\n" % (len(part), part))
        c.send(b"0\r\n\r\n")
        r = c.getresponse()
        body = json.loads(r.read())
        c.close()
        self.assertEqual((r.status, body["size"]), (200, "7"))

    def test_log_file_and_sigterm(self):
        tmp = tempfile.mkdtemp()
        log = os.path.join(tmp, "req.log")
        emu = Emu(make_seed(), ["--log", log])
        try:
            emu.call("GET", "/v2/" + SVC)
            emu.call("GET", "/storage/v1/b/b/o", token=None)
        finally:
            t = time.time()
            emu.stop()
            self.assertLess(time.time() - t, 5)
        self.assertEqual(emu.proc.returncode, 0)
        with open(log) as fh:
            lines = [json.loads(l) for l in fh]
        self.assertEqual([(l["method"], l["status"], l["auth"]) for l in lines],
                         [("GET", 200, True), ("GET", 200, False)])


if __name__ == "__main__":
    unittest.main()
