#!/usr/bin/env bash
# Rebuilds probe.elf from probe.S with binutils (the committed probe.elf is what kdlab ships;
# test/unit/kvm-probe-image.test.ts checks that it still matches this source).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/probe.elf}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
as --32 -o "$tmp/probe.o" "$here/probe.S"
ld -m elf_i386 -Ttext 0x100000 --build-id=none -o "$tmp/probe.elf" "$tmp/probe.o"
strip "$tmp/probe.elf"
mv "$tmp/probe.elf" "$out"
