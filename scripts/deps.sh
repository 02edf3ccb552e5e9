#!/usr/bin/env bash
# Installs the Debian packages ignis needs, only when some are missing.
# Run by `make demo`, `make test` and CI; safe to run again (a no-op when
# everything is present).  Needs root (or sudo) only when it must install.
set -euo pipefail

PKGS=(
  build-essential pkg-config
  libunwind-dev libdw-dev libelf-dev libdebuginfod-dev
  libprotobuf-c-dev protobuf-c-compiler
  libcurl4-openssl-dev libncurses-dev zlib1g-dev
  libjson-c-dev libmicrohttpd-dev libcmocka-dev
  libsqlite3-dev sqlite3 prometheus
  clang libclang-rt-14-dev
  libbpf-dev bpftool
  golang-go chromium tmux linux-perf procps time
  libjemalloc2 libtcmalloc-minimal4
)

missing=()
for p in "${PKGS[@]}"; do
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$st" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "deps: installing ${missing[*]}" >&2
SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
