#!/usr/bin/env bash
# Runs the side-by-side benchmark (Benchmarks/README.md) on the shared real dumps, when they
# are beside the checkout, and on the committed sample. Extra arguments name more dumps.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! /usr/bin/python3 -c 'import kdumpfile' 2>/dev/null; then
  if [ "$(id -u)" -eq 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-libkdumpfile >/dev/null
  else
    echo "The benchmark compares against libkdumpfile: sudo apt-get install -y python3-libkdumpfile" >&2
    exit 1
  fi
fi
dumps=()
shared=../shared/dumps
if [ -d "$shared" ]; then
  dumps+=("$shared/linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31" "$shared/linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31"
          "$shared/linux-6.1-x86_64-qemu/vmcore.kdump-zlib")
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
  zstd -q -d "$shared/linux-6.1-x86_64-qemu-novmcoreinfo/vmcore.elf.zst" -o "$tmp/qemu-novmcoreinfo.elf"
  dumps+=("$tmp/qemu-novmcoreinfo.elf")
  zstd -q -d "$shared/linux-6.12-arm64-qemu/vmcore.elf.zst" -o "$tmp/arm64-6.12-qemu.elf"
  dumps+=("$tmp/arm64-6.12-qemu.elf")
else
  echo "(../shared/dumps is absent: only the committed sample is measured)"
fi
for f in Tests/Fixtures/linux-6.1-small/vmcore.*; do [ -f "$f" ] && dumps+=("$f"); done
python3 Benchmarks/bench.py "${dumps[@]}" "$@"
echo; echo "== symbols and types (anchors need SYMBOLS_VMLINUX='RELEASE=PATH …', Debian's -dbg vmlinux)"
vmlinux_args=()
for v in ${SYMBOLS_VMLINUX:-}; do vmlinux_args+=(--vmlinux "$v"); done
python3 Benchmarks/symbols_bench.py "${vmlinux_args[@]}" "${dumps[@]}" "$@"
echo; echo "== the kernel log"
python3 Benchmarks/dmesg_bench.py "${dumps[@]}" "$@"
echo; echo "== FreeBSD minidumps"
python3 Benchmarks/minidump_bench.py
echo; echo "== FreeBSD savecore and decrypt"
python3 Benchmarks/savecore_bench.py
echo; echo "== netdump over loopback"
python3 Benchmarks/netdump_bench.py
