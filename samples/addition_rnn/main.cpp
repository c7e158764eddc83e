// Keras's addition_rnn example: an LSTM encoder-decoder learns to add two numbers of up to three
// digits given as text ("535+61" -> "596"). The question is padded to 7 characters and fed
// reversed (as Keras does); the answer has 4 characters (padded with spaces).
//   one-hot question (N, 7, 12) -> LSTM(128) -> RepeatVector(4) -> LSTM(128, return_sequences)
//   -> Dense(12) on every step (a 3-D Dense is Keras's TimeDistributed Dense) -> softmax;
//   Adam, lr 2e-3 with cosine decay over the epochs
//   addition_rnn [--epochs N] [--limit N] [--quick] [--hidden 128] [--batch-size 64] [--seed 1]
//                [--device cpu|cuda] [--plot FILE.svg]
// --limit N trains on N questions (default 45,000; 5,000 held out); --quick = --epochs 6 --limit 6000.
// Prints "Exact-answer accuracy: xx.xx%" (held-out questions) last; writes the learning curve as SVG.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "samples/plot/sample_args.h"
#include "samples/plot/svg_plot.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {
constexpr int kDigits = 3, kQLen = 2 * kDigits + 1, kALen = kDigits + 1;
const std::string kChars = "0123456789+ ";

struct Args : samples::SampleArgs {
  int64_t hidden = 128;
};

Args parse(int argc, char** argv) {
  Args a;
  a.epochs = 35; a.limit = 45000; a.quick_epochs = 6; a.quick_limit = 6000; a.plot = "addition_rnn.svg";
  a.extra = {{"--hidden", &a.hidden}};
  a.parse(argc, argv);
  return a;
}

struct Data {
  tf::Tensor x, y;  // x one-hot (N, 7, 12) float32, y character ids (N, 4) int64
  std::vector<std::string> questions, answers;
};

// Distinct questions (a+b and b+a count once, as Keras), shuffled, then split into training and
// held-out questions (a random split: the few short questions fall on both sides).
void make_data(int64_t n_train, int64_t n_test, uint64_t seed, Data& train, Data& test) {
  std::mt19937_64 rng(seed);
  auto number = [&] {
    int len = 1 + (int)(rng() % kDigits);
    int v = 0;
    for (int i = 0; i < len; ++i) v = v * 10 + (int)(rng() % 10);
    return v;
  };
  std::set<std::pair<int, int>> seen;
  std::vector<std::pair<int, int>> pairs;
  while ((int64_t)pairs.size() < n_train + n_test) {
    int a = number(), b = number();
    if (seen.insert({std::min(a, b), std::max(a, b)}).second) pairs.push_back({a, b});
  }
  std::shuffle(pairs.begin(), pairs.end(), rng);
  auto fill = [&](Data& d, int64_t from, int64_t n) {
    std::vector<float> x(n * kQLen * 12, 0.0f);
    std::vector<int64_t> y(n * kALen);
    for (int64_t i = 0; i < n; ++i) {
      auto [a, b] = pairs[from + i];
      std::string q = std::to_string(a) + "+" + std::to_string(b);
      std::string ans = std::to_string(a + b);
      d.questions.push_back(q);
      d.answers.push_back(ans);
      q.resize(kQLen, ' ');
      ans.resize(kALen, ' ');
      for (int t = 0; t < kQLen; ++t) x[(i * kQLen + t) * 12 + kChars.find(q[kQLen - 1 - t])] = 1.0f;  // reversed
      for (int t = 0; t < kALen; ++t) y[i * kALen + t] = (int64_t)kChars.find(ans[t]);
    }
    d.x = tf::from_vector(x, tf::Shape{n, kQLen, 12});
    d.y = tf::from_vector(y, tf::Shape{n, kALen});
  };
  fill(test, 0, n_test);
  fill(train, n_test, n_train);
}

struct Adder : nn::Cloneable<Adder> {
  std::shared_ptr<nn::LSTM> encoder, decoder;
  std::shared_ptr<nn::RepeatVector> repeat;
  std::shared_ptr<nn::Dense> out;
  int64_t hidden;
  explicit Adder(int64_t h) : Cloneable("Adder", "adder"), hidden(h) {
    encoder = register_module("encoder", std::make_shared<nn::LSTM>(h));
    repeat = register_module("repeat", std::make_shared<nn::RepeatVector>(kALen));
    decoder = register_module("decoder", std::make_shared<nn::LSTM>(h, nn::RNNOptions().return_sequences(true)));
    out = register_module("out", std::make_shared<nn::Dense>(12));
  }
  std::shared_ptr<Adder> fresh() const { return std::make_shared<Adder>(hidden); }
  tf::Tensor forward(const tf::Tensor& x) override {  // logits (N, 4, 12)
    tf::Tensor code = (*encoder)(x).tensor();
    return (*out)((*decoder)((*repeat)(code)).tensor());
  }
};

// (exact-answer accuracy, character accuracy) over d.
std::pair<double, double> evaluate(Adder& m, const Data& d, tf::Device dev) {
  tf::NoGradGuard ng;
  m.eval();
  tf::Tensor pred = m(d.x.to(dev)).argmax(2).to(tf::Device::cpu());
  m.train();
  tf::Tensor same = tf::eq(pred, d.y).astype(tf::kFloat64);
  double chars = tf::mean(same).item<double>();
  double exact = tf::mean(tf::min(same, {1})).item<double>();
  return {exact, chars};
}
}  // namespace

int main(int argc, char** argv) try {
  Args args = parse(argc, argv);
  tf::manual_seed(args.seed);
  tf::Device dev(args.device);
  Data train, test;
  make_data(args.limit, 5000, args.seed, train, test);
  std::printf("Questions: %lld for training, %lld held out (e.g. %s = %s)\n", (long long)train.x.size(0),
              (long long)test.x.size(0), train.questions[0].c_str(), train.answers[0].c_str());
  Adder model(args.hidden);
  model.build(tf::Shape{kQLen, 12});
  model.to(dev);
  std::printf("Parameters: %lld\n", (long long)model.count_params());
  tf::optim::Adam opt(model.parameters(), {.lr = 0.002});
  tf::Tensor x = train.x.to(dev), y = train.y.to(dev);
  const int64_t n = x.size(0);
  std::vector<double> ep, losses, exacts;
  double exact = 0, chars = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= args.epochs; ++e) {
    tf::Tensor perm = tf::randperm(n).to(dev);
    double total = 0;
    int64_t batches = 0;
    for (int64_t s = 0; s < n; s += args.batch_size) {
      tf::Tensor idx = perm.slice(0, s, std::min(n, s + args.batch_size));
      tf::Tensor logits = model(tf::index_select(x, 0, idx));
      tf::Tensor target = tf::index_select(y, 0, idx).reshape(tf::Shape{-1});
      tf::Tensor loss = nn::sparse_categorical_crossentropy(target, logits.reshape(tf::Shape{-1, 12}), true);
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item<double>();
      ++batches;
    }
    opt.set_lr(2e-3 * 0.5 * (1.0 + std::cos(M_PI * e / args.epochs)));  // cosine decay per epoch
    std::tie(exact, chars) = evaluate(model, test, dev);
    ep.push_back(e);
    losses.push_back(total / batches);
    exacts.push_back(exact);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("Epoch %d/%d - loss %.4f - held-out exact %.4f - characters %.4f - %.0f s\n", e, args.epochs,
                total / batches, exact, chars, secs);
    std::fflush(stdout);
  }
  {
    tf::NoGradGuard ng;
    model.eval();
    tf::Tensor pred = model(test.x.slice(0, 0, 5).to(dev)).argmax(2).to(tf::Device::cpu());
    for (int i = 0; i < 5; ++i) {
      std::string a;
      for (int t = 0; t < kALen; ++t) a += kChars[pred.select(0, i).select(0, t).item<int64_t>()];
      std::printf("Q %-8s T %-5s P %s\n", test.questions[i].c_str(), test.answers[i].c_str(), a.c_str());
    }
  }
  tf::plot::Figure fig;
  fig.title("addition_rnn").xlabel("Epoch").ylabel("Loss / accuracy");
  fig.line(ep, losses, "training loss").line(ep, exacts, "held-out exact accuracy").save(args.plot);
  std::printf("Learning curve: %s\n", args.plot.c_str());
  std::printf("Character accuracy: %.2f%%\n", 100.0 * chars);
  std::printf("Exact-answer accuracy: %.2f%%\n", 100.0 * exact);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "addition_rnn: %s\n", e.what());
  return 1;
}
