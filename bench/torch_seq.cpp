// The "seq" group of torch_bench: the workloads of tapeflow_seq.cpp on libtorch. libtorch 1.13
// has no scaled_dot_product_attention: the attention is its definition (matmul, masked_fill,
// softmax, matmul), as PyTorch's math backend computes it.
#include <torch/torch.h>

#include <cmath>

#include "bench/harness.h"

void run_seq(const bench::Options& opt) {
  torch::manual_seed(7);
  {
    const int64_t B = 32, I = 64, H = 128;
    torch::Tensor x = torch::randn({B, I}, torch::requires_grad()), h = torch::randn({B, H}, torch::requires_grad());
    torch::Tensor c = torch::randn({B, H}, torch::requires_grad());
    torch::Tensor wi = (torch::randn({4 * H, I}) * 0.1).requires_grad_(), wh = (torch::randn({4 * H, H}) * 0.1).requires_grad_();
    torch::Tensor bi = torch::zeros({4 * H}, torch::requires_grad()), bh = torch::zeros({4 * H}, torch::requires_grad());
    double s = bench::median_seconds(opt, [&] {
      auto hc = torch::lstm_cell(x, {h, c}, wi, wh, bi, bh);
      (std::get<0>(hc).sum() + std::get<1>(hc).sum()).backward();
      for (torch::Tensor* t : {&x, &h, &c, &wi, &wh, &bi, &bh}) t->mutable_grad().reset();
    });
    bench::report("lstm_cell_b32_i64_h128_fwd_bwd", s * 1e3, "ms", true);
  }
  {
    torch::Tensor q = torch::randn({8, 4, 64, 32}, torch::requires_grad()), k = torch::randn({8, 4, 64, 32}, torch::requires_grad());
    torch::Tensor v = torch::randn({8, 4, 64, 32}, torch::requires_grad());
    torch::Tensor keep = torch::ones({64, 64}, torch::kBool).tril();
    double s = bench::median_seconds(opt, [&] {
      torch::Tensor sc = torch::matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(32.0));
      sc = sc.masked_fill(keep.logical_not(), -INFINITY);
      torch::matmul(torch::softmax(sc, -1), v).sum().backward();
      for (torch::Tensor* t : {&q, &k, &v}) t->mutable_grad().reset();
    });
    bench::report("attention_causal_b8_h4_l64_d32_fwd_bwd", s * 1e3, "ms", true);
  }
}
