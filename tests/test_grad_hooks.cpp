// Tensor gradient hooks (register_hook, register_post_accumulate_grad_hook) and custom
// differentiable functions (autograd/custom_function.h): values derived by hand, gradcheck, and
// second derivatives through create_graph against the analytic value.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "autograd/autograd.h"
#include "autograd/custom_function.h"
#include "helpers.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
using tftest::approx_vec;

TEST_CASE("register_hook on a leaf sees the summed gradient and can replace it", "[hooks][autograd]") {
  Tensor x = tensor({1.0, 2.0}, Options(kFloat64)).requires_grad_();
  std::vector<std::string> order;
  std::vector<double> seen;
  auto h1 = x.register_hook([&](const Tensor& g) {
    order.push_back("h1");
    seen = g.to_vector<double>();
  });
  auto h2 = x.register_hook([&](const Tensor& g) -> std::optional<Tensor> {
    order.push_back("h2");
    return g * 10.0;
  });
  // y = x*3 + x*x: dy/dx = 3 + 2x, used twice: the hook runs once on the sum.
  Tensor y = (x * 3.0 + x * x).sum();
  y.backward();
  CHECK(order == std::vector<std::string>{"h1", "h2"});
  CHECK(seen == std::vector<double>{5.0, 7.0});
  CHECK(approx_vec(x.grad(), {50.0, 70.0}));

  h2.remove();
  h2.remove();  // idempotent
  x.zero_grad(true);
  order.clear();
  (x * 3.0 + x * x).sum().backward();
  CHECK(order == std::vector<std::string>{"h1"});
  CHECK(approx_vec(x.grad(), {5.0, 7.0}));
  h1.remove();
}

TEST_CASE("register_hook on a non-leaf runs in backward and grad()", "[hooks][autograd]") {
  Tensor x = tensor({1.0, -2.0, 3.0}, Options(kFloat64)).requires_grad_();
  Tensor h = x * x;  // non-leaf
  int calls = 0;
  auto handle = h.register_hook([&](const Tensor& g) -> std::optional<Tensor> {
    ++calls;
    CHECK(approx_vec(g, {2.0, 2.0, 2.0}));  // d(2*sum(h))/dh
    return g * 0.5;
  });
  Tensor loss = (h * 2.0).sum();
  loss.backward(Tensor(), true);
  CHECK(calls == 1);
  CHECK(approx_vec(x.grad(), {2.0, -4.0, 6.0}));  // (2 * 0.5) * 2x
  std::vector<Tensor> g = grad({loss}, {h}, {}, true);
  CHECK(calls == 2);
  CHECK(approx_vec(g[0], {1.0, 1.0, 1.0}));
  handle.remove();
  g = grad({loss}, {h});
  CHECK(calls == 2);
  CHECK(approx_vec(g[0], {2.0, 2.0, 2.0}));
}

TEST_CASE("register_hook errors", "[hooks][autograd][errors]") {
  Tensor c = tensor({1.0, 2.0});
  REQUIRE_THROWS_WITH(c.register_hook([](const Tensor&) {}), Catch::Contains("register_hook") &&
                                                                  Catch::Contains("does not require grad"));
  Tensor x = tensor({1.0, 2.0}, Options(kFloat64)).requires_grad_();
  auto h = x.register_hook([](const Tensor& g) -> std::optional<Tensor> { return g.sum(); });
  REQUIRE_THROWS_WITH((x * 2.0).sum().backward(), Catch::Contains("register_hook") && Catch::Contains("shape ()"));
  h.remove();
  Tensor y = x * 2.0;
  REQUIRE_THROWS_WITH(y.register_post_accumulate_grad_hook([](const Tensor&) {}),
                      Catch::Contains("register_post_accumulate_grad_hook") && Catch::Contains("leaf"));
}

TEST_CASE("post-accumulate-grad hooks fire once per backward with the full gradient", "[hooks][autograd]") {
  // Two parameters used several times: each hook fires once, after every contribution arrived,
  // and sees .grad() complete (what overlapping an all-reduce with backward needs).
  Tensor w = tensor({1.0, 2.0}, Options(kFloat64)).requires_grad_();
  Tensor b = tensor({0.5}, Options(kFloat64)).requires_grad_();
  std::vector<std::string> fired;
  std::vector<double> w_grad_seen;
  auto hw = w.register_post_accumulate_grad_hook([&](const Tensor& p) {
    fired.push_back("w");
    w_grad_seen = p.grad().to_vector<double>();
  });
  auto hb = b.register_post_accumulate_grad_hook([&](const Tensor& p) {
    fired.push_back("b");
    CHECK(p.grad().defined());
  });
  Tensor x = tensor({3.0, 4.0}, Options(kFloat64));
  // loss = sum(w*x) + sum(w*w) + b*sum(w): dL/dw = x + 2w + b = {5.5, 8.5}; dL/db = sum(w) = 3.
  Tensor loss = (w * x).sum() + (w * w).sum() + (b * w.sum()).sum();
  loss.backward();
  REQUIRE(fired.size() == 2);
  CHECK(std::count(fired.begin(), fired.end(), "w") == 1);
  CHECK(w_grad_seen == std::vector<double>{5.5, 8.5});
  CHECK(approx_vec(b.grad(), {3.0}));
  // A second backward accumulates: the hook sees the running total.
  (w * x).sum().backward();
  CHECK(w_grad_seen == std::vector<double>{8.5, 12.5});
  hw.remove();
  hb.remove();
  fired.clear();
  (w * x).sum().backward();
  CHECK(fired.empty());
}

namespace {

// y = x^2 with a hand-written backward made of tensor ops (so it is itself differentiable).
struct Square : autograd::Function<Square> {
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x * x;
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, const std::vector<Tensor>& g) {
    Tensor x = ctx->get_saved_variables()[0];
    return {g[0] * 2.0 * x};
  }
};

// Straight-through estimator: forward rounds to the sign, backward passes the gradient where
// |x| <= 1 (a mask made with tensor ops); a scale argument that is not a tensor.
struct SignSTE : autograd::Function<SignSTE> {
  static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, double scale) {
    ctx->save_for_backward({x});
    ctx->saved_data["scale"] = scale;
    return where(x >= 0.0, ones_like(x), -ones_like(x)) * scale;
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, const std::vector<Tensor>& g) {
    Tensor x = ctx->get_saved_variables()[0];
    double scale = std::any_cast<double>(ctx->saved_data["scale"]);
    return {g[0] * (abs(x) <= 1.0).astype(g[0].dtype()) * scale};
  }
};

// Two inputs, two outputs (one non-differentiable), and an output saved for backward:
// e = exp(a) * b (saved), idx = (a > 0) as int64.
struct ExpMul : autograd::Function<ExpMul> {
  static std::vector<Tensor> forward(autograd::AutogradContext* ctx, const Tensor& a, const Tensor& b) {
    Tensor e = exp(a) * b;
    Tensor idx = (a > 0.0).astype(kInt64);
    ctx->save_for_backward({a, b, e});
    ctx->mark_non_differentiable({idx});
    return {e, idx};
  }
  static std::vector<Tensor> backward(autograd::AutogradContext* ctx, const std::vector<Tensor>& g) {
    auto s = ctx->get_saved_variables();
    Tensor ga = ctx->needs_input_grad(0) ? g[0] * s[2] : Tensor();
    Tensor gb = ctx->needs_input_grad(1) ? g[0] * exp(s[0]) : Tensor();
    return {ga, gb};
  }
};

}  // namespace

TEST_CASE("custom function: values, gradcheck and the node name", "[custom_function][autograd]") {
  Tensor x = tensor({-1.5, 0.5, 2.0}, Options(kFloat64)).requires_grad_();
  Tensor y = Square::apply(x);
  CHECK(y.grad_fn() == "SquareBackward");
  CHECK(approx_vec(y, {2.25, 0.25, 4.0}));
  y.sum().backward();
  CHECK(approx_vec(x.grad(), {-3.0, 1.0, 4.0}));
  auto r = autograd::gradcheck([](const std::vector<Tensor>& in) { return Square::apply(in[0]); }, {x});
  CHECK(r.ok);
  INFO(r.message);
  Tensor a = tensor({0.3, -0.7}, Options(kFloat64)), b = tensor({1.2, 2.0}, Options(kFloat64));
  auto r2 = autograd::gradcheck([](const std::vector<Tensor>& in) { return ExpMul::apply(in[0], in[1])[0]; }, {a, b});
  INFO(r2.message);
  CHECK(r2.ok);
  // Without grad: no node, plain values.
  Tensor z = Square::apply(tensor({3.0}));
  CHECK(z.grad_fn().empty());
  CHECK(approx_vec(z, {9.0}));
}

TEST_CASE("custom function: second derivative through create_graph", "[custom_function][autograd]") {
  // f(x) = Square(x)^... use z = sum(Square(x) * x) = sum(x^3): dz/dx = 3x^2, d2z/dx2 = 6x.
  Tensor x = tensor({0.5, -2.0, 3.0}, Options(kFloat64)).requires_grad_();
  Tensor z = (Square::apply(x) * x).sum();
  Tensor g = grad({z}, {x}, {}, true, true)[0];
  CHECK(approx_vec(g, {0.75, 12.0, 27.0}));
  Tensor gg = grad({g.sum()}, {x})[0];
  CHECK(approx_vec(gg, {3.0, -12.0, 18.0}));
  // A saved output under create_graph: e = exp(a)*b, de/da = e: d2(sum e)/da2 = e.
  Tensor a = tensor({0.1, -0.4}, Options(kFloat64)).requires_grad_();
  Tensor b = tensor({2.0, 3.0}, Options(kFloat64));
  auto out = ExpMul::apply(a, b);
  CHECK_FALSE(out[1].requires_grad());
  CHECK(out[1].dtype() == kInt64);
  Tensor ga = grad({out[0].sum()}, {a}, {}, true, true)[0];
  Tensor gga = grad({ga.sum()}, {a})[0];
  CHECK(approx_vec(gga, {2.0 * std::exp(0.1), 3.0 * std::exp(-0.4)}, 1e-12));
}

TEST_CASE("custom function: straight-through estimator and errors", "[custom_function][autograd][errors]") {
  Tensor x = tensor({-2.0, -0.5, 0.25, 3.0}, Options(kFloat64)).requires_grad_();
  Tensor y = SignSTE::apply(x, 2.0);
  CHECK(approx_vec(y, {-2.0, -2.0, 2.0, 2.0}));
  y.sum().backward();
  CHECK(approx_vec(x.grad(), {0.0, 2.0, 2.0, 0.0}));

  struct BadCount : autograd::Function<BadCount> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x * 2.0; }
    static std::vector<Tensor> backward(autograd::AutogradContext*, const std::vector<Tensor>& g) { return {g[0], g[0]}; }
  };
  Tensor w = tensor({1.0}, Options(kFloat64)).requires_grad_();
  REQUIRE_THROWS_WITH(BadCount::apply(w).sum().backward(),
                      Catch::Contains("BadCountBackward") && Catch::Contains("returned 2 gradients, expected 1"));
  struct BadShape : autograd::Function<BadShape> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x.sum(); }
    static Tensor backward(autograd::AutogradContext*, const std::vector<Tensor>& g) { return g[0]; }
  };
  Tensor v = tensor({1.0, 2.0}, Options(kFloat64)).requires_grad_();
  REQUIRE_THROWS_WITH(BadShape::apply(v).backward(),
                      Catch::Contains("BadShapeBackward") && Catch::Contains("shape ()") && Catch::Contains("(2,)"));
  // Returning an input: the output gets a handle of its own; the input stays a leaf.
  struct Identity : autograd::Function<Identity> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x; }
    static Tensor backward(autograd::AutogradContext*, const std::vector<Tensor>& g) { return g[0] * 3.0; }
  };
  Tensor u = tensor({1.0, 2.0}, Options(kFloat64)).requires_grad_();
  Tensor o = Identity::apply(u);
  CHECK(u.is_leaf());
  CHECK(o.grad_fn() == "IdentityBackward");
  o.sum().backward();
  CHECK(approx_vec(u.grad(), {3.0, 3.0}));
}
