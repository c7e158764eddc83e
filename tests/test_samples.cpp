// The samples double as integration tests: each seed example's printed lines are asserted.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

std::string run(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int st = pclose(p);
  if (status) *status = st;
  return out;
}

std::string sample(const std::string& name) {
  return std::string(TAPEFLOW_BUILD_DIR) + "/samples/" + name + "/" + name;
}

std::vector<double> numbers_after(const std::string& text, const std::string& label) {
  std::vector<double> v;
  auto pos = text.find(label);
  REQUIRE(pos != std::string::npos);
  std::istringstream is(text.substr(pos + label.size(), text.find('\n', pos) - pos - label.size()));
  double x;
  while (is >> x) v.push_back(x);
  return v;
}

}  // namespace

TEST_CASE("samples/first_steps prints the seed's lines", "[samples]") {
  int st = 0;
  std::string out = run(sample("first_steps"), &st);
  REQUIRE(st == 0);
  REQUIRE(out ==
          "x= 1.0 --> z= 2.7\n"
          "x= 0.6 --> z= 1.9\n"
          "x=-1.8 --> z=-2.9\n"
          "[2.7 4.7 6.7]\n");
}

TEST_CASE("samples/array_structures prints the seed's lines", "[samples]") {
  int st = 0;
  std::string out = run(sample("array_structures"), &st);
  REQUIRE(st == 0);
  REQUIRE(out ==
          "input shape:  (3, 2, 3)\n"
          "Reshaped:\n"
          "[[ 0.  1.  2.  3.  4.  5.]\n"
          " [ 6.  7.  8.  9. 10. 11.]\n"
          " [12. 13. 14. 15. 16. 17.]]\n"
          "Column Sums:\n"
          "[18. 21. 24. 27. 30. 33.]\n"
          "Column Means:\n"
          "[ 6.  7.  8.  9. 10. 11.]\n");
}

TEST_CASE("samples/linear_regression reproduces the seed's costs, weights and pictures", "[samples]") {
  std::string dir = std::string(TAPEFLOW_BUILD_DIR) + "/samples/linear_regression";
  int st = 0;
  std::string out = run(sample("linear_regression") + " " + dir, &st);
  REQUIRE(st == 0);
  const double costs[] = {32.4310, 6.0113, 1.4461, 0.6566, 0.5194, 0.4948, 0.4898, 0.4881, 0.4870, 0.4861};
  auto got = numbers_after(out, "Training costs:");
  REQUIRE(got.size() == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(got[i] == Approx(costs[i]).margin(1e-3));
  auto pos = out.find("w = ");
  REQUIRE(pos != std::string::npos);
  double w = 0, b = 0;
  REQUIRE(std::sscanf(out.c_str() + pos, "w = %lf, b = %lf", &w, &b) == 2);
  REQUIRE(w == Approx(1.02732).margin(1e-4));
  REQUIRE(b == Approx(0.19570).margin(1e-4));
  const double pred[] = {0.1957, 1.2230, 2.2503, 3.2777, 4.3050, 5.3323, 6.3596, 7.3870, 8.4143, 9.4416};
  auto p = numbers_after(out, "Predictions:");
  REQUIRE(p.size() == 10);
  for (int i = 0; i < 10; ++i) REQUIRE(p[i] == Approx(pred[i]).margin(1e-3));
  for (const char* f : {"/linear_regression_cost.svg", "/linear_regression_fit.svg"}) {
    REQUIRE(out.find(f) != std::string::npos);
    FILE* fp = std::fopen((dir + f).c_str(), "r");
    REQUIRE(fp != nullptr);
    char head[256] = {0};
    REQUIRE(std::fread(head, 1, 255, fp) > 0);
    std::fclose(fp);
    REQUIRE(std::string(head).find("<svg") != std::string::npos);
  }
}

namespace {
double percent_after(const std::string& text, const std::string& label) {
  auto pos = text.find(label);
  REQUIRE(pos != std::string::npos);
  return std::atof(text.c_str() + pos + label.size());
}
}  // namespace

TEST_CASE("samples/activations prints the seed's numbers and the picture", "[samples]") {
  std::string dir = std::string(TAPEFLOW_BUILD_DIR) + "/samples/activations";
  int st = 0;
  std::string out = run(sample("activations") + " --out " + dir, &st);
  REQUIRE(st == 0);
  for (const char* line : {"P(y=1|x) = 0.888\n", "Net Input:        [1.78 0.76 1.65]\n",
                           "Output Units:     [0.85569687 0.68135373 0.83889105]\n",
                           "Predicted class label: 0\n",
                           "Probabilities:    [0.44668973 0.16107406 0.39223621]\n"})
    REQUIRE_THAT(out, Catch::Contains(line));
  REQUIRE_THAT(out, Catch::Contains("activations_tanh_logistic.svg"));
}

// Quick versions of the MNIST examples (the full 50-epoch runs are recorded in the README).
TEST_CASE("samples/mnist_keras learns Fashion-MNIST (3 epochs on 10,000 examples)", "[samples][slow]") {
  int st = 0;
  std::string out = run(sample("mnist_keras") + " --epochs 3 --limit 10000", &st);
  REQUIRE(st == 0);
  REQUIRE_THAT(out, Catch::Contains("Reading data from /usr/share/datasets/fashion-mnist"));
  REQUIRE_THAT(out, Catch::Contains("Total params: 42,310"));
  REQUIRE(percent_after(out, "Test accuracy: ") >= 72.0);
}

TEST_CASE("samples/mnist_layers learns Fashion-MNIST (3 epochs on 10,000 examples)", "[samples][slow]") {
  int st = 0;
  std::string out = run(sample("mnist_layers") + " --epochs 3 --limit 10000", &st);
  REQUIRE(st == 0);
  REQUIRE_THAT(out, Catch::Contains(" -- Epoch  3  Avg. Training Loss: "));
  REQUIRE(percent_after(out, "Test Accuracy: ") >= 55.0);
}
