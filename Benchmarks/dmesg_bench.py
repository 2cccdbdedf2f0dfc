#!/usr/bin/env python3
"""The kernel log, side by side: `vmcore dmesg` against `makedumpfile --dump-dmesg`,
crash's `log` (its start-up included) and drgn with DWARF, on the same dumps in one run.
Prints wall time, peak RSS and ratios. crash and drgn need VMLINUX (the DWARF vmlinux);
drgn is looked for in DRGN_PYTHON (a Python with drgn installed).

Then the start-up cost against makedumpfile: whole-process CPU time (user + system, CPU_RUNS
runs of each, default 40, taken in turn) and, with valgrind installed, instructions executed
(callgrind: the same count on every run, whatever else the machine is doing)."""
import os
import re
import shutil
import statistics
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


CPU_RUNS = int(os.environ.get("CPU_RUNS", "40"))


def cpu_times(commands, runs=CPU_RUNS):
    """Median whole-process CPU time (user + system, seconds) of each command, output discarded.
    The commands run in turn, so each sees the same machine load. posix_spawn starts them
    without fork()'s copy of this Python process, whose page faults would count as the child's."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    times = [[] for _ in commands]
    try:
        for _ in range(runs):
            for i, cmd in enumerate(commands):
                pid = os.posix_spawnp(cmd[0], cmd, os.environ, file_actions=[
                    (os.POSIX_SPAWN_DUP2, devnull, 1), (os.POSIX_SPAWN_DUP2, devnull, 2)])
                _, status, usage = os.wait4(pid, 0)
                if os.waitstatus_to_exitcode(status) != 0:
                    return None
                times[i].append(usage.ru_utime + usage.ru_stime)
    finally:
        os.close(devnull)
    return [statistics.median(t) for t in times]


def instructions(cmd, tmp):
    """Instructions the whole process executes, counted by callgrind, or None without valgrind.
    valgrind 3.19 cannot read the DWARF 5 in our binary, so vmcore runs from a copy without it."""
    if not shutil.which("valgrind"):
        return None
    if cmd[0] == bench.VMCORE:
        bare = os.path.join(tmp, "vmcore")
        if not os.path.exists(bare):
            subprocess.run(["strip", "--strip-debug", "-o", bare, bench.VMCORE], check=True)
        cmd = [bare] + cmd[1:]
    p = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"] + cmd,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    m = re.search(r"Collected : (\d+)", p.stderr)
    return int(m.group(1)) if m else None


def startup_rows(dump, mdf_out, tmp):
    ours = [bench.VMCORE, "dmesg", dump]
    theirs = ["makedumpfile", "-f", "--dump-dmesg", dump, mdf_out]
    cpu = cpu_times([ours, theirs])
    if cpu is None:
        print("  CPU time: a run failed")
        return
    print("  CPU time (user+sys, median of %d)  vmcore dmesg %.2f ms, makedumpfile %.2f ms: vmcore takes %.2fx its CPU time" % (
        CPU_RUNS, cpu[0] * 1000, cpu[1] * 1000, cpu[0] / cpu[1]))
    ins = [instructions(ours, tmp), instructions(theirs, tmp)]
    if None not in ins:
        print("  instructions (callgrind)           vmcore dmesg %.1fM, makedumpfile %.1fM: %.2fx" % (
            ins[0] / 1e6, ins[1] / 1e6, ins[0] / ins[1]))


# The sample's pieces do not hold the log buffer: whole dumps only.
for dump in [d for d in sys.argv[1:] if "Tests/Fixtures" not in d]:
    print("\n== %s" % os.path.relpath(dump))
    ours, ours_rss, (out, rc, err) = bench.measure([bench.VMCORE, "dmesg", dump], runs=5)
    row("vmcore dmesg", ours, ours_rss, rc)
    with tempfile.TemporaryDirectory() as tmp:
        # makedumpfile overwrites its output file only with -f.
        out_file = os.path.join(tmp, "out")
        w, r, (o, rc2, e) = bench.measure(["makedumpfile", "-f", "--dump-dmesg", dump, out_file], runs=3)
        row("makedumpfile --dump-dmesg", w, r, rc2, ours)
        if rc == 0 and rc2 == 0:
            startup_rows(dump, out_file, tmp)
    if VMLINUX and os.path.exists(VMLINUX):
        w, r, (o, rc3, e) = bench.measure(["sh", "-c", "printf 'log\\nquit\\n' | crash -s %s %s > /dev/null" % (VMLINUX, dump)], runs=1)
        row("crash -s + log", w, r, rc3, ours)
        if DRGN_PY and os.path.exists(DRGN_PY):
            w, r, (o, rc4, e) = bench.measure([DRGN_PY, os.path.join(HERE, "drgn_dmesg.py"), dump, VMLINUX], runs=1)
            row("drgn (DWARF) printk records", w, r, rc4, ours)
