// Example 6 of the seed: choosing activation functions, in float64. The logistic unit's
// probability, a multiclass layer's net input with logistic and softmax outputs, and the
// picture of tanh against the logistic function over z in [-5, 5) (written as SVG).
//   activations [--out DIR]   (the SVG goes to DIR/activations_tanh_logistic.svg)
#include <cstdio>
#include <string>
#include <vector>

#include "samples/plot/svg_plot.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace act = tapeflow::nn::activations;

int main(int argc, char** argv) try {
  std::string out_dir = ".";
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--out" && i + 1 < argc) out_dir = argv[++i];
    else { std::fprintf(stderr, "usage: %s [--out DIR]\n", argv[0]); return 2; }
  }
  const tf::Options f64(tf::kFloat64);

  // A logistic unit: x[0] = 1 is the bias input.
  tf::Tensor x = tf::tensor({1.0, 1.4, 2.5}, f64);
  tf::Tensor w = tf::tensor({0.4, 0.3, 0.5}, f64);
  std::printf("P(y=1|x) = %.3f\n", act::sigmoid(tf::dot(x, w)).item<double>());

  // A layer of three units over four inputs (a[0] = 1 is the bias input): z = W a.
  tf::Tensor W = tf::tensor({{1.1, 1.2, 0.8, 0.4}, {0.2, 0.4, 1.0, 0.2}, {0.6, 1.5, 1.2, 0.7}}, f64);
  tf::Tensor a = tf::tensor({1.0, 0.1, 0.4, 0.6}, f64);
  tf::Tensor z = tf::matmul(W, a);
  std::printf("Net Input:        %s\n", z.str().c_str());
  std::printf("Output Units:     %s\n", act::sigmoid(z).str().c_str());
  std::printf("Predicted class label: %lld\n", (long long)tf::argmax(z).item<int64_t>());
  tf::Tensor probas = act::softmax(z);
  std::printf("Probabilities:    %s\n", probas.str().c_str());
  std::printf("Sum of probabilities: %.1f\n", tf::sum(probas).item<double>());

  // tanh spans (-1, 1), the logistic function (0, 1); ReLU would be max(0, z).
  tf::Tensor zs = tf::arange(-5.0, 5.0, 0.005, f64);
  std::vector<double> zv = zs.to_vector<double>();
  std::vector<double> logistic = act::sigmoid(zs).to_vector<double>();
  std::vector<double> tanh = act::tanh(zs).to_vector<double>();
  tf::plot::Figure fig;
  fig.title("tanh vs. logistic").xlabel("net input z").ylabel("activation phi(z)").ylim(-1.5, 1.5);
  for (double level : {1.0, 0.5, 0.0, -0.5, -1.0}) {
    tf::plot::Series s;
    s.x = {-5.0, 5.0};
    s.y = {level, level};
    s.color = "black";
    s.dashed = true;
    s.size = 1;
    fig.add(s);
  }
  fig.line(zv, tanh, "tanh", "black").line(zv, logistic, "logistic", "lightgreen");
  std::string path = out_dir + "/activations_tanh_logistic.svg";
  fig.save(path);
  std::printf("Wrote %s\n", path.c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "activations: %s\n", e.what());
  return 1;
}
