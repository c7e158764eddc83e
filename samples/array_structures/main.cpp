// Example 2 of the seed: reshaping with an inferred dim, then column sums and means.
#include <iostream>

#include "tapeflow.h"

namespace tf = tapeflow;

int main() {
  tf::Tensor x = tf::arange(18, tf::kFloat32).reshape({3, 2, 3});
  std::cout << "input shape:  " << x.shape() << "\n";
  tf::Tensor x2 = x.reshape({-1, 6});
  std::cout << "Reshaped:\n" << x2 << "\n";
  std::cout << "Column Sums:\n" << tf::sum(x2, 0) << "\n";
  std::cout << "Column Means:\n" << tf::mean(x2, 0) << "\n";
  return 0;
}
