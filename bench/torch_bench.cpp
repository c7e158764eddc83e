// torch_bench: the same workloads as tapeflow_bench, on Debian's libtorch 1.13 (built only with
// -Dbench_libtorch=enabled): per-op overhead, element-wise ops against memcpy, reductions and
// matmul (this file), Fashion-MNIST epochs and batch-1 inference (torch_train.cpp). Threads:
// at::set_num_threads plus openblas_set_num_threads (compare.sh also sets OPENBLAS_NUM_THREADS).
#include <dlfcn.h>
#include <torch/torch.h>

#include <string>

#include "bench/harness.h"

void run_training(const bench::Options& opt);   // torch_train.cpp
void run_inference(const bench::Options& opt);  // torch_train.cpp
void run_conv(const bench::Options& opt);       // torch_conv.cpp
void run_seq(const bench::Options& opt);        // torch_seq.cpp

namespace {

using bench::keep;
using bench::median_seconds;
using bench::report;

// cblas_sgemm's C signature with the CBLAS enum values spelled out (no cblas.h needed).
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int,
                         float, float*, int);
constexpr int kRowMajor = 101, kNoTrans = 111;

void set_blas_threads(int n) {
  // Every OpenBLAS copy libtorch loaded (libblas.so.3 and libopenblas.so.0 may both be there).
  for (const char* lib : {"libopenblas.so.0", "libblas.so.3"})
    if (void* h = dlopen(lib, RTLD_NOW | RTLD_NOLOAD))
      if (auto fn = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"))) fn(n);
}

std::string blas_core() {
  auto fn = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn ? fn() : "unknown";
}

void run_overhead(const bench::Options& opt) {
  torch::Tensor a = torch::ones({1}), b = torch::full({1}, 2.0);
  {
    torch::NoGradGuard no_grad;
    double s = median_seconds(opt, [&] { torch::Tensor c = a + b; keep(c); });
    report("add_1elem_nograd", s * 1e6, "us", true);
  }
  {
    torch::Tensor ag = torch::ones({1}, torch::requires_grad());
    double s = median_seconds(opt, [&] { torch::Tensor c = ag + b; keep(c); });
    report("add_1elem_grad", s * 1e6, "us", true);
  }
  torch::Tensor x = torch::full({16}, 0.5, torch::requires_grad());
  torch::Tensor c1 = torch::full({16}, 1.001), c2 = torch::full({16}, 0.001);
  double s = median_seconds(opt, [&] {
    torch::Tensor y = x;
    for (int i = 0; i < bench::kChainOps - 1; ++i) {
      if (i % 3 == 0) y = y * c1;
      else if (i % 3 == 1) y = y + c2;
      else y = torch::tanh(y);
    }
    torch::Tensor loss = y.sum();
    loss.backward();
  });
  report("chain100_fwd_bwd_per_op", s / bench::kChainOps * 1e6, "us", true);
}

void run_elementwise(const bench::Options& opt) {
  const int64_t n = bench::kElementwiseN;
  const double mb = double(n) * 4.0;
  report("memcpy_16M", bench::memcpy_gbps(opt, size_t(n) * 4, opt.threads), "GB/s", false);
  torch::NoGradGuard no_grad;
  torch::manual_seed(1);
  torch::Tensor a = torch::rand({n}), b = torch::rand({n});
  auto rate = [&](const char* key, double bytes, auto&& fn) {
    double s = median_seconds(opt, fn);
    report(key, bytes / s * 1e-9, "GB/s", false);
  };
  rate("add_16M", 3 * mb, [&] { torch::Tensor c = a + b; keep(c); });
  rate("mul_16M", 3 * mb, [&] { torch::Tensor c = a * b; keep(c); });
  rate("tanh_16M", 2 * mb, [&] { torch::Tensor c = torch::tanh(a); keep(c); });
  rate("exp_16M", 2 * mb, [&] { torch::Tensor c = torch::exp(a); keep(c); });
  rate("sigmoid_16M", 2 * mb, [&] { torch::Tensor c = torch::sigmoid(a); keep(c); });
}

void run_reduce(const bench::Options& opt) {
  torch::NoGradGuard no_grad;
  const int64_t n = bench::kReduceN;
  torch::manual_seed(2);
  torch::Tensor x = torch::rand({n, n});
  const double bytes = double(n) * double(n) * 4.0;
  auto rate = [&](const char* key, auto&& fn) {
    double s = median_seconds(opt, fn);
    report(key, bytes / s * 1e-9, "GB/s", false);
  };
  rate("sum_all_4096x4096", [&] { torch::Tensor r = x.sum(); keep(r); });
  rate("sum_axis0_4096x4096", [&] { torch::Tensor r = x.sum(0); keep(r); });
  rate("sum_axis1_4096x4096", [&] { torch::Tensor r = x.sum(1); keep(r); });
  rate("mean_all_4096x4096", [&] { torch::Tensor r = x.mean(); keep(r); });
  rate("mean_axis0_4096x4096", [&] { torch::Tensor r = x.mean(0); keep(r); });
  rate("mean_axis1_4096x4096", [&] { torch::Tensor r = x.mean(1); keep(r); });
  rate("max_all_4096x4096", [&] { torch::Tensor r = x.max(); keep(r); });
  rate("max_axis0_4096x4096", [&] { torch::Tensor r = x.amax(0); keep(r); });
  rate("max_axis1_4096x4096", [&] { torch::Tensor r = x.amax(1); keep(r); });
}

void run_matmul(const bench::Options& opt) {
  torch::NoGradGuard no_grad;
  bench::note("libtorch BLAS: " + blas_core());
  auto sgemm = reinterpret_cast<SgemmFn>(dlsym(RTLD_DEFAULT, "cblas_sgemm"));
  torch::manual_seed(3);
  for (int64_t n : {256, 512, 1024, 2048}) {
    torch::Tensor a = torch::randn({n, n}), b = torch::randn({n, n}), c = torch::zeros({n, n});
    const double flop = 2.0 * double(n) * double(n) * double(n);
    std::string sz = std::to_string(n);
    if (sgemm) {
      const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
      float* pc = c.data_ptr<float>();
      int in = int(n);
      double s = median_seconds(opt, [&] {
        sgemm(kRowMajor, kNoTrans, kNoTrans, in, in, in, 1.0f, pa, in, pb, in, 0.0f, pc, in);
      });
      report("cblas_sgemm_" + sz, flop / s * 1e-9, "GFLOP/s", false);
    }
    double s = median_seconds(opt, [&] { torch::Tensor r = torch::matmul(a, b); keep(r); });
    report("matmul_" + sz, flop / s * 1e-9, "GFLOP/s", false);
  }
}

// One optimizer step over the wide MLP's parameters (as tapeflow_bench.cpp), in microseconds.
void run_optim(const bench::Options& opt) {
  namespace optim = torch::optim;
  torch::manual_seed(5);
  std::vector<torch::Tensor> ps;
  for (std::vector<int64_t> s : {std::vector<int64_t>{784, 512}, {512}, {512, 512}, {512}, {512, 10}, {10}}) {
    torch::Tensor p = (torch::randn(s) * 0.05).requires_grad_(true);
    p.mutable_grad() = torch::randn(s) * 0.01;
    ps.push_back(p);
  }
  auto row = [&](const char* key, optim::Optimizer&& o) {
    report(key, median_seconds(opt, [&] { o.step(); }) * 1e6, "us", true);
  };
  row("sgd_momentum_step_670K", optim::SGD(ps, optim::SGDOptions(1e-4).momentum(0.9)));
  row("adam_step_670K", optim::Adam(ps, optim::AdamOptions(1e-4)));
  row("adam_amsgrad_step_670K", optim::Adam(ps, optim::AdamOptions(1e-4).amsgrad(true)));
  row("rmsprop_step_670K", optim::RMSprop(ps, optim::RMSpropOptions(1e-4)));
  row("adagrad_step_670K", optim::Adagrad(ps, optim::AdagradOptions(1e-4)));
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv);
  at::set_num_threads(opt.threads);
  set_blas_threads(opt.threads);
  bench::note("libtorch threads=" + std::to_string(at::get_num_threads()));
  try {
    if (bench::wants(opt, "overhead")) run_overhead(opt);
    if (bench::wants(opt, "elementwise")) run_elementwise(opt);
    if (bench::wants(opt, "reduce")) run_reduce(opt);
    if (bench::wants(opt, "matmul")) run_matmul(opt);
    if (bench::wants(opt, "mlp")) run_training(opt);
    if (bench::wants(opt, "infer")) run_inference(opt);
    if (bench::wants(opt, "conv")) run_conv(opt);
    if (bench::wants(opt, "seq")) run_seq(opt);
    if (bench::wants(opt, "optim")) run_optim(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "torch_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
