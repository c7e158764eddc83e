// tapeflow: one include gives the whole public API.
//   base:     Device, DType, Shape, errors, runtime settings (threads), the CUDA runtime surface
//   tensor:   Tensor, creation (tensor, zeros, arange, randn, ...), every op, printing
//   autograd: backward, grad, NoGradGuard, gradcheck, anomaly mode, custom functions
//   nn:       modules, layers, activations, initializers, losses
//   optim:    optimizers and learning-rate schedules
//   data:     IDX (MNIST family), batching, safetensors
//   training: Keras-style Model / Sequential (compile, fit, evaluate, predict), callbacks, metrics
#pragma once

#include "base/cuda.h"
#include "base/runtime.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/tensor.h"
#include "tensor/cling_print.h"
#include "autograd/autograd.h"
#include "autograd/custom_function.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "data/dataset.h"
#include "data/idx.h"
#include "data/safetensors.h"
#include "training/training.h"
