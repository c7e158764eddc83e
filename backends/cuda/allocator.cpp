// The caching device allocator (see allocator.h). On cudaMalloc failure the cache is emptied
// and the call retried once; a second failure throws a tapeflow::Error with the requested size,
// the allocator's statistics and the driver's free/total memory.
#include "backends/cuda/allocator.h"

#include <cstdio>

#include "backends/cuda/check.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {

std::string format_bytes(size_t n) {
  char buf[64];
  const double d = double(n);
  if (n >= (size_t(1) << 30)) std::snprintf(buf, sizeof buf, "%.2f GiB", d / double(1 << 30));
  else if (n >= (size_t(1) << 20)) std::snprintf(buf, sizeof buf, "%.1f MiB", d / double(1 << 20));
  else if (n >= (size_t(1) << 10)) std::snprintf(buf, sizeof buf, "%.1f KiB", d / double(1 << 10));
  else std::snprintf(buf, sizeof buf, "%zu B", n);
  return buf;
}

size_t CachingAllocator::size_class(size_t nbytes) {
  constexpr size_t kSmallStep = 512, kSmallMax = size_t(1) << 20;
  if (nbytes <= kSmallMax) return ((nbytes + kSmallStep - 1) / kSmallStep) * kSmallStep;
  size_t top = size_t(1) << 20;
  while (top * 2 <= nbytes) top *= 2;  // top <= nbytes < 2 * top
  size_t step = top / 8;
  return ((nbytes + step - 1) / step) * step;
}

void* CachingAllocator::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  size_t size = size_class(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  void* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= size;
    ++stats_.num_reuses;
  } else {
    cudaError_t st = cudaMalloc(&p, size);
    if (st == cudaErrorMemoryAllocation && cached_bytes_ > 0) {
      cudaGetLastError();  // clear the error, free the cache and retry once
      release_cached_locked();
      st = cudaMalloc(&p, size);
    }
    if (st != cudaSuccess && st != cudaErrorMemoryAllocation) {
      // Not a lack of memory: an earlier asynchronous error, a lost device, ...
      throw_cuda_error(st, str_cat("cudaMalloc(", size, " bytes) on cuda:", device_).c_str(),
                       __FILE__, __LINE__);
    }
    if (st != cudaSuccess) {
      cudaGetLastError();
      size_t free_b = 0, total_b = 0;
      cudaMemGetInfo(&free_b, &total_b);
      cudaGetLastError();
      std::string stats = describe_locked();
      fail("cuda:", device_, ": out of memory allocating ", format_bytes(nbytes), " (", nbytes,
           " bytes, block ", format_bytes(size), "): ", cudaGetErrorString(st), "; allocator: ",
           stats, "; device: ", format_bytes(free_b), " free of ", format_bytes(total_b));
    }
    stats_.reserved += size;
    ++stats_.num_mallocs;
  }
  live_.emplace(p, size);
  stats_.allocated += size;
  if (stats_.allocated > stats_.peak_allocated) stats_.peak_allocated = stats_.allocated;
  return p;
}

void CachingAllocator::deallocate(void* p) {
  if (!p) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(p);
  if (it == live_.end()) fail("cuda:", device_, ": deallocate of a pointer this allocator does not own");
  size_t size = it->second;
  live_.erase(it);
  stats_.allocated -= size;
  free_[size].push_back(p);
  cached_bytes_ += size;
}

void CachingAllocator::release_cached_locked() {
  cudaError_t first = cudaSuccess;
  for (auto& [size, blocks] : free_) {
    for (void* p : blocks) {
      cudaError_t st = cudaFree(p);
      if (st != cudaSuccess && first == cudaSuccess) first = st;
      stats_.reserved -= size;
      ++stats_.num_frees;
    }
  }
  free_.clear();
  cached_bytes_ = 0;
  // Every block is forgotten either way; the first failure is reported once the books balance.
  if (first != cudaSuccess) throw_cuda_error(first, "cudaFree (empty_cache)", __FILE__, __LINE__);
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_cached_locked();
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

std::string CachingAllocator::describe() const {
  std::lock_guard<std::mutex> lock(mu_);
  return describe_locked();
}

std::string CachingAllocator::describe_locked() const {
  return str_cat(format_bytes(stats_.allocated), " allocated by tensors, ",
                 format_bytes(stats_.reserved), " reserved (", format_bytes(cached_bytes_),
                 " cached), peak ", format_bytes(stats_.peak_allocated), ", ", stats_.num_mallocs,
                 " cudaMalloc calls, ", stats_.num_reuses, " cache hits");
}

}  // namespace tapeflow::backend::cuda
