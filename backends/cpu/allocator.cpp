// Caching allocator for CPU tensors. Size classes step by 1/4 of a power of two (at most 25%
// slack), each with an intrusive free list (the next pointer lives in the free block) behind a
// tiny spinlock. Small blocks also go through a per-thread cache (no atomics at all: a hit is a
// clz and a pop), flushed to the shared lists when the thread exits. Bytes on the shared lists
// are capped (default 256 MiB or $TAPEFLOW_CPU_CACHE_MB): a block that would pass the cap first
// evicts blocks of the least recently used size classes. Blocks of 1 MiB and more come straight
// from mmap and go back with munmap (malloc's growing mmap threshold would otherwise keep freed
// large blocks in its heap, resident). Under AddressSanitizer every call goes straight to
// ASan's malloc (no cache, no mmap), so it tracks every block and its size limits apply. Statistics: live bytes, cached bytes, blocks obtained from the system.
#include "backends/cpu/allocator.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include <sys/mman.h>

#include "base/cpu.h"
#include "base/error.h"

#if defined(__SANITIZE_ADDRESS__)
#define TF_CPU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TF_CPU_ASAN 1
#endif
#endif

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TF_SPIN_PAUSE() _mm_pause()
#else
#define TF_SPIN_PAUSE() ((void)0)
#endif

namespace tapeflow::backend::cpu {
namespace {

constexpr size_t kAlign = 64;
constexpr int kNumClasses = 240;

constexpr size_t kMmapMin = size_t(1) << 20;
constexpr size_t kHugeMin = size_t(32) << 20;
std::atomic<uint64_t> g_os_allocations{0};
std::atomic<size_t> g_live{0};  // bytes (class sizes) of blocks handed out and not returned

void* system_allocate(size_t n) {
  g_os_allocations.fetch_add(1, std::memory_order_relaxed);
#if !defined(TF_CPU_ASAN)  // under ASan every block comes from its malloc, which tracks it
  if (n >= kMmapMin) {
    void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return nullptr;
#if defined(MADV_HUGEPAGE)
    // Large blocks (a data set, big activations) on transparent huge pages where the system
    // allows them: fewer TLB misses for random row access (the batch gather) and fewer faults.
    if (n >= kHugeMin) madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
  }
#endif
  return ::operator new(n, std::align_val_t{kAlign}, std::nothrow);
}
void system_free(void* p, size_t n) {
#if !defined(TF_CPU_ASAN)
  if (n >= kMmapMin) {
    munmap(p, n);
    return;
  }
#endif
  (void)n;
  ::operator delete(p, std::align_val_t{kAlign});
}

// Class 0 holds blocks of 64 bytes; class c >= 1 holds (q + 1) << (e - 2) bytes with
// e = 6 + (c - 1) / 4 and q = 4 + (c - 1) % 4: 80, 96, 112, 128, 160, 192, ...
[[maybe_unused]] inline int size_class(size_t n) {
  if (n <= 64) return 0;
  size_t v = n - 1;
  int e = 63 - __builtin_clzll(v);
  int q = int(v >> (e - 2));  // 4..7
  return 1 + 4 * (e - 6) + (q - 4);
}
[[maybe_unused]] inline size_t class_size(int c) {
  if (c == 0) return 64;
  int e = 6 + (c - 1) / 4, q = 4 + (c - 1) % 4;
  return size_t(q + 1) << (e - 2);
}

struct FreeBlock { FreeBlock* next; };

struct alignas(64) FreeList {
  std::atomic_flag busy = ATOMIC_FLAG_INIT;
  FreeBlock* head = nullptr;
  void lock() { while (busy.test_and_set(std::memory_order_acquire)) TF_SPIN_PAUSE(); }
  void unlock() { busy.clear(std::memory_order_release); }
};

size_t default_limit() {
  if (const char* env = std::getenv("TAPEFLOW_CPU_CACHE_MB")) {
    char* end = nullptr;
    unsigned long long mb = std::strtoull(env, &end, 10);
    if (end != env && *end == '\0') return size_t(mb) << 20;
  }
  return size_t(256) << 20;
}

struct Cache {
  FreeList lists[kNumClasses];
  std::atomic<uint64_t> last_use[kNumClasses] = {};  // tick of the class's last shared-list use
  std::atomic<uint64_t> tick{0};
  std::atomic<size_t> cached{0};
  std::atomic<size_t> limit{default_limit()};
};
// Never destroyed: tensors with static storage duration may be freed after main returns.
[[maybe_unused]] Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

[[maybe_unused]] void* allocate_or_fail(size_t n) {
  void* p = system_allocate(n);
  if (!p) {
    empty_cache();
    p = system_allocate(n);
  }
  if (!p) fail("cpu: out of memory allocating ", n, " bytes");
  return p;
}

}  // namespace

#if defined(TF_CPU_ASAN)

void* cached_allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  void* p = allocate_or_fail(nbytes);
  g_live.fetch_add(nbytes, std::memory_order_relaxed);
  return p;
}
void cached_deallocate(void* p, size_t nbytes) {
  if (!p) return;
  g_live.fetch_sub(nbytes, std::memory_order_relaxed);
  system_free(p, nbytes);
}
void empty_cache() {}
size_t cached_bytes() { return 0; }
void set_cache_limit(size_t nbytes) { cache().limit.store(nbytes, std::memory_order_relaxed); }

#else

namespace {

// ---- per-thread cache of small blocks ----
constexpr int kLocalClasses = 33;     // classes 0..32: blocks up to 16 KiB
constexpr int kLocalMaxBlocks = 64;   // per class and thread

struct LocalCache {  // trivially constructible: no TLS guard on the hot path
  FreeBlock* head[kLocalClasses];
  int count[kLocalClasses];
  bool registered;
};
thread_local LocalCache t_local;

void push_shared(int c, FreeBlock* b) {
  FreeList& fl = cache().lists[c];
  fl.lock();
  b->next = fl.head;
  fl.head = b;
  fl.unlock();
}

// Returns a thread's cached blocks to the shared lists when the thread exits.
struct LocalFlusher {
  int touched = 0;
  ~LocalFlusher() {
    for (int c = 0; c < kLocalClasses; ++c) {
      while (FreeBlock* b = t_local.head[c]) {
        t_local.head[c] = b->next;
        cache().cached.fetch_add(class_size(c), std::memory_order_relaxed);
        push_shared(c, b);
      }
      t_local.count[c] = 0;
    }
  }
};
thread_local LocalFlusher t_flusher;

}  // namespace

void* cached_allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  int c = size_class(nbytes);
  size_t sz = class_size(c);
  g_live.fetch_add(sz, std::memory_order_relaxed);
  if (c < kLocalClasses) {
    if (FreeBlock* b = t_local.head[c]) {
      t_local.head[c] = b->next;
      --t_local.count[c];
      return b;
    }
  }
  Cache& k = cache();
  FreeList& fl = k.lists[c];
  fl.lock();
  FreeBlock* b = fl.head;
  if (b) fl.head = b->next;
  fl.unlock();
  if (b) {
    k.cached.fetch_sub(sz, std::memory_order_relaxed);
    k.last_use[c].store(k.tick.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
    return b;
  }
  try {
    return allocate_or_fail(sz);
  } catch (...) {
    g_live.fetch_sub(sz, std::memory_order_relaxed);
    throw;
  }
}

namespace {
// Frees every block of class c on the shared list; returns the bytes freed.
size_t drain_class(int c) {
  Cache& k = cache();
  FreeList& fl = k.lists[c];
  fl.lock();
  FreeBlock* b = fl.head;
  fl.head = nullptr;
  fl.unlock();
  size_t freed = 0, sz = class_size(c);
  while (b) {
    FreeBlock* next = b->next;
    system_free(b, sz);
    k.cached.fetch_sub(sz, std::memory_order_relaxed);
    freed += sz;
    b = next;
  }
  return freed;
}

// Frees the cached blocks of the least recently used classes (never `keep`) until `need` more
// bytes fit under the cap; false when they cannot.
bool evict_for(size_t need, int keep) {
  Cache& k = cache();
  size_t limit = k.limit.load(std::memory_order_relaxed);
  if (need > limit) return false;
  while (k.cached.load(std::memory_order_relaxed) + need > limit) {
    int victim = -1;
    uint64_t oldest = UINT64_MAX;
    for (int c = 0; c < kNumClasses; ++c) {
      if (c == keep) continue;
      FreeList& fl = k.lists[c];
      if (!__atomic_load_n(&fl.head, __ATOMIC_RELAXED)) continue;
      uint64_t t = k.last_use[c].load(std::memory_order_relaxed);
      if (t < oldest) { oldest = t; victim = c; }
    }
    if (victim < 0) return false;
    drain_class(victim);
  }
  return true;
}
}  // namespace

void cached_deallocate(void* p, size_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
  g_live.fetch_sub(class_size(c), std::memory_order_relaxed);
  FreeBlock* b = static_cast<FreeBlock*>(p);
  if (c < kLocalClasses && t_local.count[c] < kLocalMaxBlocks) {
    if (!t_local.registered) {  // first use on this thread: arrange the flush at thread exit
      t_local.registered = true;
      t_flusher.touched = 1;
    }
    b->next = t_local.head[c];
    t_local.head[c] = b;
    ++t_local.count[c];
    return;
  }
  size_t sz = class_size(c);
  Cache& k = cache();
  if (k.cached.load(std::memory_order_relaxed) + sz > k.limit.load(std::memory_order_relaxed) &&
      !evict_for(sz, c)) {
    system_free(p, sz);
    return;
  }
  k.cached.fetch_add(sz, std::memory_order_relaxed);
  k.last_use[c].store(k.tick.fetch_add(1, std::memory_order_relaxed), std::memory_order_relaxed);
  push_shared(c, b);
}

void empty_cache() {
  Cache& k = cache();
  for (int c = 0; c < kLocalClasses; ++c) {  // this thread's cache only
    while (FreeBlock* b = t_local.head[c]) {
      t_local.head[c] = b->next;
      system_free(b, class_size(c));
    }
    t_local.count[c] = 0;
  }
  for (int c = 0; c < kNumClasses; ++c) drain_class(c);
  (void)k;
}

size_t cached_bytes() { return cache().cached.load(std::memory_order_relaxed); }

void set_cache_limit(size_t nbytes) {
  cache().limit.store(nbytes, std::memory_order_relaxed);
  if (cached_bytes() > nbytes && !evict_for(0, -1)) empty_cache();
}

#endif

size_t cache_limit() { return cache().limit.load(std::memory_order_relaxed); }
size_t live_bytes() { return g_live.load(std::memory_order_relaxed); }
uint64_t os_allocations() { return g_os_allocations.load(std::memory_order_relaxed); }

}  // namespace tapeflow::backend::cpu

namespace tapeflow::cpu {
void empty_cache() { backend::cpu::empty_cache(); }
size_t memory_allocated() { return backend::cpu::live_bytes(); }
size_t memory_reserved() { return backend::cpu::live_bytes() + backend::cpu::cached_bytes(); }
void set_cache_limit(size_t nbytes) { backend::cpu::set_cache_limit(nbytes); }
size_t cache_limit() { return backend::cpu::cache_limit(); }
uint64_t os_allocations() { return backend::cpu::os_allocations(); }
}  // namespace tapeflow::cpu
