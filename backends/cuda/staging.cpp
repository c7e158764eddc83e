// Pinned staging for host<->device copies (see staging.h). Pinned memory is taken lazily on the
// first transfer: 256 slots of 4 KiB for small uploads and 4 slots of 4 MiB for bulk chunks.
#include "backends/cuda/staging.h"

#include <algorithm>
#include <cstring>

#include "backends/cuda/check.h"

namespace tapeflow::backend::cuda {

namespace {
constexpr size_t kSmallSlot = 4096, kSmallCount = 256;
constexpr size_t kLargeSlot = size_t(4) << 20, kLargeCount = 4;
}  // namespace

void StagingBuffers::init_locked() {
  if (ready_) return;
  auto make = [](Pool& pool, size_t bytes, size_t count) {
    char* base = nullptr;
    TF_CUDA_CHECK(cudaHostAlloc(reinterpret_cast<void**>(&base), bytes * count, cudaHostAllocDefault));
    pool.slot_bytes = bytes;
    pool.slots.resize(count);
    for (size_t i = 0; i < count; ++i) {
      pool.slots[i].host = base + i * bytes;
      TF_CUDA_CHECK(cudaEventCreateWithFlags(&pool.slots[i].done, cudaEventDisableTiming));
    }
  };
  make(small_, kSmallSlot, kSmallCount);
  make(large_, kLargeSlot, kLargeCount);
  ready_ = true;
}

StagingBuffers::Slot& StagingBuffers::take(Pool& pool) {
  Slot& s = pool.slots[pool.next];
  pool.next = (pool.next + 1) % pool.slots.size();
  if (s.pending) {
    TF_CUDA_CHECK(cudaEventSynchronize(s.done));
    s.pending = false;
  }
  return s;
}

void StagingBuffers::issue(Slot& s, cudaStream_t stream) {
  TF_CUDA_CHECK(cudaEventRecord(s.done, stream));
  s.pending = true;
}

void StagingBuffers::upload(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  if (nbytes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  init_locked();
  Pool& pool = nbytes <= kSmallSlot ? small_ : large_;
  for (size_t off = 0; off < nbytes; off += pool.slot_bytes) {
    size_t len = std::min(pool.slot_bytes, nbytes - off);
    Slot& s = take(pool);
    std::memcpy(s.host, static_cast<const char*>(src) + off, len);
    TF_CUDA_CHECK(cudaMemcpyAsync(static_cast<char*>(dst) + off, s.host, len,
                                  cudaMemcpyHostToDevice, stream));
    issue(s, stream);
  }
}

void StagingBuffers::download(void* dst, const void* src, size_t nbytes, cudaStream_t stream) {
  if (nbytes == 0) return;
  std::lock_guard<std::mutex> lock(mu_);
  init_locked();
  Pool& pool = nbytes <= kSmallSlot ? small_ : large_;
  const size_t chunk = pool.slot_bytes, depth = pool.slots.size();
  const size_t nchunks = (nbytes + chunk - 1) / chunk;
  std::vector<Slot*> slot_of(nchunks, nullptr);
  auto queue = [&](size_t c) {
    size_t off = c * chunk, len = std::min(chunk, nbytes - off);
    Slot& s = take(pool);
    TF_CUDA_CHECK(cudaMemcpyAsync(s.host, static_cast<const char*>(src) + off, len,
                                  cudaMemcpyDeviceToHost, stream));
    issue(s, stream);
    slot_of[c] = &s;
  };
  // Keep up to `depth` chunks in flight; copy each out of its slot as soon as it lands.
  for (size_t c = 0; c < std::min(depth, nchunks); ++c) queue(c);
  for (size_t c = 0; c < nchunks; ++c) {
    Slot& s = *slot_of[c];
    TF_CUDA_CHECK(cudaEventSynchronize(s.done));
    s.pending = false;
    size_t off = c * chunk, len = std::min(chunk, nbytes - off);
    std::memcpy(static_cast<char*>(dst) + off, s.host, len);
    if (c + depth < nchunks) queue(c + depth);
  }
}

}  // namespace tapeflow::backend::cuda
