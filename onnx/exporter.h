// Internal: the ONNX exporter's graph builder (onnx/export.cpp) and its per-op emitters
// (onnx/export_ops.cpp). Not part of the public API.
#pragma once
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "autograd/trace.h"
#include "onnx/proto.h"

namespace tapeflow::onnx::detail {

// Attributes of a node (the emitters' shared helpers).
inline void attr_int(::onnx::NodeProto& n, const char* name, int64_t v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(v);
}
inline void attr_ints(::onnx::NodeProto& n, const char* name, const std::vector<int64_t>& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::INTS);
  for (int64_t i : v) a->add_ints(i);
}
inline void attr_float(::onnx::NodeProto& n, const char* name, double v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::FLOAT);
  a->set_f((float)v);
}
inline void attr_string(::onnx::NodeProto& n, const char* name, const std::string& v) {
  auto* a = n.add_attribute();
  a->set_name(name);
  a->set_type(::onnx::AttributeProto::STRING);
  a->set_s(v);
}

class Exporter : public autograd::Tracer {
 public:
  Exporter(::onnx::GraphProto& graph, int64_t batch, bool dynamic);
  // The model's parameters by tensor, named as in named_parameters() (taken after the forward
  // call, which may have built lazy layers).
  void set_params(std::unordered_map<const void*, std::string> params) { params_ = std::move(params); }

  void on_op(autograd::TraceOp op) override { ops_.push_back(std::move(op)); }
  const std::vector<autograd::TraceOp>& ops() const { return ops_; }

  // ---- used by the emitters ----
  // The name of t's value, as dtype `want` (a Cast node, or a constant made in that dtype).
  std::string in(const Tensor& t, DType want);
  std::string in(const Tensor& t) { return in(t, t.dtype()); }
  int batch_dim(const Tensor& t) const;  // where t's batch dim is (-1: none or a constant)
  // Adds a node; returns its (first) output's name.
  ::onnx::NodeProto& node(const std::string& op_type, const std::vector<std::string>& inputs);
  std::string out(const ::onnx::NodeProto& n) const { return n.output(0); }
  std::string constant(const Tensor& t);  // a new initializer holding t
  std::string ints(const std::vector<int64_t>& v);
  std::string scalar(double v, DType dt);
  void bind(const Tensor& t, const std::string& name, int batch_dim);  // t is `name` from now on
  bool dynamic() const { return dynamic_; }
  int64_t batch() const { return batch_; }
  [[noreturn]] void unsupported(const autograd::TraceOp& op, const std::string& why) const;
  std::map<std::string, std::vector<std::string>> memo;  // emitters' shared nodes (an RNN node's outputs)

  // Removes the nodes and initializers the output does not need.
  void prune(const std::string& output);

 private:
  struct Value {
    std::string name;
    int batch_dim = -1;
    uint32_t version = 0;
    Tensor keep;  // holds the tensor so its address is not reused while tracing
  };
  ::onnx::GraphProto& graph_;
  std::unordered_map<const void*, std::string> params_;
  std::unordered_map<const void*, Value> values_;
  std::map<std::string, std::string> params_done_;
  std::vector<autograd::TraceOp> ops_;
  int64_t batch_;
  bool dynamic_;
  int counter_ = 0;
};

void emit(Exporter& ex, const autograd::TraceOp& op);  // export_ops.cpp
// The sequence ops and layers (export_seq.cpp): false when op is not one of them.
bool emit_seq(Exporter& ex, const autograd::TraceOp& op, std::string& name, int& out_batch);
// The conv family (export_conv.cpp): false when `op` is not one of its ops.
bool emit_conv(Exporter& ex, const autograd::TraceOp& op, std::string& name, int& out_batch);

}  // namespace tapeflow::onnx::detail
