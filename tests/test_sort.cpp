// sort, topk and einsum: values and gradients against PyTorch (tests/nn_refs.h), stable ties,
// k = n, NaN order, gradchecks and errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"

namespace tf = tapeflow;
using tf::Tensor;
using namespace nntest;
using Catch::Matchers::Contains;

TEST_CASE("sort and topk match PyTorch (ties stable, k = n)", "[sort]") {
  check_ref(kRef_sort_desc_ties, {{3, 5}}, [](V a) { return tf::sort(a[0], 1, true, true).first; }, true);
  check_ref(kRef_sort_dim0_ties, {{4, 3}}, [](V a) { return tf::sort(a[0], 0, false, true).first; }, true);
  check_ref(kRef_topk_largest, {{3, 6}}, [](V a) { return tf::topk(a[0], 2, -1).first; });
  check_ref(kRef_topk_k_eq_n_smallest, {{2, 4}}, [](V a) { return tf::topk(a[0], 4, 1, false).first; });
  for (tf::Device dev : test_devices()) {
    auto [v, i] = tf::sort(convtest::arg({3, 5}, 0, true).to(dev), 1, true, true);
    CHECK(i.dtype() == tf::kInt64);
    check_close(i.astype(tf::kFloat64), kSortDescTiesIdx, 0, "stable indices");
  }
  // ints, NaN last ascending / first descending, k = 0
  auto [vi, ii] = tf::sort(tf::from_vector(std::vector<int64_t>{3, 1, 2, 1}));
  CHECK(vi.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 2, 3});
  CHECK(ii.to_vector<int64_t>() == std::vector<int64_t>{1, 3, 2, 0});
  Tensor xn = tf::tensor({1.0f, NAN, -2.0f});
  auto [vn, in] = tf::sort(xn);
  CHECK(in.to_vector<int64_t>() == std::vector<int64_t>{2, 0, 1});
  CHECK(tf::topk(xn, 1).second.to_vector<int64_t>() == std::vector<int64_t>{1});
  CHECK(tf::topk(xn, 0).first.numel() == 0);
  gradcheck([](V a) { return tf::sort(a[0], 0, true).first * tf::topk(a[0], 3, 0).first.sum(); }, {rnd({5, 2}, 1)});
}

TEST_CASE("sort and topk reject bad arguments", "[sort]") {
  Tensor x = tf::ones({2, 3});
  REQUIRE_THROWS_WITH(tf::topk(x, 4), Contains("topk: k = 4 is out of range for dim -1 of size 3 (input shape (2, 3))"));
  REQUIRE_THROWS_WITH(tf::topk(x, -1, 0), Contains("topk: k = -1 is out of range for dim 0 of size 2"));
  REQUIRE_THROWS_WITH(tf::sort(x, 2), Contains("sort"));
}

TEST_CASE("einsum matches PyTorch for the common contractions", "[sort][einsum]") {
  check_ref(kRef_einsum_ij_jk, {{3, 4}, {4, 2}}, [](V a) { return tf::einsum("ij,jk->ik", a[0], a[1]); });
  check_ref(kRef_einsum_bij_bjk, {{2, 3, 4}, {2, 4, 5}}, [](V a) { return tf::einsum("bij,bjk->bik", a[0], a[1]); });
  check_ref(kRef_einsum_qk, {{2, 2, 3, 4}, {2, 2, 5, 4}}, [](V a) { return tf::einsum("bhqd,bhkd->bhqk", a[0], a[1]); });
  check_ref(kRef_einsum_pv, {{2, 2, 3, 5}, {2, 2, 5, 4}}, [](V a) { return tf::einsum("bhqk,bhkd->bhqd", a[0], a[1]); });
  check_ref(kRef_einsum_dot, {{6}, {6}}, [](V a) { return tf::einsum("i,i->", a[0], a[1]); });
  check_ref(kRef_einsum_outer, {{3}, {4}}, [](V a) { return tf::einsum("i,j->ij", a[0], a[1]); });
  check_ref(kRef_einsum_transpose, {{3, 4}}, [](V a) { return tf::einsum("ij->ji", a[0]); });
  check_ref(kRef_einsum_sum_free, {{2, 3, 4}, {3, 2}}, [](V a) { return tf::einsum("ijk,jl->il", a[0], a[1]); });
  check_ref(kRef_einsum_ij_jk, {{3, 4}, {4, 2}}, [](V a) { return tf::einsum("ij,jk", a[0], a[1]); });  // implicit
  gradcheck([](V a) { return tf::einsum("bij,bkj->bki", a[0], a[1]); }, {rnd({2, 3, 2}, 1), rnd({2, 4, 2}, 2)});
}

TEST_CASE("einsum rejects unsupported or inconsistent equations", "[sort][einsum]") {
  Tensor a = tf::ones({2, 3}), b = tf::ones({4, 5});
  REQUIRE_THROWS_WITH(tf::einsum("ii->i", tf::ones({2, 2})),
                      Contains("einsum: unsupported equation \"ii->i\": letter 'i' repeats inside an operand; supported:"));
  REQUIRE_THROWS_WITH(tf::einsum("...ij,jk->ik", a, b), Contains("ellipsis is not supported"));
  REQUIRE_THROWS_WITH(tf::einsum("ij,jk->ik", a, b),
                      Contains("einsum: letter 'j' of \"ij,jk->ik\" has size 3 in operand 0 (shape (2, 3)) but 4 in operand 1"));
  REQUIRE_THROWS_WITH(tf::einsum("ijk,jk->ik", a, b), Contains("einsum: operand 0 of \"ijk,jk->ik\" has 3 letter(s) but the tensor has shape (2, 3)"));
  REQUIRE_THROWS_WITH(tf::einsum("ij->ik", a), Contains("output letter 'k' is in no input"));
  REQUIRE_THROWS_WITH(tf::einsum("ij,jk->ik", a), Contains("has 2 operand(s) but 1 tensor(s) were given"));
}
