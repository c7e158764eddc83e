// Optimizers against two (or three) update steps computed independently with numpy from the
// Keras update rules (SGD momentum / Nesterov also agree with torch.optim.SGD), clipping, LR
// schedules, ReduceLROnPlateau and optimizer state save/load.
// Problem: p0 = [1, -2, 3], loss = sum(c * p) + 0.5 * sum(p^2), c = [0.5, -1, 2], so g = c + p.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "devices.h"
#include "autograd/autograd.h"
#include "data/safetensors.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;

namespace {

Tensor make_param(Device dev = Device::cpu()) {
  return tensor({1.0, -2.0, 3.0}, Options(kFloat64, dev)).requires_grad_();
}

void compute_grad(const Tensor& p) {
  Tensor c = tensor({0.5, -1.0, 2.0}, Options(kFloat64, p.device()));
  Tensor loss = sum(c * p) + sum(p * p) * 0.5;
  loss.backward();
}

std::vector<double> run(optim::Optimizer& opt, const Tensor& p, int steps = 2) {
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    compute_grad(p);
    opt.step();
  }
  return p.cpu().to_vector<double>();
}

void check_close(const std::vector<double>& got, const std::vector<double>& want, double tol = 1e-12) {
  REQUIRE(got.size() == want.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(tol).epsilon(1e-12));
}

}  // namespace

TEST_CASE("SGD: plain, momentum, nesterov, decay and weight decay", "[optim]") {
  Device dev = GENERATE(from_range(test_devices()));
  SECTION("plain") {
    Tensor p = make_param(dev);
    optim::SGD opt({p}, {.lr = 0.1});
    check_close(run(opt, p), {0.715, -1.43, 2.05});
  }
  SECTION("momentum 0.9 (v = m v - lr g; p += v)") {
    Tensor p = make_param(dev);
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9});
    check_close(run(opt, p), {0.58, -1.16, 1.6});
  }
  SECTION("nesterov") {
    Tensor p = make_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    check_close(run(opt, p), {0.36265, -0.7253, 0.8755});
  }
  SECTION("time-based decay 0.5 and weight decay 0.01") {
    Tensor p = make_param();
    optim::SGD opt({p}, {.lr = 0.1, .momentum = 0.9, .decay = 0.5, .weight_decay = 0.01});
    check_close(run(opt, p), {0.6235006666666667, -1.2470013333333334, 1.7455353333333332});
    CHECK(opt.iterations() == 2);
    CHECK(opt.current_lr() == Approx(0.1 / 2.0));
  }
  SECTION("bad options") {
    CHECK_THROWS_WITH(optim::SGD(optim::SGDOptions{.lr = 0.1, .momentum = 1.5}), Catch::Contains("momentum"));
    CHECK_THROWS_WITH(optim::SGD(optim::SGDOptions{.nesterov = true}), Catch::Contains("nesterov"));
    CHECK_THROWS_WITH(optim::SGD(optim::SGDOptions{.lr = -1.0}), Catch::Contains("learning rate"));
  }
}

TEST_CASE("Adam, AMSGrad and AdamW", "[optim]") {
  Device dev = GENERATE(from_range(test_devices()));
  SECTION("adam") {
    Tensor p = make_param(dev);
    optim::Adam opt({p}, {.lr = 0.1});
    check_close(run(opt, p), {0.8002394255764056, -1.8001028880924188, 2.8000578650295287});
  }
  SECTION("amsgrad, three steps") {
    Tensor p = make_param();
    optim::Adam opt({p}, {.lr = 0.1, .amsgrad = true});
    check_close(run(opt, p, 3), {0.7009033612152168, -1.7003817664474083, 2.7002134365147064});
  }
  SECTION("adamw (default weight decay 0.004)") {
    Tensor p = make_param();
    optim::AdamOptions o = optim::AdamW::with_default_decay();
    o.lr = 0.1;
    optim::AdamW opt({p}, o);
    CHECK(opt.name() == "AdamW");
    check_close(run(opt, p), {0.7994808204097291, -1.79854416130401, 2.797699107692399});
  }
}

TEST_CASE("RMSprop and Adagrad", "[optim]") {
  SECTION("rmsprop") {
    Tensor p = make_param();
    optim::RMSprop opt({p}, {.lr = 0.01});
    check_close(run(opt, p), {0.9456686144384338, -1.9455511600496476, 2.9455047245664523});
  }
  SECTION("rmsprop centered with momentum") {
    Tensor p = make_param();
    optim::RMSprop opt({p}, {.lr = 0.01, .momentum = 0.5, .centered = true});
    check_close(run(opt, p), {0.9247828387931952, -1.9246448047468219, 2.9245903195534404});
  }
  SECTION("adagrad") {
    Tensor p = make_param();
    optim::Adagrad opt({p}, {.lr = 0.1});
    check_close(run(opt, p), {0.8346587367237961, -1.831240665995092, 2.830276387410954});
  }
}

TEST_CASE("gradient clipping", "[optim]") {
  SECTION("clipnorm in the optimizer leaves .grad() alone") {
    Tensor p = make_param();
    optim::SGD opt({p}, {.lr = 1.0, .clipnorm = 1.0});
    check_close(run(opt, p, 1), {0.7508635604387801, -1.5017271208775602, 2.1695452014626});
    check_close(p.grad().to_vector<double>(), {1.5, -3.0, 5.0});
  }
  SECTION("global_clipnorm over two tensors") {
    Tensor a = tensor({3.0}, Options(kFloat64)).requires_grad_();
    Tensor b = tensor({0.0}, Options(kFloat64)).requires_grad_();
    optim::SGD opt({a, b}, {.lr = 1.0, .global_clipnorm = 1.0});
    (a * 3.0 + b * 4.0).sum().backward();  // grads 3 and 4, global norm 5
    opt.step();
    CHECK(a.item<double>() == Approx(3.0 - 0.6));
    CHECK(b.item<double>() == Approx(-0.8));
  }
  SECTION("clipvalue") {
    Tensor p = make_param();
    optim::SGD opt({p}, {.lr = 1.0, .clipvalue = 1.0});
    check_close(run(opt, p, 1), {0.0, -1.0, 2.0});
  }
  SECTION("clip_grad_norm_ and clip_grad_value_ change .grad() in place") {
    Tensor p = make_param();
    compute_grad(p);
    double n = optim::clip_grad_norm_({p}, 1.0);
    CHECK(n == Approx(6.020797289396148));
    CHECK(optim::global_norm({p.grad()}) == Approx(1.0));
    p.zero_grad();
    compute_grad(p);
    optim::clip_grad_value_({p}, 2.0);
    check_close(p.grad().to_vector<double>(), {1.5, -2.0, 2.0});
  }
  SECTION("only one kind of clipping") {
    CHECK_THROWS_WITH(optim::SGD(optim::SGDOptions{.clipnorm = 1.0, .clipvalue = 1.0}), Catch::Contains("only one"));
  }
}

TEST_CASE("optimizer bookkeeping", "[optim]") {
  SECTION("parameters without a gradient are skipped") {
    Tensor p = make_param();
    Tensor q = tensor({5.0}, Options(kFloat64)).requires_grad_();
    optim::SGD opt({p, q}, {.lr = 0.1});
    run(opt, p, 1);
    CHECK(q.item<double>() == 5.0);
  }
  SECTION("lazy parameters and lr get/set") {
    optim::Adam opt;
    CHECK(opt.params().empty());
    Tensor p = make_param();
    opt.add_params({p});
    CHECK_THROWS_WITH(opt.add_params({p}), Catch::Contains("twice"));
    opt.set_lr(0.5);
    CHECK(opt.lr() == 0.5);
  }
  SECTION("names with Keras defaults; unknown names list the valid ones") {
    auto sgd = optim::make_optimizer("SGD");
    CHECK(sgd->name() == "SGD");
    CHECK(sgd->lr() == Approx(0.01));
    CHECK(optim::make_optimizer("adam")->lr() == Approx(0.001));
    CHECK(std::dynamic_pointer_cast<optim::AdamW>(optim::make_optimizer("adamw"))->common().weight_decay ==
          Approx(0.004));
    CHECK_THROWS_WITH(optim::make_optimizer("adamax"), Catch::Contains("unknown optimizer 'adamax'") &&
                                                           Catch::Contains("sgd, adam, adamw, rmsprop, adagrad"));
  }
}

TEST_CASE("optimizer state round trip", "[optim]") {
  // Two Adam steps, save, load into a fresh optimizer on a copy of p, one more step each.
  Tensor p = make_param();
  optim::Adam opt({p}, {.lr = 0.1, .amsgrad = true});
  run(opt, p, 2);
  optim::NamedTensors state = opt.state_dict();
  Tensor p2 = p.detach().clone().requires_grad_();
  optim::Adam opt2({p2}, {.lr = 0.7, .amsgrad = true});
  opt2.load_state_dict(state);
  CHECK(opt2.iterations() == 2);
  CHECK(opt2.lr() == Approx(0.1));
  run(opt, p, 1);
  run(opt2, p2, 1);
  check_close(p2.to_vector<double>(), {0.7009033612152168, -1.7003817664474083, 2.7002134365147064});
  check_close(p.to_vector<double>(), p2.to_vector<double>());

  SECTION("through a safetensors file") {
    std::string path = (std::filesystem::temp_directory_path() / "tapeflow_test_optim_state.safetensors").string();
    data::save_safetensors(path, opt2.state_dict());
    optim::Adam opt3({p2.detach().clone().requires_grad_()}, {.amsgrad = true});
    opt3.load_state_dict(data::load_safetensors(path));
    CHECK(opt3.iterations() == 3);
    CHECK(opt3.state_dict().size() == state.size());
    std::filesystem::remove(path);
  }
  SECTION("bad state is rejected before anything changes") {
    optim::NamedTensors bad = state;
    bad.back().second = zeros(Shape{4}, Options(kFloat64));
    CHECK_THROWS_WITH(opt2.load_state_dict(bad), Catch::Contains("shape (4,)"));
    optim::NamedTensors unknown = state;
    unknown.emplace_back("0.velocity", zeros(Shape{3}, Options(kFloat64)));
    CHECK_THROWS_WITH(opt2.load_state_dict(unknown), Catch::Contains("'0.velocity'") && Catch::Contains("m, v, vhat"));
    CHECK(opt2.iterations() == 3);
  }
}

TEST_CASE("learning-rate schedules", "[optim]") {
  optim::StepDecay step(0.1, 10, 0.5);
  CHECK(step(0) == Approx(0.1));
  CHECK(step(9) == Approx(0.1));
  CHECK(step(25) == Approx(0.025));
  optim::ExponentialDecay expo(0.1, 100, 0.96);
  CHECK(expo(250) == Approx(0.09029798987795908));
  optim::ExponentialDecay stairs(0.1, 100, 0.96, true);
  CHECK(stairs(250) == Approx(0.09216));
  optim::CosineDecay cosine(1.0, 100, 0.1);
  CHECK(cosine(0) == Approx(1.0));
  CHECK(cosine(50) == Approx(0.55));
  CHECK(cosine(100) == Approx(0.1));
  CHECK(cosine(200) == Approx(0.1));

  SECTION("a schedule attached to an optimizer is read every step") {
    Tensor p = make_param();
    optim::SGD opt({p}, {.lr = 123.0});
    opt.set_schedule(std::make_shared<optim::StepDecay>(0.1, 1, 0.5));
    // Step 1 uses lr 0.1, step 2 uses 0.05: p1 = p0 - 0.1 g0, p2 = p1 - 0.05 g1.
    run(opt, p, 2);
    // g0 = [1.5, -3, 5] -> p1 = [0.85, -1.7, 2.5]; g1 = [1.35, -2.7, 4.5] -> p2:
    check_close(p.to_vector<double>(), {0.85 - 0.0675, -1.7 + 0.135, 2.5 - 0.225});
  }
}

TEST_CASE("ReduceLROnPlateau", "[optim]") {
  Tensor p = make_param();
  optim::SGD opt({p}, {.lr = 1.0});
  optim::ReduceLROnPlateau plateau(opt, "min", 0.5, 2, 0.0, 2, 0.2);
  // Keras semantics: patience 2, then a cooldown of 2 calls (the first of which is spent
  // entirely in cooldown, the second resets the wait before counting again).
  CHECK_FALSE(plateau.step(1.0));
  CHECK_FALSE(plateau.step(0.9));
  CHECK_FALSE(plateau.step(0.95));  // wait 1
  CHECK(plateau.step(0.95));        // wait 2 -> 0.5
  CHECK(opt.lr() == Approx(0.5));
  CHECK_FALSE(plateau.step(0.95));  // cooldown
  CHECK_FALSE(plateau.step(0.95));  // cooldown ends, wait 1
  CHECK(plateau.step(0.95));        // -> 0.25
  CHECK(opt.lr() == Approx(0.25));
  CHECK_FALSE(plateau.step(0.95));
  CHECK_FALSE(plateau.step(0.95));
  CHECK(plateau.step(0.95));  // floored at min_lr
  CHECK(opt.lr() == Approx(0.2));
  CHECK_FALSE(plateau.step(0.95));
  CHECK_FALSE(plateau.step(0.95));
  CHECK_FALSE(plateau.step(0.95));  // already at min_lr
  CHECK_FALSE(plateau.step(0.5));   // an improvement
  CHECK(plateau.best() == 0.5);
  CHECK(opt.lr() == Approx(0.2));
}
