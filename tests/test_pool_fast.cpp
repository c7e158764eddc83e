// The fast paths of the CPU max pooling (backends/cpu/pool.cpp): windows inside the input
// (2x2 / stride 2 vectorised four outputs at a time, other kernels unrolled) and the backward
// that writes non-overlapping windows without a zero pass. Values, indices and the gradient of
// sum(y * r) against a direct loop, with ties (quarters), NaNs, odd sizes (an uncovered last
// row / column) and rows longer and shorter than one vector.
#include <catch2/catch.hpp>

#include <cmath>

#include "conv_test_util.h"

namespace tf = tapeflow;
using tf::Shape;
using tf::Tensor;

namespace {

void check_pool(Shape xs, int64_t k, int64_t s, tf::DType dt) {
  INFO("input " << xs << ", kernel " << k << ", stride " << s << ", " << tf::dtype_name(dt));
  std::vector<double> x = convtest::arg(xs, 4, true).to_vector<double>();
  for (size_t i = 0; i < x.size(); i += 37) x[i] = NAN;  // a NaN wins its window and stays
  const int64_t P = xs[0] * xs[1], H = xs[2], W = xs[3], OH = (H - k) / s + 1, OW = (W - k) / s + 1;
  std::vector<double> y(size_t(P * OH * OW)), gx(x.size(), 0.0), r(y.size());
  std::vector<int64_t> idx(y.size());
  for (size_t i = 0; i < r.size(); ++i) r[i] = 1.0 + double(i % 7);
  for (int64_t p = 0; p < P; ++p)
    for (int64_t oh = 0; oh < OH; ++oh)
      for (int64_t ow = 0; ow < OW; ++ow) {
        double best = 0;
        int64_t at = -1;
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            const int64_t pos = (oh * s + i) * W + ow * s + j;
            const double v = x[size_t(p * H * W + pos)];
            if (at < 0 || v > best || (std::isnan(v) && !std::isnan(best))) { best = v; at = pos; }
          }
        const size_t o = size_t((p * OH + oh) * OW + ow);
        y[o] = best;
        idx[o] = at;
        gx[size_t(p * H * W + at)] += r[o];
      }
  Tensor xt = tf::from_vector(x, xs).astype(dt).requires_grad_();
  auto [yt, it] = tf::max_pool2d_with_indices(xt, k, s);
  REQUIRE(yt.shape() == Shape{xs[0], xs[1], OH, OW});
  std::vector<double> got = yt.astype(tf::kFloat64).to_vector<double>();
  for (size_t i = 0; i < y.size(); ++i) {
    INFO("output " << i);
    if (std::isnan(y[i])) CHECK(std::isnan(got[i]));
    else CHECK(got[i] == y[i]);
  }
  CHECK(it.to_vector<int64_t>() == idx);
  tf::sum(yt * tf::from_vector(r, yt.shape()).astype(dt)).backward();
  convtest::check_close(xt.grad(), gx, 0.0, "gradient");
}

}  // namespace

TEST_CASE("max pooling fast paths match a direct loop", "[pool]") {
  for (tf::DType dt : {tf::kFloat32, tf::kFloat64}) {
    check_pool({2, 3, 7, 19}, 2, 2, dt);   // 2x2 / 2: 9 outputs a row (4 + 4 + 1), odd sizes
    check_pool({1, 2, 4, 6}, 2, 2, dt);    // 3 outputs a row: the scalar path only
    check_pool({2, 2, 10, 11}, 3, 3, dt);  // 3x3 / 3, uncovered last rows and column
    check_pool({1, 3, 9, 12}, 2, 1, dt);   // overlapping windows inside: accumulating backward
    check_pool({1, 2, 9, 13}, 3, 2, dt);
  }
}
