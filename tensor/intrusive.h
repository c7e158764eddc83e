// A minimal intrusive reference-counted pointer: one allocation per object and one atomic
// per copy, the cheapest shared handle for tensors and storages (a new object's count is set,
// and the last reference frees without an atomic decrement).
#pragma once
#include <atomic>
#include <utility>

namespace tapeflow {

struct RefCounted {
  mutable std::atomic<int> refcount_{0};
  RefCounted() = default;
  RefCounted(const RefCounted&) : refcount_{0} {}
  RefCounted& operator=(const RefCounted&) { return *this; }
};

template <class T>
class IntrusivePtr {
 public:
  IntrusivePtr() = default;
  explicit IntrusivePtr(T* p) : p_(p) { if (p_) p_->refcount_.fetch_add(1, std::memory_order_relaxed); }
  // Takes a new object no other thread can see yet: its count is set, not atomically added to.
  struct Fresh {};
  IntrusivePtr(T* p, Fresh) : p_(p) { p_->refcount_.store(1, std::memory_order_relaxed); }
  IntrusivePtr(const IntrusivePtr& o) : p_(o.p_) { if (p_) p_->refcount_.fetch_add(1, std::memory_order_relaxed); }
  IntrusivePtr(IntrusivePtr&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  ~IntrusivePtr() { release(); }
  IntrusivePtr& operator=(const IntrusivePtr& o) { IntrusivePtr(o).swap(*this); return *this; }
  IntrusivePtr& operator=(IntrusivePtr&& o) noexcept { IntrusivePtr(std::move(o)).swap(*this); return *this; }
  void swap(IntrusivePtr& o) noexcept { std::swap(p_, o.p_); }
  void reset() { release(); p_ = nullptr; }
  T* get() const { return p_; }
  T* operator->() const { return p_; }
  T& operator*() const { return *p_; }
  explicit operator bool() const { return p_ != nullptr; }
  int use_count() const { return p_ ? p_->refcount_.load(std::memory_order_relaxed) : 0; }
  bool operator==(const IntrusivePtr& o) const { return p_ == o.p_; }

 private:
  void release() {
    if (!p_) return;
    // The only reference (most temporaries): no other thread can reach the object to copy it,
    // so it goes without the atomic decrement.
    if (p_->refcount_.load(std::memory_order_acquire) == 1 ||
        p_->refcount_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete p_;
  }
  T* p_ = nullptr;
};

template <class T, class... Args>
IntrusivePtr<T> make_intrusive(Args&&... args) {
  return IntrusivePtr<T>(new T(std::forward<Args>(args)...), typename IntrusivePtr<T>::Fresh{});
}

}  // namespace tapeflow
