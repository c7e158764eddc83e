// Op tracing: the per-thread tracer behind autograd/trace.h.
#include "autograd/trace.h"

#include "base/tls.h"

namespace tapeflow::autograd {

namespace {
TAPEFLOW_TLS_FAST thread_local Tracer* t_tracer = nullptr;

void dispatch(TraceOp op) {
  Tracer* t = t_tracer;
  t_tracer = nullptr;  // ops run by the tracer itself are not traced
  try {
    t->on_op(std::move(op));
  } catch (...) {
    t_tracer = t;
    throw;
  }
  t_tracer = t;
}
}  // namespace

const TraceAttr* TraceOp::attr(const std::string& name) const {
  for (const auto& a : attrs)
    if (a.name == name) return &a;
  return nullptr;
}

TraceGuard::TraceGuard(Tracer* t) : prev_(t_tracer) { t_tracer = t; }
TraceGuard::~TraceGuard() { t_tracer = prev_; }

bool tracing() { return t_tracer != nullptr; }

void trace(const char* op, std::initializer_list<Tensor> inputs, const Tensor& output,
           std::vector<TraceAttr> attrs) {
  if (!t_tracer) return;
  dispatch(TraceOp{op, std::vector<Tensor>(inputs), output, std::move(attrs)});
}

void trace(const char* op, const std::vector<Tensor>& inputs, const Tensor& output,
           std::vector<TraceAttr> attrs) {
  if (!t_tracer) return;
  dispatch(TraceOp{op, inputs, output, std::move(attrs)});
}

}  // namespace tapeflow::autograd
