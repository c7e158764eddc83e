// The plain timing harness shared by tapeflow_bench and torch_bench (it knows neither library):
// command-line options, calibrated repetitions with the median taken, the memcpy baseline, and
// the one output format compare.sh reads: "RESULT <key> <value> <unit> <lower|higher>".
// Keeping it in one header makes the two programs time their workloads the same way.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace bench {

struct Options {
  int threads = 1;
  std::vector<std::string> groups;  // empty = all
  int epochs = 3;                   // training epochs per network (the median is reported)
  double epoch_budget = 120;        // seconds per network: no new epoch starts past this
  int reps = 9;                     // repetitions of every micro benchmark
  double rep_seconds = 0.05;        // target length of one repetition
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
  bool quick = false;               // a smoke run: few repetitions, 1 epoch on a subset
  int64_t train_limit = 0;          // > 0: train on the first N samples only
};

inline void usage(const char* prog) {
  std::fprintf(stderr,
               "usage: %s [--threads N] [--only GROUP[,GROUP...]] [--epochs N] [--reps N]\n"
               "          [--epoch-budget SECONDS] [--data DIR] [--train-limit N] [--quick]\n"
               "groups: overhead elementwise reduce matmul mlp infer conv seq optim\n",
               prog);
}

inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) { usage(argv[0]); std::exit(2); }
      return argv[++i];
    };
    if (a == "--threads") o.threads = std::atoi(value().c_str());
    else if (a == "--epochs") o.epochs = std::atoi(value().c_str());
    else if (a == "--reps") o.reps = std::atoi(value().c_str());
    else if (a == "--epoch-budget") o.epoch_budget = std::atof(value().c_str());
    else if (a == "--data") o.data_dir = value();
    else if (a == "--train-limit") o.train_limit = std::atoll(value().c_str());
    else if (a == "--quick") o.quick = true;
    else if (a == "--only") {
      std::string s = value();
      for (size_t p = 0; p <= s.size();) {
        size_t q = s.find(',', p);
        if (q == std::string::npos) q = s.size();
        if (q > p) o.groups.push_back(s.substr(p, q - p));
        p = q + 1;
      }
    } else { usage(argv[0]); std::exit(2); }
  }
  if (o.threads < 1 || o.epochs < 1 || o.reps < 1) { usage(argv[0]); std::exit(2); }
  if (o.quick) {
    o.reps = 3;
    o.rep_seconds = 0.01;
    o.epochs = 1;
    if (o.train_limit == 0) o.train_limit = 4096;
  }
  return o;
}

inline bool wants(const Options& o, const char* group) {
  if (o.groups.empty()) return true;
  return std::find(o.groups.begin(), o.groups.end(), group) != o.groups.end();
}

inline double now_s() {
  using clock = std::chrono::steady_clock;
  return std::chrono::duration<double>(clock::now().time_since_epoch()).count();
}

// Keeps the optimiser from dropping a computation whose result is otherwise unused.
template <class T>
inline void keep(T const& v) { asm volatile("" : : "g"(&v) : "memory"); }

// Median seconds per call of body(): calibrates a call count so that one repetition lasts
// about opt.rep_seconds (at least min_calls), warms up once, then times opt.reps repetitions.
template <class F>
double median_seconds(const Options& opt, F&& body, int64_t min_calls = 1) {
  double t0 = now_s();
  body();  // warm-up (first-touch, lazy initialisation)
  double one = now_s() - t0;
  int64_t calls = min_calls;
  if (one > 0) calls = std::max<int64_t>(min_calls, int64_t(opt.rep_seconds / one));
  // Refine on a short batch: the first call is usually slower than the rest.
  if (calls > 4) {
    int64_t probe = std::min<int64_t>(calls, 64);
    t0 = now_s();
    for (int64_t i = 0; i < probe; ++i) body();
    double per = (now_s() - t0) / double(probe);
    if (per > 0) calls = std::max<int64_t>(min_calls, int64_t(opt.rep_seconds / per));
  }
  std::vector<double> times;
  for (int r = 0; r < opt.reps; ++r) {
    t0 = now_s();
    for (int64_t i = 0; i < calls; ++i) body();
    times.push_back((now_s() - t0) / double(calls));
  }
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// lower_is_better: times; otherwise rates. Values print with 4 significant digits.
inline void report(const std::string& key, double value, const char* unit, bool lower_is_better) {
  std::printf("RESULT %s %.4g %s %s\n", key.c_str(), value, unit, lower_is_better ? "lower" : "higher");
  std::fflush(stdout);
}
inline void note(const std::string& text) {
  std::printf("NOTE %s\n", text.c_str());
  std::fflush(stdout);
}

// The memcpy baseline: copies `bytes` between two pre-faulted buffers on `threads` threads
// (the buffer split in equal parts); GB/s counts bytes read plus bytes written.
inline double memcpy_gbps(const Options& opt, size_t bytes, int threads) {
  std::unique_ptr<char[]> src(new char[bytes]), dst(new char[bytes]);
  std::memset(src.get(), 1, bytes);
  std::memset(dst.get(), 0, bytes);
  auto copy = [&] {
    if (threads <= 1) {
      std::memcpy(dst.get(), src.get(), bytes);
      return;
    }
    std::vector<std::thread> ts;
    size_t part = bytes / size_t(threads);
    for (int t = 1; t < threads; ++t)
      ts.emplace_back([&, t] {
        size_t b = part * size_t(t), e = t + 1 == threads ? bytes : b + part;
        std::memcpy(dst.get() + b, src.get() + b, e - b);
      });
    std::memcpy(dst.get(), src.get(), part);
    for (auto& th : ts) th.join();
  };
  double s = median_seconds(opt, copy);
  keep(dst[bytes / 2]);
  return 2.0 * double(bytes) / s * 1e-9;
}

// Times training epochs within opt.epoch_budget seconds per network. Past the budget the current
// epoch stops at once; a partial epoch counts only when no epoch finished, its time extrapolated
// from the batches done (and said so in a NOTE).
//   EpochTimer timer(opt, "small_mlp", batches_per_epoch);
//   while (timer.next_epoch()) { for (...) { step(); if (!timer.batch_done()) break; } timer.end_epoch(); }
class EpochTimer {
 public:
  EpochTimer(const Options& o, std::string key, int64_t batches_per_epoch)
      : opt_(o), key_(std::move(key)), per_epoch_(batches_per_epoch), start_(now_s()) {}
  bool next_epoch() {
    if (int(times_.size()) >= opt_.epochs || over_) return false;
    done_ = 0;
    t0_ = now_s();
    return true;
  }
  bool batch_done() {  // false: the budget is spent, stop this epoch
    ++done_;
    over_ = now_s() - start_ > opt_.epoch_budget;
    return !over_ || done_ >= per_epoch_;
  }
  void end_epoch() {
    double t = now_s() - t0_;
    if (done_ >= per_epoch_) times_.push_back(t);
    else if (times_.empty() && done_ > 0) {
      times_.push_back(t * double(per_epoch_) / double(done_));
      note(key_ + ": past the " + std::to_string(int(opt_.epoch_budget)) + " s budget after " +
           std::to_string(done_) + " of " + std::to_string(per_epoch_) +
           " batches; epoch time extrapolated, accuracy after that partial epoch");
    }
  }
  void report_time() const {
    if (int(times_.size()) < opt_.epochs && !times_.empty())
      note(key_ + ": " + std::to_string(times_.size()) + " epoch(s) timed within the budget");
    report(key_ + "_epoch", median_of(times_), "s", true);
  }

 private:
  const Options& opt_;
  std::string key_;
  int64_t per_epoch_, done_ = 0;
  double start_, t0_ = 0;
  bool over_ = false;
  std::vector<double> times_;
};

// Fashion-MNIST hyper-parameters shared by both programs.
constexpr int64_t kSmallBatch = 64;
constexpr double kSmallLr = 0.01, kSmallMomentum = 0.9;
constexpr int64_t kWideBatch = 256;
constexpr double kWideLr = 0.001;
constexpr int64_t kElementwiseN = int64_t(1) << 24;  // 16M float32 = 64 MiB
constexpr int64_t kReduceN = 4096;
constexpr int kChainOps = 100;  // 99 element-wise ops + the final sum

}  // namespace bench
