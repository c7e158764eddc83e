# Regenerates tests/data/torch_*.safetensors, used by tests/test_torch_state.cpp: a small MLP
# made in PyTorch (Debian's python3-torch 1.13) and saved with safetensors' save_file (0.8.0
# was used) in float32, float16 and bfloat16, plus the expected outputs on a fixed input.
#   /usr/bin/python3 -m venv --system-site-packages /tmp/st && /tmp/st/bin/pip install safetensors
#   /tmp/st/bin/python tests/data/make_torch_fixtures.py tests/data
import sys

import torch
from safetensors.torch import save_file

out = sys.argv[1] if len(sys.argv) > 1 else "."
torch.manual_seed(0)


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(4, 8)
        self.fc2 = torch.nn.Linear(8, 6)
        self.out = torch.nn.Linear(6, 3)

    def forward(self, x):
        return self.out(torch.relu(self.fc2(torch.tanh(self.fc1(x)))))


model = MLP()
x = torch.randn(5, 4)
state = {k: v.contiguous() for k, v in model.state_dict().items()}
expected = {"x": x}
with torch.no_grad():
    # PyTorch's own float32 forward.
    expected["y_torch_f32"] = model(x)
    for name, dtype in (("f32", torch.float32), ("f16", torch.float16), ("bf16", torch.bfloat16)):
        weights = {k: v.to(dtype) for k, v in state.items()}
        save_file(weights, f"{out}/torch_mlp_{name}.safetensors", metadata={"format": "pt"})
        # The reference for a file: its stored weights, widened exactly to float64, in a
        # float64 forward (so the only error left on the tapeflow side is float32 arithmetic).
        m64 = MLP().double()
        m64.load_state_dict({k: v.double() for k, v in weights.items()})
        expected[f"y_{name}"] = m64(x.double())
save_file(expected, f"{out}/torch_mlp_expected.safetensors")

# Special values of both half types and their exact float32 values, as torch converts them.
h = torch.tensor([0.0, -0.0, 1.0, -2.5, 65504.0, 6.103515625e-05, 5.960464477539063e-08,
                  -3.0517578125e-05, float("inf"), float("-inf"), float("nan"), 0.1], dtype=torch.float16)
b = torch.tensor([0.0, -0.0, 1.0, -2.5, 3.3895313892515355e38, 1.1754943508222875e-38,
                  9.183549615799121e-41, float("inf"), float("-inf"), float("nan"), 0.1, 1e-3],
                 dtype=torch.bfloat16)
save_file({"h": h, "h_f32": h.float(), "b": b, "b_f32": b.float()}, f"{out}/torch_half_specials.safetensors")
print("wrote", out)
