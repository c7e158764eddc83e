// Internal: TAPEFLOW_TLS_FAST marks a small thread_local of the library as initial-exec, so
// each access is a direct %fs load instead of a __tls_get_addr call (the default model for
// thread_locals of a shared library). Keep it to a few bytes in all: a dlopen()ed library
// (tapeflow under cling/cppyy) gets them from glibc's spare static TLS space.
// Not part of the public API; never used in headers.
#pragma once

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define TAPEFLOW_TLS_FAST __attribute__((tls_model("initial-exec")))
#else
#define TAPEFLOW_TLS_FAST
#endif
