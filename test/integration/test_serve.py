#!/usr/bin/env python3
"""`roam serve` over real HTTP on 127.0.0.1: push (OIDC-verified and not),
webhooks, periodic resync, metrics, malformed requests, SIGTERM, and Google's
own Pub/Sub emulator delivering pushes.

OIDC tokens are RS256 JWTs signed here with the `openssl` command line, and
the JWK set is served by a small HTTP server in this test.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import tempfile
import threading
import time
import unittest
from datetime import datetime
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from harness import REPO, ROAM, Emulator, members, seed_from_live

EXAMPLES = os.path.join(REPO, "manifests", "examples")
LIVE = json.load(open(os.path.join(REPO, "hack", "demo", "live.json")))
HELLO = "projects/acme-sandbox/locations/europe-west1/services/hello"
AUDIENCE = "https://roam.example/pubsub"
PUSHER = "pusher@acme-platform.iam.gserviceaccount.com"
SECRET = "It's a Secret to Everybody"


def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Key:
    def __init__(self, tmp, kid):
        self.kid = kid
        self.pem = os.path.join(tmp, kid + ".pem")
        subprocess.run(["openssl", "genrsa", "-out", self.pem, "2048"], check=True, capture_output=True)
        mod = subprocess.run(["openssl", "rsa", "-in", self.pem, "-noout", "-modulus"], check=True,
                             capture_output=True, text=True).stdout.strip().split("=", 1)[1]
        self.jwk = {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                    "n": b64u(bytes.fromhex(mod)), "e": "AQAB"}

    def token(self, **over):
        now = int(time.time())
        claims = {"iss": "https://accounts.google.com", "aud": AUDIENCE, "email": PUSHER,
                  "email_verified": True, "sub": "1234", "iat": now, "exp": now + 3600}
        claims.update(over)
        head = b64u(json.dumps({"alg": "RS256", "kid": over.pop("kid", self.kid), "typ": "JWT"}).encode())
        body = b64u(json.dumps({k: v for k, v in claims.items() if k != "kid"}).encode())
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", self.pem],
                             input=f"{head}.{body}".encode(), check=True, capture_output=True).stdout
        return f"{head}.{body}.{b64u(sig)}"


class Jwks:
    def __init__(self, keys):
        doc = json.dumps({"keys": [k.jwk for k in keys]}).encode()

        class H(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(doc)))
                self.end_headers()
                self.wfile.write(doc)

            def log_message(self, *a):
                pass

        self.srv = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.srv.server_address[1]}/certs"
        threading.Thread(target=self.srv.serve_forever, daemon=True).start()

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


def push_body(data=None, attrs=None, mid=None):
    msg = {"messageId": mid or str(time.time_ns())}
    if data is not None:
        msg["data"] = base64.b64encode(data.encode()).decode()
    if attrs:
        msg["attributes"] = attrs
    return json.dumps({"message": msg, "subscription": "projects/p/subscriptions/s"}).encode()


def asset(resource):
    return json.dumps({"asset": {"name": "//run.googleapis.com/" + resource,
                                 "assetType": "run.googleapis.com/Service"}})


class Serve:
    def __init__(self, emu, tmp, *extra, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        e = emu.env()
        e.update(env or {})
        self.log = open(os.path.join(tmp, "serve.log"), "w")
        self.proc = subprocess.Popen([ROAM, "serve", "--source", EXAMPLES,
                                      "--state", os.path.join(tmp, "state"),
                                      "--listen", f"127.0.0.1:{self.port}", *extra],
                                     env=e, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                if self.get("/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError("roam serve did not become ready")

    def req(self, method, path, body=None, headers=None):
        r = urllib.request.Request(self.url + path, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(r, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def get(self, path):
        return self.req("GET", path)

    def push(self, body, token=None):
        h = {"Content-Type": "application/json"}
        if token is not None:
            h["Authorization"] = "Bearer " + token
        return self.req("POST", "/pubsub", body, h)

    def stop(self, timeout=12):
        t0 = time.time()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        rc = self.proc.wait(timeout=timeout)
        self.log.close()
        return rc, time.time() - t0


def writes_to(emu, resource):
    return [e for e in emu.log() if e["path"].endswith(resource + ":setIamPolicy") and e["status"] == 200]


def drift(emu):
    """Removes the declared invoker of hello behind roam's back."""
    pol = emu.policy(HELLO)
    pol["bindings"] = [b for b in pol.get("bindings", []) if b["role"] != "roles/run.invoker"]
    emu.call("POST", "/_emulator/policy", {"resource": HELLO, "policy": pol})


class Base(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator(seed_from_live(LIVE))
        self.tmp = tempfile.mkdtemp(prefix="roam-serve-")
        self.srv = None

    def tearDown(self):
        if self.srv is not None and self.srv.proc.poll() is None:
            self.srv.proc.kill()
            self.srv.proc.wait()
        self.emu.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


class PushNoAuth(Base):
    def test_asset_push_corrects_that_resource_and_is_fast(self):
        self.srv = Serve(self.emu, self.tmp, "--push-auth", "none")
        self.assertIn("push authentication disabled", self.srv.get("/readyz")[1])
        lat = []
        for i in range(25):
            drift(self.emu)
            self.emu.clear_log()
            t0 = time.time()
            code, _ = self.srv.push(push_body(asset(HELLO)))
            self.assertEqual(code, 204)
            deadline = time.time() + 5
            while not writes_to(self.emu, HELLO) and time.time() < deadline:
                time.sleep(0.002)
            w = writes_to(self.emu, HELLO)
            self.assertTrue(w, "no corrective setIamPolicy")
            # When the emulator received the write (same machine, same clock).
            seen = datetime.fromisoformat(w[0]["time"].replace("Z", "+00:00")).timestamp()
            lat.append(seen - t0)
            self.assertIn("group:everyone@acme.example", members(self.emu.policy(HELLO), "roles/run.invoker"))
            # Only that resource was read and written.
            touched = {e["path"] for e in self.emu.log() if ":" in e["path"].rsplit("/", 1)[-1]}
            self.assertTrue(all("services/hello:" in p for p in touched), touched)
        print(f"push -> corrective setIamPolicy received: median {statistics.median(lat) * 1000:.1f} ms, "
              f"max {max(lat) * 1000:.1f} ms over {len(lat)}")
        # A redelivered message id is acknowledged, not queued again.
        body = push_body(asset(HELLO), mid="same-id")
        self.assertEqual(self.srv.push(body)[0], 204)
        time.sleep(0.5)  # let that pass finish
        self.emu.clear_log()
        drift(self.emu)
        self.assertEqual(self.srv.push(body)[0], 204)
        time.sleep(0.3)
        self.assertEqual(writes_to(self.emu, HELLO), [])
        rc, took = self.srv.stop()
        self.assertEqual(rc, 0)

    def test_malformed_requests_get_4xx_and_serving_goes_on(self):
        self.srv = Serve(self.emu, self.tmp, "--push-auth", "none")
        self.assertEqual(self.srv.push(b"{not json")[0], 400)
        self.assertEqual(self.srv.push(b'{"message":{"data":"%%%","messageId":"1"}}')[0], 400)
        self.assertEqual(self.srv.req("GET", "/nope")[0], 404)
        self.assertEqual(self.srv.req("POST", "/healthz", b"")[0], 405)
        # Oversized headers and a truncated body on raw sockets.
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40000 + b"\r\n\r\n")
        self.assertIn(b" 431 ", s.recv(4096))
        s.close()
        s = socket.create_connection(("127.0.0.1", self.srv.port))
        s.sendall(b"POST /pubsub HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"mess")
        s.close()
        self.assertEqual(self.srv.get("/healthz")[0], 200)
        # Metrics parse as Prometheus text.
        code, text = self.srv.get("/metrics")
        self.assertEqual(code, 200)
        line = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? [-+0-9.eEInfa]+$')
        for l in text.splitlines():
            if l.startswith("#"):
                self.assertRegex(l, r"^# (HELP|TYPE) ")
            elif l:
                self.assertRegex(l, line)
        self.assertIn('roam_reconciles_total{kind="full",result="success"}', text)
        self.assertIn('roam_push_messages_total{kind="invalid",result="rejected"} 2', text)
        st = json.loads(self.srv.get("/status")[1])
        self.assertTrue(st["ready"])
        self.assertEqual(len(st["apps"]), 4)
        self.assertEqual(self.srv.stop()[0], 0)

    def test_periodic_resync_corrects_drift(self):
        self.srv = Serve(self.emu, self.tmp, "--push-auth", "none", "--resync", "1s")
        drift(self.emu)
        deadline = time.time() + 5
        while time.time() < deadline:
            if "group:everyone@acme.example" in members(self.emu.policy(HELLO), "roles/run.invoker"):
                break
            time.sleep(0.1)
        self.assertIn("group:everyone@acme.example", members(self.emu.policy(HELLO), "roles/run.invoker"))
        self.assertEqual(self.srv.stop()[0], 0)

    def test_sigterm_during_a_busy_resync(self):
        self.srv = Serve(self.emu, self.tmp, "--push-auth", "none", "--resync", "1s",
                         "--max-inflight", "1")
        for _ in range(3):
            drift(self.emu)
        self.emu.config(latency_ms=400)
        time.sleep(1.5)  # a resync is now in flight, slowly
        rc, took = self.srv.stop()
        self.assertEqual(rc, 0)
        self.assertLess(took, 10.5)
        self.emu.config(latency_ms=0)
        # Nothing half-written: a pass from where it stopped converges.
        p = subprocess.run([ROAM, "apply", "--source", EXAMPLES, "--state", os.path.join(self.tmp, "state")],
                           env=self.emu.env(), capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        q = subprocess.run([ROAM, "plan", "--source", EXAMPLES, "--state", os.path.join(self.tmp, "state"),
                            "--detailed-exitcode"], env=self.emu.env(), capture_output=True, text=True)
        self.assertEqual(q.returncode, 0, q.stdout)


class PushOidc(Base):
    def test_tokens(self):
        good, other = Key(self.tmp, "k1"), Key(self.tmp, "k2")
        jwks = Jwks([good])
        try:
            self.srv = Serve(self.emu, self.tmp, env={
                "ROAM_PUSH_AUDIENCE": AUDIENCE, "ROAM_PUSH_SERVICE_ACCOUNT": PUSHER,
                "ROAM_OIDC_JWKS_URL": jwks.url, "ROAM_WEBHOOK_SECRET": SECRET})
            body = lambda: push_body(asset(HELLO))
            bad = {
                "no token": (None, 401),
                "wrong audience": (good.token(aud="https://evil.example/"), 403),
                "expired": (good.token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600), 401),
                "wrong signer": (other.token(kid="k1"), 401),
                "unknown kid": (other.token(), 401),
                "wrong email": (good.token(email="x@evil.iam.gserviceaccount.com"), 403),
            }
            drift(self.emu)
            self.emu.clear_log()
            for name, (tok, want) in bad.items():
                code, text = self.srv.push(body(), tok)
                self.assertEqual(code, want, f"{name}: {text}")
            time.sleep(0.3)
            self.assertEqual(writes_to(self.emu, HELLO), [], "a rejected push changed something")
            code, _ = self.srv.push(body(), good.token())
            self.assertEqual(code, 204)
            deadline = time.time() + 5
            while not writes_to(self.emu, HELLO) and time.time() < deadline:
                time.sleep(0.01)
            self.assertTrue(writes_to(self.emu, HELLO))
            # The webhook: good and bad signatures.
            payload = b'{"zen":"Keep it logically awesome.","hook_id":1}'
            sig = "sha256=" + hmac.new(SECRET.encode(), payload, hashlib.sha256).hexdigest()
            code, text = self.srv.req("POST", "/webhook/github", payload,
                                      {"X-GitHub-Event": "ping", "X-Hub-Signature-256": sig})
            self.assertEqual((code, text.strip()), (200, "pong"))
            code, _ = self.srv.req("POST", "/webhook/github", payload,
                                   {"X-GitHub-Event": "ping", "X-Hub-Signature-256": "sha256=" + "0" * 64})
            self.assertEqual(code, 401)
            self.assertEqual(self.srv.stop()[0], 0)
        finally:
            jwks.close()


PUBSUB_EMULATOR = "/usr/lib/google-cloud-sdk/platform/pubsub-emulator/bin/cloud-pubsub-emulator"


@unittest.skipUnless(os.path.exists(PUBSUB_EMULATOR) and shutil.which("java"),
                     "skipped: Google's Pub/Sub emulator is not installed")
class RealPubSubEmulator(Base):
    def test_pushes_from_googles_emulator(self):
        self.srv = Serve(self.emu, self.tmp, "--push-auth", "none")
        port = free_port()
        ps = subprocess.Popen([PUBSUB_EMULATOR, f"--host=127.0.0.1", f"--port={port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}/v1/projects/roam-test"

            def call(method, path, body=None):
                r = urllib.request.Request(base + path, method=method,
                                           data=json.dumps(body).encode() if body is not None else None,
                                           headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(r, timeout=10) as resp:
                    return json.loads(resp.read() or b"{}")

            deadline = time.time() + 60
            while True:
                try:
                    call("PUT", "/topics/roam-events", {})
                    break
                except (OSError, urllib.error.URLError):
                    if time.time() > deadline:
                        raise
                    time.sleep(0.5)
            call("PUT", "/subscriptions/roam-push", {"topic": "projects/roam-test/topics/roam-events",
                                                    "ackDeadlineSeconds": 10,
                                            "pushConfig": {"pushEndpoint": self.srv.url + "/pubsub"}})
            drift(self.emu)
            self.emu.clear_log()
            call("POST", "/topics/roam-events:publish", {"messages": [
                {"data": base64.b64encode(asset(HELLO).encode()).decode()},
                {"attributes": {"eventType": "OBJECT_FINALIZE", "bucketId": "cfg",
                                "objectId": "apps/a.yaml", "objectGeneration": "1",
                                "payloadFormat": "NONE"}},
                {"data": base64.b64encode(b"something else").decode(), "attributes": {"k": "v"}},
                {"data": base64.b64encode(b'{"not":"an asset"}').decode()}]})
            deadline = time.time() + 20
            text = ""
            while time.time() < deadline:
                text = self.srv.get("/metrics")[1]
                if all(f'kind="{k}",result="queued"' in text for k in ("ASSET", "STORAGE", "OTHER")):
                    break
                time.sleep(0.2)
            for k in ("ASSET", "STORAGE", "OTHER"):
                self.assertIn(f'roam_push_messages_total{{kind="{k}",result="queued"}}', text)
            self.assertIn('kind="WELCOME",result="queued"', text)
            deadline = time.time() + 10
            while not writes_to(self.emu, HELLO) and time.time() < deadline:
                time.sleep(0.1)
            self.assertTrue(writes_to(self.emu, HELLO), "the asset push did not correct hello")
        finally:
            os.killpg(ps.pid, signal.SIGTERM)
            ps.wait(timeout=20)
        self.assertEqual(self.srv.stop()[0], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
