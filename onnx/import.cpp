// ONNX import: parses and validates a model (our own checks first, for messages that name the
// node or initializer, then ONNX's checker), sorts its nodes, and builds an OnnxModule whose
// float initializers are parameters. Nothing is built unless every check passes.
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include "onnx/proto.h"  // first: it sets the macros ONNX's headers need

#include <onnx/checker.h>

#include "onnx/graph.h"
#include "base/error.h"

namespace tapeflow::onnx {

using detail::OpNode;

namespace detail {

int64_t OpNode::geti(const std::string& a, int64_t dflt) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? dflt : it->second.i;
}
double OpNode::getf(const std::string& a, double dflt) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? dflt : it->second.f;
}
const std::vector<int64_t>* OpNode::getints(const std::string& a) const {
  auto it = attrs.find(a);
  return it == attrs.end() ? nullptr : &it->second.ints;
}
std::string OpNode::label() const { return "'" + name + "' (" + op + ")"; }

}  // namespace detail

namespace {

// A holder of parameters for the dotted initializer names ("fc1.weight": child fc1, "weight").
class Holder : public nn::Module {
 public:
  Holder() : Module("OnnxWeights", "weights") {}
  Tensor forward(const Tensor&) override { fail("OnnxWeights: holds parameters only; it has no forward"); }
};

Tensor register_weight(nn::Module& root, const std::string& name, const Tensor& value) {
  std::vector<std::string> parts;
  std::stringstream ss(name);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  bool dotted_ok = !name.empty() && name.back() != '.' && parts.size() > 1;
  for (const auto& p : parts) dotted_ok = dotted_ok && !p.empty();
  if (dotted_ok) {
    try {
      nn::Module* m = &root;
      for (size_t i = 0; i + 1 < parts.size(); ++i) {
        nn::Module* next = nullptr;
        for (const auto& [n, c] : m->named_children())
          if (n == parts[i]) next = c.get();
        if (!next) next = m->register_module(parts[i], std::make_shared<Holder>()).get();
        m = next;
      }
      return m->register_parameter(parts.back(), value);
    } catch (const Error&) {
      // a name clash (e.g. both "a" and "a.b"): fall back to a flat name below
    }
  }
  std::string flat = name;
  for (char& c : flat)
    if (c == '.') c = '_';
  if (flat.empty()) flat = "weight";
  std::string candidate = flat;
  for (int k = 1;; ++k) {
    try {
      return root.register_parameter(candidate, value);
    } catch (const Error&) {
      candidate = flat + "_" + std::to_string(k);
    }
  }
}

detail::Attr parse_attr(const ::onnx::AttributeProto& a, const std::string& where) {
  detail::Attr r;
  r.type = a.type();
  r.i = a.i();
  r.f = a.f();
  r.s = a.s();
  r.ints.assign(a.ints().begin(), a.ints().end());
  r.floats.assign(a.floats().begin(), a.floats().end());
  if (a.has_t()) r.t = detail::from_proto(a.t(), where + " attribute '" + a.name() + "'");
  return r;
}

}  // namespace

const std::vector<std::string>& supported_ops();

std::shared_ptr<OnnxModule> load_from_string(const std::string& bytes, const std::string& what_in) {
  const std::string what = "onnx load: " + what_in;
  ::onnx::ModelProto m;
  if (bytes.empty()) fail(what, ": the file is empty");
  if (!m.ParseFromString(bytes))
    fail(what, ": not an ONNX model (the protobuf does not parse: a truncated or corrupt file?)");
  if (!m.has_graph()) fail(what, ": the model has no graph (a truncated or corrupt file?)");
  int64_t opset = -1;
  for (const auto& o : m.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx") opset = o.version();
  if (opset < 0) fail(what, ": the model imports no default-domain (ai.onnx) opset");
  if (opset < 11 || opset > 17) fail(what, ": opset ", opset, " is not supported (11 to 17)");
  const auto& g = m.graph();

  auto graph = std::make_shared<OnnxModule::Graph>();
  graph->opset = opset;
  // Initializers (values checked against their shapes).
  std::set<std::string> produced;
  for (const auto& init : g.initializer()) {
    if (!produced.insert(init.name()).second) fail(what, ": initializer '", init.name(), "' appears twice");
    Tensor t = detail::from_proto(init, what + ": initializer '" + init.name() + "'");
    if (is_floating(t.dtype())) graph->floats.emplace_back(init.name(), t);
    else graph->constants[init.name()] = t;
  }
  // The one graph input that is not an initializer.
  std::vector<std::string> inputs;
  for (const auto& in : g.input())
    if (!produced.count(in.name())) {
      inputs.push_back(in.name());
      if (in.type().has_tensor_type())
        detail::tapeflow_dtype(in.type().tensor_type().elem_type(), what + ": graph input '" + in.name() + "'");
    }
  if (inputs.size() != 1) {
    std::string names;
    for (const auto& n : inputs) names += (names.empty() ? "" : ", ") + n;
    fail(what, ": OnnxModule takes a graph with one input, this one has ", inputs.size(),
         names.empty() ? "" : " (" + names + ")");
  }
  graph->input = inputs[0];
  produced.insert(graph->input);
  const std::set<std::string> base = produced;  // initializers and the input
  if (g.output_size() < 1) fail(what, ": the graph has no output");
  graph->output = g.output(0).name();

  // Nodes: every unsupported op is reported at once.
  std::vector<OpNode> nodes;
  std::string unsupported;
  int n_unsupported = 0;
  for (int i = 0; i < g.node_size(); ++i) {
    const auto& np = g.node(i);
    OpNode n;
    n.op = np.op_type();
    n.name = np.name().empty() ? "node" + std::to_string(i) : np.name();
    bool std_domain = np.domain().empty() || np.domain() == "ai.onnx";
    if (!std_domain || !detail::is_supported(n.op)) {
      unsupported += (n_unsupported++ ? ", " : "") + n.label() + (std_domain ? "" : " of domain " + np.domain());
      continue;
    }
    n.inputs.assign(np.input().begin(), np.input().end());
    n.outputs.assign(np.output().begin(), np.output().end());
    for (const auto& a : np.attribute()) n.attrs[a.name()] = parse_attr(a, what + ": node " + n.label());
    nodes.push_back(std::move(n));
  }
  if (n_unsupported) {
    std::string ops;
    for (const auto& s : supported_ops()) ops += (ops.empty() ? "" : ", ") + s;
    fail(what, ": ", n_unsupported, " unsupported node", n_unsupported > 1 ? "s" : "", ": ", unsupported,
         ". tapeflow runs: ", ops);
  }
  // Names: each produced once, each read one that exists.
  for (const auto& n : nodes)
    for (const auto& o : n.outputs)
      if (!o.empty() && !produced.insert(o).second) fail(what, ": '", o, "' is produced twice (by node ", n.label(), ")");
  for (const auto& n : nodes)
    for (const auto& in : n.inputs)
      if (!in.empty() && !produced.count(in))
        fail(what, ": node ", n.label(), " reads '", in, "', which no node, graph input or initializer produces");
  if (!produced.count(graph->output)) fail(what, ": no node produces the graph output '", graph->output, "'");

  // The file's order when it is topological (ONNX requires it), else Kahn's order; what Kahn's
  // algorithm leaves over lies on a cycle.
  bool sorted = true;
  {
    std::set<std::string> seen(base);
    for (const auto& n : nodes) {
      for (const auto& in : n.inputs)
        if (!in.empty() && !seen.count(in)) sorted = false;
      for (const auto& o : n.outputs) seen.insert(o);
    }
  }
  std::vector<size_t> order;
  if (sorted) {
    for (size_t i = 0; i < nodes.size(); ++i) order.push_back(i);
  } else {
    std::unordered_map<std::string, size_t> producer;
    for (size_t i = 0; i < nodes.size(); ++i)
      for (const auto& o : nodes[i].outputs) producer[o] = i;
    std::vector<int> pending(nodes.size(), 0);
    std::vector<std::vector<size_t>> users(nodes.size());
    for (size_t i = 0; i < nodes.size(); ++i)
      for (const auto& in : nodes[i].inputs)
        if (auto it = producer.find(in); !in.empty() && it != producer.end()) {
          ++pending[i];
          users[it->second].push_back(i);
        }
    std::vector<size_t> ready;
    for (size_t i = nodes.size(); i-- > 0;)
      if (!pending[i]) ready.push_back(i);
    while (!ready.empty()) {
      size_t i = ready.back();
      ready.pop_back();
      order.push_back(i);
      for (size_t u : users[i])
        if (--pending[u] == 0) ready.push_back(u);
    }
    if (order.size() != nodes.size()) {
      std::string cyc;
      for (size_t i = 0; i < nodes.size(); ++i)
        if (pending[i]) cyc += (cyc.empty() ? "" : ", ") + nodes[i].label();
      fail(what, ": the graph has a cycle through nodes ", cyc);
    }
  }
  for (size_t i : order) graph->nodes.push_back(std::move(nodes[i]));

  // ONNX's checker requires the file's own order to be topological, and knows IR versions up to
  // 8 (libonnx 1.12): newer files are run on our own checks alone.
  if (sorted && m.ir_version() <= 8) {
    try {
      ::onnx::checker::check_model(m);
    } catch (const std::exception& e) {
      fail(what, ": the model fails ONNX's checker: ", e.what());
    }
  }
  return std::make_shared<OnnxModule>(graph);
}

std::shared_ptr<OnnxModule> load(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("onnx load: cannot open '", path, "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return load_from_string(ss.str(), "'" + path + "'");
}

OnnxModule::OnnxModule(std::shared_ptr<const Graph> graph) : Module("OnnxModule", "onnx_module"), graph_(std::move(graph)) {
  if (!graph_) fail("OnnxModule: null graph");
  for (const auto& [name, t] : graph_->floats) weights_.emplace_back(name, register_weight(*this, name, t.clone()));
}

OnnxModule::~OnnxModule() = default;
const std::string& OnnxModule::input_name() const { return graph_->input; }
const std::string& OnnxModule::output_name() const { return graph_->output; }
int64_t OnnxModule::opset() const { return graph_->opset; }
size_t OnnxModule::num_nodes() const { return graph_->nodes.size(); }

Tensor OnnxModule::forward(const Tensor& x) {
  std::unordered_map<std::string, Tensor> env;
  for (const auto& [n, t] : graph_->constants) env[n] = t;
  for (const auto& [n, t] : weights_) env[n] = t;
  env[graph_->input] = x;
  std::vector<Tensor> in;
  for (const auto& n : graph_->nodes) {
    in.clear();
    for (const auto& name : n.inputs) {
      auto v = name.empty() ? env.end() : env.find(name);
      if (!name.empty() && v == env.end())
        fail("OnnxModule: node ", n.label(), " reads '", name, "', which its producer did not output");
      in.push_back(v == env.end() ? Tensor() : v->second);
    }
    std::vector<Tensor> out;
    try {
      out = detail::run_node(n, in, graph_->opset);
    } catch (const Error& e) {
      std::string shapes;
      for (const Tensor& t : in) shapes += (shapes.empty() ? "" : ", ") + (t.defined() ? str_cat(t.shape()) : "-");
      fail("OnnxModule: node ", n.label(), " on inputs of shapes ", shapes, ": ", e.what());
    }
    for (size_t i = 0; i < n.outputs.size() && i < out.size(); ++i)
      if (!n.outputs[i].empty()) env[n.outputs[i]] = out[i];
  }
  auto it = env.find(graph_->output);
  if (it == env.end() || !it->second.defined()) fail("OnnxModule: the graph did not produce '", graph_->output, "'");
  return it->second;
}

}  // namespace tapeflow::onnx
