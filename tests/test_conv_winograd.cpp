// The Winograd F(2x2, 3x3) path of the float32 CPU convolution (backends/cpu/conv_winograd.cpp:
// 3x3, stride 1, dilation 1, one group, padding 0..2, at least 8 input and 8 output channels)
// on awkward shapes: odd sizes, images smaller than the kernel with padding, uneven padding,
// batch 1, several blocks of tiles and threads, large values. The value and the three gradients
// of sum(conv2d(x, w, b) * r) against direct float64 loops written here.
// Tolerance: Winograd's transforms add and subtract tile values before the products, so its
// float32 rounding error scales with the magnitudes in the whole tile rather than one output's
// own products: every element is required within 3e-5 x the largest sum of |products| over the
// tensor's elements (im2col + gemm would need about 1e-6; the measured worst is below 1e-5).
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "backends/cpu/conv_winograd.h"
#include "backends/cpu/vec_math.h"
#include "cpu_backend_views.h"
#include "tapeflow.h"

namespace tf = tapeflow;
using tf::Shape;
using tf::Tensor;

namespace {

struct Ref { std::vector<double> y, gx, gw, gb, sy, sgx, sgw, sgb; };

// Direct loops: y, the gradients of sum(y * r), and for each element the sum of |products|.
Ref direct(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
           const std::vector<double>& r, int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t ph,
           int64_t pw) {
  const int64_t OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
  Ref o;
  o.y.assign(size_t(N * K * OH * OW), 0.0);
  o.sy = o.y;
  o.gx.assign(x.size(), 0.0);
  o.sgx = o.gx;
  o.gw.assign(w.size(), 0.0);
  o.sgw = o.gw;
  o.gb.assign(size_t(K), 0.0);
  o.sgb = o.gb;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t oh = 0; oh < OH; ++oh)
        for (int64_t ow = 0; ow < OW; ++ow) {
          const size_t yi = size_t(((n * K + k) * OH + oh) * OW + ow);
          double s = b[size_t(k)], a = std::fabs(b[size_t(k)]);
          o.gb[size_t(k)] += r[yi];
          o.sgb[size_t(k)] += std::fabs(r[yi]);
          for (int64_t c = 0; c < C; ++c)
            for (int64_t i = 0; i < 3; ++i)
              for (int64_t j = 0; j < 3; ++j) {
                const int64_t h = oh - ph + i, v = ow - pw + j;
                if (h < 0 || h >= H || v < 0 || v >= W) continue;
                const size_t xi = size_t(((n * C + c) * H + h) * W + v), wi = size_t(((k * C + c) * 3 + i) * 3 + j);
                s += x[xi] * w[wi];
                a += std::fabs(x[xi] * w[wi]);
                o.gx[xi] += r[yi] * w[wi];
                o.sgx[xi] += std::fabs(r[yi] * w[wi]);
                o.gw[wi] += r[yi] * x[xi];
                o.sgw[wi] += std::fabs(r[yi] * x[xi]);
              }
          o.y[yi] = s;
          o.sy[yi] = a;
        }
  return o;
}

void check_close(const Tensor& t, const std::vector<double>& want, const std::vector<double>& mag, const char* what) {
  INFO(what);
  REQUIRE(t.defined());
  const std::vector<double> got = t.astype(tf::kFloat64).to_vector<double>();
  REQUIRE(got.size() == want.size());
  double scale = 0, worst = 0;
  for (double m : mag) scale = std::max(scale, m);
  size_t at = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - want[i]);
    if (!(e <= worst)) { worst = e; at = i; }
  }
  INFO("worst element " << at << ": got " << got[at] << ", want " << want[at] << ", scale " << scale);
  CHECK(worst <= 3e-5 * scale);
}

// Pseudo-random values in [-amp, amp) (a fixed linear congruential sequence).
std::vector<double> values(size_t n, uint32_t seed, double amp) {
  std::vector<double> v(n);
  uint32_t s = seed * 2654435761u + 12345u;
  for (double& e : v) {
    s = s * 1664525u + 1013904223u;
    e = amp * (double(s >> 8) / double(1u << 24) * 2.0 - 1.0);
  }
  return v;
}

void check(int64_t N, int64_t C, int64_t H, int64_t W, int64_t K, int64_t ph, int64_t pw, double amp = 1.0) {
  INFO("x (" << N << ", " << C << ", " << H << ", " << W << "), K " << K << ", padding " << ph << ", " << pw);
  const int64_t OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
  // float32-exact inputs, so the reference sees the same numbers as the float32 op
  auto f32 = [](std::vector<double> v) { for (double& e : v) e = double(float(e)); return v; };
  const std::vector<double> x = f32(values(size_t(N * C * H * W), 1, amp)), w = f32(values(size_t(K * C * 9), 2, 1.0));
  const std::vector<double> b = f32(values(size_t(K), 3, 1.0)), r = f32(values(size_t(N * K * OH * OW), 4, 1.0));
  const Ref want = direct(x, w, b, r, N, C, H, W, K, ph, pw);
  const Tensor rt = tf::from_vector(r, Shape{N, K, OH, OW}).astype(tf::kFloat32);
  for (int threads : {1, 2, 3}) {
    INFO("threads " << threads);
    tf::set_num_threads(threads);
    Tensor xt = tf::from_vector(x, Shape{N, C, H, W}).astype(tf::kFloat32).requires_grad_();
    Tensor wt = tf::from_vector(w, Shape{K, C, 3, 3}).astype(tf::kFloat32).requires_grad_();
    Tensor bt = tf::from_vector(b, Shape{K}).astype(tf::kFloat32).requires_grad_();
    Tensor y = tf::conv2d(xt, wt, bt, 1, tf::Size2(ph, pw));
    REQUIRE(y.shape() == Shape({N, K, OH, OW}));
    check_close(y, want.y, want.sy, "output");
    (y * rt).sum().backward();
    check_close(xt.grad(), want.gx, want.sgx, "grad input");
    check_close(wt.grad(), want.gw, want.sgw, "grad weight");
    check_close(bt.grad(), want.gb, want.sgb, "grad bias");
  }
}

}  // namespace

TEST_CASE("conv2d float32 Winograd path matches float64 loops on awkward shapes", "[conv][winograd]") {
  cpu_test::ThreadGuard guard;
  SECTION("odd sizes, padding 1") { check(3, 8, 7, 5, 9, 1, 1); }
  SECTION("images smaller than the kernel, padding 1 and 2") {
    check(2, 8, 2, 1, 8, 1, 1);
    check(1, 9, 1, 2, 10, 2, 2);
    check(2, 8, 1, 1, 8, 1, 1);
  }
  SECTION("no padding and uneven padding") {
    check(2, 10, 5, 6, 8, 0, 1);
    check(1, 8, 3, 3, 8, 0, 0);
    check(2, 11, 6, 4, 9, 2, 0);
  }
  SECTION("batch 1 and many tiles in several blocks") {
    check(1, 16, 31, 29, 24, 1, 1);
    check(5, 32, 14, 14, 64, 1, 1);
  }
  SECTION("large values") { check(2, 12, 9, 8, 16, 1, 1, 1e4); }
  SECTION("below 8 channels (the im2col path) on the same checks") {
    check(2, 1, 9, 7, 8, 1, 1);
    check(2, 8, 6, 5, 4, 1, 1);
  }
}

TEST_CASE("Winograd transforms: the same bits at every instruction set TAPEFLOW_CPU_ISA allows", "[conv][winograd]") {
  // The per-tile transforms only add and subtract: the AVX-512, AVX2 and baseline builds must
  // agree exactly (channel counts off every vector width, a tail of tiles).
  namespace cpu = tf::backend::cpu;
  const int64_t N = 2, C = 19, H = 9, W = 7, K = 13;
  std::vector<float> x(size_t(N * C * H * W)), w(size_t(K * C * 9));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.3 * double(i)));
  for (size_t i = 0; i < w.size(); ++i) w[i] = float(std::cos(0.7 * double(i)));
  const cpu::VecIsa saved = cpu::vec_math_isa();
  std::vector<std::vector<float>> ys, gws;
  for (cpu::VecIsa isa : {cpu::VecIsa::Scalar, cpu::VecIsa::Avx2, cpu::VecIsa::Avx512}) {
    cpu::vec_math_set_isa(isa);
    std::vector<float> y(size_t(N * K * H * W)), gw(w.size());
    cpu::winograd3x3(x.data(), N, C, H, W, 1, 1, w.data(), K, false, y.data());
    cpu::winograd3x3_grad_weight(x.data(), N, C, H, W, 1, 1, y.data(), K, gw.data());
    ys.push_back(y);
    gws.push_back(gw);
  }
  cpu::vec_math_set_isa(saved);
  for (size_t i = 1; i < ys.size(); ++i) {
    INFO("isa level " << i);
    CHECK(ys[i] == ys[0]);
    CHECK(gws[i] == gws[0]);
  }
}
