// Shared by the tests of tensor/nn_ops.h: the PyTorch references (tests/nn_refs.h, made by
// tests/data/make_nn_refs.py) and the helpers of conv_test_util.h (check_ref, gradcheck).
#pragma once
#include "conv_test_util.h"
#include "nn_refs.h"

namespace nntest {
using V = const std::vector<tapeflow::Tensor>&;
using convtest::check_close;
using convtest::check_ref;
using convtest::gradcheck;
using convtest::grad_of;
using convtest::rnd;

inline tapeflow::Options like(const tapeflow::Tensor& t) { return tapeflow::Options(t.dtype(), t.device()); }
}  // namespace nntest
