// libFuzzer target: the strict JSON reader behind the safetensors header (data/json.h). Any
// input must parse or throw tapeflow::Error; a parsed string re-quoted by append_quoted must
// parse back to the same string.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "data/json.h"
#include "base/error.h"

namespace json = tapeflow::data::json;

namespace {
void requote(const json::Value& v) {
  if (v.is_string()) {
    std::string q;
    json::append_quoted(q, v.str);
    json::Value back = json::parse(q, "requote");
    if (!back.is_string() || back.str != v.str) std::abort();
  }
  for (const auto& item : v.items) requote(item);
  for (const auto& m : v.members) {
    requote(json::parse([&] { std::string q; json::append_quoted(q, m.first); return q; }(), "key"));
    requote(m.second);
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  json::Value v;
  try {
    v = json::parse(text, "fuzz");
  } catch (const tapeflow::Error&) {
    return 0;
  }
  requote(v);
  return 0;
}
