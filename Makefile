# swift-vmcore: the two newcomer commands are `make demo` and `make test`.
SAMPLE ?= Tests/Fixtures/linux-6.1-small/vmcore.kdump-zlib-d31-split
SWIFT_BUILD_FLAGS ?=

.PHONY: demo test build release deps bench fixtures fuzz fuzz-smoke clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

# Release builds are fully static executables (the Swift runtime, glibc and the page codecs
# linked in): one binary to copy to any x86-64 Linux machine, with nothing for the dynamic
# loader to do at start-up. Host names resolve through /etc/hosts and DNS, which the static
# glibc has built in; other nsswitch.conf modules (systemd-resolved, mDNS) load only where the
# machine's glibc is the version linked in.
release: deps
	swift build -c release -Xswiftc -static-executable $(SWIFT_BUILD_FLAGS)

# The main job on the bundled sample dump.
demo: release
	.build/release/vmcore info $(SAMPLE)

test: deps
	bash Scripts/check-seams.sh
	swift test $(SWIFT_BUILD_FLAGS)

# libFuzzer on every fuzz target (Fuzz/; the README's "Fuzzing" says how to read the results).
# FUZZ_SECONDS per target (default 60), FUZZ_RUNS to stop a target after that many inputs.
fuzz: deps
	bash Scripts/fuzz.sh

# The CI smoke run: every target for a few seconds on the seeds and the saved crashers; any
# crash, trap, timeout (1 s per input) or allocation over 1 GiB fails it.
fuzz-smoke: deps
	FUZZ_SECONDS=6 bash Scripts/fuzz.sh

# Side-by-side timings against libkdumpfile and cat (see Benchmarks/README.md).
bench: release
	bash Benchmarks/run.sh

# Regenerate the committed real fixture (needs the lab in ../shared/lab; slow).
fixtures:
	bash Scripts/make-fixtures.sh

clean:
	swift package clean
