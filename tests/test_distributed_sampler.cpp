// DistributedSampler (no MPI needed: rank and world size are arguments): shards are disjoint
// and cover the epoch's permutation, padding / dropping follow PyTorch's DistributedSampler,
// every rank computes the same permutation, and set_epoch reshuffles. Plus the errors of a
// build or a process without MPI.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "tapeflow.h"

using namespace tapeflow;
using distributed::DistributedSampler;
using distributed::SamplerOptions;

namespace {
std::vector<std::vector<int64_t>> shards(int64_t n, int world, SamplerOptions o, int64_t epoch = 0) {
  std::vector<std::vector<int64_t>> s;
  for (int r = 0; r < world; ++r) {
    DistributedSampler d(n, o, world, r);
    d.set_epoch(epoch);
    s.push_back(d.indices());
    CHECK((int64_t)s.back().size() == d.size());
  }
  return s;
}
}  // namespace

TEST_CASE("DistributedSampler: disjoint shards covering a permutation", "[distributed][sampler]") {
  auto s = shards(10, 2, SamplerOptions().with_seed(7));
  REQUIRE(s[0].size() == 5);
  std::vector<int64_t> all = s[0];
  all.insert(all.end(), s[1].begin(), s[1].end());
  std::sort(all.begin(), all.end());
  for (int64_t i = 0; i < 10; ++i) CHECK(all[i] == i);
  // Shuffled (not the identity), and identical when recomputed (every rank agrees).
  CHECK(s[0] != std::vector<int64_t>{0, 2, 4, 6, 8});
  CHECK(shards(10, 2, SamplerOptions().with_seed(7)) == s);
  // set_epoch reshuffles; another seed gives another permutation.
  CHECK(shards(10, 2, SamplerOptions().with_seed(7), 1) != s);
  CHECK(shards(10, 2, SamplerOptions().with_seed(8)) != s);
}

TEST_CASE("DistributedSampler: uneven sizes pad or drop as PyTorch does", "[distributed][sampler]") {
  // Without shuffling the permutation is 0..n-1: rank r takes r, r + world, ...
  auto padded = shards(7, 3, SamplerOptions().with_shuffle(false));
  CHECK(padded[0] == std::vector<int64_t>{0, 3, 6});
  CHECK(padded[1] == std::vector<int64_t>{1, 4, 0});  // padded with the permutation's start
  CHECK(padded[2] == std::vector<int64_t>{2, 5, 1});
  auto dropped = shards(7, 3, SamplerOptions().with_shuffle(false).with_drop_last(true));
  CHECK(dropped[0] == std::vector<int64_t>{0, 3});
  CHECK(dropped[1] == std::vector<int64_t>{1, 4});
  CHECK(dropped[2] == std::vector<int64_t>{2, 5});
  // A dataset smaller than the world still gives every rank one sample.
  auto tiny = shards(2, 3, SamplerOptions().with_shuffle(false));
  CHECK(tiny[2] == std::vector<int64_t>{0});
  CHECK(shards(0, 2, SamplerOptions())[1].empty());
  DistributedSampler d(5, SamplerOptions().with_shuffle(false), 2, 1);
  CHECK(d.indices_tensor().to_vector<int64_t>() == std::vector<int64_t>{1, 3, 0});
}

TEST_CASE("DistributedSampler: bad arguments", "[distributed][sampler]") {
  CHECK_THROWS_WITH(DistributedSampler(10, {}, 2, 2), Catch::Contains("DistributedSampler") && Catch::Contains("rank 2"));
  CHECK_THROWS_WITH(DistributedSampler(10, {}, 0, 0), Catch::Contains("world_size must be >= 1"));
  CHECK_THROWS_WITH(DistributedSampler(-1, {}, 1, 0), Catch::Contains("dataset_size"));
}

TEST_CASE("distributed without a launcher", "[distributed]") {
  if (distributed::launched()) return;  // this test binary was started by mpirun
  CHECK(distributed::world_size() == 1);
  CHECK(distributed::rank() == 0);
  if (distributed::is_built()) {
    CHECK_THROWS_WITH(distributed::init(), Catch::Contains("not started by an MPI launcher") && Catch::Contains("mpirun"));
  } else {
    CHECK_THROWS_WITH(distributed::init(), Catch::Contains("built without MPI"));
  }
  Tensor t = zeros({2});
  CHECK_THROWS_WITH(distributed::all_reduce(t), Catch::Contains("all_reduce"));
}
