// tapeflow::nn: modules and Keras-style layers, activations, initializers, losses, metrics,
// callbacks and the Model / Sequential training API.
//   nn::Sequential model;
//   model.add(nn::Dense(50, "tanh", true, "glorot_uniform", "zeros", 784));
//   model.compile("adam", "categorical_crossentropy", {"accuracy"});
//   auto history = model.fit(x, y, {.batch_size = 64, .epochs = 5, .validation_split = 0.1});
#pragma once
#include "nn/activations.h"
#include "nn/callbacks.h"
#include "nn/init.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "nn/metrics.h"
#include "nn/model.h"
#include "nn/module.h"
#include "nn/progress.h"
#include "nn/sequential.h"
#include "nn/tensorboard_callback.h"
