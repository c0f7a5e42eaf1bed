# Thin wrapper over CMake. `make demo` and `make test` work on a fresh
# Debian 12 machine as root: they install what is missing first.
JOBS ?= $(shell nproc)
FUZZ_SECONDS ?= 20

.PHONY: all deps build test test-unit fuzz valgrind bench demo install clean compat-test mixed-cluster-test

all: build

deps:
	@scripts/deps.sh

build: deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSWIMRING_TESTS=OFF
	cmake --build build/release -j $(JOBS)

# Debug + ASan + UBSan, every suite; then a short bounded libFuzzer run of
# every decoder when clang is present.
test: deps
	cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DSWIMRING_SANITIZE=ON
	cmake --build build/test -j $(JOBS)
	scripts/run-tests.sh build/test -j $(JOBS)
	@if command -v clang >/dev/null; then $(MAKE) --no-print-directory fuzz; \
	 else echo "fuzz: clang not found, skipping the fuzz smoke run"; fi

fuzz:
	cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	  -DSWIMRING_SANITIZE=ON -DSWIMRING_FUZZ=ON -DSWIMRING_BENCH=OFF \
	  -DSWIMRING_FUZZ_SECONDS=$(FUZZ_SECONDS)
	cmake --build build/fuzz -j $(JOBS)
	scripts/run-tests.sh build/fuzz -L fuzz -j $(JOBS)

# The unit suite under valgrind's leak checker (no sanitizers in this build).
valgrind: deps
	cmake -S . -B build/valgrind -DCMAKE_BUILD_TYPE=Debug -DSWIMRING_BENCH=OFF
	cmake --build build/valgrind -j $(JOBS)
	scripts/valgrind-unit.sh build/valgrind

bench: deps
	@scripts/deps.sh --bench
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DSWIMRING_TESTS=OFF
	cmake --build build/release -j $(JOBS)
	scripts/run-bench.sh build/release

# ringpop-common's integration suite against tools/testpop (docs/ringpop.md);
# not part of `make test`: SUITE is a checkout of uber/ringpop-common.
compat-test: deps
	@test -n "$(SUITE)" || { echo "usage: make compat-test SUITE=/path/to/ringpop-common [SIZES='1 2 3']"; exit 2; }
	cmake -S . -B build/compat -DCMAKE_BUILD_TYPE=Release -DSWIMRING_TESTS=OFF -DSWIMRING_BENCH=OFF
	cmake --build build/compat -j $(JOBS) --target testpop
	scripts/compat-test.sh $(SUITE) build/compat $(if $(SIZES),"$(SIZES)")

# 3 swimring + 3 ringpop-node (npm "ringpop") processes in one cluster.
mixed-cluster-test: deps
	cmake -S . -B build/compat -DCMAKE_BUILD_TYPE=Release -DSWIMRING_TESTS=OFF -DSWIMRING_BENCH=OFF
	cmake --build build/compat -j $(JOBS) --target testpop
	scripts/mixed-cluster.sh build/compat

demo: build
	scripts/demo.sh build/release

install: build
	cmake --install build/release

clean:
	rm -rf build
