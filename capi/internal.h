// Internal to capi/ (not part of the public API): the structs behind the C handles, the handle
// registry and the guard that turns every C++ exception into a tf_status + message.
#pragma once
#include <memory>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "capi/tapeflow_c.h"
#include "tapeflow.h"

struct tf_tensor {
  tapeflow::Tensor t;
};

// The optimizer as the C side named it (clone() makes another of the same kind).
struct tf_optimizer {
  std::shared_ptr<tapeflow::optim::Optimizer> opt;
  std::string name, options;
  bool attached = false;  // compiled into a model: an optimizer serves one model only
};

// One layer as the builder was told (what clone() replays).
struct tf_layer_spec {
  enum Kind { Dense, Flatten, Dropout, Activation } kind = Dense;
  int64_t units = 0, input_dim = 0;
  bool use_bias = true;
  std::string activation, kernel_init, bias_init;
  double rate = 0.0;
};

struct tf_model {
  std::shared_ptr<tapeflow::nn::Sequential> seq = std::make_shared<tapeflow::nn::Sequential>();
  std::vector<tf_layer_spec> layers;
  std::shared_ptr<tapeflow::optim::Optimizer> opt;  // the compiled optimizer (also held by seq)
  std::string opt_name, opt_options, loss;
  tapeflow::Device device = tapeflow::Device::cpu();
};

namespace tapeflow::capi {

// Thrown by the C layer's own checks: the status to return and the message.
struct Failure {
  tf_status code;
  std::string message;
};
template <class... A>
[[noreturn]] void raise(tf_status code, const A&... parts) {
  throw Failure{code, str_cat(parts...)};
}

void set_error(const char* fn, const char* message);
void clear_error();
tf_status classify(const char* message, tf_status fallback);

// Runs f, returning TF_OK, or the status of whatever it threw with tf_last_error() set to
// "<fn>: <message>". `lib_code` is the status of a tapeflow::Error from the library.
template <class F>
tf_status guard(const char* fn, tf_status lib_code, F&& f) noexcept {
  try {
    clear_error();
    f();
    return TF_OK;
  } catch (const Failure& e) {
    set_error(fn, e.message.c_str());
    return e.code;
  } catch (const std::bad_alloc&) {
    set_error(fn, "out of memory");
    return TF_ERR_OUT_OF_MEMORY;
  } catch (const std::exception& e) {
    set_error(fn, e.what());
    return classify(e.what(), lib_code);
  } catch (...) {
    set_error(fn, "unknown C++ exception");
    return TF_ERR_INTERNAL;
  }
}

// ---- live handles: a freed (or foreign) handle is reported, never dereferenced ----
enum class Kind { Tensor = 1, Model = 2, Optimizer = 3 };
void register_handle(const void* h, Kind k);
void unregister_handle(const void* h, Kind k, const char* what);  // raises when not live
// Destroys *h and keeps its memory out of reuse for the next 4096 frees, so that a freed handle
// used again is still reported rather than mistaken for a newer one at the same address.
void quarantine(void* h);
template <class T>
void destroy_handle(T* h, Kind k, const char* what) {
  unregister_handle(h, k, what);
  h->~T();
  quarantine(h);
}
void check_handle(const void* h, Kind k, const char* what);       // raises on null / not live

inline tf_tensor* get(const tf_tensor* h, const char* what) {
  check_handle(h, Kind::Tensor, what);
  return const_cast<tf_tensor*>(h);
}
inline tf_model* get(const tf_model* h, const char* what) {
  check_handle(h, Kind::Model, what);
  return const_cast<tf_model*>(h);
}
inline tf_optimizer* get(const tf_optimizer* h, const char* what) {
  check_handle(h, Kind::Optimizer, what);
  return const_cast<tf_optimizer*>(h);
}
template <class T>
void need(const T* p, const char* what) {
  if (!p) raise(TF_ERR_INVALID_ARGUMENT, what, " is NULL");
}

DType to_dtype(tf_dtype d);  // raises on an unknown value
tf_dtype from_dtype(DType d);
Shape to_shape(const int64_t* shape, int ndim, const char* what);  // checks ndim, sizes >= 0

// Parses "k=v,k=v" into pairs (values as text).
std::vector<std::pair<std::string, std::string>> parse_options(const char* options);
std::shared_ptr<optim::Optimizer> make_optimizer(const std::string& name, const char* options);

}  // namespace tapeflow::capi
