// tapeflow::optim: optimizers, gradient clipping and learning-rate schedules.
//   optim::SGD opt(model.parameters(), {.lr = 0.001, .momentum = 0.9, .decay = 1e-7});
//   loss.backward(); opt.step(); opt.zero_grad();
#pragma once
#include <memory>
#include <string>

#include "optim/adaptive.h"
#include "optim/optimizer.h"
#include "optim/schedules.h"
#include "optim/sgd.h"

namespace tapeflow::optim {

// An optimizer with Keras's defaults from its Keras name ("sgd", "adam", "adamw", "rmsprop",
// "adagrad"; case does not matter). Unknown names throw, listing the valid ones.
std::shared_ptr<Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params = {});

}  // namespace tapeflow::optim
