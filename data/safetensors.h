// The safetensors file format (interoperable with Python's `safetensors`): an 8-byte
// little-endian header length, a JSON header mapping each name to dtype, shape and data
// offsets (plus optional "__metadata__"), then raw little-endian data.
#pragma once
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::data {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// Writes the tensors (any device; copied to host). The layout is Python's: tensors sorted by
// dtype (I64, F64, F32, I32, U8, BOOL) then by name, header padded with spaces to a multiple
// of 8, so the bytes match Python's `safetensors` for the same tensors when there is at most one
// metadata entry (Python orders several entries at random; we sort them by key). Names must be
// unique, valid UTF-8 and not "__metadata__".
void save_safetensors(const std::string& path, const NamedTensors& tensors,
                      const std::map<std::string, std::string>& metadata = {});
// Reads and fully validates a file before returning anything (CPU tensors, in header order).
// F16 and BF16 tensors (PyTorch's half types; tapeflow has no such dtypes) come back as float32,
// converted exactly.
// A truncated, oversized or malformed file throws tapeflow::Error naming the path and problem.
NamedTensors load_safetensors(const std::string& path,
                              std::map<std::string, std::string>* metadata = nullptr);

}  // namespace tapeflow::data
