# swift-vmcore: the two newcomer commands are `make demo` and `make test`.
SAMPLE ?= Tests/Fixtures/linux-6.1-small/vmcore.kdump-zlib-d31-split
SWIFT_BUILD_FLAGS ?=

.PHONY: demo test build release deps bench fixtures clean

deps:
	@bash Scripts/install-deps.sh

build: deps
	swift build $(SWIFT_BUILD_FLAGS)

# Release builds link the Swift runtime statically: one binary to copy to any x86-64 Linux
# machine, and it starts in half the time.
release: deps
	swift build -c release -Xswiftc -static-stdlib $(SWIFT_BUILD_FLAGS)

# The main job on the bundled sample dump.
demo: release
	.build/release/vmcore info $(SAMPLE)

test: deps
	bash Scripts/check-seams.sh
	swift test $(SWIFT_BUILD_FLAGS)

# Side-by-side timings against libkdumpfile and cat (see Benchmarks/README.md).
bench: release
	bash Benchmarks/run.sh

# Regenerate the committed real fixture (needs the lab in ../shared/lab; slow).
fixtures:
	bash Scripts/make-fixtures.sh

clean:
	swift package clean
