// Helpers of the CPU backend tests (test_cpu_backend*.cpp): backend::View over local buffers
// and a guard restoring the thread count.
#pragma once
#include <cstdint>
#include <vector>

#include "backends/backend.h"
#include "base/runtime.h"

namespace cpu_test {

namespace be = tapeflow::backend;

inline be::Backend& cpu() { return be::cpu_backend(); }

// A view over v (bool data lives in std::vector<uint8_t> with dtype kBool).
template <class S>
be::View mk(std::vector<S>& v, std::vector<int64_t> shape, std::vector<int64_t> strides = {},
            tapeflow::DType dt = tapeflow::dtype_v<S>, int64_t offset = 0) {
  be::View w;
  w.data = v.data() + offset;
  w.dtype = dt;
  w.rank = int(shape.size());
  int64_t acc = 1;
  for (int i = w.rank - 1; i >= 0; --i) {
    w.shape[i] = shape[size_t(i)];
    w.strides[i] = strides.empty() ? acc : strides[size_t(i)];
    acc *= shape[size_t(i)];
  }
  return w;
}

// Restores the thread count at scope exit.
struct ThreadGuard {
  int saved = tapeflow::get_num_threads();
  ~ThreadGuard() { tapeflow::set_num_threads(saved); }
};

}  // namespace cpu_test
