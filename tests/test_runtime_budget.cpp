// One thread budget and memory that comes back (issue 13): a host job system runs tapeflow's
// parallel loops (a toy one counting its calls), OpenBLAS starts no threads of its own, and the
// CPU caching allocator's cap, LRU eviction, empty_cache and statistics (RSS from /proc).
#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include "tapeflow.h"

namespace tf = tapeflow;

namespace {

// Runs chunks on two threads of its own plus the caller, counting everything.
struct ToyJobs final : tf::JobSystem {
  std::atomic<int> runs{0}, chunks{0}, nested{0};
  std::atomic<int> active{0};
  int concurrency() const override { return 3; }
  void run(int n, void (*chunk)(void*, int), void* ctx) override {
    if (active.fetch_add(1) > 0) nested.fetch_add(1);
    runs.fetch_add(1);
    std::atomic<int> next{0};
    auto body = [&] {
      for (int i; (i = next.fetch_add(1)) < n;) {
        chunk(ctx, i);
        chunks.fetch_add(1);
      }
    };
    std::thread a(body), b(body);
    body();
    a.join();
    b.join();
    active.fetch_sub(1);
  }
};

int64_t rss_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return int64_t(resident) * 4096;
}

int thread_count() {
  int n = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

constexpr int64_t MB = 1 << 20;

}  // namespace

TEST_CASE("a host job system runs the parallel loops, results unchanged", "[threads][jobs]") {
  tf::Tensor x = tf::rand({1 << 20});
  tf::Tensor a = tf::rand({384, 300}), w = tf::rand({300, 256});
  double want_sum = tf::sum(x.astype(tf::kFloat64)).item<double>();
  tf::Tensor want_mm = tf::matmul(a.astype(tf::kFloat64), w.astype(tf::kFloat64));
  std::vector<float> want_exp = tf::exp(x).to_vector<float>();
  ToyJobs jobs;
  tf::set_job_system(&jobs);
  REQUIRE(tf::job_system() == &jobs);
  double got_sum = tf::sum(x).item<double>();
  std::vector<float> got_exp = tf::exp(x).to_vector<float>();
  tf::Tensor got_mm = tf::matmul(a, w).astype(tf::kFloat64);
  int small_runs = jobs.runs.load();
  (void)tf::add(tf::ones({8}), tf::ones({8}));  // small work: never reaches the job system
  int after_small = jobs.runs.load();
  tf::set_job_system(nullptr);
  CHECK(got_sum == Approx(want_sum).epsilon(1e-5));
  CHECK(got_exp == want_exp);
  CHECK(tf::max(tf::abs(got_mm - want_mm)).item<double>() < 1e-3);
  CHECK(small_runs >= 3);  // the sum, exp and the split gemm
  CHECK(after_small == small_runs);
  CHECK(jobs.chunks.load() >= 2 * small_runs);
  CHECK(jobs.nested.load() == 0);
  CHECK(tf::job_system() == nullptr);
}

TEST_CASE("set_num_threads(1) leaves no OpenBLAS or pool thread", "[threads][jobs]") {
  if (std::getenv("OPENBLAS_NUM_THREADS")) return;  // the user chose OpenBLAS's threads
  int before = tf::get_num_threads();
  tf::set_num_threads(1);
  tf::Tensor y = tf::matmul(tf::rand({512, 512}), tf::rand({512, 512}));
  CHECK(y.shape() == tf::Shape{512, 512});
  int allowed = 1;
#if defined(__SANITIZE_THREAD__)
  allowed = 2;  // ThreadSanitizer's runtime keeps a background thread of its own
#endif
  CHECK(thread_count() == allowed);
  tf::set_num_threads(before);
}

TEST_CASE("CPU memory: statistics, a cap with LRU eviction, empty_cache gives RSS back", "[memory]") {
#if defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer the allocator caches nothing (every block goes to the system).
  WARN("skipped under AddressSanitizer: the CPU cache is bypassed there");
  return;
#endif
  size_t limit0 = tf::cpu::cache_limit();
  CHECK(limit0 > 0);
  tf::cpu::empty_cache();
  size_t alloc0 = tf::cpu::memory_allocated();
  {
    tf::Tensor t = tf::zeros({4 * MB / 4});
    CHECK(tf::cpu::memory_allocated() >= alloc0 + 4 * MB);
    CHECK(tf::cpu::memory_reserved() >= tf::cpu::memory_allocated());
  }
  CHECK(tf::cpu::memory_allocated() == alloc0);

  int64_t base = rss_bytes();
  auto burst = [&] {
    int64_t peak = 0;
    for (int i = 0; i < 30; ++i) {
      int64_t mb = 32 + (i * 17) % 49;  // 32..80 MB, many sizes
      tf::Tensor t = tf::full({mb * MB / 4}, 1.5f);
      peak = std::max(peak, rss_bytes());
    }
    return peak;
  };
  SECTION("default cap: bounded while cached, near the baseline after empty_cache") {
    burst();
    size_t cached = tf::cpu::memory_reserved() - tf::cpu::memory_allocated();
    CHECK(cached <= tf::cpu::cache_limit());
    CHECK(rss_bytes() <= base + int64_t(tf::cpu::cache_limit()) + 40 * MB);
    tf::cpu::empty_cache();
    CHECK(tf::cpu::memory_reserved() - tf::cpu::memory_allocated() == 0);
    CHECK(rss_bytes() <= base + 24 * MB);
  }
  SECTION("a zero cap gives every large block back at once") {
    tf::cpu::set_cache_limit(0);
    int64_t peak = burst();
    CHECK(peak <= base + 100 * MB);  // one temporary alive at a time
    CHECK(rss_bytes() <= base + 24 * MB);
    tf::cpu::set_cache_limit(limit0);
  }
  SECTION("LRU: the sizes in use stay cached, the oldest go") {
    tf::cpu::set_cache_limit(100 * MB);
    uint64_t os0 = tf::cpu::os_allocations();
    for (int i = 0; i < 5; ++i) { tf::Tensor t = tf::empty({40 * MB / 4}); }
    CHECK(tf::cpu::os_allocations() == os0 + 1);  // reused
    for (int i = 0; i < 4; ++i) { tf::Tensor t = tf::empty({(48 + 8 * i) * MB / 4}); }
    CHECK(tf::cpu::memory_reserved() - tf::cpu::memory_allocated() <= 100 * MB);
    uint64_t os1 = tf::cpu::os_allocations();
    { tf::Tensor t = tf::empty({72 * MB / 4}); }  // the most recent size is still cached
    CHECK(tf::cpu::os_allocations() == os1);
    tf::cpu::set_cache_limit(limit0);
    tf::cpu::empty_cache();
  }
}
