// tapeflow_bench's training workloads: Fashion-MNIST epochs for the seed's small MLP
// (784-50-50-10 tanh, batch 64, SGD with momentum) and a wide one (784-512-512-10 relu,
// batch 256, Adam), written as a user would with nn::Sequential, nn::Dense and optim; and the
// latency of the small MLP on one sample under no-grad (the game / simulation case).
#include <memory>
#include <string>

#include "bench/harness.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {

struct Data {
  tf::Tensor x_train, y_train, x_test, y_test;
};

// The seed's preprocessing ((p/255 - 0.5) * 2, per-pixel mean, one global std).
Data load_data(const bench::Options& opt) {
  tf::data::MnistData raw = tf::data::load_mnist(opt.data_dir);
  tf::data::PixelStandardizer st;
  st.fit(raw.train_images);
  Data d;
  d.x_train = st.transform(raw.train_images);
  d.y_train = raw.train_labels.astype(tf::kInt64);
  d.x_test = st.transform(raw.test_images);
  d.y_test = raw.test_labels.astype(tf::kInt64);
  if (opt.train_limit > 0 && opt.train_limit < d.x_train.size(0)) {
    d.x_train = d.x_train.slice(0, 0, opt.train_limit).contiguous();
    d.y_train = d.y_train.slice(0, 0, opt.train_limit).contiguous();
  }
  return d;
}

std::shared_ptr<nn::Sequential> make_mlp(int64_t hidden, const std::string& act) {
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Dense(hidden, act, true, "glorot_uniform", "zeros", 784));
  m->add(nn::Dense(hidden, act));
  m->add(nn::Dense(10));
  return m;
}

double test_accuracy(nn::Sequential& model, const Data& d) {
  tf::NoGradGuard no_grad;
  tf::Tensor pred = tf::argmax(model(d.x_test), 1);
  return tf::eq(pred, d.y_test).astype(tf::kFloat64).mean().item<double>() * 100.0;
}

// Trains for opt.epochs epochs; reports the median epoch time and the final test accuracy.
void train(const bench::Options& opt, const Data& d, const std::string& key, nn::Sequential& model,
           tf::optim::Optimizer& optimizer, int64_t batch) {
  tf::data::BatchIterator batches(d.x_train, d.y_train, batch, /*shuffle=*/true, /*seed=*/7);
  bench::EpochTimer timer(opt, key, batches.num_batches());
  tf::Tensor xb, yb;
  while (timer.next_epoch()) {
    batches.start_epoch();
    while (batches.next(xb, yb)) {
      tf::Tensor loss = tf::mean(tf::cross_entropy(model(xb), yb));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      if (!timer.batch_done()) break;
    }
    timer.end_epoch();
  }
  timer.report_time();
  bench::report(key + "_test_acc", test_accuracy(model, d), "%", false);
}

}  // namespace

void run_training(const bench::Options& opt) {
  Data d = load_data(opt);
  {
    tf::manual_seed(123);
    auto model = make_mlp(50, "tanh");
    tf::optim::SGD sgd(model->parameters(), {.lr = bench::kSmallLr, .momentum = bench::kSmallMomentum});
    train(opt, d, "small_mlp", *model, sgd, bench::kSmallBatch);
  }
  {
    tf::manual_seed(123);
    auto model = make_mlp(512, "relu");
    tf::optim::Adam adam(model->parameters(), {.lr = bench::kWideLr});
    train(opt, d, "wide_mlp", *model, adam, bench::kWideBatch);
  }
}

void run_inference(const bench::Options& opt) {
  tf::manual_seed(123);
  auto model = make_mlp(50, "tanh");
  tf::Tensor x = tf::randn({1, 784});
  tf::NoGradGuard no_grad;
  double s = bench::median_seconds(opt, [&] { tf::Tensor y = (*model)(x); bench::keep(y); });
  bench::report("small_mlp_batch1_infer", s * 1e6, "us", true);
}
