// Multi-output calls of the sequence layers, as Keras returns them: SimpleRNN / LSTM / GRU with
// return_state ([output, h] / [output, h, c]), Bidirectional with return_state ([output,
// forward states..., backward states...]) and initial states, MultiHeadAttention with
// return_attention_scores ([output, scores]). Checked against hand relations (the last step of
// the sequences is h), a float64 LSTM loop written from PyTorch's equations, a float64
// attention loop over the layer's own weights, and gradchecks.
#include <catch2/catch.hpp>

#include <cmath>

#include "autograd/autograd.h"
#include "helpers.h"
#include "nn/nn.h"
#include "tensor/creation.h"
#include "tensor/ops.h"

using namespace tapeflow;
using nn::NamedTensors;

namespace {
using tftest::seqt;
double sigm(double v) { return 1.0 / (1.0 + std::exp(-v)); }

// PyTorch's LSTM (gates i, f, g, o) over x (N, T, F), in time order or reversed; returns
// {h, c} (N, U) after the last step read.
std::pair<std::vector<double>, std::vector<double>> lstm_loop(const std::vector<double>& x, int64_t N, int64_t T,
                                                               int64_t F, const NamedTensors& w, int64_t U,
                                                               bool reverse, std::vector<double> h,
                                                               std::vector<double> c) {
  auto get = [&](const std::string& name) {
    for (auto& [k, t] : w)
      if (k == name) return t.to_vector<double>();
    FAIL("no " << name);
    return std::vector<double>();
  };
  std::vector<double> wih = get("weight_ih"), whh = get("weight_hh"), bih = get("bias_ih"), bhh = get("bias_hh");
  for (int64_t step = 0; step < T; ++step) {
    int64_t t = reverse ? T - 1 - step : step;
    std::vector<double> hn(h.size()), cn(c.size());
    for (int64_t n = 0; n < N; ++n)
      for (int64_t u = 0; u < U; ++u) {
        double g[4];
        for (int k = 0; k < 4; ++k) {
          int64_t row = k * U + u;
          double s = bih[row] + bhh[row];
          for (int64_t f = 0; f < F; ++f) s += wih[row * F + f] * x[(n * T + t) * F + f];
          for (int64_t j = 0; j < U; ++j) s += whh[row * U + j] * h[n * U + j];
          g[k] = s;
        }
        double cc = sigm(g[1]) * c[n * U + u] + sigm(g[0]) * std::tanh(g[2]);
        cn[n * U + u] = cc;
        hn[n * U + u] = sigm(g[3]) * std::tanh(cc);
      }
    h = hn;
    c = cn;
  }
  return {h, c};
}
NamedTensors rnn_weights(int g, int64_t u, int64_t f, double o) {
  return {{"weight_ih", seqt({g * u, f}, 0.53 + o, 0.2, 0.5)},
          {"weight_hh", seqt({g * u, u}, 0.71 + o, 0.3, 0.5)},
          {"bias_ih", seqt({g * u}, 0.29 + o, 0.4, 0.3)},
          {"bias_hh", seqt({g * u}, 0.41 + o, 0.5, 0.3)}};
}
bool same(const Tensor& a, const Tensor& b, double tol = 1e-12) {
  return a.shape() == b.shape() && tftest::approx_vec(a, b.to_vector<double>(), tol);
}
}  // namespace

TEST_CASE("recurrent layers with return_state: [output, h] / [output, h, c]", "[layers][rnn][state]") {
  Tensor x = seqt({2, 4, 3}, 0.37, 0.1);
  nn::LSTM lstm(5, nn::RNNOptions().return_sequences(true).return_state(true));
  lstm.to(kFloat64);
  lstm(x);
  lstm.load_state_dict(rnn_weights(4, 5, 3, 0.0));
  nn::ModuleOutput o = lstm(x);
  REQUIRE(o.size() == 3);
  CHECK(o[0].shape() == Shape({2, 4, 5}));
  CHECK(same(o[0].select(1, 3), o[1]));  // the last step of the sequences is the returned h
  auto [h, c] = lstm_loop(x.to_vector<double>(), 2, 4, 3, rnn_weights(4, 5, 3, 0.0), 5, false,
                          std::vector<double>(10, 0.0), std::vector<double>(10, 0.0));
  CHECK(tftest::approx_vec(o[1], h, 1e-12));
  CHECK(tftest::approx_vec(o[2], c, 1e-12));
  // Without return_sequences the output is h itself.
  nn::LSTM last(5, nn::RNNOptions().return_state(true));
  last.to(kFloat64);
  last(x);
  last.load_state_dict(rnn_weights(4, 5, 3, 0.0));
  nn::ModuleOutput l = last(x);
  REQUIRE(l.size() == 3);
  CHECK(same(l[0], l[1]));
  CHECK(same(l[2], o[2]));
  // GRU and SimpleRNN: [output, h].
  nn::GRU gru(3, nn::RNNOptions().return_sequences(true).return_state(true));
  nn::SimpleRNN rnn(3, nn::RNNOptions().return_state(true));
  nn::ModuleOutput g = gru(x), r = rnn(x);
  REQUIRE(g.size() == 2);
  REQUIRE(r.size() == 2);
  CHECK(same(g[0].select(1, 3), g[1], 0));
  CHECK(same(r[0], r[1], 0));
}

TEST_CASE("Bidirectional with return_state and initial states (Keras's order)", "[layers][rnn][state]") {
  const int64_t U = 3, F = 4, N = 2, T = 5;
  Tensor x = seqt({N, T, F}, 0.41, 0.2);
  nn::Bidirectional bi(std::make_shared<nn::LSTM>(U, nn::RNNOptions().return_sequences(true).return_state(true)));
  bi.to(kFloat64);
  bi.build(Shape{T, F});
  NamedTensors st;
  for (auto& [k, t] : rnn_weights(4, U, F, 0.0)) st.push_back({"forward_layer." + k, t});
  for (auto& [k, t] : rnn_weights(4, U, F, 0.07)) st.push_back({"backward_layer." + k, t});
  bi.load_state_dict(st);
  nn::ModuleOutput o = bi(x);
  REQUIRE(o.size() == 5);  // output, forward h, c, backward h, c
  CHECK(o[0].shape() == Shape({N, T, 2 * U}));
  for (size_t i = 1; i < 5; ++i) CHECK(o[i].shape() == Shape({N, U}));
  // Forward h is the forward half at the last step; backward h the backward half at step 0
  // (the backward sequence is put back in time order).
  CHECK(same(o[0].select(1, T - 1).narrow(1, 0, U), o[1]));
  CHECK(same(o[0].select(1, 0).narrow(1, U, U), o[3]));
  // Each direction against the float64 loop: the backward states are a reverse LSTM's run alone.
  std::vector<double> z(N * U, 0.0);
  auto [fh, fc] = lstm_loop(x.to_vector<double>(), N, T, F, rnn_weights(4, U, F, 0.0), U, false, z, z);
  auto [bh, bc] = lstm_loop(x.to_vector<double>(), N, T, F, rnn_weights(4, U, F, 0.07), U, true, z, z);
  CHECK(tftest::approx_vec(o[1], fh, 1e-12));
  CHECK(tftest::approx_vec(o[2], fc, 1e-12));
  CHECK(tftest::approx_vec(o[3], bh, 1e-12));
  CHECK(tftest::approx_vec(o[4], bc, 1e-12));
  // ... and a go_backwards LSTM layer with the backward weights, run alone.
  nn::LSTM rev(U, nn::RNNOptions().return_state(true).go_backwards(true));
  rev.to(kFloat64);
  rev(x);
  rev.load_state_dict(rnn_weights(4, U, F, 0.07));
  nn::ModuleOutput ro = rev(x);
  CHECK(same(ro[1], o[3]));
  CHECK(same(ro[2], o[4]));
  // Initial states: forward (h, c) then backward (h, c).
  Tensor fh0 = seqt({N, U}, 0.3, 0.1, 0.5), fc0 = seqt({N, U}, 0.5, 0.2, 0.5);
  Tensor bh0 = seqt({N, U}, 0.7, 0.3, 0.5), bc0 = seqt({N, U}, 0.9, 0.4, 0.5);
  nn::ModuleOutput oi = bi(x, fh0, fc0, bh0, bc0);
  auto [fh1, fc1] = lstm_loop(x.to_vector<double>(), N, T, F, rnn_weights(4, U, F, 0.0), U, false,
                              fh0.to_vector<double>(), fc0.to_vector<double>());
  auto [bh1, bc1] = lstm_loop(x.to_vector<double>(), N, T, F, rnn_weights(4, U, F, 0.07), U, true,
                              bh0.to_vector<double>(), bc0.to_vector<double>());
  CHECK(tftest::approx_vec(oi[1], fh1, 1e-12));
  CHECK(tftest::approx_vec(oi[2], fc1, 1e-12));
  CHECK(tftest::approx_vec(oi[3], bh1, 1e-12));
  CHECK(tftest::approx_vec(oi[4], bc1, 1e-12));
  // Gradcheck through the initial states and all five outputs.
  auto r = autograd::gradcheck(
      [&](const std::vector<Tensor>& in) {
        nn::ModuleOutput m = bi(in[0], in[1], in[2], in[3], in[4]);
        return concat({m[0].reshape({N, -1}), m[1], m[2], m[3], m[4]}, 1);
      },
      {x.narrow(1, 0, 2).contiguous(), fh0, fc0, bh0, bc0});
  INFO(r.message);
  CHECK(r.ok);
  // GRU: [output, forward h, backward h]; states (fh, bh).
  nn::Bidirectional bg(std::make_shared<nn::GRU>(U, nn::RNNOptions().return_state(true)));
  nn::ModuleOutput go = bg(x.astype(kFloat32));
  REQUIRE(go.size() == 3);
  CHECK(same(go[0], concat({go[1], go[2]}, 1), 0));
  // Bad states name the layer and leave it unbuilt.
  nn::Bidirectional bad(std::make_shared<nn::LSTM>(U, nn::RNNOptions().return_state(true)));
  CHECK_THROWS_WITH(bad(x, fh0), Catch::Contains("Bidirectional(LSTM): expected 4 initial states") &&
                                     Catch::Contains("got 1"));
  CHECK_THROWS_WITH(bad(x, fh0, fc0, bh0, zeros({N, U + 1})),
                    Catch::Contains("Bidirectional(LSTM): initial state of shape (2, 4), expected (2, 3)"));
  CHECK_FALSE(bad.built());
  CHECK(bad.count_params() == 0);
}

TEST_CASE("MultiHeadAttention with return_attention_scores", "[layers][attention][state]") {
  const int64_t N = 2, L = 3, S = 4, E = 5, H = 2, D = 3;
  Tensor q = seqt({N, L, E}, 0.37, 0.1), v = seqt({N, S, E}, 0.53, 0.4);
  for (int variant = 0; variant < 3; ++variant) {  // no mask, causal, a boolean mask with a fully masked row
    INFO("variant " << variant);
    nn::MultiHeadAttention mha(H, D, nn::AttentionOptions().use_causal_mask(variant == 1));
    mha.to(kFloat64);
    Tensor mask;
    if (variant == 2) {
      std::vector<double> m(N * L * S, 1.0);
      m[0] = m[5] = 0.0;                                 // (0, 0, 0), (0, 1, 1) blocked
      for (int64_t j = 0; j < S; ++j) m[(1 * L + 2) * S + j] = 0.0;  // batch 1, query 2: every key blocked
      mask = from_vector(m, Shape{N, L, S}).astype(kBool);
    }
    nn::ModuleOutput o = mha.forward(q, v, Tensor(), mask, true);
    REQUIRE(o.size() == 2);
    Tensor y = o[0], sc = o[1];
    CHECK(y.shape() == Shape({N, L, E}));
    CHECK(sc.shape() == Shape({N, H, L, S}));
    CHECK(same(y, mha.forward(q, v, Tensor(), mask), 1e-12));  // the same output as the fused path
    // The scores from a float64 loop over the layer's own projections.
    NamedTensors w = mha.state_dict();
    auto get = [&](const std::string& name) {
      for (auto& [k, t] : w)
        if (k == name) return t.to_vector<double>();
      FAIL("no " << name);
      return std::vector<double>();
    };
    std::vector<double> wq = get("query.kernel"), bq = get("query.bias"), wk = get("key.kernel"), bk = get("key.bias");
    std::vector<double> qv = q.to_vector<double>(), vv = v.to_vector<double>(), mv;
    if (mask.defined()) mv = mask.astype(kFloat64).to_vector<double>();
    std::vector<double> got = sc.to_vector<double>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t i = 0; i < L; ++i) {
          std::vector<double> s(S);
          std::vector<bool> ok(S, true);
          double mx = -1e300;
          for (int64_t j = 0; j < S; ++j) {
            double dot = 0;
            for (int64_t d = 0; d < D; ++d) {
              int64_t col = h * D + d;
              double a = bq[col], b = bk[col];
              for (int64_t e = 0; e < E; ++e) {
                a += qv[(n * L + i) * E + e] * wq[e * H * D + col];
                b += vv[(n * S + j) * E + e] * wk[e * H * D + col];
              }
              dot += a * b;
            }
            s[j] = dot / std::sqrt(double(D));
            if (variant == 1 && j > i) ok[j] = false;
            if (variant == 2 && mv[(n * L + i) * S + j] == 0.0) ok[j] = false;
            if (ok[j]) mx = std::max(mx, s[j]);
          }
          double tot = 0;
          for (int64_t j = 0; j < S; ++j) tot += ok[j] ? std::exp(s[j] - mx) : 0.0;
          for (int64_t j = 0; j < S; ++j) {
            double want = ok[j] ? std::exp(s[j] - mx) / tot : 0.0;
            CHECK(got[((n * H + h) * L + i) * S + j] == Approx(want).margin(1e-12));
          }
        }
    auto r = autograd::gradcheck(
        [&](const std::vector<Tensor>& in) {
          nn::ModuleOutput m = mha.forward(in[0], in[1], Tensor(), mask, true);
          return concat({m[0].reshape({N, -1}), m[1].reshape({N, -1})}, 1);
        },
        {q, v});
    INFO(r.message);
    CHECK(r.ok);
  }
  // A mask of the wrong shape names the layer and the shapes, and builds nothing.
  nn::MultiHeadAttention fresh(H, D);
  CHECK_THROWS_WITH(fresh.forward(q, v, Tensor(), ones({L, L}).astype(kBool)),
                    Catch::Contains("MultiHeadAttention: mask of shape (3, 3) must be (3, 4) or (2, 3, 4)"));
  CHECK(fresh.count_params() == 0);
}
