// tapeflow_soak: a long training run that watches resident memory (issue 17). It trains the
// seed's MLP (784-50-50-10 tanh, batch 64, SGD with momentum, cross-entropy) for --steps steps
// (200,000 by default: about 213 epochs of Fashion-MNIST) and samples RSS every --every steps,
// then prints the curve and whether it is flat after the warm-up (the first --warmup steps):
// every later sample within --tolerance-mb of the first one after the warm-up. Exit status 0
// when flat, 1 when not. Not a timed test: run it by hand, record the result in RESULTS.md.
//
//   tapeflow_soak [--steps N] [--every N] [--warmup N] [--tolerance-mb X] [--threads N]
//                 [--data DIR | --synthetic]
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {

struct Options {
  long steps = 200000, every = 5000, warmup = 20000;
  double tolerance_mb = 2.0;
  int threads = 1;
  std::string data = "/usr/share/datasets/fashion-mnist";
  bool synthetic = false;
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr, "tapeflow_soak: %s\nusage: tapeflow_soak [--steps N] [--every N] [--warmup N] "
               "[--tolerance-mb X] [--threads N] [--data DIR | --synthetic]\n", msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc) usage(("missing value after " + a).c_str());
      return argv[++i];
    };
    if (a == "--steps") o.steps = std::atol(value());
    else if (a == "--every") o.every = std::atol(value());
    else if (a == "--warmup") o.warmup = std::atol(value());
    else if (a == "--tolerance-mb") o.tolerance_mb = std::atof(value());
    else if (a == "--threads") o.threads = std::atoi(value());
    else if (a == "--data") o.data = value();
    else if (a == "--synthetic") o.synthetic = true;
    else usage(("unknown argument " + a).c_str());
  }
  if (o.steps < 1 || o.every < 1 || o.warmup < 0 || o.warmup >= o.steps || o.threads < 1)
    usage("need steps >= 1, every >= 1, 0 <= warmup < steps, threads >= 1");
  return o;
}

double rss_mb() {
  std::ifstream f("/proc/self/statm");
  long pages = 0, resident = 0;
  f >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

// Fashion-MNIST standardised as the seed does, or (--synthetic, or when it is not installed)
// 60,000 random images whose label is a fixed linear function of the pixels.
void load(const Options& o, tf::Tensor& x, tf::Tensor& y, std::string& what) {
  if (!o.synthetic && std::filesystem::exists(o.data)) {
    tf::data::MnistData raw = tf::data::load_mnist(o.data);
    tf::data::Standardizer st;
    st.fit(raw.train_images);
    x = st.transform(raw.train_images);
    y = raw.train_labels.astype(tf::kInt64);
    what = "Fashion-MNIST train set from " + o.data;
    return;
  }
  tf::manual_seed(5);
  x = tf::randn({60000, 784});
  y = tf::argmax(tf::matmul(x, tf::randn({784, 10})), 1);
  what = "synthetic (60,000 random images, labels from a random linear map)";
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  tf::set_num_threads(o.threads);
  tf::Tensor x, y;
  std::string what;
  load(o, x, y, what);

  tf::manual_seed(123);
  auto model = std::make_shared<nn::Sequential>();
  model->add(nn::Dense(50, "tanh", true, "glorot_uniform", "zeros", 784));
  model->add(nn::Dense(50, "tanh"));
  model->add(nn::Dense(10));
  tf::optim::SGD sgd(model->parameters(), {.lr = 0.01, .momentum = 0.9});
  tf::data::BatchIterator batches(x, y, 64, /*shuffle=*/true, /*seed=*/7);

  std::printf("tapeflow_soak: %ld steps of the 784-50-50-10 MLP (batch 64, SGD momentum), %d thread(s)\n",
              o.steps, o.threads);
  std::printf("data: %s\n", what.c_str());
  std::printf("%10s %10s %10s %10s\n", "step", "rss_MB", "seconds", "loss");
  struct Sample { long step; double rss; };
  std::vector<Sample> samples;
  auto t0 = std::chrono::steady_clock::now();
  auto sample = [&](long step, double loss) {
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    samples.push_back({step, rss_mb()});
    std::printf("%10ld %10.2f %10.1f %10.4f\n", step, samples.back().rss, s, loss);
    std::fflush(stdout);
  };
  sample(0, 0.0);
  batches.start_epoch();
  tf::Tensor xb, yb;
  double loss_sum = 0;
  long loss_n = 0;
  for (long step = 1; step <= o.steps; ++step) {
    if (!batches.next(xb, yb)) {
      batches.start_epoch();
      batches.next(xb, yb);
    }
    tf::Tensor loss = tf::mean(tf::cross_entropy((*model)(xb), yb));
    sgd.zero_grad();
    loss.backward();
    sgd.step();
    loss_sum += loss.item<double>();
    ++loss_n;
    if (step % o.every == 0 || step == o.steps) {
      sample(step, loss_sum / double(loss_n));
      loss_sum = 0;
      loss_n = 0;
    }
  }

  // Flat: every sample after the warm-up within the tolerance of the first one after it.
  const Sample* base = nullptr;
  double lo = 0, hi = 0;
  for (const Sample& s : samples) {
    if (s.step < o.warmup) continue;
    if (!base) { base = &s; lo = hi = s.rss; }
    lo = std::min(lo, s.rss);
    hi = std::max(hi, s.rss);
  }
  double growth = samples.back().rss - base->rss;
  bool flat = hi - base->rss <= o.tolerance_mb && base->rss - lo <= o.tolerance_mb;
  std::printf("after the warm-up (step %ld on): RSS %.2f MB at step %ld, min %.2f, max %.2f, end %.2f "
              "(%+.2f MB over %ld steps)\n", base->step, base->rss, base->step, lo, hi, samples.back().rss,
              growth, samples.back().step - base->step);
  std::printf("verdict: %s (tolerance %.1f MB)\n", flat ? "FLAT" : "NOT FLAT", o.tolerance_mb);
  return flat ? 0 : 1;
}
