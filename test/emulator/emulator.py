#!/usr/bin/env python3
"""Local emulator of the Google APIs that roam talks to (Python 3 stdlib only).

Design
======

One process, one ``ThreadingHTTPServer`` (HTTP/1.1, keep-alive, every response
framed by Content-Length) on 127.0.0.1 that serves several Google front ends
at once, told apart by path shape:

* Cloud Run Admin v2 ``/v2/projects/{p}/locations/{r}/{services|jobs}...``
  (list/get/patch, getIamPolicy/setIamPolicy/testIamPermissions, operations.get)
  and the two Cloud Run Admin v1 IAM paths used by gcloud
  ``/v1/projects/{p}/locations/{r}/services/{s}:{get,set}IamPolicy``.
* IAM v1 service accounts ``/v1/projects/{p}/serviceAccounts...``.
* Cloud Storage JSON v1 objects ``/storage/v1/b/{b}/o...``, the simple and
  multipart media upload ``/upload/storage/v1/b/{b}/o`` and the media download
  service path ``/download/storage/v1/b/{b}/o/{o}``.
* The OAuth2 token endpoint ``/token`` and the GCE/Cloud Run metadata server
  ``/computeMetadata/v1/...``.
* A control API under ``/_emulator/`` (request log, state, faults, config).

Layers, top to bottom in this file:

1. helpers (time, base64, CRC32C, JSON rendering);
2. ``ApiError`` -- one exception type rendered in the error format of the API
   family that raised it (google.rpc.Status, legacy Storage, OAuth2, plain);
3. ``Emulator`` -- all mutable state behind one re-entrant lock: Run
   services/jobs, service accounts, IAM policies keyed by resource name, Storage
   buckets, minted tokens, fault rules, the request log, runtime config;
4. IAM policy semantics (validation, version-1 ``_withcond_`` rendering,
   etag concurrency) shared by every resource type;
5. one handler function per route family (``run_*``, ``iam_policy_*``,
   ``sa_*``, ``storage_*``, ``oauth_token``, ``metadata_*``, ``control_*``);
6. ``ROUTES`` -- the route table (api, HTTP method, path template in the
   discovery documents' ``flatPath``/``path`` spelling, handler, query
   parameters read). ``check_routes.py`` verifies it against the discovery
   documents, so path templates here must stay spelled exactly as there;
7. the HTTP request handler: read request -> match route (404/405) -> take
   matching fault rules -> global latency -> auth -> handler -> response
   mangling (oversize, stall, truncate, reset) -> request log;
8. ``main()``: argument parsing, port file, SIGTERM/SIGINT handling.

Handlers receive ``(emu, req, params)`` and return a ``Response`` or raise
``ApiError``. Path parameters are matched on the raw (still percent-encoded)
path and decoded afterwards, so Storage object names may contain ``%2F``.
"""

import argparse
import base64
import copy
import datetime
import functools
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import urllib.parse
import uuid
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# ---------------------------------------------------------------------------
# 1. helpers
# ---------------------------------------------------------------------------

DEFAULT_CONFIG = {
    "token_lifetime": 3599,
    "latency_ms": 0,
    "page_size_max": 100,
    "require_auth": True,          # false: Storage accepts any Authorization
    "storage_require_auth": False,  # true: Storage also demands a token
    "project_id": None,            # metadata server / defaults
    "project_number": None,
    "region": None,
    "metadata_email": None,
    "denied_permissions": [],
    "refresh_tokens": None,        # list -> only these refresh tokens work
    "conditions_supported": {"services": True, "jobs": False,
                             "serviceAccounts": True},
}

GOOGLE_TOKEN_AUDIENCES = (
    "https://oauth2.googleapis.com/token",
    "https://accounts.google.com/o/oauth2/token",
    "https://www.googleapis.com/oauth2/v4/token",
)

CONCURRENT_CHANGE_MESSAGE = ("There were concurrent policy changes. Please retry "
                             "the whole read-modify-write with exponential backoff.")

HTTP_STATUS_NAMES = {
    400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED",
    404: "NOT_FOUND", 405: "UNIMPLEMENTED", 409: "ABORTED",
    412: "FAILED_PRECONDITION", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED",
    500: "INTERNAL", 501: "UNIMPLEMENTED", 502: "UNAVAILABLE",
    503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED",
}

STORAGE_REASONS = {
    400: "invalid", 401: "required", 403: "forbidden", 404: "notFound",
    409: "conflict", 412: "conditionNotMet", 429: "rateLimitExceeded",
    500: "backendError", 502: "backendError", 503: "backendError",
    504: "backendError",
}


def now_rfc3339(t=None):
    if t is None:
        t = time.time()
    dt = datetime.datetime.fromtimestamp(t, tz=datetime.timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%06dZ" % dt.microsecond


def b64url_decode(s):
    s = s.strip()
    if not re.fullmatch(r"[A-Za-z0-9_\-]*={0,2}", s):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64url_encode(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode("ascii")


def new_iam_etag():
    return base64.b64encode(b"\x07" + secrets.token_bytes(7)).decode("ascii")


def same_etag(a, b):
    """Policy etags are `bytes` fields: Google accepts them in either base64
    alphabet (gcloud's apitools sends them back URL-safe), so compare the
    bytes."""
    def raw(e):
        e = e.replace("-", "+").replace("_", "/")
        try:
            return base64.b64decode(e + "=" * (-len(e) % 4), validate=True)
        except (ValueError, TypeError):
            return e
    return a == b or raw(a) == raw(b)


def _make_crc32c_table():
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _make_crc32c_table()


def crc32c(data):
    crc = 0xFFFFFFFF
    table = _CRC32C_TABLE
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def render_json(obj, pretty=True):
    if pretty:
        text = json.dumps(obj, indent=2, ensure_ascii=False) + "\n"
    else:
        text = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def deep_merge(dst, src):
    """Merge dict src into dict dst (src wins); returns dst."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            deep_merge(dst[k], v)
        else:
            dst[k] = copy.deepcopy(v)
    return dst


def parse_bool(value, name):
    if value is None or value == "":
        return False
    if value.lower() in ("true", "1"):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ApiError(400, "Invalid value for %s: %s" % (name, value))


class Response:
    __slots__ = ("status", "headers", "body", "json")

    def __init__(self, status=200, body=b"", headers=None, json_obj=None):
        self.status = status
        self.headers = list(headers or [])
        self.body = body
        self.json = json_obj  # kept so faults can pad it


def json_response(obj, status=200, req=None, headers=None, pretty=True):
    if req is not None and pretty:
        pp = req.q("prettyPrint")
        pretty = not (pp is not None and pp.lower() == "false")
    hdrs = [("Content-Type", "application/json; charset=UTF-8")]
    hdrs.extend(headers or [])
    return Response(status, render_json(obj, pretty), hdrs, json_obj=obj)


def text_response(text, status=200, content_type="text/plain; charset=utf-8",
                  headers=None):
    hdrs = [("Content-Type", content_type)]
    hdrs.extend(headers or [])
    return Response(status, text.encode("utf-8"), hdrs)


# ---------------------------------------------------------------------------
# 2. errors
# ---------------------------------------------------------------------------

class ApiError(Exception):
    """An error answer; ``style`` is chosen by the API family of the route."""

    def __init__(self, code, message, status=None, reason=None, details=None,
                 headers=None, style=None, oauth_error=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status or HTTP_STATUS_NAMES.get(code, "UNKNOWN")
        self.reason = reason
        self.details = details
        self.headers = list(headers or [])
        self.style = style
        self.oauth_error = oauth_error

    def to_response(self, style, req=None):
        style = self.style or style
        if style == "storage":
            reason = self.reason or STORAGE_REASONS.get(self.code, "backendError")
            err = {"domain": "global", "reason": reason, "message": self.message}
            if self.code == 412:
                err.update({"locationType": "header", "location": "If-Match"})
            if self.code == 401:
                err.update({"locationType": "header", "location": "Authorization"})
            body = {"error": {"code": self.code, "message": self.message,
                              "errors": [err]}}
        elif style == "oauth":
            body = {"error": self.oauth_error or "invalid_request",
                    "error_description": self.message}
        elif style == "metadata":
            return text_response(self.message + "\n", self.code, headers=self.headers)
        else:
            err = {"code": self.code, "message": self.message, "status": self.status}
            if self.details:
                err["details"] = self.details
            body = {"error": err}
        return json_response(body, self.code, req, headers=self.headers)


def rpc_not_found(message):
    return ApiError(404, message, "NOT_FOUND")


def invalid(message):
    return ApiError(400, message, "INVALID_ARGUMENT")


# ---------------------------------------------------------------------------
# 3. state
# ---------------------------------------------------------------------------

SERVICE_NAME_RE = re.compile(r"^projects/([^/]+)/locations/([^/]+)/services/([^/]+)$")
JOB_NAME_RE = re.compile(r"^projects/([^/]+)/locations/([^/]+)/jobs/([^/]+)$")

SERVICE_OUTPUT_ONLY = {
    "name", "uid", "generation", "createTime", "updateTime", "deleteTime",
    "expireTime", "creator", "lastModifier", "observedGeneration",
    "terminalCondition", "conditions", "latestReadyRevision",
    "latestCreatedRevision", "trafficStatuses", "uri", "reconciling", "etag",
    "satisfiesPzs", "executionCount", "latestCreatedExecution", "urls",
}
SERVICE_MUTABLE = {
    "description", "labels", "annotations", "client", "clientVersion",
    "ingress", "launchStage", "binaryAuthorization", "template", "traffic",
    "scaling", "defaultUriDisabled", "customAudiences", "invokerIamDisabled",
}
JOB_MUTABLE = {
    "labels", "annotations", "client", "clientVersion", "launchStage",
    "binaryAuthorization", "template", "startExecutionToken",
    "runExecutionToken",
}


class StoredObject:
    __slots__ = ("name", "data", "generation", "metageneration", "content_type",
                 "metadata", "created", "updated", "md5", "crc")

    def __init__(self, name, data, generation, content_type, metadata=None):
        self.name = name
        self.data = data
        self.generation = generation
        self.metageneration = 1
        self.content_type = content_type or "application/octet-stream"
        self.metadata = metadata or None
        self.created = time.time()
        self.updated = self.created
        self.md5 = base64.b64encode(hashlib.md5(data).digest()).decode("ascii")
        self.crc = base64.b64encode(struct.pack(">I", crc32c(data))).decode("ascii")

    def resource(self, bucket, base_url):
        qname = urllib.parse.quote(self.name, safe="")
        gen = str(self.generation)
        out = {
            "kind": "storage#object",
            "id": "%s/%s/%s" % (bucket, self.name, gen),
            "selfLink": "%s/storage/v1/b/%s/o/%s" % (base_url, bucket, qname),
            "mediaLink": "%s/download/storage/v1/b/%s/o/%s?generation=%s&alt=media"
                         % (base_url, bucket, qname, gen),
            "name": self.name,
            "bucket": bucket,
            "generation": gen,
            "metageneration": str(self.metageneration),
            "contentType": self.content_type,
            "storageClass": "STANDARD",
            "size": str(len(self.data)),
            "md5Hash": self.md5,
            "crc32c": self.crc,
            "etag": base64.b64encode(b"C" + gen.encode() + b"E"
                                     + str(self.metageneration).encode()).decode(),
            "timeCreated": now_rfc3339(self.created),
            "updated": now_rfc3339(self.updated),
            "timeStorageClassUpdated": now_rfc3339(self.created),
        }
        if self.metadata:
            out["metadata"] = dict(self.metadata)
        return out


class Emulator:
    """All mutable state; every access goes through ``self.lock``."""

    def __init__(self, seed=None, log_file=None):
        self.lock = threading.RLock()
        self.tokens = {}
        self.faults = []
        self.log = []
        self.log_file = log_file
        self._fault_seq = 0
        self._generation = 0
        self._idtoken_key = secrets.token_bytes(32)
        self.reset()
        if seed:
            self.load_seed(seed)

    # -- seed ------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.config = copy.deepcopy(DEFAULT_CONFIG)
            self.services = {}    # name -> {"obj": dict, "created": float}
            self.jobs = {}
            self.accounts = {}    # email (lower case) -> ServiceAccount dict
            self.policies = {}    # resource name -> stored policy
            self.buckets = {}     # bucket -> {object name: StoredObject}
            self.operations = {}

    def load_seed(self, seed, merge=False):
        if not isinstance(seed, dict):
            raise invalid("seed must be a JSON object")
        with self.lock:
            if not merge:
                self.reset()
            for key in ("token_lifetime", "latency_ms", "page_size_max",
                        "require_auth", "storage_require_auth", "project_id",
                        "project_number", "region", "metadata_email",
                        "denied_permissions", "refresh_tokens"):
                if key in seed:
                    self.config[key] = copy.deepcopy(seed[key])
            if "conditions_supported" in seed:
                self.config["conditions_supported"].update(seed["conditions_supported"])
            if isinstance(seed.get("metadata"), dict):
                md = seed["metadata"]
                for src, dst in (("email", "metadata_email"),
                                 ("project_id", "project_id"),
                                 ("project_number", "project_number"),
                                 ("region", "region")):
                    if src in md:
                        self.config[dst] = md[src]
            base = time.time() - 86400
            for i, svc in enumerate(seed.get("services") or []):
                self._seed_run_resource("services", svc, base + i)
            for i, job in enumerate(seed.get("jobs") or []):
                self._seed_run_resource("jobs", job, base + i)
            for sa in seed.get("serviceAccounts") or []:
                self._seed_account(sa)
            for bname, bdef in (seed.get("buckets") or {}).items():
                bucket = self.buckets.setdefault(bname, {})
                for oname, odef in ((bdef or {}).get("objects") or {}).items():
                    data, ctype, md = self._seed_object_content(odef)
                    bucket[oname] = StoredObject(oname, data, self.next_generation(),
                                                 ctype, md)

    def _seed_object_content(self, odef):
        if isinstance(odef, str):
            return odef.encode("utf-8"), "text/plain; charset=utf-8", None
        if isinstance(odef, dict):
            if "base64" in odef:
                data = base64.b64decode(odef["base64"])
            else:
                data = str(odef.get("content", "")).encode("utf-8")
            return data, odef.get("contentType", "application/octet-stream"), \
                odef.get("metadata")
        raise invalid("object seed must be a string or an object")

    def _seed_run_resource(self, kind, spec, created):
        spec = copy.deepcopy(spec)
        name = spec.get("name", "")
        pattern = SERVICE_NAME_RE if kind == "services" else JOB_NAME_RE
        m = pattern.match(name)
        if not m:
            raise invalid("bad %s name in seed: %r" % (kind[:-1], name))
        project, region, short = m.groups()
        policy = spec.pop("policy", None)
        if "createTime" in spec:
            try:
                created = datetime.datetime.strptime(
                    spec["createTime"][:19], "%Y-%m-%dT%H:%M:%S").replace(
                        tzinfo=datetime.timezone.utc).timestamp()
            except ValueError:
                pass
        ts = now_rfc3339(created)
        obj = {
            "name": name,
            "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
            "generation": "1",
            "createTime": ts,
            "updateTime": ts,
            "creator": "seed@%s.iam.gserviceaccount.com" % project,
            "lastModifier": "seed@%s.iam.gserviceaccount.com" % project,
            "launchStage": "GA",
            "observedGeneration": "1",
            "etag": '"%s"' % secrets.token_hex(8),
            "terminalCondition": {"type": "Ready", "state": "CONDITION_SUCCEEDED",
                                  "lastTransitionTime": ts},
        }
        if kind == "services":
            digest = hashlib.sha1(name.encode()).hexdigest()[:10]
            obj.update({
                "ingress": "INGRESS_TRAFFIC_ALL",
                "uri": "https://%s-%s-%s.a.run.app" % (short, digest, "ew"),
                "template": {"containers": [
                    {"image": "us-docker.pkg.dev/cloudrun/container/hello"}]},
                "traffic": [{"type": "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST",
                             "percent": 100}],
                "latestReadyRevision": "%s/revisions/%s-00001-abc" % (name, short),
                "latestCreatedRevision": "%s/revisions/%s-00001-abc" % (name, short),
            })
        else:
            obj.update({
                "template": {"taskCount": 1, "template": {
                    "containers": [{"image": "us-docker.pkg.dev/cloudrun/container/job"}],
                    "maxRetries": 3, "timeout": "600s"}},
            })
        deep_merge(obj, spec)
        table = self.services if kind == "services" else self.jobs
        table[name] = {"obj": obj, "created": created}
        self.policies[name] = self._seed_policy(policy)

    def _seed_account(self, spec):
        spec = copy.deepcopy(spec)
        email = spec.get("email", "")
        if "@" not in email:
            raise invalid("service account seed needs an email: %r" % spec)
        policy = spec.pop("policy", None)
        domain = email.split("@", 1)[1]
        project = spec.get("projectId")
        if not project:
            if domain.endswith(".iam.gserviceaccount.com"):
                project = domain[: -len(".iam.gserviceaccount.com")]
            else:
                project = self.config.get("project_id") or "emulator-project"
        unique = str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:21]
        obj = {
            "name": "projects/%s/serviceAccounts/%s" % (project, email),
            "projectId": project,
            "uniqueId": unique,
            "email": email,
            "displayName": email.split("@", 1)[0],
            "etag": "MDEwMjE5MjA=",
            "oauth2ClientId": unique,
        }
        deep_merge(obj, spec)
        if not obj.get("disabled"):
            obj.pop("disabled", None)
        self.accounts[email.lower()] = obj
        self.policies[obj["name"]] = self._seed_policy(policy)

    def _seed_policy(self, policy):
        policy = copy.deepcopy(policy or {})
        bindings = normalize_bindings(policy.get("bindings") or [])
        stored = {
            "etag": policy.get("etag") or (new_iam_etag() if bindings else "ACAB"),
            "bindings": bindings,
            "auditConfigs": policy.get("auditConfigs") or [],
        }
        return stored

    def project_id(self):
        if self.config.get("project_id"):
            return self.config["project_id"]
        for rec in list(self.services.values()) + list(self.jobs.values()):
            return rec["obj"]["name"].split("/")[1]
        for acc in self.accounts.values():
            return acc["projectId"]
        return "emulator-project"

    def next_generation(self):
        with self.lock:
            self._generation = max(self._generation + 1, time.time_ns() // 1000)
            return self._generation

    # -- tokens ------------------------------------------------------------
    def mint_token(self, subject, scopes=None, lifetime=None):
        lifetime = int(self.config["token_lifetime"] if lifetime is None else lifetime)
        token = "ya29.emu-" + secrets.token_urlsafe(32)
        with self.lock:
            now = time.time()
            for t in [t for t, v in self.tokens.items() if v["exp"] < now - 3600]:
                del self.tokens[t]
            self.tokens[token] = {"exp": now + lifetime, "subject": subject,
                                  "scopes": scopes or ""}
        return token, lifetime

    def check_token(self, header):
        """Returns (ok, subject, reason)."""
        if not header:
            return False, None, "missing"
        parts = header.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":
            return False, None, "invalid"
        with self.lock:
            info = self.tokens.get(parts[1].strip())
        if info is None:
            return False, None, "invalid"
        if info["exp"] <= time.time():
            return False, info["subject"], "expired"
        return True, info["subject"], None

    # -- request log -------------------------------------------------------
    def record(self, entry):
        with self.lock:
            self.log.append(entry)
            if len(self.log) > 100000:
                del self.log[:10000]
            if self.log_file:
                with open(self.log_file, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps(entry, separators=(",", ":")) + "\n")

    # -- faults ------------------------------------------------------------
    def add_faults(self, rules):
        if isinstance(rules, dict) and "rules" in rules:
            rules = rules["rules"]
        if isinstance(rules, dict):
            rules = [rules]
        if not isinstance(rules, list):
            raise invalid("faults: expected a list of rules")
        checked = [validate_fault_rule(r) for r in rules]
        with self.lock:
            for r in checked:
                self._fault_seq += 1
                r["id"] = self._fault_seq
                self.faults.append(r)
            return copy.deepcopy(self.faults)

    def take_faults(self, method, path, query):
        """Returns the actions of the rules matching this request, in order.

        Stops after the first terminal action (a status, drop, reset or
        truncate). Each applied rule's count is decremented."""
        taken = []
        with self.lock:
            for rule in list(self.faults):
                m = rule["match"]
                if m.get("method") and m["method"].upper() != method:
                    continue
                if m.get("path_regex") and not re.search(m["path_regex"], path):
                    continue
                if m.get("query_regex") and not re.search(m["query_regex"], query):
                    continue
                rule["hits"] = rule.get("hits", 0) + 1
                if rule["count"] > 0:
                    rule["count"] -= 1
                    if rule["count"] == 0:
                        self.faults.remove(rule)
                taken.append(copy.deepcopy(rule["action"]))
                if fault_is_terminal(rule["action"]):
                    break
        return taken

    # -- IAM policies ------------------------------------------------------
    def get_policy(self, resource):
        with self.lock:
            if resource not in self.policies:
                self.policies[resource] = {"etag": "ACAB", "bindings": [],
                                           "auditConfigs": []}
            return copy.deepcopy(self.policies[resource])

    def out_of_band_change(self, resource, change):
        """Applies {"add": {role, member}, "remove": {role, member},
        "policy": {...}} to the stored policy and gives it a new etag."""
        with self.lock:
            pol = self.get_policy(resource)
            if "policy" in change:
                pol["bindings"] = normalize_bindings(change["policy"].get("bindings") or [])
                if "auditConfigs" in change["policy"]:
                    pol["auditConfigs"] = change["policy"]["auditConfigs"] or []
            for op in ("add", "remove"):
                spec = change.get(op)
                if not spec:
                    continue
                specs = spec if isinstance(spec, list) else [spec]
                for s in specs:
                    role, member = s.get("role"), s.get("member")
                    if not role or not member:
                        raise invalid("concurrent change needs role and member")
                    cond = s.get("condition")
                    target = None
                    for b in pol["bindings"]:
                        if b["role"] == role and b.get("condition") == cond:
                            target = b
                            break
                    if op == "add":
                        if target is None:
                            target = {"role": role, "members": []}
                            if cond:
                                target["condition"] = cond
                            pol["bindings"].append(target)
                        if member not in target["members"]:
                            target["members"].append(member)
                    elif target is not None and member in target["members"]:
                        target["members"].remove(member)
            pol["bindings"] = normalize_bindings(pol["bindings"])
            pol["etag"] = new_iam_etag()
            self.policies[resource] = pol
            return copy.deepcopy(pol)

    def resource_exists(self, resource):
        with self.lock:
            if resource in self.services or resource in self.jobs:
                return True
            m = re.match(r"^projects/[^/]+/serviceAccounts/(.+)$", resource)
            return bool(m and m.group(1).lower() in self.accounts)

    # -- snapshot ----------------------------------------------------------
    def snapshot(self, base_url):
        with self.lock:
            return {
                "services": [r["obj"] for r in self._sorted(self.services)],
                "jobs": [r["obj"] for r in self._sorted(self.jobs)],
                "serviceAccounts": list(self.accounts.values()),
                "policies": {k: render_policy(v, 3) for k, v in self.policies.items()},
                "buckets": {
                    b: {"objects": {
                        n: dict(o.resource(b, base_url), **content_view(o.data))
                        for n, o in sorted(objs.items())}}
                    for b, objs in self.buckets.items()},
                "operations": sorted(self.operations),
                "config": copy.deepcopy(self.config),
                "faults": copy.deepcopy(self.faults),
                "tokens": len(self.tokens),
            }

    @staticmethod
    def _sorted(table):
        return sorted(table.values(), key=lambda r: (-r["created"], r["obj"]["name"]))


def content_view(data):
    try:
        return {"content": data.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode("ascii")}


# ---------------------------------------------------------------------------
# 4. IAM policy semantics
# ---------------------------------------------------------------------------

ROLE_RE = re.compile(r"^(roles/[A-Za-z0-9_.]+"
                     r"|projects/[A-Za-z0-9_.:\-]+/roles/[A-Za-z0-9_.]+"
                     r"|organizations/[0-9]+/roles/[A-Za-z0-9_.]+)$")
EMAIL_RE = r"[A-Za-z0-9._%+\-']+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"
MEMBER_RES = [
    re.compile(r"^allUsers$"),
    re.compile(r"^allAuthenticatedUsers$"),
    re.compile(r"^(user|group):" + EMAIL_RE + "$"),
    re.compile(r"^serviceAccount:" + EMAIL_RE + "$"),
    re.compile(r"^serviceAccount:[a-z0-9.:\-]+\.svc\.id\.goog\[[^\[\]/\s]+/[^\[\]/\s]+\]$"),
    re.compile(r"^domain:[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$"),
    re.compile(r"^principal://iam\.googleapis\.com/\S+$"),
    re.compile(r"^principalSet://iam\.googleapis\.com/\S+$"),
]
DELETED_MEMBER_RE = re.compile(
    r"^deleted:((user|group|serviceAccount):" + EMAIL_RE + r"\?uid=[0-9]+"
    r"|principal://iam\.googleapis\.com/\S+)$")
PERMISSION_RE = re.compile(r"^[a-zA-Z0-9]+\.[a-zA-Z0-9]+\.[a-zA-Z0-9]+$")
MAX_PRINCIPALS = 1500
MAX_GROUPS = 250


def condition_key(cond):
    return json.dumps(cond, sort_keys=True) if cond else ""


def withcond_role(role, cond):
    digest = hashlib.sha256(condition_key(cond).encode("utf-8")).hexdigest()[:20]
    return "%s_withcond_%s" % (role, digest)


def normalize_bindings(bindings):
    """Merges bindings with equal (role, condition), de-duplicates members,
    drops bindings without members; keeps first-seen order."""
    out, index = [], {}
    for b in bindings:
        role = b.get("role")
        cond = b.get("condition") or None
        key = (role, condition_key(cond))
        if key not in index:
            entry = {"role": role, "members": []}
            if cond:
                entry["condition"] = copy.deepcopy(cond)
            index[key] = entry
            out.append(entry)
        for m in b.get("members") or []:
            if m not in index[key]["members"]:
                index[key]["members"].append(m)
    return [b for b in out if b["members"]]


def has_conditions(bindings):
    return any(b.get("condition") for b in bindings)


def render_policy(stored, requested_version):
    """The Policy as returned by getIamPolicy/setIamPolicy."""
    bindings = stored["bindings"]
    cond = has_conditions(bindings)
    out = {"version": 3 if (cond and requested_version >= 3) else 1,
           "etag": stored["etag"]}
    if bindings:
        if cond and requested_version < 3:
            rendered = []
            for b in bindings:
                if b.get("condition"):
                    rendered.append({"role": withcond_role(b["role"], b["condition"]),
                                     "members": list(b["members"])})
                else:
                    rendered.append(copy.deepcopy(b))
            out["bindings"] = rendered
        else:
            out["bindings"] = copy.deepcopy(bindings)
    if stored.get("auditConfigs"):
        out["auditConfigs"] = copy.deepcopy(stored["auditConfigs"])
    return out


def parse_policy_version(req):
    raw = req.q("options.requestedPolicyVersion")
    if raw is None or raw == "":
        return 0
    try:
        v = int(raw)
    except ValueError:
        raise invalid("Invalid value at 'options.requested_policy_version' (TYPE_INT32), "
                      "\"%s\"" % raw)
    if v not in (0, 1, 3):
        raise invalid("Invalid requested policy version %d; the version must be 0, 1 or 3."
                      % v)
    return v


def validate_member(member, current_members):
    if not isinstance(member, str) or not member:
        raise invalid("Invalid member: member must be a non-empty string.")
    if member.startswith("deleted:"):
        if DELETED_MEMBER_RE.match(member) and member in current_members:
            return
        raise invalid("Invalid member: %s. Deleted principals can only be kept, "
                      "not added." % member)
    for rx in MEMBER_RES:
        if rx.match(member):
            return
    raise invalid("Invalid member: %s. Members must be of the form user:{email}, "
                  "group:{email}, serviceAccount:{email}, domain:{domain}, "
                  "principal://..., principalSet://..., allUsers or "
                  "allAuthenticatedUsers." % member)


def validate_policy_for_set(policy, current, kind, conditions_supported):
    """Checks a policy from a setIamPolicy request; returns normalized bindings."""
    if not isinstance(policy, dict):
        raise invalid("Invalid JSON payload: 'policy' must be an object.")
    version = policy.get("version", 0)
    if not isinstance(version, int) or isinstance(version, bool):
        try:
            version = int(version)
        except (TypeError, ValueError):
            raise invalid("Invalid policy version: %r" % (policy.get("version"),))
    if version not in (0, 1, 3):
        raise invalid("Invalid policy version %d; the version must be 0, 1 or 3." % version)
    bindings = policy.get("bindings") or []
    if not isinstance(bindings, list):
        raise invalid("Invalid JSON payload: 'bindings' must be a list.")
    current_members = {m for b in current["bindings"] for m in b["members"]}
    for b in bindings:
        if not isinstance(b, dict):
            raise invalid("Invalid binding: expected an object.")
        role = b.get("role")
        if not isinstance(role, str) or not role:
            raise invalid("Invalid binding: role is required.")
        if "_withcond_" in role:
            raise invalid("Role %s is a version-1 rendering of a conditional binding "
                          "(_withcond_); read the policy with "
                          "options.requestedPolicyVersion=3 and write that." % role)
        if not ROLE_RE.match(role):
            raise invalid("Role %s is not a valid role name." % role)
        members = b.get("members") or []
        if not isinstance(members, list):
            raise invalid("Invalid binding: members must be a list.")
        for m in members:
            validate_member(m, current_members)
        cond = b.get("condition")
        if cond:
            if not conditions_supported:
                raise invalid("Conditions are not supported for this resource type "
                              "(%s)." % kind)
            if not isinstance(cond, dict) or not isinstance(cond.get("expression"), str) \
                    or not cond["expression"].strip():
                raise invalid("Invalid condition: expression is required.")
            if not isinstance(cond.get("title"), str) or not cond["title"].strip():
                raise invalid("Invalid condition: title is required.")
    normalized = normalize_bindings(bindings)
    if has_conditions(normalized) and version != 3:
        raise invalid("Policies containing conditions must set version 3 "
                      "(got version %d)." % version)
    count = sum(len(b["members"]) for b in normalized)
    groups = sum(1 for b in normalized for m in b["members"] if m.startswith("group:"))
    if count > MAX_PRINCIPALS:
        raise invalid("The number of members in the policy (%d) is larger than the "
                      "maximum allowed size %d." % (count, MAX_PRINCIPALS))
    if groups > MAX_GROUPS:
        raise invalid("The number of groups in the policy (%d) is larger than the "
                      "maximum allowed %d." % (groups, MAX_GROUPS))
    return version, normalized


def iam_set_policy(emu, req, resource, kind):
    body = req.json_body()
    if not isinstance(body, dict) or "policy" not in body:
        raise invalid("Invalid JSON payload: 'policy' is required.")
    policy = body["policy"]
    mask = body.get("updateMask")
    if mask is None or mask == "":
        fields = {"bindings", "etag"}
    elif isinstance(mask, str):
        fields = {f.strip() for f in mask.split(",") if f.strip()}
    else:
        raise invalid("updateMask must be a comma-separated string.")
    unknown = fields - {"bindings", "etag", "auditConfigs", "version"}
    if unknown:
        raise invalid("Invalid updateMask path(s): %s" % ", ".join(sorted(unknown)))
    supported = bool(emu.config["conditions_supported"].get(kind, False))
    with emu.lock:
        current = emu.get_policy(resource)
        if not isinstance(policy, dict):
            raise invalid("Invalid JSON payload: 'policy' must be an object.")
        etag = policy.get("etag")
        if etag:
            if not isinstance(etag, str) or not same_etag(etag, current["etag"]):
                raise ApiError(409, CONCURRENT_CHANGE_MESSAGE, "ABORTED")
        else:
            req.notes["iam_unconditional_write"] = True
        version, bindings = validate_policy_for_set(policy, current, kind, supported)
        if etag and has_conditions(current["bindings"]) and version < 3 \
                and "bindings" in fields:
            raise invalid("The stored policy contains conditional bindings; writing it "
                          "requires policy version 3.")
        new = copy.deepcopy(current)
        if "bindings" in fields:
            new["bindings"] = bindings
        if "auditConfigs" in fields:
            ac = policy.get("auditConfigs") or []
            if not isinstance(ac, list):
                raise invalid("auditConfigs must be a list.")
            new["auditConfigs"] = copy.deepcopy(ac)
        new["etag"] = new_iam_etag()
        emu.policies[resource] = new
        return render_policy(new, 3)


# ---------------------------------------------------------------------------
# 5. route handlers
# ---------------------------------------------------------------------------

# -- shared ---------------------------------------------------------------

def page_bounds(req, emu, param, default, hard_max, token_scope):
    raw = req.q(param)
    size = default
    if raw not in (None, ""):
        try:
            size = int(raw)
        except ValueError:
            raise invalid("Invalid value for %s: %s" % (param, raw))
        if size < 0:
            raise invalid("%s must not be negative" % param)
        if size == 0:
            size = default
    size = max(1, min(size, hard_max))
    offset = 0
    token = req.q("pageToken")
    if token:
        try:
            data = json.loads(b64url_decode(token))
            offset = int(data["o"])
            if data.get("s") != token_scope or offset < 0:
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise invalid("Invalid page token: %s" % token)
    return size, offset


def page_token(offset, scope):
    return b64url_encode(json.dumps({"o": offset, "s": scope}).encode())


def norm_project(emu, project):
    """Project numbers from the seed's project_number map to the project id."""
    num = emu.config.get("project_number")
    pid = emu.config.get("project_id")
    if num and pid and project == str(num):
        return pid
    return project


def iam_test_permissions(emu, req, resource, prefixes):
    body = req.json_body()
    perms = body.get("permissions") if isinstance(body, dict) else None
    if perms is None:
        perms = []
    if not isinstance(perms, list):
        raise invalid("permissions must be a list")
    for p in perms:
        if not isinstance(p, str) or not PERMISSION_RE.match(p):
            raise invalid("Permission %s is not valid." % (p,))
        if not p.startswith(prefixes):
            raise invalid("Permission %s is not valid for this resource." % p)
    denied = emu.config.get("denied_permissions") or []
    if isinstance(denied, dict):
        denied = list(denied.get("*", [])) + list(denied.get(resource, []))
    granted = [p for p in perms if p not in denied]
    return {"permissions": granted} if granted else {}


# -- Cloud Run v2 (and the two v1 IAM paths) ------------------------------

RUN_KIND_LABEL = {"services": "SERVICE", "jobs": "JOB"}


def run_resource_name(emu, params, kind):
    ident = params["servicesId"] if kind == "services" else params["jobsId"]
    return "projects/%s/locations/%s/%s/%s" % (
        norm_project(emu, params["projectsId"]), params["locationsId"], kind, ident)


def run_lookup(emu, params, kind):
    name = run_resource_name(emu, params, kind)
    table = emu.services if kind == "services" else emu.jobs
    rec = table.get(name)
    if rec is None:
        ident = name.rsplit("/", 1)[1]
        raise rpc_not_found("Resource '%s' of kind '%s' in region '%s' in project "
                            "'%s' does not exist." % (ident, RUN_KIND_LABEL[kind],
                                                      params["locationsId"],
                                                      params["projectsId"]))
    return name, rec


def run_list(emu, req, params, kind):
    project = norm_project(emu, params["projectsId"])
    location = params["locationsId"]
    if location == "-":
        raise invalid("The location '-' is not supported for listing %s; list one "
                      "region at a time." % kind)
    show_deleted = parse_bool(req.q("showDeleted"), "showDeleted")
    parent = "projects/%s/locations/%s" % (project, location)
    cap = int(emu.config["page_size_max"])
    size, offset = page_bounds(req, emu, "pageSize", cap, cap, parent + "/" + kind)
    table = emu.services if kind == "services" else emu.jobs
    with emu.lock:
        items = [r["obj"] for r in Emulator._sorted(table)
                 if r["obj"]["name"].startswith(parent + "/")
                 and (show_deleted or not r["obj"].get("deleteTime"))]
        page = copy.deepcopy(items[offset:offset + size])
    out = {}
    if page:
        out[kind] = page
    if offset + size < len(items):
        out["nextPageToken"] = page_token(offset + size, parent + "/" + kind)
    return json_response(out, req=req)


def run_get(emu, req, params, kind):
    with emu.lock:
        _, rec = run_lookup(emu, params, kind)
        return json_response(copy.deepcopy(rec["obj"]), req=req)


def apply_update_mask(target, body, paths):
    for path in paths:
        parts = path.split(".")
        src, dst = body, target
        for p in parts[:-1]:
            src = src.get(p) if isinstance(src, dict) else None
            if not isinstance(dst.get(p), dict):
                dst[p] = {}
            dst = dst[p]
        leaf = parts[-1]
        if isinstance(src, dict) and leaf in src:
            dst[leaf] = copy.deepcopy(src[leaf])
        else:
            dst.pop(leaf, None)


def run_patch(emu, req, params, kind):
    body = req.json_body()
    if not isinstance(body, dict):
        raise invalid("Invalid JSON payload: expected a %s object." % kind[:-1])
    validate_only = parse_bool(req.q("validateOnly"), "validateOnly")
    allow_missing = parse_bool(req.q("allowMissing"), "allowMissing")
    mask = req.q("updateMask")
    mutable = SERVICE_MUTABLE if kind == "services" else JOB_MUTABLE
    name = run_resource_name(emu, params, kind)
    if body.get("name") and body["name"] != name:
        raise invalid("The name in the request body (%s) does not match the URL (%s)."
                      % (body["name"], name))
    table = emu.services if kind == "services" else emu.jobs
    with emu.lock:
        rec = table.get(name)
        if rec is None:
            if not allow_missing:
                run_lookup(emu, params, kind)  # raises 404
            created = time.time()
            rec = {"obj": {"name": name, "uid": str(uuid.uuid4()), "generation": "0",
                           "createTime": now_rfc3339(created)},
                   "created": created}
            if not validate_only:
                table[name] = rec
                emu.policies.setdefault(name, {"etag": "ACAB", "bindings": [],
                                               "auditConfigs": []})
        if body.get("etag") and body["etag"] != rec["obj"].get("etag"):
            raise ApiError(409, "The etag in the request does not match the current "
                                "version of the resource.", "ABORTED")
        new = copy.deepcopy(rec["obj"])
        if mask:
            paths = [p.strip() for p in mask.split(",") if p.strip()]
            for p in paths:
                if p.split(".")[0] not in mutable:
                    raise invalid("Invalid update mask path: %s" % p)
            apply_update_mask(new, body, paths)
        else:
            for k, v in body.items():
                if k in mutable:
                    new[k] = copy.deepcopy(v)
                elif k not in SERVICE_OUTPUT_ONLY:
                    raise invalid("Unknown field in %s: %s" % (kind[:-1], k))
        gen = int(new.get("generation", "0")) + 1
        ts = now_rfc3339()
        new.update({"generation": str(gen), "observedGeneration": str(gen),
                    "updateTime": ts, "etag": '"%s"' % secrets.token_hex(8),
                    "lastModifier": req.subject or "unknown"})
        if kind == "services" and new.get("template") != rec["obj"].get("template"):
            short = name.rsplit("/", 1)[1]
            rev = "%s/revisions/%s-%05d-%s" % (name, short, gen, secrets.token_hex(2)[:3])
            new["latestCreatedRevision"] = rev
            new["latestReadyRevision"] = rev
        if not validate_only:
            rec["obj"] = new
        project, location = name.split("/")[1], name.split("/")[3]
        op_name = "projects/%s/locations/%s/operations/%s" % (project, location,
                                                              uuid.uuid4())
        typed = dict({"@type": "type.googleapis.com/google.cloud.run.v2.%s"
                      % ("Service" if kind == "services" else "Job")},
                     **copy.deepcopy(new))
        op = {"name": op_name, "metadata": typed, "done": True,
              "response": copy.deepcopy(typed)}
        emu.operations[op_name] = op
        return json_response(op, req=req)


def run_operation_get(emu, req, params):
    name = "projects/%s/locations/%s/operations/%s" % (
        norm_project(emu, params["projectsId"]), params["locationsId"],
        params["operationsId"])
    with emu.lock:
        op = emu.operations.get(name)
        if op is None:
            raise rpc_not_found("Operation %s not found." % name)
        return json_response(copy.deepcopy(op), req=req)


def run_get_iam_policy(emu, req, params, kind):
    version = parse_policy_version(req)
    with emu.lock:
        name, _ = run_lookup(emu, params, kind)
        return json_response(render_policy(emu.get_policy(name), version), req=req)


def run_set_iam_policy(emu, req, params, kind):
    with emu.lock:
        name, _ = run_lookup(emu, params, kind)
        return json_response(iam_set_policy(emu, req, name, kind), req=req)


def run_test_iam_permissions(emu, req, params, kind):
    with emu.lock:
        name, _ = run_lookup(emu, params, kind)
    return json_response(iam_test_permissions(emu, req, name, ("run.",)), req=req)


# -- IAM v1 service accounts ------------------------------------------------

def sa_lookup(emu, params):
    project = norm_project(emu, params["projectsId"])
    ident = params["serviceAccountsId"]
    with emu.lock:
        acc = emu.accounts.get(ident.lower())
        if acc is None:
            for a in emu.accounts.values():
                if a["uniqueId"] == ident:
                    acc = a
                    break
        if acc is not None and project not in ("-", acc["projectId"]):
            acc = None
        if acc is None:
            if project == "-":
                raise ApiError(403, "Permission 'iam.serviceAccounts.get' denied on "
                                    "resource (or it may not exist).", "PERMISSION_DENIED")
            raise rpc_not_found("Unknown service account")
        return acc


def sa_list(emu, req, params):
    project = norm_project(emu, params["projectsId"])
    cap = min(100, int(emu.config["page_size_max"]))
    size, offset = page_bounds(req, emu, "pageSize", min(20, cap), cap,
                               "projects/%s/serviceAccounts" % project)
    with emu.lock:
        items = [a for a in emu.accounts.values()
                 if project == "-" or a["projectId"] == project]
        page = copy.deepcopy(items[offset:offset + size])
    out = {}
    if page:
        out["accounts"] = page
    if offset + size < len(items):
        out["nextPageToken"] = page_token(offset + size,
                                          "projects/%s/serviceAccounts" % project)
    return json_response(out, req=req)


def sa_get(emu, req, params):
    return json_response(copy.deepcopy(sa_lookup(emu, params)), req=req)


def sa_get_iam_policy(emu, req, params):
    version = parse_policy_version(req)
    with emu.lock:
        acc = sa_lookup(emu, params)
        return json_response(render_policy(emu.get_policy(acc["name"]), version), req=req)


def sa_set_iam_policy(emu, req, params):
    with emu.lock:
        acc = sa_lookup(emu, params)
        return json_response(iam_set_policy(emu, req, acc["name"], "serviceAccounts"),
                             req=req)


def sa_test_iam_permissions(emu, req, params):
    acc = sa_lookup(emu, params)
    return json_response(iam_test_permissions(emu, req, acc["name"], ("iam.",)), req=req)


# -- Cloud Storage JSON v1 --------------------------------------------------

def storage_bucket(emu, name):
    b = emu.buckets.get(name)
    if b is None:
        raise ApiError(404, "The specified bucket does not exist.", reason="notFound")
    return b


def storage_int_param(req, name):
    raw = req.q(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ApiError(400, "Invalid value for %s: %s" % (name, raw), reason="invalid")


def storage_preconditions(req, obj):
    """Evaluates the four preconditions; 412 for *Match, 304 for *NotMatch."""
    g = storage_int_param(req, "ifGenerationMatch")
    ng = storage_int_param(req, "ifGenerationNotMatch")
    mg = storage_int_param(req, "ifMetagenerationMatch")
    nmg = storage_int_param(req, "ifMetagenerationNotMatch")
    failed = ApiError(412, "Precondition Failed", reason="conditionNotMet")
    if g is not None:
        if g == 0:
            if obj is not None:
                raise failed
        elif obj is None or obj.generation != g:
            raise failed
    if mg is not None and (obj is None or obj.metageneration != mg):
        raise failed
    not_modified = ApiError(304, "Not Modified", reason="notModified")
    if ng is not None:
        if ng == 0:
            if obj is None:
                raise not_modified
        elif obj is None or obj.generation == ng:
            raise not_modified
    if nmg is not None and (obj is None or obj.metageneration == nmg):
        raise not_modified


def storage_object_lookup(emu, req, params):
    bucket = params["bucket"]
    name = params["object"]
    objs = storage_bucket(emu, bucket)
    obj = objs.get(name)
    gen = storage_int_param(req, "generation")
    if obj is None or (gen is not None and obj.generation != gen):
        raise ApiError(404, "No such object: %s/%s" % (bucket, name), reason="notFound")
    return obj


def storage_list(emu, req, params):
    bucket = params["bucket"]
    prefix = req.q("prefix") or ""
    delimiter = req.q("delimiter") or ""
    start = req.q("startOffset") or ""
    end = req.q("endOffset") or ""
    trailing = parse_bool(req.q("includeTrailingDelimiter"), "includeTrailingDelimiter")
    raw_max = storage_int_param(req, "maxResults")
    size = 1000 if not raw_max or raw_max <= 0 else min(raw_max, 1000)
    after = ""
    token = req.q("pageToken")
    if token:
        try:
            after = b64url_decode(token).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid page token.", reason="invalid")
    with emu.lock:
        objs = storage_bucket(emu, bucket)
        entries = []  # (sort key, kind, value)
        seen_prefixes = set()
        for name in sorted(objs):
            if not name.startswith(prefix):
                continue
            if (start and name < start) or (end and name >= end):
                continue
            if delimiter:
                rest = name[len(prefix):]
                idx = rest.find(delimiter)
                if idx >= 0:
                    pfx = prefix + rest[:idx + len(delimiter)]
                    if pfx not in seen_prefixes:
                        seen_prefixes.add(pfx)
                        entries.append((pfx, "prefix", pfx))
                    if not (trailing and name == pfx):
                        continue
            entries.append((name, "item", objs[name]))
        entries.sort(key=lambda e: (e[0], e[1]))
        if after:
            last_key, _, last_kind = after.partition("\x00")
            entries = [e for e in entries if (e[0], e[1]) > (last_key, last_kind)]
        page, more = entries[:size], len(entries) > size
        base = req.base_url()
        items = [e[2].resource(bucket, base) for e in page if e[1] == "item"]
        prefixes = [e[2] for e in page if e[1] == "prefix"]
    out = {"kind": "storage#objects"}
    if more:
        last = page[-1]
        out["nextPageToken"] = b64url_encode(("%s\x00%s" % (last[0], last[1])).encode())
    if prefixes:
        out["prefixes"] = prefixes
    if items:
        out["items"] = items
    return json_response(out, req=req)


def storage_get(emu, req, params):
    with emu.lock:
        obj = storage_object_lookup(emu, req, params)
        storage_preconditions(req, obj)
        if req.q("alt") == "media":
            return storage_media(obj)
        return json_response(obj.resource(params["bucket"], req.base_url()), req=req)


def storage_media(obj):
    headers = [
        ("Content-Type", obj.content_type),
        ("x-goog-generation", str(obj.generation)),
        ("x-goog-metageneration", str(obj.metageneration)),
        ("x-goog-hash", "crc32c=%s,md5=%s" % (obj.crc, obj.md5)),
        ("x-goog-stored-content-length", str(len(obj.data))),
        ("x-goog-stored-content-encoding", "identity"),
        ("x-goog-storage-class", "STANDARD"),
        ("ETag", '"%s"' % hashlib.md5(obj.data).hexdigest()),
    ]
    return Response(200, obj.data, headers)


def storage_download(emu, req, params):
    with emu.lock:
        obj = storage_object_lookup(emu, req, params)
        storage_preconditions(req, obj)
        return storage_media(obj)


def storage_delete(emu, req, params):
    with emu.lock:
        obj = storage_object_lookup(emu, req, params)
        storage_preconditions(req, obj)
        del emu.buckets[params["bucket"]][params["object"]]
    return Response(204)


def parse_multipart_related(body, content_type):
    m = re.search(r'boundary="?([^";]+)"?', content_type)
    if not m:
        raise ApiError(400, "Missing multipart boundary.", reason="invalid")
    boundary = b"--" + m.group(1).encode("latin-1")
    parts = []
    for chunk in body.split(boundary)[1:]:
        if chunk.startswith(b"--"):
            break
        if chunk.startswith(b"\r\n"):
            chunk = chunk[2:]
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            raise ApiError(400, "Malformed multipart body.", reason="invalid")
        if content.endswith(b"\r\n"):
            content = content[:-2]
        headers = {}
        for line in head.decode("latin-1").split("\r\n"):
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        parts.append((headers, content))
    if len(parts) != 2:
        raise ApiError(400, "A multipart upload needs exactly two parts (metadata, media).",
                       reason="invalid")
    return parts


def storage_upload(emu, req, params):
    bucket = params["bucket"]
    upload_type = req.q("uploadType") or "media"
    name = req.q("name")
    metadata = None
    if upload_type == "media":
        data = req.body
        ctype = req.headers.get("Content-Type") or "application/octet-stream"
    elif upload_type == "multipart":
        parts = parse_multipart_related(req.body, req.headers.get("Content-Type", ""))
        try:
            meta = json.loads(parts[0][1].decode("utf-8") or "{}")
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "Invalid JSON in multipart metadata part.", reason="invalid")
        data = parts[1][1]
        name = meta.get("name") or name
        ctype = meta.get("contentType") or parts[1][0].get("content-type") \
            or "application/octet-stream"
        metadata = meta.get("metadata")
    else:
        raise ApiError(400, "Unsupported uploadType: %s (the emulator supports media and "
                            "multipart)." % upload_type, reason="invalid")
    if not name:
        raise ApiError(400, "Required", reason="required")
    with emu.lock:
        objs = storage_bucket(emu, bucket)
        storage_preconditions(req, objs.get(name))
        obj = StoredObject(name, data, emu.next_generation(), ctype, metadata)
        objs[name] = obj
        return json_response(obj.resource(bucket, req.base_url()), req=req)


# -- OAuth2 token endpoint --------------------------------------------------

def oauth_error(message, error="invalid_grant", code=400):
    return ApiError(code, message, style="oauth", oauth_error=error)


def verify_jwt_assertion(assertion, token_url):
    parts = assertion.split(".")
    if len(parts) != 3 or not all(parts):
        raise oauth_error("Invalid JWT: expected three base64url parts.")
    try:
        header = json.loads(b64url_decode(parts[0]))
        claims = json.loads(b64url_decode(parts[1]))
        b64url_decode(parts[2])
    except (ValueError, UnicodeDecodeError):
        raise oauth_error("Invalid JWT: a part is not base64url-encoded JSON.")
    if not isinstance(header, dict) or header.get("alg") != "RS256":
        raise oauth_error("Invalid JWT: header alg must be RS256.")
    if not isinstance(claims, dict):
        raise oauth_error("Invalid JWT: claims must be an object.")
    for c in ("iss", "aud", "iat", "exp"):
        if c not in claims:
            raise oauth_error("Invalid JWT: claim '%s' is missing." % c)
    iat, exp = claims["iat"], claims["exp"]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (iat, exp)):
        raise oauth_error("Invalid JWT: iat and exp must be numbers.")
    now = time.time()
    if exp > iat + 3600 or exp <= iat or exp < now - 60 or iat > now + 300:
        raise oauth_error("Invalid JWT: Token must be a short-lived token (60 minutes) "
                          "and in a reasonable timeframe. Check your iat and exp values "
                          "in the JWT claim.")
    if claims["aud"] not in GOOGLE_TOKEN_AUDIENCES + (token_url,):
        raise oauth_error("Invalid JWT: audience %r is not the token endpoint."
                          % claims["aud"])
    if not isinstance(claims["iss"], str) or "@" not in claims["iss"]:
        raise oauth_error("Invalid JWT: iss must be the service account e-mail.",
                          error="invalid_client", code=401)
    return claims


def make_id_token(emu, audience, email):
    now = int(time.time())
    header = {"alg": "RS256", "kid": "emulator", "typ": "JWT"}
    unique = str(int(hashlib.sha256(email.lower().encode()).hexdigest(), 16))[:21]
    claims = {"aud": audience, "azp": unique, "email": email, "email_verified": True,
              "exp": now + 3600, "iat": now, "iss": "https://accounts.google.com",
              "sub": unique}
    signing_input = (b64url_encode(json.dumps(header, separators=(",", ":")).encode())
                     + "." + b64url_encode(json.dumps(claims, separators=(",", ":"))
                                           .encode()))
    sig = hmac.new(emu._idtoken_key, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + b64url_encode(sig + sig[:16] * 14)


def oauth_token(emu, req, params):
    ctype = (req.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    try:
        text = req.body.decode("utf-8")
    except UnicodeDecodeError:
        raise oauth_error("Body is not UTF-8.", error="invalid_request")
    if ctype == "application/json":
        try:
            form = {k: str(v) for k, v in json.loads(text or "{}").items()}
        except (ValueError, AttributeError):
            raise oauth_error("Invalid JSON body.", error="invalid_request")
    else:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(
            text, keep_blank_values=True).items()}
    grant = form.get("grant_type", "")
    if grant == "urn:ietf:params:oauth:grant-type:jwt-bearer":
        assertion = form.get("assertion", "")
        if not assertion:
            raise oauth_error("Missing required parameter: assertion",
                              error="invalid_request")
        claims = verify_jwt_assertion(assertion, req.base_url() + "/token")
        if claims.get("target_audience"):
            return json_response({"id_token": make_id_token(
                emu, claims["target_audience"], claims["iss"])}, req=req)
        token, lifetime = emu.mint_token(claims["iss"], claims.get("scope"))
        return json_response({"access_token": token, "expires_in": lifetime,
                              "token_type": "Bearer"}, req=req)
    if grant == "refresh_token":
        for f in ("client_id", "client_secret", "refresh_token"):
            if not form.get(f):
                raise oauth_error("Missing required parameter: %s" % f,
                                  error="invalid_request")
        allowed = emu.config.get("refresh_tokens")
        if allowed is not None and form["refresh_token"] not in allowed:
            raise oauth_error("Token has been expired or revoked.")
        token, lifetime = emu.mint_token("user:" + form["client_id"])
        return json_response({"access_token": token, "expires_in": lifetime,
                              "scope": "https://www.googleapis.com/auth/cloud-platform",
                              "token_type": "Bearer"}, req=req)
    raise oauth_error("Invalid grant_type: %s" % grant, error="unsupported_grant_type")


# -- metadata server ----------------------------------------------------------

def metadata_email(emu):
    if emu.config.get("metadata_email"):
        return emu.config["metadata_email"]
    for acc in emu.accounts.values():
        return acc["email"]
    return "default@%s.iam.gserviceaccount.com" % emu.project_id()


def metadata_check_account(emu, params):
    acc = params.get("account")
    if acc not in ("default", metadata_email(emu)):
        raise ApiError(404, "Not Found", style="metadata")


def metadata_token(emu, req, params):
    metadata_check_account(emu, params)
    token, lifetime = emu.mint_token(metadata_email(emu), req.q("scopes"))
    return json_response({"access_token": token, "expires_in": lifetime,
                          "token_type": "Bearer"}, req=req, pretty=False)


def metadata_account_email(emu, req, params):
    metadata_check_account(emu, params)
    return text_response(metadata_email(emu), content_type="application/text")


def metadata_identity(emu, req, params):
    metadata_check_account(emu, params)
    audience = req.q("audience")
    if not audience:
        raise ApiError(400, "non-empty audience parameter required", style="metadata")
    return text_response(make_id_token(emu, audience, metadata_email(emu)),
                         content_type="application/text")


def metadata_project_id(emu, req, params):
    return text_response(emu.project_id(), content_type="application/text")


def metadata_numeric_project_id(emu, req, params):
    num = emu.config.get("project_number") or str(
        int(hashlib.sha256(emu.project_id().encode()).hexdigest(), 16))[:12]
    return text_response(str(num), content_type="application/text")


def metadata_region(emu, req, params):
    region = emu.config.get("region") or "europe-west1"
    num = emu.config.get("project_number") or "0"
    return text_response("projects/%s/regions/%s" % (num, region),
                         content_type="application/text")


def metadata_instance_dir(emu, req, params):
    return text_response("id\nregion\nservice-accounts/\nzone\n",
                         content_type="application/text")


# -- control API ---------------------------------------------------------------

def control_log_get(emu, req, params):
    with emu.lock:
        return json_response(copy.deepcopy(emu.log), req=req)


def control_log_delete(emu, req, params):
    with emu.lock:
        emu.log.clear()
    return json_response({}, req=req)


def control_state_get(emu, req, params):
    return json_response(emu.snapshot(req.base_url()), req=req)


def control_state_post(emu, req, params):
    mode = req.q("mode") or "replace"
    if mode not in ("replace", "merge"):
        raise invalid("mode must be replace or merge")
    emu.load_seed(req.json_body(), merge=(mode == "merge"))
    return json_response(emu.snapshot(req.base_url()), req=req)


def control_policy_post(emu, req, params):
    body = req.json_body()
    if not isinstance(body, dict) or not isinstance(body.get("resource"), str) \
            or not isinstance(body.get("policy"), dict):
        raise invalid('expected {"resource": name, "policy": {...}}')
    if not emu.resource_exists(body["resource"]):
        raise rpc_not_found("Unknown resource %s" % body["resource"])
    stored = emu.out_of_band_change(body["resource"], {"policy": body["policy"]})
    return json_response(render_policy(stored, 3), req=req)


def control_faults_get(emu, req, params):
    with emu.lock:
        return json_response(copy.deepcopy(emu.faults), req=req)


def control_faults_post(emu, req, params):
    return json_response(emu.add_faults(req.json_body()), req=req)


def control_faults_delete(emu, req, params):
    with emu.lock:
        emu.faults.clear()
    return json_response([], req=req)


def control_config_get(emu, req, params):
    with emu.lock:
        return json_response(copy.deepcopy(emu.config), req=req)


def control_config_post(emu, req, params):
    body = req.json_body()
    if not isinstance(body, dict):
        raise invalid("expected a JSON object")
    unknown = set(body) - set(DEFAULT_CONFIG)
    if unknown:
        raise invalid("unknown config keys: %s" % ", ".join(sorted(unknown)))
    with emu.lock:
        for k, v in body.items():
            if k == "conditions_supported":
                emu.config[k].update(v)
            else:
                emu.config[k] = v
        return json_response(copy.deepcopy(emu.config), req=req)


def control_token_post(emu, req, params):
    body = req.json_body() if req.body else {}
    token, lifetime = emu.mint_token(body.get("subject", "test@emulator"),
                                     lifetime=body.get("lifetime"))
    return json_response({"access_token": token, "expires_in": lifetime,
                          "token_type": "Bearer"}, req=req)


def control_tokens_revoke(emu, req, params):
    with emu.lock:
        n = len(emu.tokens)
        emu.tokens.clear()
    return json_response({"revoked": n}, req=req)


def control_health(emu, req, params):
    return json_response({"ok": True}, req=req)


# -- fault rules ------------------------------------------------------------

TERMINAL_FAULTS = ("status", "drop", "reset_mid_body", "truncate")
FAULT_KINDS = ("status", "drop", "reset_mid_body", "truncate", "latency_ms",
               "stall_ms", "oversize_bytes", "concurrent_change")


def fault_is_terminal(action):
    return any(k in action for k in TERMINAL_FAULTS)


def validate_fault_rule(rule):
    if not isinstance(rule, dict):
        raise invalid("fault rule must be an object")
    match = rule.get("match") or {}
    action = rule.get("action")
    if not isinstance(match, dict) or not isinstance(action, dict):
        raise invalid("fault rule needs match (object) and action (object)")
    for key in match:
        if key not in ("method", "path_regex", "query_regex"):
            raise invalid("unknown match key: %s" % key)
    for key in ("path_regex", "query_regex"):
        if key in match:
            try:
                re.compile(match[key])
            except re.error as e:
                raise invalid("bad %s: %s" % (key, e))
    kinds = [k for k in action if k in FAULT_KINDS]
    extra = set(action) - set(FAULT_KINDS) - {"retry_after", "body", "headers"}
    if not kinds or extra:
        raise invalid("fault action must contain one of %s (got %s)"
                      % (", ".join(FAULT_KINDS), ", ".join(sorted(action))))
    if sum(1 for k in kinds if k in TERMINAL_FAULTS) > 1:
        raise invalid("a fault action can have only one of %s" % ", ".join(TERMINAL_FAULTS))
    if "status" in action and not (isinstance(action["status"], int)
                                   and 100 <= action["status"] <= 599):
        raise invalid("status must be an HTTP status code")
    if "concurrent_change" in action and not isinstance(action["concurrent_change"], dict):
        raise invalid("concurrent_change must be an object")
    count = rule.get("count", 1)
    if not isinstance(count, int) or count == 0 or count < -1:
        raise invalid("count must be a positive integer or -1")
    return {"match": match, "action": action, "count": count, "hits": 0}


# ---------------------------------------------------------------------------
# 6. route table
# ---------------------------------------------------------------------------

Route = namedtuple("Route", "api http_method path_template handler query_params "
                            "auth resource")
# auth: "required" (Run/IAM), "storage" (optional unless configured),
#       "metadata" (Metadata-Flavor: Google header), "none".
# resource: function(emu, params) -> IAM resource name, for concurrent_change.

RUN_PARENT = "v2/projects/{projectsId}/locations/{locationsId}"
RUN_SVC = RUN_PARENT + "/services/{servicesId}"
RUN_JOB = RUN_PARENT + "/jobs/{jobsId}"
RUN_V1_SVC = "v1/projects/{projectsId}/locations/{locationsId}/services/{servicesId}"
IAM_SA = "v1/projects/{projectsId}/serviceAccounts/{serviceAccountsId}"
GCS_OBJ = "storage/v1/b/{bucket}/o/{object}"
POLICY_Q = ("options.requestedPolicyVersion",)
LIST_Q = ("pageSize", "pageToken", "showDeleted")
PATCH_Q = ("updateMask", "validateOnly", "allowMissing")
GCS_PRECOND_Q = ("ifGenerationMatch", "ifGenerationNotMatch",
                 "ifMetagenerationMatch", "ifMetagenerationNotMatch")


def _run_res(kind):
    return lambda emu, p: run_resource_name(emu, p, kind)


def _sa_res(emu, p):
    try:
        return sa_lookup(emu, p)["name"]
    except ApiError:
        return None


def _routes():
    r = []
    for kind, base in (("services", RUN_SVC), ("jobs", RUN_JOB)):
        res = _run_res(kind)
        part = functools.partial
        r += [
            Route("run.v2", "GET", RUN_PARENT + "/" + kind,
                  part(run_list, kind=kind), LIST_Q, "required", None),
            Route("run.v2", "GET", base, part(run_get, kind=kind), (), "required", None),
            Route("run.v2", "PATCH", base, part(run_patch, kind=kind),
                  PATCH_Q if kind == "services" else PATCH_Q[1:], "required", None),
            Route("run.v2", "GET", base + ":getIamPolicy",
                  part(run_get_iam_policy, kind=kind), POLICY_Q, "required", res),
            Route("run.v2", "POST", base + ":setIamPolicy",
                  part(run_set_iam_policy, kind=kind), (), "required", res),
            Route("run.v2", "POST", base + ":testIamPermissions",
                  part(run_test_iam_permissions, kind=kind), (), "required", res),
        ]
    r += [
        Route("run.v2", "GET", RUN_PARENT + "/operations/{operationsId}",
              run_operation_get, (), "required", None),
        # Cloud Run Admin v1 (used by gcloud); not in the stored discovery docs.
        Route("run.v1", "GET", RUN_V1_SVC + ":getIamPolicy",
              functools.partial(run_get_iam_policy, kind="services"), POLICY_Q,
              "required", _run_res("services")),
        Route("run.v1", "POST", RUN_V1_SVC + ":setIamPolicy",
              functools.partial(run_set_iam_policy, kind="services"), (),
              "required", _run_res("services")),
        # IAM v1 service accounts
        Route("iam.v1", "GET", "v1/projects/{projectsId}/serviceAccounts", sa_list,
              ("pageSize", "pageToken"), "required", None),
        Route("iam.v1", "GET", IAM_SA, sa_get, (), "required", None),
        Route("iam.v1", "POST", IAM_SA + ":getIamPolicy", sa_get_iam_policy, POLICY_Q,
              "required", _sa_res),
        Route("iam.v1", "POST", IAM_SA + ":setIamPolicy", sa_set_iam_policy, (),
              "required", _sa_res),
        Route("iam.v1", "POST", IAM_SA + ":testIamPermissions", sa_test_iam_permissions,
              (), "required", _sa_res),
        # Cloud Storage JSON v1
        Route("storage.v1", "GET", "storage/v1/b/{bucket}/o", storage_list,
              ("prefix", "delimiter", "pageToken", "maxResults", "startOffset",
               "endOffset", "includeTrailingDelimiter"), "storage", None),
        Route("storage.v1", "GET", GCS_OBJ, storage_get,
              ("generation", "alt") + GCS_PRECOND_Q, "storage", None),
        Route("storage.v1", "DELETE", GCS_OBJ, storage_delete,
              ("generation",) + GCS_PRECOND_Q, "storage", None),
        Route("storage.v1", "POST", "upload/storage/v1/b/{bucket}/o", storage_upload,
              ("uploadType", "name") + GCS_PRECOND_Q, "storage", None),
        Route("storage.v1", "GET", "download/storage/v1/b/{bucket}/o/{object}",
              storage_download, ("generation", "alt") + GCS_PRECOND_Q, "storage", None),
        # OAuth2 and metadata server (no discovery documents)
        Route("oauth2", "POST", "token", oauth_token, (), "none", None),
        Route("oauth2", "POST", "o/oauth2/token", oauth_token, (), "none", None),
        Route("metadata", "GET",
              "computeMetadata/v1/instance/service-accounts/{account}/token",
              metadata_token, ("scopes",), "metadata", None),
        Route("metadata", "GET",
              "computeMetadata/v1/instance/service-accounts/{account}/email",
              metadata_account_email, (), "metadata", None),
        Route("metadata", "GET",
              "computeMetadata/v1/instance/service-accounts/{account}/identity",
              metadata_identity, ("audience", "format"), "metadata", None),
        Route("metadata", "GET", "computeMetadata/v1/project/project-id",
              metadata_project_id, (), "metadata", None),
        Route("metadata", "GET", "computeMetadata/v1/project/numeric-project-id",
              metadata_numeric_project_id, (), "metadata", None),
        Route("metadata", "GET", "computeMetadata/v1/instance/region",
              metadata_region, (), "metadata", None),
        Route("metadata", "GET", "computeMetadata/v1/instance/",
              metadata_instance_dir, (), "metadata", None),
        Route("metadata", "GET", "computeMetadata/v1/instance",
              metadata_instance_dir, (), "metadata", None),
        # control API
        Route("emulator", "GET", "_emulator/log", control_log_get, (), "none", None),
        Route("emulator", "DELETE", "_emulator/log", control_log_delete, (), "none", None),
        Route("emulator", "GET", "_emulator/state", control_state_get, (), "none", None),
        Route("emulator", "POST", "_emulator/state", control_state_post, ("mode",),
              "none", None),
        Route("emulator", "POST", "_emulator/policy", control_policy_post, (), "none", None),
        Route("emulator", "GET", "_emulator/faults", control_faults_get, (), "none", None),
        Route("emulator", "POST", "_emulator/faults", control_faults_post, (), "none", None),
        Route("emulator", "DELETE", "_emulator/faults", control_faults_delete, (),
              "none", None),
        Route("emulator", "GET", "_emulator/config", control_config_get, (), "none", None),
        Route("emulator", "POST", "_emulator/config", control_config_post, (), "none", None),
        Route("emulator", "POST", "_emulator/token", control_token_post, (), "none", None),
        Route("emulator", "POST", "_emulator/tokens/revoke", control_tokens_revoke, (),
              "none", None),
        Route("emulator", "GET", "_emulator/health", control_health, (), "none", None),
    ]
    return r


ROUTES = _routes()
GOOGLE_APIS = ("run.v2", "run.v1", "iam.v1", "storage.v1")


def route_table():
    """The Google-API routes as (api, http_method, path_template) tuples."""
    return [(r.api, r.http_method, r.path_template) for r in ROUTES]


def _compile(route):
    # Storage names are simple path parameters (may hold ':' once decoded or
    # even raw); Run/IAM segments never contain ':' so custom verbs split off.
    seg = r"[^/]+" if route.api.startswith("storage") else r"[^/:]+"
    out, pos = "", 0
    for m in re.finditer(r"\{([A-Za-z0-9_]+)\}", route.path_template):
        out += re.escape(route.path_template[pos:m.start()])
        out += "(?P<%s>%s)" % (m.group(1), seg)
        pos = m.end()
    out += re.escape(route.path_template[pos:])
    return re.compile("^" + out + "$")


COMPILED = [(_compile(r), r) for r in ROUTES]


def match_route(method, path):
    """Returns (route, params) or raises ApiError 404/405."""
    rel = path.lstrip("/")
    allowed = []
    for rx, route in COMPILED:
        m = rx.match(rel)
        if not m:
            continue
        if route.http_method == method:
            params = {k: urllib.parse.unquote(v) for k, v in m.groupdict().items()}
            return route, params
        allowed.append(route.http_method)
    if allowed:
        raise ApiError(405, "Method %s is not allowed on %s." % (method, path),
                       "UNIMPLEMENTED", headers=[("Allow", ", ".join(sorted(set(allowed))))])
    raise ApiError(404, "The requested URL %s was not found on this server." % path,
                   "NOT_FOUND")


# Query parameters every Google API accepts (discovery "parameters" block).
STANDARD_QUERY_PARAMS = frozenset((
    "$.xgafv", "access_token", "alt", "callback", "fields", "key", "oauth_token",
    "prettyPrint", "quotaUser", "upload_protocol", "uploadType"))


def check_query_params(req, route):
    """Cloud Run and IAM (gRPC-transcoded APIs) reject unknown query
    parameters; Storage ignores them."""
    if route.api not in ("run.v2", "run.v1", "iam.v1"):
        return
    for name in req.query:
        if name not in route.query_params and name not in STANDARD_QUERY_PARAMS:
            raise invalid('Invalid JSON payload received. Unknown name "%s": Cannot bind '
                          "query parameter. Field '%s' could not be found in request "
                          "message." % (name, name))


def error_style(path, route=None):
    api = route.api if route else ""
    rel = path.lstrip("/")
    if api.startswith("storage") or rel.startswith(("storage/", "upload/storage/",
                                                    "download/storage/")):
        return "storage"
    if api == "oauth2":
        return "oauth"
    if api == "metadata" or rel.startswith("computeMetadata/"):
        return "metadata"
    return "rpc"


# ---------------------------------------------------------------------------
# 7. HTTP layer
# ---------------------------------------------------------------------------

MAX_BODY = 64 * 1024 * 1024
REDACT_FORM_FIELDS = ("assertion", "client_secret", "refresh_token")


class Request:
    def __init__(self, handler, method, raw_path, body):
        self.method = method
        parsed = urllib.parse.urlsplit(raw_path)
        self.path = parsed.path
        self.query_string = parsed.query
        self.query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        self.headers = handler.headers
        self.body = body
        self.subject = None
        self.notes = {}
        self._json = None
        self._host = handler.headers.get("Host") or "%s:%d" % handler.server.server_address[:2]

    def q(self, name):
        v = self.query.get(name)
        return v[-1] if v else None

    def base_url(self):
        return "http://" + self._host

    def json_body(self):
        if self._json is None:
            if not self.body.strip():
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError) as e:
                    raise invalid("Invalid JSON payload received. %s" % e)
        return self._json


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "roam-emulator/1"
    sys_version = ""
    timeout = 300  # idle keep-alive connections are closed after this

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if getattr(self.server, "verbose", False):
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    # -- body ------------------------------------------------------------
    def _read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        cl = self.headers.get("Content-Length")
        if not cl:
            return b""
        n = int(cl)
        if n < 0 or n > MAX_BODY:
            raise ValueError("bad Content-Length")
        return self.rfile.read(n)

    # -- main path -------------------------------------------------------
    def _dispatch(self):
        emu = self.server.emu
        started = time.time()
        method = self.command
        try:
            body = self._read_body()
        except ValueError as e:
            self.close_connection = True
            self._send(ApiError(400, "Bad request body: %s" % e).to_response("rpc"))
            return
        req = Request(self, method, self.path, body)
        control = req.path.startswith("/_emulator/")
        route = None
        resp = None
        faults = []
        mangle = None
        stall = 0
        oversize = None
        style = error_style(req.path)
        try:
            try:
                route, params = match_route(method, req.path)
                style = error_style(req.path, route)
            except ApiError as e:
                route, params = None, {}
                route_error = e
            else:
                route_error = None
            if not control:
                faults = emu.take_faults(method, req.path, req.query_string)
            for action in faults:
                if "latency_ms" in action:
                    time.sleep(float(action["latency_ms"]) / 1000.0)
                if "concurrent_change" in action and route is not None \
                        and route.resource is not None:
                    resource = route.resource(emu, params)
                    if resource and emu.resource_exists(resource):
                        emu.out_of_band_change(resource, action["concurrent_change"])
                        req.notes["concurrent_change"] = resource
                if "stall_ms" in action:
                    stall += float(action["stall_ms"]) / 1000.0
                if "oversize_bytes" in action:
                    oversize = int(action["oversize_bytes"])
                if "drop" in action:
                    mangle = "drop"
                if "reset_mid_body" in action:
                    mangle = "reset"
                if "truncate" in action:
                    mangle = "truncate"
                if "status" in action:
                    resp = fault_status_response(action, style, req)
            if mangle == "drop":
                self._finish_log(req, route, None, started, faults, auth_ok=None)
                self.close_connection = True
                return
            if resp is None:
                if not control and emu.config.get("latency_ms"):
                    time.sleep(float(emu.config["latency_ms"]) / 1000.0)
                if route_error is not None:
                    raise route_error
                self._authorize(emu, req, route)
                check_query_params(req, route)
                resp = route.handler(emu, req, params)
        except ApiError as e:
            resp = e.to_response(style, req)
        except Exception:  # pragma: no cover - surfaced as 500 and on stderr
            traceback.print_exc()
            resp = ApiError(500, "Internal error in the emulator.", "INTERNAL") \
                .to_response(style, req)
        if oversize and resp.json is not None and isinstance(resp.json, dict):
            resp = pad_response(resp, oversize)
        if stall:
            time.sleep(stall)
        if control:
            self._send(resp)
            return
        self._finish_log(req, route, resp.status, started, faults)
        self._send(resp, mangle)

    def _authorize(self, emu, req, route):
        header = self.headers.get("Authorization")
        if route.auth == "none":
            return
        if route.auth == "metadata":
            if (self.headers.get("Metadata-Flavor") or "") != "Google":
                raise ApiError(403, "Missing Metadata-Flavor:Google header.",
                               style="metadata")
            return
        ok, subject, why = emu.check_token(header)
        req.subject = subject
        req.notes["auth_valid"] = ok
        if route.auth == "storage":
            if ok or (not header and not emu.config.get("storage_require_auth")):
                return
            if header and not emu.config.get("require_auth", True):
                return
            raise ApiError(401, "Invalid Credentials" if header else
                           "Anonymous caller does not have storage.objects.get access.",
                           reason="authError" if header else "required",
                           headers=[("WWW-Authenticate",
                                     'Bearer realm="https://accounts.google.com/"')])
        if ok:
            return
        if why == "missing":
            msg = ("Request is missing required authentication credential. Expected "
                   "OAuth 2 access token, login cookie or other valid authentication "
                   "credential.")
        else:
            msg = ("Request had invalid authentication credentials. Expected OAuth 2 "
                   "access token, login cookie or other valid authentication credential.")
        raise ApiError(401, msg, "UNAUTHENTICATED",
                       details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "ACCESS_TOKEN_EXPIRED" if why == "expired"
                                 else "CREDENTIALS_MISSING" if why == "missing"
                                 else "ACCESS_TOKEN_TYPE_UNSUPPORTED",
                                 "domain": "googleapis.com"}],
                       headers=[("WWW-Authenticate",
                                 'Bearer realm="https://accounts.google.com/"')])

    def _send(self, resp, mangle=None):
        body = resp.body or b""
        if self.command == "HEAD":
            body = b""
        self.send_response(resp.status)
        extra_flavor = self.path.startswith("/computeMetadata/")
        for k, v in resp.headers:
            self.send_header(k, v)
        if extra_flavor:
            self.send_header("Metadata-Flavor", "Google")
        if resp.status in (204, 304) or resp.status < 200:
            self.end_headers()
            self.wfile.flush()
            return
        if mangle == "truncate":
            self.send_header("Content-Length", str(len(body) + max(16, len(body) // 2)))
        else:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if mangle == "reset":
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            time.sleep(0.05)
            try:
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           struct.pack("ii", 1, 0))
                self.connection.close()
            except OSError:
                pass
            self.close_connection = True
            return
        self.wfile.write(body)
        self.wfile.flush()
        if mangle == "truncate":
            self.close_connection = True

    def _finish_log(self, req, route, status, started, faults, auth_ok=None):
        emu = self.server.emu
        headers = {}
        for k, v in self.headers.items():
            lk = k.lower()
            headers[lk] = True if lk == "authorization" else v
        if "authorization" not in headers:
            headers["authorization"] = False
        entry = {
            "time": now_rfc3339(started),
            "duration_ms": round((time.time() - started) * 1000.0, 3),
            "method": req.method,
            "path": req.path,
            "query": {k: (v[-1] if len(v) == 1 else v) for k, v in req.query.items()},
            "headers": headers,
            "auth": bool(self.headers.get("Authorization")),
            "auth_valid": req.notes.get("auth_valid"),
            "api": route.api if route else None,
            "route": "%s %s" % (route.http_method, route.path_template) if route else None,
            "body": log_body(req),
            "status": status,
        }
        if faults:
            entry["faults"] = [sorted(a.keys()) for a in faults]
        entry.update({k: v for k, v in req.notes.items() if k != "auth_valid"})
        emu.record(entry)


def log_body(req):
    if not req.body:
        return None
    ctype = (req.headers.get("Content-Type") or "").lower()
    if "application/x-www-form-urlencoded" in ctype:
        form = urllib.parse.parse_qs(req.body.decode("utf-8", "replace"),
                                     keep_blank_values=True)
        return {k: ("<redacted>" if k in REDACT_FORM_FIELDS else v[-1])
                for k, v in form.items()}
    if "json" in ctype or req.body[:1] in (b"{", b"["):
        try:
            obj = json.loads(req.body.decode("utf-8"))
            if isinstance(obj, dict) and req.path.endswith("/token"):
                obj = {k: ("<redacted>" if k in REDACT_FORM_FIELDS else v)
                       for k, v in obj.items()}
            return obj
        except (ValueError, UnicodeDecodeError):
            pass
    try:
        text = req.body.decode("utf-8")
        return text if len(text) <= 4096 else {"bytes": len(req.body),
                                               "text_head": text[:4096]}
    except UnicodeDecodeError:
        return {"bytes": len(req.body)}


def fault_status_response(action, style, req):
    code = action["status"]
    headers = [(k, str(v)) for k, v in (action.get("headers") or {}).items()]
    if action.get("retry_after") is not None:
        headers.append(("Retry-After", str(action["retry_after"])))
    body = action.get("body")
    if body is not None:
        if isinstance(body, (dict, list)):
            return json_response(body, code, req, headers=headers)
        return text_response(str(body), code, headers=headers)
    if code == 429:
        err = ApiError(429, "Quota exceeded for quota metric 'Requests' and limit "
                            "'Requests per minute' of service.", "RESOURCE_EXHAUSTED",
                       reason="rateLimitExceeded",
                       details=[{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                 "reason": "RATE_LIMIT_EXCEEDED",
                                 "domain": "googleapis.com",
                                 "metadata": {"quota_metric": "emulator/requests",
                                              "quota_limit": "RequestsPerMinute"}}],
                       headers=headers)
    elif code == 503:
        err = ApiError(503, "The service is currently unavailable.", "UNAVAILABLE",
                       headers=headers)
    else:
        err = ApiError(code, "Injected fault (HTTP %d)." % code, headers=headers)
    return err.to_response(style, req)


def pad_response(resp, size):
    obj = dict(resp.json)
    obj["emulatorPadding"] = ""
    base = len(render_json(obj, False))
    if size <= base:
        return resp
    obj["emulatorPadding"] = "x" * (size - base)
    return Response(resp.status, render_json(obj, False), resp.headers, json_obj=obj)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, emu, verbose=False):
        self.emu = emu
        self.verbose = verbose
        super().__init__(addr, Handler)


# ---------------------------------------------------------------------------
# 8. main
# ---------------------------------------------------------------------------

def load_seed_file(path):
    if not path:
        return {}
    with open(path, "r", encoding="utf-8") as fh:
        return json.load(fh)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Local emulator of the Google APIs used by roam.")
    ap.add_argument("--seed", help="seed JSON file (see README.md)")
    ap.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port-file", help="write the chosen port to this file")
    ap.add_argument("--log", help="append one JSON line per request to this file")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)

    try:
        emu = Emulator(load_seed_file(args.seed), log_file=args.log)
    except (OSError, ValueError, ApiError) as e:
        sys.stderr.write("emulator: cannot load seed: %s\n" % e)
        return 2
    server = EmulatorServer((args.host, args.port), emu, verbose=args.verbose)
    port = server.server_address[1]
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.replace(tmp, args.port_file)

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print("listening on %s:%d" % (args.host, port), flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
