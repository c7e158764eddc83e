// The "conv" group of tapeflow_bench (torch_conv.cpp runs the same on libtorch): conv2d
// forward + backward (grads of input, weight and bias) for a ResNet-like 3x3 layer and the two
// conv layers of a Fashion-MNIST CNN, plus its 2x2 max pooling, in float32. RESULT lines in ms.
// And the epoch time of samples/fashion_cnn's network (Conv2D(32, 3, relu) -> MaxPooling2D(2) ->
// Conv2D(64, 3, relu) -> MaxPooling2D(2) -> Flatten -> Dense(128, relu) -> Dropout(0.5) ->
// Dense(10); batch 128, Adam(1e-3, eps 1e-7), cross-entropy; pixels / 255) on a fixed subset:
// the first kCnnImages training images (--train-limit N: the first N), shuffled each epoch.
#include "bench/harness.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {

constexpr int64_t kCnnImages = 12800, kCnnBatch = 128;

void run_cnn_epoch(const bench::Options& opt) {
  tf::data::MnistData raw = tf::data::load_mnist(opt.data_dir);
  const int64_t n = opt.train_limit > 0 ? std::min(opt.train_limit, raw.train_images.size(0)) : kCnnImages;
  tf::Tensor x = (raw.train_images.slice(0, 0, n).astype(tf::kFloat32) * (1.0f / 255.0f)).reshape({n, 1, 28, 28});
  tf::Tensor y = raw.train_labels.slice(0, 0, n).astype(tf::kInt64);
  tf::manual_seed(123);
  nn::Sequential model;
  model.add(nn::Conv2D(32, 3, nn::Conv2DOptions().activation("relu")));
  model.add(nn::MaxPooling2D(2));
  model.add(nn::Conv2D(64, 3, nn::Conv2DOptions().activation("relu")));
  model.add(nn::MaxPooling2D(2));
  model.add(nn::Flatten());
  model.add(nn::Dense(128, "relu"));
  model.add(nn::Dropout(0.5));
  model.add(nn::Dense(10));
  model.build(tf::Shape{1, 28, 28});
  tf::optim::Adam adam(model.parameters(), {.lr = 1e-3, .epsilon = 1e-7});
  tf::data::BatchIterator batches(x, y, kCnnBatch, /*shuffle=*/true, /*seed=*/7);
  bench::EpochTimer timer(opt, "fashion_cnn_n" + std::to_string(n), batches.num_batches());
  tf::Tensor xb, yb;
  while (timer.next_epoch()) {
    batches.start_epoch();
    while (batches.next(xb, yb)) {
      tf::Tensor loss = tf::mean(tf::cross_entropy(model(xb), yb));
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
  run_cnn_epoch(opt);
}
