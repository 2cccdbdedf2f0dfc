#!/usr/bin/env python3
"""FreeBSD minidump figures on a 1 GiB synthetic amd64 minidump (Benchmarks/make_minidump.py).

No anchor tool reads FreeBSD dumps on Linux (libkvm, savecore and kgdb run only on FreeBSD),
so the comparisons are against `cat` of the same file (the floor) and against vmcore's own
physical reads of the same bytes: `vmcore info` (target < 50 ms), reading every dumped page
(`vmcore check`), and 512 MiB of kernel virtual memory through the minidump's page tables
(2 MiB pages, then 4 KiB pages through dumped page-table pages) against the same 512 MiB read
by physical address (target: virtual >= 0.8x physical). Set MINIDUMP to reuse a file.
"""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import VMCORE, measure, fmt_ms  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KERNBASE = 0xfffffe0000000000
BASE = 0x200000
HALF = 512 << 20


def main():
    path = os.environ.get("MINIDUMP")
    tmp = None
    if not path:
        tmp = tempfile.TemporaryDirectory()
        path = os.path.join(tmp.name, "vmcore.0")
        subprocess.run([sys.executable, os.path.join(HERE, "make_minidump.py"), path, "1024"], check=True)
    size = os.path.getsize(path)
    print("== synthetic FreeBSD/amd64 minidump v3, %.0f MiB" % (size / 1048576))
    subprocess.run(["cat", path], stdout=subprocess.DEVNULL)
    cat, _, _ = measure(["cat", path], discard=True)
    print("  cat > /dev/null              %s  %7.0f MiB/s  (the floor)" % (fmt_ms(cat), size / 1048576 / cat))
    info, rss, (out, rc, err) = measure([VMCORE, "info", path])
    if rc != 0:
        sys.exit("vmcore info failed: " + err)
    print("  vmcore info                  %s  peak RSS %5.1f MiB  (target < 50 ms)  %s" % (
        fmt_ms(info), rss / 1024, "met" if info < 0.05 else "MISSED"))
    chk, rss, (out, rc, err) = measure([VMCORE, "check", path], runs=3)
    print("  vmcore check (all pages)     %s  %7.0f MiB/s  peak RSS %5.1f MiB  -> %.2fx cat" % (
        fmt_ms(chk), 1024 / chk, rss / 1024, cat / chk))

    def read(kind, address, length):
        t, r, (_, rc, err) = measure([VMCORE, "read", path, kind, hex(address), "--length", str(length), "--raw"], discard=True)
        if rc != 0:
            sys.exit("vmcore read failed: " + err)
        return t, r

    for label, va, pa in (("2 MiB pages", KERNBASE, BASE), ("4 KiB pages", KERNBASE + HALF, BASE + HALF)):
        v, vr = read("--virtual", va, HALF)
        p, pr = read("--physical", pa, HALF)
        v0, _ = read("--virtual", va, 4096)
        p0, _ = read("--physical", pa, 4096)
        vm, pm = 512 / max(v - v0, 1e-6), 512 / max(p - p0, 1e-6)
        print("  512 MiB by virtual address, %s: %6.0f MiB/s virtual, %6.0f MiB/s physical -> virtual is %.2fx physical (target 0.8x) %s; peak RSS %.1f MiB" % (
            label, vm, pm, vm / pm, "met" if vm / pm >= 0.8 else "MISSED", max(vr, pr) / 1024))


if __name__ == "__main__":
    main()
