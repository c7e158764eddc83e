// ONNX export and import (Debian's libonnx-dev: the ONNX project's protobuf classes and checker).
//
// Export: traces one forward call of a module on an example input (autograd/trace.h) and writes
// the ops as an ONNX graph (opset 17): parameters become initializers named as in
// named_parameters(), other constants become initializers too, and the batch dim (dim 0 of the
// input) is the symbolic dim "batch" unless dynamic_batch is false. The module runs in eval mode
// for the trace (Dropout is the identity), then gets its mode back.
//
// Import: OnnxModule runs an ONNX graph with tapeflow ops, so it can be fine-tuned: its float
// initializers are parameters (named by their initializer names; "fc1.weight" is the parameter
// "weight" of a child "fc1"), the others constants. It takes the graph's one input and returns
// its first output. Supported ops: see import_ops.cpp (and README's ONNX section).
//
// Without ONNX support (Meson option onnx=disabled, or libonnx-dev missing) these functions throw
// "built without ONNX support"; available() says which.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "tensor/tensor.h"

namespace tapeflow::onnx {

bool available();  // true when tapeflow was built with ONNX support

struct ExportOptions {
  int opset = 17;  // 13 to 17
  bool dynamic_batch = true;  // dim 0 of the input becomes "batch" (needs an example batch >= 2)
  std::string input_name = "input";
  std::string output_name = "output";
};

// Writes `model` traced on `example` to `path`. Throws (writing nothing) when an op cannot be
// exported, naming it.
void export_model(nn::Module& model, const Tensor& example, const std::string& path,
                  const ExportOptions& options = {});
// The same model as serialized ONNX bytes.
std::string export_model_to_string(nn::Module& model, const Tensor& example,
                                   const ExportOptions& options = {});

// The op types OnnxModule runs.
const std::vector<std::string>& supported_ops();

class OnnxModule : public nn::Module {
 public:
  struct Graph;  // the parsed graph (onnx/import.cpp)
  explicit OnnxModule(std::shared_ptr<const Graph> graph);
  ~OnnxModule() override;
  Tensor forward(const Tensor& x) override;
  const std::string& input_name() const;
  const std::string& output_name() const;
  int64_t opset() const;
  size_t num_nodes() const;

 private:
  std::shared_ptr<const Graph> graph_;
  std::vector<std::pair<std::string, Tensor>> weights_;  // initializer name -> parameter
};

// Reads an ONNX model. Throws a tapeflow::Error naming the file and the problem for a truncated
// or corrupt file, a graph cycle, an unsupported data type, initializer data that does not
// match its shape, a name no node produces, or unsupported ops (all of them listed at once).
std::shared_ptr<OnnxModule> load(const std::string& path);
std::shared_ptr<OnnxModule> load_from_string(const std::string& bytes, const std::string& what = "<bytes>");

}  // namespace tapeflow::onnx
