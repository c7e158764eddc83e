#!/usr/bin/env bash
# tests/fuzz/run_onnx.sh BUILD_DIR [SECONDS]: fuzzes the ONNX loader with libFuzzer (clang-14's, from
# Debian's clang/libclang-common-14-dev, installed when missing) for SECONDS (default 60), with
# ASan + UBSan. The loader's sources (onnx/import*.cpp, onnx/proto.cpp) are compiled here with
# coverage instrumentation; the rest of tapeflow comes from BUILD_DIR/libtapeflow.so. Seeds: the
# ONNX fixtures of tests/data/onnx (and conv_ops/). Last line: `onnx_fuzz: N passed, M failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
if [ $# -lt 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2; exit 2
fi
build=$(cd "$1" && pwd)
secs=${2:-60}
work=$build/onnx-fuzz
fail() { echo "  $1"; echo "onnx_fuzz: 0 passed, 1 failed"; exit 1; }
if ! grep -q 'onnx_import.cpp.o' "$build/build.ninja"; then
  echo "  tapeflow was built without ONNX support: skipped"; echo "onnx_fuzz: 0 passed, 0 failed"; exit 0
fi
cxx=clang++-14
fuzzer_lib=$(ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a 2>/dev/null | head -n 1)
if ! command -v $cxx >/dev/null || [ -z "$fuzzer_lib" ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get install -y -qq --no-install-recommends clang-14 libclang-common-14-dev >/dev/null 2>&1 ||
    fail "cannot install clang-14 (libFuzzer)"
fi
mkdir -p "$work/corpus"
ninja -C "$build" libtapeflow.so >"$work/ninja.log" 2>&1 || { cat "$work/ninja.log"; fail "building libtapeflow.so FAILED"; }
cp "$src"/tests/data/onnx/*.onnx "$src"/tests/data/onnx/conv_ops/*.onnx "$work/corpus/" 2>/dev/null
$cxx -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
  -I"$src" "$here/onnx_load_fuzz.cpp" "$src/onnx/import.cpp" "$src/onnx/import_ops.cpp" "$src/onnx/import_seq.cpp" \
  "$src/onnx/import_conv.cpp" "$src/onnx/proto.cpp" \
  -L"$build" -Wl,-rpath,"$build" -ltapeflow -lonnx -lonnx_proto $(pkg-config --libs protobuf) \
  -o "$work/onnx_load_fuzz" >"$work/compile.log" 2>&1 || { tail -n 30 "$work/compile.log"; fail "compiling the fuzz target FAILED"; }
if "$work/onnx_load_fuzz" -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=1024 -max_len=8192 \
     -artifact_prefix="$work/" "$work/corpus" >"$work/fuzz.log" 2>&1; then
  grep -E '^#[0-9]+.*DONE|^Done' "$work/fuzz.log" | tail -n 1
  echo "  fuzzed the ONNX loader for ${secs}s: no crash (log: $work/fuzz.log)"
  echo "onnx_fuzz: 1 passed, 0 failed"
else
  tail -n 40 "$work/fuzz.log"
  fail "the fuzzer found a crash (artifact and log in $work)"
fi
