// The phases of the fashion2 conv layer (64 x 32 x 14 x 14, 64 3x3 filters, padding 1, float32):
// medians of the calling thread's CPU time (ms) for the forward alone and forward + backward
// with the gradient of every input / only x / only w / only b.
//   env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE build/bench/conv_phases [THREADS]
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <vector>
#include "tapeflow.h"
namespace tf = tapeflow;
template <class F> double med(F&& f) {
  f();
  std::vector<double> t;
  for (int r = 0; r < 41; ++r) {
    timespec a, b; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a); f(); clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    t.push_back(double(b.tv_sec - a.tv_sec) + 1e-9 * double(b.tv_nsec - a.tv_nsec));
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2] * 1e3;
}
int main(int argc, char** argv) {
  int th = argc > 1 ? std::atoi(argv[1]) : 1;
  tf::set_num_threads(th);
  tf::manual_seed(5);
  tf::Tensor x0 = tf::randn({64, 32, 14, 14});
  tf::Tensor w0 = tf::randn({64, 32, 3, 3}) * 0.1;
  tf::Tensor b0 = tf::zeros({64});
  double fwd = med([&] { tf::Tensor y = tf::conv2d(x0, w0, b0, 1, 1); });
  auto run = [&](bool rx, bool rw, bool rb) {
    tf::Tensor x = x0.detach(), w = w0.detach(), b = b0.detach();
    if (rx) x.requires_grad_();
    if (rw) w.requires_grad_();
    if (rb) b.requires_grad_();
    return med([&] { tf::Tensor y = tf::conv2d(x, w, b, 1, 1); y.sum().backward(); });
  };
  double all = run(true, true, true), gx = run(true, false, false), gw = run(false, true, false), gb = run(false, false, true);
  std::printf("threads %d fwd %.3f all %.3f fwd+gx %.3f fwd+gw %.3f fwd+gb %.3f ms\n", th, fwd, all, gx, gw, gb);
}
