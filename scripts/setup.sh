#!/usr/bin/env bash
# Installs what kdlab needs on a Debian/Ubuntu host, idempotently: the lab's Debian packages (with
# apt-get when run as root, otherwise it prints the sudo line), then the npm dependencies.
# Usage: scripts/setup.sh [--no-npm]
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep in step with electron/lab/doctor/host-packages.ts (test/unit/host-packages.test.ts checks it).
PACKAGES=(
  qemu-system-x86 busybox-static kexec-tools makedumpfile crash gdb e2fsprogs cpio
  build-essential flex bison bc libelf-dev libssl-dev dwarves linux-source-6.1
  docker.io debootstrap chromium fonts-wqy-microhei
)

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${PACKAGES[@]}"; do
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
    [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
  done
else
  echo "kdlab setup: this is not a Debian/Ubuntu system (no dpkg-query); install the equivalents of: ${PACKAGES[*]}" >&2
fi

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -eq 0 ]]; then
    echo "kdlab setup: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
  else
    echo "kdlab setup: these Debian packages are missing: ${missing[*]}" >&2
    echo "Run:  sudo apt-get update && sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
    exit 1
  fi
else
  echo "kdlab setup: all ${#PACKAGES[@]} host packages are installed"
fi

if [[ "${1:-}" != "--no-npm" ]]; then
  if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    echo "kdlab setup: installing npm dependencies (npm ci)"
    npm ci --no-audit --no-fund
  else
    echo "kdlab setup: npm dependencies are up to date"
  fi
fi
