// libFuzzer target: the safetensors reader (data/safetensors.h). Any input must give tensors
// or a tapeflow::Error; what loads is written back and read again (it must round-trip).
#include <cstdint>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <string>

#include "data/safetensors.h"
#include "memfile.h"
#include "base/error.h"
#include "tensor/ops.h"

namespace td = tapeflow::data;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::memfile(data, size);
  td::NamedTensors loaded;
  std::map<std::string, std::string> meta;
  try {
    loaded = td::load_safetensors(path, &meta);
  } catch (const tapeflow::Error&) {
    return 0;
  }
  // A file that loads is valid: saving it and loading that gives the same names and values.
  static const std::string again = std::string(P_tmpdir) + "/tapeflow-fuzz-" + std::to_string(getpid()) + ".safetensors";
  td::save_safetensors(again, loaded, meta);
  std::map<std::string, std::string> meta2;
  td::NamedTensors back = td::load_safetensors(again, &meta2);
  if (back.size() != loaded.size() || meta2 != meta) std::abort();
  for (size_t i = 0; i < back.size(); ++i) {
    const auto& [name, t] = loaded[i];
    bool found = false;
    for (const auto& [n2, t2] : back)
      if (n2 == name) {
        found = true;
        if (t2.shape() != t.shape() || t2.dtype() != t.dtype()) std::abort();
        // Bitwise equality (NaN payloads included) through the raw bytes.
        if (t.numel() > 0 && std::memcmp(t.contiguous().raw_data(), t2.contiguous().raw_data(),
                                         size_t(t.numel()) * tapeflow::dtype_size(t.dtype())) != 0)
          std::abort();
      }
    if (!found) std::abort();
  }
  return 0;
}
