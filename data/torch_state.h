// PyTorch weights into tapeflow modules. A PyTorch state_dict saved with safetensors
// (`safetensors.torch.save_file(model.state_dict(), path)`; float32, float16 or bfloat16 - the
// half types load as float32) is renamed, and transposed where the layouts differ, into a
// tapeflow state dict for Module::load_state_dict, which checks every name, shape and dtype
// before it changes anything.
//
// torch.nn.Linear(in, out) holds weight (out, in) and bias (out,) and computes x W^T + b;
// nn::Dense holds kernel (in, out) and bias (out,) and computes x K + b. So K = W^T:
//   "<prefix>.weight" (out, in) -> "<i>.kernel" (in, out), transposed
//   "<prefix>.bias"   (out,)    -> "<i>.bias"
//
// Conv and batch-norm layers (torch_layer_mapping): tapeflow's conv layers store PyTorch's own
// weight layout, so nothing is transposed:
//   torch.nn.Conv1d/Conv2d  weight (out, in / groups, [kh,] kw) -> nn::Conv1D/Conv2D/DepthwiseConv2D "kernel"
//   torch.nn.ConvTranspose2d weight (in, out / groups, kh, kw) -> nn::Conv2DTranspose "kernel"
//   bias (out,) -> "bias"
//   torch.nn.BatchNorm1d/2d weight -> nn::BatchNormalization "gamma", bias -> "beta",
//   running_mean -> "moving_mean", running_var -> "moving_variance" (buffers);
//   num_batches_tracked is left out. Give the layer PyTorch's epsilon (1e-5; Keras's default is
//   1e-3) with NormOptions().epsilon(1e-5); PyTorch's momentum m is Keras's 1 - m.
// A torch padding that no tapeflow conv layer takes (padding=1 with stride 2) is a
// nn::ZeroPadding2D before the Conv2D (with "valid" padding).
#pragma once
#include <string>
#include <vector>

#include "data/safetensors.h"

namespace tapeflow::data {

// One entry of a PyTorch state_dict and the tapeflow name it becomes; `transpose` swaps the two
// axes of a 2-d tensor (the result is contiguous).
struct TorchMapping {
  std::string torch_name;
  std::string name;
  bool transpose = false;
  bool skip = false;  // an entry to leave out (e.g. num_batches_tracked): used if present, never required
};

// The mapping for torch.nn.Linear layers named by `torch_prefixes`, in forward order ("fc1",
// "fc2", or "0", "2" in a torch.nn.Sequential), onto the Dense layers 0, 1, ... of a tapeflow
// Sequential (their names "0.kernel", "0.bias", ...). use_bias = false leaves the biases out.
std::vector<TorchMapping> torch_linear_mapping(const std::vector<std::string>& torch_prefixes,
                                               bool use_bias = true);

// Layers of a PyTorch model and the tapeflow layers they load into, for torch_layer_mapping.
enum class TorchLayer { Linear, Conv, BatchNorm };
struct TorchLayerMap {
  std::string torch_prefix;  // "conv1", or "0" in a torch.nn.Sequential
  TorchLayer kind;
  std::string name;  // the tapeflow layer's name in the model's state dict ("0", "3", ...)
  bool use_bias = true;  // Linear / Conv: a bias; BatchNorm: affine (weight and bias)
};
// The mapping for a mix of Linear, Conv and BatchNorm layers (see above for each kind):
//   data::torch_layer_mapping({{"0", TorchLayer::Conv, "0"}, {"1", TorchLayer::BatchNorm, "1"},
//                              {"4", TorchLayer::Conv, "5"}, {"8", TorchLayer::Linear, "8"}})
std::vector<TorchMapping> torch_layer_mapping(const std::vector<TorchLayerMap>& layers);

// Applies `mapping` to a loaded state_dict. Every torch_name must be present (and 2-d where it
// is transposed); with strict, a state_dict entry that no mapping uses is an error too. Names
// in the result follow the mapping's order. Errors name every missing or unused entry.
NamedTensors from_torch_state_dict(const NamedTensors& torch_state, const std::vector<TorchMapping>& mapping,
                                   bool strict = true);

// load_safetensors(path) followed by from_torch_state_dict:
//   model.load_state_dict(data::load_torch_state("mlp.safetensors",
//                                                data::torch_linear_mapping({"fc1", "fc2"})));
NamedTensors load_torch_state(const std::string& path, const std::vector<TorchMapping>& mapping,
                              bool strict = true);

}  // namespace tapeflow::data
