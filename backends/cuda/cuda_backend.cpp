// The CUDA backend's entry points (the Backend contract): memory and transfers, and the thin
// dispatch to the kernel launchers. Element-wise layouts that need 64-bit index math run on
// dense temporaries (copied with the 64-bit copy kernel) and are copied back.
#include "backends/cuda/cuda_backend.h"

#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "base/error.h"

namespace tapeflow::backend::cuda {

CudaBackend::CudaBackend(int index) : index_(index), alloc_(index) {
  set_current();
  TF_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  TF_CUBLAS_CHECK(cublasCreate(&cublas_));
  TF_CUBLAS_CHECK(cublasSetStream(cublas_, stream_));
}

void CudaBackend::set_current() const {
  // NOTE: a per-thread cache of the current device saves a driver call per op; code that
  // calls cudaSetDevice itself behind tapeflow's back is not supported.
  static thread_local int current = -1;
  if (current != index_) {
    TF_CUDA_CHECK(cudaSetDevice(index_));
    current = index_;
  }
}

// ---- memory ----

void* CudaBackend::allocate(size_t nbytes) {
  set_current();
  return alloc_.allocate(nbytes);
}

void CudaBackend::deallocate(void* p, size_t) { alloc_.deallocate(p); }

void CudaBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  set_current();
  staging_.upload(dst, src, nbytes, stream_);
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  set_current();
  staging_.download(dst, src, nbytes, stream_);
}

void CudaBackend::copy_within(void* dst, const void* src, size_t nbytes) {
  if (nbytes == 0 || dst == src) return;
  set_current();
  TF_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToDevice, stream_));
}

void CudaBackend::synchronize() {
  set_current();
  TF_CUDA_CHECK(cudaStreamSynchronize(stream_));
}

void CudaBackend::empty_cache() {
  synchronize();
  alloc_.empty_cache();
}

// ---- 64-bit fallback ----

namespace {
bool all_broadcast(const View& v) {
  for (int d = 0; d < v.rank; ++d)
    if (v.shape[d] > 1 && v.strides[d] != 0) return false;
  return true;
}
}  // namespace

CudaBackend::Dense CudaBackend::densify(const View& v, bool copy_in) {
  Dense d;
  d.view = v;
  if (v.is_contiguous() || (copy_in && all_broadcast(v))) return d;
  int64_t s = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    d.view.strides[i] = s;
    s *= v.shape[i];
  }
  d.owned = alloc_.allocate(size_t(v.numel()) * dtype_size(v.dtype));
  d.view.data = d.owned;
  if (copy_in) launch_copy(v, d.view, stream_);  // same dtype: always succeeds
  return d;
}

void CudaBackend::release(Dense& d, const View& original, bool copy_out) {
  if (!d.owned) return;
  if (copy_out) launch_copy(d.view, original, stream_);
  alloc_.deallocate(d.owned);
  d.owned = nullptr;
}

// ---- element-wise ----

void CudaBackend::fill(const View& out, double value) {
  set_current();
  launch_fill(out, value, stream_);
}

void CudaBackend::unary(UnaryOp op, const View& x, const View& out, double alpha, double beta) {
  set_current();
  if (launch_unary(op, x, out, alpha, beta, stream_)) return;
  Dense xd = densify(x, true), od = densify(out, false);
  launch_unary(op, xd.view, od.view, alpha, beta, stream_);
  release(xd, x, false);
  release(od, out, true);
}

void CudaBackend::binary(BinaryOp op, const View& a, const View& b, const View& out) {
  set_current();
  if (launch_binary(op, a, b, out, stream_)) return;
  Dense ad = densify(a, true), bd = densify(b, true), od = densify(out, false);
  launch_binary(op, ad.view, bd.view, od.view, stream_);
  release(ad, a, false);
  release(bd, b, false);
  release(od, out, true);
}

void CudaBackend::where(const View& cond, const View& a, const View& b, const View& out) {
  set_current();
  if (launch_where(cond, a, b, out, stream_)) return;
  Dense cd = densify(cond, true), ad = densify(a, true), bd = densify(b, true);
  Dense od = densify(out, false);
  launch_where(cd.view, ad.view, bd.view, od.view, stream_);
  release(cd, cond, false);
  release(ad, a, false);
  release(bd, b, false);
  release(od, out, true);
}

void CudaBackend::copy_strided(const View& src, const View& dst) {
  set_current();
  if (launch_copy(src, dst, stream_)) return;
  // A cast over a layout that needs 64-bit math: dense source, flat cast, copy back.
  Dense sd = densify(src, true);
  Dense dd = densify(dst, false);
  launch_copy(sd.view, dd.view, stream_);
  release(sd, src, false);
  release(dd, dst, true);
}

// ---- reductions, indexing, random, fused ----

void CudaBackend::reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out) {
  set_current();
  launch_reduce(op, x, axes_mask, out, alloc_, stream_);
}

void CudaBackend::arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out) {
  set_current();
  launch_arg_reduce(op, x, axis, out, stream_);
}

void CudaBackend::cumsum(const View& x, int axis, const View& out) {
  set_current();
  launch_cumsum(x, axis, out, stream_);
}

void CudaBackend::index_select(const View& x, int axis, const View& index, const View& out) {
  set_current();
  launch_index_select(x, axis, index, out, stream_);
}

void CudaBackend::index_add(const View& out, int axis, const View& index, const View& src) {
  set_current();
  launch_index_add(out, axis, index, src, stream_);
}

void CudaBackend::gather(const View& x, int axis, const View& index, const View& out) {
  set_current();
  launch_gather(x, axis, index, out, stream_);
}

void CudaBackend::scatter_add(const View& out, int axis, const View& index, const View& src) {
  set_current();
  launch_scatter_add(out, axis, index, src, stream_);
}

void CudaBackend::random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset,
                         double a, double b) {
  set_current();
  launch_random(kind, out, seed, offset, a, b, stream_);
}

// ---- convolution and pooling (the front end hands over contiguous operands) ----

void CudaBackend::im2col(const Window2d& g, const View& x, const View& cols) {
  set_current();
  launch_im2col(g, x, cols, stream_);
}

void CudaBackend::col2im(const Window2d& g, const View& cols, const View& x) {
  set_current();
  launch_col2im(g, cols, x, stream_);
}

void CudaBackend::max_pool2d(const Window2d& g, const View& x, const View& out, const View& indices) {
  set_current();
  launch_max_pool2d(g, x, out, indices, stream_);
}

void CudaBackend::max_pool2d_backward(const Window2d& g, const View& gy, const View& indices,
                                      const View& gx) {
  set_current();
  launch_max_pool2d_backward(g, gy, indices, gx, stream_);
}

void CudaBackend::avg_pool2d(const Window2d& g, bool count_include_pad, const View& x, const View& out) {
  set_current();
  launch_avg_pool2d(g, count_include_pad, x, out, stream_);
}

void CudaBackend::avg_pool2d_backward(const Window2d& g, bool count_include_pad, const View& gy,
                                      const View& gx) {
  set_current();
  launch_avg_pool2d_backward(g, count_include_pad, gy, gx, stream_);
}

void CudaBackend::softmax(const View& x, int axis, bool log, const View& out) {
  set_current();
  launch_softmax(x, axis, log, out, stream_);
}

void CudaBackend::softmax_backward(const View& y, const View& gy, int axis, bool log,
                                   const View& gx) {
  set_current();
  launch_softmax_backward(y, gy, axis, log, gx, stream_);
}

// ---- normalisation, sorting and the LSTM gate update (norm.cu, sort.cu) ----
void CudaBackend::batch_norm_stats(const View& x, const View& mean, const View& var) {
  set_current();
  launch_batch_norm_stats(x, mean, var, stream_);
}

void CudaBackend::batch_norm_forward(const View& x, const View& mean, const View& invstd,
                                     const View& weight, const View& bias, const View& out) {
  set_current();
  launch_batch_norm_forward(x, mean, invstd, weight, bias, out, stream_);
}

void CudaBackend::batch_norm_backward(const View& x, const View& gy, const View& mean,
                                      const View& invstd, const View& weight, bool training,
                                      const View& gx, const View& gweight, const View& gbias) {
  set_current();
  const size_t bytes = size_t(2 * std::max<int64_t>(1, x.shape[1])) * sizeof(double);
  void* sums = allocate(bytes);  // stream-ordered: reused only by later work on this stream
  launch_batch_norm_backward(x, gy, mean, invstd, weight, training, gx, gweight, gbias,
                             static_cast<double*>(sums), stream_);
  deallocate(sums, bytes);
}

void CudaBackend::layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                                     const View& out, const View& mean, const View& rstd) {
  set_current();
  launch_layer_norm_forward(x, weight, bias, eps, out, mean, rstd, stream_);
}

void CudaBackend::layer_norm_backward(const View& x, const View& gy, const View& mean,
                                      const View& rstd, const View& weight, const View& gx,
                                      const View& gweight, const View& gbias) {
  set_current();
  launch_layer_norm_backward(x, gy, mean, rstd, weight, gx, gweight, gbias, stream_);
}

void CudaBackend::sort_rows(const View& x, int64_t k, bool descending, const View& values,
                            const View& indices) {
  set_current();
  if (!launch_sort_rows(x, k, descending, values, indices, stream_))
    Backend::sort_rows(x, k, descending, values, indices);  // rows over 1024: host-staged
}

void CudaBackend::lstm_gates(const View& gates, const View& c, const View& hc) {
  set_current();
  launch_lstm_gates(gates, c, hc, stream_);
}

void CudaBackend::lstm_gates_backward(const View& gates, const View& c, const View& hc,
                                      const View& ghc, const View& ggates, const View& gc) {
  set_current();
  launch_lstm_gates_backward(gates, c, hc, ghc, ggates, gc, stream_);
}

}  // namespace tapeflow::backend::cuda
