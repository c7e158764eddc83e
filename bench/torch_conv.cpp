// The "conv" group of torch_bench: the workloads of tapeflow_conv.cpp on libtorch.
#include <torch/torch.h>

#include "bench/harness.h"

void run_conv(const bench::Options& opt) {
  struct Layer { const char* key; int64_t n, cin, cout, h, w, k, pad; };
  const Layer layers[] = {
      {"conv2d_resnet3x3_n8_c64_32x32_fwd_bwd", 8, 64, 64, 32, 32, 3, 1},
      {"conv2d_fashion1_n64_c1to32_28x28_fwd_bwd", 64, 1, 32, 28, 28, 3, 1},
      {"conv2d_fashion2_n64_c32to64_14x14_fwd_bwd", 64, 32, 64, 14, 14, 3, 1},
  };
  torch::manual_seed(5);
  for (const Layer& l : layers) {
    torch::Tensor x = torch::randn({l.n, l.cin, l.h, l.w}, torch::requires_grad());
    torch::Tensor w = (torch::randn({l.cout, l.cin, l.k, l.k}) * 0.1).requires_grad_();
    torch::Tensor b = torch::zeros({l.cout}, torch::requires_grad());
    double s = bench::median_seconds(opt, [&] {
      torch::Tensor y = torch::conv2d(x, w, b, 1, l.pad);
      y.sum().backward();
      x.mutable_grad().reset(); w.mutable_grad().reset(); b.mutable_grad().reset();
    });
    bench::report(l.key, s * 1e3, "ms", true);
  }
  torch::Tensor p = torch::randn({64, 32, 28, 28}, torch::requires_grad());
  double s = bench::median_seconds(opt, [&] {
    torch::max_pool2d(p, 2).sum().backward();
    p.mutable_grad().reset();
  });
  bench::report("max_pool2d_n64_c32_28x28_fwd_bwd", s * 1e3, "ms", true);
}
