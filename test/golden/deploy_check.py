#!/usr/bin/env python3
"""deploy_check.py - checks manifests/deploy/ and hack/deploy.sh.

    deploy_check.py REPO_ROOT

What is checked, and how:

1. Well-formedness.  JSON files are parsed with Python's json module.  YAML
   files are parsed with Perl's core CPAN::Meta::YAML (a YAML::Tiny subset
   parser: block mappings and sequences, quoted and plain scalars, block
   scalars, several documents; no flow collections other than {} and [],
   no anchors, no trailing comments on values; every scalar comes back as a
   string).  The manifests are written in that subset on purpose, so a
   parse failure here is a real error.  When Perl or the module is missing,
   a line-based structural check runs instead (no tabs, two-space
   indentation steps, every line a `key:`, `key: value`, `- item`, comment
   or block-scalar line) and the structural checks of step 2 are skipped,
   which the output says.
2. Content and consistency: the Cloud Run service and job (kinds, identity,
   probes, subcommands, reserved variables), the Pub/Sub push subscription
   (OIDC identity and audience equal to what the service verifies, retry and
   dead-letter bounds), the bucket notification (topic, payload format, a
   prefix that covers the source and not the ledger), the Asset feed, the
   Scheduler job (Run Admin API jobs.run with OAuth), every ROAM_*
   variable being one the code reads, and the gcloud commands hack/deploy.sh
   prints carrying the same values as the documented resource bodies.
3. role.yaml against the code: the permissions implied by the Google API
   calls in api/ and controller/ (the RULES table below: URL builders,
   custom methods, request methods) must equal includedPermissions: a call
   without its permission fails, and so does a permission no call needs.
   Any googleapis.com host or custom method (`:name`) the table does not
   know fails too, so a new API cannot slip past it.
4. The Dockerfile: two stages on bookworm, a Release build without tests,
   strip, a non-root user, the entrypoint, and a runtime package (and a
   build -dev package) for every library CMakeLists.txt links.
5. hack/deploy.sh: `bash -n`, shellcheck when installed, and a run in print
   mode (no network: PROJECT_NUMBER is given) whose commands must come in
   order and whose filled-in manifests must have no placeholder left.
6. When the Google Cloud SDK is installed, the manifests are also matched
   against the SDK's generated API message classes (Cloud Run v1 Service
   and Job, Pub/Sub, Cloud Scheduler, Storage Notification, Cloud Asset
   CreateFeedRequest, IAM Role): unknown field names, wrong scalar types and
   unknown enum values fail.  Without the SDK this step says it was skipped.

Prints one line per check and a closing `N passed, M failed`.
"""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
DEPLOY = os.path.join(ROOT, "manifests", "deploy")
PLACEHOLDERS = ["PROJECT_ID", "PROJECT_NUMBER", "REGION", "BUCKET", "IMAGE", "SERVICE_URL"]

passed = 0
failed = 0


def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok   {name}")
    else:
        failed += 1
        print(f"FAIL {name}{': ' + detail if detail else ''}")
    return ok


def note(msg):
    print(f"note {msg}")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


# ---------------------------------------------------------------------------
# 1. well-formedness

PERL_YAML = r"""
use strict; use warnings;
use CPAN::Meta::YAML; use JSON::PP;
local $/; my $text = <STDIN>;
my $docs = CPAN::Meta::YAML->read_string($text);
if (!$docs) { print STDERR CPAN::Meta::YAML->errstr, "\n"; exit 3; }
print JSON::PP->new->canonical->encode([@$docs]);
"""


def perl_yaml_available():
    if shutil.which("perl") is None:
        return False
    r = subprocess.run(["perl", "-MCPAN::Meta::YAML", "-MJSON::PP", "-e", "1"],
                       capture_output=True)
    return r.returncode == 0


def parse_yaml(text):
    """All documents of text, as JSON-like values (scalars are strings)."""
    r = subprocess.run(["perl", "-e", PERL_YAML], input=text.encode(), capture_output=True)
    if r.returncode != 0:
        raise ValueError(r.stderr.decode().strip() or "parse error")
    return json.loads(r.stdout)


LINE_RE = re.compile(r"^( *)(?:#.*|- .*|-|[A-Za-z0-9_./$@{}'\"-]+:(?: .*)?)$")


def structural_yaml_check(text):
    """Problems found by the line-based fallback check."""
    problems = []
    block = None  # indentation of a block scalar's key, while inside it
    for n, line in enumerate(text.splitlines(), 1):
        if "\t" in line:
            problems.append(f"line {n}: tab")
            continue
        if not line.strip() or line.strip() == "---":
            continue
        indent = len(line) - len(line.lstrip(" "))
        if block is not None:
            if indent > block:
                continue
            block = None
        if indent % 2:
            problems.append(f"line {n}: odd indentation")
        if not LINE_RE.match(line):
            problems.append(f"line {n}: not key: value, - item or comment")
        if re.search(r":\s*[>|][-+]?\s*$", line):
            block = indent
    return problems


def load_all():
    """{file name: parsed documents (list) or None}; checks well-formedness."""
    files = sorted(os.listdir(DEPLOY))
    parsed = {}
    have_perl = perl_yaml_available()
    if not have_perl:
        note("Perl's CPAN::Meta::YAML is not available: YAML gets the structural check only")
    for name in files:
        path = os.path.join(DEPLOY, name)
        text = read(path)
        if name.endswith(".json"):
            try:
                parsed[name] = [json.loads(text)]
                check(f"{name} is JSON", True)
            except ValueError as e:
                check(f"{name} is JSON", False, str(e))
                parsed[name] = None
        elif name.endswith((".yaml", ".yml")):
            check(f"{name} has no tabs", "\t" not in text)
            if have_perl:
                try:
                    parsed[name] = parse_yaml(text)
                    check(f"{name} is YAML ({len(parsed[name])} document(s))", True)
                except ValueError as e:
                    check(f"{name} is YAML", False, str(e))
                    parsed[name] = None
            else:
                problems = structural_yaml_check(text)
                check(f"{name} is structurally YAML", not problems, "; ".join(problems[:5]))
                parsed[name] = None
    return parsed


# ---------------------------------------------------------------------------
# helpers over the parsed documents


def dig(obj, *path, default=None):
    for p in path:
        if isinstance(obj, dict) and p in obj:
            obj = obj[p]
        elif isinstance(obj, list) and isinstance(p, int) and p < len(obj):
            obj = obj[p]
        else:
            return default
    return obj


def env_of(container):
    return {e.get("name"): e.get("value") for e in (container.get("env") or [])}


def code_sources():
    out = {}
    for pat in ("api/**/*.c", "api/**/*.h", "controller/**/*.c", "controller/**/*.h"):
        for f in glob.glob(os.path.join(ROOT, pat), recursive=True):
            text = read(f)
            # Comments say things; only code counts.
            out[os.path.relpath(f, ROOT)] = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    return out


SA_ROAM = "roam@PROJECT_ID.iam.gserviceaccount.com"
SA_PUSH = "roam-push@PROJECT_ID.iam.gserviceaccount.com"
SA_SCHED = "roam-scheduler@PROJECT_ID.iam.gserviceaccount.com"
TOPIC = "projects/PROJECT_ID/topics/roam-events"


# ---------------------------------------------------------------------------
# 2. content and consistency


def check_service(docs, code):
    if not check("service.yaml: one document", docs is not None and len(docs) == 1):
        return {}
    s = docs[0]
    check("service.yaml: serving.knative.dev/v1 Service",
          s.get("apiVersion") == "serving.knative.dev/v1" and s.get("kind") == "Service")
    ingress = dig(s, "metadata", "annotations", "run.googleapis.com/ingress")
    check("service.yaml: ingress restricted", ingress in ("internal",
                                                           "internal-and-cloud-load-balancing"),
          str(ingress))
    ann = dig(s, "spec", "template", "metadata", "annotations", default={})
    check("service.yaml: min instances 1", ann.get("autoscaling.knative.dev/minScale") == "1")
    check("service.yaml: CPU always allocated", ann.get("run.googleapis.com/cpu-throttling") == "false")
    spec = dig(s, "spec", "template", "spec", default={})
    check("service.yaml: runs as roam@", spec.get("serviceAccountName") == SA_ROAM)
    c = dig(spec, "containers", 0, default={})
    check("service.yaml: roam serve", (c.get("args") or [None])[0] == "serve")
    check("service.yaml: image placeholder", c.get("image") == "IMAGE")
    port = dig(c, "ports", 0, "containerPort")
    check("service.yaml: container port 8080 (Cloud Run sets PORT to it)", port == "8080")
    env = env_of(c)
    check("service.yaml: PORT is not set (reserved)", "PORT" not in env)
    for k in ("ROAM_SOURCE", "ROAM_STATE", "ROAM_PUSH_AUDIENCE", "ROAM_PUSH_SERVICE_ACCOUNT",
              "ROAM_LOG_FORMAT"):
        check(f"service.yaml: sets {k}", bool(env.get(k)))
    check("service.yaml: JSON logs", env.get("ROAM_LOG_FORMAT") == "json")
    check("service.yaml: push identity is roam-push", env.get("ROAM_PUSH_SERVICE_ACCOUNT") == SA_PUSH)
    check("service.yaml: startup probe GET /readyz",
          dig(c, "startupProbe", "httpGet", "path") == "/readyz")
    check("service.yaml: liveness probe GET /healthz",
          dig(c, "livenessProbe", "httpGet", "path") == "/healthz")
    try:
        budget = int(dig(c, "startupProbe", "periodSeconds")) * int(
            dig(c, "startupProbe", "failureThreshold"))
    except (TypeError, ValueError):
        budget = -1
    check("service.yaml: startup probe budget <= 240 s (Cloud Run maximum)", 0 < budget <= 240,
          str(budget))
    return env


def check_job(docs):
    if not check("job.yaml: one document", docs is not None and len(docs) == 1):
        return {}, None
    j = docs[0]
    check("job.yaml: run.googleapis.com/v1 Job",
          j.get("apiVersion") == "run.googleapis.com/v1" and j.get("kind") == "Job")
    ex = dig(j, "spec", "template", "spec", default={})
    try:
        tasks, par = int(ex.get("taskCount")), int(ex.get("parallelism", ex.get("taskCount")))
        ok = 1 <= tasks <= 10000 and 1 <= par <= tasks
    except (TypeError, ValueError):
        ok = False
    check("job.yaml: taskCount in 1..10000, parallelism <= taskCount", ok)
    task = dig(ex, "template", "spec", default={})
    check("job.yaml: runs as roam@", task.get("serviceAccountName") == SA_ROAM)
    c = dig(task, "containers", 0, default={})
    check("job.yaml: roam apply", (c.get("args") or [None])[0] == "apply")
    env = env_of(c)
    check("job.yaml: shard variables left to Cloud Run",
          not any(k.startswith("CLOUD_RUN_") for k in env) and "ROAM_SHARD" not in env)
    check("job.yaml: durable state in the bucket", str(env.get("ROAM_STATE", "")).startswith("gs://"))
    return env, dig(j, "metadata", "name")


def check_env_names(service_env, job_env, code):
    joined = "\n".join(code.values())
    for name in sorted(set(service_env) | set(job_env)):
        if name.startswith("ROAM_"):
            check(f"{name} is read by the code", f'"{name}"' in joined)


def check_pubsub(docs, service_env):
    if not check("pubsub.yaml: four documents", docs is not None and len(docs) == 4):
        return {}
    topics = [d["name"] for d in docs if "topic" not in d]
    subs = {d["name"].rsplit("/", 1)[-1]: d for d in docs if "topic" in d}
    check("pubsub.yaml: topics roam-events and roam-events-dead",
          sorted(topics) == sorted([TOPIC, TOPIC + "-dead"]))
    push = subs.get("roam-push", {})
    check("pubsub.yaml: roam-push reads roam-events", push.get("topic") == TOPIC)
    check("pubsub.yaml: pushes to SERVICE_URL/pubsub",
          dig(push, "pushConfig", "pushEndpoint") == "SERVICE_URL/pubsub")
    oidc = dig(push, "pushConfig", "oidcToken", default={})
    check("pubsub.yaml: OIDC token as roam-push", oidc.get("serviceAccountEmail") == SA_PUSH)
    check("pubsub.yaml: OIDC audience is what roam verifies (ROAM_PUSH_AUDIENCE)",
          oidc.get("audience") is not None and oidc.get("audience") == service_env.get(
              "ROAM_PUSH_AUDIENCE"), f"{oidc.get('audience')} vs {service_env.get('ROAM_PUSH_AUDIENCE')}")
    check("pubsub.yaml: OIDC identity is what roam verifies (ROAM_PUSH_SERVICE_ACCOUNT)",
          oidc.get("serviceAccountEmail") == service_env.get("ROAM_PUSH_SERVICE_ACCOUNT"))
    try:
        ack = int(push.get("ackDeadlineSeconds"))
        lo = int(str(dig(push, "retryPolicy", "minimumBackoff")).rstrip("s"))
        hi = int(str(dig(push, "retryPolicy", "maximumBackoff")).rstrip("s"))
        att = int(dig(push, "deadLetterPolicy", "maxDeliveryAttempts"))
    except (TypeError, ValueError):
        ack = lo = hi = att = -1
    check("pubsub.yaml: ackDeadlineSeconds in 10..600", 10 <= ack <= 600, str(ack))
    check("pubsub.yaml: retryPolicy 0 <= min <= max <= 600s", 0 <= lo <= hi <= 600)
    check("pubsub.yaml: maxDeliveryAttempts in 5..100", 5 <= att <= 100, str(att))
    check("pubsub.yaml: dead letters go to roam-events-dead",
          dig(push, "deadLetterPolicy", "deadLetterTopic") == TOPIC + "-dead")
    check("pubsub.yaml: dead letters are kept (pull subscription)",
          dig(subs, "roam-events-dead", "topic") == TOPIC + "-dead")
    return push


def check_notification(docs, service_env):
    n = docs[0] if docs else {}
    check("notification.json: topic is roam-events",
          n.get("topic") == "//pubsub.googleapis.com/" + TOPIC, str(n.get("topic")))
    check("notification.json: payload_format JSON_API_V1", n.get("payload_format") == "JSON_API_V1")
    valid = {"OBJECT_FINALIZE", "OBJECT_METADATA_UPDATE", "OBJECT_DELETE", "OBJECT_ARCHIVE"}
    ev = n.get("event_types") or []
    check("notification.json: event_types are Storage event types",
          bool(ev) and set(ev) <= valid and "OBJECT_FINALIZE" in ev and "OBJECT_DELETE" in ev)
    prefix = n.get("object_name_prefix", "")
    src = str(service_env.get("ROAM_SOURCE", ""))
    state = str(service_env.get("ROAM_STATE", ""))
    src_prefix = src.split("/", 3)[3] if src.count("/") >= 3 else ""
    state_prefix = state.split("/", 3)[3] if state.count("/") >= 3 else ""
    check("notification.json: prefix covers the source",
          prefix != "" and (src_prefix + "/").startswith(prefix), f"{prefix} vs {src}")
    check("notification.json: prefix leaves out the ledger (no self-triggering)",
          not (state_prefix + "/").startswith(prefix), f"{prefix} vs {state}")
    return n


ASSET_TYPES = ["run.googleapis.com/Service", "run.googleapis.com/Job",
               "iam.googleapis.com/ServiceAccount"]


def check_feed(docs):
    f = docs[0] if docs else {}
    check("asset-feed.json: feedId", bool(f.get("feedId")))
    check("asset-feed.json: asset types of services, jobs, service accounts",
          sorted(dig(f, "feed", "assetTypes", default=[])) == sorted(ASSET_TYPES))
    check("asset-feed.json: contentType IAM_POLICY", dig(f, "feed", "contentType") == "IAM_POLICY")
    check("asset-feed.json: publishes to roam-events",
          dig(f, "feed", "feedOutputConfig", "pubsubDestination", "topic") == TOPIC)
    return f


def check_scheduler(docs, job_name):
    if not check("scheduler.yaml: one document", docs is not None and len(docs) == 1):
        return {}
    s = docs[0]
    want = ("https://run.googleapis.com/v2/projects/PROJECT_ID/locations/REGION/jobs/"
            f"{job_name}:run")
    check("scheduler.yaml: calls jobs.run of the job in job.yaml",
          dig(s, "httpTarget", "uri") == want, str(dig(s, "httpTarget", "uri")))
    check("scheduler.yaml: POST", dig(s, "httpTarget", "httpMethod") == "POST")
    check("scheduler.yaml: OAuth token (a Google API), not OIDC",
          dig(s, "httpTarget", "oauthToken", "serviceAccountEmail") == SA_SCHED
          and dig(s, "httpTarget", "oidcToken") is None)
    check("scheduler.yaml: cloud-platform scope",
          dig(s, "httpTarget", "oauthToken", "scope")
          == "https://www.googleapis.com/auth/cloud-platform")
    check("scheduler.yaml: five-field cron", len(str(s.get("schedule", "")).split()) == 5)
    return s


# ---------------------------------------------------------------------------
# 3. permissions implied by the code
#
# (what, regex over the C sources without comments, permissions it needs)
RULES = [
    ("getIamPolicy custom method (Run services, jobs; IAM service accounts)", r'":getIamPolicy',
     ["run.services.getIamPolicy", "run.jobs.getIamPolicy", "iam.serviceAccounts.getIamPolicy"]),
    ("setIamPolicy custom method", r'":setIamPolicy',
     ["run.services.setIamPolicy", "run.jobs.setIamPolicy", "iam.serviceAccounts.setIamPolicy"]),
    ("services.get / jobs.get (gres_get_url)", r"\bgres_get_url\s*\(",
     ["run.services.get", "run.jobs.get"]),
    ("services.list / jobs.list (gres_list_url)", r"\bgres_list_url\s*\(",
     ["run.services.list", "run.jobs.list"]),
    ("services.patch of template.serviceAccount", r"updateMask=template\.serviceAccount",
     ["run.services.update", "iam.serviceAccounts.actAs"]),
    ("jobs.patch of template.template.serviceAccount",
     r"updateMask=template\.template\.serviceAccount",
     ["run.jobs.update", "iam.serviceAccounts.actAs"]),
    ("serviceAccounts.get (gres_service_account_url)", r"\bgres_service_account_url\s*\(",
     ["iam.serviceAccounts.get"]),
    ("objects.list (gcs_list_url)", r"\bgcs_list_url\s*\(", ["storage.objects.list"]),
    ("objects.get alt=media (gcs_media_url)", r"\bgcs_media_url\s*\(", ["storage.objects.get"]),
    ("objects.get metadata", r'gcp_req_new\(\s*"storage"\s*,\s*"GET"\s*,\s*[^,]*gcs_object_url',
     ["storage.objects.get"]),
    ("objects.insert (gcs_upload_url); replacing an object also needs delete",
     r"\bgcs_upload_url\s*\(", ["storage.objects.create", "storage.objects.delete"]),
    ("objects.delete", r'gcp_req_new\(\s*"storage"\s*,\s*"DELETE"', ["storage.objects.delete"]),
    ("jobs.run custom method", r'":run"|/jobs/[^"]*:run"', ["run.jobs.run"]),
]

# Custom methods (`":name`) the rules above account for; another one fails.
KNOWN_METHODS = {"getIamPolicy", "setIamPolicy", "run", "testIamPermissions"}
# Google hosts the rules account for (or that need no permission).
KNOWN_HOSTS = {
    "run.googleapis.com", "iam.googleapis.com", "storage.googleapis.com",
    "oauth2.googleapis.com",   # token endpoint: no IAM permission
    "www.googleapis.com",      # OAuth scopes and the OIDC certificates: no IAM permission
    "accounts.google.com",     # ID token issuer
}


def role_permissions_by_lines(text):
    """includedPermissions from role.yaml without a YAML parser."""
    perms, inside = [], False
    for line in text.splitlines():
        if re.match(r"^includedPermissions:\s*$", line):
            inside = True
            continue
        if inside:
            m = re.match(r"^\s+-\s+([A-Za-z0-9_.]+)\s*$", line)
            if m:
                perms.append(m.group(1))
            elif line.strip() and not line.lstrip().startswith("#") and not line.startswith(" "):
                inside = False
    return perms


def check_role(docs, code):
    text = read(os.path.join(DEPLOY, "role.yaml"))
    perms = role_permissions_by_lines(text)
    if docs is not None:
        r = docs[0]
        check("role.yaml: title, description, stage",
              bool(r.get("title")) and bool(r.get("description"))
              and r.get("stage") in ("ALPHA", "BETA", "GA", "DEPRECATED", "DISABLED", "EAP"))
        check("role.yaml: the YAML parse and the line scan agree",
              r.get("includedPermissions") == perms)
    check("role.yaml: no permission listed twice", len(perms) == len(set(perms)))
    joined = "\n".join(code.values())
    required = {}
    for what, rx, needs in RULES:
        where = sorted(f for f, t in code.items() if re.search(rx, t))
        if where:
            note(f"code uses {what} ({', '.join(where[:3])}) -> {', '.join(needs)}")
            for p in needs:
                required.setdefault(p, what)
    missing = sorted(set(required) - set(perms))
    extra = sorted(set(perms) - set(required))
    check("role.yaml: has every permission the code's API calls need", not missing,
          ", ".join(f"{p} (for {required[p]})" for p in missing))
    check("role.yaml: has no permission that no call needs (least privilege)", not extra,
          ", ".join(extra))
    methods = set()
    for t in code.values():
        for lit in re.findall(r'"((?:[^"\\\n]|\\.)*)"', t):
            m = re.search(r":([a-z][A-Za-z]+)(?:\?.*)?$", lit)
            if m and (lit.startswith(":") or "/" in lit[:m.start()]):
                methods.add(m.group(1))
    check("code: every custom method is in the permission table",
          methods <= KNOWN_METHODS, ", ".join(sorted(methods - KNOWN_METHODS)))
    hosts = set(re.findall(r"https?://([a-z0-9.-]+\.google(?:apis)?\.com)", joined))
    check("code: every Google host is in the permission table", hosts <= KNOWN_HOSTS,
          ", ".join(sorted(hosts - KNOWN_HOSTS)))


# ---------------------------------------------------------------------------
# 4. Dockerfile

# pkg-config module (or library) in CMakeLists.txt -> (runtime package, build package)
LIBS = {
    "jansson": ("libjansson4", "libjansson-dev"),
    "yaml-0.1": ("libyaml-0-2", "libyaml-dev"),
    "libcurl": ("libcurl4", "libcurl4-openssl-dev"),
    "libuv": ("libuv1", "libuv1-dev"),
    "openssl": ("libssl3", "libssl-dev"),
    "libgit2": ("libgit2-1.5", "libgit2-dev"),
    "libssh2": ("libssh2-1", "libssh2-1-dev"),
    "cjose": ("libcjose0", "libcjose-dev"),
    "http_parser": ("libhttp-parser2.9", "libhttp-parser-dev"),
}


def check_dockerfile():
    text = read(os.path.join(DEPLOY, "Dockerfile"))
    stages = re.split(r"(?m)^FROM ", text)[1:]
    check("Dockerfile: build stage on debian:bookworm, runtime on debian:bookworm-slim",
          len(stages) == 2 and stages[0].startswith("debian:bookworm AS build")
          and stages[1].startswith("debian:bookworm-slim"))
    if len(stages) != 2:
        return
    build, runtime = stages
    check("Dockerfile: Release build without tests",
          "-DCMAKE_BUILD_TYPE=Release" in build and "-DBUILD_TESTING=OFF" in build)
    check("Dockerfile: strips the binary", re.search(r"\bstrip\b", build) is not None)
    users = re.findall(r"(?m)^USER\s+(\S+)", runtime)
    check("Dockerfile: runs as a non-root user",
          len(users) == 1 and users[0].split(":")[0] not in ("0", "root"))
    check("Dockerfile: ENTRYPOINT roam",
          re.search(r'(?m)^ENTRYPOINT \["/usr/local/bin/roam"\]', runtime) is not None)
    check("Dockerfile: runtime stage has no compiler or -dev package",
          re.search(r"\b(gcc|cmake|[a-z0-9.+-]+-dev)\b", runtime.split("COPY")[0]) is None)
    check("Dockerfile: CA certificates", "ca-certificates" in runtime)
    cm = read(os.path.join(ROOT, "CMakeLists.txt"))
    mods = set(re.findall(r"pkg_check_modules\(\w+\s+REQUIRED\s+IMPORTED_TARGET\s+([\w.+-]+)\)", cm))
    mods |= set(re.findall(r"find_library\(\w+\s+([\w.+-]+)", cm))
    unknown = sorted(mods - set(LIBS))
    check("Dockerfile: every library CMakeLists.txt links is in the package table", not unknown,
          ", ".join(unknown))
    for m in sorted(mods & set(LIBS)):
        rt, dev = LIBS[m]
        check(f"Dockerfile: {m}: {dev} to build, {rt} to run",
              re.search(rf"\b{re.escape(dev)}\b", build) is not None
              and re.search(rf"(?<![\w.-]){re.escape(rt)}(?![\w.-])", runtime) is not None)


# ---------------------------------------------------------------------------
# 5. hack/deploy.sh


def check_deploy_sh(parsed, push, notif, feed, sched):
    script = os.path.join(ROOT, "hack", "deploy.sh")
    r = subprocess.run(["bash", "-n", script], capture_output=True, text=True)
    check("deploy.sh: bash -n", r.returncode == 0, r.stderr.strip())
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", script], capture_output=True, text=True)
        check("deploy.sh: shellcheck", r.returncode == 0, r.stdout.strip()[:500])
    else:
        note("shellcheck not installed: skipped")
    text = read(script)
    # Every placeholder the manifests use is filled in by render().
    used = set()
    for name in os.listdir(DEPLOY):
        if name.endswith((".yaml", ".json")) and name != "cloudbuild.yaml":
            body = "\n".join(l for l in read(os.path.join(DEPLOY, name)).splitlines()
                             if not l.lstrip().startswith("#"))
            used |= {p for p in PLACEHOLDERS if p in body}
    filled = set(re.findall(r'-e "s\|([A-Z_]+)\|', text))
    check("deploy.sh: fills in every placeholder the manifests use", used <= filled,
          ", ".join(sorted(used - filled)))

    with tempfile.TemporaryDirectory() as out:
        env = dict(os.environ, PROJECT_ID="acme-platform", PROJECT_NUMBER="123456789012",
                   REGION="europe-west1", OUT=out)
        env.pop("SERVICE_URL", None)
        env.pop("BUCKET", None)
        env.pop("IMAGE", None)
        r = subprocess.run(["bash", script], capture_output=True, text=True, env=env, timeout=120)
        if not check("deploy.sh: print mode runs", r.returncode == 0, r.stderr.strip()[:500]):
            return
        lines = [l for l in r.stdout.splitlines() if l.startswith("gcloud ")]
        order = [
            ("enable the APIs", r"^gcloud services enable .*run\.googleapis\.com"),
            ("create roam's service account", r"^gcloud iam service-accounts create roam "),
            ("create the custom role from role.yaml", r"^gcloud iam roles create roamController .*--file \S+/role\.yaml"),
            ("bind it at project level", r"^gcloud projects add-iam-policy-binding acme-platform .*serviceAccount:roam@acme-platform\.iam\.gserviceaccount\.com .*--role projects/acme-platform/roles/roamController"),
            ("create the bucket", r"^gcloud storage buckets create gs://acme-platform-roam "),
            ("deploy the service", r"^gcloud run services replace \S+/service\.yaml"),
            ("create the topic", r"^gcloud pubsub topics create roam-events "),
            ("create the push subscription with OIDC", r"^gcloud pubsub subscriptions create roam-push .*--push-auth-service-account roam-push@"),
            ("create the bucket notification", r"^gcloud storage buckets notifications create gs://acme-platform-roam "),
            ("create the asset feed", r"^gcloud asset feeds create roam-iam "),
            ("deploy the job", r"^gcloud run jobs replace \S+/job\.yaml"),
            ("create the scheduler job", r"^gcloud scheduler jobs create http roam-apply "),
        ]
        pos = -1
        for what, rx in order:
            idx = next((i for i, l in enumerate(lines) if re.search(rx, l)), None)
            ok = idx is not None and idx > pos
            check(f"deploy.sh: {what}{' (in order)' if ok else ''}", ok,
                  "missing" if idx is None else "out of order")
            if idx is not None:
                pos = max(pos, idx)

        def flag(prefix, name):
            l = next((l for l in lines if l.startswith(prefix)), "")
            m = re.search(rf"(?:^| )--{name} ('[^']*'|\S+)", l)
            return m.group(1).strip("'") if m else None

        url = "https://roam-123456789012.europe-west1.run.app"
        sub = "gcloud pubsub subscriptions create roam-push"
        if push:
            check("deploy.sh: subscription flags match pubsub.yaml",
                  flag(sub, "push-endpoint") == push["pushConfig"]["pushEndpoint"].replace("SERVICE_URL", url)
                  and flag(sub, "push-auth-token-audience") == push["pushConfig"]["oidcToken"]["audience"].replace("SERVICE_URL", url)
                  and flag(sub, "ack-deadline") == push["ackDeadlineSeconds"]
                  and flag(sub, "min-retry-delay") == push["retryPolicy"]["minimumBackoff"]
                  and flag(sub, "max-retry-delay") == push["retryPolicy"]["maximumBackoff"]
                  and flag(sub, "max-delivery-attempts") == push["deadLetterPolicy"]["maxDeliveryAttempts"]
                  and flag(sub, "dead-letter-topic") == push["deadLetterPolicy"]["deadLetterTopic"].rsplit("/", 1)[-1])
        if notif:
            nc = "gcloud storage buckets notifications create"
            check("deploy.sh: notification flags match notification.json",
                  flag(nc, "event-types") == ",".join(notif["event_types"])
                  and flag(nc, "object-prefix") == notif["object_name_prefix"]
                  and flag(nc, "topic") == notif["topic"].replace("//pubsub.googleapis.com/", "").replace("PROJECT_ID", "acme-platform")
                  and flag(nc, "payload-format") == "json")
        if feed:
            fc = "gcloud asset feeds create"
            check("deploy.sh: feed flags match asset-feed.json",
                  lines and sorted((flag(fc, "asset-types") or "").split(",")) == sorted(feed["feed"]["assetTypes"])
                  and flag(fc, "content-type") == "iam-policy"
                  and flag(fc, "pubsub-topic") == feed["feed"]["feedOutputConfig"]["pubsubDestination"]["topic"].replace("PROJECT_ID", "acme-platform"))
        if sched:
            sc = "gcloud scheduler jobs create http"
            check("deploy.sh: scheduler flags match scheduler.yaml",
                  flag(sc, "schedule") == sched["schedule"]
                  and flag(sc, "uri") == sched["httpTarget"]["uri"].replace("PROJECT_ID", "acme-platform").replace("REGION", "europe-west1")
                  and flag(sc, "oauth-service-account-email") == sched["httpTarget"]["oauthToken"]["serviceAccountEmail"].replace("PROJECT_ID", "acme-platform")
                  and flag(sc, "oauth-token-scope") == sched["httpTarget"]["oauthToken"]["scope"]
                  and flag(sc, "time-zone") == sched["timeZone"])

        rendered = sorted(os.listdir(out))
        left = []
        for name in rendered:
            body = "\n".join(l for l in read(os.path.join(out, name)).splitlines()
                             if not l.lstrip().startswith("#"))
            left += [f"{name}: {p}" for p in PLACEHOLDERS if re.search(rf"\b{p}\b", body)]
            if name.endswith(".json"):
                try:
                    json.loads(body)
                except ValueError as e:
                    left.append(f"{name}: {e}")
            elif perl_yaml_available():
                try:
                    parse_yaml(read(os.path.join(out, name)))
                except ValueError as e:
                    left.append(f"{name}: {e}")
        check("deploy.sh: filled-in manifests parse, no placeholder left",
              len(rendered) >= 7 and not left, "; ".join(left[:5]))
        svc = os.path.join(out, "service.yaml")
        if os.path.exists(svc):
            check("deploy.sh: ROAM_PUSH_AUDIENCE is the deterministic service URL",
                  f"value: {url}\n" in read(svc))


# ---------------------------------------------------------------------------
# 6. the Cloud SDK's API messages (optional)

SDK_CHECK = r"""
import sys, json
lib = sys.argv[1]; d = sys.argv[2]
sys.path.insert(0, lib); sys.path.insert(0, lib + '/third_party')
from ruamel.yaml import YAML
from apitools.base.protorpclite import messages as M
from googlecloudsdk.generated_clients.apis.run.v1 import run_v1_messages as run
from googlecloudsdk.generated_clients.apis.pubsub.v1 import pubsub_v1_messages as ps
from googlecloudsdk.generated_clients.apis.cloudscheduler.v1 import cloudscheduler_v1_messages as cs
from googlecloudsdk.generated_clients.apis.storage.v1 import storage_v1_messages as st
from googlecloudsdk.generated_clients.apis.cloudasset.v1 import cloudasset_v1_messages as ca
from googlecloudsdk.generated_clients.apis.iam.v1 import iam_v1_messages as iam
Y = YAML(typ='safe', pure=True)
probs = []
def walk(cls, d, path):
    if not isinstance(d, dict):
        probs.append(path + ': expected an object'); return
    fields = {f.name: f for f in cls.all_fields()}
    for k, v in d.items():
        f = fields.get(k)
        if f is None:
            probs.append('%s.%s: unknown field of %s' % (path, k, cls.__name__)); continue
        if f.repeated and not isinstance(v, list):
            probs.append('%s.%s: expected a list' % (path, k)); continue
        for i, x in enumerate(v if f.repeated else [v]):
            p = '%s.%s' % (path, k) + ('[%d]' % i if f.repeated else '')
            if isinstance(f, M.MessageField):
                mt = f.message_type
                names = {g.name for g in mt.all_fields()} if hasattr(mt, 'all_fields') else set()
                if 'additionalProperties' in names:
                    if not isinstance(x, dict) or not all(isinstance(y, str) for y in x.values()):
                        probs.append(p + ': expected a map of strings')
                elif names:
                    walk(mt, x, p)
            elif isinstance(f, M.IntegerField):
                if isinstance(x, bool) or not (isinstance(x, int) or (isinstance(x, str) and x.isdigit())):
                    probs.append('%s: not an integer: %r' % (p, x))
            elif isinstance(f, M.BooleanField):
                if not isinstance(x, bool): probs.append(p + ': not a boolean')
            elif isinstance(f, M.EnumField):
                if x not in [e.name for e in f.type]: probs.append('%s: unknown value %r' % (p, x))
            elif not isinstance(x, str):
                probs.append('%s: not a string: %r' % (p, x))
walk(run.Service, Y.load(open(d + '/service.yaml')), 'service.yaml')
walk(run.Job, Y.load(open(d + '/job.yaml')), 'job.yaml')
for i, doc in enumerate(Y.load_all(open(d + '/pubsub.yaml'))):
    walk(ps.Subscription if 'topic' in doc else ps.Topic, doc, 'pubsub.yaml[%d]' % i)
walk(cs.Job, Y.load(open(d + '/scheduler.yaml')), 'scheduler.yaml')
walk(st.Notification, json.load(open(d + '/notification.json')), 'notification.json')
walk(ca.CreateFeedRequest, json.load(open(d + '/asset-feed.json')), 'asset-feed.json')
walk(iam.Role, Y.load(open(d + '/role.yaml')), 'role.yaml')
print(json.dumps(probs))
"""


def sdk_root():
    g = shutil.which("gcloud")
    if g is None:
        return None
    root = os.path.dirname(os.path.dirname(os.path.realpath(g)))
    return root if os.path.isdir(os.path.join(root, "lib", "googlecloudsdk")) else None


def check_sdk_schemas():
    root = sdk_root()
    if root is None:
        note("Google Cloud SDK not installed: API message check skipped")
        return
    py = os.path.join(root, "platform", "bundledpythonunix", "bin", "python3")
    if not os.path.exists(py):
        py = sys.executable
    try:
        r = subprocess.run([py, "-c", SDK_CHECK, os.path.join(root, "lib"), DEPLOY],
                           capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        note("Google Cloud SDK check timed out: skipped")
        return
    if r.returncode != 0:
        # An SDK whose layout differs is not the manifests' fault.
        note("Google Cloud SDK modules not usable here: API message check skipped (" +
             (r.stderr.strip().splitlines() or ["?"])[-1] + ")")
        return
    probs = json.loads(r.stdout)
    check("manifests match the Cloud SDK's API messages", not probs, "; ".join(probs[:8]))


def main():
    if not os.path.isdir(DEPLOY):
        check("manifests/deploy exists", False)
    else:
        parsed = load_all()
        code = code_sources()
        get = lambda n: parsed.get(n)
        service_env = check_service(get("service.yaml"), code) if get("service.yaml") else {}
        job_env, job_name = check_job(get("job.yaml")) if get("job.yaml") else ({}, None)
        check_env_names(service_env, job_env, code)
        push = check_pubsub(get("pubsub.yaml"), service_env) if get("pubsub.yaml") else {}
        notif = check_notification(get("notification.json"), service_env) if get("notification.json") else {}
        feed = check_feed(get("asset-feed.json")) if get("asset-feed.json") else {}
        sched = check_scheduler(get("scheduler.yaml"), job_name) if get("scheduler.yaml") else {}
        check_role(get("role.yaml"), code)
        check_dockerfile()
        check_deploy_sh(parsed, push, notif, feed, sched)
        check_sdk_schemas()
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
