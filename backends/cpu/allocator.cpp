// Caching allocator for CPU tensors. Size classes step by 1/4 of a power of two (at most 25%
// slack), each with an intrusive free list (the next pointer lives in the free block) behind a
// tiny spinlock. Small blocks also go through a per-thread cache (no atomics at all: a hit is a
// clz and a pop), flushed to the shared lists when the thread exits. Bytes on the shared lists
// are capped; under AddressSanitizer every call goes straight to aligned new/delete.
#include "backends/cpu/allocator.h"

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

#include "tensor/error.h"

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

void* system_allocate(size_t n) { return ::operator new(n, std::align_val_t{kAlign}, std::nothrow); }
void system_free(void* p) { ::operator delete(p, std::align_val_t{kAlign}); }

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
  return size_t(2) << 30;
}

struct Cache {
  FreeList lists[kNumClasses];
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

void* cached_allocate(size_t nbytes) { return nbytes == 0 ? nullptr : allocate_or_fail(nbytes); }
void cached_deallocate(void* p, size_t) { if (p) system_free(p); }
void empty_cache() {}
size_t cached_bytes() { return 0; }
void set_cache_limit(size_t) {}

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
    k.cached.fetch_sub(class_size(c), std::memory_order_relaxed);
    return b;
  }
  return allocate_or_fail(class_size(c));
}

void cached_deallocate(void* p, size_t nbytes) {
  if (!p) return;
  int c = size_class(nbytes);
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
  if (k.cached.load(std::memory_order_relaxed) + sz > k.limit.load(std::memory_order_relaxed)) {
    system_free(p);
    return;
  }
  k.cached.fetch_add(sz, std::memory_order_relaxed);
  push_shared(c, b);
}

void empty_cache() {
  Cache& k = cache();
  for (int c = 0; c < kLocalClasses; ++c) {  // this thread's cache only
    while (FreeBlock* b = t_local.head[c]) {
      t_local.head[c] = b->next;
      system_free(b);
    }
    t_local.count[c] = 0;
  }
  for (int c = 0; c < kNumClasses; ++c) {
    FreeList& fl = k.lists[c];
    fl.lock();
    FreeBlock* b = fl.head;
    fl.head = nullptr;
    fl.unlock();
    while (b) {
      FreeBlock* next = b->next;
      system_free(b);
      k.cached.fetch_sub(class_size(c), std::memory_order_relaxed);
      b = next;
    }
  }
}

size_t cached_bytes() { return cache().cached.load(std::memory_order_relaxed); }

void set_cache_limit(size_t nbytes) {
  cache().limit.store(nbytes, std::memory_order_relaxed);
  if (cached_bytes() > nbytes) empty_cache();
}

#endif

}  // namespace tapeflow::backend::cpu
