#!/usr/bin/env python3
"""Wraps a dump payload into a FreeBSD dump device image, laid out as dump_start() and
dump_write_headers() leave it (sys/kern/kern_shutdown.c): 64 KiB untouched, the leading
kerneldumpheader (v4, big-endian, parity), the optional key area, the payload padded to whole
blocks, and the same header in the last block. Streams; memory stays small.

usage: make_device.py PAYLOAD OUT [--block 512] [--key KEYFILE] [--compression none|gzip|zstd]
"""
import argparse
import os
import struct


def header(length, extent, block, keysize, compression):
    h = bytearray(512)
    h[0:19] = b"FreeBSD Kernel Dump"
    h[20:25] = b"amd64"
    struct.pack_into(">IIQQII", h, 32, 4, 2, length, 1700000000, keysize, block)
    h[64:64 + 20] = b"crashbox.example.org"
    v = b"FreeBSD 14.1-RELEASE releng/14.1-n267679-10e31f0946d8 GENERIC\n"
    h[128:128 + len(v)] = v
    p = b"page fault while in kernel mode"
    h[320:320 + len(p)] = p
    h[495] = {"none": 0, "gzip": 1, "zstd": 2}[compression]
    struct.pack_into(">Q", h, 496, extent)
    parity = 0
    for i in range(0, 508, 4):
        parity ^= struct.unpack_from(">I", h, i)[0]
    struct.pack_into(">I", h, 508, parity)
    return bytes(h)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("payload")
    ap.add_argument("out")
    ap.add_argument("--block", type=int, default=512)
    ap.add_argument("--key")
    ap.add_argument("--compression", default="none")
    a = ap.parse_args()
    length = os.path.getsize(a.payload)
    extent = (length + a.block - 1) // a.block * a.block
    key = open(a.key, "rb").read() if a.key else b""
    h = header(length, extent, a.block, len(key), a.compression)
    pad = lambda b: b + bytes(a.block - len(b))
    with open(a.out + ".tmp", "wb") as f, open(a.payload, "rb") as src:
        f.write(b"\xa5" * 65536)
        f.write(pad(h))
        f.write(key)
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            f.write(chunk)
        f.write(bytes(extent - length))
        f.write(pad(h))
    os.rename(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
