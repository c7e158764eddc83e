// Weight files: data::save_safetensors / load_safetensors over a module's state_dict.
#include "training/weights.h"

#include <sstream>

#include "base/error.h"
#include "data/safetensors.h"

namespace tapeflow::training {

void save_weights(const nn::Module& module, const std::string& path) {
  if (!module.built())
    throw Error("save_weights: the " + module.type_name() + " is not built yet (call build() or run a batch first)");
  data::save_safetensors(path, module.state_dict());
}

void load_weights(nn::Module& module, const std::string& path) {
  if (!module.built())
    throw Error("load_weights: the " + module.type_name() +
                " is not built yet (call build() or run a batch first), so its parameters cannot be matched "
                "against '" + path + "'");
  nn::NamedTensors loaded = data::load_safetensors(path);
  try {
    module.load_state_dict(loaded, true);
  } catch (const Error& e) {
    throw Error("load_weights('" + path + "'): " + e.what());
  }
}

}  // namespace tapeflow::training
