/* Heap-allocation counter for tests (see alloc_count.c). */
#ifndef TAPEFLOW_TEST_ALLOC_COUNT_H
#define TAPEFLOW_TEST_ALLOC_COUNT_H
extern volatile int g_alloc_counting;
long alloc_count(void);
#endif
