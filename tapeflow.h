// tapeflow: one include gives the whole public API.
//   base:     Device, DType, Shape, errors, runtime settings (threads), the CUDA runtime surface
//   tensor:   Tensor, creation (tensor, zeros, arange, randn, ...), every op, printing,
//             convolution / pooling / pad / unfold (tensor/conv_ops.h), normalisation,
//             embedding, masking, sort / topk, einsum, attention, recurrent cells (tensor/nn_ops.h)
//   autograd: backward, grad, NoGradGuard, gradcheck, anomaly mode, custom functions
//   nn:       modules, layers, activations, initializers, losses
//   optim:    optimizers and learning-rate schedules
//   data:     IDX (MNIST family), batching, safetensors, scalers, PyTorch state_dicts
//   tensorboard: SummaryWriter (event files TensorBoard reads)
//   training: Keras-style Model / Sequential (compile, fit, evaluate, predict), callbacks, metrics
//   distributed: data-parallel training over MPI / NCCL (DataParallel: distributed/data_parallel.h)
#pragma once

#include "base/cuda.h"
#include "base/runtime.h"
#include "tensor/conv_ops.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
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
#include "data/scaler.h"
#include "data/torch_state.h"
#include "tensorboard/summary_writer.h"
#include "training/training.h"
#include "distributed/distributed.h"
#include "distributed/sampler.h"
#include "onnx/onnx.h"
