// The library used from several threads at once (issue 17). Every test here is tagged [threads]:
// `make test-tsan` runs them under ThreadSanitizer. Scenarios: set_num_threads called while other
// threads compute, one model shared by several inference threads (eval, no_grad), a trainer
// beside inference threads, and tensors and graphs freed on another thread than their own.
// Catch2's assertions are not thread-safe: threads only record what they saw; the test's own
// thread checks it. Each scenario runs under a watchdog: a hang fails the run instead of
// blocking CI forever.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "backends/cpu/parallel.h"
#include "tapeflow.h"

namespace tf = tapeflow;

namespace {

// Runs body on a thread of its own and waits at most `seconds` for it. A body still running by
// then is a hang (a deadlock): the process exits at once with a message, since its threads can be
// neither joined nor abandoned safely. Exceptions thrown by body are rethrown here.
template <class F>
void within(double seconds, const char* what, F&& body) {
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  std::exception_ptr error;
  std::thread t([&] {
    try {
      body();
    } catch (...) {
      error = std::current_exception();
    }
    std::lock_guard<std::mutex> lk(m);
    done = true;
    cv.notify_one();
  });
  {
    std::unique_lock<std::mutex> lk(m);
    if (!cv.wait_for(lk, std::chrono::duration<double>(seconds), [&] { return done; })) {
      std::fprintf(stderr, "FATAL: %s: still running after %.0f s (deadlock?)\n", what, seconds);
      std::fflush(stderr);
      std::_Exit(3);
    }
  }
  t.join();
  if (error) std::rethrow_exception(error);
}

// Records the first failure seen by any thread (checked by the test's thread).
struct Failures {
  std::mutex m;
  std::vector<std::string> list;
  void add(std::string s) {
    std::lock_guard<std::mutex> lk(m);
    if (list.size() < 10) list.push_back(std::move(s));
  }
  // Runs f, recording a tapeflow::Error or any other exception it throws.
  template <class F>
  void guard(const char* who, F&& f) {
    try {
      f();
    } catch (const std::exception& e) {
      add(std::string(who) + ": " + e.what());
    }
  }
};

struct ThreadCountScope {
  int saved = tf::get_num_threads();
  ~ThreadCountScope() { tf::set_num_threads(saved); }
};

double max_abs_diff(const tf::Tensor& a, const tf::Tensor& b) {
  return tf::max(tf::abs(a.astype(tf::kFloat64) - b.astype(tf::kFloat64))).item<double>();
}

std::shared_ptr<tf::nn::Sequential> mlp(uint64_t seed, int64_t in, int64_t hidden, int64_t out) {
  tf::manual_seed(seed);
  auto m = std::make_shared<tf::nn::Sequential>();
  m->add(tf::nn::Dense(hidden, "relu", true, "glorot_uniform", "zeros", in));
  m->add(tf::nn::Dense(hidden, "relu"));
  m->add(tf::nn::Dense(out, "softmax"));
  return m;
}

}  // namespace

TEST_CASE("set_num_threads from another thread while parallel ops run never deadlocks", "[threads]") {
  // Issue 17: parallel_run chose its chunk count before taking the pool's lock; a pool rebuilt
  // smaller in between left chunks without a worker and both threads hung (4 runs in 5).
  ThreadCountScope scope;
  tf::set_num_threads(3);
  Failures failures;
  std::atomic<bool> stop{false};
  std::atomic<long> rounds{0}, changes{0};
  within(120, "set_num_threads stress", [&] {
    std::thread compute([&] {
      failures.guard("compute", [&] {
        tf::Tensor a = tf::arange(0, 4096, 1, tf::kFloat64).reshape({64, 64});
        tf::Tensor ones = tf::ones({64, 64}, tf::kFloat64);
        double expect_sum = 4095.0 * 4096.0 / 2 + 4096.0;
        std::vector<int> hits(1 << 14);
        auto t0 = std::chrono::steady_clock::now();
        // At least 300 rounds, and at least a second of them (the old race hung 1 run in 3 in half a second).
        for (long r = 0; r < 300 || std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000); ++r) {
          std::fill(hits.begin(), hits.end(), 0);
          tf::backend::cpu::parallel_for(0, int64_t(hits.size()), 64, [&](int64_t b, int64_t e) {
            for (int64_t i = b; i < e; ++i) hits[size_t(i)]++;
          });
          for (int h : hits)
            if (h != 1) throw tf::Error("parallel_for visited an index " + std::to_string(h) + " times");
          double s = tf::sum(a + ones).item<double>();
          if (s != expect_sum) throw tf::Error("sum gave " + std::to_string(s));
          if (r % 16 == 0) {  // large enough for OpenBLAS's own threads, resized meanwhile
            double m = tf::sum(tf::matmul(a.reshape({32, 128}), tf::ones({128, 96}, tf::kFloat64))).item<double>();
            if (m != 96.0 * 4095.0 * 4096.0 / 2) throw tf::Error("matmul gave " + std::to_string(m));
          }
          rounds.fetch_add(1, std::memory_order_relaxed);
        }
      });
      stop = true;
    });
    std::thread setter([&] {
      failures.guard("setter", [&] {
        for (int i = 0; !stop.load(); ++i) {
          tf::set_num_threads(1 + i % 4);
          changes.fetch_add(1, std::memory_order_relaxed);
          std::this_thread::yield();
        }
      });
    });
    compute.join();
    setter.join();
  });
  INFO(rounds.load() << " rounds, " << changes.load() << " thread-count changes");
  CHECK(failures.list.empty());
  for (const auto& f : failures.list) UNSCOPED_INFO(f);
  CHECK(rounds.load() >= 300);
  CHECK(changes.load() > 0);
}

TEST_CASE("one model shared by inference threads in eval mode under no_grad", "[threads][nn]") {
  auto model = mlp(11, 32, 24, 5);
  model->eval();
  tf::manual_seed(5);
  tf::Tensor x = tf::randn({64, 32});
  tf::Tensor expect;
  {
    tf::NoGradGuard ng;
    expect = (*model)(x);
  }
  Failures failures;
  std::vector<double> worst(3, 0.0);
  within(300, "shared inference", [&] {
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
      threads.emplace_back([&, t] {
        failures.guard("inference", [&] {
          tf::NoGradGuard ng;
          for (int i = 0; i < 40; ++i) {
            int64_t lo = (i * 7 + t * 13) % 48;
            tf::Tensor y = (i % 4 == 3) ? model->predict(x.slice(0, lo, lo + 16), 8)
                                        : (*model)(x.slice(0, lo, lo + 16));
            worst[size_t(t)] = std::max(worst[size_t(t)], max_abs_diff(y, expect.slice(0, lo, lo + 16)));
          }
        });
      });
    for (auto& th : threads) th.join();
  });
  for (const auto& f : failures.list) UNSCOPED_INFO(f);
  CHECK(failures.list.empty());
  for (double w : worst) CHECK(w < 1e-5);
  CHECK_FALSE(model->is_training());
}

TEST_CASE("a trainer thread beside inference threads", "[threads][nn]") {
  // The trainer owns its model; the inference threads share another one. Grad mode is per
  // thread: the trainer records while the others do not.
  auto trained = mlp(21, 8, 16, 3);
  auto served = mlp(22, 8, 16, 3);
  served->eval();
  tf::manual_seed(9);
  tf::Tensor x = tf::randn({96, 8});
  tf::Tensor y = tf::one_hot(tf::argmax(x.slice(1, 0, 3), -1), 3).astype(tf::kFloat32);
  tf::Tensor expect;
  {
    tf::NoGradGuard ng;
    expect = (*served)(x);
  }
  trained->compile(std::make_shared<tf::optim::SGD>(tf::optim::SGDOptions{.lr = 0.2}), "categorical_crossentropy");
  Failures failures;
  std::atomic<bool> done{false};
  std::atomic<long> served_calls{0};
  double first_loss = 0, last_loss = 0, worst = 0;
  within(300, "trainer beside inference", [&] {
    std::thread trainer([&] {
      failures.guard("trainer", [&] {
        tf::nn::History h = trained->fit(x, y, {.batch_size = 16, .epochs = 40, .verbose = 0, .seed = 3});
        first_loss = h.history.at("loss").front();
        last_loss = h.history.at("loss").back();
      });
      done = true;
    });
    std::vector<std::thread> readers;
    std::mutex worst_m;
    for (int t = 0; t < 2; ++t)
      readers.emplace_back([&] {
        failures.guard("inference", [&] {
          tf::NoGradGuard ng;
          for (int i = 0; i < 20 || !done.load(); ++i) {  // at least 20 calls, then while it trains
            double d = max_abs_diff((*served)(x), expect);
            std::lock_guard<std::mutex> lk(worst_m);
            worst = std::max(worst, d);
            served_calls.fetch_add(1, std::memory_order_relaxed);
          }
        });
      });
    trainer.join();
    for (auto& r : readers) r.join();
  });
  for (const auto& f : failures.list) UNSCOPED_INFO(f);
  CHECK(failures.list.empty());
  CHECK(last_loss < first_loss);
  CHECK(worst < 1e-5);
  CHECK(served_calls.load() >= 40);
}

TEST_CASE("tensors, gradients and graphs freed on another thread than their own", "[threads][autograd]") {
  // A producer builds graphs; a consumer runs backward on some, drops others unused, and frees
  // every tensor (storage, views, grads, tape nodes) on its own thread.
  struct Item {
    tf::Tensor x, view, loss;
    double scale;
  };
  std::mutex m;
  std::condition_variable cv;
  std::deque<Item> queue;
  bool finished = false;
  Failures failures;
  long checked = 0;
  const int kItems = 400;
  within(300, "cross-thread frees", [&] {
    std::thread producer([&] {
      failures.guard("producer", [&] {
        for (int i = 0; i < kItems; ++i) {
          double scale = 1 + i % 5;
          tf::Tensor x = tf::full({3 + i % 7, 5}, 0.01 * (i % 11), tf::kFloat64).requires_grad_();
          tf::Tensor loss = tf::sum(x * x * scale);
          Item item{x, x.slice(0, 1, 3), loss, scale};
          std::lock_guard<std::mutex> lk(m);
          queue.push_back(std::move(item));
          cv.notify_one();
        }
      });
      std::lock_guard<std::mutex> lk(m);
      finished = true;
      cv.notify_one();
    });
    std::thread consumer([&] {
      failures.guard("consumer", [&] {
        for (int i = 0;; ++i) {
          Item item;
          {
            std::unique_lock<std::mutex> lk(m);
            cv.wait(lk, [&] { return !queue.empty() || finished; });
            if (queue.empty()) return;
            item = std::move(queue.front());
            queue.pop_front();
          }
          if (i % 3 == 0) continue;  // dropped unused: the graph is freed here
          item.loss.backward();
          // d/dx sum(scale x^2) = 2 scale x
          double d = max_abs_diff(item.x.grad(), item.x.detach() * (2 * item.scale));
          if (d > 1e-12) throw tf::Error("wrong gradient, off by " + std::to_string(d));
          ++checked;
        }
      });
    });
    producer.join();
    consumer.join();
  });
  for (const auto& f : failures.list) UNSCOPED_INFO(f);
  CHECK(failures.list.empty());
  CHECK(checked == kItems - (kItems + 2) / 3);
}
