// CpuBackend::unary: one kernel per UnaryOp, built from the scalar functor in
// backends/functors.h and dispatched through a table generated from the enum (a new op is a
// line of backends/op_table.h plus a functor line). Float32 exp/tanh/sigmoid use the vectorised
// polynomials of vec_math.cpp on every layout (strided runs are staged through a small buffer).
#include <array>
#include <utility>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/loops.h"
#include "backends/cpu/vec_math.h"
#include "backends/functors.h"

namespace tapeflow::backend::cpu {
namespace {

using VecFn = void (*)(const float*, float*, int64_t);

// Runs a float32 vector function over one run of the loop, staging strided data.
struct VecInner {
  VecFn fn;
  void operator()(char* const* p, const int64_t* s, int64_t n) const {
    float* o = reinterpret_cast<float*>(p[0]);
    const float* x = reinterpret_cast<const float*>(p[1]);
    if (s[0] == 4 && s[1] == 4) return fn(x, o, n);
    constexpr int64_t kBuf = 256;
    float buf[kBuf];
    for (int64_t i0 = 0; i0 < n; i0 += kBuf) {
      int64_t m = n - i0 < kBuf ? n - i0 : kBuf;
      for (int64_t i = 0; i < m; ++i) buf[i] = at<const float>(p[1], i0 + i, s[1]);
      fn(buf, buf, m);
      for (int64_t i = 0; i < m; ++i) at<float>(p[0], i0 + i, s[0]) = buf[i];
    }
  }
};

// NOTE: whether an op has a vector kernel is its own constexpr predicate: comparing function
// addresses with nullptr is not a constant expression under -fsanitize (the ASan build).
constexpr bool has_vec_fn(UnaryOp op) {
  return op == UnaryOp::Exp || op == UnaryOp::Tanh || op == UnaryOp::Sigmoid;
}
constexpr VecFn vec_fn_for(UnaryOp op) {
  return op == UnaryOp::Exp ? vec_exp_f32
       : op == UnaryOp::Tanh ? vec_tanh_f32
       : op == UnaryOp::Sigmoid ? vec_sigmoid_f32 : nullptr;
}

// Ops whose scalar cost is a libm call get smaller parallel chunks: the float-only ops except
// the cheap sqrt / rsqrt / reciprocal, and round.
constexpr bool is_expensive(UnaryOp op) {
  if (op == UnaryOp::Sqrt || op == UnaryOp::Rsqrt || op == UnaryOp::Reciprocal) return false;
  return is_float_only(op) || op == UnaryOp::Round;
}

template <UnaryOp op>
void unary_kernel(const Loop<2>& L, DType dtype, double alpha, double beta) {
  const int64_t grain = is_expensive(op) ? kGrain / 8 : kGrain;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (is_bool_output(op)) {
      for_each(L, grain, make_map1<bool, T>([](T v) { return unary_pred<op, T>(v); }));
    } else if constexpr (std::is_same_v<T, float> && has_vec_fn(op)) {
      for_each(L, grain, VecInner{vec_fn_for(op)});
    } else {
      for_each(L, grain, make_map1<T, T>([alpha, beta](T v) { return unary_fn<op, T>(v, alpha, beta); }));
    }
  });
}

using UnaryKernel = void (*)(const Loop<2>&, DType, double, double);
template <size_t... I>
constexpr std::array<UnaryKernel, sizeof...(I)> make_unary_table(std::index_sequence<I...>) {
  return {&unary_kernel<UnaryOp(I)>...};
}
constexpr auto kUnaryTable = make_unary_table(std::make_index_sequence<size_t(UnaryOp::Count)>{});

}  // namespace

void CpuBackend::unary(UnaryOp op, const View& x, const View& out, double alpha, double beta) {
  if (size_t(op) >= kUnaryTable.size()) fail("unary: unknown op #", int(op));
  if (is_float_only(op) && !is_floating(x.dtype))
    fail("unary: ", op_name(op), " needs a floating dtype, got ", dtype_str(x.dtype));
  DType want = is_bool_output(op) ? DType::Bool : x.dtype;
  if (out.dtype != want)
    fail("unary: output dtype ", dtype_str(out.dtype), " does not match ", dtype_str(want), " for ", op_name(op));
  const View* views[2] = {&out, &x};
  Loop<2> L = make_loop("unary", views);
  kUnaryTable[size_t(op)](L, x.dtype, alpha, beta);
}

}  // namespace tapeflow::backend::cpu
