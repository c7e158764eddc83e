// How the cling interpreter (ROOT's, or the one inside cppyy) shows a Tensor typed at its prompt:
// cling looks for an overload of cling::printValue taking a pointer to the value. Active only
// under cling (__CLING__); compiled programs and clang-repl see nothing here. Tensors also
// print anywhere through operator<< (tensor/tensor.h).
#pragma once
#ifdef __CLING__
#include <string>

#include "tensor/tensor.h"

namespace cling {
// `t` at the prompt shows: tensor([[1. 2.] [3. 4.]], shape=(2, 2), dtype=float32, device=cpu)
inline std::string printValue(const tapeflow::Tensor* t) {
  return t->defined() ? t->repr() : std::string("tensor(undefined)");
}
}  // namespace cling
#endif
