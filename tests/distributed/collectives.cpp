// Run under `mpirun -np 2` (tests/distributed/check.sh): every collective of
// tapeflow::distributed on CPU tensors against values computed by hand from the ranks' inputs,
// and the mismatch errors. Prints one line per check and exits non-zero on any failure.
#include <cmath>
#include <cstdio>
#include <functional>
#include <string>

#include "tapeflow.h"

namespace tf = tapeflow;
namespace dist = tapeflow::distributed;

static int failures = 0;
static void check(bool ok, const std::string& what) {
  if (!ok) ++failures;
  if (dist::rank() == 0 || !ok) std::printf("[rank %d] %s: %s\n", dist::rank(), ok ? "ok" : "FAIL", what.c_str());
}
static bool close_to(const tf::Tensor& a, const std::vector<double>& want) {
  auto v = a.astype(tf::kFloat64).contiguous().to_vector<double>();
  if (v.size() != want.size()) return false;
  for (size_t i = 0; i < v.size(); ++i)
    if (std::fabs(v[i] - want[i]) > 1e-6 * (1 + std::fabs(want[i]))) return false;
  return true;
}
static bool throws_with(const std::function<void()>& f, const std::string& needle, std::string* msg = nullptr) {
  try { f(); } catch (const tf::Error& e) { if (msg) *msg = e.what(); return std::string(e.what()).find(needle) != std::string::npos; }
  return false;
}

// `collectives cuda` (tests/gpu/check.sh, any world size, also 1 process without mpirun): the
// NCCL path on CUDA tensors.
static int cuda_self_test() {
  int r = dist::rank(), n = dist::world_size();
  if (tf::cuda::device_count() == 0) {
    std::printf("cuda collectives: no CUDA device (%s)\n", tf::cuda::is_built() ? "built with CUDA" : "built without CUDA");
    dist::finalize();
    return 2;
  }
  tf::Device dev = tf::Device::cuda(dist::local_rank() % tf::cuda::device_count());
  double tri = n * (n + 1) / 2.0;
  tf::Tensor t = tf::ones({1000}, tf::Options(tf::kFloat32, dev)) * float(r + 1);
  dist::all_reduce(t);
  check(close_to(t.cpu().narrow(0, 0, 2), {tri, tri}), "NCCL all_reduce sum on " + dev.str());
  t = tf::ones({3}, tf::Options(tf::kFloat64, dev)) * double(r + 1);
  dist::all_reduce(t, dist::ReduceOp::Mean);
  check(close_to(t.cpu(), {tri / n, tri / n, tri / n}), "NCCL all_reduce mean float64");
  t = tf::full({2}, double(r + 7), tf::Options(tf::kFloat32, dev));
  dist::broadcast(t, 0);
  check(close_to(t.cpu(), {7, 7}), "NCCL broadcast");
  tf::Tensor g = dist::all_gather(tf::full({2}, double(r), tf::Options(tf::kFloat32, dev)));
  check(g.shape() == tf::Shape{n, 2} && close_to(g.cpu().select(1, 0), [&] { std::vector<double> v; for (int q = 0; q < n; ++q) v.push_back(q); return v; }()),
        "NCCL all_gather");
  std::printf("[rank %d] cuda collectives: %s\n", r, failures ? "FAILED" : "passed");
  dist::finalize();
  return failures ? 1 : 0;
}

int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "cuda") {
    dist::init(false);
    return cuda_self_test();
  }
  dist::init();
  int r = dist::rank(), n = dist::world_size();
  check(n == 2, "world of 2 (got " + std::to_string(n) + ")");
  // rank r holds [r+1, 10*(r+1), -r]
  auto mine = [&] { return tf::tensor({float(r + 1), float(10 * (r + 1)), float(-r)}); };
  tf::Tensor t = mine();
  dist::all_reduce(t);
  check(close_to(t, {3, 30, -1}), "all_reduce sum float32");
  t = mine(); dist::all_reduce(t, dist::ReduceOp::Mean);
  check(close_to(t, {1.5, 15, -0.5}), "all_reduce mean");
  t = mine(); dist::all_reduce(t, dist::ReduceOp::Max);
  check(close_to(t, {2, 20, 0}), "all_reduce max");
  tf::Tensor i64 = tf::from_vector(std::vector<int64_t>{int64_t(r) << 40, 7});
  dist::all_reduce(i64);
  check(i64.to_vector<int64_t>() == std::vector<int64_t>{int64_t(1) << 40, 14}, "all_reduce sum int64 (no float rounding)");
  // A non-contiguous view is reduced in place through a copy.
  tf::Tensor m = tf::arange(6).astype(tf::kFloat64).reshape({2, 3}) * double(r + 1);
  tf::Tensor col = m.T();
  dist::all_reduce(col);
  check(close_to(m, {0, 3, 6, 9, 12, 15}), "all_reduce of a transposed view writes through");
  t = mine(); dist::broadcast(t, 1);
  check(close_to(t, {2, 20, -1}), "broadcast from root 1");
  tf::Tensor g = dist::all_gather(mine());
  check(g.shape() == tf::Shape{2, 3} && close_to(g, {1, 10, 0, 2, 20, -1}), "all_gather stacks by rank");
  tf::Tensor big = tf::arange(4).astype(tf::kFloat32) + float(10 * r);  // rank0 [0..3], rank1 [10..13]
  tf::Tensor rs = dist::reduce_scatter(big);
  check(close_to(rs, r == 0 ? std::vector<double>{10, 12} : std::vector<double>{14, 16}), "reduce_scatter sum");
  // A parameter that requires grad can be averaged in place (collectives run without recording).
  tf::Tensor w = mine().requires_grad_();
  dist::all_reduce(w, dist::ReduceOp::Mean);
  check(close_to(w, {1.5, 15, -0.5}) && w.is_leaf(), "all_reduce of a leaf that requires grad");
  dist::barrier();

  std::string msg;
  bool ok = throws_with([&] { tf::Tensor x = tf::zeros({r == 0 ? 3 : 4}); dist::all_reduce(x); }, "disagree", &msg);
  check(ok && msg.find("rank 0: all_reduce of shape (3,)") != std::string::npos &&
            msg.find("rank 1: all_reduce of shape (4,)") != std::string::npos,
        "shape mismatch throws on every rank naming both shapes: " + msg);
  ok = throws_with([&] { tf::Tensor x = tf::zeros({3}, r == 0 ? tf::kFloat32 : tf::kFloat64); dist::all_reduce(x); },
                   "disagree", &msg);
  check(ok && msg.find("float64") != std::string::npos, "dtype mismatch throws: " + msg);
  ok = throws_with([&] { tf::Tensor x = tf::zeros({3}); dist::broadcast(x, r); }, "disagree", &msg);
  check(ok && msg.find("from root 1") != std::string::npos, "root mismatch throws: " + msg);
  check(throws_with([&] { tf::Tensor x = tf::zeros({3}); dist::reduce_scatter(x); }, "2 equal blocks"),
        "reduce_scatter of an indivisible axis throws");
  check(throws_with([&] { tf::Tensor x = tf::zeros({3}, tf::kInt64); dist::all_reduce(x, dist::ReduceOp::Mean); },
                    "needs a float tensor"), "mean of int64 throws");
  check(throws_with([&] { tf::Tensor x; dist::all_reduce(x); }, "undefined"), "undefined tensor throws");
  // After the errors the world still works.
  t = mine(); dist::all_reduce(t);
  check(close_to(t, {3, 30, -1}), "collectives still work after the errors");
  // Non-blocking all-reduce (what DataParallel's buckets use).
  tf::Tensor a = mine();
  auto pending = dist::all_reduce_async(a, dist::ReduceOp::Mean);
  pending.wait();
  check(close_to(a, {1.5, 15, -0.5}), "all_reduce_async mean");
  std::printf("[rank %d] collectives: %s\n", r, failures ? "FAILED" : "passed");
  dist::finalize();
  return failures ? 1 : 0;
}
