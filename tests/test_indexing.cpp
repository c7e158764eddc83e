// Indexing ops: index_select, gather, take_along_dim, scatter_add, index_add and one_hot, over
// contiguous and non-contiguous inputs, int32/int64 indices, float/integer/bool values.
// Expected values computed offline with PyTorch (torch.gather, scatter_add, index_add, ...).
// Every case runs on every device (TF_EACH_DEVICE, tests/devices.h; inputs via on_dev).
#include "devices.h"
#include "helpers.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

namespace {
Tensor x34() { return on_dev(arange(12, Options(kFloat32))).reshape({3, 4}); }
}  // namespace

TEST_CASE("index_select", "[indexing]") {
  TF_EACH_DEVICE();
  Tensor x = x34();
  Tensor r = index_select(x, 0, on_dev(from_vector<int64_t>({2, 0, 2})));
  CHECK(r.shape() == Shape{3, 4});
  CHECK_FALSE(r.shares_storage(x));  // a copy, not a view
  REQUIRE_THAT(r, Values({8, 9, 10, 11, 0, 1, 2, 3, 8, 9, 10, 11}));
  Tensor c = index_select(x, -1, on_dev(from_vector<int32_t>({3, 1})));
  CHECK(c.shape() == Shape{3, 2});
  REQUIRE_THAT(c, Values({3, 1, 7, 5, 11, 9}));
  // x.T.index_select(0, [1, 3]) on a transposed view
  REQUIRE_THAT(index_select(x.T(), 0, on_dev(from_vector<int64_t>({1, 3}))), Values({1, 5, 9, 3, 7, 11}));
  // strided index (every other element of a longer index tensor)
  REQUIRE_THAT(index_select(x, 1, on_dev(from_vector<int64_t>({0, 99, 2, 99})).slice(0, 0, kEnd, 2)),
               Values({0, 2, 4, 6, 8, 10}));
  CHECK(index_select(x, 0, on_dev(from_vector<int64_t>({}))).shape() == Shape{0, 4});
  Tensor xi = on_dev(from_vector<int64_t>({5, 6, 7}));
  CHECK(ints(index_select(xi, 0, on_dev(from_vector<int64_t>({2, 2, 0})))) == std::vector<int64_t>{7, 7, 5});
  Tensor xb = on_dev(from_vector<bool>({true, false}));
  CHECK(ints(index_select(xb, 0, on_dev(from_vector<int64_t>({1, 0, 1})))) == std::vector<int64_t>{0, 1, 0});
  CHECK(index_select(xb, 0, on_dev(from_vector<int64_t>({1}))).dtype() == kBool);
}

TEST_CASE("gather and take_along_dim", "[indexing]") {
  TF_EACH_DEVICE();
  Tensor x = x34();
  Tensor idx = on_dev(from_vector<int64_t>({0, 0, 1, 0, 3, 2}, {3, 2}));
  Tensor g = gather(x, 1, idx);
  CHECK(g.shape() == Shape{3, 2});
  REQUIRE_THAT(g, Values({0, 0, 5, 4, 11, 10}));
  // index smaller than the input along other dims
  REQUIRE_THAT(gather(x, 0, on_dev(from_vector<int64_t>({2, 1, 0, 0}, {1, 4}))), Values({8, 5, 2, 3}));
  // transposed input: gather(x.T, 0, idx^T-like) picks the same elements
  REQUIRE_THAT(gather(x.T(), 0, on_dev(from_vector<int32_t>({0, 1, 3, 0, 0, 2}, {2, 3}))), Values({0, 5, 11, 0, 4, 10}));
  CHECK(gather(x.astype(kFloat64), 1, idx).dtype() == kFloat64);
  CHECK(ints(gather(x.astype(kInt32), 1, idx)) == std::vector<int64_t>{0, 0, 5, 4, 11, 10});

  // take_along_dim with argmax indices gives the maxima
  Tensor am = x.argmax(1, true);
  REQUIRE_THAT(take_along_dim(x, am, 1), Values({3, 7, 11}));
  // index (1, 2) broadcast over rows: torch.take_along_dim(x, [[3, 0]], dim=1)
  Tensor t = take_along_dim(x, on_dev(from_vector<int64_t>({3, 0}, {1, 2})), 1);
  CHECK(t.shape() == Shape{3, 2});
  REQUIRE_THAT(t, Values({3, 0, 7, 4, 11, 8}));
}

TEST_CASE("scatter_add and index_add accumulate duplicates", "[indexing]") {
  TF_EACH_DEVICE();
  Tensor idx = on_dev(from_vector<int64_t>({0, 0, 1, 0, 3, 2}, {3, 2}));
  Tensor src = on_dev(tensor({{1.f, 2.f}, {3.f, 4.f}, {5.f, 6.f}}));
  Tensor base = on_dev(zeros({3, 4}));
  Tensor s = scatter_add(base, 1, idx, src);
  CHECK(s.shape() == Shape{3, 4});
  REQUIRE_THAT(s, Values({3, 0, 0, 0, 4, 3, 0, 0, 0, 0, 6, 5}));
  REQUIRE_THAT(base, Values(std::vector<double>(12, 0.0)));  // out of place: the input is unchanged
  // index (1, 4) uses only the first row of a (2, 4) src
  Tensor s0 = scatter_add(on_dev(ones({3, 4})), 0, on_dev(from_vector<int64_t>({2, 0, 2, 1}, {1, 4})),
                          on_dev(tensor({{10.f, 20.f, 30.f, 40.f}, {1.f, 1.f, 1.f, 1.f}})));
  REQUIRE_THAT(s0, Values({1, 21, 1, 1, 1, 1, 1, 41, 11, 1, 31, 1}));
  // non-contiguous destination and source
  Tensor st = scatter_add(on_dev(zeros({4, 3})).T(), 1, idx, src.T().contiguous().T());
  REQUIRE_THAT(st, Values({3, 0, 0, 0, 4, 3, 0, 0, 0, 0, 6, 5}));
  CHECK(ints(scatter_add(on_dev(zeros({3}, Options(kInt64))), 0, on_dev(from_vector<int64_t>({1, 1, 2})), on_dev(from_vector<int64_t>({5, 6, 7})))) ==
        std::vector<int64_t>{0, 11, 7});

  Tensor x = x34();
  Tensor ia = index_add(on_dev(zeros({3, 4})), 0, on_dev(from_vector<int64_t>({0, 2, 0})), x);
  REQUIRE_THAT(ia, Values({8, 10, 12, 14, 0, 0, 0, 0, 4, 5, 6, 7}));
  Tensor ib = index_add(on_dev(zeros({3, 2})), 1, on_dev(from_vector<int32_t>({1, 1, 0, 1})), x);
  REQUIRE_THAT(ib, Values({2, 4, 6, 16, 10, 28}));
  // transposed target (3, 2) and a sliced transposed source x.T[:3] (3, 3)
  REQUIRE_THAT(index_add(on_dev(zeros({2, 3})).T(), 1, on_dev(from_vector<int64_t>({1, 0, 1})), x.T().slice(0, 0, 3)),
               Values({4, 8, 5, 10, 6, 12}));
  Tensor keep = on_dev(ones({2}));
  Tensor ik = index_add(keep, 0, on_dev(from_vector<int64_t>({1})), on_dev(tensor({5.f})));
  REQUIRE_THAT(ik, Values({1, 6}));
  REQUIRE_THAT(keep, Values({1, 1}));
}

TEST_CASE("one_hot", "[indexing]") {
  TF_EACH_DEVICE();
  Tensor oh = one_hot(on_dev(from_vector<int64_t>({0, 2, 1})));
  CHECK(oh.dtype() == kInt64);
  CHECK(oh.shape() == Shape{3, 3});
  CHECK(ints(oh) == std::vector<int64_t>{1, 0, 0, 0, 0, 1, 0, 1, 0});
  Tensor oh5 = one_hot(on_dev(from_vector<int32_t>({4, 0})), 5);
  CHECK(oh5.shape() == Shape{2, 5});
  CHECK(ints(oh5) == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0});
  Tensor oh2 = one_hot(on_dev(from_vector<int64_t>({1, 0, 0, 1}, {2, 2})), 2);
  CHECK(oh2.shape() == Shape{2, 2, 2});
  CHECK(ints(oh2) == std::vector<int64_t>{0, 1, 1, 0, 1, 0, 0, 1});
  CHECK(ints(one_hot(on_dev(from_vector<uint8_t>({1})), 3)) == std::vector<int64_t>{0, 1, 0});
  CHECK(one_hot(on_dev(from_vector<int64_t>({})), 4).shape() == Shape{0, 4});
  // strided labels
  CHECK(ints(one_hot(on_dev(from_vector<int64_t>({2, 9, 0, 9})).slice(0, 0, kEnd, 2), 3)) ==
        std::vector<int64_t>{0, 0, 1, 1, 0, 0});
}
