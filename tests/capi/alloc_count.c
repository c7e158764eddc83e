/* Counts heap allocations of the whole process (every thread) while g_alloc_counting is set:
 * malloc and friends are defined here, in the test program, and forward to glibc's own
 * __libc_* entry points. The dynamic linker binds every library's malloc (libstdc++'s operator
 * new included) to these, so nothing allocates unseen. Not for valgrind or ASan runs, which
 * replace malloc themselves. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc_count.h"

extern void* __libc_malloc(size_t);
extern void* __libc_calloc(size_t, size_t);
extern void* __libc_realloc(void*, size_t);
extern void* __libc_memalign(size_t, size_t);
extern void __libc_free(void*);

volatile int g_alloc_counting = 0;
static long g_allocs = 0;

static void count(void) {
  if (g_alloc_counting) __atomic_add_fetch(&g_allocs, 1, __ATOMIC_RELAXED);
}

long alloc_count(void) { return __atomic_load_n(&g_allocs, __ATOMIC_RELAXED); }

void* malloc(size_t n) { count(); return __libc_malloc(n); }
void* calloc(size_t a, size_t b) { count(); return __libc_calloc(a, b); }
void* realloc(void* p, size_t n) { count(); return __libc_realloc(p, n); }
void free(void* p) { __libc_free(p); }
void* memalign(size_t align, size_t n) { count(); return __libc_memalign(align, n); }
void* aligned_alloc(size_t align, size_t n) { count(); return __libc_memalign(align, n); }
int posix_memalign(void** out, size_t align, size_t n) {
  count();
  if (align < sizeof(void*) || (align & (align - 1))) return EINVAL;
  void* p = __libc_memalign(align, n);
  if (!p && n) return ENOMEM;
  *out = p;
  return 0;
}
