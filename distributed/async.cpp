// PendingReduce: a non-blocking all-reduce of one contiguous buffer (DataParallel's buckets
// start one as soon as their gradients are ready, so communication overlaps backward).

#include "autograd/grad_mode.h"
#include "base/error.h"
#include "distributed/internal.h"
#include "distributed/mpi_wait.h"

namespace tapeflow::distributed {

struct PendingReduce::State {
  MPI_Request req = MPI_REQUEST_NULL;
  Tensor buf;
  ReduceOp op = ReduceOp::Sum;
  bool done = false;
  void finish() {
    done = true;
    if (op == ReduceOp::Mean) {
      NoGradGuard no_grad;
      buf.div_((double)world_size());
    }
  }
};

PendingReduce::PendingReduce(PendingReduce&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
PendingReduce& PendingReduce::operator=(PendingReduce&& o) noexcept {
  if (this != &o) {
    if (state_) { try { wait(); } catch (...) {} delete state_; }
    state_ = o.state_;
    o.state_ = nullptr;
  }
  return *this;
}
PendingReduce::~PendingReduce() {
  // MPI still writes into the buffer until the request completes: never free it earlier.
  if (state_) { try { wait(); } catch (...) {} delete state_; }
}

bool PendingReduce::test() {
  if (!state_) return true;
  if (!state_->done && detail::test_request(&state_->req, "all_reduce_async")) state_->finish();
  return state_->done;
}

void PendingReduce::wait() {
  if (!state_ || state_->done) return;
  detail::wait_request(&state_->req, "all_reduce_async");
  state_->finish();
}

PendingReduce all_reduce_async(Tensor& t, ReduceOp op) {
  if (!t.defined()) fail("distributed::all_reduce_async: got an undefined tensor");
  detail::check_initialized("all_reduce_async");
  detail::require_float_for_mean("all_reduce_async", t, op);
  if (!t.is_contiguous()) fail("distributed::all_reduce_async: the buffer must be contiguous, got strides ", t.strides());
  if (t.numel() > (int64_t)INT32_MAX) fail("distributed::all_reduce_async: ", t.numel(), " elements exceed MPI's int count");
  PendingReduce p;
  p.state_ = new PendingReduce::State;
  p.state_->buf = t;
  p.state_->op = op;
  if (world_size() == 1) {
    p.state_->finish();
  } else if (t.device().is_cuda()) {
    detail::nccl_all_reduce(t, op);  // NCCL runs on its own stream; waited for here
    p.state_->finish();
  } else {
    MPI_Datatype type = t.dtype() == kFloat32 ? MPI_FLOAT : t.dtype() == kFloat64 ? MPI_DOUBLE : MPI_DATATYPE_NULL;
    if (type == MPI_DATATYPE_NULL) fail("distributed::all_reduce_async: float32 or float64 only, got ", t.dtype());
    detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, t.raw_data(), (int)t.numel(), type,
                                     op == ReduceOp::Max ? MPI_MAX : MPI_SUM, MPI_COMM_WORLD, &p.state_->req),
                      "all_reduce_async");
  }
  return p;
}

}  // namespace tapeflow::distributed
