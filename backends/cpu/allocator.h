// The CPU caching allocator: 64-byte aligned blocks in size classes (four per power of two),
// kept on per-class free lists after deallocate so that the next tensor of that size costs a
// few tens of nanoseconds. Under AddressSanitizer the cache is bypassed so that ASan still
// reports use-after-free. Internal header (not part of the public API).
#pragma once
#include <cstddef>
#include <cstdint>

namespace tapeflow::backend::cpu {

void* cached_allocate(size_t nbytes);             // throws tapeflow::Error on failure
void cached_deallocate(void* p, size_t nbytes);   // nbytes: the size given to cached_allocate
void empty_cache();                               // frees every cached block
size_t cached_bytes();                            // bytes held on the free lists
// Upper bound for cached_bytes (default 256 MiB or $TAPEFLOW_CPU_CACHE_MB); a block that would
// pass it evicts the blocks of the least recently used sizes first (or goes back to the system).
void set_cache_limit(size_t nbytes);
size_t cache_limit();
size_t live_bytes();        // bytes handed out and not returned (class sizes)
uint64_t os_allocations();  // blocks obtained from the system since the start

}  // namespace tapeflow::backend::cpu
