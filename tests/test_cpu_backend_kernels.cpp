// Tests of the CPU backend's kernels beyond element-wise, called directly through
// backend::View: reductions (every path, thread-count independence), arg_reduce, cumsum, gemm
// against a naive loop, indexing, random and softmax. Expected values are hand derived, from
// NumPy (pasted), or from naive loops written here.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/cpu/vec_math.h"
#include "base/error.h"
#include "base/runtime.h"
#include "cpu_backend_views.h"

namespace be = tapeflow::backend;
using tapeflow::DType;
using be::BinaryOp;
using be::ReduceOp;
using be::UnaryOp;
using cpu_test::cpu;
using cpu_test::mk;
using cpu_test::ThreadGuard;

TEST_CASE("cpu reduce: axes, ops, NaN, empty", "[cpu_backend]") {
  std::vector<double> x(24), o(12);
  std::iota(x.begin(), x.end(), 0.0);  // x[i][j][k] = 12i + 4j + k, shape (2, 3, 4)
  cpu().reduce(ReduceOp::Sum, mk(x, {2, 3, 4}), 0b001, mk(o, {1, 3, 4}));
  for (int j = 0; j < 3; ++j)
    for (int k = 0; k < 4; ++k) CHECK(o[size_t(4 * j + k)] == 12 + 8 * j + 2 * k);
  cpu().reduce(ReduceOp::Sum, mk(x, {2, 3, 4}), 0b010, mk(o, {2, 1, 4}));
  for (int i = 0; i < 2; ++i)
    for (int k = 0; k < 4; ++k) CHECK(o[size_t(4 * i + k)] == 36 * i + 3 * k + 12);
  cpu().reduce(ReduceOp::Sum, mk(x, {2, 3, 4}), 0b101, mk(o, {1, 3, 1}));
  CHECK(std::vector<double>(o.begin(), o.begin() + 3) == std::vector<double>{60, 92, 124});
  cpu().reduce(ReduceOp::Sum, mk(x, {2, 3, 4}), 0b111, mk(o, {1, 1, 1}));
  CHECK(o[0] == 276);
  cpu().reduce(ReduceOp::Max, mk(x, {2, 3, 4}), 0b100, mk(o, {2, 3, 1}));
  CHECK(o[5] == 23);
  cpu().reduce(ReduceOp::Min, mk(x, {3, 2, 4}, {4, 12, 1}), 0b011, mk(o, {1, 1, 4}));  // permuted view
  CHECK(std::vector<double>(o.begin(), o.begin() + 4) == std::vector<double>{0, 1, 2, 3});

  std::vector<int32_t> xi{1, 2, 3, 4, -1, 5}, oi(2);
  cpu().reduce(ReduceOp::Prod, mk(xi, {2, 3}), 0b10, mk(oi, {2, 1}));
  CHECK(oi == std::vector<int32_t>{6, -20});
  std::vector<uint8_t> ob(3);
  std::vector<float> xf{0, 1, 2, 0, 0, 5};
  cpu().reduce(ReduceOp::All, mk(xf, {2, 3}), 0b01, mk(ob, {1, 3}, {}, tapeflow::kBool));
  CHECK(ob == std::vector<uint8_t>{0, 0, 1});
  cpu().reduce(ReduceOp::Any, mk(xf, {2, 3}), 0b01, mk(ob, {1, 3}, {}, tapeflow::kBool));
  CHECK(ob == std::vector<uint8_t>{0, 1, 1});

  std::vector<float> xn{1, NAN, 3, 4}, on(2);
  cpu().reduce(ReduceOp::Max, mk(xn, {2, 2}), 0b10, mk(on, {2, 1}));
  CHECK((std::isnan(on[0]) && on[1] == 4));
  cpu().reduce(ReduceOp::Min, mk(xn, {2, 2}), 0b01, mk(on, {1, 2}));
  CHECK((on[0] == 1 && std::isnan(on[1])));

  std::vector<float> e0(1), sum0{-1, -1};
  cpu().reduce(ReduceOp::Sum, mk(e0, {2, 0}), 0b10, mk(sum0, {2, 1}));
  CHECK(sum0 == std::vector<float>{0, 0});
  CHECK_THROWS_AS(cpu().reduce(ReduceOp::Max, mk(e0, {2, 0}), 0b10, mk(sum0, {2, 1})), tapeflow::Error);
  std::vector<double> r0{2.5}, r0o{0};
  cpu().reduce(ReduceOp::Sum, mk(r0, {}), 0, mk(r0o, {}));
  CHECK(r0o[0] == 2.5);
}

TEST_CASE("cpu reduce: large, accurate, same bits for every thread count", "[cpu_backend]") {
  ThreadGuard guard;
  std::vector<float> tenth(1000000, 0.1f), s(1);
  cpu().reduce(ReduceOp::Sum, mk(tenth, {1000000}), 1, mk(s, {1}));
  CHECK(s[0] == 100000.0f);  // 1e6 * 0.1f = 100000.0015 before rounding to float

  const int64_t R = 20000, C = 50;
  std::vector<float> x(static_cast<size_t>(R * C));
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 1000) * 0.001f - 0.3f;
  std::vector<double> col_ref(C, 0.0), row_ref(R, 0.0);
  for (int64_t i = 0; i < R; ++i)
    for (int64_t j = 0; j < C; ++j) {
      col_ref[size_t(j)] += x[size_t(i * C + j)];
      row_ref[size_t(i)] += x[size_t(i * C + j)];
    }
  std::vector<std::vector<float>> cols, rows, fulls;
  for (int threads : {1, 2, 3}) {
    tapeflow::set_num_threads(threads);
    std::vector<float> col(C), row(R), full(1);
    cpu().reduce(ReduceOp::Sum, mk(x, {R, C}), 0b01, mk(col, {1, C}));           // column path
    cpu().reduce(ReduceOp::Sum, mk(x, {C, R}, {1, C}), 0b01, mk(row, {1, R}));    // transposed
    cpu().reduce(ReduceOp::Sum, mk(x, {R, C}), 0b11, mk(full, {1, 1}));
    cols.push_back(col); rows.push_back(row); fulls.push_back(full);
  }
  CHECK((cols[0] == cols[1] && cols[0] == cols[2]));
  CHECK((rows[0] == rows[1] && rows[0] == rows[2]));
  CHECK((fulls[0] == fulls[1] && fulls[0] == fulls[2]));
  for (int64_t j = 0; j < C; ++j) CHECK(cols[0][size_t(j)] == Approx(col_ref[size_t(j)]).epsilon(1e-6));
  for (int64_t i = 0; i < R; i += 997) CHECK(rows[0][size_t(i)] == Approx(row_ref[size_t(i)]).epsilon(1e-6).margin(1e-5));
  double total = std::accumulate(col_ref.begin(), col_ref.end(), 0.0);
  CHECK(fulls[0][0] == Approx(total).epsilon(1e-6));
  // Few long rows (blocks of one row split across threads) in float64.
  std::vector<double> xd(x.begin(), x.end()), two(2);
  cpu().reduce(ReduceOp::Sum, mk(xd, {2, R * C / 2}), 0b10, mk(two, {2, 1}));
  double h0 = 0, h1 = 0;
  for (size_t i = 0; i < xd.size() / 2; ++i) { h0 += xd[i]; h1 += xd[i + xd.size() / 2]; }
  CHECK(two[0] == Approx(h0).epsilon(1e-12));
  CHECK(two[1] == Approx(h1).epsilon(1e-12));
}

TEST_CASE("cpu arg_reduce and cumsum", "[cpu_backend]") {
  std::vector<float> x{3, 1, 3, 2, 1, NAN, 5, NAN};
  std::vector<int64_t> o(2);
  cpu().arg_reduce(be::ArgReduceOp::ArgMax, mk(x, {2, 4}), 1, mk(o, {2, 1}));
  CHECK(o == std::vector<int64_t>{0, 1});  // first of ties; NaN wins
  cpu().arg_reduce(be::ArgReduceOp::ArgMin, mk(x, {2, 4}), 1, mk(o, {2, 1}));
  CHECK(o == std::vector<int64_t>{1, 1});
  std::vector<int32_t> xi{5, 9, 9, 1, 9, 0};
  std::vector<int64_t> o3(3);
  cpu().arg_reduce(be::ArgReduceOp::ArgMax, mk(xi, {2, 3}), 0, mk(o3, {1, 3}));
  CHECK(o3 == std::vector<int64_t>{0, 0, 0});
  cpu().arg_reduce(be::ArgReduceOp::ArgMin, mk(xi, {2, 3}), 0, mk(o3, {1, 3}));
  CHECK(o3 == std::vector<int64_t>{1, 0, 1});
  std::vector<double> big(300000, 0.0);
  big[77777] = 4.0;
  big[88888] = 4.0;
  std::vector<int64_t> ob(1);
  cpu().arg_reduce(be::ArgReduceOp::ArgMax, mk(big, {300000}), 0, mk(ob, {1}));
  CHECK(ob[0] == 77777);

  std::vector<int32_t> c{1, 2, 3, 4, 5, 6}, co(6);
  cpu().cumsum(mk(c, {2, 3}), 1, mk(co, {2, 3}));
  CHECK(co == std::vector<int32_t>{1, 3, 6, 4, 9, 15});
  cpu().cumsum(mk(c, {2, 3}), 0, mk(co, {2, 3}));
  CHECK(co == std::vector<int32_t>{1, 2, 3, 5, 7, 9});
  std::vector<float> cf(5 * 40), cfo(5 * 40);
  for (size_t i = 0; i < cf.size(); ++i) cf[i] = float(i % 7) - 2.5f;
  cpu().cumsum(mk(cf, {5, 40}), 0, mk(cfo, {5, 40}));  // tiles of lines
  bool ok = true;
  for (int j = 0; j < 40; ++j) {
    float acc = 0;
    for (int i = 0; i < 5; ++i) { acc += cf[size_t(i * 40 + j)]; ok = ok && cfo[size_t(i * 40 + j)] == acc; }
  }
  CHECK(ok);
}

namespace {
// C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b] with naive loops in double.
template <class T>
void naive_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha, const T* A,
                int64_t lda, int64_t sa, const T* B, int64_t ldb, int64_t sb, double beta, T* C,
                int64_t ldc, int64_t sc, int64_t batch) {
  for (int64_t b = 0; b < batch; ++b)
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) {
        double acc = 0;
        for (int64_t k = 0; k < K; ++k) {
          double a = ta ? A[b * sa + k * lda + i] : A[b * sa + i * lda + k];
          double v = tb ? B[b * sb + j * ldb + k] : B[b * sb + k * ldb + j];
          acc += a * v;
        }
        T& c = C[b * sc + i * ldc + j];
        c = T(alpha * acc + (beta == 0 ? 0.0 : beta * double(c)));
      }
}

template <class T>
void check_gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, int64_t batch, bool bcast_b,
                double alpha, double beta) {
  int64_t lda = ta ? M + 1 : K + 2, ldb = tb ? K + 3 : N, ldc = N + 1;  // padded rows
  int64_t sa = (ta ? K : M) * lda, sb = bcast_b ? 0 : (tb ? N : K) * ldb, sc = M * ldc;
  std::vector<T> A(size_t(sa * batch + 1)), B(size_t((tb ? N : K) * ldb * batch + 1)), C(size_t(sc * batch));
  for (size_t i = 0; i < A.size(); ++i) A[i] = T(double((i * 37) % 23) / 7.0 - 1.5);
  for (size_t i = 0; i < B.size(); ++i) B[i] = T(double((i * 11) % 19) / 5.0 - 2.0);
  for (size_t i = 0; i < C.size(); ++i) C[i] = T(double(i % 5) - 2.0);
  std::vector<T> ref = C;
  naive_gemm(ta, tb, M, N, K, alpha, A.data(), lda, sa, B.data(), ldb, sb, beta, ref.data(), ldc, sc, batch);
  cpu().gemm(tapeflow::dtype_v<T>, ta, tb, M, N, K, alpha, A.data(), lda, sa, B.data(), ldb, sb,
             beta, C.data(), ldc, sc, batch);
  double tol = std::is_same_v<T, float> ? 1e-4 : 1e-12;
  bool ok = true;
  for (size_t i = 0; i < C.size(); ++i) ok = ok && std::fabs(double(C[i]) - double(ref[i])) <= tol * (1 + std::fabs(double(ref[i])));
  CHECK(ok);
}
}  // namespace

TEST_CASE("cpu gemm: transposes, batch broadcast, alpha/beta, degenerate sizes", "[cpu_backend]") {
  for (bool ta : {false, true})
    for (bool tb : {false, true}) {
      INFO("trans_a=" << ta << " trans_b=" << tb);
      check_gemm<float>(ta, tb, 5, 7, 3, 1, false, 1.0, 0.0);
      check_gemm<double>(ta, tb, 4, 3, 6, 3, true, 0.5, 2.0);
      check_gemm<float>(ta, tb, 8, 8, 8, 40, false, 1.0, 1.0);       // small batch: pool path
      check_gemm<double>(ta, tb, 130, 70, 90, 2, false, -1.0, 0.5);  // a batch of small products
      // Past 2 x 4M multiply-adds a product is split over the pool: by rows, by columns.
      check_gemm<float>(ta, tb, 300, 200, 160, 1, false, 1.0, 0.5);
      check_gemm<float>(ta, tb, 64, 1200, 128, 1, false, 1.0, 0.0);
      // One row or one column: the gemv path (batch-1 inference, matrix-vector products).
      check_gemm<float>(ta, tb, 1, 9, 7, 1, false, 1.0, 0.0);
      check_gemm<double>(ta, tb, 6, 1, 5, 3, true, 0.5, 2.0);
      check_gemm<float>(ta, tb, 1, 1, 4, 5, false, -1.0, 1.0);
      check_gemm<double>(ta, tb, 1, 300, 200, 2, false, 1.0, 0.5);
      check_gemm<float>(ta, tb, 250, 1, 120, 1, false, 2.0, 0.0);
    }
  // K == 0: C = beta * C; beta == 0 overwrites NaN.
  std::vector<float> C{1, NAN, 3, 4};
  cpu().gemm(tapeflow::kFloat32, false, false, 2, 2, 0, 1.0, nullptr, 0, 0, nullptr, 2, 0, 2.0, C.data(), 2, 0, 1);
  CHECK((C[0] == 2 && std::isnan(C[1]) && C[3] == 8));
  cpu().gemm(tapeflow::kFloat32, false, false, 2, 2, 0, 1.0, nullptr, 0, 0, nullptr, 2, 0, 0.0, C.data(), 2, 0, 1);
  CHECK(C == std::vector<float>{0, 0, 0, 0});
  std::vector<double> A{1, 2}, B{3, 4}, c1{NAN};
  cpu().gemm(tapeflow::kFloat64, false, false, 1, 1, 2, 1.0, A.data(), 2, 0, B.data(), 1, 0, 0.0, c1.data(), 1, 0, 1);
  CHECK(c1[0] == 11);
  // gemv with beta == 0 must not keep NaN from the output's old contents (row and column forms).
  std::vector<float> Af{1, 2, 3, 4}, row{NAN, NAN}, col{NAN, 7, NAN};
  cpu().gemm(tapeflow::kFloat32, false, false, 1, 2, 2, 1.0, Af.data(), 2, 0, Af.data(), 2, 0, 0.0, row.data(), 2, 0, 1);
  CHECK(row == std::vector<float>{7, 10});  // [1 2] @ [[1 2] [3 4]]
  cpu().gemm(tapeflow::kFloat32, false, false, 2, 1, 2, 1.0, Af.data(), 2, 0, Af.data(), 2, 0, 0.0, col.data(), 2, 0, 1);
  CHECK((col[0] == 7 && col[1] == 7 && col[2] == 15));  // [[1 2] [3 4]] @ [1 3]^T (ldb 2); C every other float (ldc 2)
  CHECK_THROWS_AS(cpu().gemm(tapeflow::kInt32, false, false, 1, 1, 1, 1.0, A.data(), 1, 0, B.data(), 1, 0, 0.0,
                             c1.data(), 1, 0, 1), tapeflow::Error);
}

TEST_CASE("cpu indexing: index_select, index_add, gather, scatter_add", "[cpu_backend]") {
  std::vector<int32_t> x{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23};  // (3, 4)
  std::vector<int64_t> i0{2, 0, 2}, i1{3, 1};
  std::vector<int32_t> o(12);
  cpu().index_select(mk(x, {3, 4}), 0, mk(i0, {3}), mk(o, {3, 4}));
  CHECK(o == std::vector<int32_t>{20, 21, 22, 23, 0, 1, 2, 3, 20, 21, 22, 23});
  cpu().index_select(mk(x, {3, 4}), 1, mk(i1, {2}), mk(o, {3, 2}));
  CHECK(std::vector<int32_t>(o.begin(), o.begin() + 6) == std::vector<int32_t>{3, 1, 13, 11, 23, 21});
  std::vector<int64_t> bad{5};
  CHECK_THROWS_AS(cpu().index_select(mk(x, {3, 4}), 0, mk(bad, {1}), mk(o, {1, 4})), tapeflow::IndexError);

  std::vector<double> acc(6, 0.0), src{1, 2, 3, 4, 5, 6};
  std::vector<int64_t> ia{0, 2, 0};
  cpu().index_add(mk(acc, {3, 2}), 0, mk(ia, {3}), mk(src, {3, 2}));
  CHECK(acc == std::vector<double>{6, 8, 0, 0, 3, 4});

  std::vector<float> g{1, 2, 3, 4}, go(4);
  std::vector<int64_t> gi{0, 0, 1, 0};
  cpu().gather(mk(g, {2, 2}), 1, mk(gi, {2, 2}), mk(go, {2, 2}));
  CHECK(go == std::vector<float>{1, 1, 4, 3});
  std::vector<int64_t> gbad{0, 2, 1, 0};
  CHECK_THROWS_AS(cpu().gather(mk(g, {2, 2}), 1, mk(gbad, {2, 2}), mk(go, {2, 2})), tapeflow::IndexError);

  std::vector<float> so(6, 0.0f), ss{1, 2, 3, 4, 5, 6};
  std::vector<int64_t> si{0, 1, 0, 2, 2, 1};
  cpu().scatter_add(mk(so, {2, 3}), 1, mk(si, {2, 3}), mk(ss, {2, 3}));
  CHECK(so == std::vector<float>{4, 2, 0, 0, 6, 9});

  // Embedding-style backward: many duplicate rows, narrow rows (target-partitioned path).
  const int64_t V = 50, D = 8, N = 100000;
  std::vector<float> emb(size_t(V * D), 0.0f), ones(size_t(N * D), 1.0f);
  std::vector<int64_t> rows(static_cast<size_t>(N));
  for (int64_t i = 0; i < N; ++i) rows[size_t(i)] = (i * 7) % V;
  cpu().index_add(mk(emb, {V, D}), 0, mk(rows, {N}), mk(ones, {N, D}));
  CHECK(std::count(emb.begin(), emb.end(), 2000.0f) == V * D);
}

TEST_CASE("cpu random: deterministic, thread independent, right moments", "[cpu_backend]") {
  ThreadGuard guard;
  const int64_t n = 200000;
  std::vector<float> u1(static_cast<size_t>(n)), u2(static_cast<size_t>(n)), u3(100);
  tapeflow::set_num_threads(1);
  cpu().random(be::RandomKind::Uniform, mk(u1, {n}), 42, 0, 0.0, 1.0);
  tapeflow::set_num_threads(3);
  cpu().random(be::RandomKind::Uniform, mk(u2, {n}), 42, 0, 0.0, 1.0);
  CHECK(u1 == u2);
  cpu().random(be::RandomKind::Uniform, mk(u3, {100}), 42, 10, 0.0, 1.0);
  CHECK(std::equal(u3.begin(), u3.end(), u1.begin() + 10));
  double mean = std::accumulate(u1.begin(), u1.end(), 0.0) / double(n);
  CHECK(mean == Approx(0.5).margin(0.01));
  CHECK(*std::min_element(u1.begin(), u1.end()) >= 0.0f);
  CHECK(*std::max_element(u1.begin(), u1.end()) < 1.0f);
  cpu().random(be::RandomKind::Uniform, mk(u2, {n}), 43, 0, 0.0, 1.0);
  CHECK(u1 != u2);

  std::vector<double> z(static_cast<size_t>(n));
  cpu().random(be::RandomKind::Normal, mk(z, {n}), 7, 0, 2.0, 3.0);
  double m = std::accumulate(z.begin(), z.end(), 0.0) / double(n), v = 0;
  for (double e : z) v += (e - m) * (e - m);
  CHECK(m == Approx(2.0).margin(0.05));
  CHECK(std::sqrt(v / double(n)) == Approx(3.0).margin(0.05));

  std::vector<uint8_t> bern(static_cast<size_t>(n));
  cpu().random(be::RandomKind::Bernoulli, mk(bern, {n}), 1, 0, 0.3, 0.0);
  CHECK(double(std::count(bern.begin(), bern.end(), 1)) / double(n) == Approx(0.3).margin(0.01));
  std::vector<int64_t> ri(1000);
  cpu().random(be::RandomKind::RandInt, mk(ri, {1000}), 5, 0, -2.0, 3.0);
  CHECK(*std::min_element(ri.begin(), ri.end()) == -2);
  CHECK(*std::max_element(ri.begin(), ri.end()) == 2);
  CHECK_THROWS_AS(cpu().random(be::RandomKind::Uniform, mk(u3, {50}, {2}), 1, 0, 0, 1), tapeflow::Error);
}

TEST_CASE("cpu softmax and its backward", "[cpu_backend]") {
  std::vector<double> x{1, 2, 3, -1, 0, 5}, y(6), ly(6);
  cpu().softmax(mk(x, {2, 3}), 1, false, mk(y, {2, 3}));
  cpu().softmax(mk(x, {2, 3}), 1, true, mk(ly, {2, 3}));
  // NumPy: exp(x - max) / sum and its log.
  const double sm[6] = {0.09003057317038046, 0.24472847105479764, 0.6652409557748218,
                        0.00245611490445095, 0.00667641251337645, 0.9908674725821726};
  const double lsm[6] = {-2.40760596444438, -1.4076059644443804, -0.40760596444438046,
                         -6.0091744845917345, -5.0091744845917345, -0.00917448459173474};
  for (int i = 0; i < 6; ++i) {
    CHECK(y[size_t(i)] == Approx(sm[i]).epsilon(1e-14));
    CHECK(ly[size_t(i)] == Approx(lsm[i]).epsilon(1e-14));
  }
  // Same rows as columns of a float32 (3, 2) tensor: softmax over axis 0 (strided lines).
  std::vector<float> xt{1, -1, 2, 0, 3, 5}, yt(6);
  cpu().softmax(mk(xt, {3, 2}), 0, false, mk(yt, {3, 2}));
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 3; ++c) CHECK(yt[size_t(c * 2 + r)] == Approx(sm[r * 3 + c]).epsilon(1e-6));
  std::vector<float> big{1e4f, 0.0f, -1e4f}, lb(3);
  cpu().softmax(mk(big, {1, 3}), 1, true, mk(lb, {1, 3}));
  CHECK(lb == std::vector<float>{0.0f, -1e4f, -2e4f});

  std::vector<double> gy{0.1, 0.2, 0.3, 1, -1, 0.5}, gx(6);
  cpu().softmax_backward(mk(y, {2, 3}), mk(gy, {2, 3}), 1, false, mk(gx, {2, 3}));
  const double gsm[6] = {-0.01418170936098122, -0.01407703574696301, 0.02825874510794421,
                         0.00124963825643709, -0.00995595606213271, 0.00870631780569564};
  for (int i = 0; i < 6; ++i) CHECK(gx[size_t(i)] == Approx(gsm[i]).epsilon(1e-12));
  cpu().softmax_backward(mk(ly, {2, 3}), mk(gy, {2, 3}), 1, true, mk(gx, {2, 3}));
  const double glsm[6] = {0.04598165609777171, 0.05316291736712139, -0.09914457346489314,
                          0.9987719425477746, -1.0033382062566882, 0.00456626370891372};
  for (int i = 0; i < 6; ++i) CHECK(gx[size_t(i)] == Approx(glsm[i]).epsilon(1e-12));
}

namespace {

// Softmax and log-softmax of 150 float32 rows of n (two full blocks of 64 rows and a partial
// one) against float64, with a NaN row and a row with one dominant logit.
void check_short_rows(int64_t n) {
  const int64_t rows = 150;
  std::vector<float> x(size_t(rows * n)), y(x.size()), ly(x.size());
  for (size_t i = 0; i < x.size(); ++i) x[i] = float(std::sin(0.7 * double(i)) * 6.0);
  x[size_t(3 * n + (n - 1) / 2)] = NAN;  // row 3: NaN everywhere
  for (int64_t i = 0; i < n; ++i) x[size_t(5 * n + i)] = i == 2 ? 80.0f : -80.0f;  // row 5: one dominant logit
  cpu().softmax(mk(x, {rows, n}), 1, false, mk(y, {rows, n}));
  cpu().softmax(mk(x, {rows, n}), 1, true, mk(ly, {rows, n}));
  int bad = 0;
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, double(x[size_t(r * n + i)]));
    for (int64_t i = 0; i < n; ++i) s += std::exp(double(x[size_t(r * n + i)]) - m);
    for (int64_t i = 0; i < n; ++i) {
      size_t k = size_t(r * n + i);
      if (r == 3) { bad += !(std::isnan(y[k]) && std::isnan(ly[k])); continue; }
      double want = std::exp(double(x[k]) - m) / s, lwant = double(x[k]) - m - std::log(s);
      bad += std::fabs(y[k] - want) > 2e-6 * want + 1e-30;
      bad += std::fabs(ly[k] - lwant) > 2e-6 * (1 + std::fabs(lwant));
    }
  }
  CHECK(bad == 0);
  if (n > 2) CHECK(y[size_t(5 * n + 2)] == 1.0f);
}

}  // namespace

TEST_CASE("cpu softmax of many short float32 rows (the block path) against float64", "[cpu_backend]") {
  using tapeflow::backend::cpu::VecIsa;
  const VecIsa saved = tapeflow::backend::cpu::vec_math_isa();
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2, VecIsa::Scalar})  // n <= 16: one vector a row on AVX-512
    for (int64_t n : {1, 10, 16, 23}) {
      tapeflow::backend::cpu::vec_math_set_isa(isa);
      INFO("isa " << int(isa) << " n " << n);
      check_short_rows(n);
    }
  tapeflow::backend::cpu::vec_math_set_isa(saved);
}

TEST_CASE("cpu vec_sum_f32: the generic lane order, bit for bit, at every length", "[cpu_backend]") {
  std::vector<float> x(1000);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 7919) % 1013) * 0.37f - 150.0f;
  for (int64_t n : {0, 1, 15, 16, 17, 31, 32, 33, 255, 1000}) {
    double lane[16] = {};  // 16 double lanes, tail into lanes 0.., folded 8, 4, 2, 1 apart
    int64_t i = 0;
    for (; i + 16 <= n; i += 16)
      for (int j = 0; j < 16; ++j) lane[j] += double(x[size_t(i + j)]);
    for (int j = 0; i < n; ++i, ++j) lane[j] += double(x[size_t(i)]);
    for (int w = 8; w >= 1; w /= 2)
      for (int j = 0; j < w; ++j) lane[j] += lane[j + w];
    INFO("n = " << n);
    CHECK(tapeflow::backend::cpu::vec_sum_f32(x.data(), n) == lane[0]);
  }
}
