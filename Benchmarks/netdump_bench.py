#!/usr/bin/env python3
"""netdump over loopback: `vmcore netdump send` to `vmcore netdumpd`, 1 GiB, as three processes.

There is no netdumpd for Linux to compare against (it needs Capsicum and kqueue), so the
figures are absolute, against the target: >= 100 MB/s on loopback without loss. Per-packet
cost is the limit (1448 payload bytes per packet at MTU 1500, every packet acked, at most 64
unacknowledged), so packets per second and the server's CPU time per packet are printed too.

Runs: without loss, then through netdump-relay with 5 % loss, 5 % duplication and 5 %
reordering in both directions (the relay is a third process on the same cores). For each:
wall time, MB/s, packets/s, resends, the server's CPU time and peak RSS, the server's RSS
sampled as the bytes arrive (it should stay flat), and whether the received file is
byte-identical. NETDUMP_MIB sets the payload size (default 1024).
"""
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", ".build", "release")
VMCORE = os.environ.get("VMCORE", os.path.join(BUILD, "vmcore"))
RELAY = os.environ.get("NETDUMP_RELAY", os.path.join(BUILD, "netdump-relay"))
MIB = int(os.environ.get("NETDUMP_MIB", "1024"))
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def make_payload(path, mib):
    """Incompressible bytes, written once (a page of random data repeated would also do)."""
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(mib):
            # Vary each MiB so that a misplaced block cannot go unnoticed.
            f.write(i.to_bytes(8, "little") + block[8:])


def run(label, payload, expected, loss=None):
    work = tempfile.mkdtemp(prefix="netdump-bench-")
    dumps = os.path.join(work, "dumps")
    os.mkdir(dumps)
    port = free_port()
    log = open(os.path.join(work, "server.log"), "w+")
    server = subprocess.Popen([VMCORE, "netdumpd", "-d", dumps, "-a", "127.0.0.1", "-p", str(port)], stderr=log)
    for _ in range(500):
        log.seek(0)
        if "server.listening" in log.read():
            break
        time.sleep(0.01)
    relay = None
    target = port
    if loss is not None:
        relay = subprocess.Popen([RELAY, "127.0.0.1", "127.0.0.1", str(port), str(loss), str(loss), str(loss)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        target = int(relay.stdout.readline().split()[1])

    cpu0 = cpu_seconds(server.pid)
    start = time.perf_counter()
    client = subprocess.Popen([VMCORE, "netdump", "send", "--server", "127.0.0.1:%d" % target, "--client-port", "0",
                               "--json", payload], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    core = os.path.join(dumps, "vmcore.127.0.0.1.0")
    samples = []
    while client.poll() is None:
        time.sleep(0.05)
        try:
            samples.append((os.path.getsize(core), rss_kib(server.pid)))
        except OSError:
            pass
    out, err = client.communicate()
    wall = time.perf_counter() - start
    if client.returncode != 0:
        sys.exit("netdump send failed: " + err.decode(errors="replace"))
    result = json.loads(out)
    for _ in range(1000):
        log.seek(0)
        if "dump.complete" in log.read() or "dump.incomplete" in log.read():
            break
        time.sleep(0.01)
    log.seek(0)
    server_log = log.read()
    server_cpu = cpu_seconds(server.pid) - cpu0
    server.send_signal(signal.SIGTERM)
    _, _, usage = os.wait4(server.pid, 0)
    peak = usage.ru_maxrss
    relay_line = ""
    if relay:
        relay.stdin.close()
        relay_line = relay.stdout.read().strip()
        relay.wait()
    identical = os.path.exists(core) and sha256(core) == expected and "dump.complete" in server_log

    packets = result["packets"]
    print("== %s" % label)
    print("  %.0f MiB in %.2f s: %.1f MB/s, %d packets, %.0f packets/s (target >= 100 MB/s without loss: %s)" % (
        result["bytes"] / 1048576, wall, result["bytes"] / 1e6 / wall, packets, packets / wall,
        ("met" if result["bytes"] / 1e6 / wall >= 100 else "MISSED") if loss is None else "n/a"))
    print("  resent: %d on the 1 s timer, %d after three later packets were acked, %d after a few round trips" % (
        result["retransmissions"], result["fastRetransmissions"], result["earlyRetransmissions"]))
    print("  server CPU %.2f s (%.1f us per packet received), peak RSS %.1f MiB" % (
        server_cpu, server_cpu / max(packets, 1) * 1e6, peak / 1024))
    if samples:
        picks = [samples[int(i * (len(samples) - 1) / 4)] for i in range(5)]
        print("  server RSS as bytes arrive: " + ", ".join("%.0f MiB at %.0f MiB" % (r / 1024, b / 1048576) for b, r in picks))
    if relay_line:
        print("  relay: " + relay_line)
    print("  received file byte-identical: %s" % ("yes" if identical else "NO"))
    subprocess.run(["rm", "-rf", work])
    return identical


def main():
    for tool in (VMCORE, RELAY):
        if not os.access(tool, os.X_OK):
            sys.exit("%s is missing: run `make release` (swift build -c release) first" % tool)
    tmp = tempfile.mkdtemp(prefix="netdump-payload-")
    payload = os.path.join(tmp, "vmcore.0")
    make_payload(payload, MIB)
    expected = sha256(payload)
    ok = run("%d MiB over loopback, no loss" % MIB, payload, expected)
    ok = run("%d MiB through the relay: 5 %% loss, 5 %% duplication, 5 %% reordering" % MIB, payload, expected, loss=0.05) and ok
    subprocess.run(["rm", "-rf", tmp])
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
