// Example 1 of the seed: the net input z = w*x + b, evaluated eagerly for single values and
// then for a whole batch at once.
#include <cstdio>
#include <iostream>

#include "tapeflow.h"

namespace tf = tapeflow;

int main() {
  tf::Tensor w = tf::tensor({2.0f}).reshape({});
  tf::Tensor b = tf::tensor({0.7f}).reshape({});
  auto net_input = [&](const tf::Tensor& x) { return w * x + b; };

  for (float x : {1.0f, 0.6f, -1.8f}) {
    tf::Tensor z = net_input(tf::scalar_tensor(x));
    std::printf("x=%4.1f --> z=%4.1f\n", x, z.item<float>());
  }
  std::cout << net_input(tf::tensor({1, 2, 3})) << "\n";
  return 0;
}
