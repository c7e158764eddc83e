// Reductions on CUDA: the `reduce` contract (sum/prod/max/min/all/any over an axes bit-mask)
// and arg_reduce, through one block-reduction kernel driven by a policy (identity, load,
// combine, project). Threads split the reduced elements along x when those are contiguous
// (coalesced rows) and along y otherwise (adjacent outputs read adjacent memory). Long
// reductions over few outputs split over grid.y and finish in a second pass over partials.
#include <algorithm>
#include <limits>
#include <type_traits>

#include "backends/cuda/allocator.h"
#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/layout.h"
#include "backends/functors.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {
namespace {

// Sums and products accumulate in double (floats) or int64 (integers), as on the CPU.
template <class T>
using sum_acc_t = std::conditional_t<std::is_floating_point_v<T>, double, int64_t>;

template <ReduceOp op, class T>
struct ReducePolicy {
  static constexpr bool kArith = op == ReduceOp::Sum || op == ReduceOp::Prod;
  using In = T;
  using Acc = std::conditional_t<kArith, sum_acc_t<T>, T>;
  using Out = T;
  __device__ static Acc identity() {
    if constexpr (op == ReduceOp::Sum) return Acc(0);
    else if constexpr (op == ReduceOp::Prod) return Acc(1);
    else if constexpr (op == ReduceOp::All) return Acc(1);
    else if constexpr (op == ReduceOp::Any) return Acc(0);
    else if constexpr (std::is_floating_point_v<T>)
      return op == ReduceOp::Max ? -std::numeric_limits<T>::infinity()
                                 : std::numeric_limits<T>::infinity();
    else if constexpr (op == ReduceOp::Max) return std::numeric_limits<T>::lowest();
    else return std::numeric_limits<T>::max();
  }
  __device__ static Acc load(In v, uint32_t) { return Acc(v); }
  __device__ static Acc combine(Acc a, Acc b) {
    if constexpr (op == ReduceOp::Sum) return wrap_add(a, b);  // integers wrap, as on the CPU
    else if constexpr (op == ReduceOp::Prod) return wrap_mul(a, b);
    else if constexpr (op == ReduceOp::All) return a && b;
    else if constexpr (op == ReduceOp::Any) return a || b;
    else if constexpr (op == ReduceOp::Max) return binary_fn<BinaryOp::Maximum, T>(a, b);
    else return binary_fn<BinaryOp::Minimum, T>(a, b);
  }
  __device__ static Out project(Acc a) { return cast_value<Out>(a); }
};

template <class T>
struct ArgPair {
  T v;
  int64_t i;
};

// First index of ties wins; a NaN beats every number (NumPy's argmax/argmin).
template <ArgReduceOp op, class T>
struct ArgPolicy {
  using In = T;
  using Acc = ArgPair<T>;
  using Out = int64_t;
  __device__ static Acc identity() {
    Acc a;
    a.i = std::numeric_limits<int64_t>::max();
    if constexpr (std::is_floating_point_v<T>)
      a.v = op == ArgReduceOp::ArgMax ? -std::numeric_limits<T>::infinity()
                                      : std::numeric_limits<T>::infinity();
    else
      a.v = op == ArgReduceOp::ArgMax ? std::numeric_limits<T>::lowest()
                                      : std::numeric_limits<T>::max();
    return a;
  }
  __device__ static Acc load(In v, uint32_t r) { return Acc{v, int64_t(r)}; }
  __device__ static Acc combine(Acc a, Acc b) {
    if constexpr (std::is_floating_point_v<T>) {
      bool an = a.v != a.v, bn = b.v != b.v;
      if (an || bn) {
        if (an && bn) return a.i <= b.i ? a : b;
        return an ? a : b;
      }
    }
    if (a.v == b.v) return a.i <= b.i ? a : b;
    bool b_wins = op == ArgReduceOp::ArgMax ? b.v > a.v : b.v < a.v;
    return b_wins ? b : a;
  }
  __device__ static Out project(Acc a) { return a.i; }
};

struct ReduceParams {
  const void* in;  // x (modes 0, 1) or the partials (mode 2)
  void* out;       // out (modes 0, 2) or the partials (mode 1)
  OffsetCalc<2, uint32_t> kept;  // output index m -> (x offset, out offset)
  OffsetCalc<1, uint32_t> red;   // reduced index r -> x offset
  uint32_t M, R, chunk;          // outputs, reduced elements, reduced elements per grid.y
  bool red_on_x;                 // threadIdx.x walks the reduced elements
};

// kMode 0: x -> out; 1: x -> partials[m][blockIdx.y]; 2: partials[m][0..R) -> out.
template <class P, int kMode>
__global__ void reduce_kernel(ReduceParams p) {
  using Acc = typename P::Acc;
  extern __shared__ __align__(16) unsigned char smem_raw[];
  Acc* smem = reinterpret_cast<Acc*>(smem_raw);
  const uint32_t tx = threadIdx.x, ty = threadIdx.y;
  const uint32_t lane_r = p.red_on_x ? tx : ty, n_r = p.red_on_x ? blockDim.x : blockDim.y;
  const uint32_t lane_m = p.red_on_x ? ty : tx, n_m = p.red_on_x ? blockDim.y : blockDim.x;
  const uint32_t m = blockIdx.x * n_m + lane_m;
  Acc acc = P::identity();
  uint32_t out_off = 0;
  if (m < p.M) {
    uint32_t offs[2];
    p.kept.get(m, offs);
    out_off = offs[1];
    uint32_t r0 = blockIdx.y * p.chunk;
    uint32_t r1 = p.R - r0 < p.chunk ? p.R : r0 + p.chunk;
    for (uint32_t r = r0 + lane_r; r < r1; r += n_r) {
      if constexpr (kMode == 2) {
        acc = P::combine(acc, static_cast<const Acc*>(p.in)[m * p.R + r]);
      } else {
        uint32_t off;
        if (p.red.rank <= 1) off = r * p.red.stride[0][0];
        else p.red.get(r, &off);
        acc = P::combine(acc, P::load(static_cast<const typename P::In*>(p.in)[offs[0] + off], r));
      }
    }
  }
  const uint32_t me = ty * blockDim.x + tx;
  smem[me] = acc;
  __syncthreads();
  for (uint32_t s = n_r / 2; s > 0; s >>= 1) {
    const uint32_t partner = p.red_on_x ? me + s : me + s * blockDim.x;
    if (lane_r < s) smem[me] = P::combine(smem[me], smem[partner]);
    __syncthreads();
  }
  if (lane_r == 0 && m < p.M) {
    if constexpr (kMode == 1) static_cast<Acc*>(p.out)[m * gridDim.y + blockIdx.y] = smem[me];
    else static_cast<typename P::Out*>(p.out)[out_off] = P::project(smem[me]);
  }
}

uint32_t pow2_at_least(int64_t n) {
  uint32_t p = 1;
  while (p < n && p < (1u << 30)) p <<= 1;
  return p;
}

template <class P>
void run_split(ReduceParams p, dim3 block, size_t smem, uint32_t splits, uint32_t blocks_m,
               const View& out, CachingAllocator& alloc, cudaStream_t stream) {
  using Acc = typename P::Acc;
  size_t nbytes = size_t(p.M) * splits * sizeof(Acc);
  void* partial = alloc.allocate(nbytes);
  p.out = partial;
  reduce_kernel<P, 1><<<dim3(blocks_m, splits), block, smem, stream>>>(p);
  TF_CUDA_CHECK_LAUNCH();
  // Second pass: each output reduces its `splits` contiguous partials.
  ReduceParams q = p;
  q.in = partial;
  q.out = out.data;
  q.R = splits;
  q.chunk = splits;
  q.red_on_x = true;
  dim3 block2(std::min<uint32_t>(256, pow2_at_least(splits)), 1);
  block2.y = 256 / block2.x;
  uint32_t blocks2 = (p.M + block2.y - 1) / block2.y;
  reduce_kernel<P, 2><<<dim3(blocks2, 1), block2, size_t(256) * sizeof(Acc), stream>>>(q);
  TF_CUDA_CHECK_LAUNCH();
  alloc.deallocate(partial);  // stream-ordered: later work on this stream runs after pass 2
}

// kept: (x, out) dims of the outputs; red: x dims of the reduced elements.
template <bool kSplit, class P>
void run_reduce(const Dims<2>& kept, const Dims<1>& red, const View& x, const View& out,
                CachingAllocator* alloc, cudaStream_t stream) {
  using Acc = typename P::Acc;
  ReduceParams p;
  p.in = x.data;
  p.out = out.data;
  p.kept = make_calc<2, uint32_t>(kept);
  p.red = make_calc<1, uint32_t>(red);
  p.M = uint32_t(kept.numel());
  p.R = uint32_t(red.numel());
  bool red_contig = red.rank > 0 && red.stride[0][0] == 1;
  bool kept_contig = kept.rank > 0 && kept.stride[0][0] == 1;
  p.red_on_x = p.R >= 32 && (red_contig || !kept_contig || p.M == 1);
  dim3 block;
  if (p.red_on_x) {
    block.x = std::min<uint32_t>(256, pow2_at_least(p.R));
    block.y = 256 / block.x;
  } else {
    block.x = std::min<uint32_t>(p.R >= 32 ? 32 : 256, pow2_at_least(p.M));
    block.y = std::min<uint32_t>(256 / block.x, pow2_at_least(p.R));
  }
  uint32_t n_m = p.red_on_x ? block.y : block.x, n_r = p.red_on_x ? block.x : block.y;
  uint32_t blocks_m = (p.M + n_m - 1) / n_m;
  uint32_t target = uint32_t(4 * sm_count());
  uint32_t splits = 1;
  if (kSplit && blocks_m < target && p.R > n_r * 64u) {
    splits = std::min<uint32_t>((target + blocks_m - 1) / blocks_m, p.R / (n_r * 64u));
    splits = std::min<uint32_t>(splits, 1024);
  }
  p.chunk = splits > 1 ? (p.R + splits - 1) / splits : std::max<uint32_t>(p.R, 1);
  if (splits > 1) splits = (p.R + p.chunk - 1) / p.chunk;
  size_t smem = size_t(block.x) * block.y * sizeof(Acc);
  if (splits <= 1) {
    reduce_kernel<P, 0><<<dim3(blocks_m, 1), block, smem, stream>>>(p);
    TF_CUDA_CHECK_LAUNCH();
    return;
  }
  if constexpr (kSplit) run_split<P>(p, block, smem, splits, blocks_m, out, *alloc, stream);
}

void check_fits(const char* op, const Dims<2>& kept, const Dims<1>& red) {
  if (kept.numel() >= kMax32 || red.numel() >= kMax32 || kept.extent(0) + red.extent(0) >= kMax32 ||
      kept.extent(1) >= kMax32)
    fail(op, ": CUDA reductions over tensors of 2^31 or more elements are not supported");
}

}  // namespace

void launch_reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out,
                   CachingAllocator& alloc, cudaStream_t stream) {
  if (out.numel() == 0) return;
  if (size_t(op) >= size_t(ReduceOp::Count)) fail("cuda reduce: unknown op #", int(op));
  bool logical = is_bool_output(op);
  if (logical && x.dtype != kBool) {
    // all/any of numbers: reduce the bool view `x != 0` (one instantiation instead of six).
    View b = x;
    b.dtype = kBool;
    int64_t s = 1;
    for (int d = b.rank - 1; d >= 0; --d) { b.strides[d] = s; s *= b.shape[d]; }
    void* buf = alloc.allocate(size_t(x.numel()));
    b.data = buf;
    launch_copy(x, b, stream);
    launch_reduce(op, b, axes_mask, out, alloc, stream);
    alloc.deallocate(buf);
    return;
  }
  if (out.dtype != (logical ? kBool : x.dtype))
    fail("cuda reduce: ", op_name(op), " on ", x.dtype, " cannot write ", out.dtype);
  int64_t kshape[kMaxDims], rshape[kMaxDims], kx[kMaxDims], ko[kMaxDims], rx[kMaxDims];
  int nk = 0, nr = 0;
  for (int d = 0; d < x.rank; ++d) {
    if (axes_mask & (1u << d)) {
      rshape[nr] = x.shape[d];
      rx[nr++] = x.strides[d];
    } else {
      kshape[nk] = x.shape[d];
      kx[nk] = x.strides[d];
      ko[nk++] = out.strides[d];
    }
  }
  const int64_t* ks[2] = {kx, ko};
  const int64_t* rs[1] = {rx};
  Dims<2> kept = coalesce<2>(nk, kshape, ks);
  Dims<1> red = coalesce<1>(nr, rshape, rs);
  check_fits("cuda reduce", kept, red);
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    auto run = [&](auto policy) {
      run_reduce<true, decltype(policy)>(kept, red, x, out, &alloc, stream);
    };
    // One case per line of TAPEFLOW_REDUCE_OPS; the Bool-output ones only see bool input.
    switch (op) {
#define TF_REDUCE_CASE(E, N, OUT)                                                     \
      case ReduceOp::E:                                                               \
        if constexpr (!is_bool_output(ReduceOp::E) || std::is_same_v<T, bool>)        \
          return run(ReducePolicy<ReduceOp::E, T>{});                                 \
        else                                                                          \
          fail("cuda reduce: ", N, " of ", x.dtype, " must come as bool");
      TAPEFLOW_REDUCE_OPS(TF_REDUCE_CASE)
#undef TF_REDUCE_CASE
      default:
        fail("cuda reduce: unknown op #", int(op));
    }
  });
}

void launch_arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out,
                       cudaStream_t stream) {
  if (out.numel() == 0) return;
  if (out.dtype != kInt64) fail("cuda arg_reduce: out must be int64, got ", out.dtype);
  int64_t kshape[kMaxDims], kx[kMaxDims], ko[kMaxDims];
  int nk = 0;
  for (int d = 0; d < x.rank; ++d) {
    if (d == axis) continue;
    kshape[nk] = x.shape[d];
    kx[nk] = x.strides[d];
    ko[nk++] = out.strides[d];
  }
  const int64_t* ks[2] = {kx, ko};
  Dims<2> kept = coalesce<2>(nk, kshape, ks);
  // The reduced axis stays one dim (even of size 1) so that r is the index along it.
  Dims<1> red;
  if (x.rank > 0) {
    red.rank = 1;
    red.size[0] = x.shape[axis];
    red.stride[0][0] = x.strides[axis];
  }
  check_fits("cuda arg_reduce", kept, red);
  visit_dtype(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    if (op == ArgReduceOp::ArgMax)
      run_reduce<false, ArgPolicy<ArgReduceOp::ArgMax, T>>(kept, red, x, out, nullptr, stream);
    else
      run_reduce<false, ArgPolicy<ArgReduceOp::ArgMin, T>>(kept, red, x, out, nullptr, stream);
  });
}

}  // namespace tapeflow::backend::cuda
