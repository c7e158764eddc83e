#!/usr/bin/env bash
# samples/interactive/check.sh BUILD_DIR: runs the interactive walkthrough under two
# interpreters against BUILD_DIR/libtapeflow.so: cppyy (cling, from PyPI) runs session.py and
# python/test_tapeflow.py (the pythonized module python/tapeflow), and
# clang-repl-19 (Debian clang-tools-19) is fed session.repl on stdin. Installs what it needs:
# clang-tools-19 via apt (sudo when not root) and cppyy into a venv cached in
# BUILD_DIR/interactive-venv. One line per interpreter, then `interactive: N passed, M failed`.
# CPPYY_VENV=DIR puts the venv elsewhere; `check.sh --setup-cppyy` only makes that venv (CI
# does it in the background while the library compiles, since pip builds part of cppyy).
set -u
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
. "$src/tests/lib/venv.sh"
CPPYY_VERSION=3.5.0
setup_only=false
if [ "${1:-}" = --setup-cppyy ] && [ -n "${CPPYY_VENV:-}" ]; then
  setup_only=true
elif [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR   (a configured Meson build of tapeflow)" >&2
  echo "       CPPYY_VENV=DIR $0 --setup-cppyy" >&2
  exit 2
fi
if $setup_only; then
  venv=$CPPYY_VENV
else
  build=$(cd "$1" && pwd)
  work=$build/interactive
  venv=${CPPYY_VENV:-$build/interactive-venv}
fi

if ! $setup_only; then
  mkdir -p "$work"
  ninja -C "$build" libtapeflow.so >"$work/ninja.log" 2>&1 || { cat "$work/ninja.log"; exit 1; }
  lib=$build/libtapeflow.so
fi

passed=0
failed=0
# way NAME LOG CMD...: runs CMD in a subshell (output to LOG), prints one line, counts it.
way() {
  local name=$1 log=$2 t0 ds; shift 2
  t0=$(date +%s%N)
  if ( "$@" ) >"$log" 2>&1; then
    ds=$((($(date +%s%N) - t0) / 100000000))
    printf '  %-34s ok (%d.%d s)\n' "$name" $((ds / 10)) $((ds % 10))
    passed=$((passed + 1))
  else
    printf '  %-34s FAILED (log: %s)\n' "$name" "$log"
    tail -n 30 "$log" | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
}

# ---- cppyy: a venv with cppyy, made once and reused ----
setup_cppyy() {
  if [ -f "$venv/.cppyy-$CPPYY_VERSION" ] && "$venv/bin/python" -c 'import cppyy, numpy' 2>/dev/null; then
    echo "cached: $venv"; return 0
  fi
  make_venv "$venv" || return 1
  "$venv/bin/python" -m pip install --quiet "cppyy==$CPPYY_VERSION" numpy || return 1
  # cppyy builds its precompiled header on first import: do it here, once.
  "$venv/bin/python" -c 'import cppyy; print("cppyy", cppyy.__version__)' || return 1
  touch "$venv/.cppyy-$CPPYY_VERSION"
}
apt_install() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    $sudo apt-get install -y -qq --no-install-recommends "$@"
}
run_cppyy() {
  setup_cppyy || return 1
  "$venv/bin/python" "$here/session.py" "$lib" "$src"
}

# python/tapeflow: the pythonizations (numbers on either side, repr, dtype names, nested lists,
# NumPy sharing memory both ways), as a user types them.
run_pythonized() {
  setup_cppyy || return 1
  "$venv/bin/python" "$src/python/test_tapeflow.py" "$lib" "$src"
}

# ---- clang-repl: session.repl on stdin ----
run_clang_repl() {
  command -v clang-repl-19 >/dev/null || apt_install clang-tools-19 >/dev/null || return 1
  local out=$work/clang-repl.out rc
  TAPEFLOW_LIB=$lib clang-repl-19 --Xcc=-std=c++20 --Xcc=-I"$src" <"$here/session.repl" >"$out" 2>&1
  rc=$?
  cat "$out"
  # clang-repl goes on after an error: the session's last line exits 42 only when it reached
  # there with the loss fallen and the exception caught, and no line may have failed.
  [ "$rc" = 42 ] || { echo "clang-repl exit status $rc, expected 42"; return 1; }
  if grep -Eq '(^|: )error:|Parsing failed' "$out"; then echo "clang-repl reported errors"; return 1; fi
  grep -q '^dlopen: ok' "$out" && grep -q '^caught tapeflow::Error: matmul' "$out"
}

if $setup_only; then setup_cppyy; exit $?; fi
way "cppyy (cling) session.py" "$work/cppyy.log" run_cppyy
way "cppyy + python/tapeflow" "$work/pythonized.log" run_pythonized
way "clang-repl-19 session.repl" "$work/clang-repl.log" run_clang_repl
echo "interactive: $passed passed, $failed failed"
[ "$failed" = 0 ]
