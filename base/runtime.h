// Process-wide runtime settings: the CPU thread pool shared by tapeflow's loops and OpenBLAS.
#pragma once
#include <string>

namespace tapeflow {

// Threads used by CPU kernels and gemm (default: the number of cores, or $TAPEFLOW_NUM_THREADS).
void set_num_threads(int n);
int get_num_threads();
// Which OpenBLAS core type is in use and why ("SkylakeX (chosen: avx512f)", "Haswell (from
// OPENBLAS_CORETYPE)", ...); loads OpenBLAS if it is not loaded yet.
std::string blas_info();

}  // namespace tapeflow
