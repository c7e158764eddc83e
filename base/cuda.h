// The CUDA runtime surface. Always declared; a build without CUDA answers is_available() ==
// false and throws "built without CUDA" for anything that needs a device.
#pragma once
#include <cstddef>

namespace tapeflow::cuda {

bool is_built();         // compiled with the CUDA backend
bool is_available();     // built with CUDA and at least one device present
int device_count();
void synchronize(int device = -1);  // -1: every device
void empty_cache();                  // return cached blocks to the driver
size_t memory_allocated(int device = 0);  // bytes held by live tensors
size_t memory_reserved(int device = 0);   // bytes held by the caching allocator
void set_allow_tf32(bool on);             // default off
bool allow_tf32();

}  // namespace tapeflow::cuda
