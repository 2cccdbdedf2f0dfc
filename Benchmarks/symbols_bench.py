#!/usr/bin/env python3
"""Symbols and types from the dump itself, against the anchors' start-up with debuginfo.

For each dump, in one run:
  vmcore sym DUMP linux_banner        cold start: open, locate the kernel, decode kallsyms
  vmcore struct DUMP task_struct -o   every symbol decoded and the whole BTF loaded
  vmcore mod DUMP                     the module list and every module's symbols (through BTF)
  crash -s VMLINUX DUMP               start-up with the DWARF vmlinux, then `sym linux_banner`
  drgn                                Program + the DWARF vmlinux, then prog["linux_banner"]
Each command runs RUNS times; the median wall time and the largest peak RSS are kept.

  Benchmarks/symbols_bench.py [--vmlinux RELEASE=PATH …] DUMP…

A vmlinux is used for the dumps whose kernel release it names; without one, the anchors are
not run for that dump (they need debuginfo; vmcore does not).
"""
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import VMCORE, PY, measure, fmt_ms  # noqa: E402

DRGN = """
import sys, time, drgn
start = time.perf_counter()
prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]])
v = prog["linux_banner"].address_
print(hex(v))
"""


def main(argv):
    vmlinux = {}
    dumps = []
    it = iter(argv)
    for a in it:
        if a == "--vmlinux":
            release, path = next(it).split("=", 1)
            vmlinux[release] = path
        else:
            dumps.append(a)
    rows = []
    for dump in dumps:
        name = os.path.relpath(dump)
        print("\n== %s (%.1f MiB)" % (name, os.path.getsize(dump) / 1048576))
        subprocess.run(["cat", dump], stdout=subprocess.DEVNULL)
        facts = json.loads(subprocess.run([VMCORE, "info", "--json", dump], capture_output=True).stdout or b"{}")
        release = facts.get("kernelRelease")
        row = {"dump": name, "release": release}
        sym, sym_rss, (out, rc, err) = measure([VMCORE, "sym", dump, "linux_banner"])
        if rc != 0:
            print("  vmcore sym FAILED:", err.strip())
            continue
        banner = out.split()[0]
        print("  vmcore sym linux_banner          %s  peak RSS %5.1f MiB   (%s)" % (fmt_ms(sym), sym_rss / 1024, banner))
        row.update(symSeconds=sym, symPeakRSSKiB=sym_rss)
        st, st_rss, (out, rc, err) = measure([VMCORE, "struct", dump, "task_struct", "-o"])
        if rc == 0:
            print("  vmcore struct task_struct -o     %s  peak RSS %5.1f MiB   (%s symbols, %.1f MiB of BTF)" % (
                fmt_ms(st), st_rss / 1024, facts.get("symbols"), (facts.get("btfBytes") or 0) / 1048576))
            row.update(structSeconds=st, structPeakRSSKiB=st_rss, symbols=facts.get("symbols"), btfBytes=facts.get("btfBytes"))
        else:
            print("  vmcore struct FAILED:", err.strip())
        md, md_rss, (out, rc, err) = measure([VMCORE, "mod", dump])
        if rc == 0:
            print("  vmcore mod                       %s  peak RSS %5.1f MiB   (%d modules)" % (fmt_ms(md), md_rss / 1024, len(out.splitlines()) - 1))
            row.update(modSeconds=md, modPeakRSSKiB=md_rss)
        else:
            print("  vmcore mod: %s" % (err.strip().splitlines() or ["?"])[-1])
        path = vmlinux.get(release)
        if not path:
            print("  crash, drgn: not run (no --vmlinux %s=PATH)" % release)
            rows.append(row)
            continue
        if facts.get("architecture") == "x86_64" and os.path.exists("/usr/bin/crash"):
            wall, rss, (out, rc, err) = measure(["crash", "-s", path, dump], runs=3, stdin="sym linux_banner\nquit\n")
            ok = rc == 0 and banner.lstrip("0") in out
            print("  crash -s VMLINUX (start-up, sym) %s  peak RSS %5.1f MiB%s -> vmcore sym is %.0fx faster, struct %.0fx" % (
                fmt_ms(wall), rss / 1024, "" if ok else " (FAILED: %s)" % (err.strip().splitlines() or ["?"])[-1], wall / sym, wall / st))
            row.update(crashSeconds=wall, crashPeakRSSKiB=rss)
        wall, rss, (out, rc, err) = measure([PY, "-c", DRGN, dump, path], runs=3)
        if rc == 0:
            ok = int(out.strip(), 16) == int(banner, 16)
            print("  drgn + DWARF vmlinux (start-up)  %s  peak RSS %5.1f MiB%s -> vmcore sym is %.0fx faster, struct %.0fx" % (
                fmt_ms(wall), rss / 1024, "" if ok else " (DISAGREES: %s)" % out.strip(), wall / sym, wall / st))
            row.update(drgnSeconds=wall, drgnPeakRSSKiB=rss)
        else:
            print("  drgn FAILED: %s" % (err.strip().splitlines() or ["?"])[-1])
        rows.append(row)
    out = os.environ.get("BENCH_JSON")
    if out:
        with open(out, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
