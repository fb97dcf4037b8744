#!/usr/bin/env python3
"""Turns a live-state export (resource name -> policy) into an emulator seed.

usage: seed.py LIVE.json [SERVICE_ACCOUNT_OF=resource=email ...] > seed.json
Services and jobs get a template.serviceAccount when named on the command
line; service accounts are created for every projects/P/serviceAccounts/E
resource.  A null policy means the resource does not exist: it is left out.
"""
import json
import sys

live = json.load(open(sys.argv[1]))
identity = dict(a.split("=", 1) for a in sys.argv[2:])
seed = {"services": [], "jobs": [], "serviceAccounts": []}
for name, pol in sorted(live.items()):
    if pol is None:
        continue
    pol = {k: v for k, v in pol.items() if k != "etag"}
    if "/services/" in name:
        seed["services"].append({"name": name, "template": {"serviceAccount": identity.get(name, "")} if name in identity else {}, "policy": pol})
    elif "/jobs/" in name:
        seed["jobs"].append({"name": name, "template": {"template": {"serviceAccount": identity[name]}} if name in identity else {}, "policy": pol})
    elif "/serviceAccounts/" in name:
        seed["serviceAccounts"].append({"email": name.rsplit("/", 1)[1], "policy": pol})
json.dump(seed, sys.stdout, indent=1)
