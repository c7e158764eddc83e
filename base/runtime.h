// Process-wide runtime settings: one thread budget for tapeflow's CPU loops and gemm, and the
// hook through which a host (a game engine) runs those loops on its own job system.
#pragma once
#include <string>

namespace tapeflow {

// Threads used by CPU kernels and gemm together (default: the number of cores, or
// $TAPEFLOW_NUM_THREADS). OpenBLAS itself always runs single-threaded (it is loaded with
// OPENBLAS_NUM_THREADS=1 unless the user set it): large products are split over tapeflow's pool,
// so this one number bounds every thread tapeflow computes on.
void set_num_threads(int n);
int get_num_threads();
// Which OpenBLAS core type is in use and why ("SkylakeX (chosen: avx512f)", "Haswell (from
// OPENBLAS_CORETYPE)", ...); loads OpenBLAS if it is not loaded yet.
std::string blas_info();

// A host's job system, used by every parallel loop of the CPU backend instead of tapeflow's own
// pool while it is set. run() must call chunk(ctx, i) exactly once for every i in [0, nchunks),
// on any threads (the calling one included), and return only when all calls have returned.
// Chunks never throw (tapeflow catches inside them) and may be run in any order. A loop already
// inside a chunk runs inline (it never calls run() again), and loops smaller than their grain
// run inline without calling run().
class JobSystem {
 public:
  virtual ~JobSystem() = default;
  virtual int concurrency() const = 0;  // the most chunks worth making (>= 1)
  virtual void run(int nchunks, void (*chunk)(void* ctx, int index), void* ctx) = 0;
};
// Installs `js` (not owned; it must outlive its use) or, with nullptr, goes back to tapeflow's
// pool. Call it while no tapeflow computation is running.
void set_job_system(JobSystem* js);
JobSystem* job_system();

}  // namespace tapeflow
