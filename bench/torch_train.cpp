// torch_bench's training workloads, the same as tapeflow_train.cpp: Fashion-MNIST epochs of the
// small MLP (784-50-50-10 tanh, batch 64, SGD with momentum) and the wide one (784-512-512-10
// relu, batch 256, Adam) with the same preprocessing and hyper-parameters, written as the usual
// libtorch C++ loop; and batch-1 inference of the small MLP under InferenceMode.
#include <torch/torch.h>

#include <string>
#include <vector>

#include "bench/harness.h"
#include "bench/mnist_raw.h"

namespace {

struct Data {
  torch::Tensor x_train, y_train, x_test, y_test;
};

torch::Tensor as_tensor(bench::IdxFile f, torch::ScalarType as) {
  int64_t n = f.dims[0], row = 1;
  for (size_t i = 1; i < f.dims.size(); ++i) row *= f.dims[i];
  std::vector<int64_t> shape = f.dims.size() == 1 ? std::vector<int64_t>{n} : std::vector<int64_t>{n, row};
  return torch::from_blob(f.bytes.data(), shape, torch::kUInt8).to(as);  // .to copies
}

// The seed's preprocessing ((p/255 - 0.5) * 2, per-pixel mean, one global std), in float64.
Data load_data(const bench::Options& opt) {
  const std::string& dir = opt.data_dir;
  torch::NoGradGuard no_grad;
  torch::Tensor xtr = (as_tensor(bench::read_idx_gz(dir + "/train-images-idx3-ubyte.gz"), torch::kFloat64) / 255.0 - 0.5) * 2.0;
  torch::Tensor xte = (as_tensor(bench::read_idx_gz(dir + "/t10k-images-idx3-ubyte.gz"), torch::kFloat64) / 255.0 - 0.5) * 2.0;
  torch::Tensor mean = xtr.mean(0);
  double std = (xtr - xtr.mean()).pow(2).mean().sqrt().item<double>();
  Data d;
  d.x_train = ((xtr - mean) / std).to(torch::kFloat32);
  d.x_test = ((xte - mean) / std).to(torch::kFloat32);
  d.y_train = as_tensor(bench::read_idx_gz(dir + "/train-labels-idx1-ubyte.gz"), torch::kInt64);
  d.y_test = as_tensor(bench::read_idx_gz(dir + "/t10k-labels-idx1-ubyte.gz"), torch::kInt64);
  if (opt.train_limit > 0 && opt.train_limit < d.x_train.size(0)) {
    d.x_train = d.x_train.slice(0, 0, opt.train_limit).contiguous();
    d.y_train = d.y_train.slice(0, 0, opt.train_limit).contiguous();
  }
  return d;
}

torch::nn::Sequential make_mlp(int64_t hidden, bool relu) {
  if (relu)
    return torch::nn::Sequential(torch::nn::Linear(784, hidden), torch::nn::ReLU(),
                                 torch::nn::Linear(hidden, hidden), torch::nn::ReLU(),
                                 torch::nn::Linear(hidden, 10));
  return torch::nn::Sequential(torch::nn::Linear(784, hidden), torch::nn::Tanh(),
                               torch::nn::Linear(hidden, hidden), torch::nn::Tanh(),
                               torch::nn::Linear(hidden, 10));
}

double test_accuracy(torch::nn::Sequential& model, const Data& d) {
  torch::NoGradGuard no_grad;
  torch::Tensor pred = model->forward(d.x_test).argmax(1);
  return pred.eq(d.y_test).to(torch::kFloat64).mean().item<double>() * 100.0;
}

void train(const bench::Options& opt, const Data& d, const std::string& key, torch::nn::Sequential& model,
           torch::optim::Optimizer& optimizer, int64_t batch) {
  const int64_t n = d.x_train.size(0);
  bench::EpochTimer timer(opt, key, (n + batch - 1) / batch);
  while (timer.next_epoch()) {
    torch::Tensor order = torch::randperm(n, torch::kInt64);
    for (int64_t i = 0; i < n; i += batch) {
      torch::Tensor idx = order.slice(0, i, std::min(n, i + batch));
      torch::Tensor xb = d.x_train.index_select(0, idx), yb = d.y_train.index_select(0, idx);
      torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(xb), yb);
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
    torch::manual_seed(123);
    auto model = make_mlp(50, false);
    torch::optim::SGD sgd(model->parameters(),
                          torch::optim::SGDOptions(bench::kSmallLr).momentum(bench::kSmallMomentum));
    train(opt, d, "small_mlp", model, sgd, bench::kSmallBatch);
  }
  {
    torch::manual_seed(123);
    auto model = make_mlp(512, true);
    torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(bench::kWideLr).eps(1e-7));
    train(opt, d, "wide_mlp", model, adam, bench::kWideBatch);
  }
}

void run_inference(const bench::Options& opt) {
  torch::manual_seed(123);
  auto model = make_mlp(50, false);
  torch::Tensor x = torch::randn({1, 784});
  c10::InferenceMode guard;
  double s = bench::median_seconds(opt, [&] { torch::Tensor y = model->forward(x); bench::keep(y); });
  bench::report("small_mlp_batch1_infer", s * 1e6, "us", true);
}
