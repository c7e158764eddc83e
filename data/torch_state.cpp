// PyTorch state_dict -> tapeflow state dict: renaming and transposing by an explicit mapping
// (torch_linear_mapping builds the one for torch.nn.Linear -> nn::Dense).
#include "data/torch_state.h"

#include <map>
#include <set>

namespace tapeflow::data {

std::vector<TorchMapping> torch_linear_mapping(const std::vector<std::string>& torch_prefixes, bool use_bias) {
  std::vector<TorchMapping> m;
  std::set<std::string> seen;
  for (size_t i = 0; i < torch_prefixes.size(); ++i) {
    const std::string& p = torch_prefixes[i];
    if (p.empty()) fail("torch_linear_mapping: prefix ", i, " is empty");
    if (!seen.insert(p).second) fail("torch_linear_mapping: prefix '", p, "' is given twice");
    m.push_back({p + ".weight", std::to_string(i) + ".kernel", true});
    if (use_bias) m.push_back({p + ".bias", std::to_string(i) + ".bias", false});
  }
  return m;
}

std::vector<TorchMapping> torch_layer_mapping(const std::vector<TorchLayerMap>& layers) {
  std::vector<TorchMapping> m;
  std::set<std::string> seen;
  for (size_t i = 0; i < layers.size(); ++i) {
    const std::string &p = layers[i].torch_prefix, &n = layers[i].name;
    if (p.empty() || n.empty()) fail("torch_layer_mapping: layer ", i, " has an empty torch prefix or name");
    if (!seen.insert(p).second) fail("torch_layer_mapping: prefix '", p, "' is given twice");
    switch (layers[i].kind) {
      case TorchLayer::Linear:
      case TorchLayer::Conv:
        m.push_back({p + ".weight", n + ".kernel", layers[i].kind == TorchLayer::Linear});
        if (layers[i].use_bias) m.push_back({p + ".bias", n + ".bias"});
        break;
      case TorchLayer::BatchNorm:
        if (layers[i].use_bias) {  // affine
          m.push_back({p + ".weight", n + ".gamma"});
          m.push_back({p + ".bias", n + ".beta"});
        }
        m.push_back({p + ".running_mean", n + ".moving_mean"});
        m.push_back({p + ".running_var", n + ".moving_variance"});
        m.push_back({p + ".num_batches_tracked", "", false, true});
        break;
    }
  }
  return m;
}

NamedTensors from_torch_state_dict(const NamedTensors& torch_state, const std::vector<TorchMapping>& mapping,
                                   bool strict) {
  const std::string who = "from_torch_state_dict: ";
  std::map<std::string, const Tensor*> by_name;
  for (auto& [n, t] : torch_state) {
    if (!by_name.emplace(n, &t).second) fail(who, "the state_dict holds '", n, "' twice");
  }
  std::set<std::string> targets, used;
  std::string missing;
  for (auto& m : mapping) {
    if (m.skip) continue;
    if (m.name.empty()) fail(who, "the mapping of '", m.torch_name, "' has an empty target name");
    if (!targets.insert(m.name).second) fail(who, "two mappings produce '", m.name, "'");
    if (!by_name.count(m.torch_name)) missing += (missing.empty() ? "'" : ", '") + m.torch_name + "'";
  }
  auto list_names = [&] {
    std::string s;
    for (auto& [n, t] : torch_state) s += (s.empty() ? "'" : ", '") + n + "'";
    return s.empty() ? std::string("none") : s;
  };
  if (!missing.empty()) fail(who, "missing from the state_dict: ", missing, " (it holds ", list_names(), ")");
  NamedTensors out;
  for (auto& m : mapping) {
    if (m.skip) {
      used.insert(m.torch_name);
      continue;
    }
    const Tensor& t = *by_name[m.torch_name];
    used.insert(m.torch_name);
    if (!m.transpose) {
      out.emplace_back(m.name, t);
      continue;
    }
    if (t.dim() != 2)
      fail(who, "'", m.torch_name, "' -> '", m.name, "' is transposed, which needs a 2-d tensor, got shape ", t.shape());
    out.emplace_back(m.name, t.detach().transpose(0, 1).contiguous());
  }
  if (strict) {
    std::string unused;
    for (auto& [n, t] : torch_state)
      if (!used.count(n)) unused += (unused.empty() ? "'" : ", '") + n + "'";
    if (!unused.empty()) fail(who, "no mapping uses ", unused, " (strict; pass strict = false to skip them)");
  }
  return out;
}

NamedTensors load_torch_state(const std::string& path, const std::vector<TorchMapping>& mapping, bool strict) {
  return from_torch_state_dict(load_safetensors(path), mapping, strict);
}

}  // namespace tapeflow::data
