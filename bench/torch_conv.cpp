// The "conv" group of torch_bench: the workloads of tapeflow_conv.cpp on libtorch, the CNN
// epoch written as the usual libtorch C++ loop (same network, data, batch and optimizer).
#include <torch/torch.h>

#include <string>

#include "bench/harness.h"
#include "bench/mnist_raw.h"

namespace {

constexpr int64_t kCnnImages = 12800, kCnnBatch = 128;

void run_cnn_epoch(const bench::Options& opt) {
  bench::IdxFile xi = bench::read_idx_gz(opt.data_dir + "/train-images-idx3-ubyte.gz");
  bench::IdxFile yi = bench::read_idx_gz(opt.data_dir + "/train-labels-idx1-ubyte.gz");
  const int64_t n = opt.train_limit > 0 ? std::min(opt.train_limit, xi.dims[0]) : kCnnImages;
  torch::Tensor x = torch::from_blob(xi.bytes.data(), {n, 1, 28, 28}, torch::kUInt8).to(torch::kFloat32) / 255.0;
  torch::Tensor y = torch::from_blob(yi.bytes.data(), {n}, torch::kUInt8).to(torch::kInt64);
  torch::manual_seed(123);
  torch::nn::Sequential model(
      torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 32, 3)), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
      torch::nn::Conv2d(torch::nn::Conv2dOptions(32, 64, 3)), torch::nn::ReLU(), torch::nn::MaxPool2d(2),
      torch::nn::Flatten(), torch::nn::Linear(1600, 128), torch::nn::ReLU(), torch::nn::Dropout(0.5),
      torch::nn::Linear(128, 10));
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(1e-3).eps(1e-7));
  bench::EpochTimer timer(opt, "fashion_cnn_n" + std::to_string(n), (n + kCnnBatch - 1) / kCnnBatch);
  while (timer.next_epoch()) {
    torch::Tensor order = torch::randperm(n, torch::kInt64);
    for (int64_t i = 0; i < n; i += kCnnBatch) {
      torch::Tensor idx = order.slice(0, i, std::min(n, i + kCnnBatch));
      torch::Tensor xb = x.index_select(0, idx), yb = y.index_select(0, idx);
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
      adam.zero_grad();
      loss.backward();
      adam.step();
      if (!timer.batch_done()) break;
    }
    timer.end_epoch();
  }
  timer.report_time();
}

}  // namespace

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
  run_cnn_epoch(opt);
}
