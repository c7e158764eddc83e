// mlp_phases: where one training step of bench/tapeflow_train.cpp's MLPs spends its time, as
// the median over many steps of each phase (batch gather, forward, loss, zero_grad, backward,
// optimizer step) and of the whole step, beside the median of each of the step's gemms timed
// alone. Medians of single steps stay readable on a shared, loaded machine where epoch times do
// not, so this is the tool for finding the non-gemm part of a step (issue 13); the figures of
// record stay those of bench/compare.sh.
//   mlp_phases [--threads N] [--wide] [--epochs N] [--data DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median_us(std::vector<double> v) {
  if (v.empty()) return 0;
  std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
  return v[v.size() / 2] * 1e6;
}
double time_us(const std::function<void()>& f, int reps) {
  std::vector<double> v;
  for (int i = 0; i < reps / 10; ++i) f();
  for (int i = 0; i < reps; ++i) { double a = now_s(); f(); v.push_back(now_s() - a); }
  return median_us(v);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1, epochs = 3;
  bool wide = false;
  std::string dir = "/usr/share/datasets/fashion-mnist";
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else if (a == "--epochs" && i + 1 < argc) epochs = std::atoi(argv[++i]);
    else if (a == "--data" && i + 1 < argc) dir = argv[++i];
    else if (a == "--wide") wide = true;
    else { std::fprintf(stderr, "usage: %s [--threads N] [--wide] [--epochs N] [--data DIR]\n", argv[0]); return 2; }
  }
  tf::set_num_threads(threads < 1 ? 1 : threads);
  tf::data::MnistData raw = tf::data::load_mnist(dir);
  tf::data::PixelStandardizer st;
  st.fit(raw.train_images);
  tf::Tensor x = st.transform(raw.train_images), y = raw.train_labels.astype(tf::kInt64);
  const int64_t h = wide ? 512 : 50, batch = wide ? 256 : 64;
  tf::manual_seed(123);  // the models of bench/tapeflow_train.cpp
  auto model = std::make_shared<nn::Sequential>();
  model->add(nn::Dense(h, wide ? "relu" : "tanh", true, "glorot_uniform", "zeros", 784));
  model->add(nn::Dense(h, wide ? "relu" : "tanh"));
  model->add(nn::Dense(10));
  std::unique_ptr<tf::optim::Optimizer> opt;
  if (wide) opt = std::make_unique<tf::optim::Adam>(model->parameters(), tf::optim::AdamOptions{.lr = 0.001});
  else opt = std::make_unique<tf::optim::SGD>(model->parameters(), tf::optim::SGDOptions{.lr = 0.01, .momentum = 0.9});
  tf::data::BatchIterator batches(x, y, batch, true, 7);
  const char* names[7] = {"step", "gather", "forward", "loss", "zero_grad", "backward", "optimizer"};
  std::vector<double> t[7];
  tf::Tensor xb, yb;
  for (int e = 0; e < epochs; ++e) {
    batches.start_epoch();
    for (;;) {
      double a = now_s();
      if (!batches.next(xb, yb)) break;
      double b = now_s();
      tf::Tensor out = (*model)(xb);
      double c = now_s();
      tf::Tensor loss = tf::mean(tf::cross_entropy(out, yb));
      double d = now_s();
      opt->zero_grad();
      double f = now_s();
      loss.backward();
      double g = now_s();
      opt->step();
      double k = now_s();
      if (e == 0) continue;  // warm-up epoch
      double ph[7] = {k - a, b - a, c - b, d - c, f - d, g - f, k - g};
      for (int i = 0; i < 7; ++i) t[i].push_back(ph[i]);
    }
  }
  std::printf("%s MLP, %d thread(s), median over %zu steps (us):", wide ? "wide" : "small", threads, t[0].size());
  for (int i = 0; i < 7; ++i) std::printf(" %s %.1f", names[i], median_us(t[i]));
  // The step's gemms alone (as tapeflow_train.cpp's gemm-only row): 3 forward, 3 weight
  // gradients, 2 input gradients.
  tf::NoGradGuard no_grad;
  std::vector<int64_t> dims{784, h, h, 10};
  std::vector<tf::Tensor> acts, ws;
  for (size_t l = 0; l < 4; ++l) acts.push_back(tf::randn({batch, dims[l]}));
  for (size_t l = 0; l < 3; ++l) ws.push_back(tf::randn({dims[l], dims[l + 1]}));
  const int reps = wide ? 100 : 2000;
  double gemm = 0;
  for (size_t l = 0; l < 3; ++l) gemm += time_us([&] { tf::Tensor r = tf::matmul(acts[l], ws[l]); }, reps);
  for (size_t l = 0; l < 3; ++l) {
    gemm += time_us([&] { tf::Tensor r = tf::matmul(acts[l].transpose(0, 1), acts[l + 1]); }, reps);
    if (l > 0) gemm += time_us([&] { tf::Tensor r = tf::matmul(acts[l + 1], ws[l].transpose(0, 1)); }, reps);
  }
  // On a loaded machine a long step is often descheduled part way: the sum of the phases'
  // medians is then the steadier figure.
  double sum = 0;
  for (int i = 1; i < 7; ++i) sum += median_us(t[i]);
  std::printf("\n  phases' medians sum to %.1f us; gemms alone %.1f us: step / gemms = %.2f (phases / gemms = %.2f)\n",
              sum, gemm, median_us(t[0]) / gemm, sum / gemm);
  return 0;
}
