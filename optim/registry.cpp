// Optimizers by their Keras names, with Keras's defaults (compile("adam", ...)).
#include <algorithm>
#include <cctype>

#include "optim/optim.h"

namespace tapeflow::optim {

std::shared_ptr<Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params) {
  std::string n = name;
  std::transform(n.begin(), n.end(), n.begin(), [](unsigned char c) { return (char)std::tolower(c); });
  if (n == "sgd") return std::make_shared<SGD>(params);
  if (n == "adam") return std::make_shared<Adam>(params);
  if (n == "adamw") return std::make_shared<AdamW>(params);
  if (n == "rmsprop") return std::make_shared<RMSprop>(params);
  if (n == "adagrad") return std::make_shared<Adagrad>(params);
  fail("unknown optimizer '", name, "'; valid names: sgd, adam, adamw, rmsprop, adagrad");
}

}  // namespace tapeflow::optim
