// tapeflow::distributed: data-parallel training across processes. CPU tensors travel through
// MPI (Open MPI, MPICH, ... started by mpirun / srun / any MPI launcher), CUDA tensors through
// NCCL (one communicator per device, bootstrapped over MPI). tapeflow calls the engines'
// collectives; it has no transport of its own.
//
//   tf::distributed::init();                       // reads the launcher's environment
//   int r = tf::distributed::rank(), n = tf::distributed::world_size();
//   tf::distributed::all_reduce(t, tf::distributed::ReduceOp::Mean);   // in place
//
// Every collective first checks that all ranks passed the same dtype and shape (where the
// engine cannot) and throws on every rank with a message naming the ranks and their shapes,
// instead of hanging or corrupting memory. A collective that waits longer than timeout_seconds()
// (TAPEFLOW_DISTRIBUTED_TIMEOUT, default 300 s) for the other ranks (one died or stopped
// calling) prints what it waited for and aborts the whole job (MPI_Abort): it never hangs forever.
// Use collectives from one thread per process (the training thread).
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow::distributed {

enum class ReduceOp { Sum, Mean, Max };

bool is_built();        // compiled with MPI (Meson option `distributed`)
bool nccl_is_built();   // compiled with NCCL (CUDA tensors)
// True when the process was started by an MPI launcher (its environment says so).
bool launched();
// Initialises MPI from the launcher's environment (idempotent). Throws "built without MPI" in
// a build without it, and a message naming mpirun when no launcher started the process and
// require_launcher is true. Without a launcher and require_launcher false, it is a world of 1.
void init(bool require_launcher = true);
bool is_initialized();
void finalize();  // also runs at exit; collectives after it throw

int rank();         // 0 when not initialized
int world_size();   // 1 when not initialized
int local_rank();   // rank among the processes of this host (which GPU to use)
std::string processor_name();

// In place on t (any shape; a non-contiguous t is reduced through a contiguous copy).
void all_reduce(Tensor& t, ReduceOp op = ReduceOp::Sum);
// Root's values into t on every rank.
void broadcast(Tensor& t, int root = 0);
// Every rank's t stacked along a new first axis: shape (world_size, *t.shape).
Tensor all_gather(const Tensor& t);
// t's first axis (divisible by world_size) split in world_size blocks; rank r gets the
// reduction over ranks of block r.
Tensor reduce_scatter(const Tensor& t, ReduceOp op = ReduceOp::Sum);
void barrier();

double timeout_seconds();
void set_timeout_seconds(double s);  // > 0

// Non-blocking all-reduce of one contiguous buffer (what DataParallel's buckets use). The
// buffer must stay alive and untouched until wait() returns. Shapes are the caller's business.
class PendingReduce {
 public:
  PendingReduce() = default;
  PendingReduce(PendingReduce&&) noexcept;
  PendingReduce& operator=(PendingReduce&&) noexcept;
  PendingReduce(const PendingReduce&) = delete;
  PendingReduce& operator=(const PendingReduce&) = delete;
  ~PendingReduce();
  bool active() const { return state_ != nullptr; }
  bool test();  // makes progress; true when done
  void wait();  // blocks (bounded by timeout_seconds()); divides for Mean
 private:
  friend PendingReduce all_reduce_async(Tensor& contiguous, ReduceOp op);
  struct State;
  State* state_ = nullptr;
};
PendingReduce all_reduce_async(Tensor& contiguous, ReduceOp op = ReduceOp::Sum);

}  // namespace tapeflow::distributed
