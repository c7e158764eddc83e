// CudaBackend::optimizer_step: the fused, in-place optimizer updates (backends/backend.h,
// OptimizerStep) as one grid-stride kernel per parameter, each thread one element through the
// CPU's loops (backends/optimizer_loops.h), in the operation order of the unfused formulas of
// optim/.
#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "backends/optimizer_args.h"

namespace tapeflow::backend::cuda {
namespace {

template <class T>
using Args = OptimizerArgs<T>;

// One element per thread: the CPU's loops (backends/optimizer_loops.h) over a lane of one.
#define TF_INL __device__ __forceinline__
#define TF_OPT_ENTRY __device__
#define TF_RESTRICT __restrict__
template <class E>
struct L {
  using V = E;
  static constexpr int64_t W = 1;
  __device__ static V ld(const E* p) { return *p; }
  __device__ static void st(E* p, V v) { *p = v; }
  __device__ static V bc(E x) { return x; }
  __device__ static V sqrt(V x) { return ::sqrt(x); }
  __device__ static V max(V h, V v) { return h > v ? h : v; }
};
#include "backends/optimizer_loops.h"
#undef TF_INL
#undef TF_OPT_ENTRY
#undef TF_RESTRICT

template <class T>
__global__ void optimizer_kernel(OptimizerStep s, Args<T> a, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    run<T>(s, a, i, i + 1);
}

template <class T>
void launch(const OptimizerStep& s, const View& param, const View& grad, const View* state, int nstate,
            cudaStream_t stream) {
  const Args<T> a = optimizer_args<T>(s, param, grad, state, nstate);
  int64_t n = param.numel();
  if (n == 0) return;
  int threads = 256;
  int64_t blocks64 = (n + threads - 1) / threads;
  int blocks = int(blocks64 < 65535 * 8 ? blocks64 : 65535 * 8);
  optimizer_kernel<T><<<blocks, threads, 0, stream>>>(s, a, n);
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace

bool launch_optimizer_step(const OptimizerStep& s, const View& param, const View& grad, const View* state,
                           int nstate, cudaStream_t stream) {
  if (!optimizer_views_ok(s, param, grad, state, nstate)) return false;
  if (param.dtype == kFloat32) launch<float>(s, param, grad, state, nstate, stream);
  else launch<double>(s, param, grad, state, nstate, stream);
  return true;
}

}  // namespace tapeflow::backend::cuda
