#!/usr/bin/env bash
# GPU check for tapeflow, for any machine with an NVIDIA GPU: builds with -Dcuda=enabled in its
# own build dir, runs the whole test suite (the [cuda] tests run there), trains
# samples/mnist_keras for 2 epochs on cuda, runs the GPU benchmark when there is one, and ends
# with a short table. Sized to finish within 8 minutes on one H200.
#
#   tests/gpu/check.sh [--build-dir DIR] [--data DIR] [--debs DIR] [--logs DIR]
#   tests/gpu/check.sh --fetch-debs DIR     # on a networked Debian/Ubuntu machine: download
#                                           # the build deps as .debs to carry to an offline GPU
#
# Build deps (meson ninja-build catch2 libopenblas-dev zlib1g-dev pkg-config) are installed with
# apt-get when missing; on a machine without network, --debs DIR (from --fetch-debs) unpacks
# them into a private sysroot under the build dir instead (nothing is written to /).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD="$ROOT/build-gpu-check"
DATA=${TAPEFLOW_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
DEBS=""
LOGS=${OUT:-}
APT_PKGS="meson ninja-build catch2 libopenblas-dev zlib1g-dev pkg-config libopenmpi-dev openmpi-bin"
DEB_PKGS="catch2 libopenblas-dev libopenblas0 libopenblas0-pthread libopenblas-pthread-dev
          libgfortran5 zlib1g-dev pkg-config pkgconf pkgconf-bin libpkgconf3 meson ninja-build"

while [ $# -gt 0 ]; do
  case "$1" in
    --build-dir) BUILD=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --debs) DEBS=$2; shift 2 ;;
    --logs) LOGS=$2; shift 2 ;;
    --fetch-debs)
      mkdir -p "$2" && cd "$2" || exit 1
      for p in $DEB_PKGS; do apt-get download "$p" >/dev/null 2>&1 && echo "fetched $p" || echo "no package $p (skipped)"; done
      exit 0 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "check.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$LOGS" ] || LOGS="$BUILD/gpu-check-logs"
mkdir -p "$BUILD" "$LOGS"
NPROC=$(nproc 2>/dev/null || echo 4)
START=$(date +%s)
BUDGET=${TAPEFLOW_GPU_CHECK_BUDGET:-470}  # seconds for everything: 8 minutes with a margin
# The timeout for a step: its own cap, or what is left of the budget if that is less.
cap() {
  local left=$(( BUDGET - ($(date +%s) - START) ))
  [ "$left" -lt 1 ] && left=1  # (timeout 0 would mean no limit)
  [ "$left" -lt "$1" ] && echo "$left" || echo "$1"
}
declare -a ROWS=()
row() { ROWS+=("$(printf '| %-28s | %-8s | %6s | %s' "$1" "$2" "$3" "$4")"); }
now() { date +%s; }
say() { echo; echo "=== $* ==="; }

# ---- environment ----
say "GPU"
if ! command -v nvidia-smi >/dev/null 2>&1 || ! nvidia-smi -L; then
  echo "check.sh: no NVIDIA GPU found (nvidia-smi)"; exit 1
fi
GPU_NAME=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
command -v nvcc >/dev/null || { echo "check.sh: nvcc not found"; exit 1; }
nvcc --version | tail -2

have_deps() {
  command -v meson >/dev/null && command -v ninja >/dev/null && command -v pkg-config >/dev/null &&
    pkg-config --exists openblas zlib catch2 2>/dev/null
}
say "build dependencies"
if ! have_deps && command -v apt-get >/dev/null && [ -z "$DEBS" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  timeout 120 $SUDO apt-get install -y --no-install-recommends $APT_PKGS >"$LOGS/apt.log" 2>&1 ||
    echo "apt-get install failed (offline?): see $LOGS/apt.log"
fi
if ! have_deps && [ -n "$DEBS" ]; then
  SYSROOT="$BUILD/sysroot"
  mkdir -p "$SYSROOT"
  for f in "$DEBS"/*.deb; do dpkg -x "$f" "$SYSROOT"; done
  ARCH_DIR=$(ls -d "$SYSROOT"/usr/lib/*-linux-gnu 2>/dev/null | head -1)
  TRIPLET=$(basename "$ARCH_DIR")
  BLAS_DIR="$ARCH_DIR/openblas-pthread"  # Debian's update-alternatives links are not in .debs
  # Dev symlinks that point at another distribution's runtime version: repoint them.
  for l in "$ARCH_DIR"/*.so; do
    if [ -L "$l" ] && [ ! -e "$l" ]; then
      cand=$(ls /lib/"$TRIPLET"/"$(basename "$l")".* /usr/lib/"$TRIPLET"/"$(basename "$l")".* 2>/dev/null | head -1)
      [ -n "$cand" ] && ln -sf "$cand" "$l"
    fi
  done
  export PATH="$PATH:$SYSROOT/usr/bin"
  export PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$SYSROOT/usr/lib/python3/dist-packages"
  export PKG_CONFIG_SYSROOT_DIR="$SYSROOT"
  export PKG_CONFIG_PATH="$BLAS_DIR/pkgconfig:$ARCH_DIR/pkgconfig:$SYSROOT/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export LIBRARY_PATH="$ARCH_DIR:$BLAS_DIR${LIBRARY_PATH:+:$LIBRARY_PATH}"
  export LD_LIBRARY_PATH="$ARCH_DIR:$BLAS_DIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export CPATH="$SYSROOT/usr/include:$SYSROOT/usr/include/$TRIPLET${CPATH:+:$CPATH}"
  echo "unpacked $(ls "$DEBS"/*.deb | wc -l) .debs into $SYSROOT"
fi
have_deps || echo "warning: some build deps still missing (meson/ninja/pkg-config/openblas/zlib/catch2)"

# ---- build ----
say "build (-Dcuda=enabled) in $BUILD"
t0=$(now)
if [ -f "$BUILD/build.ninja" ]; then
  meson configure "$BUILD" -Dcuda=enabled >"$LOGS/setup.log" 2>&1
else
  meson setup "$BUILD" "$ROOT" -Dcuda=enabled -Dbuildtype=release >"$LOGS/setup.log" 2>&1
fi
setup_rc=$?
build_rc=1
if [ $setup_rc = 0 ]; then
  timeout "$(cap 300)" ninja -C "$BUILD" -j"$NPROC" >"$LOGS/build.log" 2>&1
  build_rc=$?
fi
t_build=$(( $(now) - t0 ))
tail -5 "$LOGS/build.log" 2>/dev/null || tail -20 "$LOGS/setup.log"
if [ $setup_rc != 0 ] || [ $build_rc != 0 ]; then
  tail -40 "$LOGS/setup.log" "$LOGS/build.log" 2>/dev/null
  row "build (-Dcuda=enabled)" "FAILED" "${t_build}s" "see $LOGS/build.log"
else
  row "build (-Dcuda=enabled)" "ok" "${t_build}s" "$NPROC jobs"
fi

# ---- unit tests ----
TESTS="$BUILD/tests/tapeflow_tests"
catch_summary() {  # the Catch2 totals line of a log
  grep -E "^(All tests passed|test cases:)" "$1" | tail -1 | tr -s ' '
}
if [ -x "$TESTS" ]; then
  say "unit tests (whole suite)"
  t0=$(now)
  (cd "$BUILD/tests" && timeout "$(cap 150)" "$TESTS" >"$LOGS/tests.log" 2>&1)
  rc=$?
  t=$(( $(now) - t0 ))
  tail -4 "$LOGS/tests.log"
  row "unit tests (all)" "$([ $rc = 0 ] && echo ok || echo "FAIL($rc)")" "${t}s" "$(catch_summary "$LOGS/tests.log")"
  say "unit tests [cuda]"
  t0=$(now)
  (cd "$BUILD/tests" && timeout "$(cap 60)" "$TESTS" "[cuda]" >"$LOGS/tests-cuda.log" 2>&1)
  rc=$?
  t=$(( $(now) - t0 ))
  grep -c "skipped: no CUDA device" "$LOGS/tests-cuda.log" >/dev/null && echo "WARNING: [cuda] tests were skipped"
  tail -3 "$LOGS/tests-cuda.log"
  row "unit tests [cuda]" "$([ $rc = 0 ] && echo ok || echo "FAIL($rc)")" "${t}s" "$(catch_summary "$LOGS/tests-cuda.log")"
else
  row "unit tests" "MISSING" "-" "$TESTS was not built"
fi

# ---- mnist_keras on cuda ----
MNIST=$(find "$BUILD/samples" -type f -name mnist_keras -perm -u+x 2>/dev/null | head -1)
if [ -z "$MNIST" ]; then
  row "mnist_keras --device cuda" "MISSING" "-" "sample not built"
elif [ ! -f "$DATA/train-images-idx3-ubyte.gz" ] && [ ! -f "$DATA/train-images-idx3-ubyte" ]; then
  row "mnist_keras --device cuda" "skipped" "-" "no Fashion-MNIST in $DATA (--data DIR)"
else
  say "mnist_keras --epochs 2 --device cuda"
  t0=$(now)
  timeout "$(cap 120)" "$MNIST" --epochs 2 --device cuda --data "$DATA" >"$LOGS/mnist.log" 2>&1
  rc=$?
  t=$(( $(now) - t0 ))
  tr '\r' '\n' <"$LOGS/mnist.log" | grep -E "^Epoch|accuracy|/step" | grep -E "^Epoch|accuracy| - [0-9]+s" | tail -8
  epochs=$(tr '\r' '\n' <"$LOGS/mnist.log" | awk '
    /^Epoch [0-9]+\/[0-9]+ - [0-9]+s/ { for (i = 1; i <= NF; ++i) if ($i ~ /^[0-9]+s$/) { printf "%s%s", sep, $i; sep = ", " } }
    /^[ 0-9]+\/[0-9]+ \[/ { last = $0 }
    /^Epoch [0-9]+\/[0-9]+$/ && last != "" { n = split(last, f, " "); for (i = 1; i <= n; ++i) if (f[i] ~ /^[0-9]+s$/) { printf "%s%s", sep, f[i]; sep = ", " } last = "" }
    END { if (last != "") { n = split(last, f, " "); for (i = 1; i <= n; ++i) if (f[i] ~ /^[0-9]+s$/) printf "%s%s", sep, f[i] } }')
  acc=$(grep -E "^Test accuracy" "$LOGS/mnist.log" | tail -1 | sed 's/^Test accuracy: *//')
  row "mnist_keras 2 epochs cuda" "$([ $rc = 0 ] && echo ok || echo "FAIL($rc)")" "${t}s" \
      "epoch times: ${epochs:-?}; test accuracy: ${acc:-?}"
fi

# ---- benchmarks ----
BENCH="$BUILD/bench/tapeflow_bench"
if [ -x "$BENCH" ] && ! "$BENCH" --help 2>&1 | grep -q -- "--device"; then
  row "bench --device cuda" "skipped" "-" "tapeflow_bench has no --device option (no GPU benchmark yet)"
elif [ -x "$BENCH" ]; then
  say "bench --device cuda"
  t0=$(now)
  timeout "$(cap 90)" "$BENCH" --device cuda >"$LOGS/bench.log" 2>&1
  rc=$?
  t=$(( $(now) - t0 ))
  cat "$LOGS/bench.log" | tail -30
  row "bench --device cuda" "$([ $rc = 0 ] && echo ok || echo "FAIL($rc)")" "${t}s" "numbers in $LOGS/bench.log (below)"
else
  row "bench --device cuda" "skipped" "-" "bench/tapeflow_bench not built (no GPU benchmark yet)"
fi

# ---- NCCL (issue 14): a one-GPU all-reduce/broadcast/all_gather self-test, one process ----
DIST="$BUILD/tests/dist_collectives"
if [ -x "$DIST" ]; then
  say "NCCL self-test (dist_collectives cuda)"
  t0=$(now)
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 timeout "$(cap 60)" "$DIST" cuda >"$LOGS/nccl.log" 2>&1
  rc=$?
  t=$(( $(now) - t0 ))
  tail -8 "$LOGS/nccl.log"
  row "NCCL self-test (1 GPU)" "$([ $rc = 0 ] && echo ok || echo "FAIL($rc)")" "${t}s" "$(tail -1 "$LOGS/nccl.log")"
else
  row "NCCL self-test (1 GPU)" "skipped" "-" "built without MPI (libopenmpi-dev) or without NCCL"
fi

# ---- summary ----
say "summary: $GPU_NAME"
printf '| %-28s | %-8s | %6s | %s\n' "step" "result" "time" "details"
printf '|%s|%s|%s|%s\n' "------------------------------" "----------" "--------" "----------------"
for r in "${ROWS[@]}"; do echo "$r"; done
if [ -f "$LOGS/bench.log" ]; then echo; echo "bench (last lines):"; tail -12 "$LOGS/bench.log"; fi
printf '%s\n' "${ROWS[@]}" | grep -qE "FAIL|MISSING" && exit 1
exit 0
