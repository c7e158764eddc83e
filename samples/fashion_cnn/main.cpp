// A small convnet on Fashion-MNIST (Keras's "simple MNIST convnet" shape, channels-first, with
// "same" padding and batch normalisation after each convolution):
//   Conv2D(32, 3, same) -> BatchNormalization(momentum 0.9) -> relu -> MaxPooling2D(2) ->
//   Conv2D(64, 3, same) -> BatchNormalization(momentum 0.9) -> relu -> MaxPooling2D(2) ->
//   Flatten -> Dense(128, relu) -> Dropout(0.5) -> Dense(10, softmax); Adam (lr 1e-3, decayed
//   by 0.85 per epoch, as a Keras LearningRateScheduler would), sparse categorical cross-entropy.
//   fashion_cnn [--epochs N] [--limit N] [--quick] [--batch-size 128] [--seed 1] [--data DIR]
//               [--device cpu|cuda] [--plot FILE.svg]
// --limit N trains on the first N training images (and tests on the first N/4 test images);
// --quick = --epochs 2 --limit 4000 (the CI run). Prints "Test accuracy: xx.xx%" last and
// writes the learning curve (training loss and accuracy, test accuracy per epoch) as SVG.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "samples/plot/sample_args.h"
#include "samples/plot/svg_plot.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {
samples::SampleArgs parse(int argc, char** argv) {
  samples::SampleArgs a;
  a.epochs = 15; a.batch_size = 128; a.quick_epochs = 2; a.quick_limit = 4000;
  a.takes_data = true; a.data = "/usr/share/datasets/fashion-mnist"; a.plot = "fashion_cnn.svg";
  a.parse(argc, argv);
  return a;
}

// uint8 (N, 28, 28) -> float32 (N, 1, 28, 28) in [0, 1].
tf::Tensor images(const tf::Tensor& u8, int64_t limit) {
  tf::Tensor x = limit > 0 && limit < u8.size(0) ? u8.slice(0, 0, limit) : u8;
  return (x.astype(tf::kFloat32) * (1.0f / 255.0f)).reshape(tf::Shape{x.size(0), 1, 28, 28});
}
tf::Tensor labels(const tf::Tensor& u8, int64_t limit) {
  tf::Tensor y = limit > 0 && limit < u8.size(0) ? u8.slice(0, 0, limit) : u8;
  return y.astype(tf::kInt64);
}
}  // namespace

int main(int argc, char** argv) try {
  auto args = parse(argc, argv);
  tf::manual_seed(args.seed);
  tf::Device device(args.device);
  std::printf("Reading data from %s\n", args.data.c_str());
  tf::data::MnistData d = tf::data::load_mnist(args.data);
  tf::Tensor x_train = images(d.train_images, args.limit), y_train = labels(d.train_labels, args.limit);
  int64_t test_limit = args.limit > 0 ? std::max<int64_t>(args.limit / 4, 1000) : 0;
  tf::Tensor x_test = images(d.test_images, test_limit), y_test = labels(d.test_labels, test_limit);
  std::printf("Training on %lld images, testing on %lld\n", (long long)x_train.size(0), (long long)x_test.size(0));

  nn::Sequential model;
  model.add(nn::Conv2D(32, 3, nn::Conv2DOptions().padding("same")));
  model.add(nn::BatchNormalization(nn::BatchNormalizationOptions().momentum(0.9)));
  model.add(nn::Activation("relu"));
  model.add(nn::MaxPooling2D(2));
  model.add(nn::Conv2D(64, 3, nn::Conv2DOptions().padding("same")));
  model.add(nn::BatchNormalization(nn::BatchNormalizationOptions().momentum(0.9)));
  model.add(nn::Activation("relu"));
  model.add(nn::MaxPooling2D(2));
  model.add(nn::Flatten());
  model.add(nn::Dense(128, "relu"));
  model.add(nn::Dropout(0.5));
  model.add(nn::Dense(10, "softmax"));
  model.build(tf::Shape{1, 28, 28});
  model.to(device);
  model.summary();
  model.compile("adam", "sparse_categorical_crossentropy", {"accuracy"});

  std::vector<double> ep, loss, acc, test_acc;
  double final_acc = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= args.epochs; ++e) {
    model.optimizer()->set_lr(1e-3 * std::pow(0.85, e - 1));
    nn::History h = model.fit(x_train, y_train,
                              nn::FitOptions().with_epochs(1).with_batch_size(args.batch_size).with_verbose(0).with_seed(
                                  (int64_t)args.seed + e));
    tf::Tensor pred = model.predict_classes(x_test, 512);
    final_acc = tf::mean(tf::eq(pred, y_test).astype(tf::kFloat64)).item<double>();
    ep.push_back(e);
    loss.push_back(h["loss"].back());
    acc.push_back(h["accuracy"].back());
    test_acc.push_back(final_acc);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("Epoch %d/%d - loss %.4f - accuracy %.4f - test accuracy %.4f - %.0f s\n", e, args.epochs,
                loss.back(), acc.back(), final_acc, secs);
    std::fflush(stdout);
  }
  tf::plot::Figure fig;
  fig.title("Fashion-MNIST convnet").xlabel("Epoch").ylabel("Loss / accuracy");
  fig.line(ep, loss, "training loss").line(ep, acc, "training accuracy").line(ep, test_acc, "test accuracy");
  fig.save(args.plot);
  std::printf("Learning curve: %s\n", args.plot.c_str());
  std::printf("Test accuracy: %.2f%%\n", 100.0 * final_acc);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "fashion_cnn: %s\n", e.what());
  return 1;
}
