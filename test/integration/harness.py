"""Shared pieces of the integration tests: an emulator on a free port, the
roam binary run against it, and helpers to read the emulator's log/state.

Every test starts its own emulator process on 127.0.0.1 and stops it at the
end; nothing is left running.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EMULATOR = os.path.join(REPO, "test", "emulator", "emulator.py")
ROAM = os.environ.get("ROAM_BIN", os.path.join(REPO, "build", "roam"))


class Emulator:
    def __init__(self, seed):
        self.dir = tempfile.mkdtemp(prefix="roam-it-")
        seed_path = os.path.join(self.dir, "seed.json")
        with open(seed_path, "w") as f:
            json.dump(seed, f)
        port_file = os.path.join(self.dir, "port")
        self.proc = subprocess.Popen(
            [sys.executable, EMULATOR, "--seed", seed_path, "--port", "0", "--port-file", port_file],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 15
        while not os.path.exists(port_file):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("emulator did not start: " + self.proc.stderr.read().decode())
            time.sleep(0.02)
        with open(port_file) as f:
            self.port = int(f.read().strip())
        self.url = f"http://127.0.0.1:{self.port}"

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            raw = r.read()
            return json.loads(raw) if raw else None

    def log(self):
        return self.call("GET", "/_emulator/log")

    def clear_log(self):
        self.call("DELETE", "/_emulator/log")

    def faults(self, rules):
        self.call("POST", "/_emulator/faults", rules)

    def config(self, **kv):
        self.call("POST", "/_emulator/config", kv)

    def state(self):
        return self.call("GET", "/_emulator/state")

    def policy(self, resource):
        return self.state()["policies"].get(resource, {})

    def env(self):
        e = {k: v for k, v in os.environ.items() if not k.startswith("ROAM_")
             and k not in ("GOOGLE_APPLICATION_CREDENTIALS", "GCE_METADATA_HOST")}
        e.update({
            "GCE_METADATA_HOST": f"127.0.0.1:{self.port}",
            "ROAM_RUN_ENDPOINT": self.url,
            "ROAM_IAM_ENDPOINT": self.url + "/",
            "CLOUDSDK_CONFIG": os.path.join(self.dir, "no-gcloud"),
            "HOME": self.dir,
        })
        return e


def roam(emu, *args, timeout=120):
    p = subprocess.run([ROAM, *args], capture_output=True, text=True, env=emu.env(), timeout=timeout)
    if p.returncode >= 128 or p.returncode < 0 or "Sanitizer" in p.stderr or "runtime error" in p.stderr:
        raise AssertionError(f"roam crashed ({p.returncode}):\n{p.stderr}")
    return p


def members(policy, role, condition=None):
    out = set()
    for b in policy.get("bindings", []):
        if b["role"] == role and (b.get("condition") or None) == condition:
            out |= set(b["members"])
    return out


def seed_from_live(live, identities=None):
    identities = identities or {}
    seed = {"services": [], "jobs": [], "serviceAccounts": []}
    for name, pol in sorted(live.items()):
        if pol is None:
            continue
        pol = {k: v for k, v in pol.items() if k != "etag"}
        if "/services/" in name:
            e = {"name": name, "policy": pol}
            if name in identities:
                e["template"] = {"serviceAccount": identities[name]}
            seed["services"].append(e)
        elif "/jobs/" in name:
            e = {"name": name, "policy": pol}
            if name in identities:
                e["template"] = {"template": {"serviceAccount": identities[name]}}
            seed["jobs"].append(e)
        else:
            seed["serviceAccounts"].append({"email": name.rsplit("/", 1)[1], "policy": pol})
    return seed


def write_app(dirname, name, text):
    os.makedirs(dirname, exist_ok=True)
    with open(os.path.join(dirname, name), "w") as f:
        f.write(text)
