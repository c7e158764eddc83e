// CudaBackend::optimizer_step: the fused, in-place optimizer updates (backends/backend.h,
// OptimizerStep) as one grid-stride kernel per parameter, with the same operation order as the
// CPU loops (backends/cpu/optimizer.cpp) and the unfused formulas of optim/.
#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"

namespace tapeflow::backend::cuda {
namespace {

template <class T>
struct Args {
  T* p;
  const T* g;
  T* s0;
  T* s1;
  T* s2;
  T lr, wd, mom, b1, one_b1, b2, one_b2, alpha, rho, one_rho, eps;
  bool use_wd, use_mom, nesterov, amsgrad, centered;
};

template <class T, int KIND>
__global__ void optimizer_kernel(Args<T> a, int64_t n) {
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    T x = a.p[i], g = a.g[i];
    if (a.use_wd) x = x - x * a.wd;
    if (KIND == 0) {  // SGD
      if (!a.use_mom) {
        x = x - g * a.lr;
      } else {
        T v = a.s0[i] * a.mom;
        v = v - g * a.lr;
        a.s0[i] = v;
        x = a.nesterov ? x + (v * a.mom - g * a.lr) : x + v;
      }
    } else if (KIND == 1) {  // Adam
      T m = a.s0[i] * a.b1;
      m = m + g * a.one_b1;
      T v = a.s1[i] * a.b2;
      v = v + (g * g) * a.one_b2;
      a.s0[i] = m;
      a.s1[i] = v;
      T d = v;
      if (a.amsgrad) {
        T h = a.s2[i];
        d = h > v ? h : v;
        a.s2[i] = d;
      }
      x = x - (m * a.alpha) / (sqrt(d) + a.eps);
    } else if (KIND == 2) {  // RMSprop
      T s = a.s0[i] * a.rho;
      s = s + (g * g) * a.one_rho;
      a.s0[i] = s;
      T den;
      if (a.centered) {
        T m = a.s1[i] * a.rho;
        m = m + g * a.one_rho;
        a.s1[i] = m;
        den = s - m * m + a.eps;
      } else {
        den = s + a.eps;
      }
      T inc = g * a.lr / sqrt(den);
      if (a.use_mom) {
        T* buf = a.centered ? a.s2 : a.s1;
        T q = buf[i] * a.mom;
        q = q + inc;
        buf[i] = q;
        x = x - q;
      } else {
        x = x - inc;
      }
    } else {  // Adagrad
      T acc = a.s0[i] + g * g;
      a.s0[i] = acc;
      x = x - g * a.lr / sqrt(acc + a.eps);
    }
    a.p[i] = x;
  }
}

template <class T>
void launch(const OptimizerStep& s, const View& param, const View& grad, const View* state, int nstate,
            cudaStream_t stream) {
  Args<T> a{};
  a.p = static_cast<T*>(param.data);
  a.g = static_cast<const T*>(grad.data);
  T* st[3] = {nullptr, nullptr, nullptr};
  for (int i = 0; i < nstate && i < 3; ++i) st[i] = static_cast<T*>(state[i].data);
  a.s0 = st[0]; a.s1 = st[1]; a.s2 = st[2];
  a.lr = T(s.lr); a.wd = T(s.weight_decay); a.mom = T(s.momentum);
  a.b1 = T(s.beta1); a.one_b1 = T(1.0 - s.beta1); a.b2 = T(s.beta2); a.one_b2 = T(1.0 - s.beta2);
  a.alpha = T(s.alpha); a.rho = T(s.rho); a.one_rho = T(1.0 - s.rho); a.eps = T(s.eps);
  a.use_wd = s.weight_decay != 0;
  a.use_mom = s.momentum > 0;
  a.nesterov = s.nesterov;
  a.amsgrad = s.amsgrad;
  a.centered = s.centered;
  int64_t n = param.numel();
  if (n == 0) return;
  int threads = 256;
  int64_t blocks64 = (n + threads - 1) / threads;
  int blocks = int(blocks64 < 65535 * 8 ? blocks64 : 65535 * 8);
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD: optimizer_kernel<T, 0><<<blocks, threads, 0, stream>>>(a, n); break;
    case K::Adam: optimizer_kernel<T, 1><<<blocks, threads, 0, stream>>>(a, n); break;
    case K::RMSprop: optimizer_kernel<T, 2><<<blocks, threads, 0, stream>>>(a, n); break;
    case K::Adagrad: optimizer_kernel<T, 3><<<blocks, threads, 0, stream>>>(a, n); break;
  }
  TF_CUDA_CHECK_LAUNCH();
}

int needed_state(const OptimizerStep& s) {
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD: return s.momentum == 0 ? 0 : 1;
    case K::Adam: return s.amsgrad ? 3 : 2;
    case K::RMSprop: return 1 + (s.centered ? 1 : 0) + (s.momentum > 0 ? 1 : 0);
    case K::Adagrad: return 1;
  }
  return -1;
}

}  // namespace

bool launch_optimizer_step(const OptimizerStep& s, const View& param, const View& grad, const View* state,
                           int nstate, cudaStream_t stream) {
  DType dt = param.dtype;
  if (dt != kFloat32 && dt != kFloat64) return false;
  if (nstate != needed_state(s)) return false;
  int64_t n = param.numel();
  auto ok = [&](const View& v) { return v.dtype == dt && v.numel() == n && v.is_contiguous(); };
  if (!ok(param) || !ok(grad)) return false;
  for (int i = 0; i < nstate; ++i)
    if (!ok(state[i])) return false;
  if (dt == kFloat32) launch<float>(s, param, grad, state, nstate, stream);
  else launch<double>(s, param, grad, state, nstate, stream);
  return true;
}

}  // namespace tapeflow::backend::cuda
