// An outside program built against an *installed* tapeflow (tests/install/check.sh builds it with
// pkg-config + g++, CMake find_package and a Meson subproject). It touches each layer once:
// tensors and printing, autograd, an nn model trained with an optimizer, and a library error.
// Prints "consumer: ok ..." and exits 0 only when every check held.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

#include "tapeflow.h"

namespace tf = tapeflow;

static int failures = 0;
static void check(bool ok, const std::string& what) {
  if (!ok) {
    std::cerr << "consumer: FAILED " << what << "\n";
    ++failures;
  }
}

int main() {
  // Tensors: z = w * x + b over a batch, printed through operator<<.
  tf::Tensor x = tf::tensor({1.0f, 2.0f, 3.0f});
  tf::Tensor z = x * 2.0f + 0.7f;
  std::ostringstream printed;
  printed << z;
  std::cout << "z = " << printed.str() << "\n";
  check(printed.str() == "[2.7 4.7 6.7]", "operator<< printed " + printed.str());

  // Linear algebra: [[1 2] [3 4]] @ [1 1] = [3 7].
  tf::Tensor m = tf::tensor({{1.0f, 2.0f}, {3.0f, 4.0f}});
  auto mv = tf::matmul(m, tf::tensor({1.0f, 1.0f})).to_vector<float>();
  check(mv.size() == 2 && mv[0] == 3.0f && mv[1] == 7.0f, "matmul");

  // Autograd: d/dx sum(x^2) = 2x.
  tf::Tensor a = tf::tensor({1.0f, -2.0f, 0.5f}).requires_grad_();
  tf::sum(a * a).backward();
  auto g = a.grad().to_vector<float>();
  check(g.size() == 3 && g[0] == 2.0f && g[1] == -4.0f && g[2] == 1.0f, "backward of sum(x*x)");

  // nn + optim: fit y = 3x - 1 with one Dense unit and SGD; the loss must fall.
  tf::manual_seed(7);
  tf::Tensor xs = tf::linspace(-1.0, 1.0, 16).reshape({16, 1});
  tf::Tensor ys = xs * 3.0f - 1.0f;
  tf::nn::Dense dense(1, "linear", true, "glorot_uniform", "zeros", /*input_dim=*/1);
  tf::optim::SGD sgd(dense.parameters(), {.lr = 0.1});
  double first = 0, last = 0;
  for (int step = 0; step < 100; ++step) {
    sgd.zero_grad();
    tf::Tensor loss = tf::nn::mean_squared_error(ys, dense(xs));
    loss.backward();
    sgd.step();
    last = loss.item<double>();
    if (step == 0) first = last;
  }
  std::printf("loss %.4f -> %.6f\n", first, last);
  check(last < first * 0.01, "training did not reduce the loss 100x");

  // A library error is a C++ exception carrying the op and the shapes.
  bool caught = false;
  try {
    tf::matmul(tf::ones({2, 3}), tf::ones({2, 3}));
  } catch (const tf::Error& e) {
    caught = true;
    std::cout << "caught: " << e.what() << "\n";
  }
  check(caught, "matmul shape mismatch did not throw tapeflow::Error");

  if (failures) return 1;
  std::cout << "consumer: ok\n";
  return 0;
}
