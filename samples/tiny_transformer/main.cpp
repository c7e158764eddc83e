// A tiny decoder-only transformer learns to SORT sequences of digits. A sequence of 8 random
// digits, a separator, then the digits sorted: [3 1 4 1 5 9 2 6 | 1 1 2 3 4 5 6 9]. The model
// reads tokens 0..15 and predicts tokens 1..16 (next-token prediction, causal attention); the
// loss counts the 8 answer positions. A sequence is right when all 8 answer digits are: with
// causal attention and teacher forcing this equals greedy decoding being right.
//   Embedding(11, 64) + sinusoidal positions -> 2 x TransformerEncoderLayer(64, 4 heads, 128,
//   causal, pre-norm) -> LayerNormalization -> Dense(11); Adam (lr 1e-3 with
//   cosine decay over the epochs, clipnorm 1)
//   tiny_transformer [--epochs N] [--limit N] [--quick] [--batch-size 64] [--seed 1]
//                    [--device cpu|cuda] [--plot FILE.svg]
// An epoch is --limit random training sequences (default 20,000, fresh each epoch); 2,000
// held-out sequences (never drawn for training) measure accuracy. --quick = --epochs 3 --limit 8000.
// Prints "Sequence accuracy: xx.xx%" last and writes the learning curve as SVG.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <vector>
#include <algorithm>

#include "samples/plot/sample_args.h"
#include "samples/plot/svg_plot.h"
#include "tapeflow.h"

namespace tf = tapeflow;
namespace nn = tapeflow::nn;

namespace {
constexpr int64_t kLen = 8, kSep = 10, kVocab = 11, kT = 2 * kLen;  // model input length

samples::SampleArgs parse(int argc, char** argv) {
  samples::SampleArgs a;
  a.epochs = 12; a.limit = 20000; a.quick_epochs = 3; a.quick_limit = 8000; a.plot = "tiny_transformer.svg";
  a.parse(argc, argv);
  return a;
}

// n sequences of 2*kLen+1 tokens; `held` collects (held-out set) or excludes (training) them.
tf::Tensor make(int64_t n, std::mt19937_64& rng, std::set<std::vector<int64_t>>& held, bool add) {
  std::vector<int64_t> all;
  all.reserve(n * (2 * kLen + 1));
  for (int64_t i = 0; i < n;) {
    std::vector<int64_t> d(kLen);
    for (auto& v : d) v = (int64_t)(rng() % 10);
    if (add ? !held.insert(d).second : held.count(d) > 0) continue;
    std::vector<int64_t> s = d;
    std::sort(s.begin(), s.end());
    all.insert(all.end(), d.begin(), d.end());
    all.push_back(kSep);
    all.insert(all.end(), s.begin(), s.end());
    ++i;
  }
  return tf::from_vector(all, tf::Shape{n, 2 * kLen + 1});
}

struct Sorter : nn::Cloneable<Sorter> {
  std::shared_ptr<nn::Embedding> embed;
  std::shared_ptr<nn::TransformerEncoderLayer> b1, b2;
  std::shared_ptr<nn::Dense> head;
  std::shared_ptr<nn::LayerNormalization> norm;
  tf::Tensor pos;
  Sorter() : Cloneable("Sorter", "sorter") {
    const int64_t d = 64;
    embed = register_module("embed", std::make_shared<nn::Embedding>(kVocab, d));
    auto causal = nn::AttentionOptions().use_causal_mask(true).norm_first(true);
    b1 = register_module("block1", std::make_shared<nn::TransformerEncoderLayer>(d, 4, 128, causal));
    b2 = register_module("block2", std::make_shared<nn::TransformerEncoderLayer>(d, 4, 128, causal));
    norm = register_module("norm", std::make_shared<nn::LayerNormalization>(nn::NormOptions().epsilon(1e-5)));
    norm->build_for(d);
    head = register_module("head", std::make_shared<nn::Dense>(kVocab, "linear", true, "glorot_uniform", "zeros", d));
    std::vector<float> pe(kT * d);  // sin / cos positional encoding (Vaswani et al.)
    for (int64_t t = 0; t < kT; ++t)
      for (int64_t i = 0; i < d; i += 2) {
        double a = (double)t / std::pow(10000.0, (double)i / d);
        pe[t * d + i] = (float)std::sin(a);
        pe[t * d + i + 1] = (float)std::cos(a);
      }
    pos = register_buffer("positional_encoding", tf::from_vector(pe, tf::Shape{1, kT, d}));
  }
  tf::Tensor forward(const tf::Tensor& tokens) override {  // (N, T) -> logits (N, T, vocab)
    tf::Tensor h = (*embed)(tokens) * 8.0 + pos.narrow(1, 0, tokens.size(1));  // sqrt(d) scale
    return (*head)((*norm)((*b2)((*b1)(h))));
  }
};

// Fraction of sequences whose kLen answer digits are all predicted right.
double accuracy(Sorter& m, const tf::Tensor& seqs, tf::Device dev) {
  tf::NoGradGuard ng;
  m.eval();
  tf::Tensor logits = m(seqs.narrow(1, 0, kT).to(dev));
  m.train();
  tf::Tensor pred = logits.narrow(1, kLen, kLen).argmax(2).to(tf::Device::cpu());
  tf::Tensor right = tf::eq(pred, seqs.narrow(1, kLen + 1, kLen)).astype(tf::kFloat64);
  return tf::mean(tf::min(right, {1})).item<double>();
}
}  // namespace

int main(int argc, char** argv) try {
  auto args = parse(argc, argv);
  tf::manual_seed(args.seed);
  tf::Device dev(args.device);
  std::mt19937_64 rng(args.seed);
  std::set<std::vector<int64_t>> held;
  tf::Tensor test = make(2000, rng, held, true);
  Sorter model;
  model.to(dev);
  std::printf("Sorting %lld digits; parameters: %lld\n", (long long)kLen, (long long)model.count_params());
  tf::optim::Adam opt(model.parameters(), {.lr = 1e-3, .clipnorm = 1.0});
  std::vector<double> ep, losses, accs;
  double acc = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (int e = 1; e <= args.epochs; ++e) {
    tf::Tensor data = make(args.limit, rng, held, false).to(dev);
    double total = 0;
    int64_t batches = 0;
    for (int64_t s = 0; s + args.batch_size <= args.limit; s += args.batch_size) {
      tf::Tensor b = data.narrow(0, s, args.batch_size);
      tf::Tensor logits = model(b.narrow(1, 0, kT)).narrow(1, kLen, kLen).reshape(tf::Shape{-1, kVocab});
      tf::Tensor target = b.narrow(1, kLen + 1, kLen).reshape(tf::Shape{-1});
      tf::Tensor loss = nn::sparse_categorical_crossentropy(target, logits, true);
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item<double>();
      ++batches;
    }
    opt.set_lr(1e-3 * 0.5 * (1.0 + std::cos(M_PI * e / args.epochs)));  // cosine decay per epoch
    acc = accuracy(model, test, dev);
    ep.push_back(e);
    losses.push_back(total / std::max<int64_t>(batches, 1));
    accs.push_back(acc);
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("Epoch %d/%d - loss %.4f - held-out sequence accuracy %.4f - %.0f s\n", e, args.epochs,
                losses.back(), acc, secs);
    std::fflush(stdout);
  }
  tf::plot::Figure fig;
  fig.title("tiny_transformer: sorting 8 digits").xlabel("Epoch").ylabel("Loss / accuracy");
  fig.line(ep, losses, "training loss").line(ep, accs, "held-out sequence accuracy").save(args.plot);
  std::printf("Learning curve: %s\n", args.plot.c_str());
  std::printf("Sequence accuracy: %.2f%%\n", 100.0 * acc);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "tiny_transformer: %s\n", e.what());
  return 1;
}
