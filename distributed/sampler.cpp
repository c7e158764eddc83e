// DistributedSampler: the epoch's permutation (Fisher-Yates over Philox, keyed by seed and
// epoch, so every rank computes the same one), padded or cut to a multiple of the world size,
// then strided by rank.
#include "distributed/sampler.h"

#include <numeric>

#include "base/error.h"
#include "base/philox.h"
#include "distributed/distributed.h"
#include "tensor/creation.h"

namespace tapeflow::distributed {

DistributedSampler::DistributedSampler(int64_t dataset_size, SamplerOptions options, int world_size, int rank)
    : n_(dataset_size), world_(world_size < 0 ? distributed::world_size() : world_size),
      rank_(rank < 0 ? distributed::rank() : rank), options_(options) {
  if (dataset_size < 0) fail("DistributedSampler: dataset_size must be >= 0, got ", dataset_size);
  if (world_ < 1) fail("DistributedSampler: world_size must be >= 1, got ", world_);
  if (rank_ < 0 || rank_ >= world_) fail("DistributedSampler: rank ", rank_, " is outside [0, ", world_, ")");
  per_rank_ = options.drop_last ? n_ / world_ : (n_ + world_ - 1) / world_;
  if (!options.drop_last && n_ == 0) per_rank_ = 0;
}

std::vector<int64_t> DistributedSampler::indices() const {
  std::vector<int64_t> perm(n_);
  std::iota(perm.begin(), perm.end(), 0);
  if (options_.shuffle) {
    uint64_t key = options_.seed ^ ((uint64_t)epoch_ * 0x9E3779B97F4A7C15ull);
    for (int64_t i = n_ - 1; i > 0; --i) {
      Philox4 r = philox4x32(key, (uint64_t)i);
      int64_t j = (int64_t)(u01(r.v[0], r.v[1]) * (double)(i + 1));
      if (j > i) j = i;
      std::swap(perm[i], perm[j]);
    }
  }
  int64_t total = per_rank_ * world_;
  // Pad by repeating the permutation from its start (as often as needed for tiny datasets).
  for (int64_t k = 0; (int64_t)perm.size() < total; ++k) perm.push_back(perm[k % n_]);
  std::vector<int64_t> mine;
  mine.reserve(per_rank_);
  for (int64_t i = rank_; i < total; i += world_) mine.push_back(perm[i]);
  return mine;
}

Tensor DistributedSampler::indices_tensor() const { return from_vector(indices()); }

}  // namespace tapeflow::distributed
