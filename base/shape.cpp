// Shape: inline small vector of dims, and its NumPy-style printing.
#include "base/shape.h"

#include <ostream>

#include "base/error.h"

namespace tapeflow {

Shape::Shape(std::initializer_list<int64_t> dims) {
  for (int64_t d : dims) push_back(d);
}
Shape::Shape(const std::vector<int64_t>& dims) {
  for (int64_t d : dims) push_back(d);
}
void Shape::push_back(int64_t v) {
  if (n_ >= kMaxDims) fail("Shape: at most ", kMaxDims, " dims are supported");
  d_[n_++] = v;
}
void Shape::insert(int pos, int64_t v) {
  if (n_ >= kMaxDims) fail("Shape: at most ", kMaxDims, " dims are supported");
  for (int i = n_; i > pos; --i) d_[i] = d_[i - 1];
  d_[pos] = v;
  ++n_;
}
void Shape::erase(int pos) {
  for (int i = pos; i < n_ - 1; ++i) d_[i] = d_[i + 1];
  d_[--n_] = 0;  // entries past the size stay zero (view_of copies all kMaxDims)
}
void Shape::resize(int n, int64_t fill) {
  if (n > kMaxDims) fail("Shape: at most ", kMaxDims, " dims are supported");
  for (int i = n_; i < n; ++i) d_[i] = fill;
  for (int i = n < 0 ? 0 : n; i < n_; ++i) d_[i] = 0;
  n_ = n;
}
bool Shape::operator==(const Shape& o) const {
  if (n_ != o.n_) return false;
  for (int i = 0; i < n_; ++i)
    if (d_[i] != o.d_[i]) return false;
  return true;
}

std::ostream& operator<<(std::ostream& os, const Shape& s) {
  os << '(';
  for (int i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  if (s.size() == 1) os << ',';
  return os << ')';
}

}  // namespace tapeflow
