// tapeflow_bench's training workloads: Fashion-MNIST epochs for the seed's small MLP
// (784-50-50-10 tanh, batch 64, SGD with momentum) and a wide one (784-512-512-10 relu,
// batch 256, Adam), written as a user would with nn::Sequential, nn::Dense and optim; and the
// latency of the small MLP on one sample under no-grad (the game / simulation case). Beside each
// epoch: its gemms alone (the same products, same shapes, timed without the rest of the step),
// and the blocks the CPU allocator took from the system per step after the first epoch. The
// "beside" group: small-MLP training steps per second alone and beside a thread running batch-1
// inference of another model in a loop (a game loop).
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

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

// The gemms of one epoch of a 784-h-h-10 MLP alone: per batch 3 forward products, 3 weight
// gradients and 2 input gradients (the first layer's input needs none); each output is a fresh
// tensor from the allocator's cache, as in training.
double gemm_only_epoch(const bench::Options& opt, int64_t hidden, int64_t batch, int64_t nbatches) {
  tf::NoGradGuard no_grad;
  std::vector<int64_t> dims{784, hidden, hidden, 10};
  std::vector<tf::Tensor> acts, ws;
  for (size_t l = 0; l < 4; ++l) acts.push_back(tf::randn({batch, dims[l]}));
  for (size_t l = 0; l < 3; ++l) ws.push_back(tf::randn({dims[l], dims[l + 1]}));
  double s = bench::median_seconds(opt, [&] {
    for (size_t l = 0; l < 3; ++l) bench::keep(tf::matmul(acts[l], ws[l]));
    for (size_t l = 3; l-- > 0;) {
      bench::keep(tf::matmul(acts[l].transpose(0, 1), acts[l + 1]));
      if (l > 0) bench::keep(tf::matmul(acts[l + 1], ws[l].transpose(0, 1)));
    }
  });
  return s * double(nbatches);
}

// Trains for opt.epochs epochs; reports the median epoch time, the final test accuracy, the
// epoch's gemm-only time and the blocks taken from the system per step once warmed up.
void train(const bench::Options& opt, const Data& d, const std::string& key, nn::Sequential& model,
           tf::optim::Optimizer& optimizer, int64_t batch, int64_t hidden) {
  tf::data::BatchIterator batches(d.x_train, d.y_train, batch, /*shuffle=*/true, /*seed=*/7);
  bench::EpochTimer timer(opt, key, batches.num_batches());
  tf::Tensor xb, yb;
  int epoch = 0;
  uint64_t os0 = 0;
  int64_t steps_after = 0;
  while (timer.next_epoch()) {
    batches.start_epoch();
    int64_t step = 0;
    while (batches.next(xb, yb)) {
      // Warmed up: from the second epoch on (every batch shape, the last partial one included,
      // has been seen), or after 20 steps when only one epoch runs.
      if (step == 0 && epoch == 1) { os0 = tf::cpu::os_allocations(); steps_after = 0; }
      if (epoch == 0 && step == 20) os0 = tf::cpu::os_allocations();
      tf::Tensor loss = tf::mean(tf::cross_entropy(model(xb), yb));
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      if (!(epoch == 0 && step < 20)) ++steps_after;
      ++step;
      if (!timer.batch_done()) break;
    }
    timer.end_epoch();
    ++epoch;
  }
  uint64_t os1 = tf::cpu::os_allocations();
  timer.report_time();
  bench::report(key + "_test_acc", test_accuracy(model, d), "%", false);
  bench::report(key + "_gemm_only_epoch", gemm_only_epoch(opt, hidden, batch, batches.num_batches()), "s", true);
  if (steps_after > 0)
    bench::report(key + "_os_allocs_per_step", double(os1 - os0) / double(steps_after), "count", true);
}

}  // namespace

void run_training(const bench::Options& opt) {
  Data d = load_data(opt);
  {
    tf::manual_seed(123);
    auto model = make_mlp(50, "tanh");
    tf::optim::SGD sgd(model->parameters(), {.lr = bench::kSmallLr, .momentum = bench::kSmallMomentum});
    train(opt, d, "small_mlp", *model, sgd, bench::kSmallBatch, 50);
  }
  {
    tf::manual_seed(123);
    auto model = make_mlp(512, "relu");
    tf::optim::Adam adam(model->parameters(), {.lr = bench::kWideLr});
    train(opt, d, "wide_mlp", *model, adam, bench::kWideBatch, 512);
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

// Small-MLP training steps per second for about `seconds`, with or without a thread running
// batch-1 inference of its own model in a loop (yielding between frames, as a game loop would).
double trainer_steps_per_s(const Data& d, double seconds, bool beside) {
  tf::manual_seed(123);
  auto model = make_mlp(50, "tanh");
  auto game_model = make_mlp(50, "tanh");
  tf::optim::SGD sgd(model->parameters(), {.lr = bench::kSmallLr, .momentum = bench::kSmallMomentum});
  std::atomic<bool> stop{false};
  std::thread game;
  if (beside)
    game = std::thread([&] {
      tf::NoGradGuard no_grad;
      tf::Tensor x = tf::randn({1, 784});
      while (!stop.load(std::memory_order_relaxed)) {
        tf::Tensor y = (*game_model)(x);
        bench::keep(y);
        std::this_thread::yield();
      }
    });
  tf::data::BatchIterator batches(d.x_train, d.y_train, bench::kSmallBatch, true, 7);
  tf::Tensor xb, yb;
  int64_t steps = 0;
  double t0 = bench::now_s(), t = t0;
  while (t - t0 < seconds) {
    batches.start_epoch();
    while (batches.next(xb, yb) && (t = bench::now_s()) - t0 < seconds) {
      tf::Tensor loss = tf::mean(tf::cross_entropy((*model)(xb), yb));
      sgd.zero_grad();
      loss.backward();
      sgd.step();
      ++steps;
    }
  }
  stop.store(true);
  if (game.joinable()) game.join();
  return double(steps) / (bench::now_s() - t0);
}

void run_beside(const bench::Options& opt) {
  Data d = load_data(opt);
  double secs = opt.quick ? 0.5 : 3.0;
  trainer_steps_per_s(d, 0.2, false);  // warm-up
  bench::report("trainer_alone_steps", trainer_steps_per_s(d, secs, false), "1/s", false);
  bench::report("trainer_beside_infer_steps", trainer_steps_per_s(d, secs, true), "1/s", false);
}
