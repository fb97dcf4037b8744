#!/usr/bin/env bash
# Runs the Node.js conformance test of the emulator (Google's official clients
# against test/emulator/emulator.py). Installs the pinned dependencies on first
# use. Skips (exit 0) when node or npm is not installed.
set -euo pipefail

src="${BASH_SOURCE[0]}"
case "$src" in
    */*) here="${src%/*}" ;;
    *) here=. ;;
esac
here="$(cd "$here" && pwd)"
dir="$here/conformance"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "skipped: node/npm not found"
    exit 0
fi

cd "$dir"
if [ ! -d node_modules ]; then
    if [ -f package-lock.json ]; then
        npm ci --no-audit --no-fund
    else
        npm install --no-audit --no-fund
    fi
fi

exec node --test
