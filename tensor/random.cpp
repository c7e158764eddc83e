// Random factories over one process-wide Philox generator: each draw takes a fresh block of
// counters, and element i of the draw uses counter (block start + i), so values depend only on
// the seed and the order of draws, never on threads or devices.
#include <mutex>
#include <numeric>

#include "base/philox.h"
#include "tensor/creation.h"
#include "tensor/internal.h"

namespace tapeflow {

using namespace detail;

namespace {
struct Generator {
  std::mutex mu;
  uint64_t seed = 0;
  uint64_t offset = 0;
  uint64_t take(uint64_t n) {
    std::lock_guard<std::mutex> lock(mu);
    uint64_t start = offset;
    offset += n;
    return start;
  }
};
Generator& generator() {
  static Generator g;
  return g;
}

Tensor draw(const char* op, backend::RandomKind kind, const Shape& shape, double a, double b, const Options& o, DType dt) {
  Tensor t = make_tensor(shape, dt, o.device, op);
  uint64_t n = (uint64_t)t.numel();
  uint64_t start = generator().take(n);
  if (n) backend_of(t).random(kind, view_of(t), generator().seed, start, a, b);
  if (o.requires_grad) t.requires_grad_(true);
  return t;
}
}  // namespace

void manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(generator().mu);
  generator().seed = seed;
  generator().offset = 0;
}

Tensor uniform(const Shape& shape, double low, double high, Options o) {
  if (!(low <= high)) fail("uniform: low (", low, ") must not exceed high (", high, ")");
  if (!is_floating(o.dtype)) fail("uniform: dtype must be floating, got ", o.dtype);
  return draw("uniform", backend::RandomKind::Uniform, shape, low, high, o, o.dtype);
}

Tensor normal(const Shape& shape, double mean, double stddev, Options o) {
  if (!(stddev >= 0)) fail("normal: stddev must be non-negative, got ", stddev);
  if (!is_floating(o.dtype)) fail("normal: dtype must be floating, got ", o.dtype);
  return draw("normal", backend::RandomKind::Normal, shape, mean, stddev, o, o.dtype);
}

Tensor bernoulli(const Shape& shape, double p, Options o) {
  if (!(p >= 0 && p <= 1)) fail("bernoulli: p must be in [0, 1], got ", p);
  return draw("bernoulli", backend::RandomKind::Bernoulli, shape, p, 0, o, o.dtype);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Options o) {
  if (low >= high) fail("randint: low (", low, ") must be less than high (", high, ")");
  DType dt = o.dtype_given ? o.dtype : kInt64;
  if (!is_integral(dt) && !is_floating(dt)) fail("randint: unsupported dtype ", dt);
  return draw("randint", backend::RandomKind::RandInt, shape, (double)low, (double)high, o, dt);
}

Tensor randperm(int64_t n, Options o) {
  if (n < 0) fail("randperm: n must be non-negative, got ", n);
  std::vector<int64_t> p = host_vector<int64_t>("randperm", n);
  std::iota(p.begin(), p.end(), 0);
  uint64_t seed = generator().seed, start = generator().take((uint64_t)n);
  for (int64_t i = n - 1; i > 0; --i) {
    Philox4 r = philox4x32(seed, start + (uint64_t)i);
    double u = u01(r.v[0], r.v[1]);
    int64_t j = (int64_t)(u * (double)(i + 1));
    if (j > i) j = i;
    std::swap(p[i], p[j]);
  }
  Tensor t = cast_raw(from_vector(p), o.dtype_given ? o.dtype : kInt64).to(o.device);
  return t;
}

}  // namespace tapeflow
