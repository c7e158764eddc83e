// The CUDA runtime surface (base/cuda.h), the per-device backend registry behind
// backend::cuda_backend(index), and the error formatting of TF_CUDA_CHECK / TF_CUBLAS_CHECK.
// Backends are created on first use and intentionally never destroyed: tensors that outlive
// main() may still free into them, and the CUDA runtime may already be unloading by then.
#include <array>
#include <atomic>
#include <mutex>
#include <string>

#include "backends/cuda/check.h"
#include "backends/cuda/cuda_backend.h"
#include "backends/cuda/kernels.h"
#include "base/cuda.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {

namespace {

constexpr int kMaxDevices = 64;

struct Registry {
  std::once_flag probed;
  int count = 0;
  std::string why_none;  // the runtime's answer when no device is usable
  std::mutex mu;
  std::array<std::atomic<CudaBackend*>, kMaxDevices> backends{};
};

Registry& registry() {
  static Registry* r = new Registry();  // leaked on purpose (see the header comment)
  std::call_once(r->probed, [] {
    int n = 0;
    cudaError_t st = cudaGetDeviceCount(&n);
    if (st != cudaSuccess) {
      r->why_none = str_cat(cudaGetErrorName(st), ": ", cudaGetErrorString(st));
      cudaGetLastError();
      n = 0;
    }
    r->count = n < kMaxDevices ? n : kMaxDevices;
  });
  return *r;
}

}  // namespace

[[noreturn]] void throw_cuda_error(cudaError_t status, const char* call, const char* file, int line) {
  throw Error(str_cat("CUDA error: ", call, " failed with ", cudaGetErrorName(status), " (",
                      cudaGetErrorString(status), ") at ", file, ":", line));
}

const char* cublas_status_name(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
    default: return "CUBLAS_STATUS_UNKNOWN";
  }
}

[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* call, const char* file,
                                     int line) {
  throw Error(str_cat("cuBLAS error: ", call, " failed with ", cublas_status_name(status), " (",
                      int(status), ") at ", file, ":", line));
}

CudaBackend* existing_backend(int index) {
  Registry& r = registry();
  if (index < 0 || index >= r.count) return nullptr;
  return r.backends[index].load(std::memory_order_acquire);
}

int sm_count() {
  static std::array<std::atomic<int>, kMaxDevices> counts{};
  int dev = 0;
  TF_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev < 0 || dev >= kMaxDevices) return 1;
  int n = counts[dev].load(std::memory_order_relaxed);
  if (n == 0) {
    TF_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    counts[dev].store(n, std::memory_order_relaxed);
  }
  return n;
}

}  // namespace tapeflow::backend::cuda

namespace tapeflow::backend {

Backend& cuda_backend(int index) {
  cuda::Registry& r = cuda::registry();
  if (index < 0 || index >= r.count) {
    if (r.count == 0)
      fail("cuda:", index, ": no CUDA device (", r.why_none.empty() ? "none found" : r.why_none, ")");
    fail("cuda:", index, ": no CUDA device with that index (", r.count, " present)");
  }
  cuda::CudaBackend* b = r.backends[index].load(std::memory_order_acquire);
  if (b) return *b;
  std::lock_guard<std::mutex> lock(r.mu);
  b = r.backends[index].load(std::memory_order_relaxed);
  if (!b) {
    b = new cuda::CudaBackend(index);  // never deleted (see the file comment)
    r.backends[index].store(b, std::memory_order_release);
  }
  return *b;
}

}  // namespace tapeflow::backend

namespace tapeflow::cuda {

namespace {
std::atomic<bool> g_allow_tf32{false};
}

bool is_built() { return true; }
bool is_available() { return device_count() > 0; }
int device_count() { return backend::cuda::registry().count; }

void synchronize(int device) {
  if (device >= 0) {
    backend::cuda_backend(device).synchronize();
    return;
  }
  for (int i = 0; i < device_count(); ++i)
    if (auto* b = backend::cuda::existing_backend(i)) b->synchronize();
}

void empty_cache() {
  for (int i = 0; i < device_count(); ++i)
    if (auto* b = backend::cuda::existing_backend(i)) b->empty_cache();
}

size_t memory_allocated(int device) {
  auto* b = backend::cuda::existing_backend(device);
  return b ? b->allocator().stats().allocated : 0;
}

size_t memory_reserved(int device) {
  auto* b = backend::cuda::existing_backend(device);
  return b ? b->allocator().stats().reserved : 0;
}

void set_allow_tf32(bool on) { g_allow_tf32.store(on); }
bool allow_tf32() { return g_allow_tf32.load(); }

}  // namespace tapeflow::cuda
