// Data movement on CUDA: strided copies and casts (copy_strided), fill, where, and the Philox
// random fill. Copies, fills and where move raw bits, so they are instantiated per element
// size (1, 4, 8 bytes), not per dtype; only casts need a (source, destination) dtype pair.
#include <cstring>
#include <type_traits>

#include "backends/cuda/elementwise.cuh"
#include "backends/cuda/kernels.h"
#include "backends/functors.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

template <class S, class D>
struct CastF : FunctorBase {
  static constexpr int kArity = 1;
  using In0 = S;
  using Out = D;
  __device__ D operator()(S v) const { return cast_value<D>(v); }
};

template <class T>
struct FillF : FunctorBase {
  static constexpr int kArity = 0;
  using Out = T;
  T value;
  __device__ T operator()() const { return value; }
};

template <class T>
struct WhereF : FunctorBase {
  static constexpr int kArity = 3;
  using In0 = bool;
  using In1 = T;
  using In2 = T;
  using Out = T;
  __device__ T operator()(bool c, T a, T b) const { return c ? a : b; }
};

// The unsigned type of an element size: raw-bit copies.
template <class F>
decltype(auto) visit_size(size_t bytes, F&& f) {
  switch (bytes) {
    case 1: return f(uint8_t{});
    case 4: return f(uint32_t{});
    default: return f(uint64_t{});
  }
}

bool same_layout(const View& a, const View& b) {
  if (a.rank != b.rank) return false;
  for (int d = 0; d < a.rank; ++d)
    if (a.shape[d] > 1 && a.strides[d] != b.strides[d]) return false;
  return true;
}

template <class T>
__global__ void random_kernel(T* out, int64_t n, RandomKind kind, uint64_t seed, uint64_t offset,
                              double a, double b) {
  int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    out[i] = cast_value<T>(random_value(kind, seed, offset + uint64_t(i), a, b));
}

}  // namespace

bool launch_copy(const View& src, const View& dst, cudaStream_t stream) {
  int64_t n = dst.numel();
  if (n == 0) return true;
  if (src.dtype != dst.dtype) {
    return visit_dtype(src.dtype, [&](auto s) {
      return visit_dtype(dst.dtype, [&](auto d) {
        using S = decltype(s);
        using D = decltype(d);
        if constexpr (std::is_same_v<S, D>) return true;  // not reached
        else return launch_elementwise<false>(CastF<S, D>{}, dst, {&src}, stream);
      });
    });
  }
  if (src.data == dst.data && same_layout(src, dst)) return true;
  const View* views[2] = {&dst, &src};
  Dims<2> dims = coalesce_views<2>(views);
  if (dims.rank == 0 || (dims.rank == 1 && dims.stride[0][0] == 1 && dims.stride[0][1] == 1)) {
    TF_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, size_t(n) * dtype_size(dst.dtype),
                                  cudaMemcpyDeviceToDevice, stream));
    return true;
  }
  return visit_size(dtype_size(dst.dtype), [&](auto raw) {
    using R = decltype(raw);
    return launch_elementwise<true>(CastF<R, R>{}, dst, {&src}, stream);
  });
}

void launch_fill(const View& out, double value, cudaStream_t stream) {
  int64_t n = out.numel();
  if (n == 0) return;
  // The value's bit pattern in out's dtype, then a raw fill by element size.
  uint64_t bits = 0;
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    T v = cast_value<T>(value);
    std::memcpy(&bits, &v, sizeof(T));
  });
  if (bits == 0 && out.is_contiguous()) {
    TF_CUDA_CHECK(cudaMemsetAsync(out.data, 0, size_t(n) * dtype_size(out.dtype), stream));
    return;
  }
  visit_size(dtype_size(out.dtype), [&](auto raw) {
    using R = decltype(raw);
    FillF<R> f;
    std::memcpy(&f.value, &bits, sizeof(R));
    launch_elementwise<true>(f, out, {}, stream);
  });
}

bool launch_where(const View& cond, const View& a, const View& b, const View& out,
                  cudaStream_t stream) {
  if (cond.dtype != kBool || a.dtype != out.dtype || b.dtype != out.dtype)
    fail("cuda where: expected a bool condition and matching dtypes, got ", cond.dtype, ", ",
         a.dtype, ", ", b.dtype, " -> ", out.dtype);
  return visit_size(dtype_size(out.dtype), [&](auto raw) {
    using R = decltype(raw);
    return launch_elementwise<false>(WhereF<R>{}, out, {&cond, &a, &b}, stream);
  });
}

void launch_random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset, double a,
                   double b, cudaStream_t stream) {
  int64_t n = out.numel();
  if (n == 0) return;
  if (!out.is_contiguous()) fail("cuda random: out must be contiguous");
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    random_kernel<T><<<grid_for(n), kThreads, 0, stream>>>(static_cast<T*>(out.data), n, kind,
                                                            seed, offset, a, b);
    TF_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace tapeflow::backend::cuda
