// Small shared helpers for the Catch2 tests: a matcher that compares a tensor's values (any
// dtype, any strides) with expected numbers, and a Catch printer so failures show the tensor.
// Usage: REQUIRE_THAT(t, Values({1, 2.5, 3}));  REQUIRE_THAT(t, Values({0.1, 0.2}, 1e-4));
//        CHECK(approx_vec(t, {1, 2, 3}));
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace Catch {
template <>
struct StringMaker<tapeflow::Tensor> {
  static std::string convert(const tapeflow::Tensor& t) { return t.defined() ? t.repr() : "tensor(undefined)"; }
};
}  // namespace Catch

namespace tftest {

// |actual - expected| <= tol * (1 + |expected|); NaN matches NaN, infinities match exactly.
inline bool close(double actual, double expected, double tol) {
  if (std::isnan(expected)) return std::isnan(actual);
  if (std::isinf(expected)) return actual == expected;
  return std::fabs(actual - expected) <= tol * (1.0 + std::fabs(expected));
}

// True when t holds exactly expected.size() values, each close to the expected one
// (row-major order, whatever the strides).
inline bool approx_vec(const tapeflow::Tensor& t, const std::vector<double>& expected, double tol = 1e-6) {
  if (!t.defined() || t.numel() != (int64_t)expected.size()) return false;
  std::vector<double> got = t.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i)
    if (!close(got[i], expected[i], tol)) return false;
  return true;
}

class ValuesMatcher : public Catch::MatcherBase<tapeflow::Tensor> {
 public:
  ValuesMatcher(std::vector<double> expected, double tol) : expected_(std::move(expected)), tol_(tol) {}
  bool match(const tapeflow::Tensor& t) const override { return approx_vec(t, expected_, tol_); }
  std::string describe() const override {
    std::ostringstream os;
    os.precision(10);
    os << "has values {";
    for (size_t i = 0; i < expected_.size(); ++i) os << (i ? ", " : "") << expected_[i];
    os << "} (tol " << tol_ << ")";
    return os.str();
  }

 private:
  std::vector<double> expected_;
  double tol_;
};

inline ValuesMatcher Values(std::vector<double> expected, double tol = 1e-6) {
  return ValuesMatcher(std::move(expected), tol);
}

// Exact comparison of an integer or bool tensor's values.
inline std::vector<int64_t> ints(const tapeflow::Tensor& t) { return t.to_vector<int64_t>(); }

// A deterministic tensor of `shape`: s * sin(a * i + b) at flat index i (float64).
inline tapeflow::Tensor seqt(const tapeflow::Shape& shape, double a, double b = 0.0, double s = 1.0) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<double> v(n);
  for (int64_t i = 0; i < n; ++i) v[i] = s * std::sin(a * double(i) + b);
  return tapeflow::from_vector(v, shape);
}

// The tensor called `name` in a list of (name, tensor) pairs (a state_dict, a safetensors file).
template <class Named>
const tapeflow::Tensor& find_named(const Named& ts, const std::string& name) {
  for (const auto& [n, t] : ts)
    if (n == name) return t;
  FAIL("no tensor named " << name);
  static tapeflow::Tensor none;
  return none;
}

}  // namespace tftest
