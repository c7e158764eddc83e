// Internal: how an op records itself on the tape. An op computes its forward, then, when
//   if (should_record({&a, &b})) record("MulBackward", {&a, &b}, out, [sa = save(a), ...](Node& n, Grads& g) {...});
// the closure maps the output gradient to one gradient per input using public ops, so the
// backward is itself recorded under create_graph.
#pragma once
#include <initializer_list>
#include <memory>
#include <optional>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "base/error.h"

namespace tapeflow::autograd {

bool should_record(std::initializer_list<const Tensor*> inputs);
bool should_record(const std::vector<Tensor>& inputs);
inline SavedTensor save(const Tensor& t) { return SavedTensor(t, false); }
inline SavedTensor save_output(const Tensor& t) { return SavedTensor(t, true); }

template <class F>
struct FnNode final : Node {
  const char* name_;
  std::optional<F> fn_;
  FnNode(const char* n, F&& f) : name_(n), fn_(std::move(f)) {}
  const char* name() const override { return name_; }
  Grads apply(Grads& grads) override {
    if (!fn_)
      throw AutogradError(str_cat(
          "backward: trying to backward through the graph a second time (", name_,
          "'s saved tensors were freed after the first backward); pass retain_graph=true to the "
          "first backward if you need to backward twice"));
    return (*fn_)(static_cast<Node&>(*this), grads);
  }
  void release() override { fn_.reset(); }
  bool released() const override { return !fn_; }
};

// Connects `node` to the inputs (edges) and makes it the grad_fn of `out`.
void attach(const std::shared_ptr<Node>& node, const Tensor* const* inputs, size_t n, Tensor& out);

template <class F>
void record(const char* name, std::initializer_list<const Tensor*> inputs, Tensor& out, F&& fn) {
  auto node = std::allocate_shared<FnNode<std::decay_t<F>>>(
      detail::SmallAllocator<FnNode<std::decay_t<F>>>(), name, std::forward<F>(fn));
  attach(node, inputs.begin(), inputs.size(), out);
}
template <class F>
void record(const char* name, const std::vector<const Tensor*>& inputs, Tensor& out, F&& fn) {
  auto node = std::allocate_shared<FnNode<std::decay_t<F>>>(
      detail::SmallAllocator<FnNode<std::decay_t<F>>>(), name, std::forward<F>(fn));
  attach(node, inputs.data(), inputs.size(), out);
}

// Lets the once-per-process warnings (backward with create_graph into a leaf) fire again (tests).
void reset_warnings();

// The autograd metadata of t, created on first use.
AutogradMeta& meta(const Tensor& t);
// Multi-output form of attach: node covers outputs.size() outputs; a null entry is an output
// without a gradient (it stays unattached).
void attach_outputs(const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs,
                    const std::vector<Tensor*>& outputs);
// A handle of `data` whose grad_fn is output `output_nr` of `owner` (saved outputs under create_graph).
Tensor reattach_output(const Tensor& data, Node& owner, uint32_t output_nr);

// The gradient sink of a leaf that requires grad (created on first use).
std::shared_ptr<Node> leaf_accumulator(const Tensor& leaf);

// The gradient for an input whose edge is empty (not requiring grad): skip computing it.
inline bool needs_input_grad(const Node& n, size_t i) { return i < n.next.size() && n.next[i].valid(); }

}  // namespace tapeflow::autograd
