// Sharing a model between threads (README "Threads"): several inference threads on one
// eval-mode model under NoGradGuard, and a trainer thread publishing new weights to an
// inference thread (a cloned snapshot swapped under a mutex, and load_state_dict into a served
// model under a mutex). CI runs the "[threads]" tests under ThreadSanitizer.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "autograd/grad_mode.h"
#include "nn/nn.h"
#include "optim/optim.h"
#include "tensor/creation.h"
#include "tensor/ops.h"
#include "training/training.h"

using namespace tapeflow;

namespace {

std::shared_ptr<nn::Sequential> small_model() {
  auto m = std::make_shared<nn::Sequential>();
  m->add(nn::Dense(16, nn::DenseOptions().activation("tanh").input_dim(4)));
  m->add(nn::Dropout(0.2));
  m->add(nn::Dense(3, nn::DenseOptions().activation("softmax")));
  return m;
}

}  // namespace

TEST_CASE("two inference threads share one eval-mode model", "[threads]") {
  manual_seed(1);
  auto model = small_model();
  model->eval();
  Tensor x = randn(Shape{1, 4});  // batch 1, as a game loop's policy
  Tensor xb = randn(Shape{8, 4});
  std::vector<float> want, want_b;
  {
    NoGradGuard ng;
    want = (*model)(x).to_vector<float>();
    want_b = model->predict(xb).to_vector<float>();
  }
  std::atomic<int> mismatches{0};
  auto worker = [&](bool use_predict) {
    NoGradGuard ng;  // per thread
    for (int i = 0; i < 200; ++i) {
      if (use_predict) {
        if (model->predict(xb).to_vector<float>() != want_b) ++mismatches;
      } else {
        if ((*model)(x).to_vector<float>() != want) ++mismatches;
      }
    }
  };
  std::thread a(worker, false), b(worker, true), c(worker, false);
  a.join();
  b.join();
  c.join();
  CHECK(mismatches == 0);
}

TEST_CASE("a trainer thread publishes weights to an inference thread", "[threads]") {
  manual_seed(2);
  auto trainer_model = small_model();
  Tensor x = randn(Shape{64, 4});
  Tensor y = randint(0, 3, Shape{64});
  Tensor probe = randn(Shape{2, 4});

  // Pattern 1: an immutable snapshot (clone) swapped in under a mutex; readers keep the
  // shared_ptr they took, so a swap never changes a model while it runs.
  std::mutex snap_mu;
  std::shared_ptr<nn::Sequential> snapshot = nn::clone(*trainer_model);
  snapshot->eval();
  // Pattern 2: one served model whose weights are replaced by load_state_dict under a mutex.
  std::mutex served_mu;
  auto served = nn::clone(*trainer_model);
  served->eval();

  std::atomic<bool> done{false};
  std::atomic<int> reads{0}, bad{0};
  std::thread reader([&] {
    NoGradGuard ng;
    while (!done.load()) {
      std::shared_ptr<nn::Sequential> m;
      {
        std::lock_guard<std::mutex> lk(snap_mu);
        m = snapshot;
      }
      Tensor p = (*m)(probe);
      std::vector<float> v;
      {
        std::lock_guard<std::mutex> lk(served_mu);
        v = (*served)(probe).to_vector<float>();
      }
      // Softmax rows sum to one whatever weights are being served.
      for (float s : p.sum(1).to_vector<float>()) bad += std::abs(s - 1.0f) > 1e-5f;
      bad += std::abs(v[0] + v[1] + v[2] - 1.0f) > 1e-5f;
      ++reads;
    }
  });

  optim::SGD opt(trainer_model->parameters(), {.lr = 0.1});
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    nn::sparse_categorical_crossentropy(y, (*trainer_model)(x)).backward();
    opt.step();
    if (step % 5 == 4) {
      auto next = nn::clone(*trainer_model);
      next->eval();
      {
        std::lock_guard<std::mutex> lk(snap_mu);
        snapshot = next;
      }
      std::lock_guard<std::mutex> lk(served_mu);
      served->load_state_dict(trainer_model->state_dict());
    }
  }
  while (reads.load() < 3) std::this_thread::yield();
  done = true;
  reader.join();
  CHECK(bad == 0);
  // The last published weights are the trainer's.
  NoGradGuard ng;
  trainer_model->eval();
  std::vector<float> want = (*trainer_model)(probe).to_vector<float>();
  CHECK((*snapshot)(probe).to_vector<float>() == want);
  CHECK((*served)(probe).to_vector<float>() == want);
}
