// The CPU backend: the whole contract of backends/backend.h over host memory. Member functions
// are defined by family in this folder: memory and the singleton (cpu_backend.cpp), unary.cpp,
// binary.cpp (binary, where), copy.cpp (fill, copy_strided), reduce.cpp, scan.cpp (arg_reduce,
// cumsum), gemm.cpp, indexing.cpp, random.cpp, softmax.cpp,
// window.cpp (im2col, col2im), conv.cpp (fused conv2d), pool.cpp (max / average pooling).
// Internal header (not part of the public API).
#pragma once
#include "backends/backend.h"

namespace tapeflow::backend::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device::cpu(); }

  void* allocate(size_t nbytes) override;
  void deallocate(void* p, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;
  void copy_within(void* dst, const void* src, size_t nbytes) override;
  void synchronize() override {}

  void fill(const View& out, double value) override;
  void unary(UnaryOp op, const View& x, const View& out, double alpha, double beta) override;
  void binary(BinaryOp op, const View& a, const View& b, const View& out) override;
  void where(const View& cond, const View& a, const View& b, const View& out) override;
  void copy_strided(const View& src, const View& dst) override;

  void reduce(ReduceOp op, const View& x, uint32_t axes_mask, const View& out) override;
  void arg_reduce(ArgReduceOp op, const View& x, int axis, const View& out) override;
  void cumsum(const View& x, int axis, const View& out) override;

  void gemm(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K,
            double alpha, const void* A, int64_t lda, int64_t stride_a, const void* B,
            int64_t ldb, int64_t stride_b, double beta, void* C, int64_t ldc,
            int64_t stride_c, int64_t batch) override;

  void index_select(const View& x, int axis, const View& index, const View& out) override;
  void index_add(const View& out, int axis, const View& index, const View& src) override;
  void gather(const View& x, int axis, const View& index, const View& out) override;
  void scatter_add(const View& out, int axis, const View& index, const View& src) override;

  void random(RandomKind kind, const View& out, uint64_t seed, uint64_t offset, double a,
              double b) override;

  // window.cpp, pool.cpp
  void im2col(const Window2d& g, const View& x, const View& cols) override;
  void col2im(const Window2d& g, const View& cols, const View& x) override;
  void max_pool2d(const Window2d& g, const View& x, const View& out, const View& indices) override;
  void max_pool2d_backward(const Window2d& g, const View& gy, const View& indices,
                           const View& gx) override;
  void avg_pool2d(const Window2d& g, bool count_include_pad, const View& x, const View& out) override;
  void avg_pool2d_backward(const Window2d& g, bool count_include_pad, const View& gy,
                           const View& gx) override;
  // conv.cpp
  bool conv2d_forward(const Window2d& g, int64_t groups, const View& x, const View& w, const View& bias,
                      const View& y) override;
  bool conv2d_backward(const Window2d& g, int64_t groups, const View& x, const View& w, const View& gy,
                       const View& gx, const View& gw, const View& gb) override;

  // norm.cpp, sort.cpp
  void batch_norm_stats(const View& x, const View& mean, const View& var) override;
  void batch_norm_forward(const View& x, const View& mean, const View& invstd, const View& weight,
                          const View& bias, const View& out) override;
  void batch_norm_backward(const View& x, const View& gy, const View& mean, const View& invstd,
                           const View& weight, bool training, const View& gx, const View& gweight,
                           const View& gbias) override;
  void layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                          const View& out, const View& mean, const View& rstd) override;
  void layer_norm_backward(const View& x, const View& gy, const View& mean, const View& rstd,
                           const View& weight, const View& gx, const View& gweight,
                           const View& gbias) override;
  void sort_rows(const View& x, int64_t k, bool descending, const View& values,
                 const View& indices) override;
  void lstm_gates(const View& gates, const View& c, const View& hc) override;  // rnn.cpp
  void lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc,
                           const View& ggates, const View& gc) override;
  void softmax(const View& x, int axis, bool log, const View& out) override;
  void softmax_backward(const View& y, const View& gy, int axis, bool log,
                        const View& gx) override;

  // optimizer.cpp
  bool optimizer_step(const OptimizerStep& s, const View& param, const View& grad, const View* state,
                      int nstate) override;

  // gemm.cpp
  bool gemm_bias(DType dtype, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const void* A,
                 int64_t lda, const void* B, int64_t ldb, const void* bias, void* C, int64_t ldc) override;

  // prefetch.cpp: queued for the small-gemm kernel to bring in between its tiles
  void prefetch_rows(const void* base, int64_t row_bytes, const int64_t* rows, int64_t n) override;

  // cross_entropy.cpp
  bool cross_entropy_forward(const View& z, const View& labels, const View& lsm, const View& loss) override;
  bool cross_entropy_backward(const View& lsm, const View& labels, const View& g, const View& gx) override;
};

}  // namespace tapeflow::backend::cpu
