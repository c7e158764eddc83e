// The collectives of tapeflow::distributed over MPI (CPU tensors) and NCCL (CUDA tensors).
// Before each one the ranks all-gather a small signature (collective, dtype, device, shape,
// root, reduce op) and compare it, so a mismatch throws on every rank naming the ranks and
// shapes, instead of MPI reading past a buffer or waiting forever.

#include <cstring>
#include <vector>

#include "autograd/grad_mode.h"
#include "base/error.h"
#include "distributed/internal.h"
#include "distributed/mpi_wait.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

namespace tapeflow::distributed {
namespace {

enum Collective : int32_t { kAllReduce = 1, kBroadcast, kAllGather, kReduceScatter };
const char* const kCollectiveNames[] = {"?", "all_reduce", "broadcast", "all_gather", "reduce_scatter"};

MPI_Datatype mpi_type(DType t, const char* what) {
  switch (t) {
    case kFloat32: return MPI_FLOAT;
    case kFloat64: return MPI_DOUBLE;
    case kInt32: return MPI_INT32_T;
    case kInt64: return MPI_INT64_T;
    case kUInt8: return MPI_UINT8_T;
    case kBool: return MPI_C_BOOL;
  }
  fail("distributed::", what, ": unsupported dtype ", t);
}

MPI_Op mpi_op(ReduceOp op, DType t, const char* what) {
  if (t == kBool) {
    if (op == ReduceOp::Max) return MPI_LOR;
    fail("distributed::", what, ": a bool tensor can only be reduced with Max (logical or)");
  }
  return op == ReduceOp::Max ? MPI_MAX : MPI_SUM;
}

// Gathers every rank's signature and throws (on every rank alike) when they differ.
void check_signatures(const detail::Signature& mine, const char* what, bool compare_shape = true) {
  int n = world_size();
  std::vector<detail::Signature> all(n);
  MPI_Request req;
  detail::check_mpi(MPI_Iallgather(&mine, sizeof(mine), MPI_BYTE, all.data(), sizeof(mine), MPI_BYTE,
                                   MPI_COMM_WORLD, &req), what);
  detail::wait_request(&req, what);
  for (int r = 0; r < n; ++r) {
    const detail::Signature& s = all[r];
    bool same = s.op == all[0].op && s.dtype == all[0].dtype && s.device == all[0].device &&
                s.root == all[0].root && s.reduce == all[0].reduce;
    if (compare_shape) same = same && s.rank == all[0].rank && std::memcmp(s.shape, all[0].shape, sizeof(s.shape)) == 0;
    if (!same) {
      std::string table;
      for (int q = 0; q < n; ++q) table += str_cat("\n  rank ", q, ": ", detail::describe(all[q]));
      fail("distributed::", what, ": the ranks disagree (rank ", r, " differs from rank 0):", table);
    }
  }
}

int count_of(const Tensor& t, const char* what) {
  if (t.numel() > (int64_t)INT32_MAX)
    fail("distributed::", what, ": ", t.numel(), " elements exceed MPI's int count (2^31 - 1); split the tensor");
  return (int)t.numel();
}

void divide_for_mean(Tensor& buf, ReduceOp op) {
  if (op == ReduceOp::Mean) buf.div_((double)world_size());
}

void check_tensor(const Tensor& t, const char* what) {
  if (!t.defined()) fail("distributed::", what, ": got an undefined tensor");
  detail::check_initialized(what);
}

}  // namespace

namespace detail {

Signature signature_of(int op, const Tensor& t, int root, ReduceOp reduce) {
  Signature s;
  s.op = op;
  s.dtype = (int32_t)t.dtype();
  s.device = t.device().is_cuda() ? 1 : 0;
  s.root = root;
  s.reduce = (int32_t)reduce;
  s.rank = t.dim();
  for (int i = 0; i < t.dim() && i < 8; ++i) s.shape[i] = t.size(i);
  return s;
}

std::string describe(const Signature& s) {
  Shape shape;
  for (int i = 0; i < s.rank && i < 8; ++i) shape.push_back(s.shape[i]);
  const char* name = s.op >= 1 && s.op <= 4 ? kCollectiveNames[s.op] : "?";
  const char* reduce = s.reduce == 0 ? "sum" : s.reduce == 1 ? "mean" : "max";
  return str_cat(name, " of shape ", shape, " ", (DType)s.dtype, " on ", s.device ? "cuda" : "cpu",
                 s.op == kBroadcast ? str_cat(" from root ", s.root) : std::string(),
                 s.op == kAllReduce || s.op == kReduceScatter ? str_cat(" (", reduce, ")") : std::string());
}

void require_float_for_mean(const char* what, const Tensor& t, ReduceOp op) {
  if (op == ReduceOp::Mean && t.dtype() != kFloat32 && t.dtype() != kFloat64)
    fail("distributed::", what, ": ReduceOp::Mean needs a float tensor, got ", t.dtype(), " (use Sum)");
}

}  // namespace detail

void all_reduce(Tensor& t, ReduceOp op) {
  check_tensor(t, "all_reduce");
  detail::require_float_for_mean("all_reduce", t, op);
  check_signatures(detail::signature_of(kAllReduce, t, 0, op), "all_reduce");
  NoGradGuard no_grad;
  Tensor buf = t.contiguous();
  if (world_size() > 1 || t.device().is_cuda()) {  // (NCCL runs for one process too: GPU self-test)
    if (t.device().is_cuda()) {
      detail::nccl_all_reduce(buf, op);
    } else {
      MPI_Request req;
      detail::check_mpi(MPI_Iallreduce(MPI_IN_PLACE, buf.raw_data(), count_of(buf, "all_reduce"),
                                       mpi_type(t.dtype(), "all_reduce"), mpi_op(op, t.dtype(), "all_reduce"),
                                       MPI_COMM_WORLD, &req), "all_reduce");
      detail::wait_request(&req, "all_reduce");
    }
  }
  divide_for_mean(buf, op);
  if (!buf.is_same(t)) t.copy_(buf);
}

void broadcast(Tensor& t, int root) {
  check_tensor(t, "broadcast");
  if (root < 0 || root >= world_size())
    fail("distributed::broadcast: root ", root, " is not a rank of this world of ", world_size());
  check_signatures(detail::signature_of(kBroadcast, t, root, ReduceOp::Sum), "broadcast");
  if (world_size() == 1 && !t.device().is_cuda()) return;
  NoGradGuard no_grad;
  Tensor buf = t.contiguous();
  if (t.device().is_cuda()) {
    detail::nccl_broadcast(buf, root);
  } else {
    MPI_Request req;
    detail::check_mpi(MPI_Ibcast(buf.raw_data(), count_of(buf, "broadcast"), mpi_type(t.dtype(), "broadcast"), root,
                                 MPI_COMM_WORLD, &req), "broadcast");
    detail::wait_request(&req, "broadcast");
  }
  if (!buf.is_same(t)) t.copy_(buf);
}

Tensor all_gather(const Tensor& t) {
  check_tensor(t, "all_gather");
  check_signatures(detail::signature_of(kAllGather, t, 0, ReduceOp::Sum), "all_gather");
  NoGradGuard no_grad;
  Tensor src = t.contiguous();
  Shape out_shape{(int64_t)world_size()};
  for (int64_t d : t.shape()) out_shape.push_back(d);
  Tensor out = empty(out_shape, Options(t.dtype(), t.device()));
  if (t.device().is_cuda()) {
    detail::nccl_all_gather(src, out);
  } else {
    MPI_Request req;
    int n = count_of(src, "all_gather");
    count_of(out, "all_gather");
    MPI_Datatype type = mpi_type(t.dtype(), "all_gather");
    detail::check_mpi(MPI_Iallgather(src.raw_data(), n, type, out.raw_data(), n, type, MPI_COMM_WORLD, &req),
                      "all_gather");
    detail::wait_request(&req, "all_gather");
  }
  return out;
}

Tensor reduce_scatter(const Tensor& t, ReduceOp op) {
  check_tensor(t, "reduce_scatter");
  int n = world_size();
  if (t.dim() < 1 || t.size(0) % n != 0)
    fail("distributed::reduce_scatter: the first axis must split in ", n, " equal blocks (one per rank), got shape ",
         t.shape());
  detail::require_float_for_mean("reduce_scatter", t, op);
  check_signatures(detail::signature_of(kReduceScatter, t, 0, op), "reduce_scatter");
  NoGradGuard no_grad;
  Tensor src = t.contiguous();
  Shape out_shape = t.shape();
  out_shape[0] /= n;
  Tensor out = empty(out_shape, Options(t.dtype(), t.device()));
  if (t.device().is_cuda()) {
    detail::nccl_reduce_scatter(src, out, op);
  } else {
    count_of(src, "reduce_scatter");
    MPI_Request req;
    detail::check_mpi(MPI_Ireduce_scatter_block(src.raw_data(), out.raw_data(), (int)out.numel(),
                                                mpi_type(t.dtype(), "reduce_scatter"),
                                                mpi_op(op, t.dtype(), "reduce_scatter"), MPI_COMM_WORLD, &req),
                      "reduce_scatter");
    detail::wait_request(&req, "reduce_scatter");
  }
  divide_for_mean(out, op);
  return out;
}

void barrier() {
  detail::check_initialized("barrier");
  MPI_Request req;
  detail::check_mpi(MPI_Ibarrier(MPI_COMM_WORLD, &req), "barrier");
  detail::wait_request(&req, "barrier");
}

}  // namespace tapeflow::distributed
