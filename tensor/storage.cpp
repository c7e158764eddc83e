// Storage allocation goes through the device's backend (its caching allocator).
#include "tensor/storage.h"

#include "backends/backend.h"

namespace tapeflow {

Storage::Storage(size_t n, Device d) : nbytes(n), device(d) {
  data = backend::backend_for(d).allocate(n);
}
Storage::Storage(void* external, size_t n, Device d) : data(external), nbytes(n), device(d), owned(false) {}
Storage::~Storage() {
  if (owned && data) backend::backend_for(device).deallocate(data, nbytes);
}

}  // namespace tapeflow
