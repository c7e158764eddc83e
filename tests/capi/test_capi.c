/* tests/capi/test_capi.c: the C API from C11. Values derived by hand, every function driven with
 * bad input (null and freed handles, wrong sizes, shapes that do not fit, corrupt files), and
 * tf_model_forward counted for heap allocations after warm-up. Ends with
 * "capi_c: N passed, M failed". Usage: test_capi TMPDIR */
#include <stdlib.h>

#ifndef TF_NO_ALLOC_COUNT
#include "alloc_count.h"
#endif
#include "test_capi.h"

int passed = 0, failed = 0;
const char* tmpdir = "/tmp";

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

/* A host job system that runs every chunk on the calling thread, counting its calls. */
static int js_concurrency(void* user) { (void)user; return 4; }
static void js_run(void* user, int n, void (*chunk)(void* ctx, int index), void* ctx) {
  ++*(int*)user;
  for (int i = n - 1; i >= 0; --i) chunk(ctx, i); /* any order */
}

static void test_job_system(void) {
  int calls = 0;
  tf_job_system js = {&calls, js_concurrency, js_run};
  enum { N = 1024, K = 1024 }; /* 10M multiply-adds: above the size a product is split at */
  static float x[N * K], out_pool[N * 10], out_js[N * 10];
  for (int i = 0; i < N * K; ++i) x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
  tf_model* m = NULL;
  tf_tensor *xt = NULL, *o1 = NULL, *o2 = NULL;
  int64_t xs[2] = {N, K}, os[2] = {N, 10};
  OK(tf_manual_seed(3));
  OK(tf_model_create(&m));
  OK(tf_model_add_dense(m, 10, "tanh", K));
  OK(tf_tensor_wrap(x, xs, 2, TF_FLOAT32, &xt));
  OK(tf_tensor_wrap(out_pool, os, 2, TF_FLOAT32, &o1));
  OK(tf_tensor_wrap(out_js, os, 2, TF_FLOAT32, &o2));
  OK(tf_model_forward(m, xt, o1));
  OK(tf_set_job_system(&js));
  OK(tf_model_forward(m, xt, o2));
  OK(tf_set_job_system(NULL));
  CHECK(calls > 0); /* the product was split over the host's job system */
  { float worst = 0; /* another split of the product: equal up to float rounding */
    for (int i = 0; i < N * 10; ++i) {
      float d = out_pool[i] - out_js[i];
      if (d < 0) d = -d;
      if (d > worst) worst = d;
    }
    CHECK(worst < 1e-5f); }
  { tf_job_system bad = {&calls, NULL, js_run};
    CHECK_ERR(tf_set_job_system(&bad), TF_ERR_INVALID_ARGUMENT, "must be set"); }
  OK(tf_tensor_free(xt));
  OK(tf_tensor_free(o1));
  OK(tf_tensor_free(o2));
  OK(tf_model_free(m));
}

int main(int argc, char** argv) {
  if (argc > 1) tmpdir = argv[1];
  test_versions();
  test_runtime();
  test_tensors();
  test_optimizers();
  test_model_values();
  test_train_step();
  test_model_bad_input();
  test_json();
  test_forward_allocates_nothing();
  test_job_system();
  printf("capi_c: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
