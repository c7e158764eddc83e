// gradcheck on every differentiable op: random shapes, broadcast operands, and non-contiguous
// (transposed, strided-slice) inputs. Central differences in float64. Every case runs on every
// device (TF_EACH_DEVICE, tests/devices.h).
#include <catch2/catch.hpp>

#include <functional>

#include "devices.h"
#include "tapeflow.h"

namespace tf = tapeflow;
using tf::Tensor;
using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

namespace {

void check(const Fn& f, const std::vector<Tensor>& in, double atol = 1e-6, double rtol = 1e-4) {
  auto r = tf::autograd::gradcheck(f, in, 1e-6, atol, rtol);
  INFO(r.message);
  REQUIRE(r.ok);
}
Tensor rnd(tf::Shape s, uint64_t seed) {
  tf::manual_seed(seed);
  return tf::randn(s, tf::kFloat64).to(current_test_device());
}
Tensor pos(tf::Shape s, uint64_t seed) { return tf::abs(rnd(s, seed)) + 0.5; }
Tensor transposed(tf::Shape s, uint64_t seed) {  // non-contiguous, shape reversed of s
  return rnd(s, seed).T();
}
Tensor strided(int64_t rows, int64_t cols, uint64_t seed) {  // every other column
  return rnd({rows, 2 * cols}, seed).slice(1, 0, tf::kEnd, 2);
}

}  // namespace

TEST_CASE("gradcheck: unary element-wise ops", "[gradcheck]") {
  TF_EACH_DEVICE();
  using U = Tensor (*)(const Tensor&);
  struct Case { const char* name; U fn; bool positive; };
  const Case cases[] = {
      {"neg", tf::neg, false},   {"abs", tf::abs, false},       {"exp", tf::exp, false},
      {"log", tf::log, true},    {"log1p", tf::log1p, true},    {"expm1", tf::expm1, false},
      {"sqrt", tf::sqrt, true},  {"rsqrt", tf::rsqrt, true},    {"square", tf::square, false},
      {"reciprocal", tf::reciprocal, true}, {"sin", tf::sin, false}, {"cos", tf::cos, false},
      {"tanh", tf::tanh, false}, {"sigmoid", tf::sigmoid, false}, {"relu", tf::relu, false},
      {"sign", tf::sign, false}, {"floor", tf::floor, false},   {"ceil", tf::ceil, false},
      {"round", tf::round, false},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      U fn = c.fn;
      Tensor a = c.positive ? pos({3, 4}, 1) : rnd({3, 4}, 1) + 0.013;
      Tensor b = c.positive ? tf::abs(transposed({5, 2}, 2)) + 0.5 : transposed({5, 2}, 2) + 0.013;
      check([fn](const std::vector<Tensor>& x) { return fn(x[0]); }, {a});
      check([fn](const std::vector<Tensor>& x) { return fn(x[0]); }, {b});
    }
  }
  SECTION("clamp") {
    check([](const std::vector<Tensor>& x) { return tf::clamp(x[0], -0.5, 0.7); }, {rnd({4, 5}, 3) + 0.013});
  }
  SECTION("pow scalar") {
    check([](const std::vector<Tensor>& x) { return tf::pow(x[0], 2.5); }, {pos({3, 3}, 4)});
    check([](const std::vector<Tensor>& x) { return tf::pow(x[0], 3); }, {transposed({2, 3}, 5)});
  }
}

TEST_CASE("gradcheck: binary ops with broadcasting and strided operands", "[gradcheck]") {
  TF_EACH_DEVICE();
  using B = Tensor (*)(const Tensor&, const Tensor&);
  struct Case { const char* name; B fn; bool positive; };
  const Case cases[] = {
      {"add", tf::add, false}, {"sub", tf::sub, false}, {"mul", tf::mul, false},
      {"div", tf::div, true},  {"maximum", tf::maximum, false}, {"minimum", tf::minimum, false},
      {"pow", tf::pow, true},
  };
  for (const Case& c : cases) {
    SECTION(c.name) {
      B fn = c.fn;
      auto f = [fn](const std::vector<Tensor>& x) { return fn(x[0], x[1]); };
      Tensor a = c.positive ? pos({3, 1}, 10) : rnd({3, 1}, 10);
      Tensor b = c.positive ? pos({4}, 11) : rnd({4}, 11);
      check(f, {a, b});                                           // (3,1) with (4,)
      check(f, {b, a});
      Tensor t = c.positive ? tf::abs(transposed({4, 3}, 12)) + 0.5 : transposed({4, 3}, 12);
      Tensor s = c.positive ? tf::abs(strided(3, 4, 13)) + 0.5 : strided(3, 4, 13);
      check(f, {t, s});                                           // non-contiguous both
      check(f, {t, c.positive ? pos({}, 14) : rnd({}, 14)});      // 0-d operand
    }
  }
  SECTION("where") {
    Tensor cond = rnd({3, 4}, 20) > 0;
    check([cond](const std::vector<Tensor>& x) { return tf::where(cond, x[0], x[1]); }, {rnd({3, 4}, 21), rnd({4}, 22)});
  }
}

TEST_CASE("gradcheck: reductions", "[gradcheck]") {
  TF_EACH_DEVICE();
  Tensor x = rnd({3, 4, 2}, 30);
  Tensor xt = transposed({2, 4, 3}, 31);
  for (const Tensor& in : {x, xt}) {
    check([](const std::vector<Tensor>& v) { return tf::sum(v[0]); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::sum(v[0], {0, 2}, true); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::mean(v[0], -1); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::max(v[0], 1); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::min(v[0]); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::var(v[0], 1); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::std(v[0], {0, 1}, 0, true); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::logsumexp(v[0], 2); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::cumsum(v[0], 1); }, {in});
    check([](const std::vector<Tensor>& v) { return tf::prod(v[0], 1); }, {in});
  }
  SECTION("prod with zeros") {
    Tensor one_zero = tf::tensor({{1.5, 0.0, 2.0}, {0.5, -1.0, 3.0}}, tf::kFloat64).to(dev);
    Tensor two_zeros = tf::tensor({{0.0, 0.0, 2.0}, {0.5, 0.0, 3.0}}, tf::kFloat64).to(dev);
    // The zero elements' own derivative is smooth (product of the others); perturbing a zero
    // moves it off zero, so central differences agree with the analytic gradient.
    check([](const std::vector<Tensor>& v) { return tf::prod(v[0], 1); }, {one_zero});
    check([](const std::vector<Tensor>& v) { return tf::prod(v[0]); }, {two_zeros});
    check([](const std::vector<Tensor>& v) { return tf::prod(v[0], 1); }, {two_zeros});
  }
  SECTION("max ties split evenly") {
    Tensor t = tf::tensor({1.0, 3.0, 3.0, 2.0}, tf::kFloat64).to(dev).requires_grad_();
    tf::max(t).backward();
    REQUIRE(t.grad().to_vector<double>() == std::vector<double>{0, 0.5, 0.5, 0});
  }
}

TEST_CASE("gradcheck: matmul at every rank, addmm, dot, outer", "[gradcheck]") {
  TF_EACH_DEVICE();
  auto mm = [](const std::vector<Tensor>& v) { return tf::matmul(v[0], v[1]); };
  check(mm, {rnd({4}, 40), rnd({4}, 41)});                 // 1-D . 1-D
  check(mm, {rnd({3, 4}, 42), rnd({4, 2}, 43)});           // 2-D
  check(mm, {rnd({4}, 44), rnd({4, 2}, 45)});              // 1-D @ 2-D
  check(mm, {rnd({3, 4}, 46), rnd({4}, 47)});              // 2-D @ 1-D
  check(mm, {rnd({2, 1, 3, 4}, 48), rnd({5, 4, 2}, 49)});  // broadcast batch dims
  check(mm, {transposed({4, 3}, 50), transposed({2, 4}, 51)});
  check(mm, {strided(3, 4, 52), rnd({2, 4, 3}, 53)});
  check([](const std::vector<Tensor>& v) { return tf::addmm(v[0], v[1], v[2]); },
        {rnd({2}, 54), rnd({3, 4}, 55), transposed({2, 4}, 56)});
  check([](const std::vector<Tensor>& v) { return tf::dot(v[0], v[1]); }, {rnd({5}, 57), rnd({5}, 58)});
  check([](const std::vector<Tensor>& v) { return tf::outer(v[0], v[1]); }, {rnd({3}, 59), rnd({2}, 60)});
}

TEST_CASE("gradcheck: views and joins", "[gradcheck]") {
  TF_EACH_DEVICE();
  Tensor x = rnd({2, 3, 4}, 70);
  check([](const std::vector<Tensor>& v) { return v[0].reshape({4, -1}) * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].reshape({6, 4}) * 1.0; }, {transposed({4, 3, 2}, 71)});
  check([](const std::vector<Tensor>& v) { return v[0].permute({2, 0, 1}) * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].transpose(0, 2).flatten() * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].slice(2, -3, tf::kEnd, 2) * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0][1] * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].select(2, -1) * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].narrow(1, 1, 2) * 1.0; }, {x});
  check([](const std::vector<Tensor>& v) { return v[0].expand({3, 2, 4}) * 1.0; }, {rnd({2, 1}, 72)});
  check([](const std::vector<Tensor>& v) { return v[0].unsqueeze(1).squeeze(1) * 1.0; }, {rnd({3, 2}, 73)});
  check([](const std::vector<Tensor>& v) { return tf::concat({v[0], v[1]}, 1); }, {rnd({2, 3}, 74), transposed({1, 2}, 75)});
  check([](const std::vector<Tensor>& v) { return tf::stack({v[0], v[1]}, -1); }, {rnd({2, 3}, 76), rnd({2, 3}, 77)});
  check([](const std::vector<Tensor>& v) {
    auto p = tf::split(v[0], 2, 1);
    return p[0] * 2.0 + p[1].sum() * p[2].sum();
  }, {rnd({2, 10}, 78).slice(1, 0, tf::kEnd, 2)});
  check([](const std::vector<Tensor>& v) {
    auto p = v[0].chunk(3, 0);
    return p[2] - p[0] * p[1];
  }, {rnd({6, 2}, 79)});
  check([](const std::vector<Tensor>& v) { return v[0].clone() * v[0].contiguous(); }, {transposed({3, 2}, 80)});
}

TEST_CASE("gradcheck: indexing", "[gradcheck]") {
  TF_EACH_DEVICE();
  Tensor idx = tf::from_vector<int64_t>({2, 0, 2, 1}).to(dev);
  Tensor gidx = tf::from_vector<int64_t>({0, 2, 1, 1, 0, 0}, {2, 3}).to(dev);
  check([idx](const std::vector<Tensor>& v) { return tf::index_select(v[0], 1, idx); }, {rnd({2, 3}, 90)});
  check([idx](const std::vector<Tensor>& v) { return tf::index_select(v[0], 0, idx); }, {transposed({4, 3}, 91)});
  check([gidx](const std::vector<Tensor>& v) { return tf::gather(v[0], 1, gidx); }, {rnd({2, 4}, 92)});
  check([gidx](const std::vector<Tensor>& v) { return tf::take_along_dim(v[0], gidx, 1); }, {rnd({2, 3}, 93)});
  check([gidx](const std::vector<Tensor>& v) { return tf::scatter_add(v[0], 1, gidx, v[1]); }, {rnd({2, 4}, 94), rnd({2, 3}, 95)});
  check([idx](const std::vector<Tensor>& v) { return tf::index_add(v[0], 0, idx, v[1]); }, {rnd({3, 2}, 96), rnd({4, 2}, 97)});
}

TEST_CASE("gradcheck: softmax family and cross-entropy", "[gradcheck]") {
  TF_EACH_DEVICE();
  check([](const std::vector<Tensor>& v) { return tf::softmax(v[0], 1); }, {rnd({3, 4}, 100)});
  check([](const std::vector<Tensor>& v) { return tf::softmax(v[0], 0); }, {transposed({4, 3}, 101)});
  check([](const std::vector<Tensor>& v) { return tf::log_softmax(v[0], -1); }, {rnd({2, 3, 4}, 102)});
  Tensor labels = tf::from_vector<int64_t>({3, 0, 1}).to(dev);
  check([labels](const std::vector<Tensor>& v) { return tf::cross_entropy(v[0], labels); }, {rnd({3, 4}, 103)});
  Tensor target = tf::softmax(rnd({3, 4}, 104), 1);
  check([](const std::vector<Tensor>& v) { return tf::softmax_cross_entropy(v[0], v[1]); }, {rnd({3, 4}, 105), target});
  // Second order through the fused ops' composite backward.
  check([](const std::vector<Tensor>& v) {
    tf::GradModeGuard on(true);  // gradcheck's numeric pass runs under no_grad
    Tensor y = tf::sum(tf::log_softmax(v[0], 1) * tf::log_softmax(v[0], 1));
    return tf::grad({y}, {v[0]}, {}, true, true)[0];
  }, {rnd({2, 3}, 106)});
}
