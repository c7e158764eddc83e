// Host<->device transfers through pinned staging buffers. Uploads copy the caller's memory into
// a pinned slot and queue an asynchronous copy on the device's stream, so they return before
// the device has the data (the caller may free its memory at once). Downloads are pipelined
// through several slots and return only when the caller's memory holds the data.
#pragma once
#include <cuda_runtime_api.h>

#include <cstddef>
#include <mutex>
#include <vector>

namespace tapeflow::backend::cuda {

class StagingBuffers {
 public:
  StagingBuffers() = default;
  StagingBuffers(const StagingBuffers&) = delete;
  StagingBuffers& operator=(const StagingBuffers&) = delete;

  void upload(void* dst_device, const void* src_host, size_t nbytes, cudaStream_t stream);
  void download(void* dst_host, const void* src_device, size_t nbytes, cudaStream_t stream);

 private:
  struct Slot {
    char* host = nullptr;  // pinned
    cudaEvent_t done = nullptr;
    bool pending = false;  // a queued copy still uses `host`
  };
  struct Pool {
    size_t slot_bytes = 0;
    std::vector<Slot> slots;
    size_t next = 0;
  };
  void init_locked();
  Slot& take(Pool& pool);  // the next slot, its previous copy finished
  void issue(Slot& s, cudaStream_t stream);  // records s.done after the queued copy

  std::mutex mu_;
  bool ready_ = false;
  Pool small_;  // many small slots: scalars and labels never wait on a long queue
  Pool large_;  // few big slots: chunked bulk transfers
};

}  // namespace tapeflow::backend::cuda
