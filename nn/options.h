// TAPEFLOW_LAYER_ARG: one named, chainable option of a layer's options struct (PyTorch C++
// style): `const T& name() const` reads it, `Options& name(T v)` sets it and returns *this.
//   struct DenseOptions { TAPEFLOW_LAYER_ARG(DenseOptions, int64_t, input_dim, 0) };
#pragma once
#include <utility>

#define TAPEFLOW_LAYER_ARG(Options, T, name, init) \
 public:                                           \
  Options& name(T v) {                             \
    name##_ = std::move(v);                        \
    return *this;                                  \
  }                                                \
  const T& name() const { return name##_; }        \
                                                   \
 private:                                          \
  T name##_ = init;
