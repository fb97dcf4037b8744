#!/usr/bin/env bash
# Golden tests (bgpd regress style).
#
#   hack/golden.sh check  oam  ROAM   compare outputs with the .out files
#   hack/golden.sh update oam  ROAM   regenerate them (review the diff!)
#   (the same with `plan`)
#
# oam:  test/golden/oam/NNN-name.yaml  -> `roam validate -v FILE`
#       recorded in NNN-name.out as stdout, stderr and the exit code.
# plan: test/golden/plan/NNN-name/ holds apps/ (documents), live.json (the
#       live-state export), optional state/ (ledger records), config.yaml
#       and args (extra flags, one line).  `roam plan` is run in text and
#       JSON; the results go to plan.out and plan.json.out.
# Commands run from the repository root so that paths in messages are stable.
set -euo pipefail

mode=${1:?check or update}
kind=${2:?oam or plan}
roam=$(realpath "${3:?path to roam}")
cd "$(dirname "$0")/.."

run() { # out-file command...
    local out=$1 rc=0
    shift
    "$@" >/tmp/golden.$$.stdout 2>/tmp/golden.$$.stderr || rc=$?
    {
        cat /tmp/golden.$$.stdout
        echo "--- stderr"
        cat /tmp/golden.$$.stderr
        echo "--- exit $rc"
    } >"$out"
    rm -f /tmp/golden.$$.stdout /tmp/golden.$$.stderr
    # A crash is never an expected result.
    if [ "$rc" -ge 128 ]; then
        echo "golden: '$*' crashed (exit $rc)" >&2
        return 1
    fi
}

compare() { # expected actual
    if [ "$mode" = update ]; then
        cp "$2" "$1"
        return 0
    fi
    if [ ! -f "$1" ]; then
        echo "golden: missing expected output $1 (run make golden)" >&2
        return 1
    fi
    if ! diff -u "$1" "$2"; then
        echo "golden: $1 differs" >&2
        return 1
    fi
}

fail=0 count=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ "$kind" = oam ]; then
    for f in test/golden/oam/*.yaml; do
        [ -e "$f" ] || continue
        count=$((count + 1))
        run "$tmp/out" "$roam" validate -v "$f" || fail=$((fail + 1))
        compare "${f%.yaml}.out" "$tmp/out" || fail=$((fail + 1))
    done
elif [ "$kind" = plan ]; then
    for d in test/golden/plan/*/; do
        [ -d "$d" ] || continue
        d=${d%/}
        count=$((count + 1))
        args=(--source "$d/apps" --live-state "$d/live.json" --state "$d/state")
        [ -f "$d/config.yaml" ] && args+=(--config "$d/config.yaml")
        if [ -f "$d/args" ]; then
            read -r -a extra <"$d/args"
            args+=("${extra[@]}")
        fi
        run "$tmp/text" "$roam" plan "${args[@]}" || fail=$((fail + 1))
        compare "$d/plan.out" "$tmp/text" || fail=$((fail + 1))
        run "$tmp/json" "$roam" plan --output json "${args[@]}" || fail=$((fail + 1))
        compare "$d/plan.json.out" "$tmp/json" || fail=$((fail + 1))
    done
else
    echo "golden: unknown kind '$kind'" >&2
    exit 2
fi

if [ "$count" -eq 0 ]; then
    echo "golden: no $kind cases found" >&2
    exit 1
fi
echo "golden $kind: $((count - fail > 0 ? count - fail : 0)) passed, $fail failed"
[ "$fail" -eq 0 ]
