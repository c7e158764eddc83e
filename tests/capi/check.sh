#!/usr/bin/env bash
# The C API's checks (issue 16), on a built BUILD_DIR (default: build):
#   header    tapeflow_c.h compiles as C11 (gcc -std=c11 -pedantic -Werror) and as C++
#   symbols   libtapeflow.so exports tf_* and the C++ API only (no tapeflow::backend::*)
#   install   meson installs tapeflow_c.h next to tapeflow.h; a C program builds against the
#             installed copy with gcc -std=c11 and pkg-config, and runs
#   test_capi the C test: hand-checked values, every function with bad input, no allocation
#             in tf_model_forward after warm-up
#   ctypes    the same functions from Python's ctypes (/usr/bin/python3, no cppyy)
#   c_mlp     the seed's MLP trained from C (1 epoch on 2,000 images) under valgrind memcheck:
#             no error and no leak (definite or possible)
#   game_loop the game loop sample: weights published, trainer learns, resident memory flat
# Ends with "capi: N passed, M failed".
set -u
cd "$(dirname "$0")/../.."
BUILD=${1:-build}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
passed=0
failed=0
step() {  # step NAME CMD...: one check
  local name=$1; shift
  echo "=== capi: $name"
  if "$@"; then passed=$((passed + 1)); else echo "FAILED: capi $name"; failed=$((failed + 1)); fi
}

header() {
  printf '#include "tapeflow_c.h"\nint main(void) { return tf_version() == TAPEFLOW_VERSION ? 0 : 1; }\n' >"$TMP/h.c"
  cp "$TMP/h.c" "$TMP/h.cpp"
  gcc -std=c11 -Wall -Wextra -pedantic -Werror -Icapi -c "$TMP/h.c" -o "$TMP/h_c.o" &&
    gcc -std=c99 -Wall -Wextra -pedantic -Werror -Icapi -c "$TMP/h.c" -o "$TMP/h_c99.o" &&
    g++ -std=c++11 -Wall -Wextra -pedantic -Werror -Icapi -c "$TMP/h.cpp" -o "$TMP/h_cpp11.o" &&
    g++ -std=c++20 -Wall -Wextra -pedantic -Werror -Icapi -c "$TMP/h.cpp" -o "$TMP/h_cpp20.o" &&
    nm "$TMP/h_cpp20.o" | grep -q ' U tf_version$'  # extern "C": unmangled
}

symbols() {
  local so=$BUILD/libtapeflow.so
  [ -f "$so" ] || { echo "no $so (a static-only build): nothing to check"; return 0; }
  nm -D --defined-only "$so" | awk '{print $3}' >"$TMP/syms"
  local n_c n_bad n_backend
  n_c=$(grep -c '^tf_' "$TMP/syms")
  # anything neither tf_* nor in namespace tapeflow (incl. its vtables, typeinfo, thunks, statics)
  n_bad=$(grep -vE '^(tf_|_Z(N|NK|TVN|TIN|TSN|TTN|ZN|ZNK|GVN|GVZN|GVZNK|Thn[0-9]+_N|Thn[0-9]+_NK|Tv[0-9_n]+_N|Tv[0-9_n]+_NK)8tapeflow)' "$TMP/syms" | tee "$TMP/bad" | wc -l)
  n_backend=$(c++filt <"$TMP/syms" | grep -cE '^(vtable for |typeinfo (name )?for )?tapeflow::(backend|capi)::')
  echo "libtapeflow.so exports $(wc -l <"$TMP/syms") symbols: $n_c tf_*, $n_bad outside tapeflow, $n_backend in tapeflow::backend/capi"
  head -n 5 "$TMP/bad"
  [ "$n_c" -ge 40 ] && [ "$n_bad" = 0 ] && [ "$n_backend" = 0 ]
}

installed() {  # installs into a staging folder, then builds a C program with pkg-config
  meson introspect --installed "$BUILD" | grep -q '"[^"]*/include/tapeflow/tapeflow_c.h"' || return 1
  meson install -C "$BUILD" --destdir "$TMP/stage" --quiet >"$TMP/install.log" 2>&1 || { cat "$TMP/install.log"; return 1; }
  local pc
  pc=$(find "$TMP/stage" -name tapeflow.pc | head -n 1)
  [ -n "$pc" ] && [ -f "$(dirname "$pc")/../../../include/tapeflow/tapeflow_c.h" ] || return 1
  [ -f "$(dirname "$pc")/../libtapeflow.so" ] || { echo "static-only install: C program not linked"; return 0; }
  # shellcheck disable=SC2046
  gcc -std=c11 -Wall -Wextra -pedantic -Werror samples/game_loop/main.c -o "$TMP/game_loop" \
    $(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --cflags --libs tapeflow) -lm -pthread &&
    LD_LIBRARY_PATH=$(dirname "$pc")/.. "$TMP/game_loop" --frames 480 --hz 240 >"$TMP/gl.log" &&
    grep -q 'game_loop: OK' "$TMP/gl.log"
}

valgrind_mlp() {
  if ! command -v valgrind >/dev/null; then echo "valgrind is missing (make deps installs it)"; return 1; fi
  # OPENBLAS_CORETYPE: a kernel valgrind emulates (it has no AVX-512).
  OPENBLAS_CORETYPE=Haswell valgrind -q --error-exitcode=3 --leak-check=full \
    --errors-for-leak-kinds=definite,possible --show-leak-kinds=definite,possible \
    "$BUILD/samples/c_mlp/c_mlp" --epochs 1 --limit 2000 --test-limit 1000 --threads 1 | tee "$TMP/mlp.log" &&
    grep -q '^Test Accuracy: ' "$TMP/mlp.log"
}

step header header
step symbols symbols
step install installed
step test_capi "$BUILD/tests/capi/test_capi" "$TMP"
ctypes() {
  [ -f "$BUILD/libtapeflow.so" ] || { echo "no $BUILD/libtapeflow.so (a static-only build): skipped"; return 0; }
  /usr/bin/python3 tests/capi/test_ctypes.py "$BUILD/libtapeflow.so" "$TMP"
}
step ctypes ctypes
step "c_mlp (valgrind)" valgrind_mlp
step game_loop "$BUILD/samples/game_loop/game_loop" --frames 600 --hz 240

echo "capi: $passed passed, $failed failed"
[ "$failed" = 0 ]
