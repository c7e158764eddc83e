// The input decoder of fuzz_tensor_ops.cpp: dtypes, sizes, shapes, scalars and axes drawn from
// the fuzz input, with the classes of sizes the harness keeps or avoids (see Count).
#pragma once
#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "tapeflow.h"

namespace fuzz {

namespace tf = tapeflow;

constexpr int64_t kMaxPoolElems = 1 << 12;

// Known bugs (issue 17, being fixed on another branch); with known=false the harness avoids:
//  K1 element counts that overflow int64 (zeros({1<<62, 4}), eye(2^32, 2^32), expand, reshape);
//     eye(n, m) too large to allocate throws std::bad_alloc
//  K2 undefined tensors passed to public calls (sum(t.grad()) before any backward)
//  K3 Scalar from a double outside int64's range, NaN or inf (x * INFINITY, full(s, NAN))
//  K4 signed overflow in integer element-wise ops and reductions; float-to-int casts out of range
//  K5 integer division by zero (SIGFPE) and in-place true division of integer tensors
//  K6 in-place op on a plain tensor whose operand requires grad (null AutogradMeta)
//  K7 reference cycles that leak: y.mul_(y) with grad (also x.add_(log(x)): any in-place op on a
//     tensor whose operand's graph saved it), a.set_grad(a), create_graph into a leaf
//  K8 slice/narrow/split/chunk with sizes, starts, stops or steps near INT64_MAX (overflow in
//     the bound arithmetic, e.g. chunk(INT64_MAX))
//  K9 (found here, reported, not fixed on this branch: creation.cpp is being changed elsewhere)
//     sizes too large to allocate in ops that first build a std::vector (arange, one_hot,
//     linspace) throw std::bad_alloc / std::length_error instead of a tapeflow::Error
inline bool known = false;

inline bool is_float(tf::DType t) { return t == tf::kFloat32 || t == tf::DType::Float64; }
struct Gen {
  FuzzedDataProvider in;

  Gen(const uint8_t* data, size_t size) : in(data, size) {}

  tf::DType dtype() {
    static const tf::DType all[] = {tf::DType::Bool, tf::DType::UInt8, tf::DType::Int32,
                                    tf::DType::Int64, tf::DType::Float32, tf::DType::Float64};
    return all[in.ConsumeIntegralInRange<int>(0, 5)];
  }
  tf::DType float_dtype() { return in.ConsumeBool() ? tf::kFloat32 : tf::DType::Float64; }

  // A size-like parameter: mostly small, sometimes zero, negative or huge.
  int64_t size_param() {
    switch (in.ConsumeIntegralInRange<int>(0, 11)) {
      case 0: return -1 - in.ConsumeIntegralInRange<int64_t>(0, 3);
      case 1: return std::numeric_limits<int64_t>::min();
      case 2: return std::numeric_limits<int64_t>::max();
      case 3: return int64_t(1) << in.ConsumeIntegralInRange<int>(16, 62);
      case 4: return in.ConsumeIntegral<int64_t>();
      default: return in.ConsumeIntegralInRange<int64_t>(0, 6);
    }
  }
  // An index-like parameter (dims, positions): small of either sign, sometimes extreme.
  int64_t index_param(bool extreme_ok = true) {
    int k = in.ConsumeIntegralInRange<int>(0, 9);
    if (extreme_ok && k == 0) return std::numeric_limits<int64_t>::max();
    if (extreme_ok && k == 1) return std::numeric_limits<int64_t>::min();
    if (extreme_ok && k == 2) return in.ConsumeIntegral<int64_t>();
    return in.ConsumeIntegralInRange<int64_t>(-6, 6);
  }
  int dim_param() { return int(in.ConsumeIntegralInRange<int>(-9, 9)); }

  // How a set of sizes would be allocated: Small (<= kMaxPoolElems elements, or a negative size:
  // an error), Refused (too large for any allocator: an error), Overflow (the count overflows
  // int64 even in bytes: an error once K1 is fixed) or Big (would really allocate: avoided).
  enum class Count { Small, Refused, Overflow, Big };
  // The magnitudes are multiplied first: the library multiplies before it looks at signs or zeros.
  static Count count_of(const std::vector<int64_t>& dims) {
    unsigned __int128 n = 1;
    bool zero = false, negative = false;
    for (int64_t d : dims) {
      if (d == 0) { zero = true; continue; }
      if (d < 0) negative = true;
      n *= d < 0 ? uint64_t(0) - uint64_t(d) : uint64_t(d);
      if (n > (unsigned __int128)(std::numeric_limits<int64_t>::max() / 8)) return Count::Overflow;
    }
    if (negative || zero || n <= uint64_t(kMaxPoolElems)) return Count::Small;
    if (n > (uint64_t(1) << 31)) return Count::Refused;
    return Count::Big;
  }
  bool allowed(const std::vector<int64_t>& dims) {
    Count c = count_of(dims);
    return c == Count::Small || c == Count::Refused || (c == Count::Overflow && known);
  }

  tf::Shape shape() {
    int rank = in.ConsumeIntegralInRange<int>(0, in.ConsumeBool() ? 9 : 4);
    std::vector<int64_t> dims;
    for (int i = 0; i < rank; ++i) dims.push_back(size_param());
    if (!allowed(dims))
      for (int64_t& d : dims) d = d < 0 ? -1 : d % 4;
    if (rank > tf::kMaxDims) {
      tf::Shape s;
      for (int64_t d : dims) s.push_back(d);  // throws: more than kMaxDims dims
      return s;
    }
    return tf::Shape(dims);
  }

  // A value to store into a tensor of dtype dt: out-of-range floats into integers are K4.
  tf::Scalar scalar_for(tf::DType dt) {
    if (known || is_float(dt) || dt == tf::DType::Bool) return scalar();
    return tf::Scalar(in.ConsumeIntegralInRange<int64_t>(-300, 300));
  }

  tf::Scalar scalar() {
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: return tf::Scalar(in.ConsumeIntegralInRange<int64_t>(-3, 3));
      case 1: return tf::Scalar(in.ConsumeBool());
      case 2: {
        static const double special[] = {NAN, INFINITY, -INFINITY, 1e30, -1e300};
        if (known) return tf::Scalar(special[in.ConsumeIntegralInRange<int>(0, 4)]);
        return tf::Scalar(1e18);
      }
      case 3: return tf::Scalar(known ? in.ConsumeIntegral<int64_t>() : in.ConsumeIntegralInRange<int64_t>(-1000, 1000));
      default: return tf::Scalar(in.ConsumeFloatingPointInRange<double>(-1e6, 1e6));
    }
  }

  tf::Axes axes() {
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: return tf::Axes();
      case 1: return tf::Axes(dim_param());
      case 2: return tf::Axes{dim_param(), dim_param()};
      default: return tf::Axes(std::vector<int>{});
    }
  }
};

}  // namespace fuzz
