// Exceptions thrown by tapeflow, and a tiny formatter for their messages.
// Every public function validates its input and throws one of these with a message that
// names the op and the offending shapes or values, e.g.
//   matmul: shapes (3, 4) and (5, 2) are not aligned: 4 != 5
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace tapeflow {

// Bad shapes, dtypes, devices or values.
struct Error : std::invalid_argument {
  using std::invalid_argument::invalid_argument;
};
// Indices or axes out of range.
struct IndexError : std::out_of_range {
  using std::out_of_range::out_of_range;
};
// Misuse of the autograd engine (backward twice, modified saved tensors, ...).
struct AutogradError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

template <class... Args>
std::string str_cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(str_cat(args...));
}
template <class... Args>
[[noreturn]] void fail_index(const Args&... args) {
  throw IndexError(str_cat(args...));
}

}  // namespace tapeflow
