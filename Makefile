# A thin wrapper around CMake (STYLE.md §10).  `make help` lists the targets.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps test asan run lint format golden clean help fuzz bench valgrind

all: build

deps:
	@bash hack/deps.sh

$(BUILD)/CMakeCache.txt:
	@bash hack/deps.sh --check-or-install
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS)

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$(JOBS)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	@bash hack/deps.sh --check-or-install
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=address,undefined $(CMAKE_FLAGS)

asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j$(JOBS)

run: build
	@bash hack/demo.sh $(BUILD)/roam

golden: build
	@bash hack/golden.sh update oam $(BUILD)/roam
	@bash hack/golden.sh update plan $(BUILD)/roam

# libFuzzer targets (clang) in build-fuzz/, FUZZ_SECONDS (60) each.
fuzz:
	@bash hack/deps.sh --fuzz --check-or-install
	@bash hack/fuzz.sh

# Benchmarks against the floor (bench/RESULTS.md); needs node, wrk, time.
# BENCH_ARGS passes options to test/bench/bench.py (--sizes, --no-gcloud, ...).
bench: build
	@bash hack/deps.sh --bench --check-or-install
	ROAM_BENCH_VIA_MAKE=1 python3 test/bench/bench.py --roam $(BUILD)/roam --update bench/RESULTS.md $(BENCH_ARGS)

# Valgrind memcheck on a full apply and on `roam serve` taking pushes.
valgrind: build
	@bash hack/deps.sh --bench --check-or-install
	@bash hack/valgrind.sh $(BUILD)/roam

lint: build
	@bash hack/lint.sh $(BUILD)

format:
	@bash hack/format.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

help:
	@echo "make run     build roam and run the demo on manifests/examples/"
	@echo "make test    build and run every test (ctest)"
	@echo "make asan    the same suite built with ASan+UBSan"
	@echo "make lint    banned functions, clang-tidy, format check"
	@echo "make format  clang-format every C file"
	@echo "make golden  regenerate golden outputs (review the diff)"
	@echo "make fuzz    build the libFuzzer targets (clang) and run each FUZZ_SECONDS (60)"
	@echo "make bench   benchmarks against the floor, written to bench/RESULTS.md"
	@echo "make valgrind  memcheck on a full apply (and serve)"
	@echo "make deps    install build and test dependencies (Debian, as root)"
