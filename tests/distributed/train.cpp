// Run under `mpirun -np 2` (tests/distributed/check.sh).
//   equivalence [float32|float64]: 20 SGD-momentum steps of a small MLP with DataParallel, each
//     rank on its half (32 samples) of every 64-sample batch, end with the parameters that one
//     process gets on the whole batches (rank 0 computes that reference itself). float64 must
//     agree to 1e-12, float32 to 1e-4 (seen: 1.3e-5): the two runs sum the same products in another order
//     (a 64-term sum vs two 32-term sums averaged), which moves each step's float32 gradient by
//     a few ulps, and 20 steps carry that forward.
//   accumulate: each rank's half as two micro-batches under no_sync, then one sync, equals the
//     whole-batch step.
//   die-at N / throw-at N / stall-at N: rank 1 is SIGKILLed / raises / stops calling collectives
//     at step N; the launcher or tapeflow's bounded wait must end the job (check.sh times it).
#include <csignal>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "tapeflow.h"
#include "distributed/data_parallel.h"

namespace tf = tapeflow;
namespace dist = tapeflow::distributed;

static std::shared_ptr<tf::nn::Sequential> make_model(tf::DType dtype) {
  tf::manual_seed(1234 + dist::rank());  // different on each rank: DataParallel must broadcast rank 0's
  auto m = std::make_shared<tf::nn::Sequential>();
  m->add(tf::nn::Dense(16, "tanh", true, "glorot_uniform", "zeros", 10));
  m->add(tf::nn::Dense(3, "linear"));
  m->to(dtype);
  return m;
}

static double max_rel_diff(tf::nn::Module& a, tf::nn::Module& b) {
  double worst = 0;
  auto sa = a.state_dict(), sb = b.state_dict();
  for (size_t i = 0; i < sa.size(); ++i) {
    auto va = sa[i].second.astype(tf::kFloat64).contiguous().to_vector<double>();
    auto vb = sb[i].second.astype(tf::kFloat64).contiguous().to_vector<double>();
    for (size_t j = 0; j < va.size(); ++j) worst = std::max(worst, std::fabs(va[j] - vb[j]) / (1e-3 + std::fabs(vb[j])));
  }
  return worst;
}

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "equivalence";
  std::string arg = argc > 2 ? argv[2] : "";
  dist::init();
  int r = dist::rank();
  tf::DType dtype = arg == "float64" ? tf::kFloat64 : tf::kFloat32;
  tf::manual_seed(99);  // same data on every rank
  tf::Tensor x = tf::randn({256, 10}).astype(dtype);
  tf::Tensor y = tf::randn({256, 3}).astype(dtype);
  auto model = make_model(dtype);
  dist::DataParallel ddp(model, dist::DataParallelOptions().with_bucket_cap_mb(0.0005));  // several buckets
  std::shared_ptr<tf::nn::Sequential> ref;
  if (r == 0) {  // the single-process reference starts from the same (rank 0's) weights
    ref = make_model(dtype);
    ref->load_state_dict(model->state_dict());
  }
  tf::optim::SGDOptions sgd;
  sgd.lr = 0.05;
  sgd.momentum = 0.9;
  tf::optim::SGD opt(model->parameters(), sgd);
  std::unique_ptr<tf::optim::SGD> ref_opt;
  if (ref) ref_opt = std::make_unique<tf::optim::SGD>(ref->parameters(), sgd);
  int fail_step = arg.empty() || mode == "equivalence" || mode == "accumulate" ? -1 : std::atoi(arg.c_str());

  size_t early = 0;  // buckets whose all-reduce started during the first backward
  for (int step = 0; step < 20; ++step) {
    if (r == 1 && step == fail_step) {
      if (mode == "die-at") std::raise(SIGKILL);
      if (mode == "throw-at") throw tf::Error("rank 1 raised on purpose at step " + std::to_string(step));
      if (mode == "stall-at") { std::this_thread::sleep_for(std::chrono::hours(1)); }
    }
    int64_t b0 = (step * 64) % 256;
    tf::Tensor xb = x.narrow(0, b0, 64), yb = y.narrow(0, b0, 64);
    opt.zero_grad();
    if (mode == "accumulate") {
      auto guard = ddp.no_sync();
      for (int q = 0; q < 2; ++q) {  // this rank's 32 samples as two micro-batches of 16
        tf::Tensor xs = xb.narrow(0, 32 * r + 16 * q, 16), ys = yb.narrow(0, 32 * r + 16 * q, 16);
        tf::Tensor l = tf::mean(tf::square((*model)(xs) - ys)) * 0.5;
        l.backward();
      }
    } else {
      tf::Tensor xs = xb.narrow(0, 32 * r, 32), ys = yb.narrow(0, 32 * r, 32);
      tf::Tensor l = tf::mean(tf::square((*model)(xs) - ys));
      l.backward();
    }
    ddp.sync_gradients();
    if (step == 0) early = ddp.buckets_started_early();
    opt.step();
    if (ref) {
      ref_opt->zero_grad();
      tf::mean(tf::square((*ref)(xb) - yb)).backward();
      ref_opt->step();
    }
  }
  int rc = 0;
  if (r == 0) {
    double worst = max_rel_diff(*model, *ref);
    double tol = dtype == tf::kFloat64 ? 1e-12 : 1e-4;
    bool ok = worst <= tol;
    std::printf("%s %s: max relative difference to 1 process x batch 64 after 20 steps: %.3g (tolerance %.0g) %s\n",
                mode.c_str(), dtype == tf::kFloat64 ? "float64" : "float32", worst, tol, ok ? "ok" : "FAIL");
    rc = ok ? 0 : 1;
  }
  if (r == 0 && mode == "equivalence") {
    bool ok = early > 0;
    std::printf("buckets started during backward (overlap): %zu of %zu %s\n", early, ddp.bucket_count(), ok ? "ok" : "FAIL");
    if (!ok) rc = 1;
  }
  // Every rank holds the same parameters.
  tf::Tensor flat = tf::concat([&] { std::vector<tf::Tensor> v; for (auto& p : model->parameters()) v.push_back(p.detach().reshape({-1})); return v; }(), 0);
  tf::Tensor both = dist::all_gather(flat.astype(tf::kFloat64));
  bool same = tf::all(tf::eq(both[0], both[1])).item<bool>();
  if (r == 0) std::printf("ranks hold identical parameters: %s\n", same ? "ok" : "FAIL");
  if (!same) rc = 1;
  dist::finalize();
  return rc;
}
