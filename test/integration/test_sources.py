#!/usr/bin/env python3
"""Sources and revocation end to end: a real `git daemon`, a bucket on the
emulator, the gs:// ledger, racing applies and a kill -9 in the middle of an
apply.

Every removal from the source (a member, a trait, a component, a whole app)
must remove exactly the bindings roam owned for it on the next apply, and
nothing else; a source that cannot be read must revoke nothing.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.parse

from harness import ROAM, Emulator, members, roam, write_app

S = "projects/acme-src/locations/europe-west1/services/"
FOREIGN = "user:someone-else@acme.example"


def seed(n=3, bucket_objects=None):
    services = [{"name": S + f"svc{i}",
                 "policy": {"bindings": [{"role": "roles/run.invoker", "members": [FOREIGN]}]}}
                for i in range(n)]
    out = {"services": services}
    if bucket_objects is not None:
        out["buckets"] = {"cfg": {"objects": bucket_objects}}
    return out


def app(name, comps):
    """comps: list of (service, [members], with_developer_trait)"""
    lines = ["apiVersion: core.oam.dev/v1beta1", "kind: Application",
             f"metadata: {{name: {name}}}", "spec:", "  components:"]
    for svc, mem, dev in comps:
        lines += [f"    - name: {svc}", "      type: cloud-run-service",
                  "      properties: {project: acme-src, region: europe-west1}",
                  "      traits:",
                  "        - type: invoker",
                  f"          properties: {{members: [{', '.join(mem)}]}}"]
        if dev:
            lines += ["        - type: iam-bindings",
                      "          properties:",
                      "            bindings:",
                      f"              - {{role: roles/run.developer, members: [group:{svc}-devs@acme.example]}}"]
    return "\n".join(lines) + "\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def git(cwd, *args):
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


class GitServer:
    def __init__(self, base):
        self.base = base
        self.bare = os.path.join(base, "repo.git")
        self.work = os.path.join(base, "work")
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", self.bare], check=True)
        subprocess.run(["git", "init", "-q", "-b", "main", self.work], check=True)
        git(self.work, "remote", "add", "origin", self.bare)
        self.port = free_port()
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(
            ["git", "daemon", "--export-all", "--reuseaddr", f"--base-path={self.base}",
             "--listen=127.0.0.1", f"--port={self.port}", self.base],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("git daemon did not start")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def commit(self, files, message, force=False):
        appdir = os.path.join(self.work, "apps")
        shutil.rmtree(appdir, ignore_errors=True)
        os.makedirs(appdir)
        for name, text in files.items():
            write_app(appdir, name, text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "--allow-empty", "-m", message)
        git(self.work, "push", "-q", *(["--force"] if force else []), "origin", "main")

    def url(self, ref="main"):
        return f"git://127.0.0.1:{self.port}/repo.git?ref={ref}&path=apps"


def have_git_daemon():
    p = subprocess.run(["git", "daemon", "--help"], capture_output=True)
    return p.returncode in (0, 1) and shutil.which("git") is not None and \
        os.path.exists(subprocess.run(["git", "--exec-path"], capture_output=True, text=True).stdout.strip() + "/git-daemon")


class Base(unittest.TestCase):
    bucket = None

    def setUp(self):
        self.emu = Emulator(seed(bucket_objects=self.bucket))
        self.tmp = tempfile.mkdtemp(prefix="roam-src-")
        self.state = os.path.join(self.tmp, "state")
        self.env = self.emu.env()
        self.env["STORAGE_EMULATOR_HOST"] = self.emu.url
        self.env["ROAM_CACHE_DIR"] = os.path.join(self.tmp, "cache")

    def tearDown(self):
        self.emu.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_roam(self, *args, timeout=120):
        p = subprocess.run([ROAM, *args], capture_output=True, text=True, env=self.env, timeout=timeout)
        self.assertLess(p.returncode, 128, p.stderr)
        self.assertNotIn("Sanitizer", p.stderr)
        return p

    def inv(self, i):
        return members(self.emu.policy(S + f"svc{i}"), "roles/run.invoker")

    def dev(self, i):
        return members(self.emu.policy(S + f"svc{i}"), "roles/run.developer")


@unittest.skipUnless(have_git_daemon(), "skipped: git daemon is not installed")
class GitRevocation(Base):
    def setUp(self):
        super().setUp()
        self.git = GitServer(os.path.join(self.tmp, "git"))

    def tearDown(self):
        self.git.stop()
        super().tearDown()

    def apply(self, *extra, ref="main"):
        return self.run_roam("apply", "--source", self.git.url(ref), "--state", self.state, *extra)

    def test_revocation_steps(self):
        g = self.git
        g.commit({"a.yaml": app("a", [("svc0", ["user:x@acme.example", "user:y@acme.example"], True),
                                      ("svc1", ["user:z@acme.example"], False)]),
                  "b.yaml": app("b", [("svc2", ["user:b@acme.example"], False)])}, "first")
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:x@acme.example", "user:y@acme.example"})
        self.assertEqual(self.dev(0), {"group:svc0-devs@acme.example"})
        # 1. a member removed
        g.commit({"a.yaml": app("a", [("svc0", ["user:x@acme.example"], True),
                                      ("svc1", ["user:z@acme.example"], False)]),
                  "b.yaml": app("b", [("svc2", ["user:b@acme.example"], False)])}, "drop y")
        self.assertEqual(self.apply().returncode, 0)
        self.assertEqual(self.inv(0), {FOREIGN, "user:x@acme.example"})
        # 2. a trait removed
        g.commit({"a.yaml": app("a", [("svc0", ["user:x@acme.example"], False),
                                      ("svc1", ["user:z@acme.example"], False)]),
                  "b.yaml": app("b", [("svc2", ["user:b@acme.example"], False)])}, "drop trait")
        self.assertEqual(self.apply().returncode, 0)
        self.assertEqual(self.dev(0), set())
        # 3. a component removed
        g.commit({"a.yaml": app("a", [("svc0", ["user:x@acme.example"], False)]),
                  "b.yaml": app("b", [("svc2", ["user:b@acme.example"], False)])}, "drop component")
        self.assertEqual(self.apply().returncode, 0)
        self.assertEqual(self.inv(1), {FOREIGN})
        # 4. a whole app removed
        g.commit({"a.yaml": app("a", [("svc0", ["user:x@acme.example"], False)])}, "drop app b")
        self.assertEqual(self.apply().returncode, 0)
        self.assertEqual(self.inv(2), {FOREIGN})
        self.assertFalse(os.path.exists(os.path.join(self.state, "b.json")))
        # Nothing else was touched.
        self.assertEqual(self.inv(0), {FOREIGN, "user:x@acme.example"})

    def test_force_push_is_followed(self):
        g = self.git
        g.commit({"a.yaml": app("a", [("svc0", ["user:one@acme.example"], False)])}, "one")
        self.assertEqual(self.apply().returncode, 0)
        g.commit({"a.yaml": app("a", [("svc0", ["user:two@acme.example"], False)])}, "two")
        # Rewrite history: a new root commit, force-pushed.
        git(g.work, "checkout", "-q", "--orphan", "rewritten")
        g.commit({"a.yaml": app("a", [("svc0", ["user:three@acme.example"], False)])}, "rewritten")
        git(g.work, "push", "-q", "--force", "origin", "rewritten:main")
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:three@acme.example"})

    def test_bad_ref_and_unreachable_server_revoke_nothing(self):
        g = self.git
        g.commit({"a.yaml": app("a", [("svc0", ["user:keep@acme.example"], False)])}, "one")
        self.assertEqual(self.apply().returncode, 0)
        p = self.apply(ref="no-such-branch")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no-such-branch", p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:keep@acme.example"})
        g.stop()
        p = self.apply()
        self.assertEqual(p.returncode, 1)
        self.assertIn("cannot read source", p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:keep@acme.example"})
        self.assertTrue(os.path.exists(os.path.join(self.state, "a.json")))


class BucketRevocation(Base):
    bucket = {"apps/a.yaml": app("a", [("svc0", ["user:x@acme.example"], False)]),
              "apps/b.yaml": app("b", [("svc1", ["user:b@acme.example"], False)]),
              "apps/README.md": "not a document"}

    def apply(self, *extra):
        return self.run_roam("apply", "--source", "gs://cfg/apps", *extra)

    def test_bucket_source_and_gs_ledger(self):
        p = self.apply()  # default state: gs://cfg/.roam/state
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:x@acme.example"})
        objs = self.emu.state()["buckets"]["cfg"]
        names = set(objs["objects"] if isinstance(objs, dict) and "objects" in objs else objs)
        self.assertIn(".roam/state/a.json", names)
        # A changed object and a deleted one.
        self.emu.call("POST", "/_emulator/state?mode=merge", {"buckets": {"cfg": {"objects": {
            "apps/a.yaml": app("a", [("svc0", ["user:x2@acme.example"], False)])}}}})
        req = urllib.parse.quote("apps/b.yaml", safe="")
        self.emu.call("DELETE", f"/storage/v1/b/cfg/o/{req}")
        self.emu.clear_log()
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN, "user:x2@acme.example"})
        self.assertEqual(self.inv(1), {FOREIGN})
        downloads = [e for e in self.emu.log() if e["path"].startswith("/storage/v1/b/cfg/o/apps")
                     and (e.get("query") or {}).get("alt") == "media"]
        self.assertEqual(len(downloads), 1, [d["path"] for d in downloads])

    def test_racing_applies_lose_no_ownership(self):
        procs = [subprocess.Popen([ROAM, "apply", "--source", "gs://cfg/apps"], env=self.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
        outs = [p.communicate(timeout=120) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertIn(p.returncode, (0, 1), err)
        # Whatever interleaving, the ledger owns both grants: removing the
        # apps from the bucket revokes them.
        for name in ("apps/a.yaml", "apps/b.yaml"):
            self.emu.call("DELETE", "/storage/v1/b/cfg/o/" + urllib.parse.quote(name, safe=""))
        p = self.apply()
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.inv(0), {FOREIGN})
        self.assertEqual(self.inv(1), {FOREIGN})


class CrashMidApply(Base):
    def test_kill_9_then_rerun_converges_and_leaks_nothing(self):
        src = os.path.join(self.tmp, "src")
        comps = [(f"svc{i}", [f"user:u{i}@acme.example"], True) for i in range(3)]
        write_app(src, "a.yaml", app("a", comps))
        self.emu.config(latency_ms=150)
        p = subprocess.Popen([ROAM, "apply", "--source", src, "--state", self.state,
                              "--max-inflight", "1"], env=self.env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 30
        while time.time() < deadline:
            if any(e["path"].endswith(":setIamPolicy") and e["status"] == 200 for e in self.emu.log()):
                break
            time.sleep(0.02)
        p.send_signal(signal.SIGKILL)
        p.wait()
        self.emu.config(latency_ms=0)
        written = [e for e in self.emu.log() if e["path"].endswith(":setIamPolicy")]
        self.assertGreaterEqual(len(written), 1)
        self.assertLess(len(written), 3, "the kill came too late to test anything")
        r = self.run_roam("apply", "--source", src, "--state", self.state)
        self.assertEqual(r.returncode, 0, r.stderr)
        for i in range(3):
            self.assertEqual(self.inv(i), {FOREIGN, f"user:u{i}@acme.example"})
        q = self.run_roam("plan", "--source", src, "--state", self.state, "--detailed-exitcode")
        self.assertEqual(q.returncode, 0, q.stdout)
        # Nothing leaked: removing the app revokes every grant, even those
        # written by the killed process.
        os.remove(os.path.join(src, "a.yaml"))
        r = self.run_roam("apply", "--source", src, "--state", self.state)
        self.assertEqual(r.returncode, 0, r.stderr)
        for i in range(3):
            self.assertEqual(self.inv(i), {FOREIGN})
            self.assertEqual(self.dev(i), set())


if __name__ == "__main__":
    unittest.main(verbosity=2)
