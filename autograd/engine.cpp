// The backward engine: counts dependencies over the reachable graph, then runs each node once
// all gradients for it have arrived, summing broadcast gradients back to each input's shape.
// State is local to one call: independent threads can run backward at the same time.
#include <cmath>
#include <algorithm>

#include "autograd/autograd.h"
#include "autograd/function.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Edge;
using autograd::Node;

namespace {

Edge root_edge(const Tensor& t, const char* op) {
  if (!t.requires_grad())
    fail(op, ": element of tensors does not require grad and does not have a grad_fn (shape ",
         t.shape(), ")");
  Edge e;
  if (auto fn = t.grad_fn_node()) {
    e.fn = fn;
    e.input_nr = t.impl()->autograd->output_nr;
  } else {
    e.fn = autograd::leaf_accumulator(t);
    e.input_nr = 0;
  }
  e.shape = t.shape();
  e.dtype = t.dtype();
  return e;
}

bool has_non_finite(const Tensor& g) {
  if (!is_floating(g.dtype())) return false;
  for (double v : g.detach().to_vector<double>())
    if (!std::isfinite(v)) return true;
  return false;
}

struct Capture {
  Node* node;
  uint32_t input_nr;
};

// Runs the graph. When `captures` is given (functional grad), leaf accumulators are not run and
// the gradient arriving at each capture point is returned instead.
std::vector<Tensor> run(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
                        bool retain_graph, bool create_graph, const std::vector<Capture>* captures,
                        const char* op) {
  if (!grad_outputs.empty() && grad_outputs.size() != outputs.size())
    fail(op, ": got ", grad_outputs.size(), " grad_outputs for ", outputs.size(), " outputs");
  std::vector<Edge> roots;
  std::vector<Tensor> root_grads;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const Tensor& t = outputs[i];
    detail::check_defined(op, t);
    roots.push_back(root_edge(t, op));
    Tensor g = i < grad_outputs.size() ? grad_outputs[i] : Tensor();
    if (!g.defined()) {
      if (t.numel() != 1)
        fail(op, ": grad can be implicitly created only for scalar outputs, got shape ", t.shape(),
             "; pass a gradient of that shape");
      g = ones_like(t.detach());
    } else if (g.shape() != t.shape()) {
      fail(op, ": gradient of shape ", g.shape(), " does not match output shape ", t.shape());
    }
    root_grads.push_back(g);
  }

  // Dependency counts over everything reachable (kept on the nodes; reset on exit).
  std::vector<Node*> visited;
  struct Reset {
    std::vector<Node*>& v;
    ~Reset() {
      for (Node* n : v) {
        n->pending_ = 0;
        n->visited_ = false;
        n->grad_buffer_.clear();
      }
    }
  } reset{visited};
  for (auto& e : roots)
    if (!e.fn->visited_) { e.fn->visited_ = true; visited.push_back(e.fn.get()); }
  for (size_t k = 0; k < visited.size(); ++k) {
    for (auto& e : visited[k]->next) {
      if (!e.fn) continue;
      ++e.fn->pending_;
      if (!e.fn->visited_) { e.fn->visited_ = true; visited.push_back(e.fn.get()); }
    }
  }

  auto accumulate = [](Node* n, uint32_t nr, Tensor&& g) {
    auto& buf = n->grad_buffer_;
    if (buf.size() <= nr) buf.resize(std::max<size_t>(n->num_outputs, nr + 1));
    buf[nr] = buf[nr].defined() ? buf[nr] + g : std::move(g);
  };
  std::vector<std::shared_ptr<Node>> ready;
  for (size_t i = 0; i < roots.size(); ++i) accumulate(roots[i].fn.get(), roots[i].input_nr, Tensor(root_grads[i]));
  for (auto& e : roots)
    if (e.fn->pending_ == 0) {
      bool dup = false;
      for (auto& r : ready) dup |= r == e.fn;
      if (!dup) ready.push_back(e.fn);
    }

  std::vector<Tensor> captured(captures ? captures->size() : 0);
  GradModeGuard mode(create_graph);
  while (!ready.empty()) {
    std::shared_ptr<Node> node = std::move(ready.back());
    ready.pop_back();
    autograd::Grads grads = std::move(node->grad_buffer_);
    node->grad_buffer_.clear();
    if (grads.size() < node->num_outputs) grads.resize(node->num_outputs);
    bool is_acc = node->is_accumulator();
    if (is_acc || node->output_hooks_) node->run_tensor_hooks(grads);  // tensor gradient hooks
    if (captures)
      for (size_t c = 0; c < captures->size(); ++c)
        if ((*captures)[c].node == node.get() && (*captures)[c].input_nr < grads.size())
          captured[c] = grads[(*captures)[c].input_nr];
    if (!captures)  // retain_grad(): the non-leaf outputs of this node keep their gradient
      for (auto& [nr, m] : node->retained_)
        if (nr < grads.size() && grads[nr].defined()) {
          const Tensor& g = grads[nr];
          if (!m->grad.defined()) m->grad = create_graph ? g : g.detach().clone();
          else m->grad = create_graph ? m->grad + g : (m->grad + g.detach()).detach();
        }
    bool any = false;
    for (auto& g : grads) any |= g.defined();
    autograd::Grads in_grads;
    if (any && !(captures && is_acc)) {
      in_grads = node->apply(grads);
      if (is_anomaly_enabled())
        for (size_t i = 0; i < in_grads.size(); ++i)
          if (in_grads[i].defined() && has_non_finite(in_grads[i]))
            throw AutogradError(str_cat("anomaly: function '", node->name(), "' returned nan or inf values in its ",
                                        i, "th output (gradient for input ", i, ")\nThe forward op was recorded at:\n",
                                        node->anomaly_trace.empty() ? "  (recorded before anomaly mode was on)\n" : node->anomaly_trace));
    }
    if (!retain_graph) node->release();
    for (size_t i = 0; i < node->next.size(); ++i) {
      const Edge& e = node->next[i];
      if (!e.fn) continue;
      if (i < in_grads.size() && in_grads[i].defined()) {
        Tensor g = std::move(in_grads[i]);
        if (g.shape() != e.shape) g = sum_to(g, e.shape);
        if (g.dtype() != e.dtype) g = g.astype(e.dtype);
        accumulate(e.fn.get(), e.input_nr, std::move(g));
      }
      if (--e.fn->pending_ == 0) ready.push_back(e.fn);
    }
  }
  return captured;
}

}  // namespace

bool autograd::sole_owner(const Tensor& t) {
  const TensorImpl* impl = t.impl();
  if (!impl || impl->refcount_.load(std::memory_order_acquire) != 1 || impl->autograd) return false;
  const Storage* st = impl->storage.get();
  if (!st || !st->owned || st->refcount_.load(std::memory_order_acquire) != 1) return false;
  return impl->offset == 0 && t.is_contiguous() && st->nbytes == size_t(t.numel()) * dtype_size(t.dtype());
}

void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs,
              bool retain_graph, bool create_graph) {
  run(outputs, grad_outputs, retain_graph || create_graph, create_graph, nullptr, "backward");
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph,
                         bool create_graph, bool allow_unused) {
  std::vector<Capture> caps;
  std::vector<std::shared_ptr<Node>> keep;
  for (const Tensor& x : inputs) {
    detail::check_defined("grad", x);
    if (!x.requires_grad()) fail("grad: an input (shape ", x.shape(), ") does not require grad");
    if (auto fn = x.grad_fn_node()) {
      caps.push_back({fn.get(), x.impl()->autograd->output_nr});
    } else {
      // Leaves: capture at their accumulator (created if needed and kept alive here).
      auto acc = autograd::leaf_accumulator(x);
      keep.push_back(acc);
      caps.push_back({acc.get(), 0});
    }
  }
  std::vector<Tensor> res = run(outputs, grad_outputs, retain_graph || create_graph, create_graph, &caps, "grad");
  for (size_t i = 0; i < res.size(); ++i) {
    if (!res[i].defined() && !allow_unused)
      fail("grad: input ", i, " (shape ", inputs[i].shape(), ") was not used in computing the outputs; "
           "pass allow_unused=true to get an undefined gradient instead");
    if (res[i].defined() && res[i].shape() != inputs[i].shape()) res[i] = sum_to(res[i], inputs[i].shape());
  }
  return res;
}

}  // namespace tapeflow
