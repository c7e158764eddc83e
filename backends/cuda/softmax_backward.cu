// Fused backward of softmax / log-softmax over one axis on CUDA, one row sum then the
// gradient, in one kernel:
//   softmax:      gx = y * (gy - sum(gy * y))
//   log-softmax:  gx = gy - exp(y) * sum(gy)        (y is the log-softmax output)
// Same launch shapes as softmax.cu: bx threads per contiguous row, else a thread per row.
#include <algorithm>

#include "backends/cuda/check.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/rows.cuh"

namespace tapeflow::backend::cuda {
namespace {

// ---- kernels ----

template <class T>
__global__ void softmax_backward_rows_kernel(const T* y, const T* gy, T* gx,
                                             OffsetCalc<3, uint32_t> rows, uint32_t nrows,
                                             uint32_t L, bool log) {
  __shared__ T smem[32][32];
  const uint32_t row = blockIdx.x * blockDim.y + threadIdx.y;
  const bool active = row < nrows;
  uint32_t off[3] = {0, 0, 0};
  if (active) rows.get(row, off);
  const T* yr = y + off[0];
  const T* gyr = gy + off[1];
  T sum = 0;
  if (active)
    for (uint32_t k = threadIdx.x; k < L; k += blockDim.x) sum += log ? gyr[k] : gyr[k] * yr[k];
  sum = row_reduce<false>(sum, smem);
  if (!active) return;
  T* gxr = gx + off[2];
  for (uint32_t k = threadIdx.x; k < L; k += blockDim.x)
    gxr[k] = log ? gyr[k] - ::exp(yr[k]) * sum : yr[k] * (gyr[k] - sum);
}

template <class T>
__global__ void softmax_backward_cols_kernel(const T* y, const T* gy, T* gx,
                                             OffsetCalc<3, uint32_t> rows, uint32_t nrows,
                                             uint32_t L, uint32_t sy, uint32_t sg, uint32_t sx,
                                             bool log) {
  const uint32_t step = gridDim.x * blockDim.x;
  for (uint32_t row = blockIdx.x * blockDim.x + threadIdx.x; row < nrows; row += step) {
    uint32_t off[3];
    rows.get(row, off);
    const T* yr = y + off[0];
    const T* gyr = gy + off[1];
    T* gxr = gx + off[2];
    T sum = 0;
    for (uint32_t k = 0; k < L; ++k) sum += log ? gyr[k * sg] : gyr[k * sg] * yr[k * sy];
    for (uint32_t k = 0; k < L; ++k) {
      T g = gyr[k * sg], v = yr[k * sy];
      gxr[k * sx] = log ? g - ::exp(v) * sum : v * (g - sum);
    }
  }
}

// ---- launchers ----

template <class T>
void run_backward(const View& y, const View& gy, int axis, bool log, const View& gx,
                  cudaStream_t stream) {
  const View* views[3] = {&y, &gy, &gx};
  Rows<3> r = rows_of<3>("softmax_backward", views, axis);
  const uint32_t nrows = uint32_t(r.count()), L = uint32_t(r.length);
  if (nrows == 0 || L == 0) return;
  auto calc = make_calc<3, uint32_t>(r.dims);
  const T* py = static_cast<const T*>(y.data);
  const T* pg = static_cast<const T*>(gy.data);
  T* px = static_cast<T*>(gx.data);
  if (r.contiguous_axis()) {
    dim3 block(threads_per_row(L), 1);
    block.y = block.x >= 256 ? 1 : 256 / block.x;
    unsigned grid = unsigned((nrows + block.y - 1) / block.y);
    softmax_backward_rows_kernel<T><<<grid, block, 0, stream>>>(py, pg, px, calc, nrows, L, log);
  } else {
    unsigned grid = unsigned(std::min<int64_t>((int64_t(nrows) + 255) / 256, 1 << 16));
    softmax_backward_cols_kernel<T><<<grid, 256, 0, stream>>>(
        py, pg, px, calc, nrows, L, uint32_t(r.axis_stride[0]), uint32_t(r.axis_stride[1]),
        uint32_t(r.axis_stride[2]), log);
  }
  TF_CUDA_CHECK_LAUNCH();
}

}  // namespace

void launch_softmax_backward(const View& y, const View& gy, int axis, bool log, const View& gx,
                             cudaStream_t stream) {
  if (y.dtype != gy.dtype || y.dtype != gx.dtype)
    fail("softmax_backward: dtype mismatch ", y.dtype, ", ", gy.dtype, " -> ", gx.dtype);
  if (y.dtype == kFloat32) run_backward<float>(y, gy, axis, log, gx, stream);
  else if (y.dtype == kFloat64) run_backward<double>(y, gy, axis, log, gx, stream);
  else fail("softmax_backward: the CUDA backend needs float32 or float64, got ", y.dtype);
}

}  // namespace tapeflow::backend::cuda
