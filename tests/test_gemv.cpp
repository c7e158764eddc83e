// The float32 row-vector form of the CPU gemm (M == 1, B not transposed: a Dense layer on one
// sample) runs tapeflow's AVX-512 gemv (backends/cpu/gemv_avx512.cpp) where the CPU has it and
// OpenBLAS otherwise: both checked against float64 loops, across the kernel's 16-column vectors
// and 64-column tiles, odd K, a strided a (A stored transposed), padded rows of B, alpha / beta,
// and beta == 0 over NaN.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>

#include "backends/cpu/vec_math.h"
#include "cpu_backend_views.h"

using cpu_test::cpu;
using tapeflow::backend::cpu::VecIsa;

TEST_CASE("cpu gemm: float32 row-vector products (gemv kernel)", "[cpu_backend][gemv]") {
  VecIsa saved = tapeflow::backend::cpu::vec_math_isa();
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Scalar}) {
    tapeflow::backend::cpu::vec_math_set_isa(isa);
    for (int64_t N : {1, 5, 16, 17, 50, 64, 65, 130})
      for (int64_t K : {1, 2, 7, 784})
        for (bool ta : {false, true})
          for (double beta : {0.0, 1.0, -0.5}) {
            INFO("isa=" << int(isa) << " N=" << N << " K=" << K << " ta=" << ta << " beta=" << beta);
            int64_t lda = ta ? 3 : K, ldb = N + 5;  // transposed: A stored K x 1 with rows 3 apart
            std::vector<float> A(size_t(ta ? K * lda : K)), B(size_t(K * ldb)), C(size_t(N) + 1);
            for (size_t i = 0; i < A.size(); ++i) A[i] = float(double((i * 37) % 23) / 7.0 - 1.5);
            for (size_t i = 0; i < B.size(); ++i) B[i] = float(double((i * 11) % 19) / 5.0 - 2.0);
            for (size_t i = 0; i < C.size(); ++i) C[i] = beta == 0 ? NAN : float(double(i % 5) - 2.0);
            C[size_t(N)] = 42.0f;  // past the end: must stay untouched
            std::vector<double> ref(static_cast<size_t>(N));
            for (int64_t j = 0; j < N; ++j) {
              double acc = 0;
              for (int64_t k = 0; k < K; ++k)
                acc += double(A[size_t(ta ? k * lda : k)]) * double(B[size_t(k * ldb + j)]);
              ref[size_t(j)] = 1.5 * acc + (beta == 0 ? 0.0 : beta * double(C[size_t(j)]));
            }
            cpu().gemm(tapeflow::kFloat32, ta, false, 1, N, K, 1.5, A.data(), lda, 0, B.data(), ldb, 0, beta,
                       C.data(), N, 0, 1);
            bool ok = C[size_t(N)] == 42.0f;
            for (int64_t j = 0; j < N; ++j)
              ok = ok && std::fabs(double(C[size_t(j)]) - ref[size_t(j)]) <= 1e-4 * (1 + std::fabs(ref[size_t(j)]));
            CHECK(ok);
          }
  }
  tapeflow::backend::cpu::vec_math_set_isa(saved);
}
