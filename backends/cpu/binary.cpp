// CpuBackend::binary and CpuBackend::where. Binary kernels come from the scalar functors in
// backends/functors.h through a table generated from the BinaryOp enum; the inner loop has
// contiguous, in-place (out == a or out == b), scalar-broadcast (one input with stride 0) and
// general strided paths.
#include <array>
#include <utility>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {
namespace {

template <class To, class Ti, class F>
void map2_contig(To* __restrict o, const Ti* __restrict a, const Ti* __restrict b, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], b[i]);
}
template <class T, class F>
void map2_inplace_a(T* __restrict o, const T* __restrict b, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(o[i], b[i]);
}
template <class T, class F>
void map2_inplace_b(T* __restrict o, const T* __restrict a, int64_t n, F f) {
  for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], o[i]);
}

template <class To, class Ti, class F>
struct Map2 {
  F f;
  void operator()(char* const* p, const int64_t* s, int64_t n) const {
    To* o = reinterpret_cast<To*>(p[0]);
    const Ti* a = reinterpret_cast<const Ti*>(p[1]);
    const Ti* b = reinterpret_cast<const Ti*>(p[2]);
    constexpr int64_t so = sizeof(To), si = sizeof(Ti);
    constexpr bool same = std::is_same_v<To, Ti>;
    const F& fn = f;
    if (s[0] == so) {
      if (s[1] == si && s[2] == si) {
        if constexpr (same) {
          if (o == a && o != b) return map2_inplace_a(o, b, n, fn);
          if (o == b && o != a) return map2_inplace_b(o, a, n, fn);
          if (o == a) return map1_inplace(o, n, [&fn](Ti v) { return fn(v, v); });
        }
        return map2_contig(o, a, b, n, fn);
      }
      if (s[1] == 0 && s[2] == si) {  // a is a broadcast scalar
        const Ti av = *a;
        auto g = [av, &fn](Ti v) { return fn(av, v); };
        if constexpr (same) { if (o == b) return map1_inplace(o, n, g); }
        return map1_contig(o, b, n, g);
      }
      if (s[2] == 0 && s[1] == si) {  // b is a broadcast scalar
        const Ti bv = *b;
        auto g = [bv, &fn](Ti v) { return fn(v, bv); };
        if constexpr (same) { if (o == a) return map1_inplace(o, n, g); }
        return map1_contig(o, a, n, g);
      }
    }
    for (int64_t i = 0; i < n; ++i)
      at<To>(p[0], i, s[0]) = fn(at<const Ti>(p[1], i, s[1]), at<const Ti>(p[2], i, s[2]));
  }
};
template <class To, class Ti, class F> Map2<To, Ti, F> make_map2(F f) { return Map2<To, Ti, F>{f}; }

constexpr bool is_expensive(BinaryOp op) { return op == BinaryOp::Pow; }

template <BinaryOp op>
void binary_kernel(const Loop<3>& L, DType dtype) {
  const int64_t grain = is_expensive(op) ? kGrain / 8 : kGrain;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_bool_output(op))
      for_each(L, grain, make_map2<bool, T>([](T a, T b) { return compare_fn<op, T>(a, b); }));
    else
      for_each(L, grain, make_map2<T, T>([](T a, T b) { return binary_fn<op, T>(a, b); }));
  });
}

using BinaryKernel = void (*)(const Loop<3>&, DType);
template <size_t... I>
constexpr std::array<BinaryKernel, sizeof...(I)> make_binary_table(std::index_sequence<I...>) {
  return {&binary_kernel<BinaryOp(I)>...};
}
constexpr auto kBinaryTable = make_binary_table(std::make_index_sequence<size_t(BinaryOp::Count)>{});

template <class T>
void where_contig(T* __restrict o, const bool* __restrict c, const T* __restrict a,
                  const T* __restrict b, int64_t n) {
  for (int64_t i = 0; i < n; ++i) o[i] = c[i] ? a[i] : b[i];
}

}  // namespace

void CpuBackend::binary(BinaryOp op, const View& a, const View& b, const View& out) {
  if (size_t(op) >= kBinaryTable.size()) fail("binary: unknown op #", int(op));
  if (is_unary_grad(op) && !is_floating(a.dtype))
    fail("binary: ", op_name(op), " needs a floating dtype, got ", dtype_str(a.dtype));
  if (a.dtype != b.dtype)
    fail("binary: input dtypes differ: ", dtype_str(a.dtype), " and ", dtype_str(b.dtype));
  DType want = is_bool_output(op) ? DType::Bool : a.dtype;
  if (out.dtype != want)
    fail("binary: output dtype ", dtype_str(out.dtype), " does not match ", dtype_str(want), " for ", op_name(op));
  const View* views[3] = {&out, &a, &b};
  Loop<3> L = make_loop("binary", views);
  kBinaryTable[size_t(op)](L, a.dtype);
}

void CpuBackend::where(const View& cond, const View& a, const View& b, const View& out) {
  if (cond.dtype != DType::Bool) fail("where: condition must be bool, got ", dtype_str(cond.dtype));
  if (a.dtype != out.dtype || b.dtype != out.dtype)
    fail("where: dtypes differ: ", dtype_str(a.dtype), ", ", dtype_str(b.dtype), " -> ", dtype_str(out.dtype));
  const View* views[4] = {&out, &cond, &a, &b};
  Loop<4> L = make_loop("where", views);
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    for_each(L, kGrain, [](char* const* p, const int64_t* s, int64_t n) {
      if (all_contiguous<T, bool, T, T>(s))
        return where_contig(reinterpret_cast<T*>(p[0]), reinterpret_cast<const bool*>(p[1]),
                            reinterpret_cast<const T*>(p[2]), reinterpret_cast<const T*>(p[3]), n);
      for (int64_t i = 0; i < n; ++i)
        at<T>(p[0], i, s[0]) = at<const bool>(p[1], i, s[1]) ? at<const T>(p[2], i, s[2]) : at<const T>(p[3], i, s[3]);
    });
  });
}

}  // namespace tapeflow::backend::cpu
