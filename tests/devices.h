// Devices for device-parameterised tests: the CPU always, plus cuda:0 when a CUDA device is
// present. Use as
//   Device dev = GENERATE(from_range(test_devices()));
// and start CUDA-only test cases with TF_REQUIRE_CUDA(), which WARNs and returns elsewhere.
#pragma once
#include <catch2/catch.hpp>

#include <vector>

#include "base/cuda.h"
#include "base/device.h"

inline std::vector<tapeflow::Device> test_devices() {
  std::vector<tapeflow::Device> devices{tapeflow::Device::cpu()};
  if (tapeflow::cuda::is_available()) devices.push_back(tapeflow::Device::cuda(0));
  return devices;
}

#define TF_REQUIRE_CUDA()                      \
  do {                                         \
    if (!::tapeflow::cuda::is_available()) {   \
      WARN("skipped: no CUDA device");         \
      return;                                  \
    }                                          \
  } while (0)
