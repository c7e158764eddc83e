// The per-thread small-block cache (small_alloc.h).
#include "base/small_alloc.h"
#include "base/tls.h"

#include <cstdint>
#include <cstdlib>

namespace tapeflow::detail {
namespace {

// AddressSanitizer must see every free (GCC defines __SANITIZE_ADDRESS__, clang has the feature).
#if defined(__SANITIZE_ADDRESS__)
#define TF_SMALL_ALLOC_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TF_SMALL_ALLOC_ASAN 1
#endif
#endif
#if defined(TF_SMALL_ALLOC_ASAN)
constexpr bool kPooled = false;
#else
constexpr bool kPooled = true;
#endif

constexpr size_t kGranule = 16;            // malloc's alignment: every block stays 16-aligned
constexpr size_t kClasses = 32;            // classes of 16, 32, ..., 512 bytes
constexpr size_t kCacheBytes = 256 << 10;  // per class and thread

struct FreeBlock { FreeBlock* next; };

struct Cache {
  FreeBlock* head[kClasses] = {};
  unsigned count[kClasses] = {};
  ~Cache() {
    for (size_t c = 0; c < kClasses; ++c)
      while (FreeBlock* b = head[c]) { head[c] = b->next; std::free(b); }
  }
};

// States of a thread's cache pointer: null (not made yet), a live cache, or gone() once the
// thread's cache has been handed back (objects freed later during thread exit use malloc).
inline Cache* gone() { return reinterpret_cast<Cache*>(uintptr_t(1)); }
TAPEFLOW_TLS_FAST thread_local Cache* t_cache = nullptr;

struct CacheOwner {
  Cache cache;
  ~CacheOwner() { t_cache = gone(); }  // runs before `cache` is emptied
};

Cache* cache() {
  Cache* c = t_cache;
  if (c) [[likely]] return c;
  thread_local CacheOwner owner;  // constructed on this first call, destroyed at thread exit
  return t_cache = &owner.cache;
}

inline size_t class_of(size_t bytes) { return (bytes + kGranule - 1) / kGranule - 1; }

}  // namespace

void* small_alloc(size_t bytes) {
  if (kPooled && bytes - 1 < kClasses * kGranule) {
    size_t k = class_of(bytes);
    Cache* c = cache();
    if (c != gone()) {
      if (FreeBlock* b = c->head[k]) {
        c->head[k] = b->next;
        --c->count[k];
        return b;
      }
    }
    // Always the full class size: the block may later serve any request of its class, from
    // whichever thread's cache it is freed into.
    bytes = (k + 1) * kGranule;
  }
  if (void* p = std::malloc(bytes ? bytes : 1)) return p;
  throw std::bad_alloc();
}

void small_free(void* p, size_t bytes) noexcept {
  if (!p) return;
  if (kPooled && bytes - 1 < kClasses * kGranule) {
    Cache* c = cache();
    if (c != gone()) {
      size_t k = class_of(bytes);
      if (c->count[k] * ((k + 1) * kGranule) < kCacheBytes) {  // no division on this path
        auto* b = static_cast<FreeBlock*>(p);
        b->next = c->head[k];
        c->head[k] = b;
        ++c->count[k];
        return;
      }
    }
  }
  std::free(p);
}

}  // namespace tapeflow::detail
