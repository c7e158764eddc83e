#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang, ASan + UBSan, in a build directory of their
# own) and runs each for a bounded time from its seed corpus (tests/fuzz/corpus/<target>).
# Fails when a target crashes, reports a sanitizer error, leaks, throws anything but a
# tapeflow::Error, times out on one input or runs past its memory limit; the reproducer is left
# in BUILD/artifacts/<target>/ (replay it: BUILD/tests/fuzz/fuzz_<target> FILE).
#
#   tests/fuzz/run.sh [BUILD]            BUILD defaults to build-fuzz
#   FUZZ_TIME=45       seconds per target
#   FUZZ_TARGETS="tensor_ops safetensors idx json"
#   FUZZ_ARGS="..."    extra libFuzzer flags (e.g. -jobs=2)
#   FUZZ_KNOWN=1       also the known bugs of issue 17 (see fuzz_tensor_ops.cpp, known_ub.supp)
# New inputs found while fuzzing go to BUILD/corpus/<target>, never into the repository.
# Ends with `fuzz: N passed, M failed` (one per target), as CI counts it.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build-fuzz}
time_each=${FUZZ_TIME:-45}
targets=${FUZZ_TARGETS:-"tensor_ops safetensors idx json"}

cxx=${FUZZ_CXX:-clang++}
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
  cat "$probe/err"
  echo "tests/fuzz/run.sh: $cxx cannot build a libFuzzer target (make deps-fuzz installs clang and libclang-rt-14-dev)"
  echo "fuzz: 0 passed, 1 failed"
  exit 1
fi

if [ ! -f "$build/build.ninja" ]; then
  launcher=""
  command -v ccache >/dev/null && launcher="ccache "
  CXX="$launcher$cxx" meson setup "$build" -Dcuda=disabled -Dfuzz=true -Dtests=false -Dsamples=false \
    -Dbench=false -Ddefault_library=static -Dunity=on -Doptimization=1 -Ddebug=true \
    -Db_sanitize=address,undefined -Db_lundef=false || { echo "fuzz: 0 passed, 1 failed"; exit 1; }
fi
ninja -C "$build" || { echo "fuzz: 0 passed, 1 failed"; exit 1; }

# ASan returns null (tapeflow throws "out of memory") for requests over 2 GiB instead of aborting:
# the harnesses ask for impossible sizes on purpose. UBSan stops at its first report.
# A request over 2 GB returns null (tapeflow then throws its "out of memory" error, which is the
# right answer for a legal but huge shape); libFuzzer's own malloc limit is set out of the way so
# that it does not report such a request before ASan answers it. -rss_limit_mb still bounds RSS.
export ASAN_OPTIONS=${ASAN_OPTIONS:-allocator_may_return_null=1:max_allocation_size_mb=2048:detect_leaks=1}
# FUZZ_KNOWN=1 also exercises the known bugs listed in fuzz_tensor_ops.cpp (K1-K8) and reports
# the undefined behaviour silenced by known_ub.supp: for checking their fixes.
if [ "${FUZZ_KNOWN:-0}" = 1 ]; then
  export TAPEFLOW_FUZZ_KNOWN=1
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
else
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1:suppressions=$PWD/tests/fuzz/known_ub.supp}
fi
export TAPEFLOW_NUM_THREADS=${TAPEFLOW_NUM_THREADS:-1}

passed=0
failed=0
for t in $targets; do
  seed=tests/fuzz/corpus/$t
  work=$build/corpus/$t
  artifacts=$build/artifacts/$t
  mkdir -p "$work" "$artifacts"
  echo "=== fuzz_$t: ${time_each}s from $seed ($(ls "$seed" 2>/dev/null | wc -l) seeds)"
  log=$build/fuzz_$t.log
  # shellcheck disable=SC2086
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$time_each" -timeout=20 -rss_limit_mb=3072 \
    -malloc_limit_mb=1048576 -print_final_stats=1 -artifact_prefix="$artifacts/" ${FUZZ_ARGS:-} \
    "$work" "$seed" >"$log" 2>&1
  rc=$?
  grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ *DONE)" "$log"
  if [ "$rc" = 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    tail -n 60 "$log"
    echo "FAILED: fuzz_$t (exit $rc); reproducer(s): $(ls "$artifacts")"
    echo "  replay: $build/tests/fuzz/fuzz_$t $artifacts/<file>; once fixed, add it to $seed"
  fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" = 0 ]
