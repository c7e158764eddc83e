// The CI versions of the layer samples (samples/fashion_cnn, addition_rnn, tiny_transformer):
// each runs its --quick training and must reach a lower bar than its full run, and writes its
// learning curve as SVG.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string run_sample(const std::string& name, const std::string& args, int* status) {
  std::string dir = std::string(TAPEFLOW_BUILD_DIR) + "/samples/" + name;
  std::string cmd = dir + "/" + name + " " + args + " --plot " + dir + "/" + name + "_ci.svg 2>&1";
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  *status = pclose(p);
  FILE* svg = std::fopen((dir + "/" + name + "_ci.svg").c_str(), "r");
  REQUIRE(svg != nullptr);
  char head[256] = {0};
  REQUIRE(std::fread(head, 1, 255, svg) > 0);
  std::fclose(svg);
  REQUIRE(std::string(head).find("<svg") != std::string::npos);
  return out;
}

double percent(const std::string& text, const std::string& label) {
  auto pos = text.rfind(label);
  REQUIRE(pos != std::string::npos);
  return std::atof(text.c_str() + pos + label.size());
}

}  // namespace

TEST_CASE("samples/fashion_cnn: 2 epochs on 4,000 images", "[samples]") {
  int st = 0;
  std::string out = run_sample("fashion_cnn", "--quick", &st);
  INFO(out);
  REQUIRE(st == 0);
  REQUIRE_THAT(out, Catch::Contains("conv2d (Conv2D)              (None, 32, 28, 28)        320"));
  REQUIRE_THAT(out, Catch::Contains("batch_normalization (BatchNo (None, 32, 28, 28)        128"));
  REQUIRE_THAT(out, Catch::Contains("Total params: 422,026"));
  REQUIRE_THAT(out, Catch::Contains("Non-trainable params: 192"));
  REQUIRE(percent(out, "Test accuracy: ") >= 65.0);
}

TEST_CASE("samples/addition_rnn: 6 epochs on 6,000 questions", "[samples]") {
  int st = 0;
  std::string out = run_sample("addition_rnn", "--quick", &st);
  INFO(out);
  REQUIRE(st == 0);
  REQUIRE(percent(out, "Character accuracy: ") >= 30.0);
  REQUIRE(percent(out, "Exact-answer accuracy: ") >= 0.0);
}

TEST_CASE("samples/tiny_transformer: 3 epochs of 8,000 sequences", "[samples]") {
  int st = 0;
  std::string out = run_sample("tiny_transformer", "--quick", &st);
  INFO(out);
  REQUIRE(st == 0);
  REQUIRE(percent(out, "Sequence accuracy: ") >= 80.0);
}
