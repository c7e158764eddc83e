// Initializers (see init.h): fans, variance scaling, truncated normal by redrawing, and the
// name table behind get_initializer().
#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/ops.h"

namespace tapeflow::nn {
namespace init {

namespace {
// Keras: stddev of a standard normal truncated to [-2, 2].
constexpr double kTruncStd = 0.87962566103423978;

void check_floating(const char* who, const Options& o) {
  if (!is_floating(o.dtype)) fail(who, ": dtype must be floating, got ", o.dtype);
}
}  // namespace

std::pair<double, double> compute_fans(const Shape& s) {
  if (s.size() == 0) return {1.0, 1.0};
  if (s.size() == 1) return {(double)s[0], (double)s[0]};
  if (s.size() == 2) return {(double)s[0], (double)s[1]};
  double receptive = 1.0;
  for (int i = 0; i < s.size() - 2; ++i) receptive *= (double)s[i];
  return {(double)s[s.size() - 2] * receptive, (double)s[s.size() - 1] * receptive};
}

Initializer zeros() {
  return [](const Shape& s, Options o) { return tapeflow::zeros(s, o); };
}
Initializer ones() {
  return [](const Shape& s, Options o) { return tapeflow::ones(s, o); };
}
Initializer constant(double value) {
  return [value](const Shape& s, Options o) { return tapeflow::full(s, value, o); };
}

Initializer random_uniform(double minval, double maxval) {
  if (!(minval <= maxval)) fail("random_uniform: minval (", minval, ") exceeds maxval (", maxval, ")");
  return [=](const Shape& s, Options o) {
    check_floating("random_uniform", o);
    return uniform(s, minval, maxval, o);
  };
}

Initializer random_normal(double mean, double stddev) {
  if (!(stddev >= 0)) fail("random_normal: stddev must be non-negative, got ", stddev);
  return [=](const Shape& s, Options o) {
    check_floating("random_normal", o);
    return normal(s, mean, stddev, o);
  };
}

Initializer truncated_normal(double mean, double stddev) {
  if (!(stddev >= 0)) fail("truncated_normal: stddev must be non-negative, got ", stddev);
  return [=](const Shape& s, Options o) {
    check_floating("truncated_normal", o);
    NoGradGuard no_grad;
    Options draw = o;
    draw.requires_grad = false;
    // Redraw the elements outside two standard deviations until none is left.
    Tensor z = normal(s, 0.0, 1.0, draw);
    for (int round = 0; round < 100; ++round) {
      Tensor outside = abs(z) > 2.0;
      if (!any(outside).item<bool>()) break;
      z = where(outside, normal(s, 0.0, 1.0, draw), z);
    }
    Tensor out = z * stddev + mean;
    if (o.requires_grad) out.requires_grad_(true);
    return out;
  };
}

Initializer variance_scaling(double scale, const std::string& mode, const std::string& distribution) {
  if (!(scale > 0)) fail("variance_scaling: scale must be positive, got ", scale);
  if (mode != "fan_in" && mode != "fan_out" && mode != "fan_avg")
    fail("variance_scaling: mode must be fan_in, fan_out or fan_avg, got '", mode, "'");
  if (distribution != "uniform" && distribution != "truncated_normal")
    fail("variance_scaling: distribution must be uniform or truncated_normal, got '", distribution, "'");
  return [=](const Shape& s, Options o) {
    auto [fan_in, fan_out] = compute_fans(s);
    double n = mode == "fan_in" ? fan_in : mode == "fan_out" ? fan_out : (fan_in + fan_out) / 2.0;
    n = std::max(1.0, n);
    double var = scale / n;
    if (distribution == "uniform") {
      double limit = std::sqrt(3.0 * var);
      return random_uniform(-limit, limit)(s, o);
    }
    return truncated_normal(0.0, std::sqrt(var) / kTruncStd)(s, o);
  };
}

Initializer glorot_uniform() { return variance_scaling(1.0, "fan_avg", "uniform"); }
Initializer glorot_normal() { return variance_scaling(1.0, "fan_avg", "truncated_normal"); }
Initializer he_uniform() { return variance_scaling(2.0, "fan_in", "uniform"); }
Initializer he_normal() { return variance_scaling(2.0, "fan_in", "truncated_normal"); }
Initializer lecun_uniform() { return variance_scaling(1.0, "fan_in", "uniform"); }
Initializer lecun_normal() { return variance_scaling(1.0, "fan_in", "truncated_normal"); }

}  // namespace init

namespace {
const std::vector<std::pair<std::string, Initializer (*)()>>& initializer_table() {
  static const std::vector<std::pair<std::string, Initializer (*)()>> t = {
      {"zeros", [] { return init::zeros(); }},
      {"ones", [] { return init::ones(); }},
      {"constant", [] { return init::constant(0.0); }},
      {"random_uniform", [] { return init::random_uniform(); }},
      {"random_normal", [] { return init::random_normal(); }},
      {"truncated_normal", [] { return init::truncated_normal(); }},
      {"glorot_uniform", init::glorot_uniform},
      {"glorot_normal", init::glorot_normal},
      {"he_uniform", init::he_uniform},
      {"he_normal", init::he_normal},
      {"lecun_uniform", init::lecun_uniform},
      {"lecun_normal", init::lecun_normal},
  };
  return t;
}
}  // namespace

const std::vector<std::string>& initializer_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (auto& [name, f] : initializer_table()) n.push_back(name);
    return n;
  }();
  return names;
}

Initializer get_initializer(const std::string& name) {
  for (auto& [n, f] : initializer_table())
    if (n == name) return f();
  std::string valid;
  for (auto& n : initializer_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail("unknown initializer '", name, "'; valid names: ", valid);
}

Initializer InitSpec::resolve(const char* layer, const char* arg) const {
  if (fn) return fn;
  for (auto& [n, f] : initializer_table())
    if (n == name) return f();
  std::string valid;
  for (auto& n : initializer_names()) valid += (valid.empty() ? "" : ", ") + n;
  fail(layer, ": unknown ", arg, " '", name, "'; valid names: ", valid);
}

}  // namespace tapeflow::nn
