#!/usr/bin/env bash
# `make run`: a guided tour of roam on manifests/examples/.
#
# 1. `roam validate` checks the example apps offline.
# 2. `roam plan` compares them with hack/demo/live.json, an export of live
#    IAM policies that has drifted from the declarations (a member added by
#    hand, bindings missing, a binding roam owned that is no longer declared,
#    per the ledger in hack/demo/state/), and prints what roam would change
#    and why, in text and in JSON.
# Nothing is written anywhere; nothing is left running.
set -euo pipefail

roam=${1:-build/roam}
cd "$(dirname "$0")/.."
bold=$(tput bold 2>/dev/null || true)
norm=$(tput sgr0 2>/dev/null || true)

step() { printf '\n%s== %s ==%s\n' "$bold" "$1" "$norm"; }
show() { printf '%s$ %s%s\n' "$bold" "$*" "$norm"; }

step "1. Check the example apps offline"
echo "Every document under manifests/examples/ is parsed and validated; problems would be"
echo "printed as file:line:col: field.path: message."
show roam validate manifests/examples
"$roam" validate manifests/examples

step "2. Plan against a live-state export with drift"
cat <<'TXT'
hack/demo/live.json holds the IAM policies as Google would return them. Someone added
user:intruder@acme.example as an invoker of payments-api by hand (that role is
authoritative there), some declared bindings are missing, and the ledger in
hack/demo/state/ says roam granted group:old-team@acme.example on hello, which the
hello app no longer declares. Bindings roam does not manage (roles/run.admin on web,
the conditional viewer on payments-api, auditConfigs) are left alone.
TXT
show roam plan --source manifests/examples --live-state hack/demo/live.json --state hack/demo/state
rc=0
"$roam" plan --source manifests/examples --live-state hack/demo/live.json \
    --state hack/demo/state --detailed-exitcode || rc=$?
echo "(exit code $rc: 2 means changes are pending)"

step "3. The same plan as JSON, for machines"
show roam plan ... --output json '| head -c 600'
"$roam" plan --source manifests/examples --live-state hack/demo/live.json \
    --state hack/demo/state --output json | head -c 600
echo " ..."

step "Done"
echo "Nothing was written. Next: 'make test' runs the whole suite; README.md explains the"
echo "documents, the semantics and every command."
