// The C API's plumbing: per-thread error messages, the handle registry, versions, runtime
// settings, devices and the IDX reader.
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "capi/internal.h"
#include "data/idx.h"
#include "base/cuda.h"
#include "base/runtime.h"

namespace tapeflow::capi {
namespace {

thread_local std::string t_error;

struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, Kind> live;
  void* held[4096] = {};  // freed handles' memory, oldest released first
  size_t next = 0;
};
// Never destroyed: handles may be freed by static destructors of the host.
Registry& registry() {
  static Registry* r = new Registry;
  return *r;
}

const char* kind_name(Kind k) {
  switch (k) {
    case Kind::Tensor: return "tf_tensor";
    case Kind::Model: return "tf_model";
    case Kind::Optimizer: return "tf_optimizer";
  }
  return "handle";
}

}  // namespace

void set_error(const char* fn, const char* message) {
  try {
    t_error.assign(fn);
    t_error += ": ";
    t_error += message;
  } catch (...) {
    t_error.clear();
  }
}
void clear_error() { t_error.clear(); }

tf_status classify(const char* message, tf_status fallback) {
  if (std::strstr(message, "built without CUDA") || std::strstr(message, "no CUDA device"))
    return TF_ERR_UNSUPPORTED;
  if (std::strstr(message, "out of memory")) return TF_ERR_OUT_OF_MEMORY;
  return fallback;
}

void register_handle(const void* h, Kind k) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  r.live[h] = k;
}

void unregister_handle(const void* h, Kind k, const char* what) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.live.find(h);
  if (it == r.live.end() || it->second != k)
    raise(TF_ERR_INVALID_HANDLE, what, " is not a live ", kind_name(k),
          " (freed already, or never created by tapeflow)");
  r.live.erase(it);
}

void quarantine(void* h) {
  Registry& r = registry();
  void* oldest;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    oldest = r.held[r.next];
    r.held[r.next] = h;
    r.next = (r.next + 1) % (sizeof r.held / sizeof r.held[0]);
  }
  ::operator delete(oldest);
}

void check_handle(const void* h, Kind k, const char* what) {
  if (!h) raise(TF_ERR_INVALID_ARGUMENT, what, " is NULL");
  Registry& r = registry();
  Kind found;
  {
    std::lock_guard<std::mutex> lock(r.mu);
    auto it = r.live.find(h);
    if (it == r.live.end())
      raise(TF_ERR_INVALID_HANDLE, what, " is not a live ", kind_name(k),
            " (freed already, or never created by tapeflow)");
    found = it->second;
  }
  if (found != k) raise(TF_ERR_INVALID_HANDLE, what, " is a ", kind_name(found), ", not a ", kind_name(k));
}

DType to_dtype(tf_dtype d) {
  switch (d) {
    case TF_FLOAT32: return kFloat32;
    case TF_FLOAT64: return kFloat64;
    case TF_INT32: return kInt32;
    case TF_INT64: return kInt64;
    case TF_UINT8: return kUInt8;
    case TF_BOOL: return kBool;
    case TF_DTYPE_MAX_ENUM: break;
  }
  raise(TF_ERR_INVALID_ARGUMENT, "unknown tf_dtype value ", (int)d, " (valid: 0..5)");
}

tf_dtype from_dtype(DType d) {
  if (d == kFloat32) return TF_FLOAT32;
  if (d == kFloat64) return TF_FLOAT64;
  if (d == kInt32) return TF_INT32;
  if (d == kInt64) return TF_INT64;
  if (d == kUInt8) return TF_UINT8;
  if (d == kBool) return TF_BOOL;
  raise(TF_ERR_INTERNAL, "dtype ", d, " has no tf_dtype");
}

Shape to_shape(const int64_t* shape, int ndim, const char* what) {
  if (ndim < 0 || ndim > 16) raise(TF_ERR_SHAPE, what, ": ndim ", ndim, " is outside 0..16");
  if (ndim > 0 && !shape) raise(TF_ERR_INVALID_ARGUMENT, what, " is NULL with ndim ", ndim);
  Shape s;
  int64_t numel = 1;
  for (int i = 0; i < ndim; ++i) {
    if (shape[i] < 0) raise(TF_ERR_SHAPE, what, "[", i, "] = ", shape[i], " is negative");
    if (shape[i] > 0 && numel > (int64_t(1) << 48) / shape[i])
      raise(TF_ERR_SHAPE, what, ": more than 2^48 elements");
    numel *= shape[i];
    s.push_back(shape[i]);
  }
  return s;
}

}  // namespace tapeflow::capi

using namespace tapeflow;
using namespace tapeflow::capi;

extern "C" {

const char* tf_last_error(void) { return t_error.c_str(); }

const char* tf_status_string(tf_status status) {
  switch (status) {
    case TF_OK: return "TF_OK";
    case TF_ERR_INVALID_ARGUMENT: return "TF_ERR_INVALID_ARGUMENT";
    case TF_ERR_INVALID_HANDLE: return "TF_ERR_INVALID_HANDLE";
    case TF_ERR_SHAPE: return "TF_ERR_SHAPE";
    case TF_ERR_IO: return "TF_ERR_IO";
    case TF_ERR_STATE: return "TF_ERR_STATE";
    case TF_ERR_UNSUPPORTED: return "TF_ERR_UNSUPPORTED";
    case TF_ERR_OUT_OF_MEMORY: return "TF_ERR_OUT_OF_MEMORY";
    case TF_ERR_INTERNAL: return "TF_ERR_INTERNAL";
    case TF_STATUS_MAX_ENUM: break;
  }
  return "TF_ERR_UNKNOWN";
}

int tf_version(void) { return TAPEFLOW_VERSION; }

const char* tf_version_string(void) {
#define TF_STR2(x) #x
#define TF_STR(x) TF_STR2(x)
  return TF_STR(TAPEFLOW_VERSION_MAJOR) "." TF_STR(TAPEFLOW_VERSION_MINOR) "." TF_STR(TAPEFLOW_VERSION_PATCH);
}

tf_status tf_check_version(int compiled) {
  return guard("tf_check_version", TF_ERR_UNSUPPORTED, [&] {
    if (compiled < 0) raise(TF_ERR_INVALID_ARGUMENT, "version ", compiled, " is negative");
    if (compiled / 10000 != TAPEFLOW_VERSION_MAJOR || compiled % 10000 > TAPEFLOW_VERSION % 10000)
      raise(TF_ERR_UNSUPPORTED, "the program was compiled against tapeflow ", compiled / 10000, ".",
            compiled / 100 % 100, ".", compiled % 100, " but the library is ", tf_version_string(),
            " (needs the same major version and a minor.patch at least as new)");
  });
}

tf_status tf_set_num_threads(int n) {
  return guard("tf_set_num_threads", TF_ERR_INVALID_ARGUMENT, [&] {
    if (n < 1 || n > 1024) raise(TF_ERR_INVALID_ARGUMENT, "n = ", n, " is outside 1..1024");
    set_num_threads(n);
  });
}

tf_status tf_get_num_threads(int* n) {
  return guard("tf_get_num_threads", TF_ERR_INTERNAL, [&] {
    need(n, "n");
    *n = get_num_threads();
  });
}

namespace {
// tapeflow::JobSystem over a host's C callbacks (one per process, replaced by the next call).
class CJobSystem final : public tapeflow::JobSystem {
 public:
  tf_job_system js{};
  int concurrency() const override {
    int c = js.concurrency(js.user);
    return c < 1 ? 1 : c;
  }
  void run(int nchunks, void (*chunk)(void*, int), void* ctx) override { js.run(js.user, nchunks, chunk, ctx); }
};
CJobSystem g_job_system;
}  // namespace

tf_status tf_set_job_system(const tf_job_system* js) {
  return guard("tf_set_job_system", TF_ERR_INVALID_ARGUMENT, [&] {
    if (!js) {
      set_job_system(nullptr);
      return;
    }
    if (!js->run || !js->concurrency) raise(TF_ERR_INVALID_ARGUMENT, "js->run and js->concurrency must be set");
    set_job_system(nullptr);  // never let the pool see a half-written struct
    g_job_system.js = *js;
    set_job_system(&g_job_system);
  });
}

tf_status tf_manual_seed(uint64_t seed) {
  return guard("tf_manual_seed", TF_ERR_INTERNAL, [&] { manual_seed(seed); });
}

tf_status tf_device_available(const char* device, int* available) {
  return guard("tf_device_available", TF_ERR_INVALID_ARGUMENT, [&] {
    need(device, "device");
    need(available, "available");
    Device d{std::string(device)};
    if (d.is_cpu()) {
      *available = 1;
      return;
    }
    try {
      (void)zeros({1}, Options(kFloat32, d));
      *available = 1;
    } catch (const std::exception& e) {
      *available = 0;
      set_error("tf_device_available", e.what());  // the reason, for the caller who asks
    }
  });
}

tf_status tf_read_idx(const char* path, tf_tensor** out) {
  return guard("tf_read_idx", TF_ERR_IO, [&] {
    need(path, "path");
    need(out, "out");
    auto h = std::make_unique<tf_tensor>();
    h->t = data::read_idx(path);
    register_handle(h.get(), Kind::Tensor);
    *out = h.release();
  });
}

}  // extern "C"
