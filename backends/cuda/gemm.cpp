// gemm and batched gemm through cuBLAS. The backend contract is row-major; cuBLAS is
// column-major, where the row-major C (M x N) is the column-major C^T (N x M). Since
// C^T = op(B)^T op(A)^T, cuBLAS gets B first and A second with the same transpose flags, and
// N and M swapped. A batch stride of 0 repeats that matrix (cuBLAS accepts stride 0).
// TF32 is off unless tapeflow::cuda::set_allow_tf32(true) (cublasSetMathMode).
#include <climits>

#include "backends/cuda/check.h"
#include "backends/cuda/cuda_backend.h"
#include "base/cuda.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {

namespace {

// A column-major rows x cols matrix needs ld >= max(1, rows); with at most one column the
// leading dimension is never used, so a smaller one is corrected instead of rejected.
int checked_ld(const char* name, int64_t ld, int64_t rows, int64_t cols) {
  int64_t need = rows > 1 ? rows : 1;
  if (ld >= need) return int(ld);
  if (cols <= 1) return int(need);
  fail("gemm: leading dimension ", name, " = ", ld, " is smaller than ", need, " for a ",
       rows, " x ", cols, " column-major operand");
}

void check_int(const char* name, int64_t v) {
  if (v < 0 || v > INT_MAX) fail("gemm: ", name, " = ", v, " is out of cuBLAS's int range");
}

}  // namespace

void CudaBackend::gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
                       double alpha, const void* A, int64_t lda, int64_t stride_a, const void* B,
                       int64_t ldb, int64_t stride_b, double beta, void* C, int64_t ldc,
                       int64_t stride_c, int64_t batch) {
  if (dtype != kFloat32 && dtype != kFloat64)
    fail("gemm: the CUDA backend supports float32 and float64, got ", dtype);
  if (M == 0 || N == 0 || batch == 0) return;
  set_current();
  if (K == 0) {  // C = beta * C
    View c;
    c.data = C;
    c.dtype = dtype;
    c.rank = 3;
    c.shape[0] = batch, c.shape[1] = M, c.shape[2] = N;
    c.strides[0] = stride_c, c.strides[1] = ldc, c.strides[2] = 1;
    if (beta == 0) fill(c, 0.0);
    else unary(UnaryOp::Affine, c, c, beta, 0.0);
    return;
  }
  for (auto [name, v] : {std::pair<const char*, int64_t>{"M", M}, {"N", N}, {"K", K},
                         {"lda", lda}, {"ldb", ldb}, {"ldc", ldc}, {"batch", batch}})
    check_int(name, v);
  const int m = int(M), n = int(N), k = int(K);
  const int ld_b = checked_ld("ldb", ldb, trans_b ? K : N, trans_b ? N : K);
  const int ld_a = checked_ld("lda", lda, trans_a ? M : K, trans_a ? K : M);
  const int ld_c = checked_ld("ldc", ldc, N, M);
  const cublasOperation_t op_b = trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
  const cublasOperation_t op_a = trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;

  std::lock_guard<std::mutex> lock(cublas_mu_);
  int tf32 = ::tapeflow::cuda::allow_tf32() ? 1 : 0;
  if (tf32 != cublas_tf32_) {
    TF_CUBLAS_CHECK(cublasSetMathMode(cublas_, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    cublas_tf32_ = tf32;
  }
  if (dtype == kFloat32) {
    const float a = float(alpha), b = float(beta);
    const float* pa = static_cast<const float*>(A);
    const float* pb = static_cast<const float*>(B);
    float* pc = static_cast<float*>(C);
    if (batch == 1)
      TF_CUBLAS_CHECK(cublasSgemm(cublas_, op_b, op_a, n, m, k, &a, pb, ld_b, pa, ld_a, &b, pc, ld_c));
    else
      TF_CUBLAS_CHECK(cublasSgemmStridedBatched(cublas_, op_b, op_a, n, m, k, &a, pb, ld_b,
                                                stride_b, pa, ld_a, stride_a, &b, pc, ld_c,
                                                stride_c, int(batch)));
  } else {
    const double* pa = static_cast<const double*>(A);
    const double* pb = static_cast<const double*>(B);
    double* pc = static_cast<double*>(C);
    if (batch == 1)
      TF_CUBLAS_CHECK(cublasDgemm(cublas_, op_b, op_a, n, m, k, &alpha, pb, ld_b, pa, ld_a, &beta, pc, ld_c));
    else
      TF_CUBLAS_CHECK(cublasDgemmStridedBatched(cublas_, op_b, op_a, n, m, k, &alpha, pb, ld_b,
                                                stride_b, pa, ld_a, stride_a, &beta, pc, ld_c,
                                                stride_c, int(batch)));
  }
}

}  // namespace tapeflow::backend::cuda
