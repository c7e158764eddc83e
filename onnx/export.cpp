// ONNX export: traces one forward call (autograd/trace.h), turns the reported ops into ONNX
// nodes (export_ops.cpp), prunes what the output does not need, checks the model with ONNX's
// own checker and serializes it.
#include <fstream>
#include <set>

#include "onnx/proto.h"  // first: it sets the macros ONNX's headers need

#include <onnx/checker.h>

#include "autograd/grad_mode.h"
#include "onnx/exporter.h"
#include "onnx/onnx.h"
#include "tensor/creation.h"
#include "base/error.h"

namespace tapeflow::onnx {

namespace detail {

Exporter::Exporter(::onnx::GraphProto& graph, int64_t batch, bool dynamic)
    : graph_(graph), batch_(batch), dynamic_(dynamic) {}

void Exporter::unsupported(const autograd::TraceOp& op, const std::string& why) const {
  std::string shapes;
  for (const Tensor& t : op.inputs)  // an optional input (an initial state) may be undefined
    shapes += (shapes.empty() ? "" : ", ") + (t.defined() ? str_cat(t.shape()) : std::string("none"));
  fail("onnx export: op '", op.op, "' on inputs of shapes ", shapes, " cannot be exported: ", why);
}

::onnx::NodeProto& Exporter::node(const std::string& op_type, const std::vector<std::string>& inputs) {
  ::onnx::NodeProto* n = graph_.add_node();
  std::string name = op_type + "_" + std::to_string(counter_++);
  n->set_op_type(op_type);
  n->set_name(name);
  for (const auto& i : inputs) n->add_input(i);
  n->add_output(name);
  return *n;
}

std::string Exporter::constant(const Tensor& t) {
  ::onnx::TensorProto* p = graph_.add_initializer();
  to_proto(t, *p);
  p->set_name("const_" + std::to_string(counter_++));
  return p->name();
}

std::string Exporter::ints(const std::vector<int64_t>& v) {
  return constant(from_blob_copy(v.data(), Shape{(int64_t)v.size()}, kInt64));
}

std::string Exporter::scalar(double v, DType dt) {
  return constant(full({}, v, Options(dt)));
}

void Exporter::bind(const Tensor& t, const std::string& name, int batch_dim) {
  values_[t.impl()] = Value{name, batch_dim, t.version(), t};
}

int Exporter::batch_dim(const Tensor& t) const {
  auto it = values_.find(t.impl());
  return it == values_.end() ? -1 : it->second.batch_dim;
}

std::string Exporter::in(const Tensor& t, DType want) {
  std::string name;
  auto it = values_.find(t.impl());
  // Parameters first: a layer built lazily by the traced call made its weights with traced ops.
  if (auto p = params_.find(t.impl()); p != params_.end()) {
    name = p->second;
    if (!params_done_.count(name)) {
      ::onnx::TensorProto* init = graph_.add_initializer();
      to_proto(t, *init);
      init->set_name(name);
      params_done_[name] = name;
    }
  } else if (it != values_.end()) {
    if (it->second.version != t.version())
      fail("onnx export: a traced tensor of shape ", t.shape(),
           " was modified in place during the forward call; in-place ops cannot be exported");
    name = it->second.name;
  } else if (!t.is_leaf()) {
    fail("onnx export: the forward call used a tensor of shape ", t.shape(), " made by ", t.grad_fn(),
         ", an op the exporter does not trace (see autograd/trace.h for the traced ops)");
  } else {
    return constant(t.astype(want));  // a constant of the forward call (e.g. a C++ number)
  }
  if (t.dtype() == want) return name;
  auto& c = node("Cast", {name});
  auto* a = c.add_attribute();
  a->set_name("to");
  a->set_type(::onnx::AttributeProto::INT);
  a->set_i(onnx_dtype(want));
  return out(c);
}

void Exporter::prune(const std::string& output) {
  std::set<std::string> needed{output};
  std::vector<bool> keep(graph_.node_size(), false);
  for (int i = graph_.node_size() - 1; i >= 0; --i) {
    const auto& n = graph_.node(i);
    for (const auto& o : n.output())
      if (needed.count(o)) keep[i] = true;
    if (keep[i])
      for (const auto& in : n.input()) needed.insert(in);
  }
  ::onnx::GraphProto pruned;
  for (int i = 0; i < graph_.node_size(); ++i)
    if (keep[i]) *pruned.add_node() = graph_.node(i);
  for (const auto& init : graph_.initializer())
    if (needed.count(init.name())) *pruned.add_initializer() = init;
  graph_.mutable_node()->Swap(pruned.mutable_node());
  graph_.mutable_initializer()->Swap(pruned.mutable_initializer());
}

namespace {

void set_type(::onnx::ValueInfoProto& v, const std::string& name, const Tensor& t, int batch_dim,
              bool dynamic, int64_t batch) {
  v.set_name(name);
  auto* tt = v.mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx_dtype(t.dtype()));
  auto* shape = tt->mutable_shape();
  for (int i = 0; i < t.dim(); ++i) {
    auto* d = shape->add_dim();
    if (dynamic && i == batch_dim) {
      if (t.size(i) == batch) d->set_dim_param("batch");  // else: a multiple of it, left unnamed
    } else {
      d->set_dim_value(t.size(i));
    }
  }
}

}  // namespace
}  // namespace detail

bool available() { return true; }

std::string export_model_to_string(nn::Module& model, const Tensor& example, const ExportOptions& o) {
  if (o.opset < 13 || o.opset > 17) fail("onnx export: opset ", o.opset, " is not supported (13 to 17)");
  if (!example.defined()) fail("onnx export: the example input is undefined");
  if (o.dynamic_batch && (example.dim() < 1 || example.size(0) < 2))
    fail("onnx export: a dynamic batch needs an example input with a batch dim of at least 2, got shape ",
         example.shape(), " (or set ExportOptions::dynamic_batch = false)");
  if (o.input_name.empty() || o.output_name.empty() || o.input_name == o.output_name)
    fail("onnx export: input and output names must be non-empty and differ");
  ::onnx::ModelProto m;
  m.set_ir_version(8);
  m.set_producer_name("tapeflow");
  m.set_producer_version("0.1.0");
  auto* opset = m.add_opset_import();
  opset->set_domain("");
  opset->set_version(o.opset);
  auto& g = *m.mutable_graph();
  g.set_name(model.name().empty() ? "tapeflow" : model.name());

  int64_t batch = example.dim() ? example.size(0) : 1;
  detail::Exporter ex(g, batch, o.dynamic_batch);
  Tensor x = example.detach().clone();
  if (is_floating(x.dtype())) x.requires_grad_(true);  // the tape then shows untraced ops
  ex.bind(x, o.input_name, o.dynamic_batch ? 0 : -1);

  Tensor y;
  bool was_training = model.is_training(), grad_was = is_grad_enabled();
  model.eval();
  set_grad_enabled(true);
  try {
    autograd::TraceGuard guard(&ex);
    y = model(x);
  } catch (...) {
    model.train(was_training);
    set_grad_enabled(grad_was);
    throw;
  }
  model.train(was_training);
  set_grad_enabled(grad_was);
  if (!y.defined()) fail("onnx export: the model returned an undefined tensor");
  std::unordered_map<const void*, std::string> params;
  for (const auto& [n, p] : model.named_parameters()) params.emplace(p.impl(), n);
  for (const auto& [n, b] : model.named_buffers()) params.emplace(b.impl(), n);  // e.g. running statistics
  ex.set_params(std::move(params));

  for (const auto& op : ex.ops()) detail::emit(ex, op);
  auto& last = ex.node("Identity", {ex.in(y)});
  last.set_output(0, o.output_name);
  ex.prune(o.output_name);
  detail::set_type(*g.add_input(), o.input_name, x, 0, o.dynamic_batch, batch);
  detail::set_type(*g.add_output(), o.output_name, y, ex.batch_dim(y), o.dynamic_batch, batch);

  try {
    ::onnx::checker::check_model(m);
  } catch (const std::exception& e) {
    fail("onnx export: the exported model fails ONNX's checker (a tapeflow bug): ", e.what());
  }
  std::string bytes;
  if (!m.SerializeToString(&bytes)) fail("onnx export: serializing the model failed");
  return bytes;
}

void export_model(nn::Module& model, const Tensor& example, const std::string& path, const ExportOptions& o) {
  std::string bytes = export_model_to_string(model, example, o);
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) fail("onnx export: cannot open '", path, "' for writing");
  f.write(bytes.data(), (std::streamsize)bytes.size());
  f.close();
  if (!f) fail("onnx export: writing '", path, "' failed");
}

}  // namespace tapeflow::onnx
