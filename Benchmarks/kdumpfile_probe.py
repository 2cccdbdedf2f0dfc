#!/usr/bin/python3
"""The libkdumpfile side of the benchmark (Debian's python3-libkdumpfile).

  kdumpfile_probe.py info DUMP    open the dump and read its VMCOREINFO
  kdumpfile_probe.py pages DUMP   read every stored page (libkdumpfile's own page map)

Prints one JSON line: the in-process seconds of the work (interpreter start-up excluded),
and what was read, so the caller can check both tools did the same job.
"""
import json
import sys
import time

t0 = time.perf_counter()
import kdumpfile  # noqa: E402

mode, path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
k = kdumpfile.kdumpfile(path)
result = {"tool": "libkdumpfile", "mode": mode}
if mode == "info":
    raw = k.attr["linux.vmcoreinfo.raw"]
    result["vmcoreinfoLines"] = len([l for l in bytes(raw).decode("ascii", "replace").split("\n") if l])
else:
    k.attr["addrxlat.ostype"] = "linux"
    pm = k.attr["file.pagemap"]
    size = k.attr["arch.page_size"]
    end = k.attr["max_pfn"] if "max_pfn" in k.attr else 1 << 40
    pfn, pages = 0, 0
    while True:
        try:
            pfn = pm.find_set(pfn)
        except Exception:  # noqa: BLE001  (no more set bits)
            break
        if pfn >= end:
            break
        try:
            stop = pm.find_clear(pfn)
        except Exception:  # noqa: BLE001
            stop = end
        for p in range(pfn, stop):
            k.read(kdumpfile.KDUMP_MACHPHYSADDR, p * size, size)
            pages += 1
        pfn = stop
    result["pages"] = pages
    result["pageSize"] = size
result["seconds"] = time.perf_counter() - start
print(json.dumps(result))
