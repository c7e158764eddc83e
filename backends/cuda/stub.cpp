// The CUDA surface of a build without the CUDA backend (-Dcuda=disabled, or auto without nvcc
// and cuBLAS): nothing is available, asking for a CUDA device throws "built without CUDA",
// and the queries answer as for a machine with no GPU.
#include <atomic>

#include "backends/backend.h"
#include "base/cuda.h"
#include "base/error.h"

namespace tapeflow::backend {

Backend& cuda_backend(int index) {
  fail("cuda:", index, ": tapeflow was built without CUDA (reconfigure with -Dcuda=enabled)");
}

}  // namespace tapeflow::backend

namespace tapeflow::cuda {

namespace {
std::atomic<bool> g_allow_tf32{false};
}

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }

void synchronize(int device) {
  if (device >= 0) fail("cuda:", device, ": tapeflow was built without CUDA");
}

void empty_cache() {}
size_t memory_allocated(int) { return 0; }
size_t memory_reserved(int) { return 0; }
// Kept so that code can set its preference unconditionally; it has no effect without CUDA.
void set_allow_tf32(bool on) { g_allow_tf32.store(on); }
bool allow_tf32() { return g_allow_tf32.load(); }

}  // namespace tapeflow::cuda
