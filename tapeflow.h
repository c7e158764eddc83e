// tapeflow: one include gives the whole public API.
//   tensor:   Tensor, creation (tensor, zeros, arange, randn, ...), every op, printing
//   autograd: backward, grad, NoGradGuard, gradcheck, anomaly mode
//   nn/optim: layers, losses, Sequential with compile/fit/evaluate/predict, optimizers
//   data:     IDX (MNIST family), batching, safetensors
#pragma once

#include "tensor/creation.h"
#include "tensor/cuda.h"
#include "tensor/ops.h"
#include "tensor/runtime.h"
#include "tensor/tensor.h"
#include "tensor/cling_print.h"
#include "autograd/autograd.h"
#if __has_include("nn/nn.h")
#include "nn/nn.h"
#endif
#if __has_include("optim/optim.h")
#include "optim/optim.h"
#endif
#include "data/dataset.h"
#include "data/idx.h"
#include "data/safetensors.h"
#include "onnx/onnx.h"
