// tapeflow::distributed with MPI but without NCCL (no CUDA backend, or NCCL not found): CUDA
// tensors cannot take part in collectives.
#include "base/error.h"
#include "distributed/internal.h"

namespace tapeflow::distributed {
bool nccl_is_built() { return false; }
namespace detail {
namespace {
[[noreturn]] void no_nccl(const char* what) {
  fail("distributed::", what, ": collectives on CUDA tensors need NCCL, and this build has none (build with "
       "-Dcuda=enabled where the CUDA toolkit's NCCL is installed), or move the tensor to the CPU");
}
}  // namespace
void nccl_all_reduce(Tensor&, ReduceOp) { no_nccl("all_reduce"); }
void nccl_broadcast(Tensor&, int) { no_nccl("broadcast"); }
void nccl_all_gather(const Tensor&, Tensor&) { no_nccl("all_gather"); }
void nccl_reduce_scatter(const Tensor&, Tensor&, ReduceOp) { no_nccl("reduce_scatter"); }
}  // namespace detail
}  // namespace tapeflow::distributed
