// Weight initializers with Keras's names and formulas. fan_in/fan_out follow Keras: for a
// Dense kernel (in, out) they are in and out; for higher ranks the leading dims are multiplied
// by the receptive field (product of all but the last two dims). The *_normal variance-scaling
// ones draw from a normal truncated at two standard deviations (stddev corrected by
// 0.87962566103423978, as Keras). All draw from the global generator, so manual_seed fixes them.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/creation.h"

namespace tapeflow::nn {

using Initializer = std::function<Tensor(const Shape& shape, Options opts)>;

namespace init {
Initializer zeros();
Initializer ones();
Initializer constant(double value);
Initializer random_uniform(double minval = -0.05, double maxval = 0.05);
Initializer random_normal(double mean = 0.0, double stddev = 0.05);
Initializer truncated_normal(double mean = 0.0, double stddev = 0.05);
// Keras VarianceScaling: scale / n with n = fan_in, fan_out or their average (mode);
// distribution "uniform" (limit sqrt(3 * scale / n)) or "truncated_normal".
Initializer variance_scaling(double scale, const std::string& mode, const std::string& distribution);
Initializer glorot_uniform();  // limit sqrt(6 / (fan_in + fan_out))
Initializer glorot_normal();   // stddev sqrt(2 / (fan_in + fan_out)), truncated
Initializer he_uniform();      // limit sqrt(6 / fan_in)
Initializer he_normal();       // stddev sqrt(2 / fan_in), truncated
Initializer lecun_uniform();   // limit sqrt(3 / fan_in)
Initializer lecun_normal();    // stddev sqrt(1 / fan_in), truncated
std::pair<double, double> compute_fans(const Shape& shape);
}  // namespace init

// By Keras name ("glorot_uniform", "zeros", ...). Unknown names throw, listing the valid ones.
Initializer get_initializer(const std::string& name);
const std::vector<std::string>& initializer_names();

// An initializer given by name or as a function: Dense(10, "relu", true, "he_normal").
struct InitSpec {
  Initializer fn;    // set when given a function
  std::string name;  // set when given a name (looked up by the layer, which names itself on error)
  InitSpec(const char* n) : name(n) {}
  InitSpec(const std::string& n) : name(n) {}
  InitSpec(Initializer f) : fn(std::move(f)) {}
  // The initializer; an unknown name throws "<layer>: unknown <arg> '<name>'; valid names: ...".
  Initializer resolve(const char* layer, const char* arg) const;
};

}  // namespace tapeflow::nn
