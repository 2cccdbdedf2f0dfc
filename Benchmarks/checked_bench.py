#!/usr/bin/env python3
"""What the hostile-input checks cost: two vmcore binaries on the same dumps, in one run.

    VMCORE_OLD=path/to/old/vmcore python3 Benchmarks/checked_bench.py [DUMP...]

Runs each command with the old binary (a build from before the checks) and the new one
(.build/release/vmcore, or VMCORE), and prints, for each, the instructions callgrind counts
(exact and repeatable, whatever else the machine does) and the median wall time of 7
alternating runs, with the new/old ratio. The commands are the hot paths the checks touch:
`info`, `dmesg` and `check` (every stored page, one thread) on the Linux dumps given or found
beside the checkout, `info` on a dump without VMCOREINFO (the memory scan for the note), and
on a 256 MiB synthetic FreeBSD minidump `check` and 64 MiB read by virtual address.
"""
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NEW = os.environ.get("VMCORE", os.path.join(ROOT, ".build/release/vmcore"))
OLD = os.environ.get("VMCORE_OLD")


def instructions(cmd):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    return int(m.group(1)) if m else None


def wall(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def compare(label, args):
    old_i, new_i = instructions([OLD] + args), instructions([NEW] + args)
    old_t, new_t = [], []
    for _ in range(7):
        old_t.append(wall([OLD] + args))
        new_t.append(wall([NEW] + args))
    ot, nt = statistics.median(old_t), statistics.median(new_t)
    ratio_i = "%.3f" % (new_i / old_i) if old_i and new_i else "n/a"
    print("  %-44s %13s %13s  %6s   %8.1f ms %8.1f ms  %.3f" % (
        label, f"{old_i:,}" if old_i else "-", f"{new_i:,}" if new_i else "-", ratio_i, ot * 1000, nt * 1000, nt / ot))
    return (new_i / old_i) if old_i and new_i else None


def main():
    global OLD, NEW
    if not OLD:
        sys.exit("set VMCORE_OLD to a vmcore binary built before the checks (e.g. git worktree add ../old COMMIT; make release there)")
    # valgrind 3.19 cannot read the DWARF 5 in the binaries: both run from copies without it.
    bare = tempfile.TemporaryDirectory()
    for name, path in (("old", OLD), ("new", NEW)):
        copy = os.path.join(bare.name, name)
        subprocess.run(["strip", "--strip-debug", "-o", copy, path], check=True)
        if name == "old":
            OLD = copy
        else:
            NEW = copy
    dumps = sys.argv[1:]
    shared = os.path.join(ROOT, "..", "shared", "dumps")
    tmp = tempfile.TemporaryDirectory()
    novmcoreinfo = None
    if not dumps and os.path.isdir(shared):
        dumps = [os.path.join(shared, "linux-6.1-x86_64-kdump/vmcore.kdump-zlib-d31"),
                 os.path.join(shared, "linux-6.1-x86_64-kdump/vmcore.flat-zlib-d31")]
        zst = os.path.join(shared, "linux-6.1-x86_64-qemu-novmcoreinfo/vmcore.elf.zst")
        if os.path.exists(zst):
            novmcoreinfo = os.path.join(tmp.name, "qemu-novmcoreinfo.elf")
            subprocess.run(["zstd", "-q", "-d", zst, "-o", novmcoreinfo], check=True)
    dumps += [os.path.join(ROOT, "Tests/Fixtures/linux-6.1-small/vmcore.kdump-zlib-d31-split")]
    print("%-46s %13s %13s  %6s   %11s %11s  %s" % ("", "old instr.", "new instr.", "ratio", "old wall", "new wall", "ratio"))
    ratios = []
    for d in dumps:
        name = os.path.basename(d)
        for args in (["info", d], ["dmesg", d], ["check", "--threads", "1", d]):
            ratios.append(compare("%s %s" % (args[0], name), args))
    if novmcoreinfo:
        ratios.append(compare("info qemu-novmcoreinfo.elf (note search)", ["info", novmcoreinfo]))
    minidump = os.path.join(tmp.name, "vmcore.0")
    subprocess.run([sys.executable, os.path.join(HERE, "make_minidump.py"), minidump, "256"], check=True, stdout=subprocess.DEVNULL)
    ratios.append(compare("check minidump 256 MiB", ["check", "--threads", "1", minidump]))
    ratios.append(compare("read --virtual 64 MiB minidump (4 KiB pages)",
                          ["read", "--raw", "--virtual", hex(0xfffffe0000000000 + (128 << 20)), "--length", str(64 << 20), minidump]))
    known = [r for r in ratios if r]
    if known:
        print("instructions, new/old: median %.3f, worst %.3f" % (statistics.median(known), max(known)))


if __name__ == "__main__":
    main()
