#!/usr/bin/env python3
"""Side-by-side timings of vmcore and the anchor tools on the same dumps, in the same run.

For each dump: `cat` to /dev/null (the floor), `vmcore info` vs libkdumpfile opening the dump
and reading VMCOREINFO, and reading every stored page: `vmcore check` vs libkdumpfile.
Each command runs several times; the median wall time and the largest peak RSS are kept.
libkdumpfile is timed inside its Python process (start-up excluded), which favours it.
"""
import json
import os
import subprocess
import sys
import time

RUNS = int(os.environ.get("RUNS", "5"))
TIMEOUT = int(os.environ.get("TIMEOUT", "60"))
HERE = os.path.dirname(os.path.abspath(__file__))
VMCORE = os.environ.get("VMCORE", os.path.join(HERE, "..", ".build", "release", "vmcore"))
PY = "/usr/bin/python3"


def run(cmd, discard=False, stdin=None):
    """Runs cmd (with `stdin` text as its input); returns (wall seconds, peak RSS KiB, stdout,
    exit code, stderr)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL if discard else subprocess.PIPE, stderr=subprocess.PIPE,
                         stdin=subprocess.PIPE if stdin is not None else None)
    try:
        out, err = p.communicate(input=stdin.encode() if stdin is not None else None, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        # libkdumpfile 0.5.1's page walk never ends on some arm64 kdump ELF files.
        p.kill()
        out, err = p.communicate()
        err = (err or b"") + b"\ntimed out after %d s" % TIMEOUT
        p.returncode = 124
    out = out or b""
    wall = time.perf_counter() - start
    # The child's own peak RSS (ru_maxrss of the one child just reaped).
    rss = RUSAGE.pop(p.pid, None)
    return wall, rss, out.decode(errors="replace"), p.returncode, err.decode(errors="replace")


RUSAGE = {}
_orig_wait4 = os.wait4


def _wait4(pid, options):
    r = _orig_wait4(pid, options)
    if r[0]:
        RUSAGE[r[0]] = r[2].ru_maxrss
    return r


os.wait4 = _wait4
# subprocess uses waitpid; route it through wait4 to get each child's rusage.
os.waitpid = lambda pid, options: _wait4(pid, options)[:2]


def measure(cmd, runs=RUNS, discard=False, fastest=False, stdin=None):
    """Median wall time (or the fastest run, for throughput: the least disturbed), peak RSS,
    and the last run's output."""
    walls, rsss, last = [], [], None
    for _ in range(runs):
        wall, rss, out, rc, err = run(cmd, discard, stdin)
        walls.append(wall)
        rsss.append(rss or 0)
        last = (out, rc, err)
    walls.sort()
    return walls[0] if fastest else walls[len(walls) // 2], max(rsss), last


def read_throughput(dump, virtual, physical, length):
    """`vmcore read` of `length` bytes by virtual and by physical address: MiB/s of each
    (fastest of 11, a one-page read subtracted to leave start-up and locating the kernel
    out), or the error."""
    def timed(kind, address, n):
        return measure([VMCORE, "read", dump, kind, hex(address), "--length", str(n), "--raw"], runs=11, discard=True, fastest=True)
    v, _, (_, rc_v, err_v) = timed("--virtual", virtual, length)
    v0, _, _ = timed("--virtual", virtual, 4096)
    p, _, (_, rc_p, err_p) = timed("--physical", physical, length)
    p0, _, _ = timed("--physical", physical, 4096)
    if rc_v != 0 or rc_p != 0:
        return None, None, (err_v or err_p).strip()
    mib = length / 1048576
    return mib / max(v - v0, 1e-6), mib / max(p - p0, 1e-6), None


def fmt_ms(s):
    return "%8.1f ms" % (s * 1000)


def main(dumps):
    rows = []
    for dump in dumps:
        size = os.path.getsize(dump)
        name = os.path.relpath(dump)
        print("\n== %s (%.1f MiB)" % (name, size / 1048576))
        subprocess.run(["cat", dump], stdout=subprocess.DEVNULL)  # warm the page cache
        cat, _, _ = measure(["cat", dump], discard=True)
        print("  cat > /dev/null           %s  %7.0f MiB/s  (the floor)" % (fmt_ms(cat), size / 1048576 / cat))

        info, info_rss, (out, rc, err) = measure([VMCORE, "info", "--json", dump])
        if rc != 0:
            print("  vmcore info FAILED:", err.strip())
            continue
        facts = json.loads(out)
        print("  vmcore info               %s  peak RSS %5.1f MiB" % (fmt_ms(info), info_rss / 1024))
        lk_info = None
        lk_wall, _, (out, rc, err) = measure([PY, os.path.join(HERE, "kdumpfile_probe.py"), "info", dump])
        if rc == 0:
            lk_info = json.loads(out)["seconds"]
            print("  libkdumpfile open+VMCOREINFO %s whole process, %s in-process  -> process to process, vmcore info is %.1fx %s" % (
                fmt_ms(lk_wall), fmt_ms(lk_info), max(lk_wall, info) / min(lk_wall, info), "faster" if lk_wall > info else "slower"))
        else:
            print("  libkdumpfile open+VMCOREINFO FAILED: %s" % (err.strip().splitlines() or ["?"])[-1])

        chk, chk_rss, (out, rc, err) = measure([VMCORE, "check", "--json", dump], runs=3)
        scan = json.loads(out) if out.strip().startswith("{") else {}
        mib = scan.get("pagesRead", 0) * scan.get("pageSize", 4096) / 1048576
        print("  vmcore check (all pages)  %s  %7.0f MiB/s  %d pages  peak RSS %5.1f MiB" % (
            fmt_ms(chk), mib / chk, scan.get("pagesRead", 0), chk_rss / 1024))
        lk_pages = None
        wall, _, out, rc, err = run([PY, os.path.join(HERE, "kdumpfile_probe.py"), "pages", dump])
        if rc == 0:
            r = json.loads(out)
            lk_pages = r["seconds"]
            lk_mib = r["pages"] * r["pageSize"] / 1048576
            print("  libkdumpfile all pages    %s  %7.0f MiB/s  %d pages (in-process; %s whole process)  -> vmcore is %.1fx its throughput" % (
                fmt_ms(lk_pages), lk_mib / lk_pages, r["pages"], fmt_ms(wall).strip(), (mib / chk) / (lk_mib / lk_pages)))
        else:
            print("  libkdumpfile all pages FAILED: %s" % (err.strip().splitlines() or ["?"])[-1])
        # Kernel virtual reads over 8 MiB of kernel text vs physical reads of the same pages.
        virt_mibps = phys_mibps = None
        text = phys = None
        stext = facts.get("vmcoreinfoFacts", {}).get("SYMBOL(_stext)")
        if facts.get("kaslrOffset") and facts.get("physBase"):
            text = 0xffffffff81000000 + int(facts["kaslrOffset"], 16)
            phys = (text - 0xffffffff80000000 + int(facts["physBase"], 16)) & (2**64 - 1)
        elif facts.get("kimageVoffset") and stext:
            # arm64: the image maps at kimage_voffset; start at _stext.
            text = int(stext, 16)
            phys = (text - int(facts["kimageVoffset"], 16)) & (2**64 - 1)
        if text is not None:
            # Kernel text: present in every dump level.
            virt_mibps, phys_mibps, err = read_throughput(dump, text, phys, 8 << 20)
            if err is None:
                print("  read 8 MiB of kernel text  %.0f MiB/s virtual, %.0f MiB/s physical (fastest of 11, one-page reads subtracted) -> virtual is %.2fx physical" % (
                    virt_mibps, phys_mibps, virt_mibps / phys_mibps))
            else:
                print("  kernel-text reads skipped: %s" % err)
        # arm64: the first memory range (up to 256 MiB) through the linear map, which the
        # kernel maps page by page, against the same bytes read physically.
        linear_ratio = None
        if facts.get("linearMapOffset") and facts.get("memoryRanges"):
            r0 = facts["memoryRanges"][0]
            pa = int(r0["start"], 16)
            n = min(int(r0["size"]), 256 << 20)
            va = (pa + int(facts["linearMapOffset"], 16)) & (2**64 - 1)
            lv, lp, err = read_throughput(dump, va, pa, n)
            if err is None:
                linear_ratio = lv / lp
                print("  read %d MiB via the linear map  %.0f MiB/s virtual, %.0f MiB/s physical (fastest of 11) -> virtual is %.2fx physical" % (
                    n >> 20, lv, lp, linear_ratio))
            else:
                print("  linear-map reads skipped: %s" % err)
        vmlinux = os.environ.get("VMLINUX")
        # crash needs a whole dump: not run on the sample's pieces.
        if vmlinux and os.path.exists(vmlinux) and os.path.exists("/usr/bin/crash") and "Tests/Fixtures" not in dump:
            start = time.perf_counter()
            p = subprocess.run(["crash", "-s", vmlinux, dump], input=b"sys\nquit\n", capture_output=True)
            crash_s = time.perf_counter() - start
            print("  crash start-up + sys      %s  (with the DWARF vmlinux)%s -> vmcore info is %.0fx faster" % (
                fmt_ms(crash_s), "" if p.returncode == 0 else " FAILED", crash_s / info))
        rows.append({"dump": name, "linearReadRatio": linear_ratio, "virtualReadMiBps": virt_mibps, "physicalReadMiBps": phys_mibps, "bytes": size, "catSeconds": cat, "infoSeconds": info, "infoPeakRSSKiB": info_rss,
                     "libkdumpfileInfoSeconds": lk_info, "checkSeconds": chk, "checkPeakRSSKiB": chk_rss,
                     "checkMiBps": mib / chk, "libkdumpfilePagesSeconds": lk_pages, "format": facts["variant"]})
    out = os.environ.get("BENCH_JSON")
    if out:
        with open(out, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
