// Run-time loading of OpenBLAS. Before dlopen, when the user has not set OPENBLAS_CORETYPE, the
// kernel family is chosen from cpuid (AVX-512 -> SkylakeX, AVX2+FMA -> Haswell) and exported
// only for the duration of the dlopen call, so child processes see the user's environment.
// A process that already has OpenBLAS loaded keeps whatever kernel it picked.
// OpenBLAS runs single-threaded: OPENBLAS_NUM_THREADS=1 is exported for the dlopen too (unless the
// user set it), so OpenBLAS starts no thread pool of its own, and openblas_set_num_threads(1)
// follows the load. Large products are split over tapeflow's pool by gemm.cpp, which keeps one
// thread budget (set_num_threads) and lets a host job system run them.
#include "backends/cpu/blas.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdlib>
#include <mutex>

#include "base/error.h"
#include "base/runtime.h"

namespace tapeflow::backend::cpu::blas {
namespace {

constexpr const char* kLibName = "libopenblas.so.0";

std::mutex g_mutex;
Api g_api;
std::atomic<bool> g_loaded{false};
std::string g_reason;  // why this core type ("chosen: avx2+fma", "from OPENBLAS_CORETYPE", ...)

// The core type the CPU supports best, or nullptr to let OpenBLAS decide.
const char* pick_coretype(std::string& why) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")) {
    why = "chosen: avx512f";
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    why = "chosen: avx2+fma";
    return "Haswell";
  }
#endif
  why = "OpenBLAS autodetect";
  return nullptr;
}

template <class Fn>
Fn symbol(void* handle, const char* name) {
  return reinterpret_cast<Fn>(dlsym(handle, name));
}

void load_locked() {
  const char* user = std::getenv("OPENBLAS_CORETYPE");
  bool exported = false;
  std::string why;
  if (user && *user) {
    why = str_cat("from OPENBLAS_CORETYPE=", user);
  } else if (void* existing = dlopen(kLibName, RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD)) {
    dlclose(existing);  // drops the extra reference only
    why = "OpenBLAS was already loaded";
  } else if (const char* core = pick_coretype(why)) {
    setenv("OPENBLAS_CORETYPE", core, 1);
    exported = true;
  }
  const char* user_threads = std::getenv("OPENBLAS_NUM_THREADS");
  bool threads_exported = !(user_threads && *user_threads);
  if (threads_exported) setenv("OPENBLAS_NUM_THREADS", "1", 1);
  void* handle = dlopen(kLibName, RTLD_NOW | RTLD_LOCAL);
  const char* err = handle ? nullptr : dlerror();
  if (exported) unsetenv("OPENBLAS_CORETYPE");
  if (threads_exported) unsetenv("OPENBLAS_NUM_THREADS");
  if (!handle) fail("gemm: could not load OpenBLAS (", kLibName, "): ", err ? err : "unknown error");
  Api api;
  api.sgemm = symbol<decltype(api.sgemm)>(handle, "cblas_sgemm");
  api.dgemm = symbol<decltype(api.dgemm)>(handle, "cblas_dgemm");
  api.sgemv = symbol<decltype(api.sgemv)>(handle, "cblas_sgemv");
  api.dgemv = symbol<decltype(api.dgemv)>(handle, "cblas_dgemv");
  api.set_num_threads = symbol<decltype(api.set_num_threads)>(handle, "openblas_set_num_threads");
  api.get_corename = symbol<decltype(api.get_corename)>(handle, "openblas_get_corename");
  if (!api.sgemm || !api.dgemm || !api.sgemv || !api.dgemv)
    fail("gemm: could not load OpenBLAS (", kLibName, "): cblas_sgemm/dgemm/sgemv/dgemv not found");
  if (api.set_num_threads) api.set_num_threads(1);
  g_api = api;
  g_reason = why;
  g_loaded.store(true, std::memory_order_release);
}

}  // namespace

const Api& api() {
  if (!g_loaded.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lk(g_mutex);
    if (!g_loaded.load(std::memory_order_relaxed)) load_locked();
  }
  return g_api;
}

void sync_threads(int) {
  // OpenBLAS stays at one thread (gemm.cpp splits products over tapeflow's pool); re-assert it
  // in case the process changed it behind tapeflow's back.
  std::lock_guard<std::mutex> lk(g_mutex);
  if (g_loaded.load(std::memory_order_relaxed) && g_api.set_num_threads) g_api.set_num_threads(1);
}

std::string info() {
  const Api& a = api();
  std::string core = a.get_corename ? std::string(a.get_corename()) : std::string("unknown core");
  return str_cat(core, " (", g_reason, ")");
}

}  // namespace tapeflow::backend::cpu::blas

namespace tapeflow {
std::string blas_info() { return backend::cpu::blas::info(); }
}  // namespace tapeflow
