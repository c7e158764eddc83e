// Internal to distributed/: the engine-side pieces shared by the MPI and NCCL files.
#pragma once
#include <cstdint>
#include <string>

#include "distributed/distributed.h"

namespace tapeflow::distributed::detail {

// One rank's description of its argument to a collective, all-gathered and compared before
// the collective itself runs.
struct Signature {
  int32_t op = 0;       // which collective (a small code)
  int32_t dtype = 0;
  int32_t device = 0;   // 0 cpu, 1 cuda
  int32_t root = 0;
  int32_t reduce = 0;
  int32_t rank = 0;     // number of dims
  int64_t shape[8] = {};
};
Signature signature_of(int op, const Tensor& t, int root, ReduceOp reduce);
std::string describe(const Signature& s);

void check_initialized(const char* what);
void require_float_for_mean(const char* what, const Tensor& t, ReduceOp op);

// NCCL (distributed/nccl.cpp, or nccl_stub.cpp without NCCL): same semantics on CUDA tensors.
void nccl_all_reduce(Tensor& contiguous, ReduceOp op);
void nccl_broadcast(Tensor& contiguous, int root);
void nccl_all_gather(const Tensor& contiguous, Tensor& out);
void nccl_reduce_scatter(const Tensor& contiguous, Tensor& out, ReduceOp op);

}  // namespace tapeflow::distributed::detail
