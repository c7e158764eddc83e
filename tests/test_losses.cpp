// Losses against values from numpy (Keras formulas) and torch.nn.functional (the logit forms,
// mse, huber), reductions, Keras clipping, stability at logits of 1e4, shape errors and a
// gradcheck of every loss.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/autograd.h"
#include "nn/losses.h"
#include "training/metrics.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
using nn::Reduction;

namespace {

Tensor f64(std::initializer_list<std::initializer_list<double>> rows) { return tensor(rows, Options(kFloat64)); }

void check_values(const Tensor& t, const std::vector<double>& want, double eps = 1e-12) {
  std::vector<double> got = t.astype(kFloat64).to_vector<double>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(eps).margin(1e-12));
}

void check_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& in) {
  auto r = autograd::gradcheck(f, in);
  INFO(r.message);
  CHECK(r.ok);
}

const Tensor& onehot() {
  static Tensor t = f64({{0, 1, 0}, {1, 0, 0}});
  return t;
}
const Tensor& probs() {
  static Tensor t = f64({{0.2, 0.7, 0.1}, {0.5, 0.3, 0.2}});
  return t;
}
const Tensor& logits() {
  static Tensor t = f64({{1.0, 2.0, 0.5}, {-1.0, 0.3, 2.0}});
  return t;
}

}  // namespace

TEST_CASE("regression losses", "[losses]") {
  Tensor a = f64({{1, 2}, {3, 4}});
  Tensor b = f64({{1.5, 1.0}, {2.0, 6.5}});
  check_values(nn::mean_squared_error(a, b, Reduction::None), {0.625, 3.625});
  check_values(nn::mean_squared_error(a, b), {2.125});
  check_values(nn::mean_squared_error(a, b, Reduction::Sum), {4.25});
  check_values(nn::mean_absolute_error(a, b, Reduction::None), {0.75, 1.75});
  check_values(nn::huber(a, b, 1.0, Reduction::None), {0.3125, 1.25});
  check_values(nn::huber(a, b, 2.0, Reduction::None), {0.3125, 1.75});
  CHECK(nn::mean_squared_error(a, b, Reduction::None).shape() == Shape({2}));
  // 1-D inputs are one value per sample; (N,) against (N, 1) is accepted as Keras does.
  Tensor t1 = tensor({1.0, 2.0}, Options(kFloat64)), p1 = f64({{2.0}, {4.0}});
  check_values(nn::mean_squared_error(t1, p1, Reduction::None), {1.0, 4.0});
  check_values(nn::MeanAbsoluteError()(t1, p1), {1.5});
}

TEST_CASE("binary crossentropy", "[losses]") {
  Tensor t = f64({{0, 1}, {1, 1}});
  check_values(nn::binary_crossentropy(t, f64({{0.1, 0.8}, {0.6, 1.0}}), false, Reduction::None),
               {0.164252033486018, 0.25541286188299783});
  check_values(nn::binary_crossentropy(t, f64({{-2, 3}, {0.5, -1.5}}), true, Reduction::None),
               {0.08775768130835729, 1.0877451310814297});
  SECTION("stable for logits of 1e4") {
    Tensor x = tensor({1e4f, -1e4f, 1e4f}).requires_grad_();
    Tensor loss = nn::binary_crossentropy(tensor({0.f, 0.f, 1.f}), x, true, Reduction::None);
    check_values(loss, {10000.0, 0.0, 0.0}, 1e-6);
    sum(loss).backward();
    for (float g : x.grad().to_vector<float>()) CHECK(std::isfinite(g));
  }
}

TEST_CASE("categorical crossentropy", "[losses]") {
  check_values(nn::categorical_crossentropy(onehot(), probs(), false, Reduction::None),
               {0.3566749439387323, 0.6931471805599453});
  check_values(nn::categorical_crossentropy(onehot(), probs()), {0.5249110622493388});
  check_values(nn::categorical_crossentropy(onehot(), probs(), false, Reduction::Sum), {1.0498221244986776});
  check_values(nn::categorical_crossentropy(onehot(), logits(), true, Reduction::None),
               {0.4643687841079449, 3.20902076654506});
  SECTION("a saturated softmax output is clipped to [1e-7, 1 - 1e-7] as Keras does") {
    Tensor p = f64({{0, 1, 0}});
    check_values(nn::categorical_crossentropy(f64({{1, 0, 0}}), p), {16.11809565095832});
    Tensor p32 = softmax(tensor({{-200.f, 200.f, 0.f}}));
    Tensor loss = nn::categorical_crossentropy(tensor({{1.f, 0.f, 0.f}}), p32);
    CHECK(loss.item<float>() == Approx(16.118095).epsilon(1e-5));
  }
  SECTION("stable for logits of 1e4") {
    Tensor x = tensor({{1e4f, -1e4f, 0.f}, {1e4f, -1e4f, 0.f}}).requires_grad_();
    Tensor loss = nn::categorical_crossentropy(tensor({{0.f, 1.f, 0.f}, {1.f, 0.f, 0.f}}), x, true, Reduction::None);
    check_values(loss, {20000.0, 0.0}, 1e-6);
    sum(loss).backward();
    for (float g : x.grad().to_vector<float>()) CHECK(std::isfinite(g));
  }
  SECTION("shape mismatches name both shapes") {
    CHECK_THROWS_WITH(nn::categorical_crossentropy(f64({{1, 0}}), probs()),
                      Catch::Contains("(1, 2)") && Catch::Contains("(2, 3)"));
    CHECK_THROWS_WITH(nn::mean_squared_error(probs(), f64({{1, 2}, {3, 4}, {5, 6}})),
                      Catch::Contains("(2, 3)") && Catch::Contains("(3, 2)"));
  }
}

TEST_CASE("sparse categorical crossentropy", "[losses]") {
  Tensor labels = from_vector<int64_t>({1, 0});
  check_values(nn::sparse_categorical_crossentropy(labels, probs(), false, Reduction::None),
               {0.35667494393873234, 0.6931471805599453});
  check_values(nn::sparse_categorical_crossentropy(labels, logits(), true, Reduction::None),
               {0.4643687841079449, 3.20902076654506});
  // (N, 1) labels and float labels holding integers are accepted.
  Tensor col = f64({{1}, {0}});
  check_values(nn::sparse_categorical_crossentropy(col, logits(), true), {(0.4643687841079449 + 3.20902076654506) / 2});
  CHECK_THROWS_WITH(nn::sparse_categorical_crossentropy(from_vector<int64_t>({1, 3}), logits(), true),
                    Catch::Contains("labels must be in [0, 3)"));
  CHECK_THROWS_WITH(nn::sparse_categorical_crossentropy(from_vector<int64_t>({1, 0, 2}), logits(), true),
                    Catch::Contains("(3,)") && Catch::Contains("(2, 3)"));
}

TEST_CASE("losses by name", "[losses]") {
  CHECK(nn::get_loss("mse")->name() == "mean_squared_error");
  CHECK(nn::get_loss("categorical_crossentropy")->name() == "categorical_crossentropy");
  CHECK_THROWS_WITH(nn::get_loss("hinge"), Catch::Contains("unknown loss 'hinge'") &&
                                               Catch::Contains("sparse_categorical_crossentropy"));
  nn::CategoricalCrossentropy cce(true, Reduction::None);
  check_values(cce(onehot(), logits()), {0.4643687841079449, 3.20902076654506});
}

TEST_CASE("gradcheck of every loss", "[losses][gradcheck]") {
  Tensor target = f64({{0.3, -1.2, 2.0}, {1.1, 0.4, -0.7}});
  Tensor pred = f64({{0.1, -0.5, 3.4}, {0.2, 0.9, -0.3}});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::mean_squared_error(in[0], in[1]); }, {target, pred});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::mean_absolute_error(target, in[0], Reduction::Sum); },
                  {pred});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::huber(target, in[0], 1.0, Reduction::None); }, {pred});
  Tensor bin = f64({{0, 1, 1}, {1, 0, 0}});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::binary_crossentropy(bin, in[0], false); },
                  {f64({{0.2, 0.6, 0.9}, {0.4, 0.3, 0.7}})});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::binary_crossentropy(bin, in[0], true); }, {pred});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::categorical_crossentropy(onehot(), in[0]); },
                  {probs()});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::categorical_crossentropy(in[0], in[1], true); },
                  {f64({{0.2, 0.5, 0.3}, {0.1, 0.1, 0.8}}), logits()});
  Tensor labels = from_vector<int64_t>({2, 0});
  check_gradcheck([&](const std::vector<Tensor>& in) { return nn::sparse_categorical_crossentropy(labels, in[0]); },
                  {probs()});
  check_gradcheck(
      [&](const std::vector<Tensor>& in) { return nn::sparse_categorical_crossentropy(labels, in[0], true, Reduction::None); },
      {logits()});
}

TEST_CASE("accuracy metrics", "[metrics]") {
  Tensor p = f64({{0.2, 0.7, 0.1}, {0.5, 0.3, 0.2}, {0.1, 0.1, 0.8}});
  Tensor onehot3 = f64({{0, 1, 0}, {0, 1, 0}, {0, 0, 1}});
  check_values(nn::categorical_accuracy(onehot3, p), {1, 0, 1});
  check_values(nn::sparse_categorical_accuracy(from_vector<int64_t>({1, 1, 2}), p), {1, 0, 1});
  check_values(nn::binary_accuracy(f64({{1}, {0}, {1}}), f64({{0.7}, {0.6}, {0.4}})), {1, 0, 0});

  SECTION("'accuracy' picks its kind from the shapes, as Keras") {
    nn::Accuracy cat, sparse, binary;
    cat.update(onehot3, p);
    sparse.update(from_vector<int64_t>({1, 1, 2}), p);
    binary.update(f64({{1}, {0}, {1}}), f64({{0.7}, {0.6}, {0.4}}));
    CHECK(cat.kind() == "categorical");
    CHECK(sparse.kind() == "sparse");
    CHECK(binary.kind() == "binary");
    CHECK(cat.result() == Approx(2.0 / 3));
    cat.update(onehot3, p);  // accumulates over batches
    CHECK(cat.result() == Approx(2.0 / 3));
    CHECK(binary.result() == Approx(1.0 / 3));
    cat.reset();
    CHECK(cat.result() == 0.0);
  }
  CHECK_THROWS_WITH(nn::get_metric("f1"), Catch::Contains("unknown metric 'f1'"));
}
