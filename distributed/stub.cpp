// tapeflow::distributed in a build without MPI (Meson option distributed=disabled, or MPI not
// found): everything that needs other processes throws "built without MPI".
#include <cstdlib>

#include "base/error.h"
#include "distributed/distributed.h"

namespace tapeflow::distributed {
namespace {
[[noreturn]] void no_mpi(const char* what) {
  fail("distributed::", what, ": tapeflow was built without MPI (install libopenmpi-dev and rebuild with "
       "-Ddistributed=enabled)");
}
}  // namespace

bool is_built() { return false; }
bool nccl_is_built() { return false; }
bool launched() {
  for (const char* n : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(n)) return true;
  return false;
}
void init(bool) { no_mpi("init"); }
bool is_initialized() { return false; }
void finalize() {}
int rank() { return 0; }
int world_size() { return 1; }
int local_rank() { return 0; }
std::string processor_name() { return ""; }
void all_reduce(Tensor&, ReduceOp) { no_mpi("all_reduce"); }
void broadcast(Tensor&, int) { no_mpi("broadcast"); }
Tensor all_gather(const Tensor&) { no_mpi("all_gather"); }
Tensor reduce_scatter(const Tensor&, ReduceOp) { no_mpi("reduce_scatter"); }
void barrier() { no_mpi("barrier"); }
double timeout_seconds() { return 300.0; }
void set_timeout_seconds(double) {}

struct PendingReduce::State {};
PendingReduce::PendingReduce(PendingReduce&& o) noexcept : state_(o.state_) { o.state_ = nullptr; }
PendingReduce& PendingReduce::operator=(PendingReduce&& o) noexcept { std::swap(state_, o.state_); return *this; }
PendingReduce::~PendingReduce() = default;
bool PendingReduce::test() { return true; }
void PendingReduce::wait() {}
PendingReduce all_reduce_async(Tensor&, ReduceOp) { no_mpi("all_reduce_async"); }

}  // namespace tapeflow::distributed
