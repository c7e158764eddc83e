// libFuzzer target for the ONNX loader (tests/fuzz/run_onnx.sh): any bytes must give a documented
// tapeflow exception (Error, or IndexError for an axis out of range) or a model, and a model's
// forward on a small input such an exception or a tensor. Anything else (a crash, another
// exception, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "onnx/onnx.h"
#include "tensor/creation.h"
#include "base/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tapeflow;
  std::shared_ptr<onnx::OnnxModule> m;
  try {
    m = onnx::load_from_string(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
  } catch (const Error&) {
    return 0;
  } catch (const IndexError&) {
    return 0;
  }
  try {
    (*m)(ones({2, 2, 3}));
  } catch (const Error&) {
  } catch (const IndexError&) {
  }
  return 0;
}
