// The CPU backend's vector kernels (backends/cpu/vec_math.h) on every instruction set this CPU
// has (scalar, AVX2, AVX-512, forced with vec_math_set_isa as $TAPEFLOW_CPU_ISA does):
// exp / tanh / sigmoid against float64 std:: over the whole float range (huge |x|, NaN, inf,
// subnormals), the AVX-512 and AVX2 paths bit for bit equal, the reduction kernels (sum, max,
// min, column folds) bit for bit equal to the scalar steps, and a long float32 sum whose error
// stays within one float ulp of the float64 reference.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/vec_math.h"
#include "base/runtime.h"
#include "cpu_backend_views.h"

namespace vm = tapeflow::backend::cpu;
using vm::VecIsa;
using tapeflow::backend::ReduceOp;
using cpu_test::cpu;
using cpu_test::mk;

namespace {

struct IsaGuard {  // restores the instruction set in use at scope exit
  VecIsa saved = vm::vec_math_isa();
  ~IsaGuard() { vm::vec_math_set_isa(saved); }
};

// The sets this CPU runs (vec_math_set_isa caps at the widest it has).
std::vector<VecIsa> isas() {
  IsaGuard g;
  std::vector<VecIsa> out;
  for (VecIsa isa : {VecIsa::Scalar, VecIsa::Avx2, VecIsa::Avx512})
    if (vm::vec_math_set_isa(isa) == isa) out.push_back(isa);
  return out;
}

uint32_t bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
float from_bits(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }

// Inputs: a sweep of [-110, 110], every 4099th bit pattern (all exponents: subnormals, huge
// values, inf, NaN), the special values, and an odd count so that every path has a tail.
std::vector<float> inputs() {
  std::vector<float> x;
  for (int i = 0; i <= 44000; ++i) x.push_back(-110.0f + 0.005f * float(i));
  for (uint64_t u = 0; u <= 0xffffffffu; u += 4099) x.push_back(from_bits(uint32_t(u)));
  for (float v : {0.0f, -0.0f, 1e-45f, -1e-45f, 1e-40f, -3e-39f, 1e-30f, INFINITY, -INFINITY, NAN, -NAN,
                  88.72f, 88.73f, 88.8f, -87.3f, -103.9f, -104.0f, 9.0f, -9.01f})
    x.push_back(v);
  if (x.size() % 2 == 0) x.push_back(0.5f);
  return x;
}

}  // namespace

TEST_CASE("vec_math exp/tanh/sigmoid: accurate on every ISA, AVX-512 bit for bit AVX2", "[cpu_backend][vec_math]") {
  IsaGuard guard;
  const std::vector<float> x = inputs();
  const size_t n = x.size();
  std::vector<std::vector<float>> per_isa;
  for (VecIsa isa : isas()) {
    vm::vec_math_set_isa(isa);
    INFO("isa " << vm::vec_isa_name(isa));
    std::vector<float> out(3 * n);
    vm::vec_exp_f32(x.data(), out.data(), int64_t(n));
    vm::vec_tanh_f32(x.data(), out.data() + n, int64_t(n));
    vm::vec_sigmoid_f32(x.data(), out.data() + 2 * n, int64_t(n));
    int bad = 0;
    for (size_t i = 0; i < n; ++i) {
      double v = x[i];
      double ref[3] = {std::exp(v), std::tanh(v), 1.0 / (1.0 + std::exp(-v))};
      for (int f = 0; f < 3; ++f) {
        float y = out[f * n + i];
        bool ok;
        if (std::isnan(v)) ok = std::isnan(y);
        else if (ref[f] > double(std::numeric_limits<float>::max())) ok = y == INFINITY;
        else ok = std::fabs(double(y) - ref[f]) <= 4e-7 * std::fabs(ref[f]) + 1e-44;  // ~3 ulp; subnormals to 1e-44
        if (!ok && ++bad <= 5) FAIL_CHECK("f" << f << "(" << v << ") = " << y << ", float64 " << ref[f]);
      }
    }
    CHECK(bad == 0);
    // In place gives the same numbers.
    std::vector<float> inplace(x);
    vm::vec_tanh_f32(inplace.data(), inplace.data(), int64_t(n));
    CHECK(std::memcmp(inplace.data(), out.data() + n, n * 4) == 0);
    per_isa.push_back(out);
  }
  if (per_isa.size() == 3) {  // the AVX-512 kernels run the AVX2 steps: identical bits
    size_t diff = 0;
    for (size_t i = 0; i < 3 * n; ++i)
      diff += bits(per_isa[1][i]) != bits(per_isa[2][i]) && !(std::isnan(per_isa[1][i]) && std::isnan(per_isa[2][i]));
    CHECK(diff == 0);
  } else {
    WARN("this CPU has no AVX-512: only " << per_isa.size() << " instruction set(s) checked");
  }
}

TEST_CASE("vec_math reduction kernels: every ISA equals the scalar steps bit for bit", "[cpu_backend][vec_math]") {
  IsaGuard guard;
  std::vector<float> x(5000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 2003) * 0.173f - 170.0f;
  const std::vector<VecIsa> sets = isas();
  for (int64_t n : {1, 7, 15, 16, 17, 33, 64, 65, 100, 1000, 4999}) {
    for (int nan_at : {-1, 0, 5, 63, 64}) {
      std::vector<float> v(x.begin(), x.begin() + n);
      if (nan_at >= 0 && nan_at < n) v[size_t(nan_at)] = NAN;
      double sum0 = 0;
      float max0 = 0, min0 = 0;
      for (VecIsa isa : sets) {
        vm::vec_math_set_isa(isa);
        INFO("isa " << vm::vec_isa_name(isa) << ", n = " << n << ", NaN at " << nan_at);
        double s = vm::vec_sum_f32(v.data(), n);
        float mx = vm::vec_max_f32(v.data(), n), mn = vm::vec_min_f32(v.data(), n);
        if (isa == VecIsa::Scalar) { sum0 = s; max0 = mx; min0 = mn; }
        CHECK((s == sum0 || (std::isnan(s) && std::isnan(sum0))));
        CHECK(bits(mx) == bits(max0));
        CHECK(bits(mn) == bits(min0));
      }
      float ref_max = -INFINITY;
      for (float e : v) ref_max = std::max(ref_max, e);
      if (nan_at >= 0 && nan_at < n) CHECK(std::isnan(max0));
      else CHECK(max0 == ref_max);
    }
  }
  // Column folds: rows of width w at a stride, 0-13 rows (every remainder of the row groups).
  for (int64_t w : {1, 5, 8, 15, 16, 17, 40, 100}) {
    for (int64_t rows : {0, 1, 3, 8, 9, 13}) {
      const int64_t stride = w + 3;
      std::vector<float> in(x.begin(), x.begin() + rows * stride + 1);
      if (rows > 2) in[size_t(2 * stride + w / 2)] = NAN;
      std::vector<double> s0;
      std::vector<float> mx0, mn0;
      for (VecIsa isa : sets) {
        vm::vec_math_set_isa(isa);
        INFO("isa " << vm::vec_isa_name(isa) << ", w = " << w << ", rows = " << rows);
        std::vector<double> s(size_t(w), 0.5);
        std::vector<float> mx(size_t(w), -INFINITY), mn(size_t(w), 1.0f);
        vm::vec_col_sum_f32(in.data(), rows, stride, w, s.data());
        vm::vec_col_max_f32(in.data(), rows, stride, w, mx.data());
        vm::vec_col_min_f32(in.data(), rows, stride, w, mn.data());
        if (isa == VecIsa::Scalar) { s0 = s; mx0 = mx; mn0 = mn; }
        for (size_t c = 0; c < size_t(w); ++c) {
          CHECK(std::memcmp(&s[c], &s0[c], 8) == 0);
          CHECK(bits(mx[c]) == bits(mx0[c]));
          CHECK(bits(mn[c]) == bits(mn0[c]));
        }
      }
      for (int64_t c = 0; c < w; ++c) {  // against a plain float64 loop
        double ref = 0.5;
        for (int64_t i = 0; i < rows; ++i) ref += in[size_t(i * stride + c)];
        if (std::isnan(ref)) CHECK(std::isnan(s0[size_t(c)]));
        else CHECK(s0[size_t(c)] == Approx(ref).epsilon(1e-12));
      }
    }
  }
}

TEST_CASE("a 16M-element float32 sum stays within one ulp of float64, on every ISA", "[reduce][vec_math]") {
  IsaGuard guard;
  const int64_t R = 4096, C = 4096;
  std::vector<float> x(size_t(R * C));
  for (size_t i = 0; i < x.size(); ++i) x[i] = 1.0f + float(i % 1013) * 3e-6f;  // ones plus small values
  double total = 0;
  std::vector<double> col(size_t(C), 0.0), row(size_t(R), 0.0);
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j) {
      double v = x[size_t(i * C + j)];
      total += v;
      col[size_t(j)] += v;
      row[size_t(i)] += v;
    }
  auto within_ulp = [](float got, double ref) {
    float r = float(ref);
    return std::fabs(double(got) - ref) <= double(std::nextafter(r, INFINITY) - r);
  };
  for (VecIsa isa : isas()) {
    vm::vec_math_set_isa(isa);
    INFO("isa " << vm::vec_isa_name(isa));
    std::vector<float> all(1), cols(static_cast<size_t>(C)), rows(static_cast<size_t>(R));
    cpu().reduce(ReduceOp::Sum, mk(x, {R, C}), 0b11, mk(all, {1, 1}));
    cpu().reduce(ReduceOp::Sum, mk(x, {R, C}), 0b01, mk(cols, {1, C}));
    cpu().reduce(ReduceOp::Sum, mk(x, {R, C}), 0b10, mk(rows, {R, 1}));
    CHECK(within_ulp(all[0], total));
    int bad = 0;
    for (int64_t j = 0; j < C; ++j) bad += !within_ulp(cols[size_t(j)], col[size_t(j)]);
    for (int64_t i = 0; i < R; ++i) bad += !within_ulp(rows[size_t(i)], row[size_t(i)]);
    CHECK(bad == 0);
  }
}
