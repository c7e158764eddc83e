// The public autograd API: backward over several roots, the functional grad(), and the
// gradient checker.
#pragma once
#include <functional>
#include <vector>

#include "autograd/grad_mode.h"
#include "autograd/node.h"
#include "tensor/tensor.h"

namespace tapeflow {

// Runs backward from `outputs` (seeded with `grad_outputs`; an undefined entry means ones for a
// scalar output) and accumulates into the .grad() of the leaves reached.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

// Returns d(outputs)/d(inputs) weighted by grad_outputs, without touching any .grad().
// An input the outputs do not depend on gets an undefined Tensor unless allow_unused is false,
// in which case it throws.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool create_graph = false, bool allow_unused = false);

namespace autograd {

struct GradcheckResult {
  bool ok = true;
  std::string message;  // which input and element disagreed, and by how much
};

// Compares the analytic gradient of sum(f(inputs) * w) (w a fixed random weight) with central
// differences, all in float64. Inputs are converted to float64 leaves; non-contiguous layouts
// of the given inputs are preserved. Throws nothing: read .ok and .message.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, double eps = 1e-6,
                          double atol = 1e-5, double rtol = 1e-3);

}  // namespace autograd
}  // namespace tapeflow
