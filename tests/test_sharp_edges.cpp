// Issue 11's sharp edges: no bool as an axis list, item<T> for any arithmetic T and compile-time
// refusal of unsupported element types, scalar forms of where, the two loss conventions
// (PyTorch-named nn::functional vs Keras-named nn::), per-feature StandardScaler vs the pixel
// standardizer, Dense casting its input to its dtype, and order-independent FitOptions.
#include <catch2/catch.hpp>

#include <cmath>
#include <type_traits>

#include "tapeflow.h"

using namespace tapeflow;
namespace F = tapeflow::nn::functional;

namespace {
template <class T>
concept can_from_vector = requires(std::vector<T> v) { from_vector(v); };
template <class T>
concept can_to_vector = requires(Tensor t) { t.to_vector<T>(); };

std::vector<double> vals(const Tensor& t) { return t.astype(kFloat64).contiguous().to_vector<double>(); }
bool near(double a, double b, double tol = 1e-12) { return std::fabs(a - b) <= tol * (1 + std::fabs(b)); }
}  // namespace

TEST_CASE("a bool is neither an axis list nor a dtype", "[sharp]") {
  STATIC_REQUIRE(!std::is_constructible_v<Axes, bool>);
  STATIC_REQUIRE(!std::is_convertible_v<bool, Axes>);
  STATIC_REQUIRE(std::is_constructible_v<Axes, int>);
  STATIC_REQUIRE(!std::is_convertible_v<bool, DType>);
  STATIC_REQUIRE(!std::is_convertible_v<bool, Options>);
}

TEST_CASE("item<T> for any arithmetic T; unsupported element types do not compile", "[sharp]") {
  Tensor t = tensor({7.0f});
  CHECK(t.item<size_t>() == 7u);
  CHECK(t.item<unsigned>() == 7u);
  CHECK(t.item<short>() == 7);
  CHECK(t.item<long double>() == 7.0L);
  CHECK(from_vector(std::vector<int64_t>{int64_t(1) << 40}).item<uint64_t>() == (uint64_t(1) << 40));
  STATIC_REQUIRE(ElementType<float>);
  STATIC_REQUIRE(!ElementType<unsigned>);
  STATIC_REQUIRE(!ElementType<size_t>);
  STATIC_REQUIRE(can_from_vector<float>);
  STATIC_REQUIRE(can_from_vector<int64_t>);
  STATIC_REQUIRE(!can_from_vector<unsigned>);
  STATIC_REQUIRE(!can_from_vector<uint16_t>);
  STATIC_REQUIRE(can_to_vector<double>);
  STATIC_REQUIRE(!can_to_vector<size_t>);
}

TEST_CASE("where with numbers", "[sharp]") {
  Tensor x = tensor({-1.0f, 2.0f, -3.0f});
  Tensor c = gt(x, 0.0);
  Tensor a = where(c, x, 0.0f);
  CHECK(a.dtype() == kFloat32);
  CHECK(vals(a) == std::vector<double>{0, 2, 0});
  Tensor b = where(c, 1, x);
  CHECK(b.dtype() == kFloat32);
  CHECK(vals(b) == std::vector<double>{-1, 1, -3});
  Tensor d = where(c, 1.5, -1.5);
  CHECK(d.dtype() == kFloat32);
  CHECK(vals(d) == std::vector<double>{-1.5, 1.5, -1.5});
  CHECK(where(c, 1, 0).dtype() == kInt64);
  Tensor xi = from_vector(std::vector<int32_t>{1, 2, 3});
  CHECK(where(c, xi, 9).dtype() == kInt32);  // the number takes the tensor's integer dtype
  // Gradient flows to the tensor operand only.
  Tensor w = tensor({-1.0f, 2.0f, -3.0f}).requires_grad_();
  sum(where(gt(w, 0.0), w, 0.0f)).backward();
  CHECK(vals(w.grad()) == std::vector<double>{0, 1, 0});
}

TEST_CASE("PyTorch-named losses (input, target) against torch.nn.functional", "[sharp][losses]") {
  // Values from PyTorch 1.13 (Debian python3-torch), float64.
  Tensor x = tensor({{0.2, -1.0, 3.0}, {1.5, 0.5, -0.5}}, kFloat64);
  Tensor t = tensor({{0.0, 1.0, 0.5}, {1.0, 0.0, 1.0}}, kFloat64);
  Tensor lab = from_vector(std::vector<int64_t>{2, 0});
  CHECK(near(F::mse_loss(x, t).item<double>(), 2.1733333333333333));
  CHECK(near(F::mse_loss(x, t, "sum").item<double>(), 13.04));
  CHECK(near(F::l1_loss(x, t).item<double>(), 1.2));
  CHECK(near(F::huber_loss(x, t, "mean", 0.7).item<double>(), 0.6224999999999999));
  CHECK(near(F::binary_cross_entropy(sigmoid(x), t).item<double>(), 0.9682591924694207));
  CHECK(near(F::binary_cross_entropy(sigmoid(x), t, "none")[1][0].item<double>(), 0.2014132779827524));
  CHECK(near(F::binary_cross_entropy_with_logits(x, t).item<double>(), 0.9682591924694205));
  CHECK(near(F::cross_entropy(x, lab).item<double>(), 0.24187857104717847));
  CHECK(near(F::cross_entropy(x, lab, "none")[1].item<double>(), 0.4076059644443804));
  CHECK(near(F::cross_entropy(x, t).item<double>(), 3.464719347681863));
  CHECK(near(F::nll_loss(log_softmax(x, 1), lab).item<double>(), 0.24187857104717847));
  Tensor p01 = tensor({0.0, 1.0}, kFloat64), t10 = tensor({1.0, 0.0}, kFloat64);
  CHECK(near(F::binary_cross_entropy(p01, t10).item<double>(), 100.0));  // logs clamped at -100
  // Mismatches are refused, naming the function and the order.
  CHECK_THROWS_WITH(F::mse_loss(x, t.slice(1, 0, 2)), Catch::Contains("mse_loss") && Catch::Contains("(2, 2)") &&
                                                           Catch::Contains("(input, target)"));
  CHECK_THROWS_WITH(F::binary_cross_entropy(x, t), Catch::Contains("binary_cross_entropy") &&
                                                       Catch::Contains("probabilities in [0, 1]"));
  CHECK_THROWS_WITH(F::cross_entropy(lab, x), Catch::Contains("cross_entropy") && Catch::Contains("(input, target)"));
  CHECK_THROWS_WITH(F::nll_loss(x, x), Catch::Contains("nll_loss"));
  CHECK_THROWS_WITH(F::l1_loss(x, t, "avg"), Catch::Contains("reduction"));
}

TEST_CASE("Keras-named losses refuse swapped or logit arguments they can tell apart", "[sharp][losses]") {
  Tensor y_true = tensor({0.0f, 1.0f}).reshape({2, 1});
  Tensor logits = tensor({-2.0f, 3.0f}).reshape({2, 1});
  CHECK_THROWS_WITH(nn::binary_crossentropy(y_true, logits),
                    Catch::Contains("binary_crossentropy") && Catch::Contains("from_logits"));
  CHECK_NOTHROW(nn::binary_crossentropy(y_true, logits, true));
  Tensor labels = from_vector(std::vector<int64_t>{0, 1});
  Tensor probs = tensor({{0.9f, 0.1f}, {0.2f, 0.8f}});
  CHECK_THROWS_WITH(nn::sparse_categorical_crossentropy(probs, labels),
                    Catch::Contains("y_pred must be floating") && Catch::Contains("(y_true, y_pred)"));
  CHECK_THROWS_WITH(nn::categorical_crossentropy(probs, probs * 5.0), Catch::Contains("probabilities"));
}

TEST_CASE("StandardScaler scales each feature; PixelStandardizer is for uint8 pixels", "[sharp][data]") {
  Tensor x = tensor({{1.0f, 10.0f, 5.0f}, {3.0f, 30.0f, 5.0f}, {8.0f, -4.0f, 5.0f}});
  data::StandardScaler sc;
  Tensor z = sc.fit_transform(x);
  CHECK(z.dtype() == kFloat32);
  // NumPy: (x - x.mean(0)) / x.std(0), a constant column's std taken as 1.
  std::vector<double> want = {-1.0190493307301363, -0.14334554477024897, 0.0, -0.3396831102433787,
                              1.2901099029322407,  0.0, 1.3587324409735149, -1.1467643581619917, 0.0};
  auto got = vals(z);
  for (size_t i = 0; i < want.size(); ++i) CHECK(near(got[i], want[i], 1e-6));
  auto back = vals(sc.inverse_transform(z));
  auto orig = vals(x);
  for (size_t i = 0; i < orig.size(); ++i) CHECK(near(back[i], orig[i], 1e-6));
  CHECK_THROWS_WITH(sc.transform(zeros({2, 4})), Catch::Contains("StandardScaler::transform") && Catch::Contains("4 features"));
  CHECK_THROWS_WITH(data::StandardScaler().transform(x), Catch::Contains("fit() first"));
  data::PixelStandardizer ps;
  CHECK_THROWS_WITH(ps.fit(x), Catch::Contains("uint8") && Catch::Contains("StandardScaler"));
}

TEST_CASE("Dense casts its input to its own dtype (as Keras)", "[sharp][nn]") {
  manual_seed(3);
  nn::Dense d(2, "linear", true, "glorot_uniform", "zeros", 3);
  Tensor x64 = randn({4, 3}, kFloat64);
  Tensor y = d(x64);
  CHECK(y.dtype() == kFloat32);
  CHECK(vals(y) == vals(d(x64.astype(kFloat32))));
  CHECK(d(from_vector(std::vector<int64_t>{1, 2, 3}, Shape{1, 3})).dtype() == kFloat32);
}

TEST_CASE("FitOptions read in any order", "[sharp][model]") {
  auto o = nn::FitOptions().with_epochs(2).with_batch_size(2).with_verbose(0).with_seed(5);
  CHECK(o.epochs == 2);
  CHECK(o.batch_size == 2);
  manual_seed(1);
  nn::Sequential m;
  m.add(nn::Dense(1, "linear", true, "glorot_uniform", "zeros", 2));
  m.compile("sgd", "mse");
  Tensor x = randn({8, 2}), y = randn({8, 1});
  auto h = m.fit(x, y, nn::FitOptions().with_verbose(0).with_epochs(3).with_batch_size(4));
  CHECK(h.history.at("loss").size() == 3);
  auto e = nn::EvaluateOptions().with_verbose(0).with_batch_size(3);
  CHECK(e.batch_size == 3);
}
