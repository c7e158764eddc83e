#!/usr/bin/env bash
# bench/compare.sh BUILD_DIR [options]: runs tapeflow_bench and torch_bench (when built, with
# -Dbench_libtorch=enabled) on the same workloads, interleaved group by group and thread count
# by thread count in this one invocation, and prints one table: tapeflow, libtorch, ratio
# (> 1: tapeflow better, whether the unit is a time or a rate) and the target, judged
# on this run (issue 13's targets for the MLP rows: gemm-only epoch time, allocations from the
# OS per step, trainer steps beside an inference thread; the "beside" group is tapeflow's only). Options: --threads "1 2"  --only GROUP[,GROUP]  --epochs N  --epoch-budget S
# --quick  --raw FILE (keeps the raw results: "impl threads key value unit lower|higher")
# --rounds N (runs the whole set N times, tapeflow and libtorch still alternating, and reports
# each workload's median over the rounds: a shared machine's memory bandwidth and second core
# drift over minutes, which moves single runs of the memory-bound rows by +-20%).
# The environment passes through unchanged (tapeflow picks its own BLAS kernel; libtorch runs as
# shipped). TORCH_ENV="OPENBLAS_CORETYPE=Haswell" gives torch_bench extra variables.
set -u
usage() { echo "usage: $0 --table RAWFILE | $0 BUILD_DIR [--threads \"1 2\"] [--only GROUPS] [--epochs N] [--epoch-budget S] [--quick] [--rounds N] [--raw FILE]" >&2; exit 2; }
print_table() {  # print_table RAWFILE: the comparison table with the targets judged
awk '
function fmt(v) { return v == "" ? "-" : sprintf("%.4g", v) }
function has(i, t, k) { return ((i SUBSEP t SUBSEP k) in val) }
function get(i, t, k) { return has(i, t, k) ? val[i, t, k] : "" }
function verdict(ok, text) { return (ok ? "ok   " : "MISS ") text }
# The target of the issue for key k at t threads, judged on tapeflow numbers ("" = none).
function target(k, t,   v, r, base, n) {
  v = get("tapeflow", t, k); if (v == "") return ""
  r = ratio[k, t]
  if (k ~ /^add_1elem_/ || k == "small_mlp_batch1_infer") {
    if (r == "") return "needs libtorch"
    return verdict(r >= 3, (k ~ /^add/ ? "<= 1/3 of libtorch" : ">= 3x faster than libtorch"))
  }
  if (k == "chain100_fwd_bwd_per_op") return verdict(v <= 1.0, "<= 1 us per op")
  if (k == "small_mlp_epoch") {
    # 2 threads run the 1-thread path here (its gemms are too small to split), so "not slower"
    # allows 2% of timing noise between the two rows
    if (t == 2 && has("tapeflow", 1, k))
      return verdict(v <= 1.02 * get("tapeflow", 1, k), sprintf("not slower than 1 thread (2%% noise): %.3fx", v / get("tapeflow", 1, k)))
    if (r == "") return "needs libtorch"
    return verdict(r >= 2.5, ">= 2.5x faster than libtorch")
  }
  if (k == "wide_mlp_epoch") {
    if (t == 2 && has("tapeflow", 1, k))
      return verdict(get("tapeflow", 1, k) >= 1.6 * v, sprintf(">= 1.6x its 1-thread time: %.2fx", get("tapeflow", 1, k) / v))
    if (r == "") return "needs libtorch"
    return verdict(r >= 1.3, ">= 1.3x faster than libtorch")
  }
  if (k ~ /_gemm_only_epoch$/) {
    base = get("tapeflow", t, substr(k, 1, index(k, "_gemm_only") - 1) "_epoch"); if (base == "" || v <= 0) return ""
    if (t != 1) return sprintf("(epoch = %.2fx gemm-only)", base / v)
    return verdict(base <= 1.6 * v, sprintf("epoch within 1.6x of gemm-only: %.2fx", base / v))
  }
  if (k ~ /_os_allocs_per_step$/) return verdict(v == 0, "0 from the OS per step after warm-up")
  if (k == "trainer_beside_infer_steps") {
    base = get("tapeflow", t, "trainer_alone_steps"); if (base == "" || base <= 0) return ""
    return verdict(v >= 0.5 * base, sprintf("no collapse (>= 50%% of alone): %.0f%%", 100 * v / base))
  }
  if (k ~ /^(sum|mean|max)_(all|axis0|axis1)_/) {
    if (r == "") return "needs libtorch"
    return verdict(r >= 1, "at least as fast as libtorch")
  }
  if (k ~ /^(add|mul)_16M$/ || k ~ /^(tanh|exp|sigmoid)_16M$/) {
    base = get("tapeflow", t, "memcpy_16M"); if (base == "") return ""
    if (k ~ /^(add|mul)/) {
      if (t != 2) return sprintf("(%.0f%% of memcpy)", 100 * v / base)
      return verdict(v >= 0.8 * base, sprintf(">= 80%% of memcpy: %.0f%%", 100 * v / base))
    }
    return verdict(v >= 0.6 * base, sprintf(">= 60%% of memcpy: %.0f%%", 100 * v / base))
  }
  if (k ~ /^matmul_/) {
    n = substr(k, 8); base = get("tapeflow", t, "cblas_sgemm_" n); if (base == "") return ""
    return verdict(v >= 0.95 * base, sprintf(">= 95%% of cblas_sgemm: %.0f%%", 100 * v / base))
  }
  return ""
}
{
  impl = $1; t = $2; k = $3
  val[impl, t, k] = $4; unit[k] = $5; better[k] = $6
  if (!(k in seen)) { seen[k] = 1; keys[++nk] = k }
  if (!(t in tseen)) { tseen[t] = 1; ts[++nt] = t }
}
END {
  printf "%-26s %3s %-8s %10s %10s %7s  %s\n", "workload", "thr", "unit", "tapeflow", "libtorch", "ratio", "target (tapeflow)"
  for (i = 1; i <= nk; ++i) {
    k = keys[i]
    for (j = 1; j <= nt; ++j) {
      t = ts[j]
      a = get("tapeflow", t, k); b = get("libtorch", t, k)
      if (a == "" && b == "") continue
      r = ""
      if (a != "" && b != "" && a > 0 && b > 0) r = (better[k] == "lower") ? b / a : a / b
      ratio[k, t] = r
      printf "%-26s %3s %-8s %10s %10s %7s  %s\n", k, t, unit[k], fmt(a), fmt(b), (r == "" ? "-" : sprintf("%.2f", r)), target(k, t)
    }
  }
  print ""
  print "ratio: libtorch/tapeflow for times, tapeflow/libtorch for rates and accuracy (> 1: tapeflow better)."
}' "$1"
}

[ $# -ge 1 ] || usage
if [ "$1" = --table ]; then  # re-print the table of an earlier --raw FILE
  [ $# -eq 2 ] || usage
  set -- "$2"
  TABLE_ONLY=1
fi
if [ "${TABLE_ONLY:-0}" = 1 ]; then print_table "$1"; exit 0; fi
build=$1; shift
threads="1 2"; groups="overhead,elementwise,reduce,matmul,mlp,infer,beside,optim"; extra=(); raw=""; rounds=1
while [ $# -gt 0 ]; do
  case $1 in
    --threads) threads=$2; shift 2 ;;
    --only) groups=$2; shift 2 ;;
    --epochs) extra+=(--epochs "$2"); shift 2 ;;
    --epoch-budget) extra+=(--epoch-budget "$2"); shift 2 ;;
    --quick) extra+=(--quick); shift ;;
    --raw) raw=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) usage ;;
  esac
done
tf_bin=$build/bench/tapeflow_bench
torch_bin=$build/bench/torch_bench
[ -x "$tf_bin" ] || { echo "compare.sh: $tf_bin not found (ninja -C $build bench/tapeflow_bench)" >&2; exit 1; }
have_torch=0
if [ -x "$torch_bin" ]; then have_torch=1; else
  echo "compare.sh: $torch_bin not built (meson configure $build -Dbench_libtorch=enabled); libtorch column empty" >&2
fi
# Results accumulate in --raw FILE as they come (kept after an interrupt), else in a temp file.
if [ -n "$raw" ]; then out=$raw; : >"$out"; keep_out=1; else out=$(mktemp); keep_out=0; fi
trap 'rm -f "$out.one" "$out.err" "$out.notes" "$out.med"; [ $keep_out = 1 ] || rm -f "$out"' EXIT

run_one() {  # run_one IMPL THREADS GROUP: appends "impl threads key value unit better" lines
  local impl=$1 t=$2 g=$3 bin status
  if [ "$impl" = tapeflow ]; then
    bin=("$tf_bin")
  else
    # shellcheck disable=SC2206
    bin=(env OPENBLAS_NUM_THREADS="$t" OMP_NUM_THREADS="$t" ${TORCH_ENV:-} "$torch_bin")
  fi
  "${bin[@]}" --threads "$t" --only "$g" "${extra[@]}" >"$out.one" 2>"$out.err"
  status=$?
  if [ $status -ne 0 ]; then
    echo "compare.sh: $impl --threads $t --only $g failed ($status):" >&2; cat "$out.err" >&2
  fi
  awk -v impl="$impl" -v t="$t" '$1 == "RESULT" { print impl, t, $2, $3, $4, $5 }' "$out.one" >>"$out"
  grep '^NOTE' "$out.one" | sed "s/^NOTE /  [$impl, $t thread(s)] /" >>"$out.notes"
}

: >"$out.notes"
load_at() { cut -d' ' -f1-3 /proc/loadavg 2>/dev/null; }
echo "  load average (1, 5, 15 min) at start: $(load_at)" >>"$out.notes"
[[ $rounds =~ ^[1-9][0-9]*$ ]] || usage
for ((round = 1; round <= rounds; ++round)); do
  for g in ${groups//,/ }; do
    for t in $threads; do
      echo "running $g at $t thread(s) (round $round of $rounds)..." >&2
      run_one tapeflow "$t" "$g"
      [ $have_torch = 1 ] && run_one libtorch "$t" "$g"
    done
  done
done
if [ "$rounds" -gt 1 ]; then  # each (impl, threads, workload): the median over the rounds
  awk '{ k = $1 " " $2 " " $3; n[k]++; v[k, n[k]] = $4; rest[k] = $5 " " $6; if (!(k in seen)) { seen[k] = 1; order[++no] = k } }
  END {
    for (i = 1; i <= no; ++i) {
      k = order[i]; m = n[k]
      for (a = 1; a <= m; ++a) x[a] = v[k, a] + 0
      for (a = 2; a <= m; ++a) { y = x[a]; for (b = a - 1; b >= 1 && x[b] > y; --b) x[b + 1] = x[b]; x[b + 1] = y }
      print k, (m % 2 ? x[(m + 1) / 2] : (x[m / 2] + x[m / 2 + 1]) / 2), rest[k]
    }
  }' "$out" >"$out.med" && cat "$out.med" >"$out" && rm -f "$out.med"
  echo "  each figure: the median of $rounds rounds (tapeflow and libtorch alternating in each)" >>"$out.notes"
fi

echo "  load average (1, 5, 15 min) at end:   $(load_at)" >>"$out.notes"
echo "machine: $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPU(s)"
echo "notes:"; awk '!seen[$0]++' "$out.notes"
echo
print_table "$out"
