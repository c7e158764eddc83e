// Shape: the dims (or strides) of a tensor, stored inline (no heap) up to kMaxDims.
#pragma once
#include <cstdint>
#include <initializer_list>
#include <iosfwd>
#include <vector>

namespace tapeflow {

constexpr int kMaxDims = 8;

class Shape {
 public:
  Shape() = default;
  Shape(std::initializer_list<int64_t> dims);
  Shape(const std::vector<int64_t>& dims);
  template <class It> Shape(It first, It last) { for (; first != last; ++first) push_back(*first); }

  int size() const { return n_; }
  bool empty() const { return n_ == 0; }
  int64_t operator[](int i) const { return d_[i]; }
  int64_t& operator[](int i) { return d_[i]; }
  const int64_t* begin() const { return d_; }
  const int64_t* end() const { return d_ + n_; }
  int64_t* begin() { return d_; }
  int64_t* end() { return d_ + n_; }
  const int64_t* data() const { return d_; }
  void push_back(int64_t v);
  void insert(int pos, int64_t v);
  void erase(int pos);
  void resize(int n, int64_t fill = 0);
  int64_t back() const { return d_[n_ - 1]; }
  int64_t numel() const { int64_t p = 1; for (int i = 0; i < n_; ++i) p *= d_[i]; return p; }
  std::vector<int64_t> vec() const { return std::vector<int64_t>(d_, d_ + n_); }
  bool operator==(const Shape& o) const;
  bool operator!=(const Shape& o) const { return !(*this == o); }

 private:
  int64_t d_[kMaxDims] = {};  // entries past n_ are zero
  int n_ = 0;
};
using Strides = Shape;

// "(3, 2, 3)", "(5,)" and "()" as NumPy prints them.
std::ostream& operator<<(std::ostream& os, const Shape& s);

// A list of axes for reductions: one int, a brace list, or none (= all axes).
struct Axes {
  std::vector<int> axes;
  bool all = true;
  Axes() = default;
  Axes(int a) : axes{a}, all(false) {}
  // a.std(true) or a.sum(false) must not compile as "axis 1" / "axis 0".
  Axes(bool) = delete;
  Axes(std::initializer_list<int> a) : axes(a), all(false) {}
  Axes(std::vector<int> a) : axes(std::move(a)), all(false) {}
};

}  // namespace tapeflow
