// embedding, masked_fill, tril / triu: values and gradients against PyTorch (tests/nn_refs.h),
// the padding row getting no gradient, gradchecks and errors.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

namespace tf = tapeflow;
using tf::Tensor;
using namespace nntest;
using Catch::Matchers::Contains;

namespace {
Tensor idx(tf::Device dev) {
  return tf::from_vector(std::vector<int64_t>{1, 3, 0, 3, 3, 2}, {2, 3}).to(dev);
}
}  // namespace

TEST_CASE("embedding gathers rows and scatter-adds the gradient, as PyTorch", "[embedding]") {
  check_ref(kRef_embedding, {{5, 3}}, [](V a) { return tf::embedding(idx(a[0].device()), a[0]); });
  check_ref(kRef_embedding_pad, {{5, 3}}, [](V a) { return tf::embedding(idx(a[0].device()), a[0], 3); });
  check_ref(kRef_embedding_pad, {{5, 3}}, [](V a) { return tf::embedding(idx(a[0].device()), a[0], -2); });
  for (tf::Device dev : test_devices()) {
    Tensor w = rnd({5, 3}, 1).to(dev).requires_grad_();
    Tensor y = tf::embedding(idx(dev), w, 3);
    tf::sum(y).backward();
    CHECK(tftest::approx_vec(w.grad().cpu(), {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0}));
  }
  gradcheck([](V a) { return tf::embedding(idx(a[0].device()), a[0]); }, {rnd({4, 2}, 2)});
  gradcheck(grad_of([](V a) { return tf::embedding(idx(a[0].device()), a[0]) * a[0].sum(); }, 3), {rnd({4, 2}, 2)});
}

TEST_CASE("embedding rejects an index out of range, naming it and the table size", "[embedding]") {
  Tensor w = tf::ones({4, 2});
  Tensor w0 = w.clone();
  REQUIRE_THROWS_WITH(tf::embedding(tf::from_vector(std::vector<int64_t>{0, 4}), w),
                      Contains("embedding: index 4 is out of range for an embedding table of 4 rows (weight shape (4, 2))"));
  REQUIRE_THROWS_WITH(tf::embedding(tf::from_vector(std::vector<int64_t>{-1}), w), Contains("embedding: index -1 is out of range"));
  REQUIRE_THROWS_WITH(tf::embedding(tf::zeros({2}), w), Contains("embedding: indices must be integers, got dtype float32"));
  REQUIRE_THROWS_WITH(tf::embedding(tf::from_vector(std::vector<int64_t>{0}), tf::ones({4})),
                      Contains("embedding: weight must be 2-D (num_embeddings, embedding_dim), got shape (4,)"));
  REQUIRE_THROWS_WITH(tf::embedding(tf::from_vector(std::vector<int64_t>{0}), w, 4),
                      Contains("embedding: padding_idx 4 is out of range for an embedding table of 4 rows"));
  CHECK(tf::all(tf::eq(w, w0)).item<bool>());
}

TEST_CASE("masked_fill, tril and triu match PyTorch", "[embedding][mask]") {
  check_ref(kRef_masked_fill, {{3, 4}}, [](V a) {
    Tensor m = tf::from_vector(std::vector<bool>{true, false, false, true}).to(a[0].device());
    return tf::masked_fill(a[0], m, -2.5);
  });
  check_ref(kRef_tril, {{2, 3, 4}}, [](V a) { return tf::tril(a[0], 1); });
  check_ref(kRef_triu, {{2, 3, 4}}, [](V a) { return tf::triu(a[0], -1); });
  gradcheck([](V a) { return tf::tril(a[0]) + tf::triu(a[0], 2); }, {rnd({3, 4}, 1)});
  Tensor x = tf::ones({2, 3});
  REQUIRE_THROWS_WITH(tf::masked_fill(x, tf::ones({3, 3}).astype(tf::kBool), 0),
                      Contains("masked_fill: mask of shape (3, 3) does not broadcast to the input shape (2, 3)"));
  REQUIRE_THROWS_WITH(tf::masked_fill(x, tf::ones({3}), 0), Contains("masked_fill: mask must be bool, got dtype float32"));
  REQUIRE_THROWS_WITH(tf::tril(tf::ones({3})), Contains("tril: expected a tensor of at least 2 dims, got shape (3,)"));
  CHECK(tf::all(tf::eq(x, 1.0)).item<bool>());
}
