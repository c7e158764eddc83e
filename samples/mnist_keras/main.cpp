// Example 5 of the seed: the same network in the Keras style. Sequential of Dense 50 tanh,
// Dense 50 tanh, Dense 10 softmax (glorot_uniform kernels, zero biases); SGD with lr 0.001,
// time-based decay 1e-7 and momentum 0.9; categorical cross-entropy on one-hot labels; fit with
// batches of 64, validation_split 0.1 (the last 10% held out) and the progress display.
//   mnist_keras [--epochs N] [--batch-size 64] [--seed 123] [--data DIR] [--device cpu|cuda]
//               [--limit N] [--save FILE.safetensors] [--tensorboard LOG_DIR]
// --tensorboard writes a TensorBoard run (loss, accuracy, learning rate, weight histograms,
// a few input images and the hyperparameters): tensorboard --logdir LOG_DIR
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow.h"

namespace tf = tapeflow;

namespace {

// The seed trains 50 epochs; see kDefaultEpochs in main() for what runs without --epochs.
struct Args {
  int epochs = -1;
  int64_t batch_size = 64;
  uint64_t seed = 123;
  std::string data = "/usr/share/datasets/fashion-mnist";
  std::string device = "cpu";
  int64_t limit = 0;  // 0 = every training example
  std::string save;
  std::string tensorboard;  // log dir of a TensorBoard run; empty = none
  bool distributed = false;  // data-parallel over the ranks of `mpirun -np N`
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--help" || k == "-h") {
      std::printf("usage: %s [--epochs N] [--batch-size N] [--seed N] [--data DIR] [--device cpu|cuda] "
                  "[--limit N] [--save FILE] [--tensorboard LOG_DIR] [--distributed]\n", argv[0]);
      std::exit(0);
    }
    if (k == "--distributed") {
      a.distributed = true;
      continue;
    }
    if (i + 1 >= argc) { std::fprintf(stderr, "%s: %s needs a value\n", argv[0], k.c_str()); std::exit(2); }
    std::string v = argv[++i];
    if (k == "--epochs") a.epochs = std::atoi(v.c_str());
    else if (k == "--batch-size") a.batch_size = std::atoll(v.c_str());
    else if (k == "--seed") a.seed = std::strtoull(v.c_str(), nullptr, 10);
    else if (k == "--data") a.data = v;
    else if (k == "--device") a.device = v;
    else if (k == "--limit") a.limit = std::atoll(v.c_str());
    else if (k == "--save") a.save = v;
    else if (k == "--tensorboard") a.tensorboard = v;
    else { std::fprintf(stderr, "%s: unknown option %s (try --help)\n", argv[0], k.c_str()); std::exit(2); }
  }
  return a;
}

double accuracy(const tf::Tensor& classes, const tf::Tensor& labels) {
  return tf::mean(tf::eq(classes, labels.astype(tf::kInt64)).astype(tf::kFloat64)).item<double>();
}

}  // namespace

int main(int argc, char** argv) try {
  constexpr int kSeedEpochs = 50;
  constexpr int kDefaultEpochs = 50;
  Args args = parse(argc, argv);
  if (args.distributed) {
    tf::distributed::init();  // under mpirun: rank 0 prints, the others only train
    if (tf::distributed::rank() != 0 && !std::freopen("/dev/null", "w", stdout)) return 1;
    std::printf("Distributed: %d processes (rank 0 of %s)\n", tf::distributed::world_size(),
                tf::distributed::processor_name().c_str());
  }
  if (args.epochs < 0) {
    args.epochs = kDefaultEpochs;
    if (kDefaultEpochs != kSeedEpochs)
      std::printf("Note: training %d epochs instead of the seed's %d to keep the demo short "
                  "(--epochs %d for the full run)\n", kDefaultEpochs, kSeedEpochs, kSeedEpochs);
  }
  tf::Device device(args.device);
  tf::manual_seed(args.seed);

  std::printf("Reading data from %s\n", args.data.c_str());
  tf::data::MnistData d = tf::data::load_mnist(args.data);
  tf::data::PixelStandardizer standardizer;
  standardizer.fit(d.train_images);
  tf::Tensor X_train = standardizer.transform(d.train_images);
  tf::Tensor X_test = standardizer.transform(d.test_images);
  tf::Tensor y_train = d.train_labels, y_test = d.test_labels;
  if (args.limit > 0 && args.limit < X_train.size(0)) {
    X_train = X_train.slice(0, 0, args.limit);
    y_train = y_train.slice(0, 0, args.limit);
  }
  std::printf("Rows: %lld, columns: %lld\n", (long long)X_train.size(0), (long long)X_train.size(1));

  tf::Tensor y_train_onehot = tf::data::to_categorical(y_train, 10);
  std::printf("First 3 labels: %s\n", y_train.slice(0, 0, 3).str().c_str());
  std::printf("\nFirst 3 labels (one-hot):\n%s\n\n", y_train_onehot.slice(0, 0, 3).str().c_str());

  tf::nn::Sequential model;
  using tf::nn::DenseOptions;
  model.add(tf::nn::Dense(50, DenseOptions().activation("tanh").input_dim(X_train.size(1))));
  model.add(tf::nn::Dense(50, DenseOptions().activation("tanh").kernel_initializer("glorot_uniform")));
  model.add(tf::nn::Dense(10, DenseOptions().activation("softmax").bias_initializer("zeros")));
  model.to(device);
  model.summary();

  auto sgd = std::make_shared<tf::optim::SGD>(tf::optim::SGDOptions{.lr = 0.001, .momentum = 0.9, .decay = 1e-7});
  model.compile(sgd, "categorical_crossentropy", {"accuracy"});
  std::vector<std::shared_ptr<tf::nn::Callback>> callbacks;
  if (!args.tensorboard.empty() && tf::distributed::rank() == 0) {
    // The first training images, as the run's first images (uint8, 28x28 grey).
    {
      tf::tensorboard::SummaryWriter images(args.tensorboard + "/images");
      for (int i = 0; i < 3; ++i)
        images.add_image("train_images/" + std::to_string(i), d.train_images[i], 0, "HW");
    }
    tf::nn::TensorBoardOptions tb;
    tb.histogram_freq = 1;
    tb.hparams = {{"batch_size", (int64_t)args.batch_size}, {"optimizer", "SGD"}, {"lr", 0.001},
                  {"momentum", 0.9}, {"hidden_units", 50}, {"activation", "tanh"}};
    callbacks.push_back(std::make_shared<tf::nn::TensorBoard>(args.tensorboard, tb));
  }
  model.fit(X_train, y_train_onehot,
            {.batch_size = args.batch_size, .epochs = args.epochs, .verbose = 1, .callbacks = callbacks,
             .validation_split = 0.1, .seed = (int64_t)args.seed, .distributed = args.distributed});
  if (!args.tensorboard.empty()) std::printf("TensorBoard run: tensorboard --logdir %s\n", args.tensorboard.c_str());

  tf::Tensor y_train_pred = model.predict_classes(X_train);
  std::printf("First 3 predictions: %s\n", y_train_pred.slice(0, 0, 3).str().c_str());
  std::printf("Training accuracy: %.2f%%\n", 100.0 * accuracy(y_train_pred, y_train));
  std::printf("Test accuracy: %.2f%%\n", 100.0 * accuracy(model.predict_classes(X_test), y_test));
  if (!args.save.empty() && tf::distributed::rank() == 0) {
    model.save_weights(args.save);
    std::printf("Saved the weights to %s\n", args.save.c_str());
  }
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "mnist_keras: %s\n", e.what());
  return 1;
}
