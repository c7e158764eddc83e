// Building the graph: grad mode, recording nodes (edges + grad_fn), saved tensors with
// version checks, leaf gradient accumulators, and the Tensor methods about autograd state.
#include <atomic>
#include <cxxabi.h>
#include <execinfo.h>

#include "autograd/autograd.h"
#include "autograd/function.h"
#include "tensor/internal.h"
#include "tensor/ops.h"
#include "base/tls.h"

namespace tapeflow {

// Defined here, where AutogradMeta is complete (tensor/ declares it; autograd/ owns it).
TensorImpl::TensorImpl() = default;
TensorImpl::~TensorImpl() = default;

namespace {
TAPEFLOW_TLS_FAST thread_local bool t_grad_enabled = true;
std::atomic<bool> g_anomaly{false};
std::atomic<uint64_t> g_sequence{0};
}  // namespace

bool is_grad_enabled() { return t_grad_enabled; }
void set_grad_enabled(bool enabled) { t_grad_enabled = enabled; }
void set_detect_anomaly(bool on) { g_anomaly = on; }
bool is_anomaly_enabled() { return g_anomaly; }

namespace autograd {

Node::~Node() {
  // Free long chains iteratively instead of recursively (a 100k-op graph must not blow the
  // stack): take over every edge, and destroy a node only once we hold its last reference,
  // after taking over its edges in turn.
  std::vector<std::shared_ptr<Node>> stack;
  for (auto& e : next)
    if (e.fn) stack.push_back(std::move(e.fn));
  while (!stack.empty()) {
    std::shared_ptr<Node> n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) {
      for (auto& e : n->next)
        if (e.fn) stack.push_back(std::move(e.fn));
    }
  }
}

// Gradient sink of a leaf: adds incoming gradients into the leaf's .grad().
struct AccumulateGrad final : Node {
  Tensor variable;
  explicit AccumulateGrad(Tensor v) : variable(std::move(v)) {}
  const char* name() const override { return "AccumulateGrad"; }
  bool is_accumulator() const override { return true; }
  Grads apply(Grads& grads) override {
    const Tensor& g = grads[0];
    if (!g.defined()) return {};
    AutogradMeta& m = *variable.impl()->autograd;
    if (is_grad_enabled()) {  // create_graph: the accumulated gradient keeps its history
      m.grad = m.grad.defined() ? m.grad + g : g;
    } else if (!m.grad.defined()) {
      m.grad = g.detach().clone();
    } else {
      m.grad.add_(g);
    }
    return {};
  }
};

static AutogradMeta& meta(const Tensor& t) {
  auto& p = t.impl()->autograd;
  if (!p) p = std::make_unique<AutogradMeta>();
  return *p;
}

std::shared_ptr<Node> leaf_accumulator(const Tensor& leaf) {
  AutogradMeta& m = meta(leaf);
  if (auto acc = m.grad_accumulator.lock()) return acc;
  auto acc = std::make_shared<AccumulateGrad>(leaf);
  m.grad_accumulator = acc;
  return acc;
}

static Edge edge_to(const Tensor& t) {
  Edge e;
  const auto& m = t.impl()->autograd;
  if (!m) return e;
  if (m->grad_fn) {
    e.fn = m->grad_fn;
    e.input_nr = m->output_nr;
  } else if (m->requires_grad) {
    e.fn = leaf_accumulator(t);
  } else {
    return e;
  }
  e.shape = t.shape();
  e.dtype = t.dtype();
  return e;
}

bool should_record(std::initializer_list<const Tensor*> inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}
bool should_record(const std::vector<Tensor>& inputs) {
  if (!t_grad_enabled) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

static std::string capture_trace() {
  void* frames[48];
  int n = backtrace(frames, 48);
  char** syms = backtrace_symbols(frames, n);
  std::string out;
  for (int i = 2; i < n && syms; ++i) {
    std::string s = syms[i];
    auto open = s.find('('), plus = s.find('+', open);
    if (open != std::string::npos && plus != std::string::npos && plus > open + 1) {
      std::string mangled = s.substr(open + 1, plus - open - 1);
      int status = 0;
      char* dem = abi::__cxa_demangle(mangled.c_str(), nullptr, nullptr, &status);
      if (status == 0 && dem) s = s.substr(0, open + 1) + dem + s.substr(plus);
      free(dem);
    }
    out += "  #" + std::to_string(i - 2) + " " + s + "\n";
  }
  free(syms);
  return out;
}

void attach(const std::shared_ptr<Node>& node, const Tensor* const* inputs, size_t n, Tensor& out) {
  node->sequence_nr = g_sequence.fetch_add(1, std::memory_order_relaxed);
  node->next.resize(n);
  for (size_t i = 0; i < n; ++i)
    if (inputs[i]->defined()) node->next[i] = edge_to(*inputs[i]);
  node->num_outputs = 1;
  if (g_anomaly) node->anomaly_trace = capture_trace();
  AutogradMeta& m = meta(out);
  m.grad_fn = node;
  m.output_nr = 0;
}

SavedTensor::SavedTensor(const Tensor& t, bool is_output) : is_output_(is_output) {
  if (!t.defined()) return;
  version_ = t.version();
  requires_grad_ = t.requires_grad();
  if (is_output) {
    // No reference to our own node (that would be a cycle): keep the data only. Saved outputs
    // are always outputs of a recorded node (single-output nodes: output_nr 0).
    data_ = t.detach();
    requires_grad_ = true;
  } else {
    data_ = t;
  }
}

Tensor SavedTensor::unpack(Node& owner) const {
  if (!data_.defined()) return data_;
  if (data_.version() != version_)
    throw AutogradError(str_cat(
        "backward of ", owner.name(), ": a variable needed for gradient computation has been "
        "modified by an inplace operation: a tensor of shape ", data_.shape(), " and dtype ",
        data_.dtype(), " is at version ", data_.version(), "; expected version ", version_));
  if (is_output_ && requires_grad_ && is_grad_enabled()) {
    // create_graph: reattach the output to the node that produced it.
    Tensor t = data_.detach();
    AutogradMeta& m = meta(t);
    m.grad_fn = owner.shared_from_this();
    m.output_nr = output_nr_;
    return t;
  }
  return data_;
}

}  // namespace autograd

using autograd::AutogradMeta;

bool Tensor::requires_grad() const {
  const auto& m = impl_->autograd;
  return m && (m->requires_grad || m->grad_fn);
}

Tensor& Tensor::requires_grad_(bool on) {
  detail::check_defined("requires_grad", *this);
  if (on && !is_floating(dtype()))
    fail("requires_grad: only floating-point tensors can require gradients, got dtype ", dtype());
  if (!is_leaf()) {
    if (!on)
      fail("requires_grad: cannot turn off requires_grad on a non-leaf tensor (", grad_fn(),
           "); use detach()");
    return *this;
  }
  if (on || impl_->autograd) autograd::meta(*this).requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const {
  const auto& m = impl_->autograd;
  return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  if (g.defined() && g.shape() != shape())
    fail("set_grad: gradient shape ", g.shape(), " does not match tensor shape ", shape());
  autograd::meta(*this).grad = g;
}

void Tensor::set_data(const Tensor& src) const {
  detail::check_defined("set_data", *this);
  detail::check_defined("set_data", src);
  if (requires_grad() && !is_floating(src.dtype()))
    fail("set_data: a tensor that requires grad needs floating data, got ", src.dtype());
  TensorImpl* s = src.impl();
  impl_->storage = s->storage;
  impl_->shape = s->shape;
  impl_->strides = s->strides;
  impl_->offset = s->offset;
  impl_->dtype = s->dtype;
}

void Tensor::zero_grad(bool set_to_none) const {
  auto& m = impl_->autograd;
  if (!m || !m->grad.defined()) return;
  if (set_to_none) {
    m->grad = Tensor();
  } else {
    NoGradGuard ng;
    m->grad = m->grad.detach();
    m->grad.zero_();
  }
}

bool Tensor::is_leaf() const {
  const auto& m = impl_->autograd;
  return !m || !m->grad_fn;
}

std::string Tensor::grad_fn() const {
  const auto& m = impl_->autograd;
  return m && m->grad_fn ? m->grad_fn->name() : "";
}

std::shared_ptr<autograd::Node> Tensor::grad_fn_node() const {
  const auto& m = impl_->autograd;
  return m ? m->grad_fn : nullptr;
}

Tensor Tensor::detach() const {
  detail::check_defined("detach", *this);
  Tensor t = detail::make_view_of(*this, shape(), strides(), offset());
  t.impl()->wrapped_number = impl_->wrapped_number;
  return t;
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
  tapeflow::backward({*this}, {grad_output}, retain_graph, create_graph);
}

}  // namespace tapeflow
