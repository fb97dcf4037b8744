#!/usr/bin/env bash
# Lint: banned functions (curl checksrc), clang-format check, clang-tidy.
#   hack/lint.sh [BUILD_DIR]     (BUILD_DIR holds compile_commands.json)
set -uo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
fail=0

files=$(git ls-files '*.c' '*.h' 2>/dev/null || find api controller test -name '*.[ch]')
banned='\b(sprintf|vsprintf|strcpy|strcat|strncat|gets|atoi|strtok)\s*\('
if grep -nE "$banned" $files; then
    echo "lint: banned function used (see above)" >&2
    fail=1
fi

if command -v clang-format >/dev/null; then
    if ! clang-format --dry-run -Werror $files 2>/tmp/lint-format.$$; then
        head -40 /tmp/lint-format.$$ >&2
        echo "lint: files need 'make format'" >&2
        fail=1
    fi
    rm -f /tmp/lint-format.$$
else
    echo "lint: clang-format not installed; format check skipped"
fi

if command -v clang-tidy >/dev/null && [ -f "$build/compile_commands.json" ]; then
    srcs=$(git ls-files 'api/*.c' 'controller/*.c' 2>/dev/null)
    if ! clang-tidy -p "$build" --quiet $srcs 2>/dev/null | tee /tmp/lint-tidy.$$ | grep -q "warning:"; then
        :
    else
        grep -E "warning:|error:" /tmp/lint-tidy.$$ | head -60 >&2
        echo "lint: clang-tidy reported problems" >&2
        fail=1
    fi
    rm -f /tmp/lint-tidy.$$
else
    echo "lint: clang-tidy or $build/compile_commands.json missing; analysis skipped"
fi

[ "$fail" -eq 0 ] && echo "lint: clean"
exit "$fail"
