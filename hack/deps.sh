#!/usr/bin/env bash
# Installs what roam's build and tests need on Debian (bookworm), as root.
#   hack/deps.sh                   install whatever is missing
#   hack/deps.sh --check-or-install  the same, quiet when nothing is missing
#   hack/deps.sh --check           only say what is missing (exit 1 if anything)
#   hack/deps.sh --bench [MODE]    also what `make bench` and `make valgrind` use
#   hack/deps.sh --fuzz [MODE]     also what `make fuzz` uses (clang)
set -euo pipefail

PKGS=(gcc make cmake pkg-config git python3 nodejs npm
      libcurl4-openssl-dev libjansson-dev libyaml-dev libssl-dev libuv1-dev
      libgit2-dev libhttp-parser-dev libcjose-dev libcmocka-dev
      openssl openssh-server)

case "${1:-}" in
--bench) PKGS+=(wrk time valgrind); shift ;;
--fuzz) PKGS+=(clang); shift ;;
esac
mode=${1:-install}
missing=()
for p in "${PKGS[@]}"; do
    # npm may come with a nodejs build that is not the Debian package.
    if [ "$p" = npm ] && command -v npm >/dev/null 2>&1; then continue; fi
    if [ "$p" = nodejs ] && command -v node >/dev/null 2>&1; then continue; fi
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    [ "$mode" = "--check-or-install" ] || echo "deps: everything is installed"
    exit 0
fi

if [ "$mode" = "--check" ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    exit 1
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run as root: apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
