"""Makes the ONNX fixtures of tests/test_onnx.cpp with PyTorch (run offline, once, with Debian's
python3-torch: /usr/bin/python3 tests/data/onnx/make_fixtures.py). Writes, next to this file:
  mlp.onnx        Flatten, Linear (Gemm), ReLU, Tanh, LeakyReLU, ELU, Sigmoid, Softmax
  mlp_view.onnx   Linear on a 3-D input (MatMul + Add), x.view(x.size(0), -1) (Shape, Gather,
                  Unsqueeze, Concat, Reshape), LogSoftmax
  cnn.onnx        Conv, MaxPool, ReLU, GlobalAveragePool
and for each model its input and PyTorch's output as text (<name>.input.txt, <name>.output.txt:
a line with the shape, then the values, one per line, %.9g). Exported at batch 2 with a dynamic
batch dim; the saved input has batch 5."""
import os

import torch
from txt_fixture import write_txt  # noqa: E402 (this folder, on sys.path when run as a script)
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(15)


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.flatten = nn.Flatten()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 8)
        self.fc3 = nn.Linear(8, 8)
        self.fc4 = nn.Linear(8, 8)
        self.out = nn.Linear(8, 3)

    def forward(self, x):
        h = torch.relu(self.fc1(self.flatten(x)))
        h = nn.functional.leaky_relu(torch.tanh(self.fc2(h)), 0.1)
        h = torch.sigmoid(nn.functional.elu(self.fc3(h)))
        return torch.softmax(self.out(self.fc4(h)), dim=1)


class MlpView(nn.Module):
    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(3, 4)
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        h = torch.relu(self.proj(x))  # (B, 2, 4): MatMul + Add
        h = h.view(h.size(0), -1)     # Shape, Gather, Unsqueeze, Concat, Reshape
        return torch.log_softmax(self.head(h), dim=-1)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.pool = nn.MaxPool2d(2)
        self.gap = nn.AdaptiveAvgPool2d(1)

    def forward(self, x):
        return self.gap(torch.relu(self.pool(self.conv(x)))).flatten(1)


def make(name, model, sample_shape):
    model.eval()
    example = torch.randn(2, *sample_shape)
    path = os.path.join(HERE, name + ".onnx")
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}}, opset_version=17)
    x = torch.randn(5, *sample_shape)
    with torch.no_grad():
        y = model(x)
    write_txt(os.path.join(HERE, name + ".input.txt"), x)
    write_txt(os.path.join(HERE, name + ".output.txt"), y)
    print(name, os.path.getsize(path), "bytes, torch", torch.__version__)


make("mlp", Mlp(), (2, 3))
make("mlp_view", MlpView(), (2, 3))
make("cnn", Cnn(), (1, 6, 6))
