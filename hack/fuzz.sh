#!/usr/bin/env bash
# Builds the libFuzzer targets (test/fuzz/fuzz_*.c) with clang, ASan and
# UBSan in build-fuzz/ and runs each for a while.
#
#   hack/fuzz.sh [TARGET...]      default: every target (oam iam_policy ...)
#
#   FUZZ_SECONDS=60   time per target
#   FUZZ_BUILD=build-fuzz
#   FUZZ_JOBS=1       targets run at once (each is one process)
#   FUZZ_NICE=10      niceness of the fuzzers
#
# New inputs go to $FUZZ_BUILD/corpus/TARGET (the committed seeds in
# test/fuzz/corpus/TARGET are read, never written); crashes, leaks and
# timeouts go to $FUZZ_BUILD/artifacts/TARGET/.  Copy every crash input
# into test/fuzz/corpus/TARGET/ once it is fixed, so that the replay in
# `make test` keeps it fixed.  Exit status 1 when any target found something.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
SECONDS_PER=${FUZZ_SECONDS:-60}
BUILD=${FUZZ_BUILD:-build-fuzz}
JOBS=${FUZZ_JOBS:-1}
NICE=${FUZZ_NICE:-10}
ALL=(oam iam_policy gerr gcs_list push http_request)

if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang not found (apt-get install clang)" >&2
    exit 1
fi

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    for t in "${ALL[@]}"; do
        [ -f "test/fuzz/fuzz_$t.c" ] && targets+=("$t")
    done
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    CC=clang cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        -DBUILD_FUZZERS=ON -DSANITIZE=address,undefined >/dev/null
fi
cmake --build "$BUILD" -j"${JOBS_BUILD:-2}" --target "${targets[@]/#/fuzz_}"

# The dictionary of a target: TARGET.dict, else the part before the first _.
dict_of() {
    local t=$1
    if [ -f "test/fuzz/$t.dict" ]; then echo "test/fuzz/$t.dict"
    elif [ -f "test/fuzz/${t%%_*}.dict" ]; then echo "test/fuzz/${t%%_*}.dict"
    fi
}

run_one() {
    local t=$1 dict work art log
    dict=$(dict_of "$t")
    work="$BUILD/corpus/$t"
    art="$BUILD/artifacts/$t"
    log="$BUILD/fuzz-$t.log"
    mkdir -p "$work" "$art"
    ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    nice -n "$NICE" "$BUILD/test/fuzz/fuzz_$t" \
        -max_total_time="$SECONDS_PER" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$art/" \
        ${dict:+-dict="$dict"} "$work" "test/fuzz/corpus/$t" >"$log" 2>&1
}

status=0
pids=()
names=()
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${SECONDS_PER}s (log $BUILD/fuzz-$t.log)"
    run_one "$t" &
    pids+=($!)
    names+=("$t")
    if [ ${#pids[@]} -ge "$JOBS" ]; then
        if ! wait "${pids[0]}"; then status=1; echo "fuzz: ${names[0]} FOUND SOMETHING"; fi
        pids=("${pids[@]:1}")
        names=("${names[@]:1}")
    fi
done
for i in "${!pids[@]}"; do
    if ! wait "${pids[$i]}"; then status=1; echo "fuzz: ${names[$i]} FOUND SOMETHING"; fi
done

for t in "${targets[@]}"; do
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$BUILD/fuzz-$t.log" | grep -o '[0-9]*$' || true)
    found=$(find "$BUILD/artifacts/$t" -type f | wc -l)
    printf 'fuzz: %-13s %10s runs  %s corpus files  %s artifacts\n' "$t" "${execs:-?}" \
        "$(find "$BUILD/corpus/$t" -type f | wc -l)" "$found"
    [ "$found" -eq 0 ] || status=1
done
if [ $status -ne 0 ]; then
    echo "fuzz: artifacts are in $BUILD/artifacts/; fix, then copy each into test/fuzz/corpus/TARGET/" >&2
fi
exit $status
