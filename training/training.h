// tapeflow::training (also reachable as nn::): the Keras-style training layer.
//   nn::Sequential model;
//   model.add(nn::Dense(50, "tanh", true, "glorot_uniform", "zeros", 784));
//   model.compile("adam", "categorical_crossentropy", {"accuracy"});
//   auto history = model.fit(x, y, {.batch_size = 64, .epochs = 5, .validation_split = 0.1});
#pragma once
#include "training/callbacks.h"
#include "training/metrics.h"
#include "training/model.h"
#include "training/progress.h"
#include "training/sequential.h"
#include "training/tensorboard_callback.h"
#include "training/weights.h"
