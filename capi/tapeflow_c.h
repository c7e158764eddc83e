/* tapeflow_c.h: tapeflow's stable C API (C11 and C++), for embedding from any language.
 *
 * Handles are opaque pointers; every function that can fail returns a tf_status and, on
 * failure, tf_last_error() gives the message for the calling thread. No C++ exception crosses
 * this boundary and no input makes the library abort. Functions taking an output pointer leave
 * it unchanged on failure.
 *
 * Threads: distinct handles may be used from distinct threads at once. One handle must not be
 * used by two threads at the same time; in particular tf_model_copy_weights(dst, src) must not
 * run while another thread calls tf_model_forward(dst, ...) (publish into a second model and
 * swap pointers instead, see samples/game_loop).
 *
 * ABI promise: within one major version (TAPEFLOW_VERSION_MAJOR) functions are only added,
 * never removed or changed in signature, enum values keep their numbers, and handles stay
 * opaque. Removing or changing a function, or renumbering an enum value, bumps the major
 * version. Check at run time with TF_CHECK_VERSION().
 */
#ifndef TAPEFLOW_C_H
#define TAPEFLOW_C_H

#include <stddef.h>
#include <stdint.h>

#define TAPEFLOW_VERSION_MAJOR 0
#define TAPEFLOW_VERSION_MINOR 1
#define TAPEFLOW_VERSION_PATCH 0
#define TAPEFLOW_VERSION \
  (TAPEFLOW_VERSION_MAJOR * 10000 + TAPEFLOW_VERSION_MINOR * 100 + TAPEFLOW_VERSION_PATCH)

#if defined(_WIN32)
#define TF_API
#elif defined(__GNUC__)
#define TF_API __attribute__((visibility("default")))
#else
#define TF_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum tf_status {
  TF_OK = 0,
  TF_ERR_INVALID_ARGUMENT = 1, /* a null pointer, an unknown name, a bad option or value */
  TF_ERR_INVALID_HANDLE = 2,   /* a freed handle, or a handle of another kind */
  TF_ERR_SHAPE = 3,            /* shapes, dtypes or buffer sizes that do not fit */
  TF_ERR_IO = 4,               /* a file that cannot be read or written, or is corrupt */
  TF_ERR_STATE = 5,            /* the call needs an earlier step (e.g. train before compile) */
  TF_ERR_UNSUPPORTED = 6,      /* e.g. a CUDA device in a build without CUDA */
  TF_ERR_OUT_OF_MEMORY = 7,
  TF_ERR_INTERNAL = 8,
  TF_STATUS_MAX_ENUM = 0x7fffffff /* not a status: keeps the enum int-sized for any value */
} tf_status;

typedef enum tf_dtype {
  TF_FLOAT32 = 0,
  TF_FLOAT64 = 1,
  TF_INT32 = 2,
  TF_INT64 = 3,
  TF_UINT8 = 4,
  TF_BOOL = 5, /* one byte per element */
  TF_DTYPE_MAX_ENUM = 0x7fffffff /* not a dtype: keeps the enum int-sized for any value */
} tf_dtype;

typedef struct tf_tensor tf_tensor;
typedef struct tf_model tf_model;
typedef struct tf_optimizer tf_optimizer;

/* ---- errors and versions (these four never fail) ---- */
/* The message of the calling thread's last failure ("" when none). Valid until that thread's
 * next tapeflow call. */
TF_API const char* tf_last_error(void);
TF_API const char* tf_status_string(tf_status status); /* "TF_OK", "TF_ERR_SHAPE", ... */
TF_API int tf_version(void);                /* the library's TAPEFLOW_VERSION */
TF_API const char* tf_version_string(void); /* "0.1.0" */
/* TF_OK when a library of version `runtime` serves a program compiled against `compiled`: same
 * major version, and a minor.patch at least as new. */
TF_API tf_status tf_check_version(int compiled);
#define TF_CHECK_VERSION() tf_check_version(TAPEFLOW_VERSION)

/* ---- runtime ---- */
TF_API tf_status tf_set_num_threads(int n); /* CPU threads of tapeflow and OpenBLAS, n >= 1 */
TF_API tf_status tf_get_num_threads(int* n);
TF_API tf_status tf_manual_seed(uint64_t seed); /* weight init, dropout, shuffling */
/* A host's job system (a game engine's task scheduler) runs tapeflow's parallel loops instead of
 * tapeflow's own thread pool. run(user, n, chunk, ctx) must call chunk(ctx, i) once for every i in
 * 0..n-1, in any order and on any threads, and return when all have finished; chunks never fail
 * and never call run() again. concurrency(user) is the most chunks worth making (>= 1). The
 * struct is copied; `user` must stay valid until the job system is replaced. NULL goes back to
 * tapeflow's pool. Call it while no tapeflow computation runs. */
typedef struct tf_job_system {
  void* user;
  int (*concurrency)(void* user);
  void (*run)(void* user, int nchunks, void (*chunk)(void* ctx, int index), void* ctx);
} tf_job_system;
TF_API tf_status tf_set_job_system(const tf_job_system* js);
/* 1 when `device` ("cpu", "cuda", "cuda:N") can be used here, else 0 with the reason in
 * tf_last_error(); TF_ERR_INVALID_ARGUMENT for a malformed name. */
TF_API tf_status tf_device_available(const char* device, int* available);

/* ---- tensors (host memory, row-major, contiguous) ---- */
/* Copies numel(shape) elements from `data` (NULL: zeros). ndim 0 is a scalar (shape may be NULL). */
TF_API tf_status tf_tensor_create(const void* data, const int64_t* shape, int ndim, tf_dtype dtype,
                                  tf_tensor** out);
/* Wraps `data` without copying: the caller keeps it alive and unmoved until tf_tensor_free, and
 * may change its contents between calls (e.g. a model's input every frame). */
TF_API tf_status tf_tensor_wrap(void* data, const int64_t* shape, int ndim, tf_dtype dtype,
                                tf_tensor** out);
TF_API tf_status tf_tensor_ndim(const tf_tensor* t, int* ndim);
/* Writes ndim() sizes into shape; capacity is the length of `shape`. */
TF_API tf_status tf_tensor_shape(const tf_tensor* t, int64_t* shape, int capacity);
TF_API tf_status tf_tensor_numel(const tf_tensor* t, int64_t* numel);
TF_API tf_status tf_tensor_dtype(const tf_tensor* t, tf_dtype* dtype);
/* Copies the elements into buffer; buffer_bytes must equal numel * element size. */
TF_API tf_status tf_tensor_read(const tf_tensor* t, void* buffer, size_t buffer_bytes);
/* Frees the handle (a wrapped buffer stays the caller's). NULL is a no-op. */
TF_API tf_status tf_tensor_free(tf_tensor* t);

/* ---- optimizers ---- */
/* name: sgd, adam, adamw, rmsprop, adagrad. options: NULL or "key=value,key=value" with Keras's
 * names: lr (or learning_rate), momentum, nesterov, beta_1, beta_2, epsilon, amsgrad, rho,
 * centered, initial_accumulator_value, decay, weight_decay, clipnorm, global_clipnorm,
 * clipvalue. */
TF_API tf_status tf_optimizer_create(const char* name, const char* options, tf_optimizer** out);
TF_API tf_status tf_optimizer_get_lr(const tf_optimizer* opt, double* lr);
TF_API tf_status tf_optimizer_set_lr(tf_optimizer* opt, double lr);
TF_API tf_status tf_optimizer_iterations(const tf_optimizer* opt, int64_t* iterations);
/* A model compiled with the optimizer keeps its own reference: freeing here is safe. */
TF_API tf_status tf_optimizer_free(tf_optimizer* opt);

/* ---- models: a Keras Sequential built layer by layer ---- */
TF_API tf_status tf_model_create(tf_model** out);
/* activation: a Keras name ("relu", "tanh", "softmax", ...; NULL = "linear"). input_dim 0: inferred
 * at build or at the first call. */
TF_API tf_status tf_model_add_dense(tf_model* m, int64_t units, const char* activation, int64_t input_dim);
/* As above, with use_bias and initializer names (NULL = glorot_uniform / zeros). */
TF_API tf_status tf_model_add_dense_ex(tf_model* m, int64_t units, const char* activation, int64_t input_dim,
                                      int use_bias, const char* kernel_initializer,
                                      const char* bias_initializer);
TF_API tf_status tf_model_add_flatten(tf_model* m);
TF_API tf_status tf_model_add_dropout(tf_model* m, double rate);
TF_API tf_status tf_model_add_activation(tf_model* m, const char* activation);
/* Creates the weights for inputs of shape (batch, input_shape...): input_shape leaves out the batch. */
TF_API tf_status tf_model_build(tf_model* m, const int64_t* input_shape, int ndim);
/* The per-sample output shape (built models only). */
TF_API tf_status tf_model_output_shape(const tf_model* m, int64_t* shape, int capacity, int* ndim);
TF_API tf_status tf_model_num_params(const tf_model* m, int64_t* count);
/* loss: a Keras name (mean_squared_error, categorical_crossentropy, ...). The model shares opt. */
TF_API tf_status tf_model_compile(tf_model* m, tf_optimizer* opt, const char* loss);
/* One optimisation step on the batch (x, y); *loss (may be NULL) gets the batch's loss. */
TF_API tf_status tf_model_train_step(tf_model* m, const tf_tensor* x, const tf_tensor* y, float* loss);
/* Inference (eval mode, nothing recorded) on x; the result is copied into `out`, whose shape
 * must be (batch, output shape...) and dtype the model's. Once the shapes have been seen, a
 * call on the CPU allocates no memory. */
TF_API tf_status tf_model_forward(tf_model* m, const tf_tensor* x, tf_tensor* out);
TF_API tf_status tf_model_save_weights(const tf_model* m, const char* path); /* safetensors */
TF_API tf_status tf_model_load_weights(tf_model* m, const char* path); /* checked; unchanged on error */
/* A deep copy: the same layers, weights and device, compiled like m with a fresh optimizer
 * of the same kind and options (m must be built). */
TF_API tf_status tf_model_clone(const tf_model* m, tf_model** out);
/* Copies src's weights into dst (same architecture). Must not race with a call on dst. */
TF_API tf_status tf_model_copy_weights(tf_model* dst, const tf_model* src);
/* Moves the weights to "cpu" or "cuda:N". Inputs and outputs stay in host memory. */
TF_API tf_status tf_model_to_device(tf_model* m, const char* device);
TF_API tf_status tf_model_free(tf_model* m); /* NULL is a no-op */

/* ---- models as JSON (the format of Keras's model.to_json()) ---- */
/* Builds a Sequential from {"class_name": "Sequential", "config": {"layers": [...]}} with layers
 * InputLayer, Dense, Flatten, Dropout and Activation. An input shape (InputLayer's or a layer's
 * batch_input_shape, or config.build_input_shape) builds the weights at once. Initializers are
 * taken by class ("GlorotUniform" or "glorot_uniform") with Keras's default settings. */
TF_API tf_status tf_model_from_json(const char* json, tf_model** out);
/* Writes the model's JSON (NUL-terminated) into buffer. *length gets its length without the
 * NUL; buffer NULL with capacity 0 only asks for the length. A short buffer gives TF_ERR_SHAPE
 * (with *length set). */
TF_API tf_status tf_model_to_json(const tf_model* m, char* buffer, size_t capacity, size_t* length);

/* ---- data ---- */
/* Reads an IDX file (MNIST family, plain or .gz) into a new uint8 tensor. */
TF_API tf_status tf_read_idx(const char* path, tf_tensor** out);

#ifdef __cplusplus
}
#endif

#endif /* TAPEFLOW_C_H */
