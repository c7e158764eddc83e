#!/usr/bin/env bash
# bench/compile_size.sh BUILD_DIR: what an embedding user pays for tapeflow (issue 7), against
# the targets: (a) a minimal program including tapeflow.h compiles in < 3 s at -O2, (b)
# libtapeflow.so is < 5 MB, (c) a program linked against it starts in < 20 ms.
# (Debian's libtorch 1.13 for comparison: 15.6 s, 120 MB of libraries, 0.55 s and 285 objects.)
# Compile time is judged on CPU time (user + sys, best of 3), which a busy machine does not
# inflate; wall time is printed too. Ends with `compile_size: N passed, M failed`.
set -u
if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR   (a configured Meson build of tapeflow, best with -Dcuda=disabled)" >&2
  exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
work=$build/compile-size
mkdir -p "$work"
ninja -C "$build" libtapeflow.so >/dev/null || exit 1
lib=$build/libtapeflow.so
passed=0
failed=0
verdict=""
judge() {  # judge CONDITION...: counts it and sets $verdict
  if "$@"; then passed=$((passed + 1)); verdict=ok; else failed=$((failed + 1)); verdict=FAILED; fi
}

# The minimal program: one include, one tensor, one print.
cat >"$work/minimal.cpp" <<'EOF'
#include <iostream>
#include "tapeflow.h"
int main() {
  tapeflow::Tensor t = tapeflow::ones({2, 3}) * 2.0f;
  std::cout << t.sum() << "\n";
}
EOF

# (a) compile time: g++ -O2 -c, three runs, best CPU time (and the wall time of that run).
best_cpu=999999
best_wall=0
TIMEFORMAT='%R %U %S'
for i in 1 2 3; do
  out=$( { time g++ -std=c++20 -O2 -I"$src" -c "$work/minimal.cpp" -o "$work/minimal.o" 2>&1; } 2>&1 ) \
    || { echo "compile failed: $out"; exit 1; }
  out=$(tail -n 1 <<<"$out")
  read -r wall user sys <<<"$out"
  cpu_ms=$(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%d", (u + s) * 1000 }')
  if [ "$cpu_ms" -lt "$best_cpu" ]; then best_cpu=$cpu_ms; best_wall=$wall; fi
done
judge [ "$best_cpu" -lt 3000 ]
printf '(a) compile  g++ -std=c++20 -O2 -c minimal.cpp: %d.%03d s CPU (wall %s s)  target < 3 s: %s\n' \
  $((best_cpu / 1000)) $((best_cpu % 1000)) "$best_wall" "$verdict"

# (b) library size, as built and stripped.
size=$(stat -c %s "$lib")
strip --strip-unneeded -o "$work/libtapeflow.stripped.so" "$lib"
ssize=$(stat -c %s "$work/libtapeflow.stripped.so")
mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
judge [ "$size" -lt 5000000 ]
printf '(b) size     libtapeflow.so: %s as built, %s stripped  target < 5 MB: %s\n' \
  "$(mb "$size")" "$(mb "$ssize")" "$verdict"

# (c) start-up: the minimal program linked against libtapeflow.so, run 20 times (hyperfine when
# installed). Includes creating, summing and printing a tensor.
g++ -std=c++20 "$work/minimal.o" -o "$work/minimal" -L"$build" -ltapeflow -Wl,-rpath,"$build" || exit 1
"$work/minimal" >/dev/null || { echo "minimal program failed"; exit 1; }
objects=$(ldd "$work/minimal" | wc -l)
if command -v hyperfine >/dev/null; then
  hyperfine -N --warmup 3 --runs 20 --export-json "$work/hyperfine.json" "$work/minimal" >/dev/null 2>&1
  mean_us=$(python3 -c "import json,sys; print(int(json.load(open(sys.argv[1]))['results'][0]['mean']*1e6))" "$work/hyperfine.json")
  how="hyperfine, mean of 20"
else
  for i in 1 2 3; do "$work/minimal" >/dev/null; done  # warm the page cache
  t0=$(date +%s%N)
  for i in $(seq 20); do "$work/minimal" >/dev/null; done
  mean_us=$((($(date +%s%N) - t0) / 20000))
  how="mean of 20 runs"
fi
judge [ "$mean_us" -lt 20000 ]
printf '(c) start    minimal program: %d.%d ms (%s), %d shared objects  target < 20 ms: %s\n' \
  $((mean_us / 1000)) $((mean_us % 1000 / 100)) "$how" "$objects" "$verdict"

# For information: a program whose one matmul loads OpenBLAS (dlopen()ed on first use).
cat >"$work/with_matmul.cpp" <<'EOF'
#include <iostream>
#include "tapeflow.h"
int main() { std::cout << tapeflow::matmul(tapeflow::ones({64, 64}), tapeflow::ones({64, 64})).sum() << "\n"; }
EOF
g++ -std=c++20 -O2 -I"$src" "$work/with_matmul.cpp" -o "$work/with_matmul" -L"$build" -ltapeflow \
  -Wl,-rpath,"$build" && "$work/with_matmul" >/dev/null || exit 1
t0=$(date +%s%N)
for i in $(seq 20); do "$work/with_matmul" >/dev/null; done
mm_us=$((($(date +%s%N) - t0) / 20000))
printf '    (info)   with one 64x64 matmul, so OpenBLAS is loaded too: %d.%d ms (mean of 20 runs)\n' \
  $((mm_us / 1000)) $((mm_us % 1000 / 100))

echo "compile_size: $passed passed, $failed failed"
[ "$failed" = 0 ]
