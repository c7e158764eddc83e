// The one generic element-wise launcher of the CUDA backend. A functor F names its types
// (Out, In0..In2), its arity (0-3) and computes one output from its inputs; the launcher picks
//   - a flat kernel when every operand is dense or a broadcast scalar, with 4-wide vector
//     loads/stores when the pointers are aligned, or
//   - a strided kernel with 32-bit offset math (64-bit only where the caller allows it).
// Included by the element-wise .cu files only.
#pragma once
#include <array>

#include "backends/cuda/check.h"
#include "backends/cuda/layout.h"

namespace tapeflow::backend::cuda {

constexpr int kThreads = 256;
constexpr int kVec = 4;
constexpr int64_t kMaxBlocks = 1 << 16;

// Functors derive from this so that unused input types still name a type.
struct FunctorBase {
  using In0 = char;
  using In1 = char;
  using In2 = char;
};

template <int A>
struct Operands {
  char* out;
  const char* in[A > 0 ? A : 1];
};

template <class T>
struct alignas(sizeof(T) * kVec) VecOf {
  T v[kVec];
};

template <class F, int K>
using InType = std::conditional_t<K == 0, typename F::In0,
                                  std::conditional_t<K == 1, typename F::In1, typename F::In2>>;

template <class F, class I>
__device__ __forceinline__ void apply_at(const F& f, const Operands<F::kArity>& p, const I* off) {
  using Out = typename F::Out;
  Out* o = reinterpret_cast<Out*>(p.out) + off[0];
  if constexpr (F::kArity == 0) {
    *o = f();
  } else if constexpr (F::kArity == 1) {
    *o = f(reinterpret_cast<const InType<F, 0>*>(p.in[0])[off[1]]);
  } else if constexpr (F::kArity == 2) {
    *o = f(reinterpret_cast<const InType<F, 0>*>(p.in[0])[off[1]],
           reinterpret_cast<const InType<F, 1>*>(p.in[1])[off[2]]);
  } else {
    *o = f(reinterpret_cast<const InType<F, 0>*>(p.in[0])[off[1]],
           reinterpret_cast<const InType<F, 1>*>(p.in[1])[off[2]],
           reinterpret_cast<const InType<F, 2>*>(p.in[2])[off[3]]);
  }
}

// kVec consecutive values of input K starting at element g * kVec (or its broadcast scalar).
template <class F, int K>
__device__ __forceinline__ VecOf<InType<F, K>> load_vec(const Operands<F::kArity>& p,
                                                        unsigned bcast, int64_t g) {
  using T = InType<F, K>;
  const T* src = reinterpret_cast<const T*>(p.in[K]);
  VecOf<T> v;
  if (bcast & (1u << K)) {
#pragma unroll
    for (int j = 0; j < kVec; ++j) v.v[j] = src[0];
  } else {
    v = reinterpret_cast<const VecOf<T>*>(src)[g];
  }
  return v;
}

// Dense/broadcast-scalar layout. bcast bit k: input k is a single broadcast element.
template <class F>
__global__ void __launch_bounds__(kThreads)
    ew_flat_kernel(F f, Operands<F::kArity> p, int64_t n, unsigned bcast, bool vec) {
  using Out = typename F::Out;
  int64_t tid = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
  int64_t nthreads = int64_t(gridDim.x) * blockDim.x;
  int64_t start = 0;
  if (vec) {
    int64_t groups = n / kVec;
    for (int64_t g = tid; g < groups; g += nthreads) {
      VecOf<Out> r;
      if constexpr (F::kArity == 0) {
#pragma unroll
        for (int j = 0; j < kVec; ++j) r.v[j] = f();
      } else if constexpr (F::kArity == 1) {
        auto a = load_vec<F, 0>(p, bcast, g);
#pragma unroll
        for (int j = 0; j < kVec; ++j) r.v[j] = f(a.v[j]);
      } else if constexpr (F::kArity == 2) {
        auto a = load_vec<F, 0>(p, bcast, g);
        auto b = load_vec<F, 1>(p, bcast, g);
#pragma unroll
        for (int j = 0; j < kVec; ++j) r.v[j] = f(a.v[j], b.v[j]);
      } else {
        auto a = load_vec<F, 0>(p, bcast, g);
        auto b = load_vec<F, 1>(p, bcast, g);
        auto c = load_vec<F, 2>(p, bcast, g);
#pragma unroll
        for (int j = 0; j < kVec; ++j) r.v[j] = f(a.v[j], b.v[j], c.v[j]);
      }
      reinterpret_cast<VecOf<Out>*>(p.out)[g] = r;
    }
    start = groups * kVec;
  }
  for (int64_t i = start + tid; i < n; i += nthreads) {
    int64_t off[4] = {i, 0, 0, 0};
#pragma unroll
    for (int k = 0; k < F::kArity; ++k) off[k + 1] = (bcast & (1u << k)) ? 0 : i;
    apply_at(f, p, off);
  }
}

template <class F, class I>
__global__ void __launch_bounds__(kThreads)
    ew_strided_kernel(F f, Operands<F::kArity> p, OffsetCalc<F::kArity + 1, I> calc, I n) {
  I step = I(gridDim.x) * blockDim.x;
  for (I i = I(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    I off[F::kArity + 1];
    calc.get(i, off);
    apply_at(f, p, off);
  }
}

inline unsigned grid_for(int64_t work) {
  int64_t blocks = (work + kThreads - 1) / kThreads;
  if (blocks < 1) blocks = 1;
  return unsigned(blocks < kMaxBlocks ? blocks : kMaxBlocks);
}

// Runs f over out's elements with inputs ins (same shape as out, broadcast by zero strides).
// Returns false when the layout needs 64-bit index math and kAllow64 is false.
template <bool kAllow64, class F>
bool launch_elementwise(const F& f, const View& out, std::array<const View*, F::kArity> ins,
                        cudaStream_t stream) {
  constexpr int A = F::kArity;
  const View* views[A + 1];
  views[0] = &out;
  Operands<A> p;
  p.out = static_cast<char*>(out.data);
  for (int k = 0; k < A; ++k) {
    views[k + 1] = ins[k];
    p.in[k] = static_cast<const char*>(ins[k]->data);
  }
  const ElementwisePlan plan = plan_elementwise(A + 1, views);
  const int64_t n = plan.n;
  if (n == 0) return true;
  if (plan.kind == ElementwisePlan::Flat) {
    ew_flat_kernel<F><<<grid_for(plan.vec ? n / kVec : n), kThreads, 0, stream>>>(
        f, p, n, plan.bcast, plan.vec);
  } else if (plan.kind == ElementwisePlan::Strided32) {
    auto calc = make_calc_prefix<A + 1, uint32_t>(plan.dims);
    ew_strided_kernel<F, uint32_t><<<grid_for(n), kThreads, 0, stream>>>(f, p, calc, uint32_t(n));
  } else if constexpr (kAllow64) {
    auto calc = make_calc_prefix<A + 1, uint64_t>(plan.dims);
    ew_strided_kernel<F, uint64_t><<<grid_for(n), kThreads, 0, stream>>>(f, p, calc, uint64_t(n));
  } else {
    return false;
  }
  TF_CUDA_CHECK_LAUNCH();
  return true;
}

}  // namespace tapeflow::backend::cuda
