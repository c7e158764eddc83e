// The "conv" group of tapeflow_bench (torch_conv.cpp runs the same on libtorch): conv2d
// forward + backward (grads of input, weight and bias) for a ResNet-like 3x3 layer and the two
// conv layers of a Fashion-MNIST CNN, plus its 2x2 max pooling, in float32. RESULT lines in ms.
#include "bench/harness.h"
#include "tapeflow.h"

namespace tf = tapeflow;

void run_conv(const bench::Options& opt) {
  struct Layer { const char* key; int64_t n, cin, cout, h, w, k, pad; };
  const Layer layers[] = {
      {"conv2d_resnet3x3_n8_c64_32x32_fwd_bwd", 8, 64, 64, 32, 32, 3, 1},
      {"conv2d_fashion1_n64_c1to32_28x28_fwd_bwd", 64, 1, 32, 28, 28, 3, 1},
      {"conv2d_fashion2_n64_c32to64_14x14_fwd_bwd", 64, 32, 64, 14, 14, 3, 1},
  };
  tf::manual_seed(5);
  for (const Layer& l : layers) {
    tf::Tensor x = tf::randn({l.n, l.cin, l.h, l.w}).requires_grad_();
    tf::Tensor w = (tf::randn({l.cout, l.cin, l.k, l.k}) * 0.1).requires_grad_();
    tf::Tensor b = tf::zeros({l.cout}).requires_grad_();
    double s = bench::median_seconds(opt, [&] {
      tf::Tensor y = tf::conv2d(x, w, b, 1, l.pad);
      y.sum().backward();
      x.zero_grad(true); w.zero_grad(true); b.zero_grad(true);
    });
    bench::report(l.key, s * 1e3, "ms", true);
  }
  tf::Tensor p = tf::randn({64, 32, 28, 28}).requires_grad_();
  double s = bench::median_seconds(opt, [&] {
    tf::max_pool2d(p, 2).sum().backward();
    p.zero_grad(true);
  });
  bench::report("max_pool2d_n64_c32_28x28_fwd_bwd", s * 1e3, "ms", true);
}
