#!/usr/bin/env bash
# Regenerates Tests/Fixtures/linux-6.1-small: a few small files cut from one
# genuine Linux 6.1 kernel crash dump, plus what the reference tools print on them.
#
#   bash Scripts/make-fixtures.sh
#
# Every dump byte comes from real tools: the Debian 12 cloud kernel panics under
# QEMU, its own kdump capture kernel saves /proc/vmcore (the lab's `kdump` step in
# ../shared/lab), makedumpfile cuts kdump-compressed pieces out of it with --split,
# and QEMU's dump-guest-memory writes an ELF of a 1 MiB physical range.
#
# Why pieces: the kernel image of this kernel alone (text + rodata) compresses to
# about 10 MB, so no complete dump fits the size budget. `makedumpfile --split`
# writes genuine kdump files that each hold one PFN range of the same dump; the
# script tries split counts until one piece holds what the tests need.
#
# Needs root (apt, QEMU, debugfs) and Debian's apt + PyPI, like the lab itself.
# Environment:
#   LAB         the lab's download/build directory (default $HOME/vmcore-lab)
#   LAB_STEPS   lab steps to run first (default "setup kernel initramfs")
#   ATTEMPTS    crashes to try at most (default 3)
#   TARGET_ZLIB a zlib piece above this (default 4194304 = 4 MiB) makes the script
#               try another crash, up to ATTEMPTS; the smallest set is kept
#   MAX_ZLIB    largest accepted zlib piece in bytes (default 4718592 = 4.5 MiB)
#   MAX_LZO     largest accepted lzo piece in bytes (default 3670016 = 3.5 MiB)
#   FIXTURE_OUT where to install (default Tests/Fixtures/linux-6.1-small)
#   KEEP_WORK=1 keep the scratch directory ($LAB/fixture-work)
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SCRIPT_DIR/.." && pwd)
LAB_SCRIPTS=$(cd "$REPO/../shared/lab" && pwd)
OUT=${FIXTURE_OUT:-$REPO/Tests/Fixtures/linux-6.1-small}
export LAB=${LAB:-$HOME/vmcore-lab}
LAB_STEPS=${LAB_STEPS:-setup kernel initramfs}
ATTEMPTS=${ATTEMPTS:-3}
TARGET_ZLIB=${TARGET_ZLIB:-4194304}
MAX_ZLIB=${MAX_ZLIB:-4718592}
MAX_LZO=${MAX_LZO:-3670016}
MAX_TOTAL=12582912
PY=/usr/bin/python3   # Debian's python: the one with python3-libkdumpfile

ZLIB_FILE=vmcore.kdump-zlib-d31-split
LZO_FILE=vmcore.kdump-lzo-d31-split
ELF_FILE=vmcore.qemu-elf-1M
ELF_WINDOW=$((1 << 20))

log() { echo "=== $(date +%T) $*" >&2; }
die() { echo "make-fixtures: $*" >&2; exit 1; }

# ---------------------------------------------------------------- the lab
log "lab steps: $LAB_STEPS"
# shellcheck disable=SC2086
bash "$LAB_SCRIPTS/make-linux-dumps.sh" $LAB_STEPS

KVER=$(cat "$LAB/kernel/KVER")
VMLINUX=$LAB/dbg/usr/lib/debug/boot/vmlinux-$KVER
SYSMAP=$LAB/dbg/usr/lib/debug/boot/System.map-$KVER   # the one in linux-image-* is a placeholder
[ -f "$VMLINUX" ] && [ -f "$SYSMAP" ] || die "missing $VMLINUX or $SYSMAP"

WORK=$LAB/fixture-work
rm -rf "$WORK"; mkdir -p "$WORK"
cleanup() { [ "${KEEP_WORK:-0}" = 1 ] || rm -rf "$WORK"; }
trap cleanup EXIT

# The kdump step runs in its own lab directory that shares the downloaded kernel
# and the built initramfs, so the lab's own dumps are left alone.
KLAB=$WORK/lab
mkdir -p "$KLAB"
for d in kernel dbg build; do ln -s "$LAB/$d" "$KLAB/$d"; done
D=$KLAB/dumps/kdump-kaslr-1G

# ---------------------------------------------------------------- helpers
# Link-time address of a System.map symbol, as a decimal number.
sym() { local a; a=$(awk -v s="$1" '$3 == s { print $1; exit }' "$SYSMAP"); [ -n "$a" ] || die "no $1 in System.map"; echo $((16#$a)); }

# "start_pfn end_pfn" (hex) of a split kdump file, from its kdump_sub_header
# (start_pfn_64 / end_pfn_64, header_version >= 6).
piece_range() {
  "$PY" - "$1" <<'EOF'
import struct, sys
with open(sys.argv[1], "rb") as f:
    head = f.read(4096 + 128)
version = struct.unpack_from("<i", head, 8)[0]
sub = struct.unpack_from("<QiiQQQQQQQQQQQ", head, 4096)
if version < 6 or sub[2] != 1:
    sys.exit("not a split kdump file (header_version %d, split %d)" % (version, sub[2]))
print("%#x %#x" % (sub[11], sub[12]))
EOF
}

# dump-guest-memory over QMP: ELF of the physical range [BEGIN, BEGIN+LENGTH).
qmp_dump_elf_range() { "$PY" "$SCRIPT_DIR/qmp_dump_range.py" "$@"; }   # SOCK OUTFILE BEGIN LENGTH

# makedumpfile --split into N pieces; echoes "SIZE INDEX START END" of the piece
# holding PFNs [lo, hi], or nothing. Runs in the current directory.
split_and_find() { # codec splitblock_kib n lo hi [extra makedumpfile args...]
  local codec=$1 sb=$2 n=$3 lo=$4 hi=$5; shift 5
  local outs=() i
  rm -f piece.*
  for ((i = 0; i < n; i++)); do outs+=("piece.$i"); done
  makedumpfile "$codec" -d 31 --splitblock-size "$sb" "$@" --split vmcore "${outs[@]}" > split.log 2>&1 || return 0
  for ((i = 0; i < n; i++)); do
    read -r s e < <(piece_range "piece.$i")
    if (( s <= lo && hi < e )); then echo "$(stat -c %s "piece.$i") $i $s $e"; return 0; fi
  done
}

# Tries split counts and split-block sizes (KiB); leaves the smallest piece that
# holds PFNs [lo, hi], is at most MAX bytes and passes CHECK (optional command)
# as ../NAME, its makedumpfile command line (relative paths) in ../NAME.cmd.
# A split file keeps the whole dump's bitmaps and a page-descriptor table sized
# for the whole dump (about 0.6 MB for this 1 GiB guest), so the fixed part of
# every piece is large and the fit of the piece boundaries decides the rest.
search_piece() { # name codec lo hi max "splitblock sizes" max_n [check]
  local name=$1 codec=$2 lo=$3 hi=$4 max=$5 sbs=$6 nmax=$7 check=${8:-}
  local best="" smallest="" sb n r size idx
  for sb in $sbs; do
    for n in $(seq 2 "$nmax"); do
      r=$(split_and_find "$codec" "$sb" "$n" "$lo" "$hi")
      [ -n "$r" ] || continue
      read -r size idx _ _ <<< "$r"
      if [ -z "$smallest" ] || (( size < smallest )); then smallest=$size; fi
      (( size <= max )) || continue
      if [ -n "$best" ] && (( size >= ${best%% *} )); then continue; fi
      if [ -n "$check" ] && ! $check "piece.$idx" > /dev/null 2>&1; then continue; fi
      best="$size $sb $n $idx"
    done
  done
  echo "$name: smallest piece holding the range ${smallest:-none} bytes; chosen ${best:-none} (size splitblock n index)" >&2
  [ -n "$best" ] || return 1
  read -r size sb n idx <<< "$best"
  # Final run with the DWARF vmlinux as well (same filtering; kept if the same
  # piece still fits and passes the check), with makedumpfile's page report.
  local args=("$codec" -d 31 -x vmlinux --splitblock-size "$sb" --message-level 22 --split vmcore)
  if ! final_ok "$(split_and_find "$codec" "$sb" "$n" "$lo" "$hi" -x vmlinux --message-level 22)" "$idx" "$check"; then
    args=("$codec" -d 31 --splitblock-size "$sb" --message-level 22 --split vmcore)
    final_ok "$(split_and_find "$codec" "$sb" "$n" "$lo" "$hi" --message-level 22)" "$idx" "$check" || return 1
  fi
  mv "piece.$idx" "../$name"
  grep -v '^STEP \[' split.log > "../$name.split-log"   # drop the timings
  echo "makedumpfile ${args[*]} piece.{0..$((n - 1))}   # keeps piece.$idx" > "../$name.cmd"
  echo "$FINAL $sb $n" > "../$name.facts"   # size index start end splitblock n
  rm -f piece.*
}

# Accepts a split_and_find result for the final run: same piece index, small
# enough, passes the check. Leaves it in FINAL.
final_ok() { # result index check  (uses the caller's max)
  local r=$1 idx=$2 check=$3 size i
  [ -n "$r" ] || return 1
  read -r size i _ _ <<< "$r"
  [ "$i" = "$idx" ] && (( size <= max )) || return 1
  if [ -n "$check" ] && ! $check "piece.$idx" > /dev/null 2>&1; then return 1; fi
  FINAL=$r
}

kdumpfile_banner_ok() { "$PY" "$LAB_SCRIPTS/ref_kdumpfile.py" "$1" "$SYSMAP" | grep -q '^RESULT: OK'; }

# ---------------------------------------------------------------- one crash
# One crash: leaves the fixture files in $1/stage and the facts about how they
# were made in $1 (*.cmd, *.facts, elf-begin).
one_attempt() { # attempt-dir
  local T=$1 S=$1/stage
  rm -rf "$T" "$KLAB/dumps"; mkdir -p "$S/reference"

  log "crash + kdump capture (lab step kdump)"
  LAB=$KLAB bash "$LAB_SCRIPTS/make-linux-dumps.sh" kdump > "$WORK/kdump.log" 2>&1 &
  local kpid=$! t=0
  # While the capture kernel runs, the crashed kernel's memory is still intact;
  # take QEMU's ELF of a 1 MiB window around linux_banner then.
  until grep -q 'LAB-CAPTURE: capture kernel up' "$D/serial.log" 2>/dev/null; do
    kill -0 "$kpid" 2>/dev/null || { wait "$kpid" || true; tail -20 "$WORK/kdump.log" >&2; return 1; }
    sleep 0.5; t=$((t + 1)); (( t < 2400 )) || { echo "capture kernel did not come up" >&2; return 1; }
  done
  tr -d '\r' < "$D/serial.log" | sed -n '/LAB-TRUTH-BEGIN/,/LAB-TRUTH-END/p' > "$WORK/truth-early.txt"
  local text_va code_pa
  text_va=$((16#$(awk '$1 == "kallsyms:" && $4 == "_text" { print $2 }' "$WORK/truth-early.txt")))
  code_pa=$((16#$(awk '/iomem:.*Kernel code/ { split($2, r, "-"); print r[1] }' "$WORK/truth-early.txt")))
  local link_text; link_text=$(sym _text)
  pa() { echo $(( code_pa + $1 - link_text )); }   # link-time kernel-image address -> physical
  local banner_pa; banner_pa=$(pa "$(sym linux_banner)")
  local begin=$(( banner_pa & ~(ELF_WINDOW - 1) ))
  (( banner_pa + 256 <= begin + ELF_WINDOW )) || die "linux_banner too close to the end of its 1 MiB window"
  qmp_dump_elf_range "$D/qmp.sock" "$S/$ELF_FILE" "$begin" "$ELF_WINDOW" > "$WORK/elf-dump.json" \
    || { cat "$WORK/elf-dump.json" >&2; wait "$kpid" || true; return 1; }
  wait "$kpid" || { tail -20 "$WORK/kdump.log" >&2; return 1; }
  [ -f "$D/vmcore.elf" ] || { echo "kdump step left no vmcore.elf" >&2; return 1; }
  cp "$D/truth.txt" "$D/marker.txt" "$S/"

  # PFN ranges the pieces must hold.
  #  zlib piece: linux_banner and the kernel page tables that map it
  #    (init_top_pgt -> level3_kernel_pgt -> level2_kernel_pgt), so a reader can
  #    walk them; it spans the kallsyms tables and BTF, which follow linux_banner.
  #  lzo piece: linux_banner and the kallsyms tables right after it.
  local banner_pfn l2_pfn ktab_pfn
  banner_pfn=$(( banner_pa >> 12 ))
  l2_pfn=$(( $(pa "$(sym level2_kernel_pgt)") >> 12 ))
  ktab_pfn=$(( ($(pa "$(sym kallsyms_token_index)") + 0x1ff) >> 12 ))
  (( l2_pfn > banner_pfn && ktab_pfn > banner_pfn )) || die "unexpected kernel image layout"

  mkdir -p "$WORK/split" && cd "$WORK/split"
  ln -sf "$D/vmcore.elf" vmcore; ln -sf "$VMLINUX" vmlinux
  log "searching makedumpfile --split for a zlib piece holding PFNs $(printf '0x%x-%#x' $banner_pfn $l2_pfn)"
  search_piece "$ZLIB_FILE" -c "$banner_pfn" "$l2_pfn" "$MAX_ZLIB" "16 32 48 64 96 128 160 192 256 320 384 512" 16 \
    kdumpfile_banner_ok || { echo "no zlib piece fits" >&2; return 1; }
  log "searching makedumpfile --split for an lzo piece holding PFNs $(printf '0x%x-%#x' $banner_pfn $((ktab_pfn + 1)))"
  search_piece "$LZO_FILE" -l "$banner_pfn" "$((ktab_pfn + 1))" "$MAX_LZO" "32 64 128 160 256 320" 40 \
    || { echo "no lzo piece fits" >&2; return 1; }

  # The whole dump's kernel log (makedumpfile reads the kernel's own ELF), for
  # comparing printk readers; it must hold the marker line.
  mkdir -p "$S/reference/whole-dump"
  rm -f "$WORK/split/dmesg.txt"   # makedumpfile will not overwrite it
  ( cd "$WORK/split" && makedumpfile --dump-dmesg vmcore dmesg.txt > dmesg.log 2>&1 ) || true
  grep -qF "$(cat "$S/marker.txt")" "$WORK/split/dmesg.txt" || { echo "marker not in the kernel log" >&2; return 1; }
  cp "$WORK/split/dmesg.txt" "$S/reference/whole-dump/makedumpfile-dump-dmesg.txt"
  local f
  for f in "$ZLIB_FILE" "$LZO_FILE"; do
    mv "$WORK/$f" "$S/"
    mv "$WORK/$f.split-log" "$S/reference/whole-dump/makedumpfile-split-${f#vmcore.}.log"
    mv "$WORK/$f.cmd" "$WORK/$f.facts" "$T/"
  done
  echo "$begin" > "$T/elf-begin"
  cd "$WORK"
}

# How well the zlib piece fits depends on where KASLR put the kernel, so a crash
# whose zlib piece is over TARGET_ZLIB is followed by another one, and the
# smallest set wins.
best=""
for ((a = 1; a <= ATTEMPTS; a++)); do
  if ! one_attempt "$WORK/try.$a"; then log "attempt $a failed"; continue; fi
  size=$(stat -c %s "$WORK/try.$a/stage/$ZLIB_FILE")
  if [ -z "$best" ] || (( size < $(stat -c %s "$WORK/try.$best/stage/$ZLIB_FILE") )); then best=$a; fi
  (( size > TARGET_ZLIB )) || break
  log "attempt $a: zlib piece $size bytes, over $TARGET_ZLIB"
done
[ -n "$best" ] || die "no fitting fixture set after $ATTEMPTS crashes"
T=$WORK/try.$best
S=$T/stage

# ---------------------------------------------------------------- reference outputs
# Run in the stage directory with relative names, so no machine path gets in.
log "reference tools"
for f in "$ZLIB_FILE" "$LZO_FILE" "$ELF_FILE"; do
  R=$S/reference/$f; mkdir -p "$R"
  ( cd "$S"
    set +e
    "$PY" "$LAB_SCRIPTS/ref_kdumpfile.py" "$f" "$SYSMAP" > "reference/$f/kdumpfile.txt" 2>&1
    echo "rc=$?" > "reference/$f/kdumpfile.rc"
    makedumpfile --dump-dmesg "$f" "reference/$f/makedumpfile-dump-dmesg.txt" > "reference/$f/makedumpfile-dump-dmesg.log" 2>&1
    echo "rc=$?" > "reference/$f/makedumpfile-dump-dmesg.rc"
    # -D prints the headers as makedumpfile parsed them; that log is kept, its dmesg not.
    makedumpfile -D --dump-dmesg "$f" dmesg.scratch > "reference/$f/makedumpfile-headers.txt" 2>&1
    rm -f dmesg.scratch
    true )
done

# ---------------------------------------------------------------- facts + README
text_va=$((16#$(awk '$1 == "kallsyms:" && $4 == "_text" { print $2 }' "$S/truth.txt")))
code_pa=$((16#$(awk '/iomem:.*Kernel code/ { split($2, r, "-"); print r[1] }' "$S/truth.txt")))
kaslr=$(( text_va - 0xffffffff81000000 ))
phys_base=$(( code_pa - (text_va - 0xffffffff80000000) ))
grep -q "KERNELOFFSET=$(printf '%x' $kaslr)\$" "$S/reference/$ZLIB_FILE/kdumpfile.txt" || die "KASLR offset disagrees with VMCOREINFO"
grep -q "linux.phys_base: $(printf '0x%x' $phys_base)\$" "$S/reference/$ZLIB_FILE/kdumpfile.txt" || die "phys_base disagrees with the dump"

total=0
for f in "$ZLIB_FILE" "$LZO_FILE" "$ELF_FILE"; do total=$(( total + $(stat -c %s "$S/$f") )); done
(( total <= MAX_TOTAL )) || die "fixture files total $total bytes, over $MAX_TOTAL"

piece_line() { # file -> "piece.I of N, PFNs [a, b), splitblock S KiB"
  local size idx s e sb n; read -r size idx s e sb n < "$T/$1.facts"
  printf '`piece.%d` of %d (`--splitblock-size %d`), PFNs [0x%x, 0x%x)' "$idx" "$n" "$sb" "$s" "$e"
}
elf_begin=$(cat "$T/elf-begin")
sizes() { stat -c %s "$S/$1"; }
release=$(sed -n 's/^uname -r: //p' "$S/truth.txt")
version=$(sed -n 's/^uname -v: //p' "$S/truth.txt")

cat > "$S/README.md" <<EOF
# linux-6.1-small

Small files cut from one genuine crash dump of Linux $release
(\`$version\`), x86-64: a 1 GiB QEMU guest with KASLR, panicked on CPU 1 by
\`echo c > /proc/sysrq-trigger\` after writing the line in \`marker.txt\` to its kernel log.
The kernel's own kdump capture kernel saved \`/proc/vmcore\`; makedumpfile 1.7.2 and
QEMU 7.2 (Debian 12) cut these files from that crash. No byte of a dump file was written
by this project.

| file | bytes | made by | what it is |
|---|---|---|---|
| \`$ZLIB_FILE\` | $(sizes "$ZLIB_FILE") | makedumpfile \`-c -d 31 --split\` | kdump-compressed, zlib pages, dump level 31, split file $(piece_line "$ZLIB_FILE") |
| \`$LZO_FILE\` | $(sizes "$LZO_FILE") | makedumpfile \`-l -d 31 --split\` | kdump-compressed, lzo pages, dump level 31, split file $(piece_line "$LZO_FILE") |
| \`$ELF_FILE\` | $(sizes "$ELF_FILE") | QEMU \`dump-guest-memory\`, format elf, paging false, begin $(printf '0x%x' "$elf_begin"), length $(printf '0x%x' $ELF_WINDOW) | ELF core in QEMU's layout: one PT_LOAD for that physical range (p_vaddr = p_paddr), notes: NT_PRSTATUS and QEMU CPU state per CPU, VMCOREINFO |

Kernel: KASLR offset $(printf '0x%x' $kaslr), phys_base $(printf '0x%x' $phys_base) (64-bit two's
complement), both as in VMCOREINFO (\`KERNELOFFSET\`, \`NUMBER(phys_base)\`) and in \`truth.txt\`.

The kdump files are pieces of one \`makedumpfile --split\` run each (the whole dump does not
fit: the kernel image alone compresses to about 10 MB). Each piece has:
- the full headers, the VMCOREINFO note and the ELF notes of the whole dump;
- \`split\` = 1 and its PFN range in \`start_pfn_64\`/\`end_pfn_64\` (and the 32-bit
  \`start_pfn\`/\`end_pfn\`) of the kdump sub-header;
- both bitmaps of the *whole* dump (bits set outside the piece's range too);
- a page-descriptor table with room for every dumpable page of the whole dump: the
  piece's own descriptors come first, one per dumpable PFN from \`start_pfn_64\` on, the
  rest of the table is zeros, and page data starts after the whole table (first the shared
  zero page). A reader must count dumpable PFNs from \`start_pfn_64\`, not from PFN 0.

Contents:
- zlib piece: \`linux_banner\`, the kallsyms tables and BTF after it, and the kernel page
  tables that map them (\`init_top_pgt\`, \`level3_kernel_pgt\`, \`level2_kernel_pgt\`), so
  \`linux_banner\` can be read by kernel virtual address through a page-table walk.
- lzo piece: \`linux_banner\` and the kallsyms tables, not the page tables (read by
  physical address: \`_text\` phys + offset).
- ELF: the 1 MiB physical window holding \`linux_banner\`. QEMU wrote it while the capture
  kernel was running: the crashed kernel's memory was intact, and its VMCOREINFO note is
  the crashed kernel's, but the CPU notes show the state at that moment (CPU 0 still
  stopped in the crashed kernel, CPU 1 running the capture kernel).

Other files:
- \`truth.txt\`: what the guest printed before the crash: \`uname -r\`/\`-v\`, the kernel
  command line, kallsyms addresses of \`_stext\`, \`_text\`, \`linux_banner\`, \`init_task\`,
  \`_end\`, /proc/iomem (kernel code/rodata/data/bss physical ranges), the physical address
  of the kernel's own VMCOREINFO note, \`ps\`.
- \`marker.txt\`: the marker line the crashed kernel's log holds.
- \`reference/<file>/\`: what the reference tools printed on that file. \`kdumpfile.txt\`:
  libkdumpfile 0.5.1 through Python (format, arch, VMCOREINFO, \`linux_banner\` read by
  kernel virtual address; it succeeds on the zlib piece only, the others lack the page
  tables). \`makedumpfile-dump-dmesg.log\`: \`makedumpfile --dump-dmesg\`, which fails on all
  three: makedumpfile 1.7.2 does not honour the split range of a piece (it counts
  descriptors from PFN 0 and reads the wrong pages) and cannot read QEMU's ELF layout.
  \`makedumpfile-headers.txt\`: \`makedumpfile -D --dump-dmesg\`, the headers and
  VMCOREINFO as makedumpfile parsed them. \`*.rc\`: exit status.
- \`reference/whole-dump/\`: \`makedumpfile-dump-dmesg.txt\` is the kernel log of the whole
  crash (\`makedumpfile --dump-dmesg\` on \`/proc/vmcore\`); \`makedumpfile-split-*.log\` is
  makedumpfile's report of each split run (page counts of the whole dump by exclusion
  class).

Commands, run on the capture kernel's \`/proc/vmcore\` copy named \`vmcore\`, with \`vmlinux\`
the DWARF vmlinux from Debian's \`linux-image-$release-dbg\`:

    $(cat "$T/$ZLIB_FILE.cmd")
    $(cat "$T/$LZO_FILE.cmd")

Regenerate (as root on Debian 12; a new crash, so every byte and address changes):

    bash Scripts/make-fixtures.sh

The script runs the lab in \`../shared/lab\` (its \`setup\`, \`kernel\`, \`initramfs\` and \`kdump\`
steps), takes the QEMU ELF while the capture kernel runs, tries makedumpfile split counts
and split-block sizes until a piece holds the PFNs above within the size budget (up to
three crashes, keeping the smallest set), and records the reference outputs.
EOF

# No machine paths in anything committed.
if grep -rIl -e "$WORK" -e "$LAB" -e "$REPO" "$S" > /dev/null 2>&1; then
  grep -rIl -e "$WORK" -e "$LAB" -e "$REPO" "$S" >&2; die "machine paths in the fixture text"
fi

log "installing into $OUT"
find "$S" -type d -exec chmod 755 {} +; find "$S" -type f -exec chmod 644 {} +
mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT.new"; cp -r "$S" "$OUT.new"
rm -rf "$OUT"; mv "$OUT.new" "$OUT"
ls -l "$OUT" >&2
