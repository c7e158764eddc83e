// C API: optimizers by Keras name with "key=value" options.
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "capi/internal.h"

using namespace tapeflow;
using namespace tapeflow::capi;

namespace tapeflow::capi {

std::vector<std::pair<std::string, std::string>> parse_options(const char* options) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!options) return out;
  std::string s(options);
  size_t pos = 0;
  auto trim = [](std::string x) {
    size_t a = x.find_first_not_of(" \t"), b = x.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : x.substr(a, b - a + 1);
  };
  while (pos <= s.size()) {
    size_t end = s.find(',', pos);
    if (end == std::string::npos) end = s.size();
    std::string item = trim(s.substr(pos, end - pos));
    pos = end + 1;
    if (item.empty()) {
      if (end == s.size()) break;
      continue;
    }
    size_t eq = item.find('=');
    if (eq == std::string::npos)
      raise(TF_ERR_INVALID_ARGUMENT, "option '", item, "' is not of the form key=value");
    out.emplace_back(trim(item.substr(0, eq)), trim(item.substr(eq + 1)));
  }
  return out;
}

namespace {

double number(const std::string& key, const std::string& v) {
  if (v == "true") return 1.0;
  if (v == "false") return 0.0;
  errno = 0;
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  if (v.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(d))
    raise(TF_ERR_INVALID_ARGUMENT, "option ", key, "=", v, ": not a finite number");
  return d;
}

// Sets the fields every optimizer shares; false when key is not one of them.
template <class O>
bool common(O& o, const std::string& k, double d) {
  if (k == "lr" || k == "learning_rate") o.lr = d;
  else if (k == "decay") o.decay = d;
  else if (k == "weight_decay") o.weight_decay = d;
  else if (k == "clipnorm") o.clipnorm = d;
  else if (k == "global_clipnorm") o.global_clipnorm = d;
  else if (k == "clipvalue") o.clipvalue = d;
  else return false;
  return true;
}

const char* kCommon = "lr (learning_rate), decay, weight_decay, clipnorm, global_clipnorm, clipvalue";

[[noreturn]] void unknown(const std::string& opt, const std::string& key, const char* extra) {
  raise(TF_ERR_INVALID_ARGUMENT, "unknown option '", key, "' for ", opt, "; valid: ", kCommon, extra);
}

}  // namespace

std::shared_ptr<optim::Optimizer> make_optimizer(const std::string& name, const char* options) {
  std::string n;
  for (char c : name) n += (char)std::tolower((unsigned char)c);
  auto kv = parse_options(options);
  if (n == "sgd") {
    optim::SGDOptions o;
    for (auto& [k, v] : kv) {
      double d = number(k, v);
      if (common(o, k, d)) continue;
      if (k == "momentum") o.momentum = d;
      else if (k == "nesterov") o.nesterov = d != 0.0;
      else unknown(name, k, ", momentum, nesterov");
    }
    return std::make_shared<optim::SGD>(o);
  }
  if (n == "adam" || n == "adamw") {
    optim::AdamOptions o = n == "adamw" ? optim::AdamW::with_default_decay() : optim::AdamOptions{};
    for (auto& [k, v] : kv) {
      double d = number(k, v);
      if (common(o, k, d)) continue;
      if (k == "beta_1") o.beta_1 = d;
      else if (k == "beta_2") o.beta_2 = d;
      else if (k == "epsilon") o.epsilon = d;
      else if (k == "amsgrad") o.amsgrad = d != 0.0;
      else unknown(name, k, ", beta_1, beta_2, epsilon, amsgrad");
    }
    if (n == "adamw") return std::make_shared<optim::AdamW>(o);
    return std::make_shared<optim::Adam>(o);
  }
  if (n == "rmsprop") {
    optim::RMSpropOptions o;
    for (auto& [k, v] : kv) {
      double d = number(k, v);
      if (common(o, k, d)) continue;
      if (k == "rho") o.rho = d;
      else if (k == "momentum") o.momentum = d;
      else if (k == "epsilon") o.epsilon = d;
      else if (k == "centered") o.centered = d != 0.0;
      else unknown(name, k, ", rho, momentum, epsilon, centered");
    }
    return std::make_shared<optim::RMSprop>(o);
  }
  if (n == "adagrad") {
    optim::AdagradOptions o;
    for (auto& [k, v] : kv) {
      double d = number(k, v);
      if (common(o, k, d)) continue;
      if (k == "initial_accumulator_value") o.initial_accumulator_value = d;
      else if (k == "epsilon") o.epsilon = d;
      else unknown(name, k, ", initial_accumulator_value, epsilon");
    }
    return std::make_shared<optim::Adagrad>(o);
  }
  raise(TF_ERR_INVALID_ARGUMENT, "unknown optimizer '", name, "'; valid names: sgd, adam, adamw, rmsprop, adagrad");
}

}  // namespace tapeflow::capi

extern "C" {

tf_status tf_optimizer_create(const char* name, const char* options, tf_optimizer** out) {
  return guard("tf_optimizer_create", TF_ERR_INVALID_ARGUMENT, [&] {
    need(name, "name");
    need(out, "out");
    auto h = std::make_unique<tf_optimizer>();
    h->opt = make_optimizer(name, options);
    h->name = name;
    h->options = options ? options : "";
    register_handle(h.get(), Kind::Optimizer);
    *out = h.release();
  });
}

tf_status tf_optimizer_get_lr(const tf_optimizer* opt, double* lr) {
  return guard("tf_optimizer_get_lr", TF_ERR_INTERNAL, [&] {
    tf_optimizer* h = get(opt, "opt");
    need(lr, "lr");
    *lr = h->opt->lr();
  });
}

tf_status tf_optimizer_set_lr(tf_optimizer* opt, double lr) {
  return guard("tf_optimizer_set_lr", TF_ERR_INVALID_ARGUMENT, [&] {
    tf_optimizer* h = get(opt, "opt");
    if (!std::isfinite(lr) || lr < 0) raise(TF_ERR_INVALID_ARGUMENT, "lr = ", lr, " is not a finite number >= 0");
    h->opt->set_lr(lr);
  });
}

tf_status tf_optimizer_iterations(const tf_optimizer* opt, int64_t* iterations) {
  return guard("tf_optimizer_iterations", TF_ERR_INTERNAL, [&] {
    tf_optimizer* h = get(opt, "opt");
    need(iterations, "iterations");
    *iterations = h->opt->iterations();
  });
}

tf_status tf_optimizer_free(tf_optimizer* opt) {
  return guard("tf_optimizer_free", TF_ERR_INTERNAL, [&] {
    if (!opt) return;
    destroy_handle(opt, Kind::Optimizer, "opt");
  });
}

}  // extern "C"
