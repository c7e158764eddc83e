// Example 3 of the seed: ordinary least squares by gradient descent. w and b are leaf tensors
// whose gradients come from backward(); the update is written by hand under NoGradGuard.
// Writes two pictures: the cost per epoch and the fitted line over the training points.
#include <cstdio>
#include <string>
#include <vector>

#include "samples/plot/svg_plot.h"
#include "tapeflow.h"

namespace tf = tapeflow;

int main(int argc, char** argv) {
  std::string out_dir = argc > 1 ? argv[1] : ".";
  tf::Tensor X = tf::arange(10, tf::kFloat32).reshape({10, 1});
  tf::Tensor y = tf::tensor({1.0f, 1.3f, 3.1f, 2.0f, 5.0f, 6.3f, 6.6f, 7.4f, 8.0f, 9.0f});
  tf::Tensor w = tf::zeros({1}).requires_grad_();
  tf::Tensor b = tf::zeros({1}).requires_grad_();
  const double lr = 0.01;

  auto predict = [&](const tf::Tensor& x) { return (w * x + b).squeeze(1); };
  std::vector<double> costs;
  for (int epoch = 0; epoch < 10; ++epoch) {
    tf::Tensor z = predict(X);
    tf::Tensor cost = tf::mean(tf::square(y - z));
    cost.backward();
    costs.push_back(cost.item<double>());
    tf::NoGradGuard no_grad;
    w -= w.grad() * lr;
    b -= b.grad() * lr;
    w.zero_grad();
    b.zero_grad();
  }
  std::printf("Training costs:");
  for (double c : costs) std::printf(" %7.4f", c);
  std::printf("\nw = %.5f, b = %.5f\n", w.item<float>(), b.item<float>());
  tf::Tensor pred = predict(X).detach();
  std::printf("Predictions:");
  for (float p : pred.to_vector<float>()) std::printf(" %.4f", p);
  std::printf("\n");

  std::vector<double> epochs, xs, ys, fit;
  for (int e = 1; e <= 10; ++e) epochs.push_back(e);
  for (float v : X.to_vector<float>()) xs.push_back(v);
  for (float v : y.to_vector<float>()) ys.push_back(v);
  for (float v : pred.to_vector<float>()) fit.push_back(v);
  std::string cost_svg = out_dir + "/linear_regression_cost.svg";
  std::string fit_svg = out_dir + "/linear_regression_fit.svg";
  tf::plot::Figure().title("Cost per epoch").xlabel("Epoch").ylabel("Training Cost")
      .line(epochs, costs, "cost").save(cost_svg);
  tf::plot::Figure().title("Fitted line").xlabel("x").ylabel("y")
      .scatter(xs, ys, "training points").line(xs, fit, "z = w x + b").save(fit_svg);
  std::printf("Wrote %s and %s\n", cost_svg.c_str(), fit_svg.c_str());
  return 0;
}
