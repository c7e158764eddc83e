// Collectives on CUDA tensors through NCCL: one communicator per device, bootstrapped over MPI
// (rank 0 makes the unique id, MPI broadcasts it). Each call first waits for tapeflow's work
// on the device (cuda::synchronize), runs NCCL on a stream of its own and waits for it with
// the same bounded wait as MPI (a dead peer aborts the job instead of hanging it).
#include <cuda_runtime.h>
#include <nccl.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <thread>

#include "base/cuda.h"
#include "base/error.h"
#include "distributed/internal.h"
#include "distributed/mpi_wait.h"

namespace tapeflow::distributed {
bool nccl_is_built() { return true; }
namespace detail {
namespace {

struct Comm {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
};
std::map<int, Comm> g_comms;  // by device index; collectives run on one thread per process

void check_nccl(ncclResult_t r, const char* what) {
  if (r != ncclSuccess) fail("distributed::", what, ": NCCL error on rank ", rank(), ": ", ncclGetErrorString(r));
}
void check_cuda(cudaError_t e, const char* what) {
  if (e != cudaSuccess) fail("distributed::", what, ": CUDA error on rank ", rank(), ": ", cudaGetErrorString(e));
}

Comm& comm_for(int device, const char* what) {
  auto it = g_comms.find(device);
  if (it != g_comms.end()) return it->second;
  ncclUniqueId id;
  if (rank() == 0) check_nccl(ncclGetUniqueId(&id), what);
  MPI_Request req;
  check_mpi(MPI_Ibcast(&id, sizeof(id), MPI_BYTE, 0, MPI_COMM_WORLD, &req), what);
  wait_request(&req, what);
  Comm c;
  check_cuda(cudaSetDevice(device), what);
  check_cuda(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking), what);
  check_nccl(ncclCommInitRank(&c.comm, world_size(), id, rank()), what);
  return g_comms.emplace(device, c).first->second;
}

ncclDataType_t nccl_type(DType t, const char* what) {
  switch (t) {
    case kFloat32: return ncclFloat32;
    case kFloat64: return ncclFloat64;
    case kInt32: return ncclInt32;
    case kInt64: return ncclInt64;
    case kUInt8: case kBool: return ncclUint8;
  }
  fail("distributed::", what, ": unsupported dtype ", t);
}
ncclRedOp_t nccl_op(ReduceOp op, DType t, const char* what) {
  if (t == kBool && op != ReduceOp::Max) fail("distributed::", what, ": a bool tensor can only be reduced with Max");
  return op == ReduceOp::Max ? ncclMax : ncclSum;
}

// Waits for the stream within timeout_seconds(); past it, aborts the communicator and the job.
void wait_stream(Comm& c, const char* what) {
  auto start = std::chrono::steady_clock::now();
  double limit = timeout_seconds();
  for (long spins = 0;; ++spins) {
    cudaError_t e = cudaStreamQuery(c.stream);
    if (e == cudaSuccess) return;
    if (e != cudaErrorNotReady) check_cuda(e, what);
    if (spins > 1000) std::this_thread::sleep_for(std::chrono::microseconds(100));
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() > limit) {
      std::fprintf(stderr, "tapeflow::distributed: rank %d waited %.0f s in %s (NCCL) for the other ranks; aborting\n",
                   rank(), limit, what);
      ncclCommAbort(c.comm);
      MPI_Abort(MPI_COMM_WORLD, 3);
    }
  }
}

Comm& prepare(const Tensor& t, const char* what) {
  int device = t.device().index;
  cuda::synchronize(device);  // tapeflow's kernels that produced t have finished
  Comm& c = comm_for(device, what);
  check_cuda(cudaSetDevice(device), what);
  return c;
}

}  // namespace

void nccl_all_reduce(Tensor& t, ReduceOp op) {
  Comm& c = prepare(t, "all_reduce");
  check_nccl(ncclAllReduce(t.raw_data(), t.raw_data(), (size_t)t.numel(), nccl_type(t.dtype(), "all_reduce"),
                           nccl_op(op, t.dtype(), "all_reduce"), c.comm, c.stream), "all_reduce");
  wait_stream(c, "all_reduce");
}

void nccl_broadcast(Tensor& t, int root) {
  Comm& c = prepare(t, "broadcast");
  check_nccl(ncclBroadcast(t.raw_data(), t.raw_data(), (size_t)t.numel(), nccl_type(t.dtype(), "broadcast"), root,
                           c.comm, c.stream), "broadcast");
  wait_stream(c, "broadcast");
}

void nccl_all_gather(const Tensor& t, Tensor& out) {
  Comm& c = prepare(t, "all_gather");
  check_nccl(ncclAllGather(t.raw_data(), out.raw_data(), (size_t)t.numel(), nccl_type(t.dtype(), "all_gather"),
                           c.comm, c.stream), "all_gather");
  wait_stream(c, "all_gather");
}

void nccl_reduce_scatter(const Tensor& t, Tensor& out, ReduceOp op) {
  Comm& c = prepare(t, "reduce_scatter");
  check_nccl(ncclReduceScatter(t.raw_data(), out.raw_data(), (size_t)out.numel(),
                               nccl_type(t.dtype(), "reduce_scatter"), nccl_op(op, t.dtype(), "reduce_scatter"),
                               c.comm, c.stream), "reduce_scatter");
  wait_stream(c, "reduce_scatter");
}

}  // namespace detail
}  // namespace tapeflow::distributed
