// C API: tensors made from, wrapped around and read into the caller's buffers.
#include <cstdint>
#include <cstring>

#include "capi/internal.h"

using namespace tapeflow;
using namespace tapeflow::capi;

namespace {

tf_status make(const char* fn, void* data, bool wrap, const int64_t* shape, int ndim, tf_dtype dtype,
               tf_tensor** out) {
  return guard(fn, TF_ERR_INVALID_ARGUMENT, [&] {
    need(out, "out");
    Shape s = to_shape(shape, ndim, "shape");
    DType dt = to_dtype(dtype);
    auto h = std::make_unique<tf_tensor>();
    if (wrap) {
      if (!data && s.numel() > 0) raise(TF_ERR_INVALID_ARGUMENT, "data is NULL for shape ", s);
      if (reinterpret_cast<uintptr_t>(data) % dtype_size(dt) != 0)
        raise(TF_ERR_INVALID_ARGUMENT, "data ", data, " is not aligned to its ", dtype_size(dt), "-byte elements");
      h->t = from_blob(data, s, dt);
    } else {
      h->t = data ? from_blob_copy(data, s, dt) : zeros(s, Options(dt));
    }
    register_handle(h.get(), Kind::Tensor);
    *out = h.release();
  });
}

}  // namespace

extern "C" {

tf_status tf_tensor_create(const void* data, const int64_t* shape, int ndim, tf_dtype dtype, tf_tensor** out) {
  return make("tf_tensor_create", const_cast<void*>(data), false, shape, ndim, dtype, out);
}

tf_status tf_tensor_wrap(void* data, const int64_t* shape, int ndim, tf_dtype dtype, tf_tensor** out) {
  return make("tf_tensor_wrap", data, true, shape, ndim, dtype, out);
}

tf_status tf_tensor_ndim(const tf_tensor* t, int* ndim) {
  return guard("tf_tensor_ndim", TF_ERR_INTERNAL, [&] {
    tf_tensor* h = get(t, "t");
    need(ndim, "ndim");
    *ndim = h->t.dim();
  });
}

tf_status tf_tensor_shape(const tf_tensor* t, int64_t* shape, int capacity) {
  return guard("tf_tensor_shape", TF_ERR_INTERNAL, [&] {
    tf_tensor* h = get(t, "t");
    int n = h->t.dim();
    if (n > 0) need(shape, "shape");
    if (capacity < n)
      raise(TF_ERR_SHAPE, "capacity ", capacity, " is less than the tensor's ", n, " dims ", h->t.shape());
    for (int i = 0; i < n; ++i) shape[i] = h->t.shape()[i];
  });
}

tf_status tf_tensor_numel(const tf_tensor* t, int64_t* numel) {
  return guard("tf_tensor_numel", TF_ERR_INTERNAL, [&] {
    tf_tensor* h = get(t, "t");
    need(numel, "numel");
    *numel = h->t.numel();
  });
}

tf_status tf_tensor_dtype(const tf_tensor* t, tf_dtype* dtype) {
  return guard("tf_tensor_dtype", TF_ERR_INTERNAL, [&] {
    tf_tensor* h = get(t, "t");
    need(dtype, "dtype");
    *dtype = from_dtype(h->t.dtype());
  });
}

tf_status tf_tensor_read(const tf_tensor* t, void* buffer, size_t buffer_bytes) {
  return guard("tf_tensor_read", TF_ERR_INTERNAL, [&] {
    tf_tensor* h = get(t, "t");
    size_t need_bytes = size_t(h->t.numel()) * dtype_size(h->t.dtype());
    if (buffer_bytes != need_bytes)
      raise(TF_ERR_SHAPE, "buffer_bytes = ", buffer_bytes, " but the tensor of shape ", h->t.shape(), " and dtype ",
            h->t.dtype(), " needs ", need_bytes);
    if (need_bytes == 0) return;
    need(buffer, "buffer");
    Tensor src = h->t.device().is_cpu() ? h->t.contiguous() : h->t.cpu().contiguous();
    std::memcpy(buffer, src.raw_data(), need_bytes);
  });
}

tf_status tf_tensor_free(tf_tensor* t) {
  return guard("tf_tensor_free", TF_ERR_INTERNAL, [&] {
    if (!t) return;
    destroy_handle(t, Kind::Tensor, "t");
  });
}

}  // extern "C"
