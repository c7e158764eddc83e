// The CPU backend singleton and its memory entry points (the caching allocator lives in
// allocator.cpp). Host copies are plain memcpy, split across the pool for large buffers.
#include "backends/cpu/cpu_backend.h"

#include <cstring>

#include "backends/cpu/allocator.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend {

Backend& cpu_backend() {
  static cpu::CpuBackend* instance = new cpu::CpuBackend;  // never destroyed (used at exit)
  return *instance;
}

}  // namespace tapeflow::backend

namespace tapeflow::backend::cpu {

namespace {
// memcpy in parallel chunks of >= 1 MiB (one thread rarely saturates memory bandwidth).
void parallel_memcpy(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0 || dst == src) return;
  constexpr int64_t kChunk = int64_t(1) << 20;
  parallel_for(0, int64_t(nbytes), kChunk, [&](int64_t b, int64_t e) {
    std::memcpy(static_cast<char*>(dst) + b, static_cast<const char*>(src) + b, size_t(e - b));
  });
}
}  // namespace

const char* dtype_str(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    default: return "float64";
  }
}

void* CpuBackend::allocate(size_t nbytes) { return cached_allocate(nbytes); }
void CpuBackend::deallocate(void* p, size_t nbytes) { cached_deallocate(p, nbytes); }
void CpuBackend::copy_from_host(void* dst, const void* src, size_t n) { parallel_memcpy(dst, src, n); }
void CpuBackend::copy_to_host(void* dst, const void* src, size_t n) { parallel_memcpy(dst, src, n); }
void CpuBackend::copy_within(void* dst, const void* src, size_t n) {
  const char* d = static_cast<const char*>(dst);
  const char* s = static_cast<const char*>(src);
  if (d < s + n && s < d + n) std::memmove(dst, src, n);  // NOTE: overlapping ranges
  else parallel_memcpy(dst, src, n);
}

}  // namespace tapeflow::backend::cpu
