#!/usr/bin/env bash
# tests/distributed/check.sh BUILD_DIR: tapeflow::distributed under `mpirun -np 2` on this
# machine: the collectives, DataParallel's equivalence with one process (float32 and float64),
# gradient accumulation under no_sync, and a rank that dies, raises or stalls mid-training (the
# job must end with an error within a bounded time, never hang). Last line:
# `distributed: N passed, M failed`. Runs as root too (CI): Open MPI is told it may.
set -u
if [ $# -ne 1 ] || [ ! -f "$1/build.ninja" ]; then echo "usage: $0 BUILD_DIR" >&2; exit 2; fi
build=$(cd "$1" && pwd)
passed=0; failed=0
if ! grep -q "dist_train" "$build/build.ninja"; then
  echo "distributed: built without MPI (install libopenmpi-dev openmpi-bin); nothing to run"
  echo "distributed: 0 passed, 0 failed"; exit 0
fi
ninja -C "$build" tests/dist_train tests/dist_collectives >/dev/null || { echo "distributed: 0 passed, 1 failed"; exit 1; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Two ranks on a 2-core machine shared with other work: no core binding; shared memory without
# the ptrace-based single-copy path (refused in some containers).
MPIRUN=(mpirun -np 2 --bind-to none --mca btl self,vader,tcp --mca btl_vader_single_copy_mechanism none)
log=$(mktemp)

# expect NAME WANT_RC(0|fail) MAX_SECONDS NEEDLE CMD...
expect() {
  local name=$1 want=$2 limit=$3 needle=$4 t0 rc dt ok=true; shift 4
  t0=$(date +%s.%N)
  timeout $((limit + 30)) "$@" >"$log" 2>&1; rc=$?
  dt=$(echo "$(date +%s.%N) - $t0" | bc)
  if [ "$want" = 0 ] && [ $rc != 0 ]; then ok=false; fi
  if [ "$want" = fail ] && { [ $rc = 0 ] || [ $rc = 124 ] || [ $rc = 127 ]; }; then ok=false; fi
  if [ "$(echo "$dt > $limit" | bc)" = 1 ]; then ok=false; fi
  if [ -n "$needle" ] && ! grep -q -- "$needle" "$log"; then ok=false; fi
  if $ok; then passed=$((passed + 1)); printf '  %-58s ok (%.1f s)\n' "$name" "$dt"
  else failed=$((failed + 1)); printf '  %-58s FAILED (rc %s, %.1f s)\n' "$name" "$rc" "$dt"; tail -n 30 "$log"; fi
}

expect "collectives on CPU tensors (14 checks)" 0 60 "collectives: passed" "${MPIRUN[@]}" "$build/tests/dist_collectives"
expect "DataParallel = 1 process, float32 (20 steps)" 0 60 "ranks hold identical parameters: ok" \
  "${MPIRUN[@]}" "$build/tests/dist_train" equivalence float32
expect "DataParallel = 1 process, float64 (20 steps)" 0 60 "float64: max relative" \
  "${MPIRUN[@]}" "$build/tests/dist_train" equivalence float64
expect "no_sync gradient accumulation = 1 process" 0 60 "accumulate float64: max relative" \
  "${MPIRUN[@]}" "$build/tests/dist_train" accumulate float64
expect "rank 1 killed mid-training: job ends with an error" fail 30 "exited on signal 9" \
  "${MPIRUN[@]}" "$build/tests/dist_train" die-at 5
expect "rank 1 raises mid-training: job ends with an error" fail 30 "raised on purpose" \
  "${MPIRUN[@]}" "$build/tests/dist_train" throw-at 5
expect "rank 1 stalls: rank 0 aborts after the 5 s timeout" fail 30 "waited 5 s" \
  env TAPEFLOW_DISTRIBUTED_TIMEOUT=5 "${MPIRUN[@]}" -x TAPEFLOW_DISTRIBUTED_TIMEOUT "$build/tests/dist_train" stall-at 5

# The Keras-style fit() under mpirun: the seed's model, 3 epochs on 10,000 examples, must reach
# the single-process bar of tests/test_samples.cpp (72%), and only rank 0 prints.
mnist=$build/samples/mnist_keras/mnist_keras
if [ -x "$mnist" ] && [ -d /usr/share/datasets/fashion-mnist ]; then
  expect "mnist_keras --distributed (fit under mpirun -np 2)" 0 240 "Distributed: 2 processes" \
    "${MPIRUN[@]}" "$mnist" --distributed --epochs 3 --limit 10000
  acc=$(sed -n 's/^Test accuracy: \([0-9.]*\)%.*/\1/p' "$log" | head -1)
  lines=$(grep -c '^Test accuracy: ' "$log")
  if [ -n "$acc" ] && [ "$(echo "$acc >= 72" | bc)" = 1 ] && [ "$lines" = 1 ]; then
    passed=$((passed + 1)); echo "  mnist_keras --distributed test accuracy $acc% (>= 72%), printed once   ok"
  else
    failed=$((failed + 1)); echo "  mnist_keras --distributed test accuracy '$acc' printed $lines times   FAILED"
  fi
fi

# Two "machines": two network namespaces joined by a veth pair, one rank in each, Open MPI's TCP
# transport bound to that link, and an rsh agent that "logs in" with `ip netns exec` (on real
# hosts it is ssh: README "Training across processes"). Needs root (CI runs as root).
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null && ip netns add "tf$$a" 2>/dev/null; then
  a=tf$$a b=tf$$b tmp=$(mktemp -d)
  cleanup() { ip netns del "$a" 2>/dev/null; ip netns del "$b" 2>/dev/null; rm -rf "$tmp"; }
  trap cleanup EXIT
  ip netns add "$b"
  ip link add "v$$a" type veth peer name "v$$b"
  ip link set "v$$a" netns "$a"; ip link set "v$$b" netns "$b"
  ip -n "$a" addr add 10.77.0.1/24 dev "v$$a"; ip -n "$b" addr add 10.77.0.2/24 dev "v$$b"
  for ns in "$a" "$b"; do ip -n "$ns" link set lo up; done
  ip -n "$a" link set "v$$a" up; ip -n "$b" link set "v$$b" up
  cat >"$tmp/agent" <<AGENT
#!/bin/sh
while [ \$# -gt 0 ]; do case "\$1" in -*) shift;; *) break;; esac; done
host=\$1; shift
case "\$host" in 10.77.0.1) ns=$a;; 10.77.0.2) ns=$b;; *) echo "agent: unknown host \$host" >&2; exit 1;; esac
exec ip netns exec "\$ns" sh -c "\$*"
AGENT
  chmod +x "$tmp/agent"
  printf '10.77.0.1 slots=1\n10.77.0.2 slots=1\n' >"$tmp/hostfile"
  expect "two hosts (netns + veth, TCP): DataParallel = 1 process" 0 60 "ranks hold identical parameters: ok" \
    ip netns exec "$a" mpirun -np 2 --hostfile "$tmp/hostfile" --mca plm_rsh_agent "$tmp/agent" \
      --mca oob_tcp_if_include 10.77.0.0/24 --mca btl_tcp_if_include 10.77.0.0/24 --mca btl self,tcp \
      --bind-to none "$build/tests/dist_train" equivalence float32
else
  echo "  two hosts (netns + veth): skipped (needs root and iproute2's ip netns)"
fi
rm -f "$log"
echo "distributed: $passed passed, $failed failed"
[ "$failed" = 0 ]
