// Custom differentiable functions written in user code (PyTorch's torch::autograd::Function):
//
//   struct Square : tf::autograd::Function<Square> {
//     static tf::Tensor forward(tf::autograd::AutogradContext* ctx, const tf::Tensor& x) {
//       ctx->save_for_backward({x});
//       return x * x;
//     }
//     static std::vector<tf::Tensor> backward(tf::autograd::AutogradContext* ctx,
//                                             const std::vector<tf::Tensor>& grad_outputs) {
//       tf::Tensor x = ctx->get_saved_variables()[0];
//       return {grad_outputs[0] * 2.0 * x};
//     }
//   };
//   tf::Tensor y = Square::apply(x);
//
// forward runs without recording (under NoGradGuard) and takes the context first, then any
// arguments: every Tensor argument is an input of the function, in order; other arguments
// (numbers, flags) are passed through. It returns a Tensor or a std::vector<Tensor>.
// backward gets one gradient per output (zeros for outputs no gradient reached) and returns one
// gradient per Tensor input, in order (an undefined Tensor for "no gradient"); each must have
// its input's shape. backward is written with tensor ops, so under create_graph it is itself
// recorded: gradients of gradients work when it uses the saved inputs.
#pragma once
#include <any>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "autograd/grad_mode.h"
#include "tensor/tensor.h"

namespace tapeflow::autograd {

class AutogradContext {
 public:
  // Tensors backward needs (inputs or outputs of forward). Reading them after an in-place
  // change throws, as for built-in ops.
  void save_for_backward(std::vector<Tensor> tensors);
  std::vector<Tensor> get_saved_variables() const;
  std::vector<Tensor> saved_tensors() const { return get_saved_variables(); }
  // Whether input i (counting Tensor arguments only) needs a gradient; backward may skip the
  // others (return an undefined Tensor).
  bool needs_input_grad(size_t i) const { return i < needs_input_grad_.size() && needs_input_grad_[i]; }
  // Outputs that have no gradient (indices, masks): they do not require grad.
  void mark_non_differentiable(const std::vector<Tensor>& outputs);
  // Anything else backward needs (numbers, shapes): ctx->saved_data["alpha"] = 0.5;
  std::map<std::string, std::any> saved_data;

  // ---- used by Function<T>::apply ----
  struct Saved {
    Tensor data;
    uint32_t version = 0;
    int output_nr = -1;  // >= 0: an output of this function (kept without its grad_fn)
  };
  std::vector<Saved> saved_;
  std::vector<bool> needs_input_grad_;
  std::vector<Tensor> non_differentiable_;
  void* node_ = nullptr;  // the recording node (custom_function.cpp) or null
  std::shared_ptr<void> pending_node_;
};

namespace function_detail {

using CustomBackward = std::function<std::vector<Tensor>(AutogradContext*, std::vector<Tensor>)>;

// Creates the context (and, when an input requires grad in grad mode, the node that will own it).
std::shared_ptr<AutogradContext> custom_begin(const char* type_name, const std::vector<Tensor>& inputs,
                                              CustomBackward backward);
// Connects the outputs to the node (outputs may be replaced by handles of their own when they
// alias an input); no-op when nothing is recorded.
void custom_finish(const std::shared_ptr<AutogradContext>& ctx, const std::vector<Tensor>& inputs,
                   std::vector<Tensor>& outputs);

inline void collect_tensor(std::vector<Tensor>& out, const Tensor& t) { out.push_back(t); }
template <class T>
void collect_tensor(std::vector<Tensor>&, const T&) {}

template <class R>
std::vector<Tensor> to_grads(R&& r) {
  if constexpr (std::is_convertible_v<R, Tensor>) return {Tensor(std::forward<R>(r))};
  else return std::vector<Tensor>(std::forward<R>(r));
}

}  // namespace function_detail

// CRTP base: T defines static forward(AutogradContext*, ...) and static backward(AutogradContext*,
// grad_outputs); call T::apply(args...).
template <class T>
struct Function {
  template <class... Args>
  static auto apply(Args&&... args) {
    using R = std::decay_t<decltype(T::forward(static_cast<AutogradContext*>(nullptr), std::forward<Args>(args)...))>;
    static_assert(std::is_same_v<R, Tensor> || std::is_same_v<R, std::vector<Tensor>>,
                  "autograd::Function: forward must return a Tensor or a std::vector<Tensor>");
    std::vector<Tensor> inputs;
    (function_detail::collect_tensor(inputs, args), ...);
    auto ctx = function_detail::custom_begin(typeid(T).name(), inputs, [](AutogradContext* c, std::vector<Tensor> g) {
      return function_detail::to_grads(T::backward(c, std::move(g)));
    });
    std::vector<Tensor> outs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<R, Tensor>) outs.push_back(T::forward(ctx.get(), std::forward<Args>(args)...));
      else outs = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    function_detail::custom_finish(ctx, inputs, outs);
    if constexpr (std::is_same_v<R, Tensor>) return outs[0];
    else return outs;
  }
};

}  // namespace tapeflow::autograd
