// Tests of the CPU backend called directly through backend::View over local buffers: memory,
// the thread pool, and the element-wise family on every path (contiguous, broadcast, strided,
// in-place, rank 0, empty). Expected values are hand derived or from naive loops written here.
// Reductions, gemm, indexing, random and softmax: test_cpu_backend_kernels.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "base/error.h"
#include "backends/cpu/parallel.h"
#include "base/runtime.h"
#include "cpu_backend_views.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace be = tapeflow::backend;
using tapeflow::DType;
using be::BinaryOp;
using be::ReduceOp;
using be::UnaryOp;
using cpu_test::cpu;
using cpu_test::mk;
using cpu_test::ThreadGuard;

TEST_CASE("cpu memory: aligned, cached, copies", "[cpu_backend]") {
  void* p = cpu().allocate(100);
  REQUIRE(p != nullptr);
  CHECK(reinterpret_cast<uintptr_t>(p) % 64 == 0);
  std::vector<int32_t> src(25), back(25);
  std::iota(src.begin(), src.end(), 1);
  cpu().copy_from_host(p, src.data(), 100);
  void* q = cpu().allocate(100);
  cpu().copy_within(q, p, 100);
  cpu().copy_to_host(back.data(), q, 100);
  CHECK(back == src);
  cpu().deallocate(q, 100);
  cpu().deallocate(p, 100);
  void* z = cpu().allocate(0);
  cpu().deallocate(z, 0);
  cpu().synchronize();
  CHECK(be::backend_for(tapeflow::Device::cpu()).device().is_cpu());
}

TEST_CASE("cpu parallel_for: coverage, nesting, exceptions, thread count", "[cpu_backend]") {
  ThreadGuard guard;
  for (int threads : {1, 2, 3}) {
    tapeflow::set_num_threads(threads);
    CHECK(tapeflow::get_num_threads() == threads);
    std::vector<int> hits(100000, 0);
    be::cpu::parallel_for(0, 100000, 1000, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
      be::cpu::parallel_for(0, 5000, 10, [&](int64_t, int64_t) {});  // nested: inline
    });
    CHECK(std::count(hits.begin(), hits.end(), 1) == 100000);
  }
  CHECK_THROWS_AS(be::cpu::parallel_for(0, 100000, 10, [](int64_t b, int64_t) {
                    if (b > 0) throw tapeflow::Error("boom");
                  }),
                  tapeflow::Error);
  tapeflow::set_num_threads(1);
  CHECK_THROWS_AS(tapeflow::set_num_threads(0), tapeflow::Error);
  std::string info = tapeflow::blas_info();  // e.g. "Haswell (chosen: avx2+fma)"
  INFO(info);
  CHECK((info.find("(chosen: ") != std::string::npos || info.find("(from OPENBLAS_CORETYPE") != std::string::npos ||
         info.find("(OpenBLAS ") != std::string::npos));
}

TEST_CASE("cpu fill and copy_strided with dtype conversion", "[cpu_backend]") {
  std::vector<int32_t> a(6, 0);
  cpu().fill(mk(a, {2, 3}), 7.9);
  CHECK(a == std::vector<int32_t>{7, 7, 7, 7, 7, 7});
  cpu().fill(mk(a, {2}, {3}), -1);  // strided: column 0
  CHECK(a == std::vector<int32_t>{-1, 7, 7, -1, 7, 7});
  std::vector<uint8_t> b(3, 9);
  cpu().fill(mk(b, {3}, {}, tapeflow::kBool), 0.5);
  CHECK(b == std::vector<uint8_t>{1, 1, 1});

  // Transpose copy (2x3 -> 3x2) with float -> int32 (truncation) conversion.
  std::vector<float> f{1.5f, -2.7f, 3.2f, 4.9f, -5.1f, 6.0f};
  std::vector<int32_t> t(6);
  cpu().copy_strided(mk(f, {3, 2}, {1, 3}), mk(t, {3, 2}));
  CHECK(t == std::vector<int32_t>{1, 4, -2, -5, 3, 6});
  // float -> uint8 wraps through int64 (-1 -> 255); float -> bool is "!= 0".
  std::vector<float> g{-1.0f, 0.0f, 2.5f};
  std::vector<uint8_t> u(3), bo(3);
  cpu().copy_strided(mk(g, {3}), mk(u, {3}));
  CHECK(u == std::vector<uint8_t>{255, 0, 2});
  cpu().copy_strided(mk(g, {3}), mk(bo, {3}, {}, tapeflow::kBool));
  CHECK(bo == std::vector<uint8_t>{1, 0, 1});
  // Broadcast source (stride 0), rank 0 and empty copies.
  std::vector<double> one{3.25}, row(4);
  cpu().copy_strided(mk(one, {4}, {0}), mk(row, {4}));
  CHECK(row == std::vector<double>{3.25, 3.25, 3.25, 3.25});
  std::vector<int64_t> s0{0};
  cpu().copy_strided(mk(one, {}), mk(s0, {}));
  CHECK(s0[0] == 3);
  cpu().copy_strided(mk(one, {0}), mk(row, {0}));
  // Transposes of the two innermost dims (tiled path), with and without a conversion.
  const int64_t B = 3, R = 70, C = 300;
  std::vector<int32_t> tsrc(static_cast<size_t>(B * R * C));
  std::iota(tsrc.begin(), tsrc.end(), 0);
  std::vector<int32_t> tdst(tsrc.size());
  std::vector<double> tdd(tsrc.size());
  cpu().copy_strided(mk(tsrc, {B, C, R}, {R * C, 1, C}), mk(tdst, {B, C, R}));
  cpu().copy_strided(mk(tsrc, {B, C, R}, {R * C, 1, C}), mk(tdd, {B, C, R}));
  bool tok = true;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < C; ++i)
      for (int64_t j = 0; j < R; ++j) {
        size_t k = size_t((b * C + i) * R + j);
        int32_t want = int32_t(b * R * C + j * C + i);
        tok = tok && tdst[k] == want && tdd[k] == double(want);
      }
  CHECK(tok);
  // Large same-dtype contiguous copy (parallel memcpy path).
  std::vector<int64_t> big(300000), dst(300000);
  std::iota(big.begin(), big.end(), 0);
  cpu().copy_strided(mk(big, {300000}), mk(dst, {300000}));
  CHECK(dst == big);
}

TEST_CASE("cpu unary ops over every path", "[cpu_backend]") {
  std::vector<int32_t> xi{-3, 0, 5, -7}, oi(4);
  cpu().unary(UnaryOp::Neg, mk(xi, {4}), mk(oi, {4}), 0, 0);
  CHECK(oi == std::vector<int32_t>{3, 0, -5, 7});
  cpu().unary(UnaryOp::Abs, mk(xi, {4}), mk(oi, {4}), 0, 0);
  CHECK(oi == std::vector<int32_t>{3, 0, 5, 7});
  cpu().unary(UnaryOp::Sign, mk(xi, {4}), mk(oi, {4}), 0, 0);
  CHECK(oi == std::vector<int32_t>{-1, 0, 1, -1});
  cpu().unary(UnaryOp::Clamp, mk(xi, {4}), mk(oi, {4}), -4, 2);
  CHECK(oi == std::vector<int32_t>{-3, 0, 2, -4});
  cpu().unary(UnaryOp::Square, mk(xi, {4}), mk(xi, {4}), 0, 0);  // in place
  CHECK(xi == std::vector<int32_t>{9, 0, 25, 49});

  std::vector<double> xd{-1.5, 0.5, 2.5, -2.5}, od(4);
  cpu().unary(UnaryOp::Round, mk(xd, {4}), mk(od, {4}), 0, 0);  // half to even
  CHECK(od == std::vector<double>{-2.0, 0.0, 2.0, -2.0});
  cpu().unary(UnaryOp::Affine, mk(xd, {2}, {2}), mk(od, {2}), 2.0, 1.0);  // strided: -1.5, 2.5
  CHECK(od[0] == -2.0);
  CHECK(od[1] == 6.0);
  cpu().unary(UnaryOp::Relu, mk(xd, {4}, {0}), mk(od, {4}), 0, 0);  // broadcast scalar -1.5
  CHECK(od == std::vector<double>{0, 0, 0, 0});

  // Bool outputs.
  double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
  std::vector<double> xs{1.0, nan, -inf, 0.0};
  std::vector<uint8_t> ob(4);
  cpu().unary(UnaryOp::IsNan, mk(xs, {4}), mk(ob, {4}, {}, tapeflow::kBool), 0, 0);
  CHECK(ob == std::vector<uint8_t>{0, 1, 0, 0});
  cpu().unary(UnaryOp::IsInf, mk(xs, {4}), mk(ob, {4}, {}, tapeflow::kBool), 0, 0);
  CHECK(ob == std::vector<uint8_t>{0, 0, 1, 0});
  cpu().unary(UnaryOp::LogicalNot, mk(xs, {4}), mk(ob, {4}, {}, tapeflow::kBool), 0, 0);
  CHECK(ob == std::vector<uint8_t>{0, 0, 0, 1});

  // Rank 0 and empty.
  std::vector<float> s{4.0f}, so{0.0f};
  cpu().unary(UnaryOp::Sqrt, mk(s, {}), mk(so, {}), 0, 0);
  CHECK(so[0] == 2.0f);
  cpu().unary(UnaryOp::Sqrt, mk(s, {0, 3}), mk(so, {0, 3}), 0, 0);
  CHECK_THROWS_AS(cpu().unary(UnaryOp::Neg, mk(s, {1}), mk(ob, {1}, {}, tapeflow::kBool), 0, 0),
                  tapeflow::Error);
}

TEST_CASE("cpu float32 exp/tanh/sigmoid: accurate and layout independent", "[cpu_backend]") {
  const int n = 70001;  // several parallel chunks plus a vector tail
  std::vector<float> x(n), y(n);
  for (int i = 0; i < n; ++i) x[size_t(i)] = -95.0f + 190.0f * float(i) / float(n - 1);
  for (UnaryOp op : {UnaryOp::Exp, UnaryOp::Tanh, UnaryOp::Sigmoid}) {
    cpu().unary(op, mk(x, {n}), mk(y, {n}), 0, 0);
    for (int i = 0; i < n; i += 7) {
      double v = x[size_t(i)];
      double ref = op == UnaryOp::Exp ? std::exp(v) : op == UnaryOp::Tanh ? std::tanh(v) : 1.0 / (1.0 + std::exp(-v));
      if (ref > 3.0e38) { CHECK(y[size_t(i)] >= 3.0e38f); continue; }
      CHECK(std::fabs(y[size_t(i)] - ref) <= 4e-7 * std::fabs(ref) + 1e-44);
    }
    // Same numbers through the strided path (input at stride 2, output at stride 3).
    std::vector<float> x2(static_cast<size_t>(2 * n)), y3(static_cast<size_t>(3 * n));
    for (int i = 0; i < n; ++i) x2[size_t(2 * i)] = x[size_t(i)];
    cpu().unary(op, mk(x2, {n}, {2}), mk(y3, {n}, {3}), 0, 0);
    bool same = true;
    for (int i = 0; i < n; ++i) same = same && y3[size_t(3 * i)] == y[size_t(i)];
    CHECK(same);
  }
  std::vector<float> sp{NAN, INFINITY, -INFINITY, 0.0f}, so(4);
  cpu().unary(UnaryOp::Exp, mk(sp, {4}), mk(so, {4}), 0, 0);
  CHECK(std::isnan(so[0]));
  CHECK(so[1] == INFINITY);
  CHECK(so[2] == 0.0f);
  CHECK(so[3] == 1.0f);
  cpu().unary(UnaryOp::Tanh, mk(sp, {4}), mk(so, {4}), 0, 0);
  CHECK((std::isnan(so[0]) && so[1] == 1.0f && so[2] == -1.0f && so[3] == 0.0f));
  CHECK(!std::signbit(so[3]));
  std::vector<float> nz{-0.0f, 1e-30f, -1e-40f}, tz(3);
  cpu().unary(UnaryOp::Tanh, mk(nz, {3}), mk(tz, {3}), 0, 0);
  CHECK((tz[0] == 0.0f && std::signbit(tz[0]) && tz[1] == 1e-30f && tz[2] == -1e-40f));
  cpu().unary(UnaryOp::Sigmoid, mk(sp, {4}), mk(so, {4}), 0, 0);
  CHECK((std::isnan(so[0]) && so[1] == 1.0f && so[2] == 0.0f && so[3] == 0.5f));
}

TEST_CASE("cpu binary ops: broadcast, in-place, comparisons, integer rules", "[cpu_backend]") {
  // (2,3) + row (3,) broadcast as stride 0 on dim 0, and + column (2,1).
  std::vector<float> a{1, 2, 3, 4, 5, 6}, r{10, 20, 30}, c{100, 200}, o(6);
  cpu().binary(BinaryOp::Add, mk(a, {2, 3}), mk(r, {2, 3}, {0, 1}), mk(o, {2, 3}));
  CHECK(o == std::vector<float>{11, 22, 33, 14, 25, 36});
  cpu().binary(BinaryOp::Sub, mk(c, {2, 3}, {1, 0}), mk(a, {2, 3}), mk(o, {2, 3}));
  CHECK(o == std::vector<float>{99, 98, 97, 196, 195, 194});
  // Scalar broadcast on either side, and in place on either side.
  std::vector<float> two{2};
  cpu().binary(BinaryOp::Div, mk(two, {6}, {0}), mk(a, {6}), mk(o, {6}));
  CHECK(o[3] == 0.5f);
  cpu().binary(BinaryOp::Mul, mk(a, {6}), mk(two, {6}, {0}), mk(a, {6}));
  CHECK(a == std::vector<float>{2, 4, 6, 8, 10, 12});
  cpu().binary(BinaryOp::Sub, mk(r, {3}), mk(a, {3}), mk(a, {3}));
  CHECK(a == std::vector<float>{8, 16, 24, 8, 10, 12});
  cpu().binary(BinaryOp::Maximum, mk(a, {3}, {2}), mk(r, {3}), mk(o, {3}));  // strided a: 8, 24, 10
  CHECK((o[0] == 10 && o[1] == 24 && o[2] == 30));
  float nan = std::nanf("");
  std::vector<float> m1{1, nan}, m2{nan, 2}, mo(2);
  cpu().binary(BinaryOp::Minimum, mk(m1, {2}), mk(m2, {2}), mk(mo, {2}));
  CHECK((std::isnan(mo[0]) && std::isnan(mo[1])));

  std::vector<int32_t> ia{7, -7, 2, 5}, ib{2, 2, 10, 0}, io(4);
  cpu().binary(BinaryOp::Div, mk(ia, {4}), mk(ib, {4}), mk(io, {4}));
  CHECK(io == std::vector<int32_t>{3, -3, 0, 0});  // C++ truncation; division by zero -> 0
  cpu().binary(BinaryOp::Pow, mk(ia, {4}), mk(ib, {4}), mk(io, {4}));
  CHECK(io == std::vector<int32_t>{49, 49, 1024, 1});
  std::vector<uint8_t> ua{200, 3}, ub{100, 5}, uo(2);
  cpu().binary(BinaryOp::Add, mk(ua, {2}), mk(ub, {2}), mk(uo, {2}));
  CHECK(uo == std::vector<uint8_t>{44, 8});
  std::vector<uint8_t> cmp(4);
  cpu().binary(BinaryOp::Lt, mk(ia, {4}), mk(ib, {4}), mk(cmp, {4}, {}, tapeflow::kBool));
  CHECK(cmp == std::vector<uint8_t>{0, 1, 1, 0});
  std::vector<uint8_t> ba{1, 1, 0, 0}, bb{1, 0, 1, 0};
  cpu().binary(BinaryOp::LogicalOr, mk(ba, {4}, {}, tapeflow::kBool), mk(bb, {4}, {}, tapeflow::kBool),
               mk(ba, {4}, {}, tapeflow::kBool));
  CHECK(ba == std::vector<uint8_t>{1, 1, 1, 0});
  std::vector<double> g{1, 2, 3}, t{0.5, -0.5, 0}, go(3);
  cpu().binary(BinaryOp::TanhGrad, mk(g, {3}), mk(t, {3}), mk(go, {3}));
  CHECK(go == std::vector<double>{0.75, 1.5, 3});
  CHECK_THROWS_AS(cpu().binary(BinaryOp::Add, mk(g, {3}), mk(ia, {3}), mk(go, {3})), tapeflow::Error);

  // Large 3-d broadcast (parallel, several rows per chunk) against a naive loop.
  const int64_t B = 7, R = 300, C = 129;
  std::vector<double> x(static_cast<size_t>(B * R * C)), col(static_cast<size_t>(R)), out(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = double(i % 1000) * 0.5;
  for (int64_t i = 0; i < R; ++i) col[size_t(i)] = double(i);
  cpu().binary(BinaryOp::Mul, mk(x, {B, R, C}), mk(col, {B, R, C}, {0, 1, 0}), mk(out, {B, R, C}));
  bool ok = true;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t i = 0; i < R; ++i)
      for (int64_t j = 0; j < C; ++j) {
        size_t k = size_t((b * R + i) * C + j);
        ok = ok && out[k] == x[k] * double(i);
      }
  CHECK(ok);
}

TEST_CASE("cpu where", "[cpu_backend]") {
  std::vector<uint8_t> cond{1, 0, 0, 1};
  std::vector<int64_t> a{1, 2, 3, 4}, zero{0}, o(4);
  cpu().where(mk(cond, {4}, {}, tapeflow::kBool), mk(a, {4}), mk(zero, {4}, {0}), mk(o, {4}));
  CHECK(o == std::vector<int64_t>{1, 0, 0, 4});
  cpu().where(mk(cond, {2, 2}, {1, 2}, tapeflow::kBool), mk(a, {2, 2}), mk(zero, {2, 2}, {0, 0}), mk(o, {2, 2}));
  CHECK(o == std::vector<int64_t>{1, 0, 0, 4});  // cond transposed: [[1,0],[0,1]]
}

// Run in a child process by the next test, with OPENBLAS_CORETYPE set (hidden: "[.]").
TEST_CASE("blas info and a product, for the child process", "[.][blas_child]") {
  tapeflow::Tensor a = tapeflow::arange(6, tapeflow::kFloat32).reshape({2, 3});
  tapeflow::Tensor p = tapeflow::matmul(a, a.T());  // [[5 14] [14 50]]
  std::printf("BLAS_INFO %s\nPRODUCT %g %g %g %g\n", tapeflow::blas_info().c_str(),
              p.to_vector<double>()[0], p.to_vector<double>()[1], p.to_vector<double>()[2],
              p.to_vector<double>()[3]);
}

TEST_CASE("a user's OPENBLAS_CORETYPE is never overridden", "[cpu_backend]") {
  std::string cmd = std::string("OPENBLAS_CORETYPE=Sandybridge ") + TAPEFLOW_BUILD_DIR +
                    "/tests/tapeflow_tests \"[blas_child]\" 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  INFO(out);
  CHECK(status == 0);
  CHECK(out.find("(from OPENBLAS_CORETYPE=Sandybridge)") != std::string::npos);
  CHECK(out.find("PRODUCT 5 14 14 50") != std::string::npos);
}
