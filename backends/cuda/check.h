// Status checks for every CUDA runtime and cuBLAS call: a failure becomes a tapeflow::Error
// naming the call, the file and the line. Internal to backends/cuda (includes CUDA headers;
// never include it from a public header).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

namespace tapeflow::backend::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line);
const char* cublas_status_name(cublasStatus_t status);

}  // namespace tapeflow::backend::cuda

#define TF_CUDA_CHECK(call)                                                              \
  do {                                                                                   \
    cudaError_t tf_status_ = (call);                                                     \
    if (tf_status_ != cudaSuccess)                                                       \
      ::tapeflow::backend::cuda::throw_cuda_error(tf_status_, #call, __FILE__, __LINE__); \
  } while (0)

#define TF_CUBLAS_CHECK(call)                                                              \
  do {                                                                                     \
    cublasStatus_t tf_status_ = (call);                                                    \
    if (tf_status_ != CUBLAS_STATUS_SUCCESS)                                               \
      ::tapeflow::backend::cuda::throw_cublas_error(tf_status_, #call, __FILE__, __LINE__); \
  } while (0)

// After a kernel launch: configuration errors surface here (execution errors surface at the
// next synchronising call, which is checked too).
#define TF_CUDA_CHECK_LAUNCH() TF_CUDA_CHECK(cudaGetLastError())
