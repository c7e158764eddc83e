// The "seq" group of tapeflow_bench (torch_seq.cpp runs the same on libtorch), float32:
// one LSTM cell step (batch 32, input 64, hidden 128) forward + backward to every input and
// parameter, and a causal attention block (batch 8, 4 heads, L = 64, d = 32) forward + backward
// to q, k and v. RESULT lines in ms.
#include "bench/harness.h"
#include "tapeflow.h"

namespace tf = tapeflow;

void run_seq(const bench::Options& opt) {
  tf::manual_seed(7);
  {
    const int64_t B = 32, I = 64, H = 128;
    tf::Tensor x = tf::randn({B, I}).requires_grad_(), h = tf::randn({B, H}).requires_grad_();
    tf::Tensor c = tf::randn({B, H}).requires_grad_();
    tf::Tensor wi = (tf::randn({4 * H, I}) * 0.1).requires_grad_(), wh = (tf::randn({4 * H, H}) * 0.1).requires_grad_();
    tf::Tensor bi = tf::zeros({4 * H}).requires_grad_(), bh = tf::zeros({4 * H}).requires_grad_();
    double s = bench::median_seconds(opt, [&] {
      auto [h2, c2] = tf::lstm_cell(x, {h, c}, wi, wh, bi, bh);
      (h2.sum() + c2.sum()).backward();
      for (tf::Tensor* t : {&x, &h, &c, &wi, &wh, &bi, &bh}) t->zero_grad(true);
    });
    bench::report("lstm_cell_b32_i64_h128_fwd_bwd", s * 1e3, "ms", true);
  }
  {
    tf::Tensor q = tf::randn({8, 4, 64, 32}).requires_grad_(), k = tf::randn({8, 4, 64, 32}).requires_grad_();
    tf::Tensor v = tf::randn({8, 4, 64, 32}).requires_grad_();
    double s = bench::median_seconds(opt, [&] {
      tf::scaled_dot_product_attention(q, k, v, {}, true).sum().backward();
      for (tf::Tensor* t : {&q, &k, &v}) t->zero_grad(true);
    });
    bench::report("attention_causal_b8_h4_l64_d32_fwd_bwd", s * 1e3, "ms", true);
  }
}
