// Robustness regressions from the fuzzing/stress pass (issue 17), autograd and API half:
// in-place ops on plain tensors, retain_grad, reference cycles, undefined tensors at every
// public entry point, and error messages that name the function the user called.
// Reference values from PyTorch 1.13 (Debian python3-torch), computed offline.
#include <functional>
#include <iostream>
#include <sstream>

#include "autograd/autograd.h"
#include "autograd/function.h"
#include "autograd/node.h"
#include "helpers.h"
#include "nn/layers.h"
#include "nn/losses.h"
#include "training/metrics.h"

using namespace tapeflow;
using Catch::Contains;
using tftest::Values;

TEST_CASE("an in-place op on a plain tensor with an operand that requires grad is recorded", "[robust]") {
  // torch: w=[1,2,3] leaf; total=zeros(()); total += (w*w).sum(); (total*2).backward()
  //   -> total 14, requires_grad, w.grad [4, 8, 12]
  Tensor w = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor total = zeros({});
  Tensor loss = sum(w * w);
  total += loss;
  CHECK(total.requires_grad());
  CHECK(total.grad_fn() == "AddBackward");
  CHECK(total.item<float>() == 14.f);
  (total * 2).backward();
  CHECK_THAT(w.grad(), Values({4, 8, 12}));

  // The exact snippet (a temporary leaf) and the other in-place ops.
  Tensor t2 = zeros({});
  t2 += sum(ones({3}).requires_grad_());
  CHECK(t2.item<float>() == 3.f);
  Tensor v = tensor({2.f}).requires_grad_();
  Tensor p = ones({1});
  p.mul_(v);
  p.sub_(v * 3);
  p.div_(v);  // p = (v - 3v) / v = -2; dp/dv = 0
  CHECK_THAT(p, Values({-2}));
  p.backward();
  CHECK_THAT(v.grad(), Values({0}, 1e-6));
}

TEST_CASE("retain_grad keeps the gradient of a non-leaf", "[robust]") {
  // torch: y = x*x; y.retain_grad(); z = (y*[1,10,100]).sum(); z.backward(retain_graph);
  //   y.grad [1,10,100], x.grad [2,40,600]; a second backward accumulates y.grad to [2,20,200]
  Tensor x = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor y = x * x;
  y.retain_grad();
  Tensor z = sum(y * tensor({1.f, 10.f, 100.f}));
  z.backward(Tensor(), /*retain_graph=*/true);
  CHECK_THAT(y.grad(), Values({1, 10, 100}));
  CHECK_THAT(x.grad(), Values({2, 40, 600}));
  z.backward();
  CHECK_THAT(y.grad(), Values({2, 20, 200}));
  CHECK_FALSE(y.grad().requires_grad());

  // Through an in-place op the retained grad follows the new value.
  // torch: y = x*2; y.retain_grad(); y.mul_(3); (y*y).sum().backward() -> y.grad [12,24,36]
  Tensor a = tensor({1.f, 2.f, 3.f}).requires_grad_();
  Tensor b = a * 2;
  b.retain_grad();
  b.mul_(3);
  sum(b * b).backward();
  CHECK_THAT(b.grad(), Values({12, 24, 36}));
  CHECK_THAT(a.grad(), Values({72, 144, 216}));

  // A leaf is a no-op; a tensor without grad refuses; a dying tensor unregisters itself.
  a.retain_grad();
  CHECK_THROWS_WITH(ones({2}).retain_grad(), Contains("retain_grad: cannot retain"));
  Tensor c = a * 3;
  { Tensor d = c * 1; d.retain_grad(); }
  Tensor e = c * 1;
  sum(e).backward();
}

TEST_CASE("in-place ops with themselves, set_grad and create_graph do not leak cycles", "[robust]") {
  const int64_t base = autograd::live_node_count();
  for (int i = 0; i < 50; ++i) {
    Tensor x = tensor({1.f, 2.f}).requires_grad_();
    Tensor y = x * 1;
    y.mul_(y);
    y.add_(y);
    y.div_(y);
    y.sub_(y);
  }
  CHECK(autograd::live_node_count() == base);

  // Still correct: y = (2x)^2, dy/dx = 8x.
  Tensor x = tensor({1.f, 2.f}).requires_grad_();
  Tensor y = x * 2;
  y.mul_(y);
  CHECK_THAT(y, Values({4, 16}));
  sum(y).backward();
  CHECK_THAT(x.grad(), Values({8, 16}));

  Tensor a = tensor({1.f, 2.f}).requires_grad_();
  CHECK_THROWS_WITH(a.set_grad(a), Contains("set_grad: a tensor cannot be its own gradient"));
  CHECK_FALSE(a.grad().defined());

  // backward(create_graph=true) into a leaf warns once (as PyTorch) about the cycle it makes.
  autograd::reset_warnings();
  std::ostringstream captured;
  std::streambuf* old = std::cerr.rdbuf(captured.rdbuf());
  Tensor w = tensor({3.f}).requires_grad_();
  sum(w * w * w).backward(Tensor(), false, /*create_graph=*/true);
  sum(w * w).backward(Tensor(), false, true);  // warned once only
  std::cerr.rdbuf(old);
  CHECK(captured.str().find("tapeflow warning: backward(create_graph=true) into a leaf makes a reference cycle") !=
        std::string::npos);
  CHECK(captured.str().find("warning", 20) == std::string::npos);
  CHECK_THAT(w.grad(), Values({33}));
  CHECK(w.grad().requires_grad());
  w.zero_grad(/*set_to_none=*/true);  // the documented way to break it
}

TEST_CASE("every public entry point names itself on an undefined tensor", "[robust]") {
  Tensor u;
  Tensor x = ones({2, 3});
  std::vector<std::pair<const char*, std::function<void()>>> calls = {
      {"shape", [&] { (void)u.shape(); }},
      {"strides", [&] { (void)u.strides(); }},
      {"numel", [&] { (void)u.numel(); }},
      {"dim", [&] { (void)u.dim(); }},
      {"dtype", [&] { (void)u.dtype(); }},
      {"device", [&] { (void)u.device(); }},
      {"size", [&] { (void)u.size(0); }},
      {"version", [&] { (void)u.version(); }},
      {"is_contiguous", [&] { (void)u.is_contiguous(); }},
      {"grad", [&] { (void)u.grad(); }},
      {"requires_grad", [&] { (void)u.requires_grad(); }},
      {"requires_grad", [&] { u.requires_grad_(); }},
      {"is_leaf", [&] { (void)u.is_leaf(); }},
      {"grad_fn", [&] { (void)u.grad_fn(); }},
      {"zero_grad", [&] { u.zero_grad(); }},
      {"set_grad", [&] { u.set_grad(x); }},
      {"retain_grad", [&] { u.retain_grad(); }},
      {"backward", [&] { u.backward(); }},
      {"detach", [&] { (void)u.detach(); }},
      {"clone", [&] { (void)u.clone(); }},
      {"contiguous", [&] { (void)u.contiguous(); }},
      {"astype", [&] { (void)u.astype(kInt64); }},
      {"item", [&] { (void)u.item<float>(); }},
      {"to_vector", [&] { (void)u.to_vector<float>(); }},
      {"flatten", [&] { (void)u.flatten(); }},
      {"squeeze", [&] { (void)u.squeeze(); }},
      {"squeeze", [&] { (void)u.squeeze(0); }},
      {"unsqueeze", [&] { (void)u.unsqueeze(0); }},
      {"T", [&] { (void)u.T(); }},
      {"transpose", [&] { (void)u.transpose(0, 1); }},
      {"permute", [&] { (void)u.permute({0}); }},
      {"reshape", [&] { (void)u.reshape({-1}); }},
      {"view", [&] { (void)u.view({-1}); }},
      {"expand", [&] { (void)u.expand({2}); }},
      {"slice", [&] { (void)u.slice(0, 0, 1); }},
      {"select", [&] { (void)u[0]; }},
      {"narrow", [&] { (void)u.narrow(0, 0, 1); }},
      {"split", [&] { (void)u.split(1); }},
      {"chunk", [&] { (void)u.chunk(2); }},
      {"sum", [&] { (void)sum(u); }},
      {"mean", [&] { (void)mean(u); }},
      {"prod", [&] { (void)prod(u); }},
      {"max", [&] { (void)max(u); }},
      {"min", [&] { (void)u.min(); }},
      {"var", [&] { (void)var(u); }},
      {"std", [&] { (void)tapeflow::std(u); }},
      {"logsumexp", [&] { (void)logsumexp(u); }},
      {"argmax", [&] { (void)argmax(u); }},
      {"argmin", [&] { (void)argmin(u, 0); }},
      {"all", [&] { (void)all(u); }},
      {"any", [&] { (void)any(u); }},
      {"cumsum", [&] { (void)cumsum(u, 0); }},
      {"sum_to", [&] { (void)sum_to(u, Shape{1}); }},
      {"exp", [&] { (void)exp(u); }},
      {"relu", [&] { (void)u.relu(); }},
      {"clamp", [&] { (void)clamp(u, 0, 1); }},
      {"pow", [&] { (void)pow(u, 2); }},
      {"add", [&] { (void)(u + x); }},
      {"mul", [&] { (void)(x * u); }},
      {"div", [&] { (void)(u / 2); }},
      {"eq", [&] { (void)(u == 2); }},
      {"where", [&] { (void)where(u, x, x); }},
      {"add_", [&] { u += x; }},
      {"add_", [&] { x += u; }},
      {"mul_", [&] { u *= 2; }},
      {"fill_", [&] { u.fill_(1); }},
      {"copy_", [&] { x.copy_(u); }},
      {"matmul", [&] { (void)matmul(u, x); }},
      {"dot", [&] { (void)dot(x, u); }},
      {"concat", [&] { (void)concat({u, x}); }},
      {"stack", [&] { (void)stack({x, u}); }},
      {"index_select", [&] { (void)index_select(u, 0, tensor({0.f}).astype(kInt64)); }},
      {"gather", [&] { (void)gather(x, 0, u); }},
      {"take_along_dim", [&] { (void)take_along_dim(x, u, 0); }},
      {"one_hot", [&] { (void)one_hot(u); }},
      {"softmax", [&] { (void)softmax(u); }},
      {"log_softmax", [&] { (void)log_softmax(u); }},
      {"cross_entropy", [&] { (void)cross_entropy(u, x); }},
      {"softmax_cross_entropy", [&] { (void)softmax_cross_entropy(u, x); }},
      {"*_like", [&] { (void)zeros_like(u); }},
      {"Dense", [&] { nn::Dense d(2); (void)d(u); }},
      {"Flatten", [&] { nn::Flatten f; (void)f(u); }},
      {"mean_squared_error", [&] { (void)nn::mean_squared_error(x, u); }},
      {"categorical_crossentropy", [&] { (void)nn::categorical_crossentropy(x, u); }},
      {"sparse_categorical_crossentropy", [&] { (void)nn::sparse_categorical_crossentropy(u, x); }},
      {"categorical_accuracy", [&] { (void)nn::categorical_accuracy(u, x); }},
  };
  for (auto& [name, fn] : calls) {
    INFO(name);
    CHECK_THROWS_AS(fn(), Error);
    CHECK_THROWS_WITH(fn(), Catch::StartsWith(std::string(name) + ": got an undefined tensor"));
  }
  // The realistic case: summing a gradient before any backward.
  Tensor w = ones({2}).requires_grad_();
  CHECK_THROWS_WITH(sum(w.grad()), "sum: got an undefined tensor");
}

TEST_CASE("error messages name the function the user called", "[robust]") {
  Tensor x = ones({2, 3});
  CHECK_THROWS_WITH(logsumexp(x, 5), Catch::StartsWith("logsumexp: dim 5 is out of range"));
  CHECK_THROWS_WITH(logsumexp(x, {0, 0}), Catch::StartsWith("logsumexp: axis 0 appears twice"));
  CHECK_THROWS_WITH(tapeflow::std(x, 3), Catch::StartsWith("std: dim 3"));
  CHECK_THROWS_WITH(tapeflow::std(x, 0, -1), Catch::StartsWith("std: correction must be non-negative"));
  CHECK_THROWS_WITH(var(x, 0, -1), Catch::StartsWith("var: correction"));
  CHECK_THROWS_WITH(softmax_cross_entropy(x, x, 4), Catch::StartsWith("softmax_cross_entropy: dim 4"));
  CHECK_THROWS_WITH(softmax_cross_entropy(scalar_tensor(1.f), scalar_tensor(1.f)),
                    Catch::StartsWith("softmax_cross_entropy: expected at least a 1-D tensor"));
  Tensor s = scalar_tensor(1.f);
  CHECK_THROWS_WITH(s.split(1), Catch::StartsWith("split: expected a tensor with at least one dim"));
  CHECK_THROWS_WITH(split(s, std::vector<int64_t>{1}), Catch::StartsWith("split: expected a tensor with at least one dim"));
  CHECK_THROWS_WITH(s.chunk(1), Catch::StartsWith("chunk: expected a tensor with at least one dim"));
  Tensor idx = from_vector<int64_t>({0, 1, 0, 1}, Shape{2, 2});
  CHECK_THROWS_WITH(take_along_dim(x, idx, 0), Catch::StartsWith("take_along_dim: shapes (2, 3) and (2, 2)"));
  CHECK_THROWS_WITH(take_along_dim(x, x, 0), Catch::StartsWith("take_along_dim: index must be an integer tensor"));
  CHECK_THROWS_WITH(from_vector<float>({}, Shape{-1}), Catch::StartsWith("from_vector: negative dimension -1"));
  CHECK_THROWS_WITH(argmax(Tensor()), Catch::StartsWith("argmax: got an undefined tensor"));
  CHECK_THROWS_WITH(nn::Dense(2, "", true, "no_such_init"),
                    Catch::StartsWith("Dense: unknown kernel_initializer 'no_such_init'; valid names:"));
  CHECK_THROWS_WITH(nn::Dense(2, "", true, "zeros", "nope"),
                    Catch::StartsWith("Dense: unknown bias_initializer 'nope'"));
  CHECK_THROWS_WITH(zeros({-2, 3}), Catch::StartsWith("zeros: negative dimension -2"));
  CHECK_THROWS_WITH(ones({-2}), Catch::StartsWith("ones: negative dimension"));
  CHECK_THROWS_WITH(full({-2}, 1), Catch::StartsWith("full: negative dimension"));
  CHECK_THROWS_WITH(empty({-2}), Catch::StartsWith("empty: negative dimension"));
  CHECK_THROWS_WITH(randn({-2}), Catch::StartsWith("normal: negative dimension"));
}
