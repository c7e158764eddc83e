// The CPU thread pool behind every parallel loop of the CPU backend: parallel_for splits
// [begin, end) into at most get_num_threads() static, deterministic chunks of >= grain elements.
// Ranges below the grain run inline on the caller with no synchronisation at all; a parallel_for
// issued from inside a parallel region (a worker, or the caller's own chunk) also runs inline.
// Internal header (not part of the public API).
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

namespace tapeflow::backend::cpu {

using ChunkFn = void (*)(void* ctx, int64_t chunk_begin, int64_t chunk_end);

// Runs fn over [begin, end) split into chunks of at least `grain` elements on the pool.
// Exceptions thrown by a chunk are rethrown on the caller (the first one wins).
void parallel_run(int64_t begin, int64_t end, int64_t grain, ChunkFn fn, void* ctx);

// The number of chunks parallel_run would use for this range (1 = runs inline).
int parallel_chunks(int64_t range, int64_t grain);

// True while the calling thread executes a chunk of a parallel region.
bool in_parallel_region();

// Makes the pool's thread count current (the value of set_num_threads / the default).
int pool_threads();

template <class F>
inline void parallel_for(int64_t begin, int64_t end, int64_t grain, F&& fn) {
  if (end <= begin) return;
  if (grain < 1) grain = 1;
  if (end - begin < 2 * grain) {  // a single chunk: run inline, no locks, no atomics
    fn(begin, end);
    return;
  }
  using Fn = std::remove_reference_t<F>;
  parallel_run(begin, end, grain,
               [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
               const_cast<void*>(static_cast<const void*>(&fn)));
}

}  // namespace tapeflow::backend::cpu
