// Weight files of any module: safetensors over state_dict() (Python's `safetensors` reads and
// writes the same files). Model::save_weights / load_weights call these.
#pragma once
#include <string>

#include "nn/module.h"

namespace tapeflow::training {

// Throws when the module is not built yet (its parameters do not exist).
void save_weights(const nn::Module& module, const std::string& path);
// Every name, shape and dtype is checked before anything is copied (load_state_dict, strict);
// errors name the file, and the module is left unchanged.
void load_weights(nn::Module& module, const std::string& path);

}  // namespace tapeflow::training
