// Internal: the parsed form of an imported ONNX graph (onnx/import.cpp) that OnnxModule runs
// with tapeflow ops (onnx/import_ops.cpp). Not part of the public API.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "onnx/onnx.h"

namespace tapeflow::onnx {

namespace detail {

struct Attr {
  int type = 0;  // AttributeProto::AttributeType
  int64_t i = 0;
  double f = 0;
  std::string s;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  Tensor t;
};

struct OpNode {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, Attr> attrs;
  bool has(const std::string& a) const { return attrs.count(a) != 0; }
  int64_t geti(const std::string& a, int64_t dflt) const;
  double getf(const std::string& a, double dflt) const;
  const std::vector<int64_t>* getints(const std::string& a) const;
  std::string label() const;  // "'name' (Op)"
};

// Runs one node: `in` holds one tensor per node input (undefined for an omitted optional one).
std::vector<Tensor> run_node(const OpNode& n, const std::vector<Tensor>& in, int64_t opset);
bool is_supported(const std::string& op);
// The sequence ops (import_seq.cpp).
bool is_seq_supported(const std::string& op);
std::vector<Tensor> run_seq_node(const OpNode& n, const std::vector<Tensor>& in);
void add_seq_ops(std::vector<std::string>& ops);
// The conv family (import_conv.cpp): Conv, ConvTranspose, pooling, BatchNormalization, Pad.
bool conv_supports(const std::string& op);
std::vector<Tensor> run_conv_node(const OpNode& n, const std::vector<Tensor>& in, int64_t opset);
std::vector<std::string> conv_op_names();

}  // namespace detail

struct OnnxModule::Graph {
  std::string input, output;
  int64_t opset = 0;
  std::vector<detail::OpNode> nodes;                   // in topological order
  std::vector<std::pair<std::string, Tensor>> floats;  // float initializers: the parameters
  std::map<std::string, Tensor> constants;             // the other initializers
};

}  // namespace tapeflow::onnx
