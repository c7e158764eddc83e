// tapeflow::nn: modules and Keras-style layers, activations, initializers and losses. The
// training API (Model / Sequential, compile/fit, callbacks, metrics) is in training/training.h
// (its names are also reachable as nn::Sequential, nn::FitOptions, ...); tapeflow.h has both.
#pragma once
#include "nn/activations.h"
#include "nn/cloneable.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/conv_layers.h"
#include "nn/recurrent.h"
#include "nn/norm_layers.h"
#include "nn/attention.h"
#include "nn/shape_layers.h"
#include "nn/functional.h"
#include "nn/losses.h"
#include "nn/module.h"
