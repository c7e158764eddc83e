// The persistent thread pool of the CPU backend and the process-wide thread count
// (tensor/runtime.h). One parallel region runs at a time: a job is published as one atomic word
// (sequence number + chunk count), so a worker never reads the job of a region it is not part
// of. Workers spin briefly after a job (back-to-back small ops stay cheap), then sleep on a futex.
#include "backends/cpu/parallel.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "backends/cpu/blas.h"
#include "tensor/error.h"
#include "tensor/runtime.h"
#include "tensor/tls.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TF_CPU_PAUSE() _mm_pause()
#else
#define TF_CPU_PAUSE() std::this_thread::yield()
#endif

namespace tapeflow::backend::cpu {
namespace {

TAPEFLOW_TLS_FAST thread_local bool t_in_region = false;

// Spins (with pause) until done() or about 20 microseconds have passed; false on timeout. The
// clock is read every 64 pauses: a pause costs from a few to ~150 cycles depending on the CPU.
template <class Done>
bool spin_until(Done&& done) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::microseconds(20);
  for (;;) {
    for (int i = 0; i < 64; ++i) {
      if (done()) return true;
      TF_CPU_PAUSE();
    }
    if (std::chrono::steady_clock::now() > deadline) return done();
  }
}

class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_main(i); });
  }
  ~Pool() {
    stop_.store(true, std::memory_order_relaxed);
    word_.fetch_add(uint64_t(1) << 32, std::memory_order_release);
    word_.notify_all();
    for (auto& t : workers_) t.join();
  }
  int threads() const { return threads_; }

  void run(int64_t begin, int64_t end, int nchunks, ChunkFn fn, void* ctx) {
    fn_ = fn; ctx_ = ctx; begin_ = begin; end_ = end; nchunks_ = nchunks;
    error_ = nullptr;
    pending_.store(nchunks - 1, std::memory_order_relaxed);
    uint64_t seq = (word_.load(std::memory_order_relaxed) >> 32) + 1;
    word_.store((seq << 32) | uint64_t(nchunks), std::memory_order_release);
    word_.notify_all();
    run_chunk(0);
    spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
    for (int v; (v = pending_.load(std::memory_order_acquire)) != 0;) pending_.wait(v);
    if (error_) std::rethrow_exception(error_);
  }

 private:
  void run_chunk(int i) {
    int64_t range = end_ - begin_;
    int64_t b = begin_ + range * i / nchunks_, e = begin_ + range * (i + 1) / nchunks_;
    t_in_region = true;
    try {
      fn_(ctx_, b, e);
    } catch (...) {
      std::lock_guard<std::mutex> lk(error_mutex_);
      if (!error_) error_ = std::current_exception();
    }
    t_in_region = false;
  }

  void worker_main(int index) {
    uint64_t seen = 0;  // the word at construction: a job published before this thread runs still counts
    for (;;) {
      uint64_t w = seen;
      spin_until([&] { return word_.load(std::memory_order_acquire) != seen; });
      while ((w = word_.load(std::memory_order_acquire)) == seen) word_.wait(seen);
      seen = w;
      if (stop_.load(std::memory_order_relaxed)) return;
      if (index >= int(w & 0xffffffffu)) continue;  // not part of this region
      run_chunk(index);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }

  int threads_;
  std::vector<std::thread> workers_;
  std::atomic<uint64_t> word_{0};  // (sequence << 32) | chunk count of the current region
  std::atomic<int> pending_{0};    // worker chunks not finished yet
  std::atomic<bool> stop_{false};
  ChunkFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t begin_ = 0, end_ = 0;
  int nchunks_ = 1;
  std::mutex error_mutex_;
  std::exception_ptr error_;
};

// Held while a region runs and while the pool is resized. Never destroyed (the pool may still
// be referenced by static destructors of other objects at exit).
std::mutex& run_mutex() {
  static std::mutex* m = new std::mutex;
  return *m;
}
Pool* g_pool = nullptr;
std::atomic<int> g_threads{0};

int default_threads() {
  if (const char* env = std::getenv("TAPEFLOW_NUM_THREADS")) {
    char* endp = nullptr;
    long v = std::strtol(env, &endp, 10);
    if (endp != env && *endp == '\0' && v >= 1 && v <= 1024) return int(v);
  }
  unsigned hw = std::thread::hardware_concurrency();
  return hw == 0 ? 1 : int(hw);
}

// After fork() only the forking thread exists: forget the parent's workers (leaked on purpose).
void after_fork_in_child() {
  new (&run_mutex()) std::mutex;
  g_pool = nullptr;
  t_in_region = false;
}
std::once_flag g_atfork_once;

}  // namespace

int pool_threads() {
  int n = g_threads.load(std::memory_order_relaxed);
  if (n == 0) {
    int d = default_threads();
    g_threads.compare_exchange_strong(n, d);
    n = g_threads.load(std::memory_order_relaxed);
  }
  return n;
}

bool in_parallel_region() { return t_in_region; }

int parallel_chunks(int64_t range, int64_t grain) {
  if (grain < 1) grain = 1;
  int64_t n = range / grain;
  int threads = pool_threads();
  return int(n < threads ? (n < 1 ? 1 : n) : threads);
}

void parallel_run(int64_t begin, int64_t end, int64_t grain, ChunkFn fn, void* ctx) {
  if (end <= begin) return;
  int nchunks = parallel_chunks(end - begin, grain);
  if (nchunks <= 1 || t_in_region) {
    fn(ctx, begin, end);
    return;
  }
  std::unique_lock<std::mutex> lk(run_mutex(), std::try_to_lock);
  if (!lk.owns_lock()) {  // another thread owns the pool: run on this one
    fn(ctx, begin, end);
    return;
  }
  std::call_once(g_atfork_once, [] { pthread_atfork(nullptr, nullptr, after_fork_in_child); });
  // The thread count only changes under run_mutex: read it again now that the lock is held.
  // set_num_threads may have lowered it since nchunks was computed above, and a chunk without a
  // worker would never finish (issue 17: the set_num_threads deadlock).
  int threads = pool_threads();
  if (nchunks > threads) nchunks = threads;
  if (nchunks <= 1) {
    fn(ctx, begin, end);
    return;
  }
  if (!g_pool || g_pool->threads() != threads) {
    delete g_pool;
    g_pool = nullptr;
    g_pool = new Pool(threads);
  }
  g_pool->run(begin, end, nchunks, fn, ctx);
}

}  // namespace tapeflow::backend::cpu

namespace tapeflow {

void set_num_threads(int n) {
  if (n < 1) fail("set_num_threads: expected a positive thread count, got ", n);
  if (backend::cpu::t_in_region) fail("set_num_threads: cannot be called from inside a parallel region");
  {
    std::lock_guard<std::mutex> lk(backend::cpu::run_mutex());
    backend::cpu::g_threads.store(n, std::memory_order_relaxed);
    if (backend::cpu::g_pool && backend::cpu::g_pool->threads() != n) {
      delete backend::cpu::g_pool;
      backend::cpu::g_pool = nullptr;
    }
  }
  backend::cpu::blas::sync_threads(n);
}

int get_num_threads() { return backend::cpu::pool_threads(); }

}  // namespace tapeflow
