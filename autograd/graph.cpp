// Building the graph: grad mode, recording nodes (edges + grad_fn), saved tensors with
// version checks, leaf gradient accumulators, and the Tensor methods about autograd state.
#include <atomic>
#include <iostream>
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

namespace {
std::atomic<int64_t> g_live_nodes{0};
std::atomic<bool> g_warned_create_graph{false};
}  // namespace

int64_t live_node_count() { return g_live_nodes.load(std::memory_order_relaxed); }
void reset_warnings() { g_warned_create_graph = false; }

Node::Node() { g_live_nodes.fetch_add(1, std::memory_order_relaxed); }

static void unregister_retained(AutogradMeta& m) {
  if (!m.retains_grad || !m.grad_fn) return;
  auto& r = m.grad_fn->retained_;
  for (size_t i = 0; i < r.size(); ++i)
    if (r[i].second == &m) { r.erase(r.begin() + (std::ptrdiff_t)i); break; }
}

AutogradMeta::~AutogradMeta() { unregister_retained(*this); }

void set_grad_fn(AutogradMeta& m, std::shared_ptr<Node> fn, uint32_t output_nr) {
  unregister_retained(m);
  m.grad_fn = std::move(fn);
  m.output_nr = output_nr;
  if (m.retains_grad && m.grad_fn) m.grad_fn->retained_.emplace_back(output_nr, &m);
}

Node::~Node() {
  g_live_nodes.fetch_sub(1, std::memory_order_relaxed);
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

// Hooks run in registration order on a copy of their list (a hook may remove itself); a
// returned gradient replaces the arriving one and is what later hooks see.
static void check_hook_grad(const Tensor& replaced, const Tensor& g) {
  if (!replaced.defined()) fail("register_hook: a hook returned an undefined gradient (return std::nullopt to keep it)");
  if (replaced.shape() != g.shape())
    fail("register_hook: a hook returned a gradient of shape ", replaced.shape(), " for a gradient of shape ", g.shape());
}

void Node::run_tensor_hooks(Grads& grads) {
  if (!output_hooks_ || output_hooks_->hooks.empty()) return;
  auto hooks = output_hooks_->hooks;
  for (auto& [id, h] : hooks) {
    if (h.output_nr >= grads.size() || !grads[h.output_nr].defined()) continue;
    Tensor& g = grads[h.output_nr];
    if (std::optional<Tensor> r = h.fn(g)) {
      check_hook_grad(*r, g);
      g = std::move(*r);
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
      if (g.requires_grad() && !g_warned_create_graph.exchange(true))
        std::cerr << "tapeflow warning: backward(create_graph=true) into a leaf makes a reference "
                     "cycle between the leaf and its gradient (a memory leak). Prefer "
                     "tapeflow::grad(..., create_graph=true); otherwise reset the leaves' gradients "
                     "(zero_grad(true) or set_grad(Tensor())) after use to break the cycle.\n";
      m.grad = m.grad.defined() ? m.grad + g : g;
    } else if (!m.grad.defined()) {  // no copy when nothing else can see g
      m.grad = sole_owner(g) ? Tensor(std::move(grads[0])) : g.detach().clone();
    } else {
      m.grad.add_(g);
    }
    // The engine runs this node once, after every gradient of this backward for the leaf has
    // arrived: the post-accumulate hooks see the complete .grad() (what DDP-style overlap needs).
    if (m.post_accumulate_hooks && !m.post_accumulate_hooks->hooks.empty()) {
      auto hooks = m.post_accumulate_hooks->hooks;
      for (auto& [id, fn] : hooks) fn(variable);
    }
    return {};
  }
  void run_tensor_hooks(Grads& grads) override {
    const auto& m = variable.impl()->autograd;
    if (!m || !m->grad_hooks || m->grad_hooks->hooks.empty() || grads.empty() || !grads[0].defined()) return;
    auto hooks = m->grad_hooks->hooks;
    for (auto& [id, fn] : hooks)
      if (std::optional<Tensor> r = fn(grads[0])) {
        check_hook_grad(*r, grads[0]);
        grads[0] = std::move(*r);
      }
  }
};

AutogradMeta& meta(const Tensor& t) {
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
  set_grad_fn(meta(out), node, 0);
}

void attach_outputs(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                    const std::vector<Tensor*>& outputs) {
  node->sequence_nr = g_sequence.fetch_add(1, std::memory_order_relaxed);
  node->next.resize(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined()) node->next[i] = edge_to(inputs[i]);
  node->num_outputs = (uint32_t)outputs.size();
  if (g_anomaly) node->anomaly_trace = capture_trace();
  for (size_t k = 0; k < outputs.size(); ++k) {
    if (!outputs[k]) continue;
    AutogradMeta& m = meta(*outputs[k]);
    m.grad_fn = node;
    m.output_nr = (uint32_t)k;
  }
}

Tensor reattach_output(const Tensor& data, Node& owner, uint32_t output_nr) {
  Tensor t = data.detach();
  AutogradMeta& m = meta(t);
  m.grad_fn = owner.shared_from_this();
  m.output_nr = output_nr;
  return t;
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
    set_grad_fn(meta(t), owner.shared_from_this(), output_nr_);
    return t;
  }
  return data_;
}

}  // namespace autograd

using autograd::AutogradMeta;

bool Tensor::requires_grad() const {
  detail::check_defined("requires_grad", *this);
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
  detail::check_defined("grad", *this);
  const auto& m = impl_->autograd;
  return m ? m->grad : Tensor();
}

void Tensor::set_grad(const Tensor& g) const {
  detail::check_defined("set_grad", *this);
  if (g.is_same(*this))
    fail("set_grad: a tensor cannot be its own gradient (that would be a reference cycle); pass a "
         "copy (clone())");
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
  detail::check_defined("zero_grad", *this);
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
  detail::check_defined("is_leaf", *this);
  const auto& m = impl_->autograd;
  return !m || !m->grad_fn;
}

std::string Tensor::grad_fn() const {
  detail::check_defined("grad_fn", *this);
  const auto& m = impl_->autograd;
  return m && m->grad_fn ? m->grad_fn->name() : "";
}

std::shared_ptr<autograd::Node> Tensor::grad_fn_node() const {
  detail::check_defined("grad_fn_node", *this);
  const auto& m = impl_->autograd;
  return m ? m->grad_fn : nullptr;
}

// A non-leaf keeps the gradient that reaches it in backward (accumulated like a leaf's).
void Tensor::retain_grad() const {
  detail::check_defined("retain_grad", *this);
  if (!requires_grad())
    fail("retain_grad: cannot retain the gradient of a tensor that does not require grad (shape ",
         shape(), ")");
  if (is_leaf()) return;  // leaves keep theirs anyway
  AutogradMeta& m = *impl_->autograd;
  if (m.retains_grad) return;
  m.retains_grad = true;
  autograd::set_grad_fn(m, m.grad_fn, m.output_nr);
}

Tensor Tensor::detach() const {
  detail::check_defined("detach", *this);
  Tensor t = detail::make_view_of(*this, shape(), strides(), offset());
  t.impl()->wrapped_number = impl_->wrapped_number;
  return t;
}

RemovableHandle Tensor::register_hook(std::function<std::optional<Tensor>(const Tensor&)> fn) const {
  detail::check_defined("register_hook", *this);
  if (!fn) fail("register_hook: the hook is empty");
  if (!requires_grad())
    fail("register_hook: cannot register a hook on a tensor that does not require grad (shape ", shape(), ")");
  auto& m = autograd::meta(*this);
  if (m.grad_fn) return add_hook(m.grad_fn->output_hooks_, autograd::OutputHook{m.output_nr, std::move(fn)});
  return add_hook(m.grad_hooks, std::move(fn));
}

RemovableHandle Tensor::register_post_accumulate_grad_hook(std::function<void(const Tensor&)> fn) const {
  detail::check_defined("register_post_accumulate_grad_hook", *this);
  if (!fn) fail("register_post_accumulate_grad_hook: the hook is empty");
  if (!is_leaf() || !requires_grad())
    fail("register_post_accumulate_grad_hook: only a leaf tensor that requires grad accumulates a gradient (shape ",
         shape(), is_leaf() ? ", does not require grad)" : str_cat(", produced by ", grad_fn(), ")"));
  return add_hook(autograd::meta(*this).post_accumulate_hooks, std::move(fn));
}

void Tensor::backward(const Tensor& grad_output, bool retain_graph, bool create_graph) const {
  tapeflow::backward({*this}, {grad_output}, retain_graph, create_graph);
}

}  // namespace tapeflow
