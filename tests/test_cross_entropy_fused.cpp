// cross_entropy's fused CPU kernels (backends/cpu/cross_entropy.cpp): the loss and the logits'
// gradient against float64 loops (log-sum-exp minus the label's logit; (softmax - onehot) * g),
// bit for bit equal to the composed path (a transposed, non-contiguous input takes it), under
// a mean and a weighted sum (g per row, not one value), for float32 and float64, int32 labels,
// and an out-of-range label refused with the input and its gradient untouched.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "helpers.h"
#include "tapeflow.h"

namespace tf = tapeflow;

namespace {

// The same values, element for element, compared as float64 (float32 widens exactly).
bool same(const tf::Tensor& a, const tf::Tensor& b) {
  return a.shape() == b.shape() &&
         a.astype(tf::kFloat64).contiguous().to_vector<double>() == b.astype(tf::kFloat64).contiguous().to_vector<double>();
}

struct Ref {
  std::vector<double> loss, grad;  // grad of sum_i w_i * loss_i
};

Ref reference(const std::vector<double>& z, const std::vector<int64_t>& lab, const std::vector<double>& w,
              int64_t N, int64_t C) {
  Ref r{std::vector<double>(size_t(N)), std::vector<double>(size_t(N * C))};
  for (int64_t i = 0; i < N; ++i) {
    double m = -INFINITY, s = 0;
    for (int64_t j = 0; j < C; ++j) m = std::max(m, z[size_t(i * C + j)]);
    for (int64_t j = 0; j < C; ++j) s += std::exp(z[size_t(i * C + j)] - m);
    r.loss[size_t(i)] = m + std::log(s) - z[size_t(i * C + lab[size_t(i)])];
    for (int64_t j = 0; j < C; ++j)
      r.grad[size_t(i * C + j)] =
          (std::exp(z[size_t(i * C + j)] - m) / s - (j == lab[size_t(i)] ? 1.0 : 0.0)) * w[size_t(i)];
  }
  return r;
}

}  // namespace

TEST_CASE("cross_entropy: fused CPU kernels match float64 loops and the composed ops", "[cross_entropy]") {
  for (tf::DType dt : {tf::kFloat32, tf::kFloat64})
    for (int64_t C : {1, 3, 10, 37}) {
      const int64_t N = 70;
      INFO("float64=" << (dt == tf::kFloat64) << " C=" << C);
      std::vector<double> z(static_cast<size_t>(N * C)), w(static_cast<size_t>(N));
      std::vector<int64_t> lab(static_cast<size_t>(N));
      for (size_t k = 0; k < z.size(); ++k) z[k] = double((k * 37) % 29) / 3.0 - 4.5;
      for (int64_t i = 0; i < N; ++i) { lab[size_t(i)] = (i * 7) % C; w[size_t(i)] = double(i % 5) - 1.5; }
      Ref ref = reference(z, lab, w, N, C);
      tf::Tensor labels = tf::from_vector<int64_t>(lab).astype(tf::kInt32);
      tf::Tensor weights = tf::from_vector<double>(w).astype(dt);
      tf::Tensor fused = tf::from_vector<double>(z).reshape({N, C}).astype(dt).requires_grad_(true);
      // The same values as the first C columns of a wider tensor: a non-contiguous input takes
      // the composed path.
      tf::Tensor wide = tf::concat({tf::from_vector<double>(z).reshape({N, C}), tf::zeros({N, C}, tf::Options(tf::kFloat64))}, 1);
      tf::Tensor composed = wide.astype(dt).slice(1, 0, C).detach().requires_grad_(true);
      REQUIRE_FALSE(composed.is_contiguous());
      tf::Tensor lf = tf::cross_entropy(fused, labels), lc = tf::cross_entropy(composed, labels);
      tf::sum(lf * weights).backward();
      tf::sum(lc * weights).backward();
      const double tol = dt == tf::kFloat32 ? 2e-5 : 1e-12;
      CHECK_THAT(lf, tftest::Values(ref.loss, tol));
      CHECK_THAT(fused.grad(), tftest::Values(ref.grad, tol));
      CHECK(same(lf, lc));
      CHECK(same(fused.grad(), composed.grad()));
      // Under a mean (g one value broadcast over the rows).
      fused.zero_grad(true);
      tf::mean(tf::cross_entropy(fused, labels)).backward();
      std::vector<double> gm(ref.grad.size());
      for (int64_t i = 0; i < N; ++i)
        for (int64_t j = 0; j < C; ++j)
          gm[size_t(i * C + j)] = ref.grad[size_t(i * C + j)] / w[size_t(i)] / double(N);  // w_i != 0
      CHECK_THAT(fused.grad(), tftest::Values(gm, tol));
    }
}

TEST_CASE("cross_entropy: an out-of-range label leaves the logits and their gradient untouched", "[cross_entropy]") {
  tf::Tensor z = tf::from_vector<float>({0.5f, -1.0f, 2.0f, 0.0f, 1.0f, -2.0f}).reshape({2, 3}).requires_grad_(true);
  tf::Tensor before = z.detach().clone();
  CHECK_THROWS_WITH(tf::cross_entropy(z, tf::from_vector<int64_t>({2, -1})),
                    Catch::Contains("cross_entropy: label -1 is out of range for 3 classes"));
  CHECK(same(z.detach(), before));
  CHECK_FALSE(z.grad().defined());
}

TEST_CASE("addmm: a bias of N (one pass with the product), of 1 and of (M, N) against float64", "[cross_entropy][addmm]") {
  const int64_t M = 9, K = 33, N = 50;
  tf::Tensor x = tf::randn({M, K}), w = tf::randn({K, N});
  for (tf::Shape bs : {tf::Shape{N}, tf::Shape{1}, tf::Shape{M, N}}) {
    tf::Tensor b = tf::randn(bs);
    tf::Tensor got = tf::addmm(b, x, w);
    tf::Tensor want = tf::matmul(x.astype(tf::kFloat64), w.astype(tf::kFloat64)) + b.astype(tf::kFloat64);
    CHECK_THAT(got, tftest::Values(want.contiguous().to_vector<double>(), 1e-5));
  }
}
