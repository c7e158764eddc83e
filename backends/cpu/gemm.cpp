// CpuBackend::gemm: row-major, strided-batched C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b]
// through OpenBLAS (loaded at run time, blas.cpp). Small matrices in a batch run in parallel on
// tapeflow's pool; a large one is split into blocks of rows (or columns) of C, each a
// single-threaded OpenBLAS call on the pool (OpenBLAS never runs threads of its own: blas.cpp). A product with one row or one column (M == 1 or N == 1: batch-1
// inference, matrix-vector) goes to gemv, since sgemm would pack the whole other matrix for it;
// the float32 row form with B not transposed (a Dense layer on one sample) to gemv_f32.h; small
// float32 products (a small MLP's layers) to gemm_small_f32.h.
// Degenerate sizes are handled here (K == 0: C = beta * C).
#include <climits>
#include <type_traits>

#include "backends/cpu/blas.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/gemm_small_f32.h"
#include "backends/cpu/gemv_f32.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {

// Products with M*N*K at or below this run on the calling thread, and a split product gives
// every thread at least this much: about 45 us of one-thread sgemm on an AVX-512 core. Below
// it, waking a worker and moving the operands and the result between two cores' caches costs
// more than the halved product saves (measured on the 784-50-50-10 MLP step: splitting its
// 64x784x50 products made the 2-thread step 15% slower than the 1-thread one).
constexpr double kSingleThreadWork = 4194304.0;

template <class T>
void scale_c(T* C, int64_t M, int64_t N, int64_t ldc, T beta) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : T(beta * C[i * ldc + j]);
}

// C (1xN or Mx1) = alpha * op(A) @ op(B) + beta * C as one row-major gemv. With beta == 0, C is
// cleared first: gemv scales y by beta, and 0 * NaN from fresh memory would stay NaN.
template <class T, class Gv>
void run_gemv(Gv gv, bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A,
              int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (M == 1) {  // y(N) = op(B)^T a; a's elements are lda apart when A is stored transposed
    if constexpr (std::is_same_v<T, float>)  // B stored K x N: tapeflow's own AVX-512 kernel
      if (!tb && gemv_rowvec_f32(N, K, alpha, A, ta ? lda : 1, B, ldb, beta, C)) return;
    if (beta == T(0)) for (int64_t j = 0; j < N; ++j) C[j] = T(0);
    if (tb)  // B stored N x K: y = B a
      gv(CblasRowMajor, CblasNoTrans, blasint(N), blasint(K), alpha, B, blasint(ldb), A,
         blasint(ta ? lda : 1), beta, C, 1);
    else     // B stored K x N: y = B^T a
      gv(CblasRowMajor, CblasTrans, blasint(K), blasint(N), alpha, B, blasint(ldb), A,
         blasint(ta ? lda : 1), beta, C, 1);
  } else {       // N == 1: y(M) = op(A) b, y's elements ldc apart
    if (beta == T(0)) for (int64_t i = 0; i < M; ++i) C[i * ldc] = T(0);
    if (ta)  // A stored K x M: y = A^T b
      gv(CblasRowMajor, CblasTrans, blasint(K), blasint(M), alpha, A, blasint(lda), B,
         blasint(tb ? 1 : ldb), beta, C, blasint(ldc));
    else     // A stored M x K: y = A b
      gv(CblasRowMajor, CblasNoTrans, blasint(M), blasint(K), alpha, A, blasint(lda), B,
         blasint(tb ? 1 : ldb), beta, C, blasint(ldc));
  }
}

template <class T, class Fn, class Gv>
void run_gemm(Fn fn, Gv gv, bool ta, bool tb, int64_t M, int64_t N, int64_t K, double alpha,
              const T* A, int64_t lda, int64_t sa, const T* B, int64_t ldb, int64_t sb,
              double beta, T* C, int64_t ldc, int64_t sc, int64_t batch) {
  if (K == 0) {
    for (int64_t b = 0; b < batch; ++b) scale_c(C + b * sc, M, N, ldc, T(beta));
    return;
  }
  // Rows [r0, r1) and columns [c0, c1) of C of matrix b.
  auto block = [&](int64_t b, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    const T* a = A + b * sa + (ta ? r0 : r0 * lda);
    const T* bb = B + b * sb + (tb ? c0 * ldb : c0);
    T* c = C + b * sc + r0 * ldc + c0;
    int64_t m = r1 - r0, n = c1 - c0;
    if (m == 1 || n == 1) return run_gemv(gv, ta, tb, m, n, K, T(alpha), a, lda, bb, ldb, T(beta), c, ldc);
    if constexpr (std::is_same_v<T, float>)  // small products: tapeflow's own AVX-512 kernel
      if (gemm_small_f32(ta, tb, m, n, K, T(alpha), a, lda, bb, ldb, T(beta), c, ldc)) return;
    fn(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, blasint(m),
       blasint(n), blasint(K), T(alpha), a, blasint(lda), bb, blasint(ldb), T(beta), c, blasint(ldc));
  };
  double work = double(M) * double(N) * double(K);
  auto one = [&](int64_t b) {
    if (M == 1 || N == 1 || work <= kSingleThreadWork) return block(b, 0, M, 0, N);
    // Split the longer side of C into blocks of at least kSingleThreadWork (multiples of 16).
    bool rows = M >= N;
    int64_t len = rows ? M : N, other = rows ? N : M;
    int64_t grain = int64_t(kSingleThreadWork / (double(other) * double(K))) + 1;
    grain = (grain + 15) / 16 * 16;
    parallel_for(0, len, grain, [&](int64_t i0, int64_t i1) {
      if (rows) block(b, i0, i1, 0, N);
      else block(b, 0, M, i0, i1);
    });
  };
  if (batch > 1 && sc != 0 && work <= kSingleThreadWork) {
    int64_t grain = int64_t(1 + kSingleThreadWork / work);  // each chunk at least that much work
    parallel_for(0, batch, grain, [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; ++b) one(b);
    });
  } else {
    for (int64_t b = 0; b < batch; ++b) one(b);
  }
}

}  // namespace

void CpuBackend::gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                      double alpha, const void* A, int64_t lda, int64_t stride_a, const void* B,
                      int64_t ldb, int64_t stride_b, double beta, void* C, int64_t ldc,
                      int64_t stride_c, int64_t batch) {
  if (dtype != DType::Float32 && dtype != DType::Float64)
    fail("gemm: only float32 and float64 are supported, got ", dtype_str(dtype));
  if (M < 0 || N < 0 || K < 0 || batch < 0)
    fail("gemm: negative size M=", M, " N=", N, " K=", K, " batch=", batch);
  if (M == 0 || N == 0 || batch == 0) return;
  if (M > INT_MAX || N > INT_MAX || K > INT_MAX || lda > INT_MAX || ldb > INT_MAX || ldc > INT_MAX)
    fail("gemm: sizes beyond 2^31-1 are not supported (M=", M, " N=", N, " K=", K, ")");
  // Stored shapes: A is MxK (or KxM transposed), B is KxN (or NxK). A leading dimension only
  // matters when the stored matrix has more than one row, so fix it up for single rows.
  auto fix_ld = [](int64_t& ld, int64_t rows, int64_t cols, const char* name) {
    int64_t need = cols > 1 ? cols : 1;
    if (rows <= 1 && ld < need) ld = need;
    if (ld < need) fail("gemm: leading dimension ", name, "=", ld, " is smaller than ", need);
  };
  if (K > 0) {
    fix_ld(lda, trans_a ? K : M, trans_a ? M : K, "lda");
    fix_ld(ldb, trans_b ? N : K, trans_b ? K : N, "ldb");
  }
  fix_ld(ldc, M, N, "ldc");
  const blas::Api& api = blas::api();
  if (dtype == DType::Float32)
    run_gemm<float>(api.sgemm, api.sgemv, trans_a, trans_b, M, N, K, alpha, static_cast<const float*>(A), lda,
                    stride_a, static_cast<const float*>(B), ldb, stride_b, beta,
                    static_cast<float*>(C), ldc, stride_c, batch);
  else
    run_gemm<double>(api.dgemm, api.dgemv, trans_a, trans_b, M, N, K, alpha, static_cast<const double*>(A),
                     lda, stride_a, static_cast<const double*>(B), ldb, stride_b, beta,
                     static_cast<double*>(C), ldc, stride_c, batch);
}

bool CpuBackend::gemm_bias(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                           const void* A, int64_t lda, const void* B, int64_t ldb, const void* bias, void* C,
                           int64_t ldc) {
  if (dtype != DType::Float32 || K < 1 || lda < 1 || ldb < 1 || ldc < N) return false;
  return gemm_small_f32(trans_a, trans_b, M, N, K, 1.0f, static_cast<const float*>(A), lda,
                        static_cast<const float*>(B), ldb, 0.0f, static_cast<float*>(C), ldc,
                        static_cast<const float*>(bias));
}

}  // namespace tapeflow::backend::cpu
