// Devices for device-parameterised tests: the CPU always, plus cuda:0 when a CUDA device is
// present. Use as
//   Device dev = GENERATE(from_range(test_devices()));
// or, in an op suite written once for every device, start the test case with
//   TF_EACH_DEVICE();
// which declares `dev` (one run of the case per device) and sets current_test_device(), where
// on_dev(t) puts the case's inputs. Start CUDA-only test cases with TF_REQUIRE_CUDA(), which WARNs and
// returns elsewhere.
#pragma once
#include <catch2/catch.hpp>

#include <vector>

#include "base/cuda.h"
#include "base/device.h"
#include "tensor/tensor.h"

inline std::vector<tapeflow::Device> test_devices() {
  std::vector<tapeflow::Device> devices{tapeflow::Device::cpu()};
  if (tapeflow::cuda::is_available()) devices.push_back(tapeflow::Device::cuda(0));
  return devices;
}

// The device of the running TF_EACH_DEVICE() case (the CPU outside one).
inline tapeflow::Device& current_test_device() {
  static tapeflow::Device d = tapeflow::Device::cpu();
  return d;
}

// t on the running case's device (a no-op on the CPU).
inline tapeflow::Tensor on_dev(const tapeflow::Tensor& t) { return t.to(current_test_device()); }

#define TF_EACH_DEVICE()                                                                  \
  [[maybe_unused]] const ::tapeflow::Device dev = GENERATE(from_range(test_devices()));   \
  current_test_device() = dev;                                                            \
  INFO("device " << dev.str())

#define TF_REQUIRE_CUDA()                      \
  do {                                         \
    if (!::tapeflow::cuda::is_available()) {   \
      WARN("skipped: no CUDA device");         \
      return;                                  \
    }                                          \
  } while (0)
