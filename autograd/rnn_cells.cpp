// lstm_cell, gru_cell and simple_rnn_cell (tensor/nn_ops.h), PyTorch's math and gate order.
// All gates of one input come from one gemm each (addmm of x with w_ih^T, of h with w_hh^T),
// then element-wise gate math (LSTM: one fused backend kernel for the gate nonlinearities and the
// cell update, with its fused backward); differentiable through the public ops.
#include <tuple>

#include "autograd/function.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow {

using namespace detail;

namespace {

struct CellIn {
  Tensor x, h, c;  // 2-D
  bool unbatched = false;
  int64_t H = 0;
};

void check_shape(const char* op, const char* what, const Tensor& t, const Shape& want) {
  if (t.defined() && t.shape() != want) fail(op, ": ", what, " must have shape ", want, ", got ", t.shape());
}

// Checks for a cell with `gates` gates; h / c may be undefined (zeros).
CellIn cell_setup(const char* op, int gates, const Tensor& x, const Tensor& h, const Tensor& c, const Tensor& w_ih,
                  const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  check_defined(op, x);
  check_defined(op, w_ih);
  check_defined(op, w_hh);
  if (x.dim() != 1 && x.dim() != 2)
    fail(op, ": input must be 1-D (input_size) or 2-D (batch, input_size), got shape ", x.shape());
  if (!is_floating(x.dtype())) fail(op, ": expected a float32 or float64 input, got dtype ", x.dtype());
  if (w_ih.dim() != 2 || w_ih.shape()[0] % gates != 0)
    fail(op, ": weight_ih must be 2-D (", gates, " * hidden_size, input_size), got shape ", w_ih.shape());
  CellIn r;
  r.unbatched = x.dim() == 1;
  r.x = r.unbatched ? x.unsqueeze(0) : x;
  const int64_t B = r.x.shape()[0], I = r.x.shape()[1], H = w_ih.shape()[0] / gates;
  r.H = H;
  check_shape(op, "weight_ih", w_ih, Shape{gates * H, I});
  check_shape(op, "weight_hh", w_hh, Shape{gates * H, H});
  check_shape(op, "bias_ih", b_ih, Shape{gates * H});
  check_shape(op, "bias_hh", b_hh, Shape{gates * H});
  const Shape hs = r.unbatched ? Shape{H} : Shape{B, H};
  check_shape(op, "hidden state h", h, hs);
  check_shape(op, "cell state c", c, hs);
  for (const Tensor* t : {&w_ih, &w_hh, &b_ih, &b_hh, &h, &c})
    if (t->defined()) {
      check_same_device(op, x, *t);
      if (t->dtype() != x.dtype()) fail(op, ": all tensors must share the input's dtype ", x.dtype(), ", got ", t->dtype());
    }
  Options o(x.dtype(), x.device());
  r.h = h.defined() ? h.reshape({B, H}) : zeros({B, H}, o);
  r.c = c.defined() ? c.reshape({B, H}) : zeros({B, H}, o);
  return r;
}

// x @ w^T + b (b may be undefined): one gemm for all gates.
Tensor gates_of(const Tensor& x, const Tensor& w, const Tensor& b) {
  return b.defined() ? addmm(b, x, w.T()) : matmul(x, w.T());
}

Tensor out(const Tensor& t, bool unbatched) { return unbatched ? t.squeeze(0) : t; }

}  // namespace

namespace {

// d gates from d(h', c') by the same math as the fused backward kernel, in public ops
// (differentiable; used under create_graph). Returns (d gates, d c).
std::pair<Tensor, Tensor> lstm_gates_grad(const Tensor& gates, const Tensor& c, const Tensor& ghc, int64_t H) {
  std::vector<Tensor> q = chunk(gates, 4, 1);
  Tensor i = sigmoid(q[0]), f = sigmoid(q[1]), g = tanh(q[2]), o = sigmoid(q[3]);
  Tensor tc = tanh(f * c + i * g);
  Tensor dh = ghc.slice(1, 0, H), dc = ghc.slice(1, H) + dh * o * (1.0 - tc * tc);
  Tensor gg = concat({dc * g * i * (1.0 - i), dc * c * f * (1.0 - f), dc * i * (1.0 - g * g), dh * tc * o * (1.0 - o)}, 1);
  return {gg, dc * f};
}

// The whole cell as one tape node: gates = x w_ih^T + b_ih + h w_hh^T + b_hh (two gemms into one
// buffer), then the fused gate kernel -> hc (B, 2H) = [h', c']. Backward: the fused gate
// backward kernel, then one gemm per input / weight and a column sum per bias.
Tensor lstm_fused(const Tensor& x, const Tensor& h, const Tensor& c0, const Tensor& w_ih, const Tensor& w_hh,
                  const Tensor& b_ih, const Tensor& b_hh) {
  Tensor c = c0.contiguous();
  const int64_t B = c.shape()[0], H = c.shape()[1];
  Tensor gates;
  {
    NoGradGuard ng;
    gates = b_ih.defined() ? addmm(b_ih, x, w_ih.T()) : matmul(x, w_ih.T());
    gates = addmm(gates, h, w_hh.T());
    if (b_hh.defined()) gates.add_(b_hh);
  }
  Tensor hc = make_tensor({B, 2 * H}, c.dtype(), c.device());
  if (hc.numel()) backend_of(c).lstm_gates(view_of(gates), view_of(c), view_of(hc));
  if (autograd::should_record({&x, &h, &c0, &w_ih, &w_hh, &b_ih, &b_hh}))
    autograd::record(
        "LstmCellBackward", {&x, &h, &c0, &w_ih, &w_hh, &b_ih, &b_hh}, hc,
        [gates, sc = autograd::save(c), sx = autograd::save(x), sh = autograd::save(h), swi = autograd::save(w_ih),
         swh = autograd::save(w_hh), sbi = autograd::save(b_ih), sbh = autograd::save(b_hh),
         hcs = autograd::save_output(hc), H](autograd::Node& n, autograd::Grads& gs) -> autograd::Grads {
          Tensor x = sx.unpack(n), h = sh.unpack(n), wi = swi.unpack(n), wh = swh.unpack(n), c = sc.unpack(n);
          Tensor ghc = cast_raw(gs[0], c.dtype()).contiguous();
          Tensor gg, gc;
          if (is_grad_enabled()) {  // differentiable: the gates recomputed from the saved inputs
            Tensor bi = sbi.unpack(n), bh = sbh.unpack(n);
            Tensor g = matmul(x, wi.T()) + matmul(h, wh.T());
            if (bi.defined()) g = g + bi;
            if (bh.defined()) g = g + bh;
            std::tie(gg, gc) = lstm_gates_grad(g, c, ghc, H);
          } else {
            Tensor hc = hcs.unpack(n);
            gg = make_tensor(gates.shape(), c.dtype(), c.device());
            gc = make_tensor(c.shape(), c.dtype(), c.device());
            if (gc.numel())
              backend_of(c).lstm_gates_backward(view_of(gates), view_of(c), view_of(hc), view_of(ghc), view_of(gg),
                                                view_of(gc));
          }
          auto need = [&](size_t i) { return autograd::needs_input_grad(n, i); };
          Tensor gb = need(5) || need(6) ? sum(gg, 0) : Tensor();
          return {need(0) ? matmul(gg, wi) : Tensor(), need(1) ? matmul(gg, wh) : Tensor(), need(2) ? gc : Tensor(),
                  need(3) ? matmul(gg.T(), x) : Tensor(), need(4) ? matmul(gg.T(), h) : Tensor(),
                  need(5) ? gb : Tensor(), need(6) ? gb : Tensor()};
        });
  return hc;
}

}  // namespace

std::pair<Tensor, Tensor> lstm_cell(const Tensor& x, const std::pair<Tensor, Tensor>& hc, const Tensor& w_ih,
                                    const Tensor& w_hh, const Tensor& b_ih, const Tensor& b_hh) {
  CellIn s = cell_setup("lstm_cell", 4, x, hc.first, hc.second, w_ih, w_hh, b_ih, b_hh);
  Tensor out2 = lstm_fused(s.x, s.h, s.c, w_ih, w_hh, b_ih, b_hh);
  return {out(out2.slice(1, 0, s.H), s.unbatched), out(out2.slice(1, s.H), s.unbatched)};
}

Tensor gru_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                const Tensor& b_hh) {
  CellIn s = cell_setup("gru_cell", 3, x, h, Tensor(), w_ih, w_hh, b_ih, b_hh);
  std::vector<Tensor> gi = chunk(gates_of(s.x, w_ih, b_ih), 3, 1);  // r, z, n
  std::vector<Tensor> gh = chunk(gates_of(s.h, w_hh, b_hh), 3, 1);
  Tensor r = sigmoid(gi[0] + gh[0]), z = sigmoid(gi[1] + gh[1]);
  Tensor n = tanh(gi[2] + r * gh[2]);
  Tensor h2 = n + z * (s.h - n);  // (1 - z) * n + z * h
  return out(h2, s.unbatched);
}

Tensor simple_rnn_cell(const Tensor& x, const Tensor& h, const Tensor& w_ih, const Tensor& w_hh, const Tensor& b_ih,
                       const Tensor& b_hh) {
  CellIn s = cell_setup("simple_rnn_cell", 1, x, h, Tensor(), w_ih, w_hh, b_ih, b_hh);
  return out(tanh(gates_of(s.x, w_ih, b_ih) + gates_of(s.h, w_hh, b_hh)), s.unbatched);
}

}  // namespace tapeflow
