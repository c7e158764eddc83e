// Small float32 products (M, N >= 2, M*N*K up to 4M multiply-adds: a small MLP's layers) run
// tapeflow's AVX-512 kernel (backends/cpu/gemm_small_avx512.cpp) or its AVX2+FMA kernel
// (gemm_small_avx2.cpp) where the CPU has them and OpenBLAS otherwise: each set the CPU has
// checked against float64 loops, for every transpose form, row counts around the kernels' tiles
// (4, 6, 8 rows; the column blocks of the tail kernels, 122 rows: 8 vectors in the last one),
// column counts around their 8- and 16-column vectors, 24- and 64-column panels and the tail
// columns they take separately (1-7 past a 16-column vector, 1-3 past an 8-column one), K past
// the 512 chunk, padded leading dimensions, alpha / beta, and beta == 0 over NaN; the padding
// of C stays untouched.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/prefetch.h"
#include "backends/cpu/vec_math.h"
#include "cpu_backend_views.h"

using cpu_test::cpu;
using tapeflow::backend::cpu::VecIsa;

TEST_CASE("cpu gemm: small float32 products (small-gemm kernel)", "[cpu_backend][gemm_small]") {
  VecIsa saved = tapeflow::backend::cpu::vec_math_isa();
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2, VecIsa::Scalar}) {
    tapeflow::backend::cpu::vec_math_set_isa(isa);
    for (int64_t M : {2, 7, 9, 13, 70, 122})
      for (int64_t N : {2, 5, 11, 17, 18, 19, 23, 28, 36, 48, 50, 65, 130})
        for (int64_t K : {1, 17, 600})
          for (int form = 0; form < 4; ++form)
            for (double beta : {0.0, 1.0, -0.5}) {
              const bool ta = form & 1, tb = form & 2;
              INFO("isa=" << int(isa) << " M=" << M << " N=" << N << " K=" << K << " ta=" << ta
                          << " tb=" << tb << " beta=" << beta);
              // Stored shapes with padded rows: A is M x K (K x M transposed), B is K x N (N x K).
              const int64_t lda = (ta ? M : K) + 3, ldb = (tb ? K : N) + 2, ldc = N + 4;
              std::vector<float> A(size_t((ta ? K : M) * lda)), B(size_t((tb ? N : K) * ldb)),
                  C(size_t(M * ldc));
              for (size_t i = 0; i < A.size(); ++i) A[i] = float(double((i * 37) % 23) / 7.0 - 1.5);
              for (size_t i = 0; i < B.size(); ++i) B[i] = float(double((i * 11) % 19) / 5.0 - 2.0);
              for (size_t i = 0; i < C.size(); ++i)
                C[i] = int64_t(i) % ldc >= N ? 42.0f : beta == 0 ? NAN : float(double(i % 5) - 2.0);
              std::vector<double> ref(size_t(M * N));
              for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < N; ++j) {
                  double acc = 0;
                  for (int64_t k = 0; k < K; ++k)
                    acc += double(A[size_t(ta ? k * lda + i : i * lda + k)]) *
                           double(B[size_t(tb ? j * ldb + k : k * ldb + j)]);
                  double c = C[size_t(i * ldc + j)];
                  ref[size_t(i * N + j)] = 1.5 * acc + (beta == 0 ? 0.0 : beta * c);
                }
              cpu().gemm(tapeflow::kFloat32, ta, tb, M, N, K, 1.5, A.data(), lda, 0, B.data(), ldb, 0,
                         beta, C.data(), ldc, 0, 1);
              bool ok = true;
              for (int64_t i = 0; i < M; ++i)
                for (int64_t j = 0; j < ldc; ++j) {
                  double got = C[size_t(i * ldc + j)];
                  if (j >= N) ok = ok && got == 42.0;
                  else {
                    double want = ref[size_t(i * N + j)];
                    ok = ok && std::fabs(got - want) <= 1e-4 * (1 + std::fabs(want)) * (1 + double(K) / 64);
                  }
                }
              CHECK(ok);
            }
  }
  tapeflow::backend::cpu::vec_math_set_isa(saved);
}

TEST_CASE("cpu gemm_bias: the product plus a bias row, the values of a bias copy and beta = 1", "[cpu_backend][gemm_small]") {
  VecIsa saved = tapeflow::backend::cpu::vec_math_isa();
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2, VecIsa::Scalar}) {
    tapeflow::backend::cpu::vec_math_set_isa(isa);
    for (int64_t M : {2, 9, 70})
      for (int64_t N : {2, 11, 17, 19, 36, 50, 130})
        for (int64_t K : {1, 17, 600})
          for (int form = 0; form < 3; ++form) {  // not both transposed (that case declines)
            const bool ta = form & 1, tb = form & 2;
            INFO("isa=" << int(isa) << " M=" << M << " N=" << N << " K=" << K << " ta=" << ta << " tb=" << tb);
            const int64_t lda = ta ? M : K, ldb = tb ? K : N;
            std::vector<float> A(static_cast<size_t>(M * K)), B(static_cast<size_t>(K * N)),
                bias(static_cast<size_t>(N)), want(static_cast<size_t>(M * N)), got(static_cast<size_t>(M * N), NAN);
            for (size_t i = 0; i < A.size(); ++i) A[i] = float(double((i * 37) % 23) / 7.0 - 1.5);
            for (size_t i = 0; i < B.size(); ++i) B[i] = float(double((i * 11) % 19) / 5.0 - 2.0);
            for (size_t i = 0; i < bias.size(); ++i) bias[i] = float(double(i % 7) * 0.3 - 1.0);
            for (int64_t i = 0; i < M; ++i)
              for (int64_t j = 0; j < N; ++j) want[size_t(i * N + j)] = bias[size_t(j)];
            cpu().gemm(tapeflow::kFloat32, ta, tb, M, N, K, 1.0, A.data(), lda, 0, B.data(), ldb, 0, 1.0,
                       want.data(), N, 0, 1);
            const bool ran = cpu().gemm_bias(tapeflow::kFloat32, ta, tb, M, N, K, A.data(), lda, B.data(), ldb,
                                             bias.data(), got.data(), N);
            // Declined only without AVX2 / AVX-512 or for a product too large (addmm copies the
            // bias instead).
            CHECK(ran == (tapeflow::backend::cpu::vec_math_isa() != VecIsa::Scalar && M * N * K <= 4194304));
            if (!ran) continue;
            CHECK(got == want);
          }
  }
  tapeflow::backend::cpu::vec_math_set_isa(saved);
}

TEST_CASE("cpu prefetch queue: each queued line once, in order, within the kernels' budgets", "[cpu_backend][gemm_small]") {
  // Rows of 4 lines: line 0 of each is asked for when the rows are queued, lines 1-3 queue.
  using tapeflow::backend::cpu::PrefetchCursor;
  namespace cpuns = tapeflow::backend::cpu;
  std::vector<char> data(10 * 200);
  const int64_t rows[3] = {7, 2, 9};  // rows of 200 bytes: 4 lines each
  cpuns::prefetch_rows_later(data.data(), 200, rows, 3);
  std::vector<const char*> seen;
  for (int64_t budget : {2, 4, 100}) {  // three kernels in turn
    PrefetchCursor c = cpuns::prefetch_begin(budget);
    const char* out[8];
    int n;
    while ((n = c.take(out, 2)) > 0) seen.insert(seen.end(), out, out + n);
    cpuns::prefetch_end(c);
  }
  std::vector<const char*> want;
  for (int64_t r : rows)
    for (int l = 1; l < 4; ++l) want.push_back(data.data() + r * 200 + 64 * l);
  CHECK(seen == want);
  CHECK(cpuns::prefetch_begin(100).nrows == 0);  // all taken
  {  // rows of one line: asked for at once, nothing left to queue
    cpuns::prefetch_rows_later(data.data(), 64, rows, 3);
    PrefetchCursor one = cpuns::prefetch_begin(100);
    const char* o1[4];
    CHECK(one.take(o1, 4) == 0);
    cpuns::prefetch_end(one);
  }
  // A cursor taken before the queue is replaced does not move the new queue.
  cpuns::prefetch_rows_later(data.data(), 200, rows, 1);
  PrefetchCursor stale = cpuns::prefetch_begin(100);
  const char* out[8];
  CHECK(stale.take(out, 8) == 3);
  cpuns::prefetch_rows_later(data.data(), 200, rows + 1, 1);
  cpuns::prefetch_end(stale);
  PrefetchCursor fresh = cpuns::prefetch_begin(100);
  CHECK(fresh.take(out, 8) == 3);
  CHECK(out[0] == data.data() + 2 * 200 + 64);
  cpuns::prefetch_end(fresh);
  // A product run while rows are queued gives the same bits as without, and takes the queue.
  using tapeflow::backend::cpu::VecIsa;
  const VecIsa saved = cpuns::vec_math_isa();
  std::vector<float> A(64 * 784), B(784 * 50), C0(64 * 50), C1(64 * 50);
  for (size_t i = 0; i < A.size(); ++i) A[i] = float(double((i * 37) % 23) / 7.0 - 1.5);
  for (size_t i = 0; i < B.size(); ++i) B[i] = float(double((i * 11) % 19) / 5.0 - 2.0);
  std::vector<int64_t> many(64);
  for (int64_t i = 0; i < 64; ++i) many[size_t(i)] = (i * 7) % 10;
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2}) {
    cpuns::vec_math_set_isa(isa);
    cpu().gemm(tapeflow::kFloat32, false, false, 64, 50, 784, 1.0, A.data(), 784, 0, B.data(), 50, 0, 0.0,
               C0.data(), 50, 0, 1);
    cpuns::prefetch_rows_later(data.data(), 200, many.data(), 64);
    cpu().gemm(tapeflow::kFloat32, false, false, 64, 50, 784, 1.0, A.data(), 784, 0, B.data(), 50, 0, 0.0,
               C1.data(), 50, 0, 1);
    CHECK(C0 == C1);
    if (cpuns::vec_math_isa() == isa) CHECK(cpuns::prefetch_begin(1000).nrows == 0);  // the kernel took it
  }
  cpuns::vec_math_set_isa(saved);
  cpuns::prefetch_rows_later(nullptr, 0, nullptr, 0);  // leave the thread's queue empty
}
