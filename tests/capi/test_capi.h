/* Shared by the C API's C tests: pass/fail counters and checking macros. */
#ifndef TAPEFLOW_TEST_CAPI_H
#define TAPEFLOW_TEST_CAPI_H
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "tapeflow_c.h"

extern int passed, failed;
extern const char* tmpdir;

#define CHECK(cond)                                                           \
  do {                                                                        \
    if (cond) ++passed;                                                       \
    else { ++failed; printf("FAILED %s:%d: %s\n", __FILE__, __LINE__, #cond); } \
  } while (0)

/* The call returns `code` and tf_last_error() contains `text`. */
#define CHECK_ERR(call, code, text)                                                          \
  do {                                                                                       \
    tf_status st_ = (call);                                                                  \
    if (st_ == (code) && strstr(tf_last_error(), (text))) ++passed;                          \
    else { ++failed; printf("FAILED %s:%d: %s gave %s \"%s\", wanted %s \"%s\"\n", __FILE__, \
                            __LINE__, #call, tf_status_string(st_), tf_last_error(),         \
                            tf_status_string(code), (text)); }                              \
  } while (0)

#define OK(call)                                                                         \
  do {                                                                                   \
    tf_status st_ = (call);                                                              \
    if (st_ == TF_OK) ++passed;                                                          \
    else { ++failed; printf("FAILED %s:%d: %s: %s %s\n", __FILE__, __LINE__, #call,      \
                            tf_status_string(st_), tf_last_error()); }                   \
  } while (0)

static inline int close_to(float a, float b) { return fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b)); }

static inline void path_in_tmp(char* buf, size_t n, const char* name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

void test_model_bad_input(void);
void test_json(void);
#endif
