// Data-parallel throughput of the wide MLP (784-512-512-10 relu, softmax cross-entropy, Adam,
// global batch 256 of synthetic Fashion-MNIST-shaped data), run by bench/distributed.sh as
//   1 process x 2 threads          (dist_bench --threads 2)
//   2 processes x 1 thread each    (mpirun -np 2 dist_bench --threads 1 --distributed)
// Prints samples per second (median of --reps timed blocks of --steps steps) and, when
// distributed, the median time per step spent waiting for the gradient all-reduce.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tapeflow.h"
#include "distributed/data_parallel.h"

namespace tf = tapeflow;
namespace dist = tapeflow::distributed;
using clk = std::chrono::steady_clock;

int main(int argc, char** argv) {
  int threads = 1, steps = 20, reps = 5;
  bool distributed = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--steps" && i + 1 < argc) steps = std::atoi(argv[++i]);
    else if (a == "--reps" && i + 1 < argc) reps = std::atoi(argv[++i]);
    else if (a == "--distributed") distributed = true;
  }
  tf::set_num_threads(threads);
  if (distributed) dist::init();
  int world = dist::world_size(), rank = dist::rank();
  const int64_t global_batch = 256, local_batch = global_batch / world;
  tf::manual_seed(5);
  tf::Tensor x = tf::rand({local_batch * 8, 784});
  tf::Tensor y = tf::randint(0, 10, {local_batch * 8});
  auto model = std::make_shared<tf::nn::Sequential>();
  model->add(tf::nn::Dense(512, "relu", true, "glorot_uniform", "zeros", 784));
  model->add(tf::nn::Dense(512, "relu"));
  model->add(tf::nn::Dense(10, "linear"));
  std::unique_ptr<dist::DataParallel> ddp;
  if (distributed) ddp = std::make_unique<dist::DataParallel>(model);
  tf::optim::Adam opt(model->parameters());
  std::vector<double> rates, waits;
  for (int rep = 0; rep < reps + 1; ++rep) {  // the first block warms up
    double wait = 0;
    auto t0 = clk::now();
    for (int s = 0; s < steps; ++s) {
      int64_t b0 = (s % 8) * local_batch;
      tf::Tensor logits = (*model)(x.narrow(0, b0, local_batch));
      tf::Tensor loss = tf::mean(tf::cross_entropy(logits, y.narrow(0, b0, local_batch)));
      opt.zero_grad();
      loss.backward();
      if (ddp) { ddp->sync_gradients(); wait += ddp->last_wait_seconds(); }
      opt.step();
    }
    double dt = std::chrono::duration<double>(clk::now() - t0).count();
    if (distributed) dist::barrier();
    if (rep == 0) continue;
    rates.push_back(steps * global_batch / dt);
    waits.push_back(wait / steps);
  }
  std::sort(rates.begin(), rates.end());
  std::sort(waits.begin(), waits.end());
  if (rank == 0)
    std::printf("wide_mlp_dp processes=%d threads=%d samples_per_s=%.0f allreduce_ms_per_step=%.2f buckets=%zu\n", world,
                threads, rates[rates.size() / 2], 1e3 * waits[waits.size() / 2], ddp ? ddp->bucket_count() : (size_t)0);
  if (distributed) dist::finalize();
  return 0;
}
