#!/usr/bin/env python3
"""How much of a kernel's System.map `vmcore sym` finds in the dump's own kallsyms.

  Scripts/compare-system-map.py DUMP SYSTEM_MAP [VMCORE]

System.map (from the kernel's -dbg package) lists link-time addresses: kernel symbols are
moved by the KASLR offset `vmcore info` reports, per-CPU symbols (below 2^63) are offsets and
stay. Prints how many text and data symbols (types T t D d B b R r) are found at the same
address, and which are not.
"""
import collections
import json
import os
import subprocess
import sys

dump, sysmap = sys.argv[1], sys.argv[2]
vmcore = sys.argv[3] if len(sys.argv) > 3 else os.path.join(os.path.dirname(__file__), "..", ".build", "release", "vmcore")
info = json.loads(subprocess.run([vmcore, "info", "--json", dump], capture_output=True, check=True).stdout)
kaslr = int(info.get("kaslrOffset", "0x0"), 16)
table = json.loads(subprocess.run([vmcore, "sym", dump, "--list", "*", "--json"], capture_output=True, check=True).stdout)
ours = collections.defaultdict(set)
for s in table["symbols"]:
    ours[s["name"]].add(int(s["address"], 16))
total = found = 0
missing = []
with open(sysmap) as f:
    for line in f:
        fields = line.split()
        if len(fields) < 3 or fields[1] not in "TtDdBbRr":
            continue
        total += 1
        a = int(fields[0], 16)
        a = a if a < 1 << 63 else (a + kaslr) & (2**64 - 1)
        if a in ours.get(fields[2], ()):
            found += 1
        else:
            missing.append((fields[1], fields[2]))
print("%d kallsyms symbols (%s, %s); System.map text and data: %d; at the same address: %d (%.3f%%)" % (
    len(table["symbols"]), table["source"], table["encoding"], total, found, 100.0 * found / max(total, 1)))
if missing:
    print("not found, by type:", dict(collections.Counter(t for t, _ in missing).most_common()))
    print("first of them:", " ".join(n for _, n in missing[:20]))
