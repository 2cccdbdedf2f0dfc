#!/usr/bin/env bash
# Checks the seams ARCHITECTURE.md sets, which the compiler cannot: the translation target knows
# no dump format and imports nothing of VMCore; unsafe pointer code stays in the few files named
# for it; the libraries never print.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0

# Address translation is data about architectures: no container format may be named in it.
if grep -rnE '\b(ELF|Elf|kdump|Kdump|KDUMP|minidump|Minidump|diskdump|flattened|Flattened|textdump|Textdump|makedumpfile|QEMU|VMCOREINFO)\b' \
     Sources/VMCoreTranslation; then
  echo "check-seams: Sources/VMCoreTranslation names a dump format (above); formats belong in VMCore/Formats" >&2
  fail=1
fi
if grep -rnE '^\s*(@_exported\s+)?import\s+(VMCore|VMCoreNet)\s*$' Sources/VMCoreTranslation; then
  echo "check-seams: Sources/VMCoreTranslation imports a VMCore module (above)" >&2
  fail=1
fi

# Raw pointers stay in the few files named for them, each saying why in its header.
unsafe=$(grep -rlE 'Unsafe|withMemoryRebound|assumingMemoryBound|withUnsafe' Sources --include='*.swift' | grep -v '^Sources/VMCoreTestSupport/' | sort)
if [ "$(printf '%s' "$unsafe" | grep -c .)" -gt 4 ]; then
  echo "check-seams: unsafe pointer code is in more than 4 files under Sources/:" >&2
  echo "$unsafe" >&2
  fail=1
fi
# The fuzz targets take their input as bytes; only the libFuzzer entry points see a pointer.
fuzzUnsafe=$(grep -rlE 'Unsafe|withMemoryRebound|assumingMemoryBound|withUnsafe' Fuzz --include='*.swift' | sort)
if [ -n "$fuzzUnsafe" ] && [ "$fuzzUnsafe" != "Fuzz/Driver/VMCoreFuzz.swift" ]; then
  echo "check-seams: unsafe pointer code in Fuzz/ outside Fuzz/Driver/VMCoreFuzz.swift:" >&2
  echo "$fuzzUnsafe" >&2
  fail=1
fi

# Every fuzz target's name is a directory name for its saved crashers; each must exist.
for dir in Fuzz/Regressions/*/; do
  [ -d "$dir" ] || continue
  name=$(basename "$dir")
  if ! grep -rq "\"$name\"" Fuzz/Targets; then
    echo "check-seams: Fuzz/Regressions/$name names no fuzz target" >&2
    fail=1
  fi
done

# The libraries hand text to their callers; only the CLI writes to the terminal.
if grep -rnE '(^|[^.A-Za-z_])(print|fputs|debugPrint|printError)\(|\bstderr\b|\bstdout\b|write\((1|2),' \
     Sources/VMCore Sources/VMCoreTranslation Sources/VMCoreNet | grep -vE '^[^:]+:[0-9]+:\s*//'; then
  echo "check-seams: a library writes to standard output or error (above)" >&2
  fail=1
fi

exit $fail
