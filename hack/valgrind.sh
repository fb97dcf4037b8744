#!/usr/bin/env bash
# `make valgrind`: memcheck on a full `roam apply` (with faults injected) and
# on `roam serve` handling pushes, against the local emulator; every run must
# be free of errors and leaks.  See test/bench/valgrind.py.
#   hack/valgrind.sh [ROAM]
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 test/bench/valgrind.py "${1:-build/roam}"
