#!/usr/bin/env python3
"""The kernel log, side by side: `vmcore dmesg` against `makedumpfile --dump-dmesg`,
crash's `log` (its start-up included) and drgn with DWARF, on the same dumps in one run.
Prints wall time, peak RSS and ratios. crash and drgn need VMLINUX (the DWARF vmlinux);
drgn is looked for in DRGN_PYTHON (a Python with drgn installed)."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (its run/measure helpers record each child's peak RSS)

VMLINUX = os.environ.get("VMLINUX")
DRGN_PY = os.environ.get("DRGN_PYTHON")
HERE = os.path.dirname(os.path.abspath(__file__))


def row(label, wall, rss, rc, base=None):
    if base is None or rc != 0:
        ratio = ""
    elif wall >= base:
        ratio = "  (vmcore dmesg is %.1fx faster)" % (wall / base)
    else:
        ratio = "  (vmcore dmesg takes %.2fx its time)" % (base / wall)
    status = "" if rc == 0 else "  FAILED (exit %d)" % rc
    print("  %-28s %10.1f ms  peak RSS %6.1f MiB%s%s" % (label, wall * 1000, rss / 1024, status, ratio))


# The sample's pieces do not hold the log buffer: whole dumps only.
for dump in [d for d in sys.argv[1:] if "Tests/Fixtures" not in d]:
    print("\n== %s" % os.path.relpath(dump))
    ours, ours_rss, (out, rc, err) = bench.measure([bench.VMCORE, "dmesg", dump], runs=5)
    row("vmcore dmesg", ours, ours_rss, rc)
    with tempfile.TemporaryDirectory() as tmp:
        # makedumpfile will not overwrite its output file: remove it before each run.
        out_file = os.path.join(tmp, "out")
        w, r, (o, rc2, e) = bench.measure(["sh", "-c", 'rm -f "$1" && exec makedumpfile --dump-dmesg "$2" "$1" > /dev/null', "sh", out_file, dump], runs=3)
        row("makedumpfile --dump-dmesg", w, r, rc2, ours)
    if VMLINUX and os.path.exists(VMLINUX):
        w, r, (o, rc3, e) = bench.measure(["sh", "-c", "printf 'log\\nquit\\n' | crash -s %s %s > /dev/null" % (VMLINUX, dump)], runs=1)
        row("crash -s + log", w, r, rc3, ours)
        if DRGN_PY and os.path.exists(DRGN_PY):
            w, r, (o, rc4, e) = bench.measure([DRGN_PY, os.path.join(HERE, "drgn_dmesg.py"), dump, VMLINUX], runs=1)
            row("drgn (DWARF) printk records", w, r, rc4, ours)
