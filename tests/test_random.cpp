// Random numbers: uniform/normal/bernoulli/randint from the Philox generator seeded by
// manual_seed, reproducible, with the right moments, and independent of the thread count.
#include <algorithm>
#include <numeric>

#include "helpers.h"
#include "base/runtime.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

TEST_CASE("random streams are reproducible and independent of the thread count", "[tensor]") {
  int threads = get_num_threads();
  manual_seed(42);
  std::vector<float> u1 = uniform({100000}).to_vector<float>();
  std::vector<float> u1b = uniform({100000}).to_vector<float>();
  CHECK(u1 != u1b);  // the stream moves on
  manual_seed(42);
  CHECK(uniform({100000}).to_vector<float>() == u1);  // same seed, same values
  set_num_threads(1);
  manual_seed(42);
  std::vector<float> u_one = uniform({100000}).to_vector<float>();
  std::vector<float> n_one = normal({50001}).to_vector<float>();
  std::vector<float> b_one = bernoulli({70000}, 0.5).to_vector<float>();
  std::vector<int64_t> r_one = ints(randint(-5, 5, {70000}));
  set_num_threads(2);
  manual_seed(42);
  std::vector<float> u_two = uniform({100000}).to_vector<float>();
  std::vector<float> n_two = normal({50001}).to_vector<float>();
  std::vector<float> b_two = bernoulli({70000}, 0.5).to_vector<float>();
  std::vector<int64_t> r_two = ints(randint(-5, 5, {70000}));
  set_num_threads(threads);
  CHECK(u_one == u1);
  CHECK(u_two == u1);
  CHECK(n_one == n_two);
  CHECK(b_one == b_two);
  CHECK(r_one == r_two);
  CHECK(get_num_threads() == threads);
  manual_seed(43);
  CHECK(uniform({100000}).to_vector<float>() != u1);

  // Ranges and moments (loose bounds: 1e5 samples).
  double mn = *std::min_element(u1.begin(), u1.end()), mx = *std::max_element(u1.begin(), u1.end());
  CHECK(mn >= 0.0);
  CHECK(mx < 1.0);
  double mean = std::accumulate(u1.begin(), u1.end(), 0.0) / u1.size();
  CHECK(std::fabs(mean - 0.5) < 0.01);
  Tensor u = uniform({2000}, -3, -1, Options(kFloat64));
  CHECK(u.dtype() == kFloat64);
  CHECK(u.min().item<double>() >= -3);
  CHECK(u.max().item<double>() < -1);

  manual_seed(7);
  Tensor n = normal({100000}, 2.0, 3.0);
  CHECK(std::fabs(n.mean().item<double>() - 2.0) < 0.05);
  CHECK(std::fabs(n.std().item<double>() - 3.0) < 0.05);
  CHECK(randn({3, 4}).shape() == Shape{3, 4});
  CHECK(rand({5}).dtype() == kFloat32);

  Tensor bern = bernoulli({10000}, 0.3);
  std::vector<float> bv = bern.to_vector<float>();
  CHECK(std::all_of(bv.begin(), bv.end(), [](float x) { return x == 0.f || x == 1.f; }));
  CHECK(std::fabs(bern.mean().item<double>() - 0.3) < 0.03);
  CHECK(bernoulli({100}, 0.0).sum().item<double>() == 0);
  CHECK(bernoulli({100}, 1.0).sum().item<double>() == 100);

  Tensor ri = randint(3, 7, {1000});
  CHECK(ri.dtype() == kInt64);
  std::vector<int64_t> rv = ints(ri);
  CHECK(*std::min_element(rv.begin(), rv.end()) == 3);
  CHECK(*std::max_element(rv.begin(), rv.end()) == 6);
  CHECK(randint(0, 2, {4}, Options(kInt32)).dtype() == kInt32);

  std::vector<int64_t> p = ints(randperm(10));
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> want(10);
  std::iota(want.begin(), want.end(), 0);
  CHECK(sorted == want);
  manual_seed(5);
  std::vector<int64_t> p1 = ints(randperm(50));
  manual_seed(5);
  CHECK(ints(randperm(50)) == p1);
}
