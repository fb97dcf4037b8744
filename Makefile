# A thin wrapper around CMake (STYLE.md §10).  `make help` lists the targets.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build deps test asan run lint format golden clean help

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
	@echo "make deps    install build and test dependencies (Debian, as root)"
