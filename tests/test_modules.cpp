// The module API for real architectures: typed multi-input forwards and the type-erased path,
// clone() (deep), non-copyable modules, buffers (state_dict, weight files, to(), clone), forward
// hooks, named layer options, and the error for an optimizer given an unbuilt model.
#include <catch2/catch.hpp>

#include <filesystem>
#include <type_traits>

#include "autograd/autograd.h"
#include "helpers.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"

using namespace tapeflow;
using tftest::approx_vec;

// Copying a module would share its layers: it does not compile (use clone()).
static_assert(!std::is_copy_constructible_v<nn::Sequential>, "Sequential must not be copyable");
static_assert(!std::is_copy_assignable_v<nn::Sequential>, "Sequential must not be copy-assignable");
static_assert(!std::is_copy_constructible_v<nn::Dense>, "Dense must not be copyable");
static_assert(!std::is_copy_constructible_v<nn::Module>, "Module must not be copyable");
static_assert(std::is_move_constructible_v<nn::Dense>, "layers move into Sequential::add");

namespace {

// Attention-like block: three inputs, two outputs (a tuple), and a running-count buffer.
struct QKV : nn::Cloneable<QKV> {
  std::shared_ptr<nn::Dense> proj;
  Tensor calls;
  QKV() : Cloneable("QKV", "qkv") {
    proj = register_module("proj", std::make_shared<nn::Dense>(2, nn::DenseOptions().input_dim(3).use_bias(false)));
    calls = register_buffer("calls", zeros(Shape{1}, Options(kInt64)));
  }
  std::tuple<Tensor, Tensor> forward(const Tensor& q, const Tensor& k, const Tensor& v) {
    {
      NoGradGuard ng;
      calls.add_(1);
    }
    Tensor scores = (*proj)(q) * (*proj)(k);
    return {scores, scores.sum(1, true) * v};
  }
};

// A tensor plus an optional mask.
struct Masked : nn::Cloneable<Masked> {
  Masked() : Cloneable("Masked", "masked") {}
  Tensor forward(const Tensor& x, const Tensor& mask = Tensor()) { return mask.defined() ? x * mask : x; }
};

// Needs constructor arguments: fresh() says how to make a new one.
struct Scaled : nn::Cloneable<Scaled> {
  double factor;
  Tensor w;
  explicit Scaled(double f) : Cloneable("Scaled", "scaled"), factor(f) {
    w = register_parameter("w", full(Shape{2}, f));
  }
  std::shared_ptr<Scaled> fresh() const { return std::make_shared<Scaled>(factor); }
  Tensor forward(const Tensor& x) override { return x * w; }
};

}  // namespace

TEST_CASE("typed forwards with several inputs and outputs", "[modules]") {
  QKV m;
  Tensor q = ones(Shape{4, 3}), k = full(Shape{4, 3}, 2.0), v = full(Shape{4, 1}, 0.5);
  auto [s, o] = m(q, k, v);  // the typed call
  CHECK(s.shape() == Shape({4, 2}));
  CHECK(o.shape() == Shape({4, 1}));
  CHECK(m.output_shape() == Shape({2}));
  nn::ModuleOutput out = m.call({q, k, v});  // the type-erased path
  REQUIRE(out.size() == 2);
  CHECK(approx_vec(out[0], s.to_vector<double>()));
  CHECK(approx_vec(m.calls, {2.0}));
  REQUIRE_THROWS_WITH(m.call({q, k}), Catch::Contains("QKV: forward takes 3 input tensors, got 2"));
  REQUIRE_THROWS_WITH(out.tensor(), Catch::Contains("2 outputs"));

  Masked mk;
  Tensor x = tensor({1.0, 2.0, 3.0});
  CHECK(approx_vec(mk(x), {1, 2, 3}));
  CHECK(approx_vec(mk(x, tensor({1.0, 0.0, 1.0})), {1, 0, 3}));
  CHECK(approx_vec(mk.call({x}).tensor(), {1, 2, 3}));  // forward(x, mask = Tensor())
  nn::Module& base = mk;  // single-input path of a typed module (what Sequential uses)
  CHECK(approx_vec(base(x), {1, 2, 3}));
  CHECK(approx_vec(mk.call({x, tensor({0.0, 1.0, 0.0})}).tensor(), {0, 2, 0}));

  // Bringing Module::forward back with `using` would make forward(x) dispatch to itself.
  struct Loops : nn::Cloneable<Loops> {
    using nn::Module::forward;
    Tensor forward(const Tensor& a, const Tensor& b) { return a + b; }
  } loops;
  nn::Module& lb = loops;
  REQUIRE_THROWS_WITH(lb(x), Catch::Contains("calls itself"));
  CHECK(approx_vec(loops(x, x), {2, 4, 6}));
}

TEST_CASE("clone() is deep for Sequential, layers and user modules", "[modules][clone]") {
  manual_seed(3);
  nn::Sequential a;
  a.add(nn::Dense(4, nn::DenseOptions().activation("tanh").input_dim(3)));
  a.add(nn::Dropout(0.25));
  a.add(nn::Dense(2));
  a.eval();
  auto b = nn::clone(a);
  REQUIRE(b);
  CHECK_FALSE(b->is_training());
  auto pa = a.named_parameters(), pb = b->named_parameters();
  REQUIRE(pa.size() == pb.size());
  for (size_t i = 0; i < pa.size(); ++i) {
    CHECK(pa[i].first == pb[i].first);
    CHECK_FALSE(pa[i].second.shares_storage(pb[i].second));
    CHECK(pa[i].second.to_vector<float>() == pb[i].second.to_vector<float>());
  }
  CHECK((*b)[2]->name() == a[2]->name());
  // Training the clone leaves the original alone.
  std::vector<float> before = a.named_parameters()[0].second.to_vector<float>();
  optim::SGD opt(b->parameters(), {.lr = 0.5});
  b->train();
  Tensor x = randn(Shape{5, 3});
  (*b)(x).square().mean().backward();
  opt.step();
  CHECK(a.named_parameters()[0].second.to_vector<float>() == before);
  CHECK(b->named_parameters()[0].second.to_vector<float>() != before);
  CHECK(a.named_parameters()[0].second.grad().defined() == false);

  // User modules: default-constructible, or with fresh(); buffers are copied, not shared.
  QKV q;
  q(ones(Shape{1, 3}), ones(Shape{1, 3}), ones(Shape{1, 1}));
  auto q2 = nn::clone(q);
  CHECK(approx_vec(q2->calls, {1.0}));
  CHECK_FALSE(q2->calls.shares_storage(q.calls));
  CHECK(q2->proj->kernel().to_vector<float>() == q.proj->kernel().to_vector<float>());
  CHECK(q2->proj.get() != q.proj.get());
  Scaled s(3.0);
  {
    NoGradGuard ng;
    s.w.mul_(2.0);
  }
  auto s2 = nn::clone(s);
  CHECK(s2->factor == 3.0);
  CHECK(approx_vec(s2->w, {6.0, 6.0}));
  CHECK_FALSE(s2->w.shares_storage(s.w));

  // A lazily built Dense is cloned built; a plain Module subclass says how to support clone().
  nn::Dense lazy(3);
  lazy(ones(Shape{2, 5}));
  auto lazy2 = nn::clone(lazy);
  CHECK(lazy2->kernel().shape() == Shape({5, 3}));
  struct Plain : nn::Module {
    Tensor forward(const Tensor& x) override { return x; }
  } plain;
  REQUIRE_THROWS_WITH(plain.clone(), Catch::Contains("does not implement clone()") && Catch::Contains("Cloneable"));
}

TEST_CASE("buffers: named, saved and loaded, moved by to()", "[modules][buffers]") {
  nn::Sequential m;
  auto q = std::make_shared<QKV>();
  struct Holder : nn::Cloneable<Holder> {
    std::shared_ptr<QKV> inner;
    Tensor running;
    Holder() : Cloneable("Holder", "holder") {
      running = register_buffer("running_mean", tensor({0.5, 1.5}));
      inner = register_module("inner", std::make_shared<QKV>());
    }
    Tensor forward(const Tensor& x) override { return x + running; }
  } h;
  auto names = [](const nn::NamedTensors& v) {
    std::vector<std::string> out;
    for (auto& [n, t] : v) out.push_back(n);
    return out;
  };
  CHECK(names(h.named_buffers()) == std::vector<std::string>{"running_mean", "inner.calls"});
  CHECK(names(h.named_parameters()) == std::vector<std::string>{"inner.proj.kernel"});
  // Per module: its parameters, its buffers, then its children (PyTorch's order).
  CHECK(names(h.state_dict()) == std::vector<std::string>{"running_mean", "inner.calls", "inner.proj.kernel"});
  CHECK(h.parameters().size() == 1);  // optimizers never see buffers

  // load_state_dict checks buffers too, and copies them in place.
  Holder h2;
  nn::NamedTensors sd = h.state_dict();
  {
    NoGradGuard ng;
    h.running.fill_(7.0);
  }
  h2.load_state_dict(h.state_dict());
  CHECK(approx_vec(h2.running, {7.0, 7.0}));
  nn::NamedTensors bad = h.state_dict();
  bad[0].second = zeros(Shape{3});
  REQUIRE_THROWS_WITH(h2.load_state_dict(bad), Catch::Contains("buffer 'running_mean' has shape (3,)"));

  // Weight files carry buffers.
  auto path = (std::filesystem::temp_directory_path() / "tapeflow_buffers.safetensors").string();
  training::save_weights(h, path);
  Holder h3;
  training::load_weights(h3, path);
  CHECK(approx_vec(h3.running, {7.0, 7.0}));
  std::filesystem::remove(path);

  // to(dtype) casts floating buffers, leaves integer ones.
  h.to(kFloat64);
  CHECK(h.running.dtype() == kFloat64);
  CHECK(h.inner->calls.dtype() == kInt64);
  REQUIRE_THROWS_WITH(h.register_buffer("running_mean", zeros(Shape{1})), Catch::Contains("already registered"));
  REQUIRE_THROWS_WITH(h.register_buffer("x", Tensor()), Catch::Contains("register_buffer") && Catch::Contains("undefined"));
}

TEST_CASE("forward pre- and post-hooks: order, replacement and removal", "[modules][hooks]") {
  nn::Dense d(2, nn::DenseOptions().input_dim(2).use_bias(false).kernel_initializer("ones"));
  std::vector<std::string> log;
  auto pre1 = d.register_forward_pre_hook([&](nn::Module& m, const std::vector<Tensor>& in) {
    log.push_back("pre1:" + m.type_name() + ":" + std::to_string(in.size()));
  });
  auto pre2 = d.register_forward_pre_hook(
      [&](nn::Module&, const std::vector<Tensor>& in) -> std::optional<std::vector<Tensor>> {
        log.push_back("pre2");
        return std::vector<Tensor>{in[0] * 2.0};
      });
  auto post = d.register_forward_hook(
      [&](nn::Module&, const std::vector<Tensor>& in, const nn::ModuleOutput& out) -> std::optional<nn::ModuleOutput> {
        log.push_back("post");
        CHECK(approx_vec(in[0], {2.0, 4.0}));  // the replaced input
        return nn::ModuleOutput(out.tensor() + 1.0);
      });
  Tensor y = d(tensor({{1.0f, 2.0f}}));
  CHECK(log == std::vector<std::string>{"pre1:Dense:1", "pre2", "post"});
  CHECK(approx_vec(y, {7.0, 7.0}));
  pre2.remove();
  post.remove();
  log.clear();
  CHECK(approx_vec(d(tensor({{1.0f, 2.0f}})), {3.0, 3.0}));
  CHECK(log == std::vector<std::string>{"pre1:Dense:1"});
  pre1.remove();
  CHECK_FALSE(d.has_forward_hooks());
  // Hooks of a layer run inside a Sequential too (each layer is called through operator()).
  nn::Sequential seq;
  auto inner = std::make_shared<nn::Dense>(2, nn::DenseOptions().input_dim(2).kernel_initializer("ones"));
  seq.add(inner);
  int inner_calls = 0;
  auto hi = inner->register_forward_hook([&](nn::Module&, const std::vector<Tensor>&, const nn::ModuleOutput&) {
    ++inner_calls;
  });
  seq(ones(Shape{3, 2}));
  seq.predict(ones(Shape{3, 2}));
  CHECK(inner_calls == 2);
  hi.remove();
  // Typed multi-input calls run hooks on all tensor inputs.
  QKV q;
  int seen = 0;
  auto h = q.register_forward_pre_hook([&](nn::Module&, const std::vector<Tensor>& in) { seen = (int)in.size(); });
  auto [s, o] = q(ones(Shape{1, 3}), ones(Shape{1, 3}), ones(Shape{1, 1}));
  CHECK(seen == 3);
  CHECK(s.shape() == Shape({1, 2}));
  h.remove();
}

TEST_CASE("named layer options read like Keras keywords", "[modules][options]") {
  nn::Dense d(4, nn::Dense::Options().input_dim(3).activation("relu").use_bias(false).name("hidden"));
  CHECK(d.built());
  CHECK(d.kernel().shape() == Shape({3, 4}));
  CHECK_FALSE(d.bias().defined());
  CHECK(d.activation_name() == "relu");
  CHECK(d.name() == "hidden");
  nn::Dense d2(2, nn::DenseOptions().kernel_initializer("zeros").bias_initializer("ones").input_dim(2));
  CHECK(approx_vec(d2(ones(Shape{1, 2})), {1.0, 1.0}));
  nn::Dropout drop(nn::DropoutOptions().rate(0.3).name("drop"));
  CHECK(drop.rate() == 0.3);
  CHECK(drop.name() == "drop");
  nn::Activation act(nn::ActivationOptions().activation("sigmoid"));
  CHECK(approx_vec(act(zeros(Shape{1})), {0.5}));
  nn::Flatten flat(nn::FlattenOptions().name("flat"));
  CHECK(flat.name() == "flat");
  REQUIRE_THROWS_WITH(nn::Dense(4, nn::DenseOptions().activation("relux")), Catch::Contains("relux"));
  REQUIRE_THROWS_WITH(nn::Dropout(nn::DropoutOptions().rate(1.5)), Catch::Contains("Dropout: rate must be in [0, 1)"));
}

TEST_CASE("an optimizer cannot be given the parameters of an unbuilt model", "[modules][optim][errors]") {
  nn::Sequential m;
  m.add(nn::Dense(8, "tanh"));
  REQUIRE_THROWS_WITH(optim::Adam(m.parameters()),
                      Catch::Contains("not built yet") && Catch::Contains("build(") && Catch::Contains("input_dim"));
  optim::Adam empty(std::vector<Tensor>{});
  REQUIRE_THROWS_WITH(empty.step(), Catch::Contains("Adam.step(): the optimizer has no parameters"));
  m.build(Shape{784});
  optim::Adam opt(m.parameters());
  CHECK(opt.params().size() == 2);
  // Given the input size, the model builds as layers are added.
  nn::Sequential m2;
  m2.add(nn::Dense(8, nn::DenseOptions().activation("tanh").input_dim(784)));
  m2.add(nn::Dense(3));
  CHECK(m2.parameters().size() == 4);
}
