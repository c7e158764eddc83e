// The small-block cache behind TensorImpl, Storage, AutogradMeta and tape nodes
// (tensor/small_alloc.h): blocks keep their contents apart at every size class boundary, a
// block may be freed on another thread than its own (also after that thread has ended), and
// threads that end hand their cache back. Under AddressSanitizer the same calls go to malloc.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <thread>
#include <vector>

#include "tensor/small_alloc.h"

using tapeflow::detail::small_alloc;
using tapeflow::detail::small_free;

namespace {
struct Block { unsigned char* p; size_t n; unsigned char fill; };

std::vector<Block> make_blocks(unsigned char seed) {
  std::vector<Block> v;
  for (size_t n : {size_t(1), size_t(15), size_t(16), size_t(17), size_t(31), size_t(32), size_t(100),
                   size_t(511), size_t(512), size_t(513), size_t(4096)})
    for (int k = 0; k < 40; ++k) {
      auto* p = static_cast<unsigned char*>(small_alloc(n));
      REQUIRE(p != nullptr);
      CHECK(reinterpret_cast<uintptr_t>(p) % 16 == 0);
      unsigned char fill = static_cast<unsigned char>(seed + v.size());
      std::memset(p, fill, n);
      v.push_back({p, n, fill});
    }
  return v;
}

bool intact(const std::vector<Block>& v) {
  for (const Block& b : v)
    for (size_t i = 0; i < b.n; ++i)
      if (b.p[i] != b.fill) return false;
  return true;
}

void free_all(std::vector<Block>& v) {
  for (Block& b : v) small_free(b.p, b.n);
  v.clear();
}
}  // namespace

TEST_CASE("small_alloc: blocks of every class stay apart and are reused", "[tensor][alloc]") {
  std::vector<Block> a = make_blocks(1);
  CHECK(intact(a));
  free_all(a);
  std::vector<Block> b = make_blocks(90);  // served from the cache this time
  CHECK(intact(b));
  free_all(b);
  small_free(nullptr, 16);  // a no-op, like free(nullptr)
}

TEST_CASE("small_alloc: blocks freed on other threads, also after their thread ended", "[tensor][alloc][threads]") {
  std::vector<Block> mine = make_blocks(7);
  std::vector<Block> theirs;
  std::thread t([&] {
    theirs = make_blocks(50);
    free_all(mine);  // this thread's blocks join the other thread's cache...
    std::vector<Block> again = make_blocks(120);  // ...and serve it
    CHECK(intact(again));
    free_all(again);
  });  // ...which goes back to malloc when it ends
  t.join();
  CHECK(intact(theirs));
  free_all(theirs);  // the ended thread's blocks, freed here
  std::vector<Block> last = make_blocks(200);
  CHECK(intact(last));
  free_all(last);
}
