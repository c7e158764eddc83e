// nn layers, activations and initializers: values against torch.nn.functional / numpy /
// hand computation, gradchecks, Keras names and the errors for unknown names.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "autograd/autograd.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;

namespace {

void check_values(const Tensor& t, const std::vector<double>& want, double eps = 1e-12) {
  std::vector<double> got = t.astype(kFloat64).to_vector<double>();
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).epsilon(eps).margin(1e-12));
}

Tensor xs() { return tensor({-3.0, -0.5, 0.25, 1.5, 4.0}, Options(kFloat64)); }

}  // namespace

TEST_CASE("activations match torch.nn.functional", "[nn][activations]") {
  namespace a = nn::activations;
  Tensor x = xs();
  check_values(a::sigmoid(x), {0.04742587317756678, 0.3775406687981454, 0.5621765008857981, 0.8175744761936437,
                               0.9820137900379085});
  check_values(a::leaky_relu(x), {-0.6, -0.1, 0.25, 1.5, 4.0});
  check_values(a::elu(x), {-0.950212931632136, -0.3934693402873666, 0.25, 1.5, 4.0});
  check_values(a::selu(x), {-1.6705687287671118, -0.6917581878028713, 0.2626752468388701, 1.5760514810332207,
                            4.202803949421922}, 1e-9);
  check_values(a::gelu(x), {-0.00404969409489031, -0.15426876936299344, 0.14967658142073093, 1.399789198096713,
                            3.9998733150326675}, 1e-6);
  check_values(a::gelu(x, true), {-0.0036373920817729943, -0.15428599017485606, 0.149675350701685,
                                  1.3995715769802328, 3.9999297540518075});
  check_values(a::erf(x), {-0.9999779095030014, -0.5204998778130465, 0.2763263901682369, 0.9661051464753108,
                           0.9999999845827421}, 1e-6);
  check_values(a::softplus(x), {0.04858735157374206, 0.4740769841801067, 0.8259394198788436, 1.7014132779827524,
                                4.0181499279178094});
  check_values(a::softplus(tensor({100.0, -100.0}, Options(kFloat64))), {100.0, 3.720075976020836e-44});
  check_values(a::softsign(x), {-0.75, -1.0 / 3, 0.2, 0.6, 0.8});
  check_values(a::hard_sigmoid(x), {0.0, 0.4, 0.55, 0.8, 1.0});
  check_values(a::swish(x), {-0.14227761953270035, -0.1887703343990727, 0.14054412522144952, 1.2263617142904655,
                             3.928055160151634});
  check_values(a::softmax(x), {0.0008159114990072215, 0.009939836909123994, 0.021042634901742772,
                               0.07344601253573864, 0.8947556041543875});
  check_values(a::log_softmax(x), {-7.111204665981057, -4.611204665981057, -3.861204665981057, -2.611204665981057,
                                   -0.11120466598105684});
  check_values(a::relu(x), {0, 0, 0.25, 1.5, 4.0});
  check_values(a::linear(x), {-3.0, -0.5, 0.25, 1.5, 4.0});
  // ELU's exp is never taken of a large positive input (no inf * 0 in the gradient).
  Tensor big = tensor({1000.0}, Options(kFloat64)).requires_grad_();
  a::elu(big).sum().backward();
  CHECK(big.grad().item<double>() == 1.0);
}

TEST_CASE("activations by name, and their gradients", "[nn][activations][gradcheck]") {
  for (const std::string& name : nn::activation_names()) {
    INFO(name);
    nn::ActivationFn f = nn::get_activation(name);
    auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) { return f(in[0]); },
                                 {tensor({-3.0, -0.5, 0.25, 1.5, 4.0, -1.2}, Options(kFloat64)).reshape(Shape{2, 3})});
    INFO(r.message);
    CHECK(r.ok);
  }
  CHECK(nn::get_activation("logistic")(xs()).to_vector<double>() == nn::activations::sigmoid(xs()).to_vector<double>());
  CHECK_THROWS_WITH(nn::get_activation("mish"), Catch::Contains("unknown activation 'mish'") &&
                                                    Catch::Contains("sigmoid") && Catch::Contains("hard_sigmoid"));
  nn::Activation layer("tanh");
  check_values(layer(tensor({0.5}, Options(kFloat64)).reshape(Shape{1, 1})), {0.46211715726000974});
}

TEST_CASE("initializers", "[nn][init]") {
  Options f32(kFloat32);
  SECTION("glorot_uniform: bounds, spread and reproducibility from manual_seed") {
    manual_seed(42);
    Tensor w = nn::init::glorot_uniform()(Shape{784, 50}, f32);
    double limit = std::sqrt(6.0 / (784 + 50));
    CHECK(max(abs(w)).item<float>() <= limit);
    CHECK(w.std().item<float>() == Approx(limit / std::sqrt(3.0)).epsilon(0.03));
    manual_seed(42);
    CHECK(all(eq(w, nn::get_initializer("glorot_uniform")(Shape{784, 50}, f32))).item<bool>());
  }
  SECTION("he_normal is truncated at two standard deviations") {
    manual_seed(1);
    Tensor w = nn::init::he_normal()(Shape{400, 300}, f32);
    double stddev = std::sqrt(2.0 / 400) / 0.87962566103423978;
    CHECK(max(abs(w)).item<float>() <= 2 * stddev * (1 + 1e-6));
    CHECK(w.std().item<float>() == Approx(std::sqrt(2.0 / 400)).epsilon(0.03));
  }
  SECTION("the others") {
    CHECK(nn::init::compute_fans(Shape{3, 3, 16, 32}) == std::pair<double, double>(144.0, 288.0));
    check_values(nn::init::constant(0.5)(Shape{2}, f32), {0.5, 0.5});
    check_values(nn::get_initializer("ones")(Shape{2}, f32), {1, 1});
    check_values(nn::get_initializer("zeros")(Shape{2}, f32), {0, 0});
    Tensor u = nn::get_initializer("random_uniform")(Shape{1000}, f32);
    CHECK(max(abs(u)).item<float>() <= 0.05f);
    Tensor lu = nn::get_initializer("lecun_uniform")(Shape{300, 10}, f32);
    CHECK(max(abs(lu)).item<float>() <= std::sqrt(3.0 / 300));
    CHECK_THROWS_WITH(nn::get_initializer("orthogonal"), Catch::Contains("unknown initializer 'orthogonal'") &&
                                                             Catch::Contains("glorot_uniform"));
  }
}

TEST_CASE("Dense", "[nn][layers]") {
  nn::Dense d(2, "tanh", true, "glorot_uniform", "zeros", 3);
  REQUIRE(d.built());
  d.load_state_dict({{"kernel", tensor({{0.1f, 0.2f}, {0.3f, -0.4f}, {0.5f, 0.6f}})}, {"bias", tensor({0.1f, -0.2f})}});
  // z = x K + b = [[2.3, 1.0], [0.5, 0.2]] by hand.
  Tensor y = d(tensor({{1.f, 2.f, 3.f}, {-1.f, 0.f, 1.f}}));
  check_values(y, {0.9800963962661914, 0.7615941559557649, 0.46211715726000974, 0.197375320224904}, 1e-6);
  CHECK(d.count_params() == 8);
  CHECK_THROWS_WITH(d(tensor({{1.f, 2.f}})), Catch::Contains("(1, 2)") && Catch::Contains("(3, 2)"));

  SECTION("lazy build, no bias, higher rank input") {
    nn::Dense lazy(4, "linear", false);
    CHECK_FALSE(lazy.built());
    Tensor out = lazy(ones(Shape{2, 5, 3}));
    CHECK(out.shape() == Shape({2, 5, 4}));
    CHECK(lazy.kernel().shape() == Shape({3, 4}));
    CHECK(lazy.named_parameters().size() == 1);
  }
  SECTION("gradients through Dense in float64") {
    nn::Dense g(3, "sigmoid", true, "glorot_uniform", "random_normal", 4);
    g.to(kFloat64);
    auto rx = autograd::gradcheck([&](const std::vector<Tensor>& in) { return g(in[0]); },
                                  {uniform(Shape{2, 4}, -1, 1, Options(kFloat64))});
    INFO(rx.message);
    CHECK(rx.ok);
    // The kernel's gradient against the derivative written out by hand: x^T (s (1 - s)).
    Tensor x = uniform(Shape{2, 4}, -1, 1, Options(kFloat64));
    sum(g(x)).backward();
    Tensor s = sigmoid(matmul(x, g.kernel().detach()) + g.bias().detach());
    check_values(g.kernel().grad(), matmul(x.transpose(0, 1), s * (1.0 - s)).to_vector<double>(), 1e-10);
    check_values(g.bias().grad(), sum(s * (1.0 - s), 0).to_vector<double>(), 1e-10);
  }
  CHECK_THROWS_WITH(nn::Dense(0), Catch::Contains("units must be positive"));
  CHECK_THROWS_WITH(nn::Dense(3, "swishy"), Catch::Contains("unknown activation 'swishy'"));
}

TEST_CASE("Flatten and Dropout", "[nn][layers]") {
  nn::Flatten flat;
  CHECK(flat(zeros(Shape{4, 2, 3, 5})).shape() == Shape({4, 30}));
  CHECK(flat(zeros(Shape{4, 7})).shape() == Shape({4, 7}));

  nn::Dropout drop(0.3);
  Tensor x = ones(Shape{200, 500});
  manual_seed(7);
  Tensor y = drop(x);
  double zero_frac = mean((y == 0).astype(kFloat64)).item<double>();
  CHECK(zero_frac == Approx(0.3).margin(0.01));
  CHECK(max(y).item<float>() == Approx(1.0 / 0.7));
  CHECK(min(where(y > 0, y, full_like(y, 100.0))).item<float>() == Approx(1.0 / 0.7));
  drop.eval();
  CHECK(drop(x).is_same(x));
  CHECK_THROWS_WITH(nn::Dropout(1.0), Catch::Contains("rate must be in [0, 1)"));
}

namespace {
// A user module with named children, as in PyTorch's C++ frontend.
struct Net : nn::Module {
  std::shared_ptr<nn::Dense> fc1, fc2;
  Tensor scale;
  Net() : nn::Module("Net", "net") {
    fc1 = register_module("fc1", std::make_shared<nn::Dense>(4, "relu", true, "glorot_uniform", "zeros", 3));
    fc2 = register_module("fc2", std::make_shared<nn::Dense>(2, "linear", true, "glorot_uniform", "zeros", 4));
    scale = register_parameter("scale", ones(Shape{1}));
  }
  Tensor forward(const Tensor& x) override { return (*fc2)((*fc1)(x)) * scale; }
};

std::vector<std::string> names_of(const nn::NamedTensors& nt) {
  std::vector<std::string> n;
  for (auto& [name, t] : nt) n.push_back(name);
  return n;
}
}  // namespace

TEST_CASE("Module mechanics", "[nn][module]") {
  Net net;
  CHECK(names_of(net.named_parameters()) ==
        std::vector<std::string>{"scale", "fc1.kernel", "fc1.bias", "fc2.kernel", "fc2.bias"});
  CHECK(net.count_params() == 1 + 12 + 4 + 8 + 2);
  net.eval();
  CHECK_FALSE(net.fc1->is_training());
  net.train();
  CHECK(net.fc2->is_training());

  sum(net(ones(Shape{2, 3}))).backward();
  CHECK(net.fc1->kernel().grad().defined());
  net.zero_grad();
  CHECK_FALSE(net.fc1->kernel().grad().defined());

  CHECK_THROWS_WITH(net.register_parameter("scale", ones(Shape{1})), Catch::Contains("already registered"));
  CHECK_THROWS_WITH(net.register_parameter("a.b", ones(Shape{1})), Catch::Contains("invalid name"));

  SECTION("to(dtype) keeps every handle valid") {
    optim::SGD opt(net.parameters(), {.lr = 0.1});
    net.to(kFloat64);
    CHECK(opt.params()[1].dtype() == kFloat64);
    CHECK(opt.params()[1].is_same(net.fc1->kernel()));
    CHECK(net(ones(Shape{1, 3}, Options(kFloat64))).dtype() == kFloat64);
  }
}

TEST_CASE("state_dict and load_state_dict", "[nn][module]") {
  Net a, b;
  b.load_state_dict(a.state_dict());
  CHECK(all(eq(a.fc1->kernel(), b.fc1->kernel())).item<bool>());

  Tensor before = b.fc2->kernel().clone();
  nn::NamedTensors bad = a.state_dict();
  bad[0].second = ones(Shape{1});                 // fine
  bad[3].second = zeros(Shape{5, 2});             // fc2.kernel has the wrong shape
  CHECK_THROWS_WITH(b.load_state_dict(bad), Catch::Contains("'fc2.kernel'") && Catch::Contains("(5, 2)") &&
                                                Catch::Contains("(4, 2)"));
  CHECK(all(eq(b.fc2->kernel(), before)).item<bool>());  // unchanged, even the entries before it
  CHECK(b.scale.item<float>() == 1.0f);

  nn::NamedTensors wrong_dtype = a.state_dict();
  wrong_dtype[1].second = wrong_dtype[1].second.astype(kFloat64);
  CHECK_THROWS_WITH(b.load_state_dict(wrong_dtype), Catch::Contains("'fc1.kernel'") && Catch::Contains("float64"));

  nn::NamedTensors missing = a.state_dict();
  missing.pop_back();
  CHECK_THROWS_WITH(b.load_state_dict(missing), Catch::Contains("missing parameter 'fc2.bias'"));
  b.load_state_dict(missing, false);  // non-strict: fine

  nn::NamedTensors extra = a.state_dict();
  extra.emplace_back("fc3.kernel", ones(Shape{1}));
  CHECK_THROWS_WITH(b.load_state_dict(extra), Catch::Contains("unexpected parameter 'fc3.kernel'"));
}

namespace {
std::filesystem::path weights_dir() {
  auto d = std::filesystem::temp_directory_path() / ("tapeflow_test_nn_" + std::to_string(::getpid()));
  std::filesystem::create_directories(d);
  return d;
}
std::shared_ptr<nn::Sequential> small_model(uint64_t seed) {
  manual_seed(seed);
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Dense(2, "linear", true, "glorot_uniform", "random_normal", 3));
  return m;
}
}  // namespace

TEST_CASE("weights on disk (safetensors)", "[nn][weights]") {
  auto dir = weights_dir();
  auto a = small_model(1), b = small_model(2);
  std::string path = (dir / "a.safetensors").string();
  a->save_weights(path);
  b->load_weights(path);
  CHECK(all(eq(a->predict(ones(Shape{1, 3})), b->predict(ones(Shape{1, 3})))).item<bool>());

  SECTION("a file laid out by hand as Python's safetensors writes it") {
    std::string header =
        R"({"0.bias":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
        R"("0.kernel":{"dtype":"F32","shape":[3,2],"data_offsets":[8,32]}})";
    while (header.size() % 8) header += ' ';
    std::string file = (dir / "python.safetensors").string();
    std::ofstream out(file, std::ios::binary);
    uint64_t n = header.size();
    for (int i = 0; i < 8; ++i) out.put((char)((n >> (8 * i)) & 0xff));
    out << header;
    const float values[8] = {0.5f, -0.5f, 1, 2, 3, 4, 5, 6};  // bias, then the kernel row by row
    for (float v : values) {
      uint32_t bits;
      std::memcpy(&bits, &v, 4);
      for (int i = 0; i < 4; ++i) out.put((char)((bits >> (8 * i)) & 0xff));
    }
    out.close();
    b->load_weights(file);
    // [1, 1, 1] @ [[1, 2], [3, 4], [5, 6]] + [0.5, -0.5] = [9.5, 11.5]
    check_values(b->predict(ones(Shape{1, 3})), {9.5, 11.5});
  }
  SECTION("a truncated or mismatched file is refused and the model is unchanged") {
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string cut = (dir / "cut.safetensors").string();
    std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() - 4);
    auto c = small_model(3);
    Tensor before = c->predict(ones(Shape{1, 3}));
    CHECK_THROWS_AS(c->load_weights(cut), Error);
    std::string junk = (dir / "junk.safetensors").string();
    std::ofstream(junk, std::ios::binary) << "not a safetensors file at all";
    CHECK_THROWS_AS(c->load_weights(junk), Error);

    manual_seed(4);
    nn::Sequential wide;
    wide.add(nn::Dense(5, "linear", true, "glorot_uniform", "zeros", 3));
    std::string wide_path = (dir / "wide.safetensors").string();
    wide.save_weights(wide_path);
    CHECK_THROWS_WITH(c->load_weights(wide_path), Catch::Contains("'0.kernel'") && Catch::Contains("(3, 5)") &&
                                                      Catch::Contains(wide_path));
    CHECK(all(eq(before, c->predict(ones(Shape{1, 3})))).item<bool>());

    nn::Sequential lazy;
    lazy.add(nn::Dense(2));
    CHECK_THROWS_WITH(lazy.load_weights(path), Catch::Contains("not built"));
  }
}
