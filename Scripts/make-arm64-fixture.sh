#!/usr/bin/env bash
# Regenerates Tests/Fixtures/linux-6.12-arm64-small: a window of physical memory cut from one
# genuine crash of Debian's 6.12 arm64 kernel, plus what the guest said about itself.
#
#   bash Scripts/make-arm64-fixture.sh
#
# Every dump byte comes from real software: the kernel (Debian trixie's cloud-arm64 build,
# fetched by the arm64 lab in ../shared/lab/arm64) panics under qemu-system-aarch64 -machine
# virt -cpu cortex-a57 -device vmcoreinfo, and QEMU's dump-guest-memory writes an ELF core of
# one physical range of the stopped guest.
#
# Why a window: the whole 256 MiB guest compresses to 13 MB. The window runs from the 64 KiB
# page holding linux_banner to the end of "Kernel data" (iomem): it holds the read-only data
# with the banner, swapper_pg_dir and the tables that map the kernel image, init_uts_ns and
# the static printk ring. This kernel is built for 52-bit VA and runs with 48 bits on
# cortex-a57, so its PHYS_OFFSET is negative: the case most tools get wrong.
#
# Needs root (apt, QEMU) and Debian's apt, like the lab itself.
# Environment:
#   HLAB        the arm64 lab's data directory (default $HOME/vmcore-lab/kernels)
#   SUITE       Debian suite of the kernel (default trixie); KVER (default auto)
#   FIXTURE_OUT where to install (default Tests/Fixtures/linux-6.12-arm64-small)
#   MAX_BYTES   largest accepted compressed window (default 4194304)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
LAB_ARM64=$(cd "$REPO/../shared/lab/arm64" && pwd)
LAB_SCRIPTS=$(cd "$LAB_ARM64/.." && pwd)
OUT=${FIXTURE_OUT:-$REPO/Tests/Fixtures/linux-6.12-arm64-small}
export HLAB=${HLAB:-$HOME/vmcore-lab/kernels}
SUITE=${SUITE:-trixie}
KVER=${KVER:-auto}
MAX_BYTES=${MAX_BYTES:-4194304}
FILE=vmcore.qemu-elf-window.zst

log() { echo "=== $(date +%T) $*" >&2; }
die() { echo "make-arm64-fixture: $*" >&2; exit 1; }

for tool in qemu-system-aarch64 cpio zstd python3; do
  command -v "$tool" > /dev/null || die "needs $tool (the arm64 lab's build-tools.sh deps installs QEMU; apt-get install cpio zstd)"
done

# ---------------------------------------------------------------- kernel and initramfs
log "arm64 lab: fetch and initramfs ($SUITE, $KVER)"
KVER=$(bash "$LAB_ARM64/make-dumps.sh" arm64 "$SUITE" "$KVER" fetch initramfs 2>&1 | tee /dev/stderr \
  | sed -n 's/^=== [0-9:]* initramfs for \(.*\) (arm64)$/\1/p' | tail -1)
[ -n "$KVER" ] || die "the arm64 lab did not build an initramfs"
L=$HLAB/$KVER
VMLINUZ=$L/kernel/boot/vmlinuz-$KVER
[ -f "$VMLINUZ" ] && [ -f "$L/build/initramfs-qemu.cpio.gz" ] || die "missing the kernel or initramfs in $L"

WORK=$(mktemp -d)
trap 'pkill -F "$WORK/qemu.pid" 2>/dev/null || true; rm -rf "$WORK"' EXIT
S=$WORK/stage
mkdir -p "$S"

# ---------------------------------------------------------------- one crash
log "crash under qemu-system-aarch64 (TCG, cortex-a57, 256 MiB, 2 CPUs, -device vmcoreinfo)"
qemu-system-aarch64 -machine virt -accel tcg,thread=multi -cpu cortex-a57 -m 256M -smp 2 -display none \
  -monitor none -serial "file:$WORK/serial.log" -no-reboot -action panic=pause \
  -qmp "unix:$WORK/qmp.sock,server=on,wait=off" -pidfile "$WORK/qemu.pid" -device vmcoreinfo \
  -kernel "$VMLINUZ" -initrd "$L/build/initramfs-qemu.cpio.gz" \
  -append "console=ttyAMA0 loglevel=7 panic=0 lab.mode=qemu" > "$WORK/qemu-stdout.txt" 2>&1 &
sleep 1
python3 "$LAB_SCRIPTS/qmp.py" "$WORK/qmp.sock" wait-panic "$WORK/serial.log" 600 >&2 || die "the guest did not panic"

tr -d '\r' < "$WORK/serial.log" | sed -n '/LAB-TRUTH-BEGIN/,/LAB-TRUTH-END/p;/LAB-PS-BEGIN/,/LAB-PS-END/p' > "$S/truth.txt"
sed -n 's/.*\(LAB-MARKER [0-9a-f]*\).*/\1/p' "$WORK/serial.log" | head -1 > "$S/marker.txt"
[ -s "$S/marker.txt" ] || die "no marker line on the serial console"

# The window: from the 64 KiB page with linux_banner to the end of "Kernel data".
field() { awk -v k="$1" '$1 == "kallsyms:" && $4 == k { print $2 }' "$S/truth.txt"; }
text_va=$((16#$(field _text))); banner_va=$((16#$(field linux_banner)))
code_pa=$((16#$(awk '/iomem:.*Kernel code/ { split($2, r, "-"); print r[1] }' "$S/truth.txt")))
data_end=$((16#$(awk '/iomem:.*Kernel data/ { split($2, r, "-"); print r[2] }' "$S/truth.txt") + 1))
banner_pa=$(( banner_va - text_va + code_pa ))
begin=$(( banner_pa & ~0xffff ))
length=$(( ((data_end + 0xffff) & ~0xffff) - begin ))
log "window $(printf '0x%x-0x%x' $begin $((begin + length)))"
python3 "$SCRIPT_DIR/qmp_dump_range.py" "$WORK/qmp.sock" "$WORK/vmcore.elf" "$begin" "$length" >&2 || die "dump-guest-memory failed"
python3 "$LAB_SCRIPTS/qmp.py" "$WORK/qmp.sock" quit > /dev/null 2>&1 || true
python3 - "$WORK/vmcore.elf" "$banner_pa" <<'PY' || die "the window does not hold linux_banner where the guest's numbers put it"
import struct, sys
path, pa = sys.argv[1], int(sys.argv[2])
with open(path, "rb") as f:
    d = f.read(4096)
    phoff, phnum = struct.unpack_from("<Q", d, 32)[0], struct.unpack_from("<H", d, 56)[0]
    for i in range(phnum):
        t, _, off, _, paddr, filesz = struct.unpack_from("<IIQQQQ", d, phoff + 56 * i)
        if t == 1 and paddr <= pa < paddr + filesz:
            f.seek(off + pa - paddr)
            sys.exit(0 if f.read(14) == b"Linux version " else 1)
sys.exit(1)
PY

# The lab's own derivation of KASLR offset, kimage_voffset and PHYS_OFFSET (arm64/truth.py),
# run on a scratch copy of the lab's layout.
mkdir -p "$WORK/lab/dumps/window"
ln -s "$L/dbg" "$WORK/lab/dbg"; ln -s "$L/kernel" "$WORK/lab/kernel"; cp "$L/KVER" "$WORK/lab/KVER"
cp "$S/truth.txt" "$S/marker.txt" "$WORK/serial.log" "$WORK/lab/dumps/window/"
python3 "$LAB_ARM64/truth.py" "$WORK/lab" arm64 > /dev/null
cp "$WORK/lab/dumps/window/truth.txt" "$S/truth.txt"
grep -q "^guest kimage_voffset: " "$S/truth.txt" || die "truth.py derived no kimage_voffset"

zstd -q -19 "$WORK/vmcore.elf" -o "$S/$FILE"
size=$(stat -c %s "$S/$FILE")
(( size <= MAX_BYTES )) || die "$FILE is $size bytes, over $MAX_BYTES"

release=$(sed -n 's/^uname -r: //p' "$S/truth.txt")
version=$(sed -n 's/^uname -v: //p' "$S/truth.txt")
cat > "$S/README.md" <<EOT
# linux-6.12-arm64-small

A window of physical memory from one genuine crash of Linux $release (\`$version\`),
arm64: a 256 MiB \`qemu-system-aarch64 -machine virt -cpu cortex-a57 -smp 2 -device vmcoreinfo\`
guest with KASLR, panicked on CPU 1 by \`echo c > /proc/sysrq-trigger\` after writing the line in
\`marker.txt\` to its kernel log. QEMU's \`dump-guest-memory\` (format elf, paging false, begin
$(printf '0x%x' $begin), length $(printf '0x%x' $length)) wrote the ELF core of the stopped guest;
it is stored zstd-compressed ($size bytes; \`vmcore\` reads it as it is). No byte of it was
written by this project.

The kernel is built for 52-bit VA with 4 KiB pages and runs with 48-bit VA on cortex-a57
(VMCOREINFO \`NUMBER(VA_BITS)=52\`, \`NUMBER(TCR_EL1_T1SZ)=0x10\`), so its \`PHYS_OFFSET\` is
negative.

The window runs from the 64 KiB page holding \`linux_banner\` to the end of "Kernel data" in
\`/proc/iomem\`: the banner's read-only data, \`swapper_pg_dir\` and the tables that map the
kernel image, \`init_uts_ns\`, and the static printk ring with the whole kernel log. The
linear map's own tables (at the top of RAM) are outside it.

- \`truth.txt\`: what the guest printed before the crash (\`uname\`, kallsyms of \`_text\`,
  \`_stext\`, \`linux_banner\`, \`init_task\`, \`_end\`, \`/proc/iomem\`, the physical address of its
  VMCOREINFO note, \`ps\`) and, in the LAB-DERIVED block, what the lab's \`arm64/truth.py\` derives
  from it and from the panic's own \`Kernel Offset\` and \`PHYS_OFFSET\` lines: KASLR offset,
  \`kimage_voffset\`, the physical address of "Kernel code".
- \`marker.txt\`: the marker line the crashed kernel's log holds.

Regenerate (as root on Debian 12; a new crash, so every byte and address changes):

    bash Scripts/make-arm64-fixture.sh
EOT

# No machine paths in anything committed.
if grep -rIl -e "$WORK" -e "$HLAB" -e "$REPO" "$S" > /dev/null 2>&1; then
  grep -rIl -e "$WORK" -e "$HLAB" -e "$REPO" "$S" >&2; die "machine paths in the fixture text"
fi
log "installing into $OUT"
chmod 644 "$S"/*
rm -rf "$OUT.new"; cp -r "$S" "$OUT.new"; chmod 755 "$OUT.new"
rm -rf "$OUT"; mv "$OUT.new" "$OUT"
ls -l "$OUT" >&2
