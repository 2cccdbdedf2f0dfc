#!/usr/bin/env python3
"""dump-guest-memory over QMP: an ELF core of the physical range [BEGIN, BEGIN+LENGTH).

  qmp_dump_range.py SOCKET OUTFILE BEGIN LENGTH

QEMU writes its own ELF layout (one PT_LOAD for the range, p_vaddr = p_paddr) with the CPU
notes and, when the guest runs with -device vmcoreinfo, the kernel's VMCOREINFO note.
"""
import json
import socket
import sys

path, out, begin, length = sys.argv[1], sys.argv[2], int(sys.argv[3], 0), int(sys.argv[4], 0)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile("rwb", buffering=0)


def reply():
    while True:
        msg = json.loads(f.readline())
        if "event" not in msg:
            return msg


def command(name, **args):
    f.write((json.dumps({"execute": name, "arguments": args}) + "\n").encode())
    return reply()


reply()
command("qmp_capabilities")
r = command("dump-guest-memory", paging=False, protocol="file:" + out, format="elf", begin=begin, length=length)
print(json.dumps(r))
sys.exit(0 if "return" in r else 1)
