/* samples/c_mlp: the seed's Keras MLP (example 5) trained from plain C11 through tapeflow_c.h.
 * Fashion-MNIST, standardized as the seed does (pixels / 255, per-pixel mean, one global std);
 * Dense 50 tanh, Dense 50 tanh, Dense 10 softmax; SGD lr 0.001, momentum 0.9, decay 1e-7;
 * categorical cross-entropy on one-hot labels; batches of 64 shuffled each epoch, the last 10%
 * of the training rows held out for validation. Prints the loss per epoch and the test accuracy.
 *   c_mlp [--epochs 50] [--limit N] [--test-limit N] [--batch-size 64] [--seed 123]
 *         [--threads N] [--data DIR]
 * Every tapeflow call is checked; any failure prints tf_last_error() and exits with 1. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tapeflow_c.h"

#define PIXELS 784
#define CLASSES 10

static void check(tf_status st, const char* what) {
  if (st != TF_OK) {
    fprintf(stderr, "c_mlp: %s failed: %s: %s\n", what, tf_status_string(st), tf_last_error());
    exit(1);
  }
}
#define CHECK(call) check((call), #call)

/* Reads DIR/NAME or DIR/NAME.gz as uint8 into a fresh buffer; *count gets dim 0. */
static uint8_t* read_idx(const char* dir, const char* name, int64_t* count, int64_t row_bytes) {
  char path[1024];
  tf_tensor* t = NULL;
  int64_t numel = 0, shape[4] = {0};
  uint8_t* buf;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  if (tf_read_idx(path, &t) != TF_OK) {
    snprintf(path, sizeof path, "%s/%s.gz", dir, name);
    CHECK(tf_read_idx(path, &t));
  }
  CHECK(tf_tensor_numel(t, &numel));
  CHECK(tf_tensor_shape(t, shape, 4));
  if (numel != shape[0] * row_bytes) {
    fprintf(stderr, "c_mlp: %s: unexpected size\n", path);
    exit(1);
  }
  buf = malloc((size_t)numel);
  if (!buf) { fprintf(stderr, "c_mlp: out of memory\n"); exit(1); }
  CHECK(tf_tensor_read(t, buf, (size_t)numel));
  CHECK(tf_tensor_free(t));
  *count = shape[0];
  return buf;
}

static uint64_t rng_state;
static uint64_t next_random(void) { /* xorshift64* */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ULL;
}

/* Fraction of rows of x (n, 784) the model classifies as `labels`, in chunks of 1000. */
static double accuracy(tf_model* m, const float* x, const uint8_t* labels, int64_t n) {
  enum { CHUNK = 1000 };
  static float out[CHUNK * CLASSES];
  int64_t correct = 0, start, i;
  int k;
  for (start = 0; start < n; start += CHUNK) {
    int64_t rows = n - start < CHUNK ? n - start : CHUNK;
    int64_t xs[2], ys[2];
    tf_tensor *tx = NULL, *ty = NULL;
    xs[0] = rows; xs[1] = PIXELS; ys[0] = rows; ys[1] = CLASSES;
    CHECK(tf_tensor_wrap((void*)(x + start * PIXELS), xs, 2, TF_FLOAT32, &tx));
    CHECK(tf_tensor_wrap(out, ys, 2, TF_FLOAT32, &ty));
    CHECK(tf_model_forward(m, tx, ty));
    for (i = 0; i < rows; ++i) {
      int best = 0;
      for (k = 1; k < CLASSES; ++k)
        if (out[i * CLASSES + k] > out[i * CLASSES + best]) best = k;
      correct += best == labels[start + i];
    }
    CHECK(tf_tensor_free(tx));
    CHECK(tf_tensor_free(ty));
  }
  return n ? (double)correct / (double)n : 0.0;
}

int main(int argc, char** argv) {
  int epochs = 50, threads = 0, epoch, i;
  int64_t limit = 0, test_limit = 0, batch = 64, seed = 123;
  const char* dir = "/usr/share/datasets/fashion-mnist";
  int64_t n_train = 0, n_test = 0, n_fit, n_val, p, r, b;
  uint8_t *train_img, *train_lab, *test_img, *test_lab;
  float *x_train, *x_test, *xb, *yb;
  double *mean, sum = 0, sq = 0, std;
  int64_t *order;
  tf_model* model = NULL;
  tf_optimizer* sgd = NULL;

  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--epochs")) epochs = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--limit")) limit = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--test-limit")) test_limit = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--batch-size")) batch = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--seed")) seed = atoll(argv[i + 1]);
    else if (!strcmp(argv[i], "--threads")) threads = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--data")) dir = argv[i + 1];
    else { fprintf(stderr, "c_mlp: unknown option %s\n", argv[i]); return 2; }
  }
  if (i < argc || epochs < 0 || batch < 1) {
    fprintf(stderr, "usage: c_mlp [--epochs N] [--limit N] [--test-limit N] [--batch-size N] [--seed N] "
                    "[--threads N] [--data DIR]\n");
    return 2;
  }
  CHECK(TF_CHECK_VERSION());
  printf("tapeflow %s through the C API\n", tf_version_string());
  if (threads > 0) CHECK(tf_set_num_threads(threads));
  CHECK(tf_manual_seed((uint64_t)seed));
  rng_state = (uint64_t)seed * 0x9E3779B97F4A7C15ULL + 1;

  train_img = read_idx(dir, "train-images-idx3-ubyte", &n_train, PIXELS);
  train_lab = read_idx(dir, "train-labels-idx1-ubyte", &r, 1);
  test_img = read_idx(dir, "t10k-images-idx3-ubyte", &n_test, PIXELS);
  test_lab = read_idx(dir, "t10k-labels-idx1-ubyte", &r, 1);
  if (limit > 0 && limit < n_train) n_train = limit;
  if (test_limit > 0 && test_limit < n_test) n_test = test_limit;

  /* The seed's standardization, fitted on the training rows used. */
  mean = calloc(PIXELS, sizeof *mean);
  x_train = malloc((size_t)(n_train * PIXELS) * sizeof *x_train);
  x_test = malloc((size_t)(n_test * PIXELS) * sizeof *x_test);
  for (r = 0; r < n_train; ++r)
    for (p = 0; p < PIXELS; ++p) mean[p] += train_img[r * PIXELS + p] / 255.0;
  for (p = 0; p < PIXELS; ++p) { mean[p] /= (double)n_train; sum += mean[p]; }
  sum /= PIXELS; /* the global mean */
  for (r = 0; r < n_train; ++r)
    for (p = 0; p < PIXELS; ++p) { double d = train_img[r * PIXELS + p] / 255.0 - sum; sq += d * d; }
  std = sqrt(sq / (double)(n_train * PIXELS));
  for (r = 0; r < n_train; ++r)
    for (p = 0; p < PIXELS; ++p) x_train[r * PIXELS + p] = (float)((train_img[r * PIXELS + p] / 255.0 - mean[p]) / std);
  for (r = 0; r < n_test; ++r)
    for (p = 0; p < PIXELS; ++p) x_test[r * PIXELS + p] = (float)((test_img[r * PIXELS + p] / 255.0 - mean[p]) / std);

  CHECK(tf_model_create(&model));
  CHECK(tf_model_add_dense(model, 50, "tanh", PIXELS));
  CHECK(tf_model_add_dense(model, 50, "tanh", 0));
  CHECK(tf_model_add_dense(model, CLASSES, "softmax", 0));
  {
    int64_t in = PIXELS, params = 0;
    CHECK(tf_model_build(model, &in, 1));
    CHECK(tf_model_num_params(model, &params));
    printf("model: 784-50-50-10 tanh/softmax, %lld parameters\n", (long long)params);
  }
  CHECK(tf_optimizer_create("sgd", "lr=0.001,momentum=0.9,decay=1e-7", &sgd));
  CHECK(tf_model_compile(model, sgd, "categorical_crossentropy"));
  CHECK(tf_optimizer_free(sgd)); /* the model keeps its own reference */

  n_val = n_train / 10; /* validation_split 0.1: the last rows, held out before shuffling */
  n_fit = n_train - n_val;
  order = malloc((size_t)n_fit * sizeof *order);
  xb = malloc((size_t)(batch * PIXELS) * sizeof *xb);
  yb = malloc((size_t)(batch * CLASSES) * sizeof *yb);
  if (!mean || !x_train || !x_test || !order || !xb || !yb) { fprintf(stderr, "c_mlp: out of memory\n"); return 1; }
  for (r = 0; r < n_fit; ++r) order[r] = r;
  printf("training on %lld rows (%lld held out), testing on %lld, %d epochs\n", (long long)n_fit,
         (long long)n_val, (long long)n_test, epochs);

  for (epoch = 1; epoch <= epochs; ++epoch) {
    double loss_sum = 0;
    int64_t batches = 0;
    for (r = n_fit - 1; r > 0; --r) { /* Fisher-Yates */
      int64_t j = (int64_t)(next_random() % (uint64_t)(r + 1)), tmp = order[r];
      order[r] = order[j];
      order[j] = tmp;
    }
    for (b = 0; b < n_fit; b += batch) {
      int64_t rows = n_fit - b < batch ? n_fit - b : batch;
      int64_t xs[2], ys[2];
      tf_tensor *tx = NULL, *ty = NULL;
      float loss = 0;
      xs[0] = rows; xs[1] = PIXELS; ys[0] = rows; ys[1] = CLASSES;
      memset(yb, 0, (size_t)(rows * CLASSES) * sizeof *yb);
      for (r = 0; r < rows; ++r) {
        int64_t src = order[b + r];
        memcpy(xb + r * PIXELS, x_train + src * PIXELS, PIXELS * sizeof *xb);
        yb[r * CLASSES + train_lab[src]] = 1.0f;
      }
      CHECK(tf_tensor_wrap(xb, xs, 2, TF_FLOAT32, &tx));
      CHECK(tf_tensor_wrap(yb, ys, 2, TF_FLOAT32, &ty));
      CHECK(tf_model_train_step(model, tx, ty, &loss));
      CHECK(tf_tensor_free(tx));
      CHECK(tf_tensor_free(ty));
      loss_sum += loss;
      ++batches;
    }
    printf(" -- Epoch %2d  Avg. Training Loss: %.4f  Validation Accuracy: %.2f%%\n", epoch,
           batches ? loss_sum / (double)batches : 0.0,
           100.0 * accuracy(model, x_train + n_fit * PIXELS, train_lab + n_fit, n_val));
    fflush(stdout);
  }
  printf("Test Accuracy: %.2f%%\n", 100.0 * accuracy(model, x_test, test_lab, n_test));

  CHECK(tf_model_free(model));
  free(order); free(xb); free(yb); free(mean); free(x_train); free(x_test);
  free(train_img); free(train_lab); free(test_img); free(test_lab);
  return 0;
}
