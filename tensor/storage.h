// Storage: a device buffer shared by a tensor and all its views. It carries the version
// counter that autograd uses to notice in-place changes to saved tensors.
#pragma once
#include <cstddef>
#include <cstdint>

#include "base/device.h"
#include "tensor/intrusive.h"
#include "base/small_alloc.h"

namespace tapeflow {

struct Storage : RefCounted {
  void* data = nullptr;
  size_t nbytes = 0;
  Device device;
  bool owned = true;    // false: caller-owned memory wrapped without a copy (never freed here)
  uint32_t version = 0; // bumped by every in-place write

  Storage(size_t nbytes, Device device);                  // allocates through the device backend
  Storage(void* external, size_t nbytes, Device device);  // wraps, does not own
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  TAPEFLOW_SMALL_ALLOC_OPERATORS
};

}  // namespace tapeflow
