#!/usr/bin/env bash
# `make fuzz`: builds vmcore-fuzz with libFuzzer and runs each fuzz target for a while.
#
#   Scripts/fuzz.sh [TARGET…]     every target when none is named (vmcore-fuzz --list)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_RUNS      stop a target after this many inputs, if that comes first (0: no limit)
#   FUZZ_JOBS      targets run at once (default: the number of processors)
#   FUZZ_BUILD     the libFuzzer build's directory (default .build/fuzz)
#   FUZZ_DIR       where corpora, crashes and logs go (default .build/fuzz-work); corpora
#                  are kept between runs, so each run starts where the last one ended
#
# Each target runs with a 1 s limit per input, 1 GiB of RSS and 1 GiB per allocation. A
# crash, a trap, a timeout or an allocation over the limit fails the run: the input is saved
# under FUZZ_DIR/crashes/TARGET/, and the output names it. Replay one with
# `.build/debug/vmcore-fuzz TARGET FILE`, minimize it with `vmcore-fuzz TARGET -minimize_crash=1
# -runs=10000 FILE`, and commit it under Fuzz/Regressions/TARGET/ (the tests replay them all).
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
runs=${FUZZ_RUNS:-0}
jobs=${FUZZ_JOBS:-$(nproc)}
work=${FUZZ_DIR:-.build/fuzz-work}

build=${FUZZ_BUILD:-.build/fuzz}
swift build -c release --sanitize=fuzzer -Xswiftc -DVMCORE_LIBFUZZER --product vmcore-fuzz --scratch-path "$build"
bin=$build/release/vmcore-fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  mapfile -t targets < <("$bin" --list | cut -f1)
fi

# Seeds: the builders' small dumps, the committed regressions, and the heads of the committed
# real dumps (cut inside the descriptor table or the segment, which is how dumps go wrong).
rm -rf "$work/seeds"
"$bin" --seeds "$work/seeds"
fixtures=Tests/Fixtures/linux-6.1-small
for f in "$fixtures"/vmcore.kdump-*; do
  head -c 98304 "$f" > "$work/seeds/kdump/head-$(basename "$f")"
done
head -c 65536 "$fixtures/vmcore.qemu-elf-1M" > "$work/seeds/elf/head-vmcore.qemu-elf-1M"
for t in "${targets[@]}"; do
  mkdir -p "$work/corpus/$t" "$work/crashes/$t" "$work/logs"
  if [ -d "Fuzz/Regressions/$t" ]; then cp Fuzz/Regressions/"$t"/* "$work/seeds/$t/" 2>/dev/null || true; fi
done

export SWIFT_BACKTRACE=enable=no   # let libFuzzer catch the trap and save the input
run_target() {
  local t=$1 dict=()
  local name
  name=$("$bin" --list | awk -F'\t' -v t="$t" '$1 == t { print $3 }')
  if [ -n "$name" ] && [ -f "Fuzz/Dictionaries/$name.dict" ]; then dict=(-dict="Fuzz/Dictionaries/$name.dict"); fi
  local limit=(-max_total_time="$seconds")
  if [ "$runs" != 0 ]; then limit+=(-runs="$runs"); fi
  if "$bin" "$t" "${limit[@]}" -timeout=1 -rss_limit_mb=1024 -malloc_limit_mb=1024 -max_len=300000 \
       -use_value_profile=1 -print_final_stats=1 "${dict[@]}" -artifact_prefix="$work/crashes/$t/" \
       "$work/corpus/$t" "$work/seeds/$t" > "$work/logs/$t.log" 2>&1; then
    local execs rate
    execs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$work/logs/$t.log")
    rate=$(awk '/stat::average_exec_per_sec/ { print $2 }' "$work/logs/$t.log")
    printf '%-14s ok    %10s inputs  %7s/s\n' "$t" "$execs" "$rate"
  else
    printf '%-14s FAIL  see %s; input in %s\n' "$t" "$work/logs/$t.log" "$work/crashes/$t/" >&2
    grep -m3 -E 'ERROR: libFuzzer|Fatal error|SUMMARY|deadly signal|timeout|out-of-memory|malloc' "$work/logs/$t.log" >&2 || true
    return 1
  fi
}

status=0
running=0
pids=()
for t in "${targets[@]}"; do
  run_target "$t" & pids+=($!)
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
exit $status
