// CpuBackend::fill and CpuBackend::copy_strided (materialising a view, with a dtype conversion
// when the dtypes differ: the convert<> rules of loops.h). Same-dtype contiguous copies are a
// parallel memcpy, transposes of the two innermost dims go tile by tile, everything else goes
// through the strided loop.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"

namespace tapeflow::backend::cpu {
namespace {

// dst[.., i, j] = src[.., i, j] where dst is contiguous along j and src along i (a transpose of
// the two innermost dims): 32x32 tiles staged through a buffer, so that both sides move whole
// cache lines at once (power-of-two strides would otherwise thrash the L1 sets), walked in
// 256x256 blocks so that the pages in use stay within the TLB.
template <class To, class From>
void copy_transposed(const Loop<2>& L) {
  constexpr int64_t kT = 32, kB = 256;  // tile, and block of tiles (bounds the pages in use)
  const int r = L.rank;
  const int64_t R = L.shape[r - 2], C = L.shape[r - 1];
  const int64_t dsi = L.strides[0][r - 2] / int64_t(sizeof(To));    // dst row stride (elements)
  const int64_t ssj = L.strides[1][r - 1] / int64_t(sizeof(From));  // src column stride
  const int64_t rb = (R + kB - 1) / kB, cb = (C + kB - 1) / kB;
  const int64_t outer = L.numel / (R * C), ntasks = outer * rb * cb;
  parallel_for(0, ntasks, 1 + kGrain / (kB * kB), [&](int64_t t0, int64_t t1) {
    To buf[kT][kT];  // buf[j][i]: whole source runs in, whole destination runs out
    for (int64_t t = t0; t < t1; ++t) {
      Walker<2> w(r - 2, L.shape, L.strides, t / (rb * cb));
      To* dplane = reinterpret_cast<To*>(L.data[0] + w.off[0]);
      const From* splane = reinterpret_cast<const From*>(L.data[1] + w.off[1]);
      const int64_t bi = (t / cb) % rb * kB, bj = t % cb * kB;
      const int64_t bi1 = bi + kB < R ? bi + kB : R, bj1 = bj + kB < C ? bj + kB : C;
      for (int64_t i0 = bi; i0 < bi1; i0 += kT)
        for (int64_t j0 = bj; j0 < bj1; j0 += kT) {
          const int64_t i1 = i0 + kT < bi1 ? i0 + kT : bi1, j1 = j0 + kT < bj1 ? j0 + kT : bj1;
          for (int64_t j = j0; j < j1; ++j)
            for (int64_t i = i0; i < i1; ++i) buf[j - j0][i - i0] = convert<To>(splane[i + j * ssj]);
          for (int64_t i = i0; i < i1; ++i)
            for (int64_t j = j0; j < j1; ++j) dplane[i * dsi + j] = buf[j - j0][i - i0];
        }
    }
  });
}

}  // namespace

void CpuBackend::fill(const View& out, double value) {
  const View* views[1] = {&out};
  Loop<1> L = make_loop("fill", views);
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    const T v = convert<T>(value);
    for_each(L, kGrain, [v](char* const* p, const int64_t* s, int64_t n) {
      if (s[0] == int64_t(sizeof(T))) {
        T* o = reinterpret_cast<T*>(p[0]);
        for (int64_t i = 0; i < n; ++i) o[i] = v;
      } else {
        for (int64_t i = 0; i < n; ++i) at<T>(p[0], i, s[0]) = v;
      }
    });
  });
}

void CpuBackend::copy_strided(const View& src, const View& dst) {
  const View* views[2] = {&dst, &src};
  Loop<2> L = make_loop("copy_strided", views);
  if (L.numel == 0) return;
  if (src.dtype == dst.dtype && L.rank <= 1 &&
      (L.rank == 0 || (L.strides[0][0] == L.strides[1][0] &&
                       L.strides[0][0] == int64_t(dtype_size(dst.dtype))))) {
    size_t nbytes = size_t(L.numel) * dtype_size(dst.dtype);
    char* d = L.data[0];
    const char* s = L.data[1];
    if (d == s) return;
    parallel_for(0, int64_t(nbytes), int64_t(1) << 20, [&](int64_t b, int64_t e) {
      std::memcpy(d + b, s + b, size_t(e - b));
    });
    return;
  }
  const int r = L.rank;
  const int64_t ds = int64_t(dtype_size(dst.dtype)), ss = int64_t(dtype_size(src.dtype));
  const bool transposed = r >= 2 && L.strides[0][r - 1] == ds && L.strides[1][r - 2] == ss &&
                          L.strides[1][r - 1] != ss && L.shape[r - 1] >= 8 && L.shape[r - 2] >= 8 &&
                          L.strides[0][r - 2] % ds == 0 && L.strides[1][r - 1] % ss == 0;
  visit_dtype(dst.dtype, [&](auto to_tag) {
    using To = decltype(to_tag);
    visit_dtype(src.dtype, [&](auto from_tag) {
      using From = decltype(from_tag);
      if (transposed) copy_transposed<To, From>(L);
      else for_each(L, kGrain, make_map1<To, From>([](From v) { return convert<To>(v); }));
    });
  });
}

}  // namespace tapeflow::backend::cpu
