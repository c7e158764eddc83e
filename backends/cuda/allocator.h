// The caching device allocator of the CUDA backend: requests are rounded up to size classes
// and freed blocks are kept per class for reuse, so a training loop that allocates the same
// shapes every step stops calling cudaMalloc after its first step. Blocks are reused in stream
// order (one stream per device), so a block freed while kernels still use it is safe to hand
// out again to later work on that stream.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace tapeflow::backend::cuda {

struct AllocatorStats {
  size_t allocated = 0;     // bytes in blocks held by live tensors (size-class rounded)
  size_t reserved = 0;      // bytes obtained from cudaMalloc and not yet returned
  size_t peak_allocated = 0;
  size_t num_mallocs = 0;   // cudaMalloc calls
  size_t num_reuses = 0;    // requests served from the cache
  size_t num_frees = 0;     // cudaFree calls
};

class CachingAllocator {
 public:
  explicit CachingAllocator(int device) : device_(device) {}
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // Never returns null for nbytes > 0 (throws tapeflow::Error naming the request and the
  // stats); returns null for nbytes == 0. The current device must be this allocator's.
  void* allocate(size_t nbytes);
  void deallocate(void* p);
  // Returns every cached (free) block to the driver; the caller synchronises first.
  void empty_cache();
  AllocatorStats stats() const;
  std::string describe() const;  // one line of stats for error messages

  // Rounded block size for a request: 512-byte steps up to 1 MiB, then 8 classes per power
  // of two (at most 12.5% waste).
  static size_t size_class(size_t nbytes);

 private:
  void release_cached_locked();
  std::string describe_locked() const;

  int device_;
  mutable std::mutex mu_;
  std::unordered_map<void*, size_t> live_;         // pointer -> block size
  std::map<size_t, std::vector<void*>> free_;      // block size -> cached blocks
  size_t cached_bytes_ = 0;
  AllocatorStats stats_;
};

// "1.50 GiB" / "12.0 MiB" / "512 B"
std::string format_bytes(size_t n);

}  // namespace tapeflow::backend::cuda
