#!/usr/bin/env python3
"""`make valgrind`: roam under valgrind memcheck against the emulator.

1. `roam apply` on manifests/examples/ from drift, with a 409 race, a 429
   and a connection reset injected (so the retry paths run too), then a
   converged `roam apply` and `roam plan`;
2. `roam serve --push-auth none` (when this roam has it): the first pass,
   then pushes that each follow a change made behind roam's back, a
   malformed push, and SIGTERM.

Each run must end with valgrind reporting no error and no definite,
indirect or possible leak (`--error-exitcode=1 --leak-check=full
--errors-for-leak-kinds=definite,indirect,possible`); memory still
reachable at exit from libraries' one-time initialisation is not an error.

  valgrind.py ROAM
"""
import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "test", "integration"))
from harness import Emulator, seed_from_live  # noqa: E402

EXAMPLES = os.path.join(REPO, "manifests", "examples")
HELLO = "projects/acme-sandbox/locations/europe-west1/services/hello"
IDENTITIES = {
    "projects/acme-payments/locations/europe-west1/services/payments-api":
        "payments-api@acme-payments.iam.gserviceaccount.com",
    "projects/acme-shop/locations/europe-west1/services/web": "web@acme-shop.iam.gserviceaccount.com",
    "projects/acme-data/locations/us-central1/jobs/ledger-export":
        "ledger-export@acme-data.iam.gserviceaccount.com",
}
VALGRIND = ["valgrind", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect,possible", "--show-leak-kinds=definite,indirect,possible",
            "--track-fds=no", "--num-callers=30"]


def report(name, log_path, rc):
    text = open(log_path).read()
    summary = [line.split("== ", 1)[-1] for line in text.splitlines()
               if "ERROR SUMMARY" in line or "definitely lost" in line or "indirectly lost" in line
               or "possibly lost" in line]
    ok = rc != 99 and "ERROR SUMMARY: 0 errors" in text
    print(f"valgrind: {name}: {'ok' if ok else 'FAILED'} (exit {rc})")
    for s in summary[-4:]:
        print("    " + s)
    if not ok:
        print(text[-6000:])
    return ok


def run(emu, tmp, name, args, expect_rc=(0,)):
    log = os.path.join(tmp, name + ".valgrind")
    p = subprocess.run([*VALGRIND, f"--log-file={log}", *args], env=emu.env(), capture_output=True,
                       text=True, timeout=900)
    if p.returncode not in expect_rc and p.returncode != 99:
        print(f"valgrind: {name}: roam exited {p.returncode}:\n{p.stderr[-3000:]}")
        return False
    return report(name, log, p.returncode)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http(method, url, body=None, timeout=30):
    data = json.dumps(body).encode() if body is not None and not isinstance(body, bytes) else body
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def drift(emu):
    pol = emu.policy(HELLO)
    pol["bindings"] = [b for b in pol.get("bindings", []) if b["role"] != "roles/run.invoker"]
    emu.call("POST", "/_emulator/policy", {"resource": HELLO, "policy": pol})


def serve(emu, tmp, roam):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = os.path.join(tmp, "serve.valgrind")
    out = open(os.path.join(tmp, "serve.out"), "w")
    p = subprocess.Popen([*VALGRIND, f"--log-file={log}", roam, "serve", "--source", EXAMPLES,
                          "--state", os.path.join(tmp, "serve-state"), "--listen", f"127.0.0.1:{port}",
                          "--push-auth", "none"], env=emu.env(), stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 120
        while True:
            try:
                if http("GET", url + "/readyz", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.time() > deadline or p.poll() is not None:
                print("valgrind: serve did not become ready")
                return False
            time.sleep(0.2)
        time.sleep(3)  # the first pass
        for i in range(5):
            drift(emu)
            data = base64.b64encode(json.dumps({"asset": {"name": "//run.googleapis.com/" + HELLO,
                                                          "assetType": "run.googleapis.com/Service"}}).encode())
            st, _ = http("POST", url + "/pubsub", {"message": {"messageId": f"vg-{i}", "data": data.decode()},
                                                   "subscription": "projects/p/subscriptions/s"})
            if st >= 300:
                print(f"valgrind: push {i} answered {st}")
            time.sleep(1.5)
        http("POST", url + "/pubsub", b"{not json")
        fixed = "group:everyone@acme.example" in json.dumps(emu.policy(HELLO))
        if not fixed:
            print("valgrind: serve did not correct the pushed resource")
    finally:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            rc = p.wait(timeout=120)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        out.close()
    return report("serve with pushes", log, rc) and fixed


def main():
    roam = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(REPO, "build", "roam"))
    if shutil.which("valgrind") is None:
        print("valgrind: skipped: valgrind not found (apt-get install valgrind)")
        return 0
    live = json.load(open(os.path.join(REPO, "hack", "demo", "live.json")))
    tmp = tempfile.mkdtemp(prefix="roam-valgrind-")
    ok = True
    emu = Emulator(seed_from_live(live, IDENTITIES))
    try:
        shutil.copytree(os.path.join(REPO, "hack", "demo", "state"), os.path.join(tmp, "state"))
        state = ["--state", os.path.join(tmp, "state")]
        emu.faults([{"match": {"path_regex": "services/hello:setIamPolicy$"}, "count": 1,
                     "action": {"concurrent_change": {"add": {"role": "roles/run.invoker",
                                                             "member": "user:racer@acme.example"}}}},
                    {"match": {"path_regex": "services/web:getIamPolicy$"}, "count": 1,
                     "action": {"status": 429, "retry_after": 1}},
                    {"match": {"path_regex": "services/cart-api:getIamPolicy$"}, "count": 1,
                     "action": {"reset_mid_body": True}}])
        ok &= run(emu, tmp, "apply (drifted, with faults)", [roam, "apply", "--source", EXAMPLES, *state])
        ok &= run(emu, tmp, "apply (converged)", [roam, "apply", "--source", EXAMPLES, *state])
        ok &= run(emu, tmp, "plan --output json", [roam, "plan", "--source", EXAMPLES, *state,
                                                   "--output", "json", "--detailed-exitcode"])
        h = subprocess.run([roam, "help"], capture_output=True, text=True)
        if "roam serve" in h.stdout + h.stderr:
            ok &= serve(emu, tmp, roam)
        else:
            print("valgrind: serve skipped: this roam has no serve command")
    finally:
        emu.close()
        shutil.rmtree(tmp, ignore_errors=True)
    print("valgrind: " + ("every run clean" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
