// The tape's node: one per recorded op. It holds edges to the nodes of its inputs and a
// backward closure that maps output gradients to input gradients using public Tensor ops (so
// with create_graph the backward is itself recorded and higher-order gradients work).
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/hooks.h"
#include "base/small_alloc.h"
#include "tensor/tensor.h"

namespace tapeflow::autograd {

struct Node;
struct Edge;

// Debug statistic: how many graph nodes are alive right now (leak tests).
int64_t live_node_count();

// Makes `fn` (output `output_nr`) the grad_fn of the tensor owning `m`, moving a retain_grad()
// registration along (in-place ops and recorded writes replace a tensor's grad_fn).
void set_grad_fn(AutogradMeta& m, std::shared_ptr<Node> fn, uint32_t output_nr);

// True when nothing but `t` itself can see its data: one reference to its tensor and to its
// storage (no view, alias or saved copy), owned storage of exactly its size, contiguous from
// offset 0, no autograd history. Such a gradient can become a leaf's .grad() without a copy.
bool sole_owner(const Tensor& t);

// Per-node vectors live in the small-block cache (base/small_alloc.h): one op records a node,
// its edges and, in backward, its gradient vectors.
using Grads = std::vector<Tensor, detail::SmallAllocator<Tensor>>;
using Edges = std::vector<Edge, detail::SmallAllocator<Edge>>;

// Where a gradient flows: input `input_nr` of node `fn`. `shape`/`dtype` describe the tensor
// that was the op's input, so the engine can sum a broadcast gradient back to it.
struct Edge {
  std::shared_ptr<Node> fn;
  uint32_t input_nr = 0;
  Shape shape;
  DType dtype = kFloat32;
  bool valid() const { return fn != nullptr; }
};

// A tensor saved for backward. Records the storage version at save time; unpacking after an
// in-place change throws. Outputs are saved without their grad_fn (no reference cycle) and
// reattached to the owning node when unpacked.
class SavedTensor {
 public:
  SavedTensor() = default;
  SavedTensor(const Tensor& t, bool is_output);
  Tensor unpack(Node& owner) const;
  bool defined() const { return data_.defined(); }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool is_output_ = false;
  uint32_t output_nr_ = 0;
  bool requires_grad_ = false;
};

// Tensor gradient hooks (Tensor::register_hook): fn(grad) may return a replacement gradient.
using GradHookFn = std::function<std::optional<Tensor>(const Tensor&)>;
// Leaves: fn(param) once the gradient of this backward has been added into param.grad().
using PostAccumulateGradHookFn = std::function<void(const Tensor&)>;
struct OutputHook {  // a hook on output `output_nr` of a node (non-leaf tensors)
  uint32_t output_nr = 0;
  GradHookFn fn;
};

struct AutogradMeta {
  bool requires_grad = false;  // leaves only; non-leaves require grad through grad_fn
  bool retains_grad = false;
  Tensor grad;
  std::shared_ptr<Node> grad_fn;
  uint32_t output_nr = 0;
  std::weak_ptr<Node> grad_accumulator;  // leaves: the AccumulateGrad node, created lazily
  AutogradMeta() = default;
  AutogradMeta(const AutogradMeta&) = delete;
  AutogradMeta& operator=(const AutogradMeta&) = delete;
  ~AutogradMeta();  // unregisters a retained grad from its grad_fn
  std::shared_ptr<HookList<GradHookFn>> grad_hooks;                      // leaves only
  std::shared_ptr<HookList<PostAccumulateGradHookFn>> post_accumulate_hooks;  // leaves only
  TAPEFLOW_SMALL_ALLOC_OPERATORS
};

struct Node : std::enable_shared_from_this<Node> {
  Edges next;                 // one per differentiable input of the forward op
  uint64_t sequence_nr = 0;   // creation order (later nodes run first on ties)
  uint32_t num_outputs = 1;   // how many outputs of the forward op this node covers
  std::string anomaly_trace;  // where the forward op was recorded (anomaly mode only)

  // Scratch state of the backward pass that is walking this node (engine.cpp). NOTE: one
  // backward at a time may walk a given graph; independent graphs run concurrently.
  int pending_ = 0;
  bool visited_ = false;
  Grads grad_buffer_;
  // Non-leaf tensors that called retain_grad(): (output_nr, their metadata). Not owning (no
  // cycle): a tensor's metadata unregisters itself when it dies or gets a new grad_fn.
  std::vector<std::pair<uint32_t, AutogradMeta*>> retained_;
  // Gradient hooks of the non-leaf tensors this node produced (null until one is registered).
  std::shared_ptr<HookList<OutputHook>> output_hooks_;

  Node();
  virtual ~Node();
  virtual const char* name() const = 0;
  // grads: one per forward output (undefined when no gradient flowed). Returns one per edge.
  virtual Grads apply(Grads& grads) = 0;
  virtual void release() {}  // frees saved tensors after a backward without retain_graph
  virtual bool released() const { return false; }
  virtual bool is_accumulator() const { return false; }
  // Runs the tensor gradient hooks on the gradients arriving at this node (before apply, and
  // before functional grad() captures them); a returned gradient replaces the arriving one.
  virtual void run_tensor_hooks(Grads& grads);
};

}  // namespace tapeflow::autograd
