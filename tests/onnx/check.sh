#!/usr/bin/env bash
# tests/onnx/check.sh BUILD_DIR: ONNX export checked by the ecosystem's own tools. Builds
# BUILD_DIR/tests/onnx/export_cases, which exports one model per layer and activation (and the
# samples' MLP) with tapeflow's outputs at two batch sizes; then check_models.py runs ONNX's
# checker and ONNX Runtime on each file and compares. PyPI's onnx, onnxruntime and numpy live in
# a venv cached at ${ONNX_VENV:-$HOME/.cache/tapeflow/onnx-venv}; `check.sh --setup` only makes
# it (CI does that in the background while the library compiles). Last line:
# `onnx: N passed, M failed`. A build without ONNX support is skipped (0 passed, 0 failed).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/venv.sh"
PIP_PACKAGES="onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6"
venv=${ONNX_VENV:-$HOME/.cache/tapeflow/onnx-venv}
stamp="$venv/.tapeflow-$(echo "$PIP_PACKAGES" | tr ' =' '_-')"

setup() {
  if [ -f "$stamp" ] && "$venv/bin/python" -c 'import onnx, onnxruntime, numpy' 2>/dev/null; then
    echo "cached: $venv"; return 0
  fi
  make_venv "$venv" || return 1
  # shellcheck disable=SC2086
  "$venv/bin/python" -m pip install --quiet $PIP_PACKAGES || return 1
  "$venv/bin/python" -c 'import onnx, onnxruntime; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__)' || return 1
  touch "$stamp"
}

if [ "${1:-}" = --setup ]; then setup; exit $?; fi
if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR   (a configured Meson build of tapeflow)" >&2
  echo "       $0 --setup     (only makes the venv)" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
if ! grep -q 'tests/onnx/export_cases:' "$build/build.ninja"; then
  echo "  tapeflow was built without ONNX support (libonnx-dev, -Donnx): skipped"
  echo "onnx: 0 passed, 0 failed"
  exit 0
fi
work=$build/onnx-check
rm -rf "$work" && mkdir -p "$work"
fail_all() { echo "  $1"; echo "onnx: 0 passed, 1 failed"; exit 1; }
ninja -C "$build" tests/onnx/export_cases >"$work/ninja.log" 2>&1 || { cat "$work/ninja.log"; fail_all "building export_cases FAILED"; }
setup >"$work/setup.log" 2>&1 || { tail -n 20 "$work/setup.log"; fail_all "making the venv $venv FAILED"; }
"$build/tests/onnx/export_cases" "$work" >"$work/export.log" 2>&1
export_rc=$?
cat "$work/export.log"
export_failed=$(grep -c 'export FAILED' "$work/export.log")
if [ "$export_rc" != 0 ] && [ "$export_failed" = 0 ]; then export_failed=1; fi
"$venv/bin/python" "$here/check_models.py" "$work" | tee "$work/check.log"
line=$(grep -E '^onnx_export: [0-9]+ passed, [0-9]+ failed' "$work/check.log" | tail -n 1)
p=0; f=1
if [[ $line =~ :\ ([0-9]+)\ passed,\ ([0-9]+)\ failed ]]; then p=${BASH_REMATCH[1]}; f=${BASH_REMATCH[2]}; fi
f=$((f + export_failed))
echo "onnx: $p passed, $f failed"
[ "$f" = 0 ]
