// The ONNX functions of a build without ONNX support (Meson option onnx=disabled, or no
// libonnx-dev): each throws.
#include "onnx/onnx.h"
#include "base/error.h"

namespace tapeflow::onnx {

namespace {
[[noreturn]] void missing(const char* fn) {
  fail("onnx ", fn, ": tapeflow was built without ONNX support (install libonnx-dev and "
       "libprotobuf-dev, then reconfigure with -Donnx=enabled)");
}
}  // namespace

bool available() { return false; }
void export_model(nn::Module&, const Tensor&, const std::string&, const ExportOptions&) { missing("export"); }
std::string export_model_to_string(nn::Module&, const Tensor&, const ExportOptions&) { missing("export"); }
const std::vector<std::string>& supported_ops() {
  static const std::vector<std::string> none;
  return none;
}
struct OnnxModule::Graph {};
OnnxModule::OnnxModule(std::shared_ptr<const Graph> g) : Module("OnnxModule", "onnx_module"), graph_(std::move(g)) {
  missing("load");
}
OnnxModule::~OnnxModule() = default;
Tensor OnnxModule::forward(const Tensor&) { missing("forward"); }
const std::string& OnnxModule::input_name() const { missing("input_name"); }
const std::string& OnnxModule::output_name() const { missing("output_name"); }
int64_t OnnxModule::opset() const { missing("opset"); }
size_t OnnxModule::num_nodes() const { missing("num_nodes"); }
std::shared_ptr<OnnxModule> load(const std::string&) { missing("load"); }
std::shared_ptr<OnnxModule> load_from_string(const std::string&, const std::string&) { missing("load"); }

}  // namespace tapeflow::onnx
