// DistributedSampler: each rank's disjoint shard of every epoch's permutation of a dataset
// (PyTorch's DistributedSampler). Every rank builds the same permutation from the same seed and
// epoch, then takes every world_size-th index starting at its rank. When the dataset does not
// split evenly, drop_last=false pads with indices from the start of the permutation (every
// rank gets ceil(n / world) samples), drop_last=true drops the tail (floor(n / world)).
// Needs no MPI: rank and world size are arguments (defaults: distributed::rank()/world_size()).
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::distributed {

struct SamplerOptions {
  bool shuffle = true;
  uint64_t seed = 0;      // must be the same on every rank
  bool drop_last = false;
  SamplerOptions& with_shuffle(bool s) { shuffle = s; return *this; }
  SamplerOptions& with_seed(uint64_t s) { seed = s; return *this; }
  SamplerOptions& with_drop_last(bool d) { drop_last = d; return *this; }
};

class DistributedSampler {
 public:
  // world_size/rank < 0: take them from distributed::world_size()/rank().
  explicit DistributedSampler(int64_t dataset_size, SamplerOptions options = {}, int world_size = -1, int rank = -1);
  void set_epoch(int64_t epoch) { epoch_ = epoch; }  // reshuffles: call once per epoch on every rank
  int64_t epoch() const { return epoch_; }
  int64_t size() const { return per_rank_; }  // samples this rank gets each epoch
  int world_size() const { return world_; }
  int rank() const { return rank_; }
  std::vector<int64_t> indices() const;  // this rank's shard for the current epoch
  Tensor indices_tensor() const;         // the same as an int64 tensor

 private:
  int64_t n_, per_rank_;
  int world_, rank_;
  SamplerOptions options_;
  int64_t epoch_ = 0;
};

}  // namespace tapeflow::distributed
