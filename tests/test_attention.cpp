// scaled_dot_product_attention against PyTorch's definition (tests/nn_refs.h): plain, causal,
// bool and float masks, length 1; a fully masked row gives zeros and zero gradient; gradchecks
// and errors.
#include <catch2/catch.hpp>

#include <cmath>

#include "nn_test_util.h"

namespace tf = tapeflow;
using tf::Tensor;
using namespace nntest;
using Catch::Matchers::Contains;

namespace {
Tensor nan_of(const Tensor& t) { return tf::ne(t, t); }
Tensor mask35(tf::Device dev, bool full_row = false) {
  std::vector<bool> m{true, false, true, true, false, true, true, true, true, true, false, false, false, false, true};
  if (full_row) m[14] = false;  // row 2 masked entirely
  return tf::from_vector(m, {3, 5}).to(dev);
}
}  // namespace

TEST_CASE("scaled_dot_product_attention matches PyTorch", "[attention]") {
  check_ref(kRef_sdpa_plain, {{2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}},
            [](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2]); });
  check_ref(kRef_sdpa_causal, {{2, 4, 3}, {2, 4, 3}, {2, 4, 2}},
            [](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2], {}, true); });
  check_ref(kRef_sdpa_bool_mask_scale, {{2, 3, 4}, {2, 5, 4}, {2, 5, 3}},
            [](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2], mask35(a[0].device()), false, 0.7); });
  check_ref(kRef_sdpa_float_mask, {{2, 2, 3, 4}, {2, 2, 5, 4}, {2, 2, 5, 3}, {2, 1, 3, 5}},
            [](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2], a[3]); });
  check_ref(kRef_sdpa_len1, {{1, 1, 2}, {1, 1, 2}, {1, 1, 3}},
            [](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2]); });
}

TEST_CASE("scaled_dot_product_attention: a fully masked row gives zeros, not NaN", "[attention]") {
  for (tf::Device dev : test_devices()) {
    Tensor q = rnd({2, 3, 4}, 1).to(dev).requires_grad_(), k = rnd({2, 5, 4}, 2).to(dev).requires_grad_();
    Tensor v = rnd({2, 5, 3}, 3).to(dev).requires_grad_();
    Tensor y = tf::scaled_dot_product_attention(q, k, v, mask35(dev, true));
    Tensor row = y.slice(1, 2, 3);
    CHECK(tf::all(tf::eq(row, 0.0)).item<bool>());
    CHECK(!tf::any(nan_of(y)).item<bool>());
    tf::sum(y * y).backward();
    CHECK(!tf::any(nan_of(q.grad())).item<bool>());
    CHECK(tf::all(tf::eq(q.grad().slice(1, 2, 3), 0.0)).item<bool>());
    CHECK(!tf::any(nan_of(k.grad())).item<bool>());
    // The other rows equal attention over their own keys.
    Tensor y2 = tf::scaled_dot_product_attention(q, k, v, mask35(dev, false));
    CHECK(tf::max(tf::abs(y.slice(1, 0, 2) - y2.slice(1, 0, 2))).item<double>() < 1e-12);
  }
  {  // a float mask of -inf over a whole row: zeros too
    Tensor fm = tf::where(mask35(tf::Device::cpu(), true), 0.0, -INFINITY);
    Tensor y = tf::scaled_dot_product_attention(rnd({2, 3, 4}, 1), rnd({2, 5, 4}, 2), rnd({2, 5, 3}, 3), fm);
    CHECK(tf::all(tf::eq(y.slice(1, 2, 3), 0.0)).item<bool>());
    CHECK(!tf::any(nan_of(y)).item<bool>());
  }
  gradcheck([](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2], mask35(a[0].device(), true)); },
            {rnd({2, 3, 4}, 1), rnd({2, 5, 4}, 2), rnd({2, 5, 3}, 3)});
  gradcheck([](V a) { return tf::scaled_dot_product_attention(a[0], a[1], a[2], {}, true); },
            {rnd({1, 2, 3, 2}, 4), rnd({1, 2, 3, 2}, 5), rnd({1, 2, 3, 2}, 6)});
}

TEST_CASE("scaled_dot_product_attention rejects bad shapes and masks", "[attention]") {
  Tensor q = tf::ones({2, 3, 4}), k = tf::ones({2, 5, 4}), v = tf::ones({2, 5, 3});
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(q, k, v, tf::ones({3, 4}).astype(tf::kBool)),
                      Contains("scaled_dot_product_attention: attn_mask of shape (3, 4) does not broadcast to the attention "
                               "weights' shape (2, 3, 5) (..., L, S)"));
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(q, tf::ones({2, 5, 3}), v),
                      Contains("scaled_dot_product_attention: q and k must have the same last dim"));
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(q, k, tf::ones({2, 4, 3})),
                      Contains("k and v must have the same sequence length"));
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(tf::ones({4}), k, v), Contains("must be at least 2-D"));
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(q, k, v, tf::ones({3, 5}).astype(tf::kBool), true),
                      Contains("not both"));
  REQUIRE_THROWS_WITH(tf::scaled_dot_product_attention(q, k, v, tf::ones({3, 5}).astype(tf::kInt64)),
                      Contains("attn_mask must be bool or float, got dtype int64"));
}
