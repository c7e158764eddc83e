// Internal (training/): fit()'s data-parallel mode (FitOptions::distributed). Initialises
// tapeflow::distributed from the launcher, wraps the model in a DataParallel whose gradient
// sync runs between backward and the optimizer step, shards every epoch's permutation over the
// ranks, and averages logs and validation metrics over them. Not part of the public API.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "distributed/data_parallel.h"
#include "distributed/sampler.h"
#include "training/model.h"

namespace tapeflow::training {

class DistributedFit {
 public:
  DistributedFit(Model& model, const FitOptions& options);
  ~DistributedFit();
  DistributedFit(const DistributedFit&) = delete;
  DistributedFit& operator=(const DistributedFit&) = delete;

  int rank() const;
  uint64_t agree_seed(uint64_t seed) const;  // rank 0's seed on every rank
  int64_t local_batch(int64_t global_batch) const;
  int64_t steps_per_epoch(int64_t n, int64_t global_batch) const;
  // This rank's indices of epoch `epoch` (padded so that every rank gets as many).
  Tensor shard(int64_t n, int epoch, bool shuffle, uint64_t seed) const;
  void average(Logs& logs) const;  // the mean over the ranks of every value
  Logs evaluate(Model& model, const std::vector<Tensor>& x, const Tensor& y, int64_t global_batch) const;
  bool agree_stop(bool stop) const;  // rank 0's decision

 private:
  Model& model_;
  std::unique_ptr<distributed::DataParallel> ddp_;
};

}  // namespace tapeflow::training
