// The fused CPU convolution (backends/cpu/conv.cpp) on shapes that exercise its internals:
// samples cut into several blocks of output rows (a column matrix over its 512 KB scratch),
// several samples per thread and several threads (partial weight / bias gradients summed over
// the chunks), a single sample (gemms split over the pool), groups, stride, dilation, padding,
// 1x1 direct. Values and all three gradients
// of sum(conv2d(x, w, b) * r) against direct float64 loops written here.
#include <catch2/catch.hpp>

#include "conv_test_util.h"
#include "cpu_backend_views.h"

namespace tf = tapeflow;
using tf::Shape;
using tf::Tensor;

namespace {

struct Geo { Shape x, w; int64_t sh, sw, ph, pw, dh, dw, groups; };

struct Want { std::vector<double> y, gx, gw, gb; Shape ys; };

// y = conv(x, w) + b; with r the output weights: gx, gw, gb of sum(y * r), all by direct loops.
Want direct(const Geo& c, const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
            const std::function<double(size_t)>& r) {
  const int64_t N = c.x[0], C = c.x[1], H = c.x[2], W = c.x[3];
  const int64_t O = c.w[0], Cg = c.w[1], KH = c.w[2], KW = c.w[3], Og = O / c.groups;
  const int64_t OH = (H + 2 * c.ph - c.dh * (KH - 1) - 1) / c.sh + 1;
  const int64_t OW = (W + 2 * c.pw - c.dw * (KW - 1) - 1) / c.sw + 1;
  Want out;
  out.ys = Shape{N, O, OH, OW};
  out.y.assign(size_t(N * O * OH * OW), 0.0);
  out.gx.assign(x.size(), 0.0);
  out.gw.assign(w.size(), 0.0);
  out.gb.assign(size_t(O), 0.0);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const size_t yi = size_t(((n * O + o) * OH + oh) * OW + ow);
          const double rv = r(yi);
          double s = b[size_t(o)];
          out.gb[size_t(o)] += rv;
          for (int64_t ci = 0; ci < Cg; ++ci)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                const int64_t h = oh * c.sh - c.ph + i * c.dh, v = ow * c.sw - c.pw + j * c.dw;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const size_t xi = size_t(((n * C + (o / Og) * Cg + ci) * H + h) * W + v);
                const size_t wi = size_t(((o * Cg + ci) * KH + i) * KW + j);
                s += x[xi] * w[wi];
                out.gx[xi] += rv * w[wi];
                out.gw[wi] += rv * x[xi];
              }
          out.y[yi] = s;
        }
  return out;
}

void check(const Geo& c, tf::DType dt, double tol) {
  Tensor x = convtest::arg(c.x, 1), w = convtest::arg(c.w, 2), b = convtest::arg({c.w[0]}, 3);
  auto r = [](size_t i) { return std::cos(0.21 * double(i)); };
  Want want = direct(c, x.to_vector<double>(), w.to_vector<double>(), b.to_vector<double>(), r);
  std::vector<double> rv(size_t(want.ys.numel()));
  for (size_t i = 0; i < rv.size(); ++i) rv[i] = r(i);
  Tensor rt = tf::from_vector(rv, want.ys).astype(dt);
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads << ", dtype " << tf::dtype_name(dt));
    tf::set_num_threads(threads);
    Tensor xd = x.astype(dt).clone().requires_grad_(), wd = w.astype(dt).clone().requires_grad_();
    Tensor bd = b.astype(dt).clone().requires_grad_();
    Tensor y = tf::conv2d(xd, wd, bd, {c.sh, c.sw}, tf::Size2(c.ph, c.pw), {c.dh, c.dw}, c.groups);
    REQUIRE(y.shape() == want.ys);
    convtest::check_close(y, want.y, tol, "output");
    (y * rt).sum().backward();
    convtest::check_close(xd.grad(), want.gx, tol, "grad input");
    convtest::check_close(wd.grad(), want.gw, tol, "grad weight");
    convtest::check_close(bd.grad(), want.gb, tol, "grad bias");
  }
}

}  // namespace

TEST_CASE("fused conv2d: row blocks, chunks of samples, threads", "[conv]") {
  cpu_test::ThreadGuard guard;
  SECTION("float64, 3 blocks of rows per sample, 5 samples") {
    // One output row's columns: 16 * 9 * 60 * 8 bytes = 69 KB, so 7 rows per 512 KB block.
    check({{5, 16, 20, 60}, {8, 16, 3, 3}, 1, 1, 1, 1, 1, 1, 1}, tf::kFloat64, 1e-12);
  }
  SECTION("float32, blocks of rows, stride 2, dilation, groups, uneven padding reach") {
    check({{3, 24, 30, 90}, {12, 8, 3, 2}, 2, 1, 2, 1, 2, 3, 3}, tf::kFloat32, 1e-4);
  }
  SECTION("float64, a kernel taller than the row block and the input rows outside") {
    check({{2, 40, 9, 200}, {4, 40, 5, 3}, 1, 1, 3, 1, 2, 1, 1}, tf::kFloat64, 1e-12);
  }
  SECTION("one sample: blocks in parallel forward, gemms split over the pool backward") {
    check({{1, 16, 20, 60}, {8, 16, 3, 3}, 1, 1, 1, 1, 1, 1, 1}, tf::kFloat64, 1e-12);
    check({{1, 32, 12, 12}, {64, 32, 3, 3}, 1, 1, 0, 0, 1, 1, 1}, tf::kFloat32, 1e-4);
  }
  SECTION("1x1 direct path, groups") {
    check({{4, 6, 5, 7}, {4, 3, 1, 1}, 1, 1, 0, 0, 1, 1, 2}, tf::kFloat64, 1e-12);
  }
}
