/* tests/capi/test_capi.c: the C API from C11. Values derived by hand, every function driven with
 * bad input (null and freed handles, wrong sizes, shapes that do not fit, corrupt files), and
 * tf_model_forward counted for heap allocations after warm-up. Ends with
 * "capi_c: N passed, M failed". Usage: test_capi TMPDIR */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef TF_NO_ALLOC_COUNT
#include "alloc_count.h"
#endif
#include "tapeflow_c.h"

static int passed = 0, failed = 0;
static const char* tmpdir = "/tmp";

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

static int close_to(float a, float b) { return fabsf(a - b) <= 1e-5f * (1.0f + fabsf(b)); }

static void path_in_tmp(char* buf, size_t n, const char* name) { snprintf(buf, n, "%s/%s", tmpdir, name); }

static void test_versions(void) {
  CHECK(tf_version() == TAPEFLOW_VERSION);
  CHECK(strcmp(tf_version_string(), "0.1.0") == 0 || tf_version() != 100);
  OK(TF_CHECK_VERSION());
  CHECK_ERR(tf_check_version(TAPEFLOW_VERSION + 10000), TF_ERR_UNSUPPORTED, "same major version");
  CHECK_ERR(tf_check_version(TAPEFLOW_VERSION + 1), TF_ERR_UNSUPPORTED, "at least as new");
  CHECK(strcmp(tf_status_string(TF_ERR_SHAPE), "TF_ERR_SHAPE") == 0);
  CHECK(strcmp(tf_status_string((tf_status)99), "TF_ERR_UNKNOWN") == 0);
}

static void test_runtime(void) {
  int n = 0, avail = 7;
  OK(tf_set_num_threads(2));
  OK(tf_get_num_threads(&n));
  CHECK(n == 2);
  CHECK_ERR(tf_set_num_threads(0), TF_ERR_INVALID_ARGUMENT, "outside 1..1024");
  CHECK_ERR(tf_get_num_threads(NULL), TF_ERR_INVALID_ARGUMENT, "n is NULL");
  OK(tf_manual_seed(42));
  OK(tf_device_available("cpu", &avail));
  CHECK(avail == 1);
  OK(tf_device_available("cuda:0", &avail)); /* 0 here unless a GPU is present */
  if (!avail) CHECK(strstr(tf_last_error(), "CUDA") != NULL);
  CHECK_ERR(tf_device_available("tpu", &avail), TF_ERR_INVALID_ARGUMENT, "tpu");
  CHECK_ERR(tf_device_available(NULL, &avail), TF_ERR_INVALID_ARGUMENT, "device is NULL");
  CHECK_ERR(tf_device_available("cpu", NULL), TF_ERR_INVALID_ARGUMENT, "available is NULL");
}

static void test_tensors(void) {
  float data[6] = {1, 2, 3, 4, 5, 6}, back[6] = {0};
  int64_t shape[2] = {2, 3}, got[4] = {0};
  int ndim = 0;
  int64_t numel = 0;
  tf_dtype dt = TF_INT64;
  tf_tensor *t = NULL, *w = NULL, *z = NULL;
  OK(tf_tensor_create(data, shape, 2, TF_FLOAT32, &t));
  OK(tf_tensor_ndim(t, &ndim));
  CHECK(ndim == 2);
  OK(tf_tensor_shape(t, got, 4));
  CHECK(got[0] == 2 && got[1] == 3);
  OK(tf_tensor_numel(t, &numel));
  CHECK(numel == 6);
  OK(tf_tensor_dtype(t, &dt));
  CHECK(dt == TF_FLOAT32);
  data[0] = 100; /* a copy: unaffected */
  OK(tf_tensor_read(t, back, sizeof back));
  CHECK(back[0] == 1 && back[5] == 6);
  OK(tf_tensor_wrap(data, shape, 2, TF_FLOAT32, &w)); /* no copy: follows the buffer */
  data[1] = 200;
  OK(tf_tensor_read(w, back, sizeof back));
  CHECK(back[0] == 100 && back[1] == 200);
  OK(tf_tensor_create(NULL, shape, 2, TF_FLOAT64, &z));
  { double dz[6] = {1, 1, 1, 1, 1, 1}; OK(tf_tensor_read(z, dz, sizeof dz)); CHECK(dz[0] == 0 && dz[5] == 0); }
  { tf_tensor* s = NULL; double v = 2.5, r = 0; OK(tf_tensor_create(&v, NULL, 0, TF_FLOAT64, &s));
    OK(tf_tensor_read(s, &r, sizeof r)); CHECK(r == 2.5); OK(tf_tensor_free(s)); }

  /* bad input */
  CHECK_ERR(tf_tensor_read(t, back, sizeof back - 4), TF_ERR_SHAPE, "needs 24");
  CHECK_ERR(tf_tensor_read(t, NULL, sizeof back), TF_ERR_INVALID_ARGUMENT, "buffer is NULL");
  CHECK_ERR(tf_tensor_shape(t, got, 1), TF_ERR_SHAPE, "capacity 1");
  CHECK_ERR(tf_tensor_shape(t, NULL, 4), TF_ERR_INVALID_ARGUMENT, "shape is NULL");
  CHECK_ERR(tf_tensor_ndim(NULL, &ndim), TF_ERR_INVALID_ARGUMENT, "t is NULL");
  CHECK_ERR(tf_tensor_ndim(t, NULL), TF_ERR_INVALID_ARGUMENT, "ndim is NULL");
  CHECK_ERR(tf_tensor_numel(t, NULL), TF_ERR_INVALID_ARGUMENT, "numel is NULL");
  CHECK_ERR(tf_tensor_dtype(t, NULL), TF_ERR_INVALID_ARGUMENT, "dtype is NULL");
  CHECK_ERR(tf_tensor_create(data, shape, 2, (tf_dtype)17, &z), TF_ERR_INVALID_ARGUMENT, "unknown tf_dtype");
  CHECK_ERR(tf_tensor_create(data, shape, -1, TF_FLOAT32, &z), TF_ERR_SHAPE, "ndim -1");
  CHECK_ERR(tf_tensor_create(data, NULL, 2, TF_FLOAT32, &z), TF_ERR_INVALID_ARGUMENT, "shape is NULL");
  { int64_t neg[2] = {2, -3}; CHECK_ERR(tf_tensor_create(data, neg, 2, TF_FLOAT32, &z), TF_ERR_SHAPE, "negative"); }
  CHECK_ERR(tf_tensor_create(data, shape, 2, TF_FLOAT32, NULL), TF_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERR(tf_tensor_wrap(NULL, shape, 2, TF_FLOAT32, &z), TF_ERR_INVALID_ARGUMENT, "data is NULL");
  CHECK_ERR(tf_tensor_wrap((char*)data + 1, shape, 2, TF_FLOAT32, &z), TF_ERR_INVALID_ARGUMENT, "not aligned");
  { int64_t huge[3] = {1 << 20, 1 << 20, 1 << 20};
    CHECK_ERR(tf_tensor_create(NULL, huge, 3, TF_FLOAT32, &z), TF_ERR_SHAPE, "more than 2^48"); }
  /* a freed handle, used again */
  OK(tf_tensor_free(w));
  CHECK_ERR(tf_tensor_read(w, back, sizeof back), TF_ERR_INVALID_HANDLE, "not a live tf_tensor");
  CHECK_ERR(tf_tensor_numel(w, &numel), TF_ERR_INVALID_HANDLE, "freed already");
  CHECK_ERR(tf_tensor_free(w), TF_ERR_INVALID_HANDLE, "not a live tf_tensor");
  CHECK_ERR(tf_tensor_ndim((tf_tensor*)data, &ndim), TF_ERR_INVALID_HANDLE, "never created");
  OK(tf_tensor_free(NULL));
  OK(tf_tensor_free(t));
  OK(tf_tensor_free(z));
}

static void test_optimizers(void) {
  tf_optimizer* o = NULL;
  double lr = 0;
  int64_t it = -1;
  OK(tf_optimizer_create("sgd", "lr=0.5, momentum=0.9,nesterov=true", &o));
  OK(tf_optimizer_get_lr(o, &lr));
  CHECK(lr == 0.5);
  OK(tf_optimizer_set_lr(o, 0.25));
  OK(tf_optimizer_get_lr(o, &lr));
  CHECK(lr == 0.25);
  OK(tf_optimizer_iterations(o, &it));
  CHECK(it == 0);
  CHECK_ERR(tf_optimizer_set_lr(o, -1), TF_ERR_INVALID_ARGUMENT, "lr = -1");
  CHECK_ERR(tf_optimizer_get_lr(o, NULL), TF_ERR_INVALID_ARGUMENT, "lr is NULL");
  CHECK_ERR(tf_optimizer_iterations(o, NULL), TF_ERR_INVALID_ARGUMENT, "iterations is NULL");
  { tf_optimizer* a = NULL; OK(tf_optimizer_create("Adam", "beta_1=0.8,amsgrad=1", &a)); OK(tf_optimizer_free(a)); }
  { tf_optimizer* a = NULL; OK(tf_optimizer_create("rmsprop", NULL, &a)); OK(tf_optimizer_free(a)); }
  { tf_optimizer* a = NULL; OK(tf_optimizer_create("adagrad", "", &a)); OK(tf_optimizer_free(a)); }
  { tf_optimizer* a = NULL; OK(tf_optimizer_create("adamw", "weight_decay=0.01", &a)); OK(tf_optimizer_free(a)); }
  CHECK_ERR(tf_optimizer_create("sgdd", NULL, &o), TF_ERR_INVALID_ARGUMENT, "unknown optimizer 'sgdd'");
  CHECK_ERR(tf_optimizer_create("sgd", "beta_1=0.9", &o), TF_ERR_INVALID_ARGUMENT, "unknown option 'beta_1'");
  CHECK_ERR(tf_optimizer_create("sgd", "lr=fast", &o), TF_ERR_INVALID_ARGUMENT, "lr=fast");
  CHECK_ERR(tf_optimizer_create("sgd", "lr", &o), TF_ERR_INVALID_ARGUMENT, "key=value");
  CHECK_ERR(tf_optimizer_create(NULL, NULL, &o), TF_ERR_INVALID_ARGUMENT, "name is NULL");
  CHECK_ERR(tf_optimizer_create("sgd", NULL, NULL), TF_ERR_INVALID_ARGUMENT, "out is NULL");
  OK(tf_optimizer_free(o));
  CHECK_ERR(tf_optimizer_get_lr(o, &lr), TF_ERR_INVALID_HANDLE, "not a live tf_optimizer");
  CHECK_ERR(tf_optimizer_set_lr(o, 1), TF_ERR_INVALID_HANDLE, "not a live tf_optimizer");
  CHECK_ERR(tf_optimizer_iterations(o, &it), TF_ERR_INVALID_HANDLE, "not a live tf_optimizer");
  CHECK_ERR(tf_optimizer_free(o), TF_ERR_INVALID_HANDLE, "not a live tf_optimizer");
  OK(tf_optimizer_free(NULL));
}

/* y = x @ ones(3, 2) (+ 0): every output is the row's sum. */
static void test_model_values(void) {
  tf_model* m = NULL;
  float xv[6] = {1, 2, 3, -1, 0, 4}, yv[4] = {0};
  int64_t xs[2] = {2, 3}, ys[2] = {2, 2}, in3 = 3, oshape[2] = {0};
  int ndim = 0;
  int64_t params = 0;
  tf_tensor *x = NULL, *y = NULL;
  OK(tf_model_create(&m));
  OK(tf_model_add_dense_ex(m, 2, "relu", 0, 1, "ones", "zeros"));
  OK(tf_model_build(m, &in3, 1));
  OK(tf_model_output_shape(m, oshape, 2, &ndim));
  CHECK(ndim == 1 && oshape[0] == 2);
  OK(tf_model_num_params(m, &params));
  CHECK(params == 8);
  OK(tf_tensor_wrap(xv, xs, 2, TF_FLOAT32, &x));
  OK(tf_tensor_wrap(yv, ys, 2, TF_FLOAT32, &y));
  OK(tf_model_forward(m, x, y));
  CHECK(yv[0] == 6 && yv[1] == 6 && yv[2] == 3 && yv[3] == 3);
  xv[3] = -9; /* relu(-9 + 0 + 4) = 0 */
  OK(tf_model_forward(m, x, y));
  CHECK(yv[2] == 0 && yv[3] == 0);
  OK(tf_tensor_free(x));
  OK(tf_tensor_free(y));
  OK(tf_model_free(m));
}

/* One SGD step on mse with w = 1, b = 0, x = 1, y = 0: loss 1, dw = db = 2(1 - 0)*1 = 2, so with
 * lr 0.1 w = 0.8, b = -0.2 and the model then maps 1 to 0.6. */
static void test_train_step(void) {
  tf_model *m = NULL, *c = NULL;
  tf_optimizer* o = NULL;
  float one = 1, zero = 0, out = 0, loss = -1;
  int64_t s[2] = {1, 1};
  tf_tensor *x = NULL, *y = NULL, *yo = NULL;
  char path[512];
  OK(tf_model_create(&m));
  OK(tf_model_add_dense_ex(m, 1, NULL, 1, 1, "ones", "zeros"));
  OK(tf_tensor_wrap(&one, s, 2, TF_FLOAT32, &x));
  OK(tf_tensor_wrap(&zero, s, 2, TF_FLOAT32, &y));
  OK(tf_tensor_wrap(&out, s, 2, TF_FLOAT32, &yo));
  CHECK_ERR(tf_model_train_step(m, x, y, &loss), TF_ERR_STATE, "not compiled");
  OK(tf_optimizer_create("sgd", "lr=0.1", &o));
  OK(tf_model_compile(m, o, "mean_squared_error"));
  path_in_tmp(path, sizeof path, "capi_w1.safetensors");
  OK(tf_model_save_weights(m, path));
  OK(tf_model_clone(m, &c)); /* before the step: w = 1, b = 0 */
  OK(tf_model_train_step(m, x, y, &loss));
  CHECK(close_to(loss, 1.0f));
  OK(tf_model_forward(m, x, yo));
  CHECK(close_to(out, 0.6f));
  { int64_t it = 0; OK(tf_optimizer_iterations(o, &it)); CHECK(it == 1); }
  OK(tf_model_forward(c, x, yo)); /* the clone kept its own weights */
  CHECK(close_to(out, 1.0f));
  OK(tf_model_train_step(c, x, y, &loss)); /* and trains alike with its own optimizer */
  CHECK(close_to(loss, 1.0f));
  OK(tf_model_forward(c, x, yo));
  CHECK(close_to(out, 0.6f));
  OK(tf_model_load_weights(m, path)); /* back to w = 1, b = 0 */
  OK(tf_model_forward(m, x, yo));
  CHECK(close_to(out, 1.0f));
  OK(tf_model_copy_weights(m, c));
  OK(tf_model_forward(m, x, yo));
  CHECK(close_to(out, 0.6f));
  { tf_model* m2 = NULL; CHECK_ERR(tf_model_create(&m2) == TF_OK ? tf_model_compile(m2, o, "mse") : TF_ERR_INTERNAL,
                                   TF_ERR_STATE, "another model"); OK(tf_model_free(m2)); }
  OK(tf_optimizer_free(o)); /* the model keeps its optimizer */
  OK(tf_model_train_step(m, x, y, &loss));
  OK(tf_model_free(c));
  OK(tf_model_free(m));
  OK(tf_tensor_free(x));
  OK(tf_tensor_free(y));
  OK(tf_tensor_free(yo));
}

static void write_file(const char* path, const void* bytes, size_t n) {
  FILE* f = fopen(path, "wb");
  if (f) { fwrite(bytes, 1, n, f); fclose(f); }
}

/* Every model function with null, freed and foreign handles, bad sizes and corrupt files. */
static void test_model_bad_input(void) {
  tf_model *m = NULL, *other = NULL, *freed = NULL, *c = NULL;
  tf_optimizer* o = NULL;
  float xv[4] = {1, 2, 3, 4}, yv[3] = {0}, big[8] = {0};
  int64_t xs[2] = {1, 4}, ys[2] = {1, 3}, bad_s[2] = {1, 2}, in4 = 4, shp[2];
  int ndim;
  int64_t cnt;
  float loss;
  tf_tensor *x = NULL, *y = NULL, *xbad = NULL, *ybig = NULL, *lab = NULL;
  char path[512], junk[512];
  OK(tf_model_create(&m));
  OK(tf_model_create(&freed));
  OK(tf_model_free(freed));
  OK(tf_tensor_wrap(xv, xs, 2, TF_FLOAT32, &x));
  OK(tf_tensor_wrap(yv, ys, 2, TF_FLOAT32, &y));
  OK(tf_tensor_wrap(xv, bad_s, 2, TF_FLOAT32, &xbad));
  { int64_t s8[2] = {1, 8}; OK(tf_tensor_wrap(big, s8, 2, TF_FLOAT32, &ybig)); }

  CHECK_ERR(tf_model_create(NULL), TF_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERR(tf_model_forward(m, x, y), TF_ERR_STATE, "no layers");
  CHECK_ERR(tf_model_build(m, &in4, 1), TF_ERR_STATE, "no layers");
  CHECK_ERR(tf_model_output_shape(m, shp, 2, &ndim), TF_ERR_STATE, "not been built");
  CHECK_ERR(tf_model_add_dense(m, 0, "relu", 0), TF_ERR_INVALID_ARGUMENT, "units = 0");
  CHECK_ERR(tf_model_add_dense(m, 3, "relu", -2), TF_ERR_INVALID_ARGUMENT, "input_dim = -2");
  CHECK_ERR(tf_model_add_dense(m, 3, "rellu", 0), TF_ERR_INVALID_ARGUMENT, "rellu");
  CHECK_ERR(tf_model_add_dense_ex(m, 3, "relu", 0, 1, "onez", NULL), TF_ERR_INVALID_ARGUMENT, "onez");
  CHECK_ERR(tf_model_add_dropout(m, 1.5), TF_ERR_INVALID_ARGUMENT, "rate = 1.5");
  CHECK_ERR(tf_model_add_activation(m, "nope"), TF_ERR_INVALID_ARGUMENT, "nope");
  CHECK_ERR(tf_model_add_activation(m, NULL), TF_ERR_INVALID_ARGUMENT, "activation is NULL");
  CHECK_ERR(tf_model_save_weights(m, "/nonexistent/x"), TF_ERR_IO, "/nonexistent/x");
  OK(tf_model_add_flatten(m));
  OK(tf_model_add_dense(m, 3, "tanh", 0));
  OK(tf_model_add_dropout(m, 0.5));
  OK(tf_model_add_activation(m, "softmax"));
  CHECK_ERR(tf_model_load_weights(m, "/nonexistent/x"), TF_ERR_STATE, "no weights");
  CHECK_ERR(tf_model_save_weights(m, "/nonexistent/x"), TF_ERR_STATE, "no weights");
  CHECK_ERR(tf_model_copy_weights(m, m), TF_OK, ""); /* same model: nothing to do */
  CHECK_ERR(tf_model_build(m, NULL, 1), TF_ERR_INVALID_ARGUMENT, "input_shape is NULL");
  CHECK_ERR(tf_model_build(m, &in4, 0), TF_ERR_SHAPE, "at least one dim");
  { int64_t z = 0; CHECK_ERR(tf_model_build(m, &z, 1), TF_ERR_SHAPE, "empty dim"); }
  OK(tf_model_build(m, &in4, 1));
  CHECK_ERR(tf_model_output_shape(m, shp, 0, &ndim), TF_ERR_SHAPE, "capacity 0");
  CHECK_ERR(tf_model_output_shape(m, shp, 2, NULL), TF_ERR_INVALID_ARGUMENT, "ndim is NULL");
  CHECK_ERR(tf_model_num_params(m, NULL), TF_ERR_INVALID_ARGUMENT, "count is NULL");
  /* shapes that do not fit */
  CHECK_ERR(tf_model_forward(m, xbad, y), TF_ERR_SHAPE, "(1, 2)");
  CHECK_ERR(tf_model_forward(m, x, ybig), TF_ERR_SHAPE, "out has shape (1, 8)");
  { double d4[4]; int64_t s[2] = {1, 3}; tf_tensor* yd = NULL; OK(tf_tensor_wrap(d4, s, 2, TF_FLOAT64, &yd));
    CHECK_ERR(tf_model_forward(m, x, yd), TF_ERR_SHAPE, "float64"); OK(tf_tensor_free(yd)); }
  { float s0 = 1; tf_tensor* sc = NULL; OK(tf_tensor_wrap(&s0, NULL, 0, TF_FLOAT32, &sc));
    CHECK_ERR(tf_model_forward(m, sc, y), TF_ERR_SHAPE, "batch dim"); OK(tf_tensor_free(sc)); }
  OK(tf_model_forward(m, x, y));
  CHECK(close_to(yv[0] + yv[1] + yv[2], 1.0f));
  /* compile and train with bad input */
  CHECK_ERR(tf_model_compile(m, NULL, "mse"), TF_ERR_INVALID_ARGUMENT, "opt is NULL");
  OK(tf_optimizer_create("adam", NULL, &o));
  CHECK_ERR(tf_model_compile(m, o, NULL), TF_ERR_INVALID_ARGUMENT, "loss is NULL");
  CHECK_ERR(tf_model_compile(m, o, "squared_lossy"), TF_ERR_INVALID_ARGUMENT, "squared_lossy");
  OK(tf_model_compile(m, o, "categorical_crossentropy"));
  CHECK_ERR(tf_model_train_step(m, x, ybig, &loss), TF_ERR_SHAPE, "(1, 8)");
  CHECK_ERR(tf_model_train_step(m, xbad, y, &loss), TF_ERR_SHAPE, "(1, 2)");
  { int64_t s2[2] = {2, 3}; float y2[6] = {0}; tf_tensor* t2 = NULL; OK(tf_tensor_wrap(y2, s2, 2, TF_FLOAT32, &t2));
    CHECK_ERR(tf_model_train_step(m, x, t2, &loss), TF_ERR_SHAPE, "same batch size"); OK(tf_tensor_free(t2)); }
  CHECK_ERR(tf_model_train_step(m, x, NULL, &loss), TF_ERR_INVALID_ARGUMENT, "y is NULL");
  yv[0] = 1; yv[1] = 0; yv[2] = 0;
  OK(tf_model_train_step(m, x, y, NULL));
  /* weight files: missing, corrupt, truncated, of another model */
  path_in_tmp(path, sizeof path, "capi_bad.safetensors");
  CHECK_ERR(tf_model_save_weights(m, NULL), TF_ERR_INVALID_ARGUMENT, "path is NULL");
  CHECK_ERR(tf_model_save_weights(m, "/nonexistent/dir/w.safetensors"), TF_ERR_IO, "/nonexistent/dir");
  CHECK_ERR(tf_model_load_weights(m, "/nonexistent/w.safetensors"), TF_ERR_IO, "/nonexistent/w.safetensors");
  CHECK_ERR(tf_model_load_weights(m, NULL), TF_ERR_INVALID_ARGUMENT, "path is NULL");
  write_file(path, "\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":garbage!!}", 24);
  CHECK_ERR(tf_model_load_weights(m, path), TF_ERR_IO, path);
  OK(tf_model_save_weights(m, path));
  { FILE* f = fopen(path, "rb"); char buf[4096]; size_t n = f ? fread(buf, 1, sizeof buf, f) : 0; if (f) fclose(f);
    path_in_tmp(junk, sizeof junk, "capi_trunc.safetensors"); write_file(junk, buf, n > 20 ? n - 20 : 0);
    CHECK_ERR(tf_model_load_weights(m, junk), TF_ERR_IO, junk); }
  OK(tf_model_create(&other));
  OK(tf_model_add_flatten(other));
  OK(tf_model_add_dense(other, 5, NULL, 4));
  CHECK_ERR(tf_model_load_weights(other, path), TF_ERR_IO, "shape");
  CHECK_ERR(tf_model_copy_weights(other, m), TF_ERR_SHAPE, "shape");
  OK(tf_model_load_weights(m, path));
  /* clone and copy with bad input */
  CHECK_ERR(tf_model_clone(m, NULL), TF_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERR(tf_model_clone(NULL, &c), TF_ERR_INVALID_ARGUMENT, "m is NULL");
  OK(tf_model_clone(m, &c));
  { float yc[3]; tf_tensor* tc = NULL; OK(tf_tensor_wrap(yc, ys, 2, TF_FLOAT32, &tc)); OK(tf_model_forward(m, x, y));
    OK(tf_model_forward(c, x, tc)); CHECK(yc[0] == yv[0] && yc[1] == yv[1] && yc[2] == yv[2]); OK(tf_tensor_free(tc)); }
  OK(tf_model_free(c));
  CHECK_ERR(tf_model_copy_weights(NULL, m), TF_ERR_INVALID_ARGUMENT, "dst is NULL");
  CHECK_ERR(tf_model_copy_weights(m, NULL), TF_ERR_INVALID_ARGUMENT, "src is NULL");
  /* devices */
  CHECK_ERR(tf_model_to_device(m, "gpu7"), TF_ERR_INVALID_ARGUMENT, "gpu7");
  CHECK_ERR(tf_model_to_device(m, NULL), TF_ERR_INVALID_ARGUMENT, "device is NULL");
  { int avail = 0; OK(tf_device_available("cuda:0", &avail));
    if (!avail) CHECK_ERR(tf_model_to_device(m, "cuda:0"), TF_ERR_UNSUPPORTED, "CUDA"); }
  OK(tf_model_to_device(m, "cpu"));
  /* handles of the wrong kind, and freed ones, for every function */
  CHECK_ERR(tf_model_forward((tf_model*)x, x, y), TF_ERR_INVALID_HANDLE, "is a tf_tensor, not a tf_model");
  CHECK_ERR(tf_model_forward(m, (tf_tensor*)m, y), TF_ERR_INVALID_HANDLE, "is a tf_model, not a tf_tensor");
  CHECK_ERR(tf_model_add_dense(freed, 3, NULL, 0), TF_ERR_INVALID_HANDLE, "not a live tf_model");
  CHECK_ERR(tf_model_add_dense_ex(freed, 3, NULL, 0, 0, NULL, NULL), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_add_flatten(freed), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_add_dropout(freed, 0.1), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_add_activation(freed, "relu"), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_build(freed, &in4, 1), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_output_shape(freed, shp, 2, &ndim), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_num_params(freed, &cnt), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_compile(freed, o, "mse"), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_train_step(freed, x, y, &loss), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_forward(freed, x, y), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_save_weights(freed, path), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_load_weights(freed, path), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_clone(freed, &c), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_copy_weights(freed, m), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_copy_weights(m, freed), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_to_device(freed, "cpu"), TF_ERR_INVALID_HANDLE, "not a live");
  CHECK_ERR(tf_model_free(freed), TF_ERR_INVALID_HANDLE, "not a live");
  OK(tf_model_free(NULL));
  /* IDX reader */
  CHECK_ERR(tf_read_idx("/nonexistent.idx", &lab), TF_ERR_IO, "/nonexistent.idx");
  CHECK_ERR(tf_read_idx(path, &lab), TF_ERR_IO, path); /* a safetensors file is not IDX */
  CHECK_ERR(tf_read_idx(NULL, &lab), TF_ERR_INVALID_ARGUMENT, "path is NULL");
  OK(tf_optimizer_free(o));
  OK(tf_model_free(other));
  OK(tf_model_free(m));
  OK(tf_tensor_free(x));
  OK(tf_tensor_free(y));
  OK(tf_tensor_free(xbad));
  OK(tf_tensor_free(ybig));
}

/* After warm-up, tf_model_forward at batch 1 makes no heap allocation (the seed's MLP). */
#ifdef TF_NO_ALLOC_COUNT
static void test_forward_allocates_nothing(void) { printf("(no allocation counter in a sanitized build)\n"); }
#else
static void test_forward_allocates_nothing(void) {
  tf_model* m = NULL;
  float xv[784], yv[10];
  int64_t xs[2] = {1, 784}, ys[2] = {1, 10};
  tf_tensor *x = NULL, *y = NULL;
  long before, after;
  int i;
  for (i = 0; i < 784; ++i) xv[i] = (float)(i % 7) * 0.1f;
  OK(tf_model_create(&m));
  OK(tf_model_add_dense(m, 50, "tanh", 784));
  OK(tf_model_add_dense(m, 50, "tanh", 0));
  OK(tf_model_add_dense(m, 10, "softmax", 0));
  OK(tf_tensor_wrap(xv, xs, 2, TF_FLOAT32, &x));
  OK(tf_tensor_wrap(yv, ys, 2, TF_FLOAT32, &y));
  for (i = 0; i < 5; ++i) OK(tf_model_forward(m, x, y)); /* warm-up */
  g_alloc_counting = 1;
  before = alloc_count();
  for (i = 0; i < 200; ++i) tf_model_forward(m, x, y);
  after = alloc_count();
  g_alloc_counting = 0;
  printf("heap allocations in 200 batch-1 forwards after warm-up: %ld\n", after - before);
  CHECK(after - before == 0);
  /* and the counter works: a model creation allocates */
  g_alloc_counting = 1;
  before = alloc_count();
  { tf_model* t = NULL; tf_model_create(&t); tf_model_free(t); }
  after = alloc_count();
  g_alloc_counting = 0;
  CHECK(after - before > 0);
  OK(tf_tensor_free(x));
  OK(tf_tensor_free(y));
  OK(tf_model_free(m));
}
#endif

int main(int argc, char** argv) {
  if (argc > 1) tmpdir = argv[1];
  test_versions();
  test_runtime();
  test_tensors();
  test_optimizers();
  test_model_values();
  test_train_step();
  test_model_bad_input();
  test_forward_allocates_nothing();
  printf("capi_c: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
