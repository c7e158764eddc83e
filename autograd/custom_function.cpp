// Custom functions (autograd/custom_function.h): the node that calls the user's backward, and
// the context's saved tensors.
#include "autograd/custom_function.h"

#include <cxxabi.h>

#include <cstdlib>

#include "autograd/function.h"
#include "tensor/creation.h"

namespace tapeflow::autograd {

namespace {

std::string short_name(const char* mangled) {
  int status = 0;
  char* dem = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string s = status == 0 && dem ? dem : mangled;
  std::free(dem);
  size_t lt = s.find('<');
  size_t cut = s.rfind("::", lt == std::string::npos ? std::string::npos : lt);
  return cut == std::string::npos ? s : s.substr(cut + 2);
}

struct CustomNode final : Node {
  std::string name_;
  std::shared_ptr<AutogradContext> ctx;
  function_detail::CustomBackward backward;
  std::vector<Shape> out_shapes;
  std::vector<DType> out_dtypes;
  std::vector<Device> out_devices;
  size_t num_inputs = 0;

  const char* name() const override { return name_.c_str(); }
  Grads apply(Grads& grads) override {
    if (!ctx)
      throw AutogradError(str_cat("backward: trying to backward through the graph a second time (", name_,
                                  "'s saved tensors were freed after the first backward); pass retain_graph=true "
                                  "to the first backward if you need to backward twice"));
    std::vector<Tensor> g(out_shapes.size());
    for (size_t k = 0; k < g.size(); ++k)
      g[k] = k < grads.size() && grads[k].defined() ? grads[k]
                                                    : zeros(out_shapes[k], Options(out_dtypes[k], out_devices[k]));
    std::vector<Tensor> res = backward(ctx.get(), std::move(g));
    if (res.size() != num_inputs)
      fail(name_, ": backward returned ", res.size(), " gradients, expected ", num_inputs,
           " (one per Tensor input of forward; an undefined Tensor for no gradient)");
    Grads out(next.size());
    for (size_t i = 0; i < res.size(); ++i) {
      if (!res[i].defined() || !next[i].valid()) continue;
      if (res[i].shape() != next[i].shape)
        fail(name_, ": backward returned a gradient of shape ", res[i].shape(), " for input ", i, " of shape ",
             next[i].shape);
      out[i] = std::move(res[i]);
    }
    return out;
  }
  void release() override { ctx.reset(); }
  bool released() const override { return !ctx; }
};

}  // namespace

void AutogradContext::save_for_backward(std::vector<Tensor> tensors) {
  saved_.clear();
  for (auto& t : tensors) saved_.push_back({t, t.defined() ? t.version() : 0u, -1});
}

std::vector<Tensor> AutogradContext::get_saved_variables() const {
  std::vector<Tensor> out;
  for (const Saved& s : saved_) {
    if (!s.data.defined()) {
      out.push_back(s.data);
      continue;
    }
    if (s.data.version() != s.version)
      throw AutogradError(str_cat(
          "backward of a custom function: a variable needed for gradient computation has been modified by an "
          "inplace operation: a tensor of shape ", s.data.shape(), " and dtype ", s.data.dtype(), " is at version ",
          s.data.version(), "; expected version ", s.version));
    if (s.output_nr >= 0 && node_ && is_grad_enabled())
      out.push_back(reattach_output(s.data, *static_cast<Node*>(node_), (uint32_t)s.output_nr));
    else
      out.push_back(s.data);
  }
  return out;
}

void AutogradContext::mark_non_differentiable(const std::vector<Tensor>& outputs) {
  for (auto& t : outputs) non_differentiable_.push_back(t);
}

namespace function_detail {

std::shared_ptr<AutogradContext> custom_begin(const char* type_name, const std::vector<Tensor>& inputs,
                                              CustomBackward backward) {
  auto ctx = std::make_shared<AutogradContext>();
  bool record = should_record(inputs);
  for (auto& t : inputs) ctx->needs_input_grad_.push_back(record && t.defined() && t.requires_grad());
  if (record) {
    auto node = std::make_shared<CustomNode>();
    node->name_ = short_name(type_name) + "Backward";
    node->backward = std::move(backward);
    node->num_inputs = inputs.size();
    ctx->node_ = node.get();
    // Owned by the context until custom_finish hands it to the outputs (and gives it the
    // context): if forward throws, both are freed.
    ctx->pending_node_ = node;
  }
  return ctx;
}

void custom_finish(const std::shared_ptr<AutogradContext>& ctx, const std::vector<Tensor>& inputs,
                   std::vector<Tensor>& outputs) {
  std::shared_ptr<Node> holder = std::static_pointer_cast<Node>(ctx->pending_node_);
  ctx->pending_node_.reset();
  std::string name = holder ? holder->name() : "custom function";
  for (size_t k = 0; k < outputs.size(); ++k)
    if (!outputs[k].defined()) fail(name, ": forward returned an undefined tensor as output ", k);
  if (!holder) {
    ctx->non_differentiable_.clear();
    return;
  }
  auto* node = static_cast<CustomNode*>(holder.get());
  std::vector<Tensor*> attach_to(outputs.size(), nullptr);
  for (size_t k = 0; k < outputs.size(); ++k) {
    Tensor original = outputs[k];
    bool non_diff = !is_floating(original.dtype());
    for (auto& t : ctx->non_differentiable_) non_diff |= t.defined() && t.is_same(original);
    // Saved outputs are kept without their grad_fn (no reference cycle) and reattached on use.
    for (auto& s : ctx->saved_) {
      if (s.data.defined() && s.output_nr < 0 && s.data.is_same(original)) {
        bool is_input = false;
        for (auto& in : inputs) is_input |= in.defined() && in.is_same(original);
        if (!is_input) {
          s.data = original.detach();
          s.output_nr = (int)k;
        }
      }
    }
    // An output that is an input (or otherwise takes part in autograd) gets a handle of its own.
    if (original.impl()->autograd) outputs[k] = original.detach();
    node->out_shapes.push_back(outputs[k].shape());
    node->out_dtypes.push_back(outputs[k].dtype());
    node->out_devices.push_back(outputs[k].device());
    if (!non_diff) attach_to[k] = &outputs[k];
  }
  ctx->non_differentiable_.clear();
  node->ctx = ctx;
  attach_outputs(holder, inputs, attach_to);
}

}  // namespace function_detail
}  // namespace tapeflow::autograd
