// Index math shared by every CUDA kernel family: dims coalescing (host), fast 32-bit
// division by a constant, and offset calculators that turn a linear element index into the
// element offsets of N strided operands. Kernels use 32-bit math whenever numel and every
// operand's largest offset stay below 2^31; only copy/fill have a 64-bit variant.
#pragma once
#include <cstdint>
#include <type_traits>

#include "backends/backend.h"
#include "backends/functors.h"

#if defined(__CUDACC__)
#define TF_CUDA_HD __host__ __device__ __forceinline__
#define TF_UNROLL _Pragma("unroll")
#else
#define TF_CUDA_HD inline
#define TF_UNROLL
#endif

namespace tapeflow::backend::cuda {

constexpr int64_t kMax32 = int64_t(1) << 31;

// Value conversion with the CPU backend's rules (backends/cpu/loops.h convert<>): to bool is
// `!= 0`; floating to integral is float_to_int (backends/functors.h: NaN -> 0, int32/int64
// saturate, uint8 wraps through int64).
template <class To, class From>
TF_CUDA_HD To cast_value(From v) {
  if constexpr (std::is_same_v<To, From>) return v;
  else if constexpr (std::is_same_v<To, bool>) return v != From(0);
  else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) return float_to_int<To>(v);
  else return To(v);
}

// n / d and n % d by multiply-high and shift; valid for n < 2^31 and 1 <= d <= 2^31.
struct IntDivider {
  uint32_t divisor = 1, magic = 1, shift = 0;
  IntDivider() = default;
  explicit IntDivider(uint32_t d) : divisor(d) {
    shift = 0;
    while (shift < 32 && (uint64_t(1) << shift) < d) ++shift;
    magic = uint32_t(((uint64_t(1) << 32) * ((uint64_t(1) << shift) - d)) / d + 1);
  }
  TF_CUDA_HD uint32_t div(uint32_t n) const {
#if defined(__CUDA_ARCH__)
    uint32_t t = __umulhi(n, magic);
#else
    uint32_t t = uint32_t((uint64_t(n) * magic) >> 32);
#endif
    return (t + n) >> shift;
  }
};

// Element offsets of N operands for a linear index (row-major over the launch dims).
// I = uint32_t uses IntDivider; I = uint64_t plain division (huge tensors only).
template <int N, class I>
struct OffsetCalc {
  int rank = 0;
  IntDivider div[kMaxDims];  // dims innermost first (I = uint32_t)
  uint64_t size[kMaxDims];   // same dims (I = uint64_t)
  I stride[kMaxDims][N];

  TF_CUDA_HD void get(I linear, I* off) const {
TF_UNROLL
    for (int k = 0; k < N; ++k) off[k] = 0;
TF_UNROLL
    for (int d = 0; d < kMaxDims; ++d) {
      if (d == rank) break;
      I q, r;
      if constexpr (sizeof(I) == 4) {
        q = div[d].div(linear);
        r = linear - q * div[d].divisor;
      } else {
        q = linear / size[d];
        r = linear - q * size[d];
      }
      linear = q;
TF_UNROLL
      for (int k = 0; k < N; ++k) off[k] += r * stride[d][k];
    }
  }
};

// Launch dims of N operands sharing one shape, innermost first, after dropping size-1 dims and
// merging neighbours that are contiguous in every operand. rank 0 means a single element.
template <int N>
struct Dims {
  int rank = 0;
  int64_t size[kMaxDims] = {};
  int64_t stride[kMaxDims][N] = {};

  int64_t numel() const { int64_t n = 1; for (int d = 0; d < rank; ++d) n *= size[d]; return n; }
  // Largest element offset of operand k plus one (0 for an empty launch).
  int64_t extent(int k) const {
    int64_t e = 1;
    for (int d = 0; d < rank; ++d) e += (size[d] - 1) * stride[d][k];
    return e;
  }
  bool fits32() const {
    if (numel() >= kMax32) return false;
    for (int k = 0; k < N; ++k) if (extent(k) >= kMax32) return false;
    return true;
  }
  // Contiguous fast path: one dim; operand 0 dense; the others dense or broadcast (stride 0).
  bool is_flat() const {
    if (rank == 0) return true;
    if (rank != 1 || stride[0][0] != 1) return false;
    for (int k = 1; k < N; ++k) if (stride[0][k] != 0 && stride[0][k] != 1) return false;
    return true;
  }
};

// shape: the common shape (rank dims, outermost first); strides[k]: operand k's strides.
template <int N>
Dims<N> coalesce(int rank, const int64_t* shape, const int64_t* const* strides) {
  Dims<N> out;
  for (int d = rank - 1; d >= 0; --d) {  // innermost first
    if (shape[d] == 1) continue;
    if (out.rank > 0) {
      int last = out.rank - 1;
      bool merge = true;
      for (int k = 0; k < N; ++k)
        if (strides[k][d] != out.stride[last][k] * out.size[last]) merge = false;
      if (merge) { out.size[last] *= shape[d]; continue; }
    }
    out.size[out.rank] = shape[d];
    for (int k = 0; k < N; ++k) out.stride[out.rank][k] = strides[k][d];
    ++out.rank;
  }
  return out;
}

// Dims of views that share views[0]'s shape.
template <int N>
Dims<N> coalesce_views(const View* const* views) {
  const int64_t* strides[N];
  for (int k = 0; k < N; ++k) strides[k] = views[k]->strides;
  return coalesce<N>(views[0]->rank, views[0]->shape, strides);
}

template <int N, class I>
OffsetCalc<N, I> make_calc(const Dims<N>& dims) {
  OffsetCalc<N, I> c;
  c.rank = dims.rank;
  for (int d = 0; d < dims.rank; ++d) {
    if constexpr (sizeof(I) == 4) c.div[d] = IntDivider(uint32_t(dims.size[d]));
    c.size[d] = uint64_t(dims.size[d]);
    for (int k = 0; k < N; ++k) c.stride[d][k] = I(dims.stride[d][k]);
  }
  return c;
}

// An offset calculator for the first N operands of wider dims (the element-wise plan's).
template <int N, class I, int M>
OffsetCalc<N, I> make_calc_prefix(const Dims<M>& dims) {
  static_assert(N <= M, "more operands than dims");
  OffsetCalc<N, I> c;
  c.rank = dims.rank;
  for (int d = 0; d < dims.rank; ++d) {
    if constexpr (sizeof(I) == 4) c.div[d] = IntDivider(uint32_t(dims.size[d]));
    c.size[d] = uint64_t(dims.size[d]);
    for (int k = 0; k < N; ++k) c.stride[d][k] = I(dims.stride[d][k]);
  }
  return c;
}

// How an element-wise launch over up to 4 operands (views[0] = out) runs; computed once on the
// host by plain C++ (layout.cpp), so that each functor's launcher stays a few lines.
struct ElementwisePlan {
  enum Kind : int { Flat, Strided32, Strided64 } kind = Flat;
  int64_t n = 0;       // elements
  unsigned bcast = 0;  // Flat: bit k set = input k is one broadcast element
  bool vec = false;    // Flat: every dense operand is aligned for 4-wide vector access
  Dims<4> dims;        // Strided*: coalesced dims, operand k in stride[d][k]
};
ElementwisePlan plan_elementwise(int nops, const View* const* views);

}  // namespace tapeflow::backend::cuda
