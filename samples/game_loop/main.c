/* samples/game_loop: a game-style fixed-timestep loop driving a point mass with a neural policy
 * through the C API, while a background thread trains a copy of the policy and publishes its
 * weights (the trainer-publishes-weights pattern).
 *
 * - The simulation (60 Hz): a point mass on a line chases a target that jumps every 2 s. Each
 *   frame the policy maps (position - target, velocity) to a force, at batch 1, through
 *   tf_model_forward into a fixed output buffer.
 * - The trainer thread imitates a PD controller (force = 4 (target - x) - 2 v, clipped) on
 *   random states with Adam, and publishes its weights with tf_model_copy_weights into the
 *   back model of a double buffer. Every N frames the game thread swaps front and back when a
 *   new version is ready. A model is never written while it is being read: the trainer writes
 *   only the back model, and only while `back_ready` is 0; the game swaps only when it is 1.
 * - At the end it prints the inference call's frame-time percentiles (p50, p99, max), the
 *   tracking error of the first and last seconds, and checks that the resident memory stayed
 *   flat after warm-up (exit 1 otherwise).
 * The loop sleeps to hold --hz frames per second of wall-clock time (0: as fast as it can).
 *   game_loop [--frames 3600] [--hz 60] [--publish-every 30] [--rss-slack-kb 2048]
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tapeflow_c.h"

static void check(tf_status st, const char* what) {
  if (st != TF_OK) {
    fprintf(stderr, "game_loop: %s failed: %s: %s\n", what, tf_status_string(st), tf_last_error());
    exit(1);
  }
}
#define CHECK(call) check((call), #call)

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static long rss_kb(void) {
  long pages = 0, resident = 0;
  FILE* f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = -1;
  fclose(f);
  return resident < 0 ? -1 : resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static float expert(float dx, float v) { /* the PD controller the policy imitates */
  float f = -4.0f * dx - 2.0f * v;
  return f > 8.0f ? 8.0f : f < -8.0f ? -8.0f : f;
}

/* ---- the trainer thread ---- */
static tf_model *g_trainer, *g_front, *g_back; /* g_front: the game's; g_back: the trainer's to write */
static atomic_int g_back_ready, g_stop;
static float g_first_loss = -1, g_last_loss = -1;

static void* train_thread(void* arg) {
  enum { B = 64 };
  float x[B * 2], y[B];
  int64_t xs[2] = {B, 2}, ys[2] = {B, 1};
  tf_tensor *tx = NULL, *ty = NULL;
  uint64_t s = 12345;
  int step = 0, i;
  (void)arg;
  CHECK(tf_tensor_wrap(x, xs, 2, TF_FLOAT32, &tx));
  CHECK(tf_tensor_wrap(y, ys, 2, TF_FLOAT32, &ty));
  while (!atomic_load(&g_stop)) {
    float loss = 0;
    for (i = 0; i < B; ++i) { /* random states in [-3, 3] x [-3, 3] */
      s = s * 6364136223846793005ULL + 1442695040888963407ULL;
      x[2 * i] = (float)((s >> 40) % 6001) / 1000.0f - 3.0f;
      x[2 * i + 1] = (float)((s >> 20) % 6001) / 1000.0f - 3.0f;
      y[i] = expert(x[2 * i], x[2 * i + 1]) / 8.0f; /* scaled to [-1, 1] */
    }
    CHECK(tf_model_train_step(g_trainer, tx, ty, &loss));
    if (g_first_loss < 0) g_first_loss = loss;
    g_last_loss = loss;
    if (++step % 20 == 0 && !atomic_load_explicit(&g_back_ready, memory_order_acquire)) {
      CHECK(tf_model_copy_weights(g_back, g_trainer)); /* the game never reads g_back */
      atomic_store_explicit(&g_back_ready, 1, memory_order_release);
    }
  }
  CHECK(tf_tensor_free(tx));
  CHECK(tf_tensor_free(ty));
  return NULL;
}

static int cmp_double(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  int frames = 3600, publish_every = 30, warmup = 120, hz = 60, f, i;
  struct timespec next;
  long rss_slack_kb = 2048, rss_warm = 0, rss_max = 0;
  const double dt = 1.0 / 60.0;
  double pos = 0, vel = 0, target = 1.5, err_first = 0, err_last = 0, *times;
  float in[2], out[1];
  int64_t xs[2] = {1, 2}, ys[2] = {1, 1}, two = 2;
  tf_tensor *tx = NULL, *ty = NULL;
  tf_optimizer* adam = NULL;
  pthread_t trainer;
  int swaps = 0;

  for (i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--frames")) frames = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--hz")) hz = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--publish-every")) publish_every = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--rss-slack-kb")) rss_slack_kb = atol(argv[i + 1]);
    else { fprintf(stderr, "game_loop: unknown option %s\n", argv[i]); return 2; }
  }
  if (frames < 2 * warmup || publish_every < 1 || hz < 0) {
    fprintf(stderr, "game_loop: needs --frames >= %d, --publish-every >= 1 and --hz >= 0\n", 2 * warmup);
    return 2;
  }
  times = calloc((size_t)frames, sizeof *times);
  if (!times) return 1;
  CHECK(TF_CHECK_VERSION());
  CHECK(tf_set_num_threads(1)); /* batch 1 gains nothing from more; the trainer has its own thread */
  CHECK(tf_manual_seed(1));

  /* The trainer's model, and two inference copies (front / back) made by clone. */
  CHECK(tf_model_create(&g_trainer));
  CHECK(tf_model_add_dense(g_trainer, 32, "tanh", 2));
  CHECK(tf_model_add_dense(g_trainer, 32, "tanh", 0));
  CHECK(tf_model_add_dense(g_trainer, 1, "tanh", 0));
  CHECK(tf_model_build(g_trainer, &two, 1));
  CHECK(tf_optimizer_create("adam", "lr=0.01", &adam));
  CHECK(tf_model_compile(g_trainer, adam, "mse"));
  CHECK(tf_optimizer_free(adam));
  CHECK(tf_model_clone(g_trainer, &g_front));
  CHECK(tf_model_clone(g_trainer, &g_back));

  CHECK(tf_tensor_wrap(in, xs, 2, TF_FLOAT32, &tx)); /* the game writes `in` each frame */
  CHECK(tf_tensor_wrap(out, ys, 2, TF_FLOAT32, &ty));
  if (pthread_create(&trainer, NULL, train_thread, NULL)) { fprintf(stderr, "game_loop: pthread_create\n"); return 1; }

  clock_gettime(CLOCK_MONOTONIC, &next);
  for (f = 0; f < frames; ++f) {
    double t0, force;
    if (hz > 0) { /* hold the frame rate: sleep until this frame's start */
      next.tv_nsec += 1000000000L / hz;
      if (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; ++next.tv_sec; }
      while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL) != 0) {}
    }
    if (f % 120 == 0 && f > 0) target = target > 0 ? -1.0 - (f % 7) * 0.25 : 1.0 + (f % 5) * 0.3;
    if (f % publish_every == 0 && atomic_load_explicit(&g_back_ready, memory_order_acquire)) {
      tf_model* t = g_front; /* swap: the new weights go live, the old front becomes the back */
      g_front = g_back;
      g_back = t;
      ++swaps;
      atomic_store_explicit(&g_back_ready, 0, memory_order_release);
    }
    in[0] = (float)(pos - target);
    in[1] = (float)vel;
    t0 = now_s();
    CHECK(tf_model_forward(g_front, tx, ty));
    times[f] = now_s() - t0;
    force = 8.0 * out[0];
    vel += force * dt; /* semi-implicit Euler */
    pos += vel * dt;
    if (f < 60) err_first += fabs(pos - target) / 60.0;
    if (f >= frames - 60) err_last += fabs(pos - target) / 60.0;
    if (f == warmup) rss_warm = rss_kb();
    if (f > warmup && f % 60 == 0) { long r = rss_kb(); if (r > rss_max) rss_max = r; }
  }
  atomic_store(&g_stop, 1);
  pthread_join(trainer, NULL);
  {
    long r = rss_kb();
    if (r > rss_max) rss_max = r;
  }

  {
    int n = frames - warmup;
    double* t = times + warmup;
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    printf("frames: %d, dt 1/60 s, paced at %d Hz (%d warm-up), weight swaps: %d (publish checked every %d frames)\n", frames, hz,
           warmup, swaps, publish_every);
    printf("inference call (batch 1, 2-32-32-1): p50 %.1f us, p99 %.1f us, max %.1f us\n", 1e6 * t[n / 2],
           1e6 * t[(int)(0.99 * (n - 1))], 1e6 * t[n - 1]);
  }
  printf("trainer loss: first %.4f, last %.4f\n", g_first_loss, g_last_loss);
  printf("tracking error: first second %.3f, last second %.3f\n", err_first, err_last);
  printf("resident memory: %ld kB after warm-up, at most %ld kB later (slack %ld kB)\n", rss_warm, rss_max,
         rss_slack_kb);

  CHECK(tf_tensor_free(tx));
  CHECK(tf_tensor_free(ty));
  CHECK(tf_model_free(g_front));
  CHECK(tf_model_free(g_back));
  CHECK(tf_model_free(g_trainer));
  free(times);
  if (swaps < 1) { printf("game_loop: FAILED: no weights were published\n"); return 1; }
  if (!(g_last_loss < g_first_loss)) { printf("game_loop: FAILED: the trainer did not learn\n"); return 1; }
  if (rss_warm <= 0 || rss_max - rss_warm > rss_slack_kb) {
    printf("game_loop: FAILED: resident memory grew by %ld kB after warm-up\n", rss_max - rss_warm);
    return 1;
  }
  printf("game_loop: OK\n");
  return 0;
}
