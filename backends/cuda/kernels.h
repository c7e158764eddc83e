// The kernel launchers of the CUDA backend, one group per .cu file. Host-callable, asynchronous
// on the given stream. Element-wise launchers return false when the layout needs 64-bit index
// math; the backend then materialises the operands contiguously and calls again.
#pragma once
#include <cuda_runtime_api.h>

#include "backends/backend.h"

namespace tapeflow::backend::cuda {

class CachingAllocator;

// Streaming multiprocessors of the current device (cached per device); sizes split reductions.
int sm_count();

// unary.cu
bool launch_unary(UnaryOp op, const View& x, const View& out, double alpha, double beta,
                  cudaStream_t stream);
// binary.cu
bool launch_binary(BinaryOp op, const View& a, const View& b, const View& out, cudaStream_t stream);
// copy.cu: strided copies of any size, casts (false: needs 64-bit math), fill, where, random.
bool launch_copy(const View& src, const View& dst, cudaStream_t stream);
void launch_fill(const View& out, double value, cudaStream_t stream);
bool launch_where(const View& cond, const View& a, const View& b, const View& out,
                  cudaStream_t stream);
void launch_random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset, double a,
                   double b, cudaStream_t stream);
// reduce.cu (scratch for split reductions comes from the allocator)
void launch_reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out,
                   CachingAllocator& alloc, cudaStream_t stream);
void launch_arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out,
                       cudaStream_t stream);
// scan.cu
void launch_cumsum(const View& x, int axis, const View& out, cudaStream_t stream);
// softmax.cu / softmax_backward.cu
void launch_softmax(const View& x, int axis, bool log, const View& out, cudaStream_t stream);
void launch_softmax_backward(const View& y, const View& gy, int axis, bool log, const View& gx,
                             cudaStream_t stream);
// indexing.cu
void launch_index_select(const View& x, int axis, const View& index, const View& out,
                         cudaStream_t stream);
void launch_index_add(const View& out, int axis, const View& index, const View& src,
                      cudaStream_t stream);
void launch_gather(const View& x, int axis, const View& index, const View& out,
                   cudaStream_t stream);
void launch_scatter_add(const View& out, int axis, const View& index, const View& src,
                        cudaStream_t stream);

// window.cu / pool.cu (convolution and pooling; contiguous operands)
void launch_im2col(const Window2d& g, const View& x, const View& cols, cudaStream_t stream);
void launch_col2im(const Window2d& g, const View& cols, const View& x, cudaStream_t stream);
void launch_max_pool2d(const Window2d& g, const View& x, const View& out, const View& indices,
                       cudaStream_t stream);
void launch_max_pool2d_backward(const Window2d& g, const View& gy, const View& indices,
                                const View& gx, cudaStream_t stream);
void launch_avg_pool2d(const Window2d& g, bool count_include_pad, const View& x, const View& out,
                       cudaStream_t stream);
void launch_avg_pool2d_backward(const Window2d& g, bool count_include_pad, const View& gy,
                                const View& gx, cudaStream_t stream);

// norm.cu (normalisation and the LSTM gate update; contiguous operands, see backend.h)
void launch_batch_norm_stats(const View& x, const View& mean, const View& var, cudaStream_t stream);
void launch_batch_norm_forward(const View& x, const View& mean, const View& invstd, const View& w,
                               const View& b, const View& out, cudaStream_t stream);
// sums: device scratch of 2 * C doubles.
void launch_batch_norm_backward(const View& x, const View& gy, const View& mean, const View& invstd,
                                const View& w, bool training, const View& gx, const View& gw,
                                const View& gb, double* sums, cudaStream_t stream);
void launch_layer_norm_forward(const View& x, const View& w, const View& b, double eps,
                               const View& out, const View& mean, const View& rstd,
                               cudaStream_t stream);
void launch_layer_norm_backward(const View& x, const View& gy, const View& mean, const View& rstd,
                                const View& w, const View& gx, const View& gw, const View& gb,
                                cudaStream_t stream);
// sort.cu: rows of x (M, n) with n <= kSortRowsMax; false = not handled (longer rows, other
// dtypes): the caller falls back to the host-staged default.
constexpr int64_t kSortRowsMax = 1024;
bool launch_sort_rows(const View& x, int64_t k, bool descending, const View& values,
                      const View& indices, cudaStream_t stream);
void launch_lstm_gates(const View& gates, const View& c, const View& hc, cudaStream_t stream);
void launch_lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc,
                                const View& ggates, const View& gc, cudaStream_t stream);

}  // namespace tapeflow::backend::cuda
