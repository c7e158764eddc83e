// tapeflow::training: the Keras-style training layer (Model / Sequential compile, fit, evaluate,
// predict; callbacks; metrics; the progress display). It sits above nn and optim and sees both.
// Compatibility: these names were in tapeflow::nn before the training layer had its own folder,
// so nn::Sequential, nn::FitOptions, nn::EarlyStopping, ... keep working.
#pragma once

namespace tapeflow::nn {}
namespace tapeflow::training {
using namespace tapeflow::nn;
}  // namespace tapeflow::training
namespace tapeflow::nn {
using namespace tapeflow::training;
}  // namespace tapeflow::nn
