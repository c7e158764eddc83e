#!/usr/bin/env bash
# tests/tensorboard/check.sh BUILD_DIR: proves the event files with TensorBoard itself. Builds and
# runs tests/tensorboard/write_run (SummaryWriter directly, and fit() with the TensorBoard
# callback), then the `tensorboard` package from PyPI reads the runs: its EventAccumulator
# (check_run.py: every tag, step and value against the writer's expected.json) and its server's
# HTTP API (check_server.py: the dashboards and the HPARAMS tab); last, samples/mnist_keras
# --tensorboard writes a short run that TensorBoard must read. tensorboard lives in a venv cached
# in ${TB_VENV:-$HOME/.cache/tapeflow/tb-venv}; `check.sh --setup` only makes that venv (CI does
# it in the background while the library compiles). Ends with `tensorboard: N passed, M failed`.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/venv.sh"
TB_VERSION=2.21.0
venv=${TB_VENV:-$HOME/.cache/tapeflow/tb-venv}
setup_only=false
if [ "${1:-}" = --setup ]; then
  setup_only=true
elif [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then
  echo "usage: $0 BUILD_DIR   (a configured Meson build of tapeflow)" >&2
  echo "       $0 --setup     (only make the venv with tensorboard)" >&2
  exit 2
fi

apt_install() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
    $sudo apt-get install -y -qq --no-install-recommends "$@"
}
# A venv with tensorboard (and its dependencies numpy, protobuf, pillow), made once and reused.
setup_venv() {
  if [ -f "$venv/.tensorboard-$TB_VERSION" ] && "$venv/bin/python" -c 'import tensorboard, PIL' 2>/dev/null; then
    echo "cached: $venv"; return 0
  fi
  make_venv "$venv" || return 1
  "$venv/bin/python" -m pip install --quiet "tensorboard==$TB_VERSION" pillow || return 1
  "$venv/bin/python" -c 'import tensorboard; print("tensorboard", tensorboard.__version__)' || return 1
  touch "$venv/.tensorboard-$TB_VERSION"
}
if $setup_only; then setup_venv; exit $?; fi

build=$(cd "$1" && pwd)
work=$build/tensorboard-check
rm -rf "$work"
mkdir -p "$work"
passed=0
failed=0
# way NAME LOG CMD...: runs CMD in a subshell (output to LOG), prints one line, counts it.
way() {
  local name=$1 log=$2 t0 ds; shift 2
  t0=$(date +%s%N)
  if ( "$@" ) >"$log" 2>&1; then
    ds=$((($(date +%s%N) - t0) / 100000000))
    printf '  %-44s ok (%d.%d s) %s\n' "$name" $((ds / 10)) $((ds % 10)) "$(grep -E '^checks:' "$log" | tail -n 1)"
    passed=$((passed + 1))
  else
    printf '  %-44s FAILED (log: %s)\n' "$name" "$log"
    tail -n 30 "$log" | sed 's/^/    | /'
    failed=$((failed + 1))
  fi
}
py() { "$venv/bin/python" -W ignore "$@"; }

write_runs() {
  ninja -C "$build" tests/tensorboard_write_run || return 1
  "$build/tests/tensorboard_write_run" "$work/runs"
}
read_events() { setup_venv && py "$here/check_run.py" events "$work/runs"; }
read_server() { setup_venv && py "$here/check_server.py" "$work/runs"; }
mnist_run() {
  ninja -C "$build" samples/mnist_keras/mnist_keras || return 1
  "$build/samples/mnist_keras/mnist_keras" --epochs 2 --limit 3000 --tensorboard "$work/mnist" || return 1
  setup_venv && MNIST_EPOCHS=2 py "$here/check_run.py" mnist "$work/mnist"
}

way "write_run (SummaryWriter + fit callback)" "$work/write_run.log" write_runs
way "EventAccumulator: every tag, step, value" "$work/events.log" read_events
way "TensorBoard server: dashboards, HPARAMS" "$work/server.log" read_server
if [ -f "$build/samples/mnist_keras/mnist_keras" ] || grep -q mnist_keras "$build/build.ninja"; then
  way "mnist_keras --tensorboard (2 epochs)" "$work/mnist.log" mnist_run
fi
echo "tensorboard: $passed passed, $failed failed"
[ "$failed" = 0 ]
