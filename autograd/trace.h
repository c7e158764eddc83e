// Op tracing (for exporters such as onnx/export.cpp): while a Tracer is installed on a thread,
// every traceable op run on that thread reports itself once its output exists: its name, its
// inputs, its output and its attributes (axes, shapes, scalars). Composite functions (e.g. the
// LeakyRelu activation) may report themselves too, after their parts: a consumer keeps the last
// report for an output, so the composite replaces its parts.
// Traced ops: the element-wise ops (unary, binary, comparisons, where, clamp, pow), astype,
// clone/contiguous, matmul, addmm, reshape/view/flatten, permute/transpose, squeeze, unsqueeze,
// concat, the sum/prod/max/min/mean reductions, softmax and log_softmax.
// Sequence ops: expand, embedding, layer_norm; composites: trilu (tril / triu), einsum (the
// equation as character codes), rnn (SimpleRNN / LSTM / GRU layers, one report per output) and
// bidirectional (their steps are run with tracing off).
// Conv family (one report each, their parts untraced): conv1d/conv2d ("conv"), conv_transpose
// ("conv_transpose"), max/avg pooling ("max_pool", "avg_pool"), pad, batch_norm.
// The hook costs one function call per op when no tracer is installed.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::autograd {

struct TraceAttr {
  std::string name;
  std::vector<int64_t> ints;  // an int (one element) or a list of ints
  double f = 0;               // a float attribute
};

struct TraceOp {
  std::string op;  // the tapeflow op ("add", "unary.exp", "matmul", ...) or a composite ("LeakyRelu")
  std::vector<Tensor> inputs;
  Tensor output;
  std::vector<TraceAttr> attrs;
  const TraceAttr* attr(const std::string& name) const;
};

class Tracer {
 public:
  virtual ~Tracer() = default;
  virtual void on_op(TraceOp op) = 0;  // called with the thread's tracer uninstalled
};

// Installs a tracer on this thread for its lifetime (restoring the previous one after).
class TraceGuard {
 public:
  explicit TraceGuard(Tracer* t);
  ~TraceGuard();
  TraceGuard(const TraceGuard&) = delete;
  TraceGuard& operator=(const TraceGuard&) = delete;

 private:
  Tracer* prev_;
};

bool tracing();  // a tracer is installed on this thread
// Reports an op to this thread's tracer (no-op without one).
void trace(const char* op, std::initializer_list<Tensor> inputs, const Tensor& output,
           std::vector<TraceAttr> attrs = {});
void trace(const char* op, const std::vector<Tensor>& inputs, const Tensor& output,
           std::vector<TraceAttr> attrs = {});

}  // namespace tapeflow::autograd
