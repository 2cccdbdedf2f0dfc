"""drgn's side of the dmesg benchmark: open the dump with the DWARF vmlinux and print the log.

  python drgn_dmesg.py DUMP VMLINUX
"""
import sys

import drgn
from drgn.helpers.linux.printk import get_printk_records

prog = drgn.Program()
prog.set_core_dump(sys.argv[1])
prog.load_debug_info([sys.argv[2]], default=False)
out = []
for r in get_printk_records(prog):
    out.append("[%5d.%06d] %s" % (r.timestamp // 1000000000, r.timestamp % 1000000000 // 1000, r.text.decode(errors="replace")))
sys.stdout.write("\n".join(out) + "\n")
