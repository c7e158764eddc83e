// Hook lists and the handles that remove a hook (module forward hooks, tensor gradient hooks).
// A list lives behind a shared_ptr owned by what holds the hooks; a handle keeps only a weak
// reference, so removing after the owner is gone is a no-op.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

namespace tapeflow {

template <class Fn>
struct HookList {
  std::vector<std::pair<uint64_t, Fn>> hooks;  // in registration order
  uint64_t next_id = 1;
};

// Returned by every register_*hook: remove() unregisters that hook (idempotent).
class RemovableHandle {
 public:
  RemovableHandle() = default;
  template <class Fn>
  RemovableHandle(const std::shared_ptr<HookList<Fn>>& list, uint64_t id) {
    std::weak_ptr<HookList<Fn>> weak = list;
    remove_ = [weak, id] {
      if (auto l = weak.lock())
        for (auto it = l->hooks.begin(); it != l->hooks.end(); ++it)
          if (it->first == id) {
            l->hooks.erase(it);
            return;
          }
    };
  }
  void remove() {
    if (remove_) remove_();
    remove_ = nullptr;
  }

 private:
  std::function<void()> remove_;
};

// Adds fn to *list (created when null) and returns its handle.
template <class Fn>
RemovableHandle add_hook(std::shared_ptr<HookList<Fn>>& list, Fn fn) {
  if (!list) list = std::make_shared<HookList<Fn>>();
  uint64_t id = list->next_id++;
  list->hooks.emplace_back(id, std::move(fn));
  return RemovableHandle(list, id);
}

}  // namespace tapeflow
