#!/usr/bin/env python3
"""Writes a synthetic FreeBSD/amd64 minidump (version 3) of SIZE MiB of dumped pages, laid out
as cpu_minidumpsys() writes one (sys/amd64/amd64/minidump_machdep.c): header page, message
buffer, dump_avail, bitmap, pmap (one page of PDEs per GiB of KVA), then the pages.

Kernel virtual memory from kernbase: the first half mapped with 2 MiB pages, the second half
with 4 KiB pages through page-table pages that are themselves dumped (the last pages of
physical memory). The kernel's struct msgbuf sits at the end of physical memory, where
msgbufinit() puts it (sys/kern/subr_msgbuf.c). Streams the output; memory stays small.

usage: make_minidump.py OUT [SIZE_MIB]   (SIZE_MIB a multiple of 4, default 1024)
"""
import os
import struct
import sys

PAGE = 4096
KERNBASE = 0xfffffe0000000000
DMAP_BASE, DMAP_END = 0xfffff80000000000, 0xfffffc0000000000
BASE = 0x200000  # first dumped physical address (2 MiB aligned, for large pages)


def main(out, mib=1024):
    npages = mib * 256
    half = npages // 2                       # pages mapped with 2 MiB pages
    small = npages - half                    # pages mapped with 4 KiB pages
    npt = (small + 511) // 512               # page-table pages, at the top of memory
    pt_base = BASE + (npages - npt - 1) * PAGE   # the last page holds struct msgbuf
    avail = [(0x1000, 0x9f000), (BASE, BASE + npages * PAGE)]
    bits = sum((e + PAGE - 1) // PAGE - s // PAGE for s, e in avail)
    first_bit = (0x9f000 - 0x1000) // PAGE   # bits of the first range: not dumped
    bitmap_size = ((bits + 7) // 8 + PAGE - 1) // PAGE * PAGE
    kva_gib = (npages * PAGE + (1 << 30) - 1) >> 30
    pmap_size = kva_gib * PAGE
    msg = (b"FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC amd64\n"
           + b"".join(b"benchmark line %06d\n" % i for i in range(2500))
           + b"panic: page fault while in kernel mode\ncpuid = 1\nKDB: stack backtrace:\n"
           + b"#0 0xffffffff80b9009d at kdb_backtrace+0x5d\n")
    msgbuf_size = 65536
    ring = bytearray(msgbuf_size)
    for i, c in enumerate(msg):
        ring[i % msgbuf_size] = c
    wseq = len(msg)

    with open(out + ".tmp", "wb") as f:
        hdr = bytearray(PAGE)
        hdr[0:22] = b"minidump FreeBSD/amd64"
        struct.pack_into("<IIII QQQ I", hdr, 24, 3, msgbuf_size, bitmap_size, pmap_size, KERNBASE, DMAP_BASE, DMAP_END, PAGE)
        f.write(hdr)
        f.write(ring)
        da = bytearray(PAGE)
        for i, (s, e) in enumerate(avail):
            struct.pack_into("<QQ", da, 16 * i, s, e)
        f.write(da)
        bm = bytearray(bitmap_size)
        for b in range(first_bit, first_bit + npages):
            bm[b >> 3] |= 1 << (b & 7)
        f.write(bm)
        pmap = bytearray(pmap_size)
        for i in range(half // 512):         # 2 MiB pages
            struct.pack_into("<Q", pmap, 8 * i, (BASE + i * (1 << 21)) | 0x83)
        for j in range(npt):                 # 4 KiB pages through page tables
            struct.pack_into("<Q", pmap, 8 * (half // 512 + j), (pt_base + j * PAGE) | 0x3)
        f.write(pmap)
        block = bytearray(256 * PAGE)
        for p in range(npages):
            pa = BASE + p * PAGE
            if pt_base <= pa < pt_base + npt * PAGE:
                j = (pa - pt_base) // PAGE
                pt = bytearray(PAGE)
                for k in range(512):
                    n = half + j * 512 + k
                    if n < npages:
                        struct.pack_into("<Q", pt, 8 * k, (BASE + n * PAGE) | 0x3)
                f.write(pt)
            elif p == npages - 1:
                page = bytearray(PAGE)
                # struct msgbuf { char *msg_ptr; u_int msg_magic, msg_size, msg_wseq, msg_rseq; ... }
                struct.pack_into("<QIIII", page, PAGE - 64, DMAP_BASE + 0x10000000, 0x063062, msgbuf_size, wseq, 0)
                f.write(page)
            else:
                # Dump-like content: half of each page random, a quarter a repeating record
                # stamped with its address, a quarter zero; every group of pages fresh.
                i = p % 256
                if i == 0:
                    noise = os.urandom(256 * PAGE // 2)
                    for k in range(256):
                        block[k * PAGE:k * PAGE + PAGE // 2] = noise[k * PAGE // 2:(k + 1) * PAGE // 2]
                        block[k * PAGE + PAGE // 2:k * PAGE + 3 * PAGE // 4] = struct.pack("<QQ", 0, 0x6b6d656d5f726f63) * (PAGE // 64)
                struct.pack_into("<Q", block, i * PAGE + PAGE // 2, pa)
                f.write(block[i * PAGE:(i + 1) * PAGE])
    os.rename(out + ".tmp", out)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1024)
