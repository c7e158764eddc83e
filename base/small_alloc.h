// tapeflow::detail::small_alloc: a per-thread cache of small heap blocks for the objects every
// op creates (TensorImpl, Storage, AutogradMeta, tape nodes, their edge and gradient vectors).
// Installed because tensor.h and autograd/node.h use it; users have no need to call it.
//
// glibc keeps only 7 freed blocks per size in its fast per-thread cache; a tape of a hundred
// ops frees hundreds of same-sized blocks at once and then allocates them again, so most of
// those calls took malloc's slow paths (a quarter of the time of a small op chain). Here each
// thread keeps up to about 256 KiB of freed blocks per 16-byte size class (sizes up to 512
// bytes; larger ones go straight to malloc). A block may be freed on another thread than the
// one that allocated it: it then joins that thread's cache. A thread's cache goes back to
// malloc when the thread ends. Under AddressSanitizer every call goes to malloc/free, so
// use-after-free stays visible.
#pragma once
#include <cstddef>
#include <new>

namespace tapeflow::detail {

void* small_alloc(size_t bytes);               // never returns null (throws std::bad_alloc)
void small_free(void* p, size_t bytes) noexcept;  // bytes: the size given to small_alloc

// Class-scope operator new/delete that route a type through the cache.
#define TAPEFLOW_SMALL_ALLOC_OPERATORS                                                     \
  static void* operator new(size_t n) { return ::tapeflow::detail::small_alloc(n); }      \
  static void operator delete(void* p, size_t n) noexcept { ::tapeflow::detail::small_free(p, n); }

// A standard allocator over the cache (for std::allocate_shared and small vectors).
template <class T>
struct SmallAllocator {
  using value_type = T;
  SmallAllocator() = default;
  template <class U> SmallAllocator(const SmallAllocator<U>&) noexcept {}
  T* allocate(size_t n) { return static_cast<T*>(small_alloc(n * sizeof(T))); }
  void deallocate(T* p, size_t n) noexcept { small_free(p, n * sizeof(T)); }
  template <class U> bool operator==(const SmallAllocator<U>&) const noexcept { return true; }
  template <class U> bool operator!=(const SmallAllocator<U>&) const noexcept { return false; }
};

}  // namespace tapeflow::detail
