// CpuBackend::fill and CpuBackend::copy_strided (materialising a view, with a dtype conversion
// when the dtypes differ: the convert<> rules of loops.h). Same-dtype contiguous copies are a
// parallel memcpy; everything else goes through the strided loop.
#include <cstring>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"

namespace tapeflow::backend::cpu {

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
  visit_dtype(dst.dtype, [&](auto to_tag) {
    using To = decltype(to_tag);
    visit_dtype(src.dtype, [&](auto from_tag) {
      using From = decltype(from_tag);
      for_each(L, kGrain, make_map1<To, From>([](From v) { return convert<To>(v); }));
    });
  });
}

}  // namespace tapeflow::backend::cpu
