"""Makes the sequence-model ONNX fixtures of tests/test_onnx_seq.cpp with PyTorch (run offline,
once, with Debian's python3-torch: /usr/bin/python3 tests/data/onnx/make_seq_fixtures.py [DIR]).
Writes, next to this file (or to DIR):
  emb_lstm.onnx     nn.Embedding(10, 6) -> nn.LSTM(6, 5, batch_first=True) -> nn.Linear(5, 3)
                    on every step: Gather, LSTM (with the zero initial state built from Shape),
                    Transpose/Squeeze, MatMul + Add
  bigru.onnx        nn.GRU(4, 3, batch_first=True, bidirectional=True) -> nn.Linear(6, 2): one
                    bidirectional GRU node (linear_before_reset = 1)
  encoder.onnx      nn.TransformerEncoderLayer(8, 2, 16, dropout=0, batch_first=True): the
                    attention as MatMul / Reshape / Transpose / Softmax, LayerNormalization, ...
and for each model its input and PyTorch's output as text (<name>.input.txt, <name>.output.txt:
a line with the shape, then the values, one per line, %.9g; emb_lstm's input holds token ids).
Exported at batch 2 with dynamic batch (and sequence) dims; the saved inputs have batch 5."""
import os
import sys

import torch
from txt_fixture import write_txt  # noqa: E402 (this folder, on sys.path when run as a script)
from torch import nn

HERE = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(15)


class EmbLstm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(10, 6)
        self.lstm = nn.LSTM(6, 5, batch_first=True)
        self.head = nn.Linear(5, 3)

    def forward(self, tokens):
        h, _ = self.lstm(self.embed(tokens))
        return self.head(h)


class BiGru(nn.Module):
    def __init__(self):
        super().__init__()
        self.gru = nn.GRU(4, 3, batch_first=True, bidirectional=True)
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        h, _ = self.gru(x)
        return self.head(h)


def make(name, model, example, x):
    model.eval()
    path = os.path.join(HERE, name + ".onnx")
    axes = {0: "batch", 1: "seq"}
    # Grad mode on (the weights require grad) keeps nn.MultiheadAttention off its fused fast path.
    torch.onnx.export(model, example, path, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": axes, "output": axes}, opset_version=17)
    y = model(x)
    write_txt(os.path.join(HERE, name + ".input.txt"), x)
    write_txt(os.path.join(HERE, name + ".output.txt"), y)
    print(name, os.path.getsize(path), "bytes, torch", torch.__version__)


make("emb_lstm", EmbLstm(), torch.randint(0, 10, (2, 4)), torch.randint(0, 10, (5, 7)))
# ReLU given as a plain function keeps PyTorch off its fused fast path, which has no ONNX export.
enc = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation=lambda t: torch.relu(t), batch_first=True)
make("encoder", enc, torch.randn(2, 4, 8), torch.randn(5, 6, 8))
make("bigru", BiGru(), torch.randn(2, 4, 4), torch.randn(5, 6, 4))
