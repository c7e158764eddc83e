// lstm_cell, gru_cell and simple_rnn_cell against PyTorch's torch.lstm_cell / gru_cell /
// rnn_tanh_cell (tests/nn_refs.h), unbatched input, zero initial state, gradchecks, errors.
#include <catch2/catch.hpp>

#include "nn_test_util.h"

namespace tf = tapeflow;
using tf::Tensor;
using namespace nntest;
using Catch::Matchers::Contains;

TEST_CASE("recurrent cells match PyTorch", "[rnn_ops]") {
  check_ref(kRef_lstm_cell, {{3, 5}, {3, 4}, {3, 4}, {16, 5}, {16, 4}, {16}, {16}}, [](V a) {
    auto [h, c] = tf::lstm_cell(a[0], {a[1], a[2]}, a[3], a[4], a[5], a[6]);
    return tf::concat({h, c}, 1);
  });
  check_ref(kRef_lstm_cell_nobias_batch1, {{1, 2}, {1, 3}, {1, 3}, {12, 2}, {12, 3}}, [](V a) {
    auto [h, c] = tf::lstm_cell(a[0], {a[1], a[2]}, a[3], a[4]);
    return tf::concat({h, c}, 1);
  });
  check_ref(kRef_gru_cell, {{3, 5}, {3, 4}, {12, 5}, {12, 4}, {12}, {12}},
            [](V a) { return tf::gru_cell(a[0], a[1], a[2], a[3], a[4], a[5]); });
  check_ref(kRef_rnn_tanh_cell, {{2, 3}, {2, 4}, {4, 3}, {4, 4}, {4}, {4}},
            [](V a) { return tf::simple_rnn_cell(a[0], a[1], a[2], a[3], a[4], a[5]); });
}

TEST_CASE("recurrent cells: unbatched input, zero state, gradcheck", "[rnn_ops]") {
  Tensor x = rnd({3}, 1), wi = rnd({8, 3}, 2), wh = rnd({8, 2}, 3), b = rnd({8}, 4);
  auto [h, c] = tf::lstm_cell(x, {Tensor(), Tensor()}, wi, wh, b, b);
  CHECK(h.shape() == tf::Shape{2});
  auto [h2, c2] = tf::lstm_cell(x.unsqueeze(0), {tf::zeros({1, 2}, tf::kFloat64), tf::zeros({1, 2}, tf::kFloat64)}, wi, wh, b, b);
  CHECK(tf::max(tf::abs(h - h2.squeeze(0))).item<double>() == 0);
  CHECK(tf::max(tf::abs(c - c2.squeeze(0))).item<double>() == 0);
  convtest::Fn lstm = [](V a) { auto r = tf::lstm_cell(a[0], {a[1], a[2]}, a[3], a[4], a[5]); return r.first * r.second; };
  std::vector<Tensor> li{rnd({2, 3}, 1), rnd({2, 2}, 2), rnd({2, 2}, 3), rnd({8, 3}, 4), rnd({8, 2}, 5), rnd({8}, 6)};
  gradcheck(lstm, li);
  gradcheck(grad_of(lstm, 9), li);  // the fused gate kernel's backward, differentiated again
  gradcheck([](V a) { return tf::gru_cell(a[0], a[1], a[2], a[3], a[4], a[5]); },
            {rnd({2, 3}, 1), rnd({2, 2}, 2), rnd({6, 3}, 4), rnd({6, 2}, 5), rnd({6}, 6), rnd({6}, 7)});
  gradcheck([](V a) { return tf::simple_rnn_cell(a[0], a[1], a[2], a[3]); },
            {rnd({2, 3}, 1), rnd({2, 2}, 2), rnd({2, 3}, 4), rnd({2, 2}, 5)});
}

TEST_CASE("recurrent cells reject wrong ranks and shapes", "[rnn_ops]") {
  Tensor wi = tf::ones({8, 3}), wh = tf::ones({8, 2});
  REQUIRE_THROWS_WITH(tf::lstm_cell(tf::ones({1, 2, 3}), {Tensor(), Tensor()}, wi, wh),
                      Contains("lstm_cell: input must be 1-D (input_size) or 2-D (batch, input_size), got shape (1, 2, 3)"));
  REQUIRE_THROWS_WITH(tf::lstm_cell(tf::ones({2, 4}), {Tensor(), Tensor()}, wi, wh),
                      Contains("lstm_cell: weight_ih must have shape (8, 4), got (8, 3)"));
  REQUIRE_THROWS_WITH(tf::lstm_cell(tf::ones({2, 3}), {tf::ones({3, 2}), Tensor()}, wi, wh),
                      Contains("lstm_cell: hidden state h must have shape (2, 2), got (3, 2)"));
  REQUIRE_THROWS_WITH(tf::gru_cell(tf::ones({2, 3}), Tensor(), wi, wh), Contains("gru_cell: weight_ih must be 2-D (3 * hidden_size"));
  REQUIRE_THROWS_WITH(tf::simple_rnn_cell(tf::ones({2, 3}), Tensor(), tf::ones({2, 3}), tf::ones({2, 3})),
                      Contains("simple_rnn_cell: weight_hh must have shape (2, 2), got (2, 3)"));
}
