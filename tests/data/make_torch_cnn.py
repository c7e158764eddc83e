# Regenerates the PyTorch CNN fixtures of tests/test_onnx_conv.cpp (run offline, once, with
# Debian's python3-torch 1.13; safetensors' save_file (0.8.0 was used) from a throw-away venv):
#   /usr/bin/python3 -m venv --system-site-packages /tmp/st && /tmp/st/bin/pip install safetensors
#   /tmp/st/bin/python tests/data/make_torch_cnn.py tests/data
# A small CNN: Conv2d(3, 4, 3) + BatchNorm2d + ReLU + MaxPool2d(2), Conv2d(4, 6, 3, stride 2,
# padding 1) + ReLU, AvgPool2d(2), Flatten, Linear(6 * 2 * 2, 5); its running statistics and
# affine parameters are set away from their defaults. Writes:
#   torch_cnn.safetensors           the state_dict (float32)
#   torch_cnn_expected.safetensors  x (batch 3) and y, PyTorch's eval-mode output
#   onnx/torch_cnn.onnx             torch.onnx.export (opset 17, dynamic batch, eval: the exporter
#                                   folds the batch norm into the first conv)
#   onnx/torch_cnn_bn.onnx          the same exported with TrainingMode.PRESERVE and no constant
#                                   folding, so the BatchNormalization node stays
import os
import sys

import torch
from safetensors.torch import save_file
from torch import nn

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(15)

model = nn.Sequential(
    nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(4, 6, 3, stride=2, padding=1), nn.ReLU(), nn.AvgPool2d(2),
    nn.Flatten(), nn.Linear(6 * 2 * 2, 5))
with torch.no_grad():
    bn = model[1]
    bn.running_mean.uniform_(-0.5, 0.5)
    bn.running_var.uniform_(0.5, 2.0)
    bn.weight.uniform_(0.5, 1.5)
    bn.bias.uniform_(-0.5, 0.5)
model.eval()

x = torch.randn(3, 3, 18, 18)
with torch.no_grad():
    y = model(x)
state = {k: v.contiguous() for k, v in model.state_dict().items()}
save_file(state, os.path.join(out, "torch_cnn.safetensors"), metadata={"format": "pt"})
save_file({"x": x, "y": y}, os.path.join(out, "torch_cnn_expected.safetensors"))

example = torch.randn(2, 3, 18, 18)
kw = dict(input_names=["input"], output_names=["output"], opset_version=17,
          dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})
torch.onnx.export(model, example, os.path.join(out, "onnx", "torch_cnn.onnx"), **kw)
torch.onnx.export(model, example, os.path.join(out, "onnx", "torch_cnn_bn.onnx"),
                  training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, **kw)
print("wrote", out, "torch", torch.__version__)
