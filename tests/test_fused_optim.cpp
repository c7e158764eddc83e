// Fused optimizer updates (backends/backend.h OptimizerStep, optim/fused.cpp) against float64
// loops written here from the update rules of optim/sgd.h and optim/adaptive.h, and against the
// unfused tensor formulas (set_fused(false)), over three steps, for a small parameter (inline)
// and one large enough to be split over the pool.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <memory>

#include "autograd/grad_mode.h"
#include "autograd/autograd.h"
#include "autograd/dense.h"
#include "backends/cpu/vec_math.h"
#include "nn/layers.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "tensor/internal.h"

using namespace tapeflow;

namespace {

constexpr int kSteps = 3;
double grad_value(int64_t i, int k) { return std::sin(0.37 * double(i) + k) * (k == 0 ? 2.0 : 0.5) + 0.05 * k; }
double init_value(int64_t i) { return std::cos(0.11 * double(i)); }

struct Ref {  // the float64 reference of one optimizer configuration
  enum Kind { SGD, Adam, RMSprop, Adagrad } kind;
  double lr = 0.01, wd = 0, momentum = 0;
  bool nesterov = false, amsgrad = false, centered = false;
  double b1 = 0.9, b2 = 0.999, rho = 0.9, eps = 1e-7, acc0 = 0.1;

  std::vector<double> run(int64_t n) const {
    std::vector<double> p(n), s0(n, kind == Adagrad ? acc0 : 0.0), s1(n), s2(n);
    for (int64_t i = 0; i < n; ++i) p[i] = init_value(i);
    for (int k = 0; k < kSteps; ++k) {
      double t = k + 1;
      for (int64_t i = 0; i < n; ++i) {
        double g = grad_value(i, k);
        p[i] -= p[i] * wd * lr;
        switch (kind) {
          case SGD:
            if (momentum == 0) { p[i] -= lr * g; break; }
            s0[i] = momentum * s0[i] - lr * g;
            p[i] += nesterov ? momentum * s0[i] - lr * g : s0[i];
            break;
          case Adam: {
            s0[i] = b1 * s0[i] + (1 - b1) * g;
            s1[i] = b2 * s1[i] + (1 - b2) * g * g;
            double v = s1[i];
            if (amsgrad) v = s2[i] = std::max(s2[i], s1[i]);
            double alpha = lr * std::sqrt(1 - std::pow(b2, t)) / (1 - std::pow(b1, t));
            p[i] -= alpha * s0[i] / (std::sqrt(v) + eps);
            break;
          }
          case RMSprop: {
            s0[i] = rho * s0[i] + (1 - rho) * g * g;
            double den = s0[i] + eps;
            if (centered) {
              s1[i] = rho * s1[i] + (1 - rho) * g;
              den = s0[i] - s1[i] * s1[i] + eps;
            }
            double inc = lr * g / std::sqrt(den);
            if (momentum > 0) {
              s2[i] = momentum * s2[i] + inc;
              inc = s2[i];
            }
            p[i] -= inc;
            break;
          }
          case Adagrad:
            s0[i] += g * g;
            p[i] -= lr * g / std::sqrt(s0[i] + eps);
            break;
        }
      }
    }
    return p;
  }
};

using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

std::vector<double> run_tapeflow(const Factory& make, int64_t n, DType dt, bool fused) {
  std::vector<double> init(n);
  for (int64_t i = 0; i < n; ++i) init[i] = init_value(i);
  Tensor p = from_vector(init, Shape{n}).astype(dt).requires_grad_();
  auto opt = make({p});
  opt->set_fused(fused);
  for (int k = 0; k < kSteps; ++k) {
    std::vector<double> g(n);
    for (int64_t i = 0; i < n; ++i) g[i] = grad_value(i, k);
    p.set_grad(from_vector(g, Shape{n}).astype(dt));
    opt->step();
  }
  return p.detach().astype(kFloat64).to_vector<double>();
}

void check(const Ref& ref, const Factory& make) {
  for (int64_t n : {int64_t(37), int64_t(100003)}) {
    std::vector<double> want = ref.run(n);
    std::vector<double> f64 = run_tapeflow(make, n, kFloat64, true);
    std::vector<double> f32 = run_tapeflow(make, n, kFloat32, true);
    std::vector<double> f32_unfused = run_tapeflow(make, n, kFloat32, false);
    int bad64 = 0, bad32 = 0, bad_unfused = 0;
    for (int64_t i = 0; i < n; ++i) {
      bad64 += std::abs(f64[i] - want[i]) > 1e-12 * (1 + std::abs(want[i]));
      bad32 += std::abs(f32[i] - want[i]) > 2e-5 * (1 + std::abs(want[i]));
      bad_unfused += std::abs(f32[i] - f32_unfused[i]) > 2e-6 * (1 + std::abs(want[i]));
    }
    INFO("n = " << n << " first: want " << want[0] << " f64 " << f64[0] << " f32 " << f32[0] << " unfused "
                << f32_unfused[0]);
    CHECK(bad64 == 0);
    CHECK(bad32 == 0);
    CHECK(bad_unfused == 0);
  }
}

}  // namespace

TEST_CASE("fused SGD: plain, momentum, nesterov, weight decay", "[optim][fused]") {
  for (double wd : {0.0, 0.05})
    for (int variant = 0; variant < 3; ++variant) {
      Ref r{Ref::SGD};
      r.wd = wd;
      r.momentum = variant == 0 ? 0.0 : 0.9;
      r.nesterov = variant == 2;
      check(r, [&](std::vector<Tensor> ps) {
        return std::make_unique<optim::SGD>(ps, optim::SGDOptions{.lr = r.lr, .momentum = r.momentum,
                                                                  .nesterov = r.nesterov, .weight_decay = wd});
      });
    }
}

TEST_CASE("fused Adam / AdamW with amsgrad", "[optim][fused]") {
  for (double wd : {0.0, 0.004})
    for (bool ams : {false, true}) {
      Ref r{Ref::Adam};
      r.wd = wd;
      r.amsgrad = ams;
      check(r, [&](std::vector<Tensor> ps) -> std::unique_ptr<optim::Optimizer> {
        optim::AdamOptions o{.lr = r.lr, .amsgrad = ams, .weight_decay = wd};
        if (wd > 0) return std::make_unique<optim::AdamW>(ps, o);
        return std::make_unique<optim::Adam>(ps, o);
      });
    }
}

TEST_CASE("fused RMSprop: centered, momentum, weight decay", "[optim][fused]") {
  for (bool centered : {false, true})
    for (double mom : {0.0, 0.8}) {
      Ref r{Ref::RMSprop};
      r.centered = centered;
      r.momentum = mom;
      r.wd = centered ? 0.01 : 0.0;
      check(r, [&](std::vector<Tensor> ps) {
        return std::make_unique<optim::RMSprop>(
            ps, optim::RMSpropOptions{.lr = r.lr, .momentum = mom, .centered = centered, .weight_decay = r.wd});
      });
    }
}

TEST_CASE("fused Adagrad", "[optim][fused]") {
  Ref r{Ref::Adagrad};
  r.wd = 0.02;
  check(r, [&](std::vector<Tensor> ps) {
    return std::make_unique<optim::Adagrad>(ps, optim::AdagradOptions{.lr = r.lr, .weight_decay = r.wd});
  });
}

TEST_CASE("fused updates equal the unfused ones on the clipping paths", "[optim][fused]") {
  Tensor a0 = randn({300, 257}), b0 = randn({513});
  for (int clip = 0; clip < 3; ++clip) {
    optim::CommonOptions c;
    (clip == 0 ? c.clipnorm : clip == 1 ? c.global_clipnorm : c.clipvalue) = 0.5;
    std::vector<double> got[2];
    for (int fused = 0; fused < 2; ++fused) {
      Tensor a = a0.clone().requires_grad_(), b = b0.clone().requires_grad_();
      optim::Adam adam({a}, {.lr = 0.01, .amsgrad = true, .weight_decay = 0.01});
      optim::SGD sgd({b}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
      adam.set_common({.weight_decay = 0.01, .clipnorm = c.clipnorm, .global_clipnorm = c.global_clipnorm,
                       .clipvalue = c.clipvalue});
      sgd.set_common(c);
      adam.set_fused(fused);
      sgd.set_fused(fused);
      for (int k = 0; k < 3; ++k) {
        a.set_grad(sin(a0 * (k + 1.0)) * 3.0);
        b.set_grad(cos(b0 * (k + 1.0)) * 3.0);
        adam.step();
        sgd.step();
      }
      got[fused] = concat({a.detach().reshape({-1}), b.detach()}).astype(kFloat64).to_vector<double>();
    }
    int bad = 0;
    for (size_t i = 0; i < got[0].size(); ++i) bad += std::abs(got[0][i] - got[1][i]) > 2e-6 * (1 + std::abs(got[0][i]));
    INFO("clip mode " << clip);
    CHECK(bad == 0);
  }
}

TEST_CASE("Dense: in-place activation when not recording equals the recorded forward", "[fused][layers]") {
  for (const char* act : {"tanh", "relu", "sigmoid"}) {
    manual_seed(5);
    nn::Dense d(33, act, true, "glorot_uniform", "zeros", 20);
    Tensor x = randn({70, 20}) * 2.0;
    Tensor recorded = d(x);
    Tensor inference;
    {
      NoGradGuard no_grad;
      inference = d(x);
    }
    // float64 reference from the layer's weights
    std::vector<double> xv = x.astype(kFloat64).to_vector<double>();
    std::vector<double> wv = d.parameters()[0].detach().astype(kFloat64).to_vector<double>();
    std::vector<double> bv = d.parameters()[1].detach().astype(kFloat64).to_vector<double>();
    std::vector<double> got = inference.astype(kFloat64).to_vector<double>();
    std::vector<double> rec = recorded.detach().astype(kFloat64).to_vector<double>();
    int bad = 0;
    for (int i = 0; i < 70; ++i)
      for (int j = 0; j < 33; ++j) {
        double z = bv[j];
        for (int k = 0; k < 20; ++k) z += xv[i * 20 + k] * wv[k * 33 + j];
        double want = std::string(act) == "tanh" ? std::tanh(z) : std::string(act) == "relu" ? std::max(z, 0.0)
                                                                                         : 1 / (1 + std::exp(-z));
        bad += std::abs(got[i * 33 + j] - want) > 1e-5;
        bad += got[i * 33 + j] != rec[i * 33 + j];
      }
    INFO(act);
    CHECK(bad == 0);
    CHECK(recorded.requires_grad());
    CHECK_FALSE(inference.requires_grad());
  }
}

TEST_CASE("fused dense + activation: gradcheck and the unfused composition", "[fused][gradcheck]") {
  using backend::UnaryOp;
  for (UnaryOp op : {UnaryOp::Tanh, UnaryOp::Sigmoid, UnaryOp::Relu}) {
    manual_seed(11);
    Tensor x = randn({6, 5}, Options(kFloat64)), w = randn({5, 4}, Options(kFloat64)), b = randn({4}, Options(kFloat64));
    auto res = autograd::gradcheck(
        [op](const std::vector<Tensor>& in) { return detail::dense_activation(in[2], in[0], in[1], op); }, {x, w, b});
    INFO(res.message);
    CHECK(res.ok);
    // float32 values and gradients against addmm followed by the activation
    Tensor xf = randn({33, 17}).requires_grad_(), wf = randn({17, 9}).requires_grad_(), bf = randn({9}).requires_grad_();
    Tensor gy = randn({33, 9});
    Tensor fused = detail::dense_activation(bf, xf, wf, op);
    REQUIRE(fused.defined());
    tapeflow::backward({fused}, {gy});
    std::vector<Tensor> g1 = {xf.grad().clone(), wf.grad().clone(), bf.grad().clone()};
    for (Tensor* t : {&xf, &wf, &bf}) t->zero_grad(true);
    Tensor z = addmm(bf, xf, wf);
    Tensor unfused = op == UnaryOp::Tanh ? tanh(z) : op == UnaryOp::Sigmoid ? sigmoid(z) : relu(z);
    tapeflow::backward({unfused}, {gy});
    std::vector<Tensor> g2 = {xf.grad(), wf.grad(), bf.grad()};
    CHECK(max(abs(fused - unfused)).item<double>() == 0.0);
    for (int i = 0; i < 3; ++i) CHECK(max(abs(g1[i] - g2[i])).item<double>() < 1e-4);
  }
  // conditions not met: nothing done, undefined result
  CHECK_FALSE(detail::dense_activation(ones({3}), ones({2, 3}), ones({3, 3}), UnaryOp::Exp).defined());
  CHECK_FALSE(detail::dense_activation(ones({3}), ones({2, 3}, Options(kFloat64)), ones({3, 3}), UnaryOp::Tanh).defined());
}

TEST_CASE("fused float32 Adam equals its scalar formula bit for bit (vector body and tail)", "[optim][fused]") {
  using backend::cpu::VecIsa;
  const VecIsa saved = backend::cpu::vec_math_isa();
  for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2, VecIsa::Scalar})
  for (double wd : {0.0, 0.004}) {
    INFO("isa " << backend::cpu::vec_isa_name(backend::cpu::vec_math_set_isa(isa)) << " wd " << wd);
    const int64_t n = 1003;  // 62 vectors of 16 and a tail of 11; 125 of 8 and a tail of 3
    std::vector<float> p(n), g(n), m(n), v(n);
    for (int64_t i = 0; i < n; ++i) {
      p[i] = float(std::sin(0.1 * double(i)));
      g[i] = float(std::cos(0.37 * double(i)) * 3.0);
      m[i] = float(0.01 * std::sin(double(i)));
      v[i] = float(0.02 * (1.0 + std::cos(double(i))));
    }
    backend::OptimizerStep s;
    s.kind = backend::OptimizerStep::Kind::Adam;
    s.lr = 0.001;
    s.weight_decay = wd;
    s.alpha = 0.0123;
    s.eps = 1e-7;
    std::vector<float> want_p = p, want_m = m, want_v = v;
    const float b1 = float(s.beta1), ob1 = float(1.0 - s.beta1), b2 = float(s.beta2), ob2 = float(1.0 - s.beta2);
    const float fwd = float(wd), alpha = float(s.alpha), eps = float(s.eps);
    for (int64_t i = 0; i < n; ++i) {  // the operation order of backends/cpu/optimizer.cpp
      volatile float x = want_p[i];
      if (wd != 0) x = x - x * fwd;
      volatile float mm = want_m[i] * b1;
      mm = mm + g[i] * ob1;
      volatile float gg = g[i] * g[i];
      volatile float vv = want_v[i] * b2;
      vv = vv + gg * ob2;
      want_m[i] = mm;
      want_v[i] = vv;
      volatile float num = mm * alpha, den = std::sqrt(float(vv)) + eps;
      want_p[i] = x - num / den;
    }
    Tensor tp = from_vector(p, Shape{n}), tg = from_vector(g, Shape{n});
    Tensor tm = from_vector(m, Shape{n}), tv = from_vector(v, Shape{n});
    backend::View st[2] = {tapeflow::detail::view_of(tm), tapeflow::detail::view_of(tv)};
    REQUIRE(tapeflow::detail::backend_of(tp).optimizer_step(s, tapeflow::detail::view_of(tp),
                                                             tapeflow::detail::view_of(tg), st, 2));
    CHECK(tp.to_vector<float>() == want_p);
    CHECK(tm.to_vector<float>() == want_m);
    CHECK(tv.to_vector<float>() == want_v);
  }
  backend::cpu::vec_math_set_isa(saved);
}

TEST_CASE("fused float32 optimizers: the AVX-512 and AVX2 loops equal the scalar loop bit for bit", "[optim][fused]") {
  using backend::cpu::VecIsa;
  using K = backend::OptimizerStep::Kind;
  struct Config {
    K kind;
    double momentum;
    bool nesterov, amsgrad, centered;
  };
  const Config configs[] = {{K::SGD, 0, false, false, false},    {K::SGD, 0.9, false, false, false},
                            {K::SGD, 0.9, true, false, false},   {K::Adam, 0, false, false, false},
                            {K::Adam, 0, false, true, false},    {K::RMSprop, 0, false, false, false},
                            {K::RMSprop, 0.9, false, false, false}, {K::RMSprop, 0, false, false, true},
                            {K::RMSprop, 0.9, false, false, true},  {K::Adagrad, 0, false, false, false}};
  const int64_t n = 1003;  // 62 vectors of 16 and 11 more; 125 of 8 and 3 more
  const VecIsa saved = backend::cpu::vec_math_isa();
  for (const Config& c : configs)
    for (double wd : {0.0, 0.004}) {
      backend::OptimizerStep s;
      s.kind = c.kind;
      s.lr = 0.01;
      s.weight_decay = wd;
      s.momentum = c.momentum;
      s.nesterov = c.nesterov;
      s.amsgrad = c.amsgrad;
      s.centered = c.centered;
      s.alpha = 0.0123;
      s.eps = 1e-7;
      const int nstate = c.kind == K::SGD ? (c.momentum == 0 ? 0 : 1)
                         : c.kind == K::Adam ? (c.amsgrad ? 3 : 2)
                         : c.kind == K::RMSprop ? 1 + int(c.centered) + int(c.momentum > 0)
                                                : 1;
      auto run = [&](VecIsa isa) {  // two steps from the same start; every buffer's bits
        backend::cpu::vec_math_set_isa(isa);
        std::vector<std::vector<float>> bufs(2 + nstate, std::vector<float>(n));
        for (int64_t i = 0; i < n; ++i) {
          bufs[0][i] = float(std::sin(0.1 * double(i)));
          bufs[1][i] = float(std::cos(0.37 * double(i)) * 3.0);
          for (int k = 0; k < nstate; ++k)  // positive second moments; running means below them
            bufs[2 + k][i] = k == 0 && c.kind != K::SGD ? float(0.5 + 0.2 * std::cos(double(i)))
                                                        : float(0.01 * std::sin(double(i + k)));
        }
        std::vector<Tensor> ts;
        for (auto& b : bufs) ts.push_back(from_vector(b, Shape{n}));
        std::vector<backend::View> st;
        for (int k = 0; k < nstate; ++k) st.push_back(tapeflow::detail::view_of(ts[2 + k]));
        for (int step = 0; step < 2; ++step)
          REQUIRE(tapeflow::detail::backend_of(ts[0]).optimizer_step(
              s, tapeflow::detail::view_of(ts[0]), tapeflow::detail::view_of(ts[1]), st.data(), nstate));
        std::vector<uint32_t> bits;
        for (auto& t : ts)
          for (float f : t.to_vector<float>()) {
            uint32_t u;
            std::memcpy(&u, &f, 4);
            bits.push_back(u);
          }
        return bits;
      };
      const std::vector<uint32_t> want = run(VecIsa::Scalar);
      for (VecIsa isa : {VecIsa::Avx512, VecIsa::Avx2}) {
        const std::vector<uint32_t> got = run(isa);
        INFO("kind " << int(c.kind) << " momentum " << c.momentum << " nesterov " << c.nesterov << " amsgrad "
                     << c.amsgrad << " centered " << c.centered << " wd " << wd << " isa " << int(isa));
        CHECK(got == want);
      }
    }
  backend::cpu::vec_math_set_isa(saved);
}
