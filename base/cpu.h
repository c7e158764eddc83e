// The CPU memory surface (as base/cuda.h for devices): statistics and control of the caching
// allocator behind CPU tensors. Freed blocks are kept for reuse up to a cap (default 256 MiB or
// $TAPEFLOW_CPU_CACHE_MB); past it, the least recently used sizes go back to the system first.
// Blocks of 1 MiB and more are mapped and unmapped directly, so memory given back leaves the
// process's resident set at once.
#pragma once
#include <cstddef>
#include <cstdint>

namespace tapeflow::cpu {

void empty_cache();          // return every cached block to the system
size_t memory_allocated();   // bytes held by live CPU tensors (rounded to the allocator's sizes)
size_t memory_reserved();    // memory_allocated() + bytes cached for reuse (shared lists; each
                             // thread also keeps up to 64 small blocks per size, not counted)
void set_cache_limit(size_t nbytes);  // the cap on cached bytes (0 = cache nothing large)
size_t cache_limit();
// Blocks obtained from the system (malloc or mmap) since the process started: a training loop in
// its steady state should not raise it.
uint64_t os_allocations();

}  // namespace tapeflow::cpu
