// Normalisation, embedding, masking, sorting, einsum, attention and recurrent cells as
// differentiable functional ops with PyTorch's names, argument order and semantics
// (torch.nn.functional / torch). Bad input throws tapeflow::Error naming the op and the shapes.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace tapeflow {

// ---- normalisation ----
// F.batch_norm over channel dim 1 of (N, C), (N, C, L) or (N, C, H, W) (or 5-D). training:
// normalises with the batch mean and biased variance and, when running_mean / running_var are
// defined, updates them IN PLACE: new = (1 - momentum) * old + momentum * batch (running_var
// takes the unbiased batch variance). Eval: normalises with the running statistics (required).
// weight / bias (C) or undefined (1 / 0). Fused kernels, statistics in double.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  bool training = false, double momentum = 0.1, double eps = 1e-5);
// F.layer_norm: normalises over the trailing dims `normalized_shape` (biased variance);
// weight / bias of shape normalized_shape or undefined. Fused kernels, statistics in double.
Tensor layer_norm(const Tensor& input, const std::vector<int64_t>& normalized_shape,
                  const Tensor& weight = Tensor(), const Tensor& bias = Tensor(), double eps = 1e-5);

// ---- embedding ----
// F.embedding: out = weight[indices] of shape indices.shape + (D,). The gradient of weight
// is scatter-added (repeated indices accumulate); row padding_idx gets no gradient (negative
// padding_idx counts from the end as in PyTorch; the default, none, is written kNoPadding).
constexpr int64_t kNoPadding = INT64_MIN;
Tensor embedding(const Tensor& indices, const Tensor& weight, int64_t padding_idx = kNoPadding);

// ---- masking and triangles ----
// x with `value` wherever mask (bool, broadcastable to x's shape) is true; x is not changed.
Tensor masked_fill(const Tensor& x, const Tensor& mask, Scalar value);
// Lower / upper triangle of the last two dims: keeps j - i <= diagonal (tril) / >= (triu).
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

// ---- sorting ----
// (values, indices (int64)) along dim. The sort is always stable (equal values keep their
// order; `stable` is accepted for PyTorch's signature), NaN sorts as the largest value; the
// gradient of values is scattered back to the positions they came from.
std::pair<Tensor, Tensor> sort(const Tensor& x, int dim = -1, bool descending = false,
                               bool stable = false);
// The k largest (or smallest) along dim, 0 <= k <= size(dim); ties: the lower index first.
// sorted = false still returns them sorted (allowed by PyTorch's contract).
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int dim = -1, bool largest = true,
                               bool sorted = true);

// ---- einsum ----
// One or two operands, explicit output ("ij,jk->ik"), letters a-z, no ellipsis and no repeated
// letter inside one operand. Supported: every contraction / batch / outer-product pattern of
// two operands (e.g. "ij,jk->ik", "bij,bjk->bik", "bhqd,bhkd->bhqk", "bhqk,bhkd->bhqd",
// "i,i->", "i,j->ij") and permutation / sums of one ("ij->ji", "ij->i"). Mapped to permute,
// reshape and matmul. Anything else throws listing what is supported.
Tensor einsum(const std::string& equation, const Tensor& a);
Tensor einsum(const std::string& equation, const Tensor& a, const Tensor& b);

// ---- attention ----
// F.scaled_dot_product_attention: q (..., L, E), k (..., S, E), v (..., S, Ev) (batch dims
// broadcast) -> (..., L, Ev) = softmax(q k^T * scale + mask) v, scale default 1/sqrt(E).
// attn_mask broadcastable to (..., L, S): bool (true = may attend) or float (added to the
// scores). is_causal masks j > i (not together with attn_mask). Memory: one (L, S) score matrix
// per head, softmax fused and stable. A row with every position masked gives ZEROS (PyTorch
// gives NaN there), and its gradient is zero.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& attn_mask = Tensor(), bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

// ---- recurrent cells (PyTorch's nn.LSTMCell / GRUCell / RNNCell math) ----
// x (B, I) or (I), h / c (B, H) (undefined = zeros); w_ih (G*H, I), w_hh (G*H, H), biases
// (G*H) or undefined. One gemm per input for all gates: x @ w_ih^T and h @ w_hh^T.
// LSTM gates (i, f, g, o): c' = f*c + i*g, h' = o*tanh(c'); returns (h', c').
std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const std::pair<Tensor, Tensor>& hc,
                                    const Tensor& w_ih, const Tensor& w_hh,
                                    const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
// GRU gates (r, z, n): n = tanh(W_in x + b_in + r*(W_hn h + b_hn)), h' = (1-z)*n + z*h.
Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());
// Elman cell: h' = tanh(x w_ih^T + b_ih + h w_hh^T + b_hh).
Tensor simple_rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh,
                       const Tensor& b_ih = Tensor(), const Tensor& b_hh = Tensor());

}  // namespace tapeflow
