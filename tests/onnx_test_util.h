// Shared by the ONNX tests (test_onnx*.cpp): the fixtures' text tensors and the float32
// comparison against PyTorch / ONNX Runtime outputs.
#pragma once
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "tensor/creation.h"
#include "tensor/tensor.h"

namespace tapeflow::test {

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The fixture scripts' text tensors (tests/data/...): a line with the shape, then one value per line.
inline Tensor read_txt(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in);
  std::string line;
  std::getline(in, line);
  std::istringstream dims(line);
  Shape shape;
  for (int64_t d; dims >> d;) shape.push_back(d);
  std::vector<float> v;
  for (double x; in >> x;) v.push_back((float)x);
  return from_vector(v, shape);
}

// |a - b| <= rtol |b| + atol everywhere (float32 against a float32 reference).
inline bool matches(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-6) {
  if (a.shape() != b.shape()) return false;
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i)
    if (!(std::fabs(x[i] - y[i]) <= rtol * std::fabs(y[i]) + atol)) return false;
  return true;
}

}  // namespace tapeflow::test
