/* tests/capi/test_capi_models.c: every model function with bad input (null, freed and foreign
 * handles, shapes that do not fit, corrupt weight files), and models as Keras-style JSON. */
#include <stdlib.h>

#include "test_capi.h"

static void write_file(const char* path, const void* bytes, size_t n) {
  FILE* f = fopen(path, "wb");
  if (f) { fwrite(bytes, 1, n, f); fclose(f); }
}

/* Every model function with null, freed and foreign handles, bad sizes and corrupt files. */
void test_model_bad_input(void) {
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


/* A model as Keras 2 writes it with model.to_json() (extra keys ignored). With ones kernels,
 * x = (1, 2, 3, 4) gives relu(10) three times, then 30 twice. */
static const char* kKerasJson =
    "{\"class_name\": \"Sequential\", \"config\": {\"name\": \"sequential\", \"layers\": ["
    "{\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 4], \"dtype\": \"float32\", "
    "\"sparse\": false, \"ragged\": false, \"name\": \"dense_input\"}}, "
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense\", \"trainable\": true, \"dtype\": \"float32\", "
    "\"batch_input_shape\": [null, 4], \"units\": 3, \"activation\": \"relu\", \"use_bias\": true, "
    "\"kernel_initializer\": {\"class_name\": \"Ones\", \"config\": {}}, \"bias_initializer\": "
    "{\"class_name\": \"Zeros\", \"config\": {}}, \"kernel_regularizer\": null, \"bias_regularizer\": null, "
    "\"activity_regularizer\": null, \"kernel_constraint\": null, \"bias_constraint\": null}}, "
    "{\"class_name\": \"Dropout\", \"config\": {\"name\": \"dropout\", \"trainable\": true, \"dtype\": \"float32\", "
    "\"rate\": 0.25, \"noise_shape\": null, \"seed\": null}}, "
    "{\"class_name\": \"Dense\", \"config\": {\"name\": \"dense_1\", \"units\": 2, \"activation\": \"linear\", "
    "\"use_bias\": false, \"kernel_initializer\": {\"class_name\": \"Ones\", \"config\": {}}}}]}, "
    "\"keras_version\": \"2.11.0\", \"backend\": \"tensorflow\"}";

static void forward_4_to_2(tf_model* m, float* out2) {
  float xv[4] = {1, 2, 3, 4};
  int64_t xs[2] = {1, 4}, ys[2] = {1, 2};
  tf_tensor *x = NULL, *y = NULL;
  OK(tf_tensor_wrap(xv, xs, 2, TF_FLOAT32, &x));
  OK(tf_tensor_wrap(out2, ys, 2, TF_FLOAT32, &y));
  OK(tf_model_forward(m, x, y));
  OK(tf_tensor_free(x));
  OK(tf_tensor_free(y));
}

void test_json(void) {
  tf_model *m = NULL, *m2 = NULL, *bad = NULL;
  int64_t params = 0;
  float out[2] = {0, 0};
  size_t len = 0, len2 = 0;
  char* text;
  char small[8];
  OK(tf_model_from_json(kKerasJson, &m));
  OK(tf_model_num_params(m, &params));
  CHECK(params == 4 * 3 + 3 + 3 * 2);
  forward_4_to_2(m, out);
  CHECK(out[0] == 30 && out[1] == 30);
  /* to_json and back: the same layers, and the same text again */
  OK(tf_model_to_json(m, NULL, 0, &len));
  CHECK(len > 100);
  text = malloc(len + 1);
  OK(tf_model_to_json(m, text, len + 1, &len2));
  CHECK(len2 == len && strlen(text) == len);
  CHECK(strstr(text, "\"rate\": 0.25") != NULL && strstr(text, "\"use_bias\": false") != NULL);
  OK(tf_model_from_json(text, &m2));
  OK(tf_model_num_params(m2, &params));
  CHECK(params == 21);
  out[0] = out[1] = 0;
  forward_4_to_2(m2, out);
  CHECK(out[0] == 30 && out[1] == 30);
  { char again[2048]; size_t n = 0; OK(tf_model_to_json(m2, again, sizeof again, &n)); CHECK(strcmp(again, text) == 0); }
  CHECK_ERR(tf_model_to_json(m, small, sizeof small, &len2), TF_ERR_SHAPE, "capacity 8");
  CHECK_ERR(tf_model_to_json(m, NULL, 16, &len2), TF_ERR_INVALID_ARGUMENT, "buffer is NULL");
  CHECK_ERR(tf_model_to_json(m, text, len + 1, NULL), TF_ERR_INVALID_ARGUMENT, "length is NULL");
  CHECK_ERR(tf_model_to_json(NULL, text, len + 1, &len2), TF_ERR_INVALID_ARGUMENT, "m is NULL");
  free(text);
  OK(tf_model_free(m2));
  CHECK_ERR(tf_model_to_json(m2, NULL, 0, &len2), TF_ERR_INVALID_HANDLE, "not a live tf_model");
  /* bad descriptions */
  CHECK_ERR(tf_model_from_json(NULL, &bad), TF_ERR_INVALID_ARGUMENT, "json is NULL");
  CHECK_ERR(tf_model_from_json(kKerasJson, NULL), TF_ERR_INVALID_ARGUMENT, "out is NULL");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", ", &bad), TF_ERR_INVALID_ARGUMENT, "malformed JSON at byte 29");
  CHECK_ERR(tf_model_from_json("{} x", &bad), TF_ERR_INVALID_ARGUMENT, "after the value");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Functional\", \"config\": {}}", &bad), TF_ERR_INVALID_ARGUMENT, "Sequential");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": []}}", &bad),
            TF_ERR_INVALID_ARGUMENT, "no layer");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Conv2D\", "
                               "\"config\": {}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "unsupported layer class 'Conv2D'");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                               "\"config\": {\"activation\": \"relu\"}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "needs \"units\"");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                               "\"config\": {\"units\": 2.5}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "expected an integer");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                               "\"config\": {\"units\": 2, \"activation\": \"swoosh\"}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "swoosh");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dense\", "
                               "\"config\": {\"units\": 2, \"kernel_initializer\": {\"class_name\": \"Constant\", "
                               "\"config\": {\"value\": 3}}}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "Constant");
  CHECK_ERR(tf_model_from_json("{\"class_name\": \"Sequential\", \"config\": {\"layers\": [{\"class_name\": \"Dropout\", "
                               "\"config\": {\"rate\": 2}}]}}", &bad), TF_ERR_INVALID_ARGUMENT, "rate");
  {
    char deep[300];
    memset(deep, '[', 200);
    deep[200] = '\0';
    CHECK_ERR(tf_model_from_json(deep, &bad), TF_ERR_INVALID_ARGUMENT, "deeper than 64");
  }
  CHECK(bad == NULL);
  OK(tf_model_free(m));
}
