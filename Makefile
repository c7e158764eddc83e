# Quick start: `make demo` (build, then run the flagship sample) and `make test` (build, then
# run every test). Both install missing Debian packages first (apt-get, via sudo when not root).
BUILD      ?= build
ASAN_BUILD ?= build-asan
CUDA_BUILD ?= build-cuda
CUDA_CHECK_BUILD ?= build-cuda-check
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 45
CUDA       ?= disabled
MESON_OPTS ?=
DEMO_ARGS  ?=

DEB_PACKAGES = meson ninja-build g++ pkg-config catch2 libopenblas-dev zlib1g-dev libpng-dev \
               dataset-fashion-mnist libopenmpi-dev openmpi-bin bc iproute2 valgrind python3 \
               libonnx-dev libprotobuf-dev
# Only for `make test-fuzz` / `make fuzz-onnx` (libFuzzer is in clang's runtime package, not
# pulled in by clang).
FUZZ_DEB_PACKAGES = clang libclang-rt-14-dev

.PHONY: all deps deps-fuzz install-debs build demo test test-unit test-capi test-install test-interactive test-distributed test-tensorboard test-onnx fuzz-onnx test-asan test-tsan test-fuzz build-cuda check-cuda-build bench-size clean

all: build

deps:
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(DEB_PACKAGES)"

deps-fuzz: deps
	@$(MAKE) --no-print-directory install-debs PACKAGES="$(FUZZ_DEB_PACKAGES)"

install-debs:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages:$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dcuda=$(CUDA) $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

demo: build
	@if [ -x $(BUILD)/samples/mnist_keras/mnist_keras ]; then \
	  $(BUILD)/samples/mnist_keras/mnist_keras $(DEMO_ARGS); \
	else \
	  $(BUILD)/samples/first_steps/first_steps; \
	fi

# Every test: the Catch2 suite (units, gradcheck, samples' output), the C API (C, ctypes,
# valgrind, the game loop), then building outside programs against the installed library, then
# the interpreter sessions (cppyy, clang-repl), then tapeflow::distributed under mpirun, then
# TensorBoard (PyPI, cached venv) reading the event files tapeflow writes, then ONNX export
# checked by ONNX's checker and ONNX Runtime (a PyPI venv, cached).
test: test-unit test-capi test-install test-interactive test-distributed test-tensorboard test-onnx

test-unit: build
	UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 $(BUILD)/tests/tapeflow_tests

test-capi: build
	tests/capi/check.sh $(BUILD)

test-install: build
	tests/install/check.sh $(BUILD)

test-interactive: build
	samples/interactive/check.sh $(BUILD)

# tapeflow::distributed under mpirun -np 2 (collectives, DataParallel equivalence, failures).
test-distributed: build
	tests/distributed/check.sh $(BUILD)

test-tensorboard: build
	tests/tensorboard/check.sh $(BUILD)

test-onnx: build
	tests/onnx/check.sh $(BUILD)

# libFuzzer on the ONNX loader for FUZZ_SECONDS (CI runs it for 60 s; not part of `make test`).
FUZZ_SECONDS ?= 60
fuzz-onnx: build deps-fuzz
	tests/fuzz/run_onnx.sh $(BUILD) $(FUZZ_SECONDS)

bench-size: build
	bench/compile_size.sh $(BUILD)

# The same suite under AddressSanitizer + UndefinedBehaviorSanitizer (second build directory).
# Unoptimised, unity-built and shared-only: it is rebuilt from scratch on every CI run.
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) -Dcuda=disabled -Dbench=false -Dbuildtype=debug -Dunity=on \
	  -Ddefault_library=shared -Db_sanitize=address,undefined -Db_lundef=false $(MESON_OPTS)

test-asan: deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(ASAN_BUILD)/tests/tapeflow_tests "~[slow]"

# The threaded tests ("[threads]": set_num_threads while other threads compute, shared inference,
# trainer beside inference, cross-thread frees) under ThreadSanitizer, in a build of their own.
# OpenBLAS is not instrumented: tests/tsan.supp silences its internals only.
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) -Dcuda=disabled -Dsamples=false -Dbench=false -Dbuildtype=debug \
	  -Doptimization=1 -Dunity=on -Ddefault_library=shared -Db_sanitize=thread -Db_lundef=false $(MESON_OPTS)

test-tsan: deps $(TSAN_BUILD)/build.ninja
	ninja -C $(TSAN_BUILD) tests/tapeflow_tests
	TSAN_OPTIONS="suppressions=$(CURDIR)/tests/tsan.supp halt_on_error=1 second_deadlock_stack=1" \
	  $(TSAN_BUILD)/tests/tapeflow_tests "[threads]"

# The libFuzzer targets of tests/fuzz (clang, ASan+UBSan), FUZZ_TIME seconds each from the seed
# corpus in tests/fuzz/corpus; a crash fails and leaves its reproducer in $(FUZZ_BUILD)/artifacts.
test-fuzz: deps-fuzz
	FUZZ_TIME=$(FUZZ_TIME) tests/fuzz/run.sh $(FUZZ_BUILD)

# Builds the library with the CUDA backend (needs nvcc and cuBLAS; no GPU needed to build).
$(CUDA_BUILD)/build.ninja:
	meson setup $(CUDA_BUILD) -Dcuda=enabled -Dsamples=false -Dbench=false $(MESON_OPTS)

build-cuda: deps $(CUDA_BUILD)/build.ninja
	ninja -C $(CUDA_BUILD)

# CI's quick form of build-cuda: proves the CUDA backend compiles and links (library only,
# unoptimised host code, PTX only), in a directory of its own.
$(CUDA_CHECK_BUILD)/build.ninja:
	meson setup $(CUDA_CHECK_BUILD) -Dcuda=enabled -Dtests=false -Dsamples=false -Dbench=false \
	  -Dbuildtype=plain -Dunity=on -Ddefault_library=shared \
	  -Dnvcc_gencode=arch=compute_80,code=compute_80 $(MESON_OPTS)

check-cuda-build: deps $(CUDA_CHECK_BUILD)/build.ninja
	ninja -C $(CUDA_CHECK_BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(CUDA_BUILD) $(CUDA_CHECK_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)
