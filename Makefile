# Quick start: `make demo` (build, then run the flagship sample) and `make test` (build, then
# run every test). Both install missing Debian packages first (apt-get, via sudo when not root).
BUILD      ?= build
ASAN_BUILD ?= build-asan
CUDA_BUILD ?= build-cuda
CUDA_CHECK_BUILD ?= build-cuda-check
CUDA       ?= disabled
MESON_OPTS ?=
DEMO_ARGS  ?=

DEB_PACKAGES = meson ninja-build g++ pkg-config catch2 libopenblas-dev zlib1g-dev libpng-dev \
               dataset-fashion-mnist libopenmpi-dev openmpi-bin bc iproute2 valgrind python3 \
               libonnx-dev libprotobuf-dev

.PHONY: all deps build demo test test-unit test-capi test-install test-interactive test-distributed test-tensorboard test-onnx fuzz-onnx test-asan build-cuda check-cuda-build bench-size clean

all: build

deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
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
fuzz-onnx: build
	tests/fuzz/run.sh $(BUILD) $(FUZZ_SECONDS)

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
	rm -rf $(BUILD) $(ASAN_BUILD) $(CUDA_BUILD) $(CUDA_CHECK_BUILD)
