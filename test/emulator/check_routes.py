#!/usr/bin/env python3
"""Checks emulator.py's route table against Google's discovery documents.

Usage: python3 test/emulator/check_routes.py [SHARED_OR_DISCOVERY_DIR]

The directory is, in order: the first argument, $ROAM_SHARED_DIR, or
<repo>/../shared. Either the shared directory (discovery documents under
api/discovery/) or the discovery directory itself may be given. When it does
not exist the script prints "skipped: ... not found" and exits 0, so the
repository stands on its own.

Checks, each counted as passed/failed in the summary line:

1. route: every Google-API route (api, HTTP method, path template) exists in
   that API's discovery document with the same ``httpMethod`` and a path equal
   to ``servicePath + flatPath`` (or ``servicePath + path``); the simple media
   upload path is ``mediaUpload.protocols.simple.path``; methods flagged
   ``useMediaDownloadService`` are also served under ``download/`` +
   ``servicePath + path`` (how Google's generated clients build media URLs).
2. query: every query parameter the handler reads is a parameter of that
   method (location ``query``) or one of the document's global parameters.
3. coverage: every method roam relies on (CONTRACTS.md sections 2, 3, 5) has
   a route.
4. schema: the emulator is started in-process and every route is called once;
   each JSON response is checked against the method's response schema (every
   field name exists in the schema; int64/uint64 fields are JSON strings,
   int32 fields are numbers, booleans are booleans, lists are lists).

Documented exceptions: the Cloud Run Admin API v1 IAM paths used by gcloud
(run.v1) are not in the stored discovery documents (only run.v2.json is
stored). They are listed in EXCEPTIONS and checked only if a run.v1.json
document is present. Routes of the OAuth2 token endpoint, the metadata server
and the emulator's control API have no discovery documents and are listed,
not checked.
"""

import http.client
import json
import os
import sys
import threading
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True

import emulator  # noqa: E402

DOCS = {"run.v2": "run.v2.json", "run.v1": "run.v1.json", "iam.v1": "iam.v1.json",
        "storage.v1": "storage.v1.json"}

EXCEPTIONS = {
    ("run.v1", "GET",
     "v1/projects/{projectsId}/locations/{locationsId}/services/{servicesId}:getIamPolicy"):
        "Cloud Run Admin API v1 services.getIamPolicy, called by gcloud "
        "(run.projects.locations.services.getIamPolicy); run.v1.json is not stored",
    ("run.v1", "POST",
     "v1/projects/{projectsId}/locations/{locationsId}/services/{servicesId}:setIamPolicy"):
        "Cloud Run Admin API v1 services.setIamPolicy, called by gcloud "
        "(run.projects.locations.services.setIamPolicy); run.v1.json is not stored",
}

REQUIRED_METHODS = [
    "run.projects.locations.services.list", "run.projects.locations.services.get",
    "run.projects.locations.services.patch",
    "run.projects.locations.services.getIamPolicy",
    "run.projects.locations.services.setIamPolicy",
    "run.projects.locations.services.testIamPermissions",
    "run.projects.locations.jobs.list", "run.projects.locations.jobs.get",
    "run.projects.locations.jobs.patch", "run.projects.locations.jobs.getIamPolicy",
    "run.projects.locations.jobs.setIamPolicy",
    "run.projects.locations.jobs.testIamPermissions",
    "iam.projects.serviceAccounts.list", "iam.projects.serviceAccounts.get",
    "iam.projects.serviceAccounts.getIamPolicy",
    "iam.projects.serviceAccounts.setIamPolicy",
    "iam.projects.serviceAccounts.testIamPermissions",
    "storage.objects.list", "storage.objects.get", "storage.objects.insert",
    "storage.objects.delete",
]


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def ok(self, what):
        self.passed += 1
        print("ok    " + what)

    def fail(self, what):
        self.failed += 1
        print("FAIL  " + what)


def find_discovery_dir(argv):
    given = argv[1] if len(argv) > 1 else os.environ.get("ROAM_SHARED_DIR")
    base = given or os.path.join(os.path.dirname(REPO), "shared")
    for cand in (os.path.join(base, "api", "discovery"), base):
        if os.path.isfile(os.path.join(cand, "run.v2.json")):
            return cand
    return None


def iter_methods(res):
    for m in (res.get("methods") or {}).values():
        yield m
    for sub in (res.get("resources") or {}).values():
        yield from iter_methods(sub)


def discovery_paths(doc, method):
    """(kind, path) pairs under which a method is served."""
    sp = doc.get("servicePath", "")
    out = [("path", sp + method["path"])]
    if method.get("flatPath"):
        out.append(("flatPath", sp + method["flatPath"]))
    mu = (method.get("mediaUpload") or {}).get("protocols") or {}
    if "simple" in mu:
        out.append(("mediaUpload.simple", mu["simple"]["path"].lstrip("/")))
    if method.get("useMediaDownloadService"):
        out.append(("useMediaDownloadService", "download/" + sp + method["path"]))
    return out


def index_doc(doc):
    idx = {}
    for m in iter_methods(doc):
        for kind, path in discovery_paths(doc, m):
            idx.setdefault((m["httpMethod"], path), []).append((kind, m))
    return idx


# -- schema validation ----------------------------------------------------

def check_value(doc, schema, value, where, errors):
    if "$ref" in schema:
        schema = doc["schemas"][schema["$ref"]]
    t = schema.get("type")
    if t == "any":
        return
    if t == "object" or "properties" in schema:
        if not isinstance(value, dict):
            errors.append("%s: expected an object" % where)
            return
        props = schema.get("properties") or {}
        addl = schema.get("additionalProperties")
        for k, v in value.items():
            if k in props:
                check_value(doc, props[k], v, where + "." + k, errors)
            elif addl is not None:
                check_value(doc, addl, v, where + "." + k, errors)
            else:
                errors.append("%s.%s: field not in schema" % (where, k))
    elif t == "array":
        if not isinstance(value, list):
            errors.append("%s: expected a list" % where)
            return
        if not value:
            errors.append("%s: empty list should be omitted" % where)
        for i, v in enumerate(value):
            check_value(doc, schema.get("items") or {"type": "any"}, v,
                        "%s[%d]" % (where, i), errors)
    elif t == "string":
        if not isinstance(value, str):
            errors.append("%s: expected a string (format %s)" % (where, schema.get("format")))
        elif schema.get("format") in ("int64", "uint64") and not value.lstrip("-").isdigit():
            errors.append("%s: %s string is not decimal: %r" % (where, schema["format"], value))
    elif t == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            errors.append("%s: expected a JSON number" % where)
    elif t == "number":
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            errors.append("%s: expected a JSON number" % where)
    elif t == "boolean":
        if not isinstance(value, bool):
            errors.append("%s: expected a boolean" % where)


SA = "runner@p.iam.gserviceaccount.com"
SVC = "projects/p/locations/r/services/s"
JOB = "projects/p/locations/r/jobs/j"
SEED = {
    "services": [{"name": SVC, "template": {"serviceAccount": SA}, "policy": {
        "bindings": [{"role": "roles/run.invoker", "members": ["allUsers"]},
                     {"role": "roles/run.admin", "members": ["user:a@example.com"],
                      "condition": {"title": "t", "expression": "true"}}],
        "auditConfigs": [{"service": "allServices",
                          "auditLogConfigs": [{"logType": "DATA_READ"}]}]}},
                 {"name": "projects/p/locations/r/services/s2"}],
    "jobs": [{"name": JOB, "template": {"template": {"serviceAccount": SA}}},
             {"name": "projects/p/locations/r/jobs/j2"}],
    "serviceAccounts": [{"email": SA, "policy": {"bindings": [
        {"role": "roles/iam.serviceAccountUser", "members": ["user:a@example.com"]}]}},
        {"email": "two@p.iam.gserviceaccount.com", "disabled": True}],
    "buckets": {"b": {"objects": {"apps/a.yaml": "a", "apps/b.yaml": "b", "c": "c"}}},
}


def sample_calls():
    """(method, path, body, headers) exercising every Google-API route."""
    q = urllib.parse.quote
    calls = []
    for kind, name in (("services", SVC), ("jobs", JOB)):
        parent = name.rsplit("/", 2)[0]
        calls += [
            ("GET", "/v2/%s/%s?pageSize=1" % (parent, kind), None, {}),
            ("GET", "/v2/" + name, None, {}),
            ("GET", "/v2/%s:getIamPolicy?options.requestedPolicyVersion=3" % name, None, {}),
            ("GET", "/v2/%s:getIamPolicy?options.requestedPolicyVersion=1" % name, None, {}),
            ("POST", "/v2/%s:setIamPolicy" % name, {"policy": {"bindings": [
                {"role": "roles/run.invoker", "members": ["allUsers"]}]}}, {}),
            ("POST", "/v2/%s:testIamPermissions" % name,
             {"permissions": ["run.%s.get" % kind]}, {}),
        ]
    calls += [
        ("PATCH", "/v2/%s?updateMask=template.serviceAccount" % SVC,
         {"template": {"serviceAccount": "two@p.iam.gserviceaccount.com"}}, {}),
        ("PATCH", "/v2/" + JOB, {"template": {"template": {"serviceAccount": SA}}}, {}),
        ("OPERATION", None, None, {}),  # filled in from the patch answer
        ("GET", "/v1/%s:getIamPolicy?options.requestedPolicyVersion=3" % SVC, None, {}),
        ("POST", "/v1/%s:setIamPolicy" % SVC, {"policy": {"bindings": [
            {"role": "roles/run.invoker", "members": ["allUsers"]}]}}, {}),
        ("GET", "/v1/projects/p/serviceAccounts?pageSize=1", None, {}),
        ("GET", "/v1/projects/p/serviceAccounts/two@p.iam.gserviceaccount.com", None, {}),
        ("POST", "/v1/projects/p/serviceAccounts/%s:getIamPolicy"
                 "?options.requestedPolicyVersion=3" % SA, None, {}),
        ("POST", "/v1/projects/p/serviceAccounts/%s:setIamPolicy" % SA, {"policy": {
            "bindings": [{"role": "roles/iam.serviceAccountUser",
                          "members": ["user:b@example.com"]}]}}, {}),
        ("POST", "/v1/projects/p/serviceAccounts/%s:testIamPermissions" % SA,
         {"permissions": ["iam.serviceAccounts.actAs"]}, {}),
        ("GET", "/storage/v1/b/b/o?maxResults=1&delimiter=/", None, {}),
        ("GET", "/storage/v1/b/b/o?prefix=apps/", None, {}),
        ("GET", "/storage/v1/b/b/o/" + q("apps/a.yaml", safe=""), None, {}),
        ("GET", "/storage/v1/b/b/o/%s?alt=media" % q("apps/a.yaml", safe=""), None, {}),
        ("POST", "/upload/storage/v1/b/b/o?uploadType=media&ifGenerationMatch=0&name="
                 + q("new/obj.json", safe=""), b"{}", {"Content-Type": "application/json"}),
        ("GET", "/download/storage/v1/b/b/o/c?alt=media", None, {}),
        ("DELETE", "/storage/v1/b/b/o/c", None, {}),
    ]
    return calls


def run_schema_checks(docs, res):
    emu = emulator.Emulator(json.loads(json.dumps(SEED)))
    server = emulator.EmulatorServer(("127.0.0.1", 0), emu)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    token, _ = emu.mint_token("check-routes")
    port = server.server_address[1]
    exercised = set()
    last_op = None
    try:
        for method, path, body, headers in sample_calls():
            if method == "OPERATION":
                method, path = "GET", "/v2/" + last_op
            hdrs = dict(headers)
            hdrs["Authorization"] = "Bearer " + token
            if isinstance(body, dict):
                body = json.dumps(body).encode()
                hdrs["Content-Type"] = "application/json"
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(method, path, body=body, headers=hdrs)
            r = conn.getresponse()
            data = r.read()
            conn.close()
            what = "schema %s %s" % (method, path)
            try:
                route, _ = emulator.match_route(method, urllib.parse.urlsplit(path).path)
            except emulator.ApiError as e:
                res.fail("%s: no route (%s)" % (what, e.message))
                continue
            exercised.add((route.api, route.http_method, route.path_template))
            if r.status not in (200, 204):
                res.fail("%s -> HTTP %d %s" % (what, r.status, data[:200]))
                continue
            doc = docs.get(route.api)
            if doc is None:
                res.ok("%s -> %d (no discovery document for %s; shape not checked)"
                       % (what, r.status, route.api))
                continue
            m = lookup_method(doc, route)
            if r.status == 204 or "alt=media" in path:
                if "response" in m and "alt=media" not in path:
                    res.fail("%s: 204 but the method declares a response" % what)
                else:
                    res.ok("%s -> %d (no JSON body expected)" % (what, r.status))
                continue
            value = json.loads(data)
            if path.startswith("/v2/") and method == "PATCH":
                last_op = value["name"]
            errors = []
            check_value(doc, m["response"], value, m["response"]["$ref"], errors)
            if errors:
                res.fail("%s: %s" % (what, "; ".join(errors)))
            else:
                res.ok("%s -> %s" % (what, m["response"]["$ref"]))
    finally:
        server.shutdown()
        server.server_close()
    google = {(r.api, r.http_method, r.path_template) for r in emulator.ROUTES
              if r.api in emulator.GOOGLE_APIS}
    missing = sorted(google - exercised)
    if missing:
        res.fail("schema coverage: routes never exercised: %s" % missing)
    else:
        res.ok("schema coverage: all %d Google-API routes exercised" % len(google))


def lookup_method(doc, route):
    idx = index_doc(doc)
    hits = idx.get((route.http_method, route.path_template)) or []
    return hits[0][1]


def main(argv):
    ddir = find_discovery_dir(argv)
    if ddir is None:
        print("skipped: ../shared/api/discovery not found")
        return 0
    res = Results()
    docs = {}
    for api, fname in DOCS.items():
        path = os.path.join(ddir, fname)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as fh:
                docs[api] = json.load(fh)
    indexes = {api: index_doc(doc) for api, doc in docs.items()}
    covered = set()

    for route in emulator.ROUTES:
        key = (route.api, route.http_method, route.path_template)
        label = "%s %s %s" % key
        if route.api not in emulator.GOOGLE_APIS:
            print("info  %s (no discovery document: not checked)" % label)
            continue
        if route.api not in docs:
            if key in EXCEPTIONS:
                res.ok("%s: documented exception: %s" % (label, EXCEPTIONS[key]))
            else:
                res.fail("%s: no discovery document %s and not a documented exception"
                         % (label, DOCS.get(route.api)))
            continue
        doc = docs[route.api]
        hits = indexes[route.api].get((route.http_method, route.path_template))
        if not hits:
            same_path = [m["httpMethod"] for (meth, p), ms in indexes[route.api].items()
                         if p == route.path_template for _, m in ms]
            res.fail("%s: not in %s%s" % (label, DOCS[route.api],
                                          " (path exists for %s)" % same_path
                                          if same_path else ""))
            continue
        kind, method = hits[0]
        covered.add(method["id"])
        res.ok("%s = %s (%s)" % (label, method["id"], kind))
        params = method.get("parameters") or {}
        globals_ = doc.get("parameters") or {}
        for qp in route.query_params:
            if qp in params and params[qp].get("location") == "query":
                res.ok("%s: query parameter %s" % (method["id"], qp))
            elif qp in globals_:
                res.ok("%s: query parameter %s (global)" % (method["id"], qp))
            else:
                res.fail("%s: query parameter %s is not declared" % (method["id"], qp))
        # Run/IAM routes reject query parameters they do not list, so they
        # must list every query parameter the method declares.
        if route.api in ("run.v2", "iam.v1"):
            declared = sorted(k for k, v in params.items() if v.get("location") == "query")
            missing = [k for k in declared if k not in route.query_params]
            if missing:
                res.fail("%s: declared query parameters not accepted: %s"
                         % (method["id"], ", ".join(missing)))
            else:
                res.ok("%s: accepts all %d declared query parameters"
                       % (method["id"], len(declared)))

    for api in ("run.v2", "iam.v1"):
        if api not in docs:
            continue
        extra = sorted(emulator.STANDARD_QUERY_PARAMS - set(docs[api].get("parameters") or {}))
        if extra:
            res.fail("%s: STANDARD_QUERY_PARAMS not global parameters: %s"
                     % (DOCS[api], ", ".join(extra)))
        else:
            res.ok("%s: STANDARD_QUERY_PARAMS are all global parameters" % DOCS[api])

    for key, why in EXCEPTIONS.items():
        if key not in {(r.api, r.http_method, r.path_template) for r in emulator.ROUTES}:
            res.fail("exception listed for a route the emulator does not have: %s" % (key,))

    for mid in REQUIRED_METHODS:
        if mid in covered:
            res.ok("coverage: %s" % mid)
        else:
            res.fail("coverage: no route for %s" % mid)

    run_schema_checks(docs, res)

    print("%d passed, %d failed" % (res.passed, res.failed))
    return 0 if res.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
