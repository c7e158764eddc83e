// libFuzzer target: the IDX reader (data/idx.h), plain and gzip (inputs starting 1f 8b). Any
// input must give a tensor or a tapeflow::Error; memory must follow the real data, never the
// size a header declares (libFuzzer's -rss_limit_mb and -malloc_limit_mb catch that).
#include <cstdint>

#include "data/idx.h"
#include "memfile.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string& path = fuzz::memfile(data, size);
  try {
    tapeflow::Tensor t = tapeflow::data::read_idx(path);
    (void)t.numel();
  } catch (const tapeflow::Error&) {
  }
  return 0;
}
