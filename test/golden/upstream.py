#!/usr/bin/env python3
"""Feeds every real OAM/KubeVela document of the shared corpus to `roam validate`.

Each file must be either accepted (exit 0), or rejected (exit 1) with at
least one message naming a field path (`spec.`/`metadata.`...) or a notice
that it was skipped; roam must never crash (exit >= 128 or a sanitizer
report).  Skips with a notice when the corpus is absent, so that the
repository stands on its own.
"""
import os
import re
import subprocess
import sys

roam, corpus = sys.argv[1], sys.argv[2]
if not os.path.isdir(corpus):
    print(f"skipped: {corpus} not found (the shared OAM corpus is not beside this checkout)")
    sys.exit(0)

PATH_RE = re.compile(r":\d+:\d+: (spec|metadata|apiVersion|kind)[\w.\[\]-]*: ")
passed = failed = 0
for name in sorted(os.listdir(corpus)):
    if not name.endswith((".yaml", ".yml")):
        continue
    path = os.path.join(corpus, name)
    p = subprocess.run([roam, "validate", path], capture_output=True, text=True, timeout=60)
    err = p.stderr
    ok = True
    why = ""
    if p.returncode >= 128 or p.returncode < 0 or "Sanitizer" in err or "runtime error" in err:
        ok, why = False, f"crashed (exit {p.returncode})"
    elif p.returncode == 1:
        if not (PATH_RE.search(err) or "notice:" in err):
            ok, why = False, "rejected without a message naming a field path"
    elif p.returncode == 0:
        # Accepted: either a valid app, or every document skipped with a notice.
        pass
    else:
        ok, why = False, f"unexpected exit {p.returncode}"
    verdict = {0: "accepted", 1: "rejected"}.get(p.returncode, "?")
    first = next((l for l in err.splitlines() if l.strip()), "")
    if ok:
        passed += 1
        print(f"ok   {name}: {verdict}: {first}")
    else:
        failed += 1
        print(f"FAIL {name}: {why}\n{err}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed or passed == 0 else 0)
