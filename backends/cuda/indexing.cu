// Indexing on CUDA: index_select, index_add, gather and scatter_add, as one kernel per dtype
// that walks the iterated tensor (out for the reads, src for the adds), looks up the index and
// reads or atomically adds at the addressed tensor. Atomic adds: float, double, int32 and
// int64 natively; uint8 by a compare-and-swap loop on the enclosing 32-bit word; bool as an
// atomic OR (true + anything = true, as binary Add on bool). The word trick is safe because
// the caching allocator hands out 512-byte-aligned blocks of whole 512-byte multiples.
#include <algorithm>
#include <type_traits>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/layout.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

enum class Mode : int { Select, Add, Gather, Scatter };

struct IndexParams {
  int rank, axis;
  Mode mode;
  int64_t shape[kMaxDims];   // iterated shape: out (Select, Gather) or src (Add, Scatter)
  int64_t it[kMaxDims];      // strides of the iterated tensor
  int64_t ad[kMaxDims];      // strides of the addressed tensor (x or out)
  int64_t ix[kMaxDims];      // index strides (Select/Add: only ix[axis] is used)
  int64_t axis_size;         // addressed tensor's size along axis (wraps negative indices)
  int64_t n;
};

template <class T>
__device__ __forceinline__ void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> ||
                std::is_same_v<T, int32_t>) {
    atomicAdd(p, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else {
    const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
    unsigned* word = reinterpret_cast<unsigned*>(addr & ~uintptr_t(3));
    const unsigned shift = unsigned(addr & 3) * 8;
    if constexpr (std::is_same_v<T, bool>) {
      if (v) atomicOr(word, 1u << shift);
    } else {
      unsigned old = *word, assumed;
      do {
        assumed = old;
        unsigned byte = ((assumed >> shift) + unsigned(v)) & 0xffu;
        old = atomicCAS(word, assumed, (assumed & ~(0xffu << shift)) | (byte << shift));
      } while (assumed != old);
    }
  }
}

// ---- kernel ----

template <class T>
__global__ void index_kernel(IndexParams p, T* iter, T* addr, const int64_t* index) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < p.n; i += step) {
    int64_t rem = i, it_off = 0, ad_off = 0, ix_off = 0, along = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      const int64_t c = rem % p.shape[d];
      rem /= p.shape[d];
      it_off += c * p.it[d];
      ix_off += c * p.ix[d];
      if (d == p.axis) along = c;
      else ad_off += c * p.ad[d];
    }
    if (p.mode == Mode::Select || p.mode == Mode::Add) ix_off = along * p.ix[p.axis];
    int64_t j = index[ix_off];
    if (j < 0) j += p.axis_size;
    ad_off += j * p.ad[p.axis];
    if (p.mode == Mode::Select || p.mode == Mode::Gather) iter[it_off] = addr[ad_off];
    else atomic_add(addr + ad_off, iter[it_off]);
  }
}

// ---- launcher ----

void run_index(Mode mode, const char* op, const View& iter, const View& addr, int axis,
               const View& index, cudaStream_t stream) {
  if (iter.dtype != addr.dtype) fail(op, ": dtype mismatch ", iter.dtype, " and ", addr.dtype);
  if (index.dtype != kInt64) fail(op, ": the index must be int64, got ", index.dtype);
  if (iter.rank != addr.rank || axis < 0 || axis >= iter.rank)
    fail(op, ": bad axis ", axis, " for ranks ", iter.rank, " and ", addr.rank);
  IndexParams p{};
  p.rank = iter.rank;
  p.axis = axis;
  p.mode = mode;
  p.n = iter.numel();
  p.axis_size = addr.shape[axis];
  for (int d = 0; d < iter.rank; ++d) {
    p.shape[d] = iter.shape[d];
    p.it[d] = iter.strides[d];
    p.ad[d] = addr.strides[d];
    if (mode == Mode::Gather || mode == Mode::Scatter) p.ix[d] = index.strides[d];
  }
  if (mode == Mode::Select || mode == Mode::Add) p.ix[axis] = index.rank > 0 ? index.strides[0] : 0;
  if (p.n == 0) return;
  int64_t blocks = std::min<int64_t>((p.n + 255) / 256, int64_t(1) << 16);
  visit_dtype(iter.dtype, [&](auto tag) {
    using T = decltype(tag);
    index_kernel<T><<<unsigned(blocks), 256, 0, stream>>>(
        p, static_cast<T*>(iter.data), static_cast<T*>(addr.data),
        static_cast<const int64_t*>(index.data));
    TF_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace

void launch_index_select(const View& x, int axis, const View& index, const View& out,
                         cudaStream_t stream) {
  run_index(Mode::Select, "index_select", out, x, axis, index, stream);
}

void launch_index_add(const View& out, int axis, const View& index, const View& src,
                      cudaStream_t stream) {
  run_index(Mode::Add, "index_add", src, out, axis, index, stream);
}

void launch_gather(const View& x, int axis, const View& index, const View& out,
                   cudaStream_t stream) {
  run_index(Mode::Gather, "gather", out, x, axis, index, stream);
}

void launch_scatter_add(const View& out, int axis, const View& index, const View& src,
                        cudaStream_t stream) {
  run_index(Mode::Scatter, "scatter_add", src, out, axis, index, stream);
}

}  // namespace tapeflow::backend::cuda
