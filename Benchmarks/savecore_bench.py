#!/usr/bin/env python3
"""savecore and decrypt against the anchor tools, on the same bytes in the same run.

A 1 GiB synthetic FreeBSD/amd64 minidump (make_minidump.py) is put on a dump device image
(make_device.py). Then:
- `vmcore savecore -Z` against `dd if=IMAGE | zstd -T2 > out` (zstd's default level 3, like
  ours), and against the same followed by `sync` of the output: savecore flushes what it saves
  before it may clear the device, and reads it back;
- `vmcore savecore -z` against `dd | gzip -1`;
- `vmcore decrypt` against `openssl enc -d` on the same ciphertext, for ChaCha20 and
  AES-256-CBC (the ciphertext and wrapped key are made with openssl), with and without a
  `sync` of openssl's output (vmcore flushes its output before renaming it into place).
Peak RSS is printed for every vmcore run (target < 64 MiB). Set IMAGE/PAYLOAD to reuse files.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench import VMCORE, measure, fmt_ms  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd):
    return ["sh", "-c", cmd]


def main():
    tmp = tempfile.mkdtemp(prefix="savecore-bench-")
    try:
        payload = os.environ.get("PAYLOAD") or os.path.join(tmp, "payload")
        if not os.environ.get("PAYLOAD"):
            subprocess.run([sys.executable, os.path.join(HERE, "make_minidump.py"), payload, "1024"], check=True)
        image = os.environ.get("IMAGE") or os.path.join(tmp, "ada0p3.img")
        if not os.environ.get("IMAGE"):
            subprocess.run([sys.executable, os.path.join(HERE, "make_device.py"), payload, image], check=True)
        mib = os.path.getsize(payload) / 1048576
        out = os.path.join(tmp, "out")
        subprocess.run(["cat", image], stdout=subprocess.DEVNULL)
        print("== savecore on a %.0f MiB dump device image" % mib)

        def fresh():
            shutil.rmtree(out, ignore_errors=True)
            os.makedirs(out)

        def ours(flags):
            best = None
            for _ in range(3):
                fresh()
                t, rss, (o, rc, err) = measure([VMCORE, "savecore", "-k"] + flags + [out, image], runs=1)
                if rc != 0:
                    sys.exit("vmcore savecore failed: " + err)
                best = (t, rss) if best is None or t < best[0] else best
            return best

        def anchor(cmd):
            fresh()
            t, _, (o, rc, err) = measure(sh(cmd), runs=3)
            if rc != 0:
                sys.exit("anchor failed: " + err)
            return t

        for label, flags, tool in (("-Z", ["-Z"], "zstd -T2 -q"), ("-z", ["-z"], "gzip -1")):
            t, rss = ours(flags)
            a = anchor("dd if=%s bs=1M status=none | %s > %s/anchor" % (image, tool, out))
            a_sync = anchor("dd if=%s bs=1M status=none | %s > %s/anchor && sync %s/anchor" % (image, tool, out, out))
            print("  savecore %s             %s  %6.0f MiB/s  peak RSS %5.1f MiB" % (label, fmt_ms(t), mib / t, rss / 1024))
            print("  dd | %-18s %s  -> vmcore is %.2fx its throughput (target 0.9x)" % (tool, fmt_ms(a), a / t))
            print("  dd | %-13s + sync %s  -> vmcore is %.2fx" % (tool, fmt_ms(a_sync), a_sync / t))
        t, rss = ours([])
        a = anchor("dd if=%s bs=1M status=none of=%s/anchor && sync %s/anchor" % (image, out, out))
        print("  savecore (sparse copy)   %s  %6.0f MiB/s  peak RSS %5.1f MiB;  dd + sync %s -> %.2fx" % (fmt_ms(t), mib / t, rss / 1024, fmt_ms(a), a / t))

        print("== decrypt, %.0f MiB" % mib)
        if not shutil.which("openssl"):
            print("  openssl is not installed: skipped")
            return
        priv, pub = os.path.join(tmp, "private.pem"), os.path.join(tmp, "public.pem")
        subprocess.run(["openssl", "genrsa", "-out", priv, "2048"], check=True, capture_output=True)
        subprocess.run(["openssl", "rsa", "-in", priv, "-pubout", "-out", pub], check=True, capture_output=True)
        key, iv = os.urandom(64), os.urandom(32)
        wrapped = subprocess.run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", pub, "-pkeyopt", "rsa_padding_mode:oaep"],
                                 input=key, capture_output=True, check=True).stdout
        for name, code, args in (("ChaCha20", 2, ["-chacha20", "-iv", "0" * 16 + iv[:8].hex()]),
                                 ("AES-256-CBC", 1, ["-aes-256-cbc", "-nopad", "-iv", iv[:16].hex()])):
            keyfile, enc = os.path.join(tmp, "key.0"), os.path.join(tmp, "vmcore_encrypted.0")
            block = struct.pack(">B32sI", code, iv, len(wrapped)) + wrapped
            with open(keyfile, "wb") as f:
                f.write(block + bytes(-len(block) % 512))
            subprocess.run(["openssl", "enc", "-e"] + args + ["-K", key[:32].hex(), "-in", payload, "-out", enc], check=True)
            t, rss, (o, rc, err) = measure([VMCORE, "decrypt", "-f", "-p", priv, "-k", keyfile, "-e", enc, "-c", os.path.join(tmp, "vmcore.0")], runs=3)
            if rc != 0:
                sys.exit("vmcore decrypt failed: " + err)
            if subprocess.run(["cmp", "-s", payload, os.path.join(tmp, "vmcore.0")]).returncode != 0:
                sys.exit("vmcore decrypt: the output differs from the payload")
            dec = "openssl enc -d %s -K %s -in %s -out %s/openssl.out" % (" ".join(args), key[:32].hex(), enc, tmp)
            a, _, _ = measure(sh(dec), runs=3)
            a_sync, _, _ = measure(sh(dec + " && sync %s/openssl.out" % tmp), runs=3)
            print("  vmcore decrypt %-11s %s  %6.0f MiB/s  peak RSS %5.1f MiB" % (name, fmt_ms(t), mib / t, rss / 1024))
            print("  openssl enc -d            %s  -> vmcore is %.2fx its throughput;  + sync %s -> %.2fx" % (fmt_ms(a), a / t, fmt_ms(a_sync), a_sync / t))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
