#!/usr/bin/env bash
# `make run`: a guided tour of roam on manifests/examples/, against the local
# emulator of Google's Cloud Run and IAM APIs (test/emulator/emulator.py).
#
# 1. `roam validate` checks the example apps offline.
# 2. The emulator starts on 127.0.0.1 and a free port, seeded from
#    hack/demo/live.json: IAM policies that have drifted from the
#    declarations (a member added by hand, bindings missing, a binding roam
#    owned that is no longer declared, per the ledger in hack/demo/state/).
# 3. `roam plan` shows what would change and why; `roam apply` writes it;
#    `roam plan --detailed-exitcode` proves nothing is left to change.
# The emulator is stopped at the end, whatever happens; nothing is left
# running, and the ledger is written to a temporary directory.
set -euo pipefail

roam=$(realpath "${1:-build/roam}")
cd "$(dirname "$0")/.."
bold=$(tput bold 2>/dev/null || true)
norm=$(tput sgr0 2>/dev/null || true)
work=$(mktemp -d)
emu_pid=

cleanup() {
    if [ -n "$emu_pid" ] && kill -0 "$emu_pid" 2>/dev/null; then
        kill "$emu_pid" 2>/dev/null || true
        wait "$emu_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

step() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$norm"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$norm"; }

step "1. Check the example apps offline"
echo "Every document under manifests/examples/ is parsed and validated; problems would be"
echo "printed as file:line:col: field.path: message."
show roam validate manifests/examples
"$roam" validate manifests/examples

step "2. Start a local emulator of the Cloud Run and IAM APIs"
python3 hack/demo/seed.py hack/demo/live.json \
    projects/acme-payments/locations/europe-west1/services/payments-api=payments-api@acme-payments.iam.gserviceaccount.com \
    projects/acme-shop/locations/europe-west1/services/web=web@acme-shop.iam.gserviceaccount.com \
    projects/acme-data/locations/us-central1/jobs/ledger-export=ledger-export@acme-data.iam.gserviceaccount.com \
    >"$work/seed.json"
python3 test/emulator/emulator.py --seed "$work/seed.json" --port 0 --port-file "$work/port" \
    >"$work/emulator.out" 2>&1 &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/port" ] && break; sleep 0.05; done
[ -s "$work/port" ] || { echo "the emulator did not start:"; cat "$work/emulator.out"; exit 1; }
port=$(cat "$work/port")
export ROAM_RUN_ENDPOINT="http://127.0.0.1:$port" ROAM_IAM_ENDPOINT="http://127.0.0.1:$port"
export GCE_METADATA_HOST="127.0.0.1:$port" # credentials come from its metadata server
unset GOOGLE_APPLICATION_CREDENTIALS
export CLOUDSDK_CONFIG="$work/no-gcloud"
cp -r hack/demo/state "$work/state"
echo "Listening on 127.0.0.1:$port with 9 resources. Their IAM has drifted:"
cat <<'TXT'
 - someone added user:intruder@acme.example as an invoker of payments-api by hand
   (that role is authoritative there), and a deleted user is still listed;
 - several declared bindings are missing;
 - the ledger says roam granted group:old-team@acme.example on hello, which the hello
   app no longer declares;
 - bindings roam does not manage (roles/run.admin on web, a conditional viewer on
   payments-api, auditConfigs) must survive untouched.
TXT

step "3. What would roam change, and why?"
show roam plan --source manifests/examples --state STATE
"$roam" plan --source manifests/examples --state "$work/state"

step "4. Apply it"
show roam apply --source manifests/examples --state STATE
"$roam" apply --source manifests/examples --state "$work/state"

step "5. Nothing is left to change"
show roam plan --source manifests/examples --state STATE --detailed-exitcode
rc=0
"$roam" plan --source manifests/examples --state "$work/state" --detailed-exitcode >"$work/plan2" || rc=$?
tail -n 1 "$work/plan2"
if [ "$rc" -ne 0 ]; then
    echo "unexpected: exit code $rc (0 means converged)"
    cat "$work/plan2"
    exit 1
fi
echo "(exit code 0: live IAM matches the declarations)"
echo
echo "Requests the emulator saw:"
python3 - "$port" <<'PY'
import collections, json, sys, urllib.request
log = json.load(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/_emulator/log"))
c = collections.Counter(f'{e["method"]} {e["path"].rsplit(":", 1)[1] if ":" in e["path"].rsplit("/", 1)[-1] else "get"}' for e in log if not e["path"].startswith("/computeMetadata"))
for k, v in sorted(c.items()):
    print(f"  {v:3d}  {k}")
PY
echo "The ledger (what roam owns) is in one file per app; in production it lives in a"
echo "bucket or a persistent directory given with --state."

step "Done"
echo "The emulator has been stopped. 'make test' runs the whole suite; README.md explains"
echo "the documents, the semantics and every command."
