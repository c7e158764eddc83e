#!/usr/bin/python3
# Generates tests/nn_refs.h: PyTorch (Debian's python3-torch) values and gradients of the ops of
# tensor/nn_ops.h (batch/layer norm, embedding, masking, sort/topk, einsum, attention, recurrent
# cells) for tests/test_norm.cpp, test_embedding.cpp, test_sort.cpp, test_attention.cpp and
# test_rnn_ops.cpp. Run offline: /usr/bin/python3 tests/data/make_nn_refs.py > tests/nn_refs.h
# Same formula inputs as make_conv_refs.py: input k, element i = sin(0.37 * i + k + 0.1)
# (ties: rounded to quarters); gradients are those of sum(y * cos(0.23 * i)), in float64.
# Constant (non-differentiated) arguments are written the same way on both sides.
import math
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)


def arg(shape, k, ties=False):
    n = math.prod(shape)
    v = torch.tensor([math.sin(0.37 * i + k + 0.1) for i in range(n)]).reshape(shape)
    return torch.round(v * 4) / 4 if ties else v


CASES = []
EXTRA = []


def case(name, fn, shapes, ties=False):
    xs = [arg(s, k, ties).requires_grad_() for k, s in enumerate(shapes)]
    y = fn(*xs)
    w = torch.tensor([math.cos(0.23 * i) for i in range(y.numel())]).reshape(y.shape)
    grads = torch.autograd.grad((y * w).sum(), xs)
    CASES.append((name, list(y.shape), y.detach().flatten().tolist(), [g.flatten().tolist() for g in grads]))


def rm(c):  # constant running statistics (tests write tf::linspace the same way)
    return torch.linspace(-0.5, 0.5, c), torch.linspace(0.5, 1.5, c)


# ---- batch norm ----
case("bn_train_nchw", lambda x, w, b: F.batch_norm(x, None, None, w, b, True), [(2, 3, 4, 5), (3,), (3,)])
case("bn_train_nc", lambda x, w, b: F.batch_norm(x, None, None, w, b, True, 0.1, 1e-3), [(4, 3), (3,), (3,)])
case("bn_train_ncl_batch1", lambda x: F.batch_norm(x, None, None, None, None, True), [(1, 3, 4)])
case("bn_eval_ncl", lambda x, w, b: F.batch_norm(x, *rm(3), w, b, False), [(2, 3, 5), (3,), (3,)])
x = arg((2, 3, 4), 0)
m, v = rm(3)
F.batch_norm(x, m, v, None, None, True, 0.2)
EXTRA.append(("kBnRunningMean", m.tolist()))
EXTRA.append(("kBnRunningVar", v.tolist()))

# ---- layer norm ----
case("ln_last", lambda x, w, b: F.layer_norm(x, (4,), w, b), [(2, 3, 4), (4,), (4,)])
case("ln_last2", lambda x, w, b: F.layer_norm(x, (3, 4), w, b, 1e-3), [(2, 3, 4), (3, 4), (3, 4)])
case("ln_noaffine_batch1", lambda x: F.layer_norm(x, (5,)), [(1, 1, 5)])

# ---- embedding ----
IDX = torch.tensor([[1, 3, 0], [3, 3, 2]])
case("embedding", lambda w: F.embedding(IDX, w), [(5, 3)])
case("embedding_pad", lambda w: F.embedding(IDX, w, padding_idx=3), [(5, 3)])

# ---- masking, triangles ----
case("masked_fill", lambda x: x.masked_fill(torch.tensor([True, False, False, True]), -2.5), [(3, 4)])
case("tril", lambda x: torch.tril(x, 1), [(2, 3, 4)])
case("triu", lambda x: torch.triu(x, -1), [(2, 3, 4)])

# ---- sort, topk ----
case("sort_desc_ties", lambda x: torch.sort(x, stable=True, dim=1, descending=True)[0], [(3, 5)], ties=True)
case("sort_dim0_ties", lambda x: torch.sort(x, stable=True, dim=0)[0], [(4, 3)], ties=True)
case("topk_largest", lambda x: torch.topk(x, 2, -1)[0], [(3, 6)])
case("topk_k_eq_n_smallest", lambda x: torch.topk(x, 4, 1, False)[0], [(2, 4)])
xs = arg((3, 5), 0, True)
EXTRA.append(("kSortDescTiesIdx", torch.sort(xs, stable=True, dim=1, descending=True)[1].flatten().tolist()))

# ---- einsum ----
case("einsum_ij_jk", lambda a, b: torch.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)])
case("einsum_bij_bjk", lambda a, b: torch.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 5)])
case("einsum_qk", lambda a, b: torch.einsum("bhqd,bhkd->bhqk", a, b), [(2, 2, 3, 4), (2, 2, 5, 4)])
case("einsum_pv", lambda a, b: torch.einsum("bhqk,bhkd->bhqd", a, b), [(2, 2, 3, 5), (2, 2, 5, 4)])
case("einsum_dot", lambda a, b: torch.einsum("i,i->", a, b), [(6,), (6,)])
case("einsum_outer", lambda a, b: torch.einsum("i,j->ij", a, b), [(3,), (4,)])
case("einsum_transpose", lambda a: torch.einsum("ij->ji", a), [(3, 4)])
case("einsum_sum_free", lambda a, b: torch.einsum("ijk,jl->il", a, b), [(2, 3, 4), (3, 2)])


# ---- attention (PyTorch 1.13 has no F.scaled_dot_product_attention: its definition) ----
def sdpa(q, k, v, mask=None, causal=False, scale=None):
    s = q @ k.transpose(-2, -1) * (scale if scale is not None else 1 / math.sqrt(q.shape[-1]))
    if causal:
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
    if mask is not None:
        s = s.masked_fill(~mask, float("-inf")) if mask.dtype == torch.bool else s + mask
    return torch.softmax(s, -1) @ v


MASK = torch.tensor([[True, False, True, True, False], [True, True, True, True, True],
                     [False, False, False, False, True]])
case("sdpa_plain", sdpa, [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3)])
case("sdpa_causal", lambda q, k, v: sdpa(q, k, v, causal=True), [(2, 4, 3), (2, 4, 3), (2, 4, 2)])
case("sdpa_bool_mask_scale", lambda q, k, v: sdpa(q, k, v, MASK, scale=0.7), [(2, 3, 4), (2, 5, 4), (2, 5, 3)])
case("sdpa_float_mask", lambda q, k, v, m: sdpa(q, k, v, m), [(2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 3), (2, 1, 3, 5)])
case("sdpa_len1", sdpa, [(1, 1, 2), (1, 1, 2), (1, 1, 3)])

# ---- recurrent cells ----
case("lstm_cell", lambda x, h, c, wi, wh, bi, bh: torch.cat(torch.lstm_cell(x, (h, c), wi, wh, bi, bh), 1),
     [(3, 5), (3, 4), (3, 4), (16, 5), (16, 4), (16,), (16,)])
case("lstm_cell_nobias_batch1", lambda x, h, c, wi, wh: torch.cat(torch.lstm_cell(x, (h, c), wi, wh), 1),
     [(1, 2), (1, 3), (1, 3), (12, 2), (12, 3)])
case("gru_cell", lambda x, h, wi, wh, bi, bh: torch.gru_cell(x, h, wi, wh, bi, bh),
     [(3, 5), (3, 4), (12, 5), (12, 4), (12,), (12,)])
case("rnn_tanh_cell", lambda x, h, wi, wh, bi, bh: torch.rnn_tanh_cell(x, h, wi, wh, bi, bh),
     [(2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,)])


def arr(v):
    return "{" + ", ".join(repr(float(x)) for x in v) + "}"


print("// Generated by tests/data/make_nn_refs.py (PyTorch", torch.__version__ + "); do not edit.")
print("// Values of each op on formula inputs and the gradients of sum(y * cos(0.23 i)).")
print("#pragma once")
print('#include <cstdint>\n#include <vector>\n\n#include "conv_refs.h"  // struct ConvRef\n')
for name, shape, y, grads in CASES:
    print(f"inline const ConvRef kRef_{name} = {{{{{', '.join(map(str, shape))}}},")
    print(f"    {arr(y)},")
    print("    {" + ",\n     ".join(arr(g) for g in grads) + "}};")
for name, v in EXTRA:
    print(f"inline const std::vector<double> {name} = {arr(v)};")
