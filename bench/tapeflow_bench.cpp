// tapeflow_bench: the workloads of the performance issue, run on tapeflow (torch_bench.cpp runs
// the same ones on libtorch): per-op overhead, 16M-element element-wise ops against memcpy,
// reductions of a 4096x4096 tensor, matmul against direct cblas_sgemm (this file), and the
// Fashion-MNIST epochs and batch-1 inference (tapeflow_train.cpp). Prints RESULT lines
// (bench/harness.h) for bench/compare.sh.
#include <dlfcn.h>

#include <cblas.h>

#include <string>

#include "bench/harness.h"
#include "tapeflow.h"

namespace tf = tapeflow;

void run_training(const bench::Options& opt);   // tapeflow_train.cpp
void run_inference(const bench::Options& opt);  // tapeflow_train.cpp
void run_beside(const bench::Options& opt);     // tapeflow_train.cpp
void run_conv(const bench::Options& opt);       // tapeflow_conv.cpp
void run_seq(const bench::Options& opt);        // tapeflow_seq.cpp

namespace {

using bench::keep;
using bench::median_seconds;
using bench::report;

void run_overhead(const bench::Options& opt) {
  tf::Tensor a = tf::tensor({1.0f}), b = tf::tensor({2.0f});
  {
    tf::NoGradGuard no_grad;
    double s = median_seconds(opt, [&] { tf::Tensor c = a + b; keep(c); });
    report("add_1elem_nograd", s * 1e6, "us", true);
  }
  {
    tf::Tensor ag = tf::tensor({1.0f}).requires_grad_(true);
    double s = median_seconds(opt, [&] { tf::Tensor c = ag + b; keep(c); });
    report("add_1elem_grad", s * 1e6, "us", true);
  }
  // 99 small element-wise ops (mul, add, tanh in turn) on 16 elements, a sum, then backward.
  tf::Tensor x = tf::full({16}, 0.5).requires_grad_(true);
  tf::Tensor c1 = tf::full({16}, 1.001), c2 = tf::full({16}, 0.001);
  double s = median_seconds(opt, [&] {
    tf::Tensor y = x;
    for (int i = 0; i < bench::kChainOps - 1; ++i) {
      if (i % 3 == 0) y = y * c1;
      else if (i % 3 == 1) y = y + c2;
      else y = tf::tanh(y);
    }
    tf::Tensor loss = y.sum();
    loss.backward();
  });
  report("chain100_fwd_bwd_per_op", s / bench::kChainOps * 1e6, "us", true);
}

void run_elementwise(const bench::Options& opt) {
  const int64_t n = bench::kElementwiseN;
  const double mb = double(n) * 4.0;
  report("memcpy_16M", bench::memcpy_gbps(opt, size_t(n) * 4, opt.threads), "GB/s", false);
  tf::NoGradGuard no_grad;
  tf::manual_seed(1);
  tf::Tensor a = tf::rand({n}), b = tf::rand({n});
  auto rate = [&](const char* key, double bytes, auto&& fn) {
    double s = median_seconds(opt, fn);
    report(key, bytes / s * 1e-9, "GB/s", false);
  };
  rate("add_16M", 3 * mb, [&] { tf::Tensor c = a + b; keep(c); });
  rate("mul_16M", 3 * mb, [&] { tf::Tensor c = a * b; keep(c); });
  rate("tanh_16M", 2 * mb, [&] { tf::Tensor c = tf::tanh(a); keep(c); });
  rate("exp_16M", 2 * mb, [&] { tf::Tensor c = tf::exp(a); keep(c); });
  rate("sigmoid_16M", 2 * mb, [&] { tf::Tensor c = tf::sigmoid(a); keep(c); });
}

void run_reduce(const bench::Options& opt) {
  tf::NoGradGuard no_grad;
  const int64_t n = bench::kReduceN;
  tf::manual_seed(2);
  tf::Tensor x = tf::rand({n, n});
  const double bytes = double(n) * double(n) * 4.0;
  auto rate = [&](const char* key, auto&& fn) {
    double s = median_seconds(opt, fn);
    report(key, bytes / s * 1e-9, "GB/s", false);
  };
  rate("sum_all_4096x4096", [&] { tf::Tensor r = tf::sum(x); keep(r); });
  rate("sum_axis0_4096x4096", [&] { tf::Tensor r = tf::sum(x, 0); keep(r); });
  rate("sum_axis1_4096x4096", [&] { tf::Tensor r = tf::sum(x, 1); keep(r); });
  rate("mean_all_4096x4096", [&] { tf::Tensor r = tf::mean(x); keep(r); });
  rate("mean_axis0_4096x4096", [&] { tf::Tensor r = tf::mean(x, 0); keep(r); });
  rate("mean_axis1_4096x4096", [&] { tf::Tensor r = tf::mean(x, 1); keep(r); });
  rate("max_all_4096x4096", [&] { tf::Tensor r = tf::max(x); keep(r); });
  rate("max_axis0_4096x4096", [&] { tf::Tensor r = tf::max(x, 0); keep(r); });
  rate("max_axis1_4096x4096", [&] { tf::Tensor r = tf::max(x, 1); keep(r); });
}

// cblas_sgemm from the OpenBLAS that tapeflow loaded (same library, same kernel choice), run
// on opt.threads of OpenBLAS's own threads whatever tapeflow does with them.
using SgemmFn = decltype(&cblas_sgemm);
struct DirectBlas {
  SgemmFn sgemm = nullptr;
  void (*set_threads)(int) = nullptr;
};
DirectBlas direct_blas() {
  (void)tf::blas_info();  // makes tapeflow load OpenBLAS with its kernel choice
  DirectBlas d;
  if (void* h = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD)) {
    d.sgemm = reinterpret_cast<SgemmFn>(dlsym(h, "cblas_sgemm"));
    d.set_threads = reinterpret_cast<void (*)(int)>(dlsym(h, "openblas_set_num_threads"));
  }
  return d;
}

void run_matmul(const bench::Options& opt) {
  tf::NoGradGuard no_grad;
  bench::note("tapeflow BLAS: " + tf::blas_info());
  DirectBlas blas = direct_blas();
  tf::manual_seed(3);
  for (int64_t n : {256, 512, 1024, 2048}) {
    tf::Tensor a = tf::randn({n, n}), b = tf::randn({n, n}), c = tf::zeros({n, n});
    const double flop = 2.0 * double(n) * double(n) * double(n);
    std::string sz = std::to_string(n);
    if (blas.sgemm) {
      const float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>();
      float* pc = c.data_ptr<float>();
      int in = int(n);
      if (blas.set_threads) blas.set_threads(opt.threads);
      double s = median_seconds(opt, [&] {
        blas.sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, in, in, in, 1.0f, pa, in, pb, in, 0.0f, pc, in);
      });
      tf::set_num_threads(opt.threads);  // puts OpenBLAS back to one thread (tapeflow splits gemms)
      report("cblas_sgemm_" + sz, flop / s * 1e-9, "GFLOP/s", false);
    }
    double s = median_seconds(opt, [&] { tf::Tensor r = tf::matmul(a, b); keep(r); });
    report("matmul_" + sz, flop / s * 1e-9, "GFLOP/s", false);
  }
}

// One optimizer step over the wide MLP's parameters (784-512-512-10: 670K), each optimizer kind
// with its gradients in place, in microseconds.
void run_optim(const bench::Options& opt) {
  namespace optim = tf::optim;
  tf::manual_seed(5);
  std::vector<tf::Tensor> ps;
  for (tf::Shape s : {tf::Shape{784, 512}, tf::Shape{512}, tf::Shape{512, 512}, tf::Shape{512},
                      tf::Shape{512, 10}, tf::Shape{10}}) {
    tf::Tensor p = (tf::randn(s) * 0.05).requires_grad_(true);
    p.set_grad(tf::randn(s) * 0.01);
    ps.push_back(p);
  }
  auto row = [&](const char* key, optim::Optimizer&& o) {
    report(key, median_seconds(opt, [&] { o.step(); }) * 1e6, "us", true);
  };
  row("sgd_momentum_step_670K", optim::SGD(ps, {.lr = 1e-4, .momentum = 0.9}));
  row("adam_step_670K", optim::Adam(ps, {.lr = 1e-4}));
  row("adam_amsgrad_step_670K", optim::Adam(ps, {.lr = 1e-4, .amsgrad = true}));
  row("rmsprop_step_670K", optim::RMSprop(ps, {.lr = 1e-4}));
  row("adagrad_step_670K", optim::Adagrad(ps, {.lr = 1e-4}));
}

}  // namespace

int main(int argc, char** argv) {
  bench::Options opt = bench::parse_options(argc, argv);
  tf::set_num_threads(opt.threads);
  bench::note("tapeflow threads=" + std::to_string(tf::get_num_threads()));
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
    if (bench::wants(opt, "beside")) run_beside(opt);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tapeflow_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
