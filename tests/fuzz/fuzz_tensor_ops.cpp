// libFuzzer target: the tensor API. The input is decoded into a sequence of public calls over
// a small pool of tensors: creation with random shapes (zero, negative, huge and overflowing
// sizes) and dtypes, element-wise, reduction, shape, view, indexing and in-place ops, autograd
// (requires_grad, backward, grad) and printing. tapeflow's documented exceptions (Error,
// IndexError, AutogradError) are the expected answers to bad input; anything else (a crash, a
// sanitizer report, a leak, another exception type) is a finding. See tests/fuzz/run.sh.
//
// Memory stays bounded: the pool keeps tensors of at most kMaxPoolElems elements, and sizes that
// would really allocate more than that are replaced by small ones; sizes far too large for any
// machine (more than 2^31 elements: the allocator refuses them, run.sh caps ASan's allocations at
// 2 GiB) and sizes whose element count overflows int64 are kept, since the library must refuse
// them with an error.
//
// TAPEFLOW_FUZZ_KNOWN=1 also generates the inputs of known bugs being fixed under issue 17 (see
// K1-K9 in tensor_gen.h); without it the harness steers clear of them so that CI stays green.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "tapeflow.h"
#include "tensor_gen.h"

namespace tf = tapeflow;

namespace {

using fuzz::known;
using fuzz::is_float;
using fuzz::kMaxPoolElems;
constexpr size_t kMaxPool = 6;
constexpr int kMaxOps = 48;

struct Fuzzer : fuzz::Gen {
  std::vector<tf::Tensor> pool;

  Fuzzer(const uint8_t* data, size_t size) : Gen(data, size) {}

  bool has(size_t n) const { return pool.size() >= n; }
  tf::Tensor& pick() { return pool[in.ConsumeIntegralInRange<size_t>(0, pool.size() - 1)]; }
  void keep(const tf::Tensor& t) {
    if (!t.defined()) return;
    // Views of huge shapes (expand) are never materialised, nor empty tensors with a huge dim
    // kept: split(1) of a (0, 2^30) tensor rightly makes 2^30 pieces (no bug, but no memory).
    if (t.numel() > kMaxPoolElems) return;
    for (int64_t d : t.shape())
      if (d > kMaxPoolElems) return;
    if (pool.size() < kMaxPool) pool.push_back(t);
    else pool[in.ConsumeIntegralInRange<size_t>(0, kMaxPool - 1)] = t;
  }
  // Integer arithmetic can overflow (K4) and divide by zero (K5).
  bool arith_ok(const tf::Tensor& t) const { return known || is_float(t.dtype()); }

  void create() {
    tf::DType dt = dtype();
    switch (in.ConsumeIntegralInRange<int>(0, 9)) {
      case 0: keep(tf::zeros(shape(), dt)); break;
      case 1: keep(tf::ones(shape(), dt)); break;
      case 2: keep(tf::full(shape(), scalar_for(dt), dt)); break;
      case 3: keep(tf::empty(shape(), dt).fill_(0)); break;
      case 4: keep(tf::randn(shape(), float_dtype())); break;
      case 5: keep(tf::uniform(shape(), -2, 2, float_dtype())); break;
      case 6: {
        int64_t n = size_param(), m = in.ConsumeBool() ? -1 : size_param();
        // K1: eye builds a std::vector<double> of n*m first (overflow, or std::bad_alloc).
        if (known || count_of({n, m < 0 ? n : m}) == Count::Small) keep(tf::eye(n, m, dt));
        break;
      }
      case 7: {
        int64_t n = in.ConsumeIntegralInRange<int64_t>(-2, 40);
        keep(tf::arange(tf::Scalar(in.ConsumeIntegralInRange<int64_t>(-5, 5)), tf::Scalar(n),
                        tf::Scalar(in.ConsumeIntegralInRange<int64_t>(-3, 3)), dt));
        break;
      }
      case 8: {
        tf::Shape s = shape();
        std::vector<float> v(size_t(in.ConsumeIntegralInRange<int>(0, 64)));
        for (float& x : v) x = in.ConsumeFloatingPoint<float>();
        keep(tf::from_vector(v, s));
        break;
      }
      default: {
        int64_t lo = size_param(), hi = size_param();
        if (known || (lo > -(int64_t(1) << 40) && hi < (int64_t(1) << 40)))  // K4: high - low overflows
          keep(tf::randint(lo, hi, shape(), dt));
        break;
      }
    }
  }

  void unary() {
    tf::Tensor& x = pick();
    bool f = arith_ok(x);
    switch (in.ConsumeIntegralInRange<int>(0, 17)) {
      case 0: if (f) keep(tf::neg(x)); break;
      case 1: if (f) keep(tf::abs(x)); break;
      case 2: keep(tf::exp(x)); break;
      case 3: keep(tf::log(x)); break;
      case 4: keep(tf::tanh(x)); break;
      case 5: keep(tf::relu(x)); break;
      case 6: keep(tf::sigmoid(x)); break;
      case 7: keep(tf::sqrt(x)); break;
      case 8: if (f) keep(tf::square(x)); break;
      case 9: keep(tf::round(x)); break;
      case 10: if (f) keep(tf::clamp(x, scalar(), scalar())); break;
      case 11: if (f) keep(tf::pow(x, scalar())); break;
      case 12: keep(tf::logical_not(x)); break;
      case 13: {
        tf::DType to = dtype();
        if (known || is_float(to) || !is_float(x.dtype())) keep(x.astype(to));  // K4
        break;
      }
      case 14: keep(x.clone()); break;
      case 15: keep(x.contiguous()); break;
      case 16: keep(x.detach()); break;
      default: keep(tf::sign(x)); break;
    }
  }

  void binary() {
    tf::Tensor& a = pick();
    tf::Tensor& b = pick();
    bool f = arith_ok(a) && arith_ok(b);
    switch (in.ConsumeIntegralInRange<int>(0, 13)) {
      case 0: if (f) keep(a + b); break;
      case 1: if (f) keep(a - b); break;
      case 2: if (f) keep(a * b); break;
      case 3: if (f) keep(a / b); break;
      case 4: if (f) keep(tf::maximum(a, b)); break;
      case 5: keep(tf::eq(a, b)); break;
      case 6: keep(tf::lt(a, b)); break;
      case 7: keep(tf::logical_and(a, b)); break;
      case 8: if (f) keep(tf::matmul(a, b)); break;
      case 9: if (f) keep(tf::pow(a, b)); break;
      case 10: if (has(3)) keep(tf::where(pick(), a, b)); break;
      case 11: keep(tf::concat({a, b}, dim_param())); break;
      case 12: keep(tf::stack({a, b}, dim_param())); break;
      default: if (f) keep(tf::mul(a, scalar())); break;
    }
  }

  void reduce() {
    tf::Tensor& x = pick();
    bool f = arith_ok(x), kd = in.ConsumeBool();
    switch (in.ConsumeIntegralInRange<int>(0, 11)) {
      case 0: if (f) keep(tf::sum(x, axes(), kd)); break;
      case 1: if (f) keep(tf::mean(x, axes(), kd)); break;
      case 2: if (f) keep(tf::prod(x, axes(), kd)); break;
      case 3: keep(tf::max(x, axes(), kd)); break;
      case 4: keep(tf::min(x, axes(), kd)); break;
      case 5: keep(tf::argmax(x, dim_param(), kd)); break;
      case 6: if (f) keep(tf::var(x, axes(), index_param(false), kd)); break;
      case 7: if (f) keep(tf::logsumexp(x, axes(), kd)); break;
      case 8: keep(tf::any(x, axes(), kd)); break;
      case 9: if (f) keep(tf::cumsum(x, dim_param())); break;
      case 10: keep(tf::softmax(x, dim_param())); break;
      default: keep(tf::log_softmax(x, dim_param())); break;
    }
  }

  void reshape() {
    tf::Tensor& x = pick();
    switch (in.ConsumeIntegralInRange<int>(0, 13)) {
      case 0: keep(x.reshape(shape())); break;
      case 1: keep(x.view(shape())); break;
      case 2: keep(x.expand(shape())); break;
      case 3: keep(x.transpose(dim_param(), dim_param())); break;
      case 4: {
        std::vector<int> p;
        for (int i = 0, n = in.ConsumeIntegralInRange<int>(0, 5); i < n; ++i) p.push_back(dim_param());
        keep(x.permute(p));
        break;
      }
      case 5: keep(x.squeeze(dim_param())); break;
      case 6: keep(x.unsqueeze(dim_param())); break;
      case 7: keep(x.flatten(dim_param(), dim_param())); break;
      case 8: {  // K8
        int64_t start = index_param(known), stop = in.ConsumeBool() ? tf::kEnd : index_param(known);
        keep(x.slice(dim_param(), start, stop, index_param(known)));
        break;
      }
      case 9: keep(x.narrow(dim_param(), index_param(known), index_param(known))); break;
      case 10: keep(x.select(dim_param(), index_param())); break;
      case 11: {
        auto parts = x.split(known ? size_param() : index_param(false), dim_param());  // K8
        if (!parts.empty()) keep(parts[in.ConsumeIntegralInRange<size_t>(0, parts.size() - 1)]);
        break;
      }
      case 12: {
        auto parts = x.chunk(known ? size_param() : index_param(false), dim_param());  // K8
        if (!parts.empty()) keep(parts[in.ConsumeIntegralInRange<size_t>(0, parts.size() - 1)]);
        break;
      }
      default: keep(x.T()); break;
    }
  }

  void indexing() {
    tf::Tensor& x = pick();
    tf::Tensor& i = pick();
    int d = dim_param();
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: keep(tf::index_select(x, d, i)); break;
      case 1: keep(tf::gather(x, d, i)); break;
      case 2: keep(tf::take_along_dim(x, i, d)); break;
      case 3: if (has(2) && arith_ok(x)) keep(tf::scatter_add(x, d, i, pick())); break;
      case 4: if (has(2) && arith_ok(x)) keep(tf::index_add(x, d, i, pick())); break;
      default: {
        int64_t n = in.ConsumeBool() ? -1 : size_param();
        int64_t classes = n;
        if (n == -1 && x.numel() > 0 && (x.dtype() == tf::DType::Int32 || x.dtype() == tf::DType::Int64)) {
          int64_t m = tf::max(x).item<int64_t>();  // one_hot(x, -1) makes max(x) + 1 classes
          classes = m == std::numeric_limits<int64_t>::max() ? m : m + 1;
        }
        // K9: one_hot(x, n) builds arange(n) as a std::vector<double>: std::bad_alloc when huge.
        if (known || (count_of({classes}) == Count::Small && count_of({x.numel(), classes}) == Count::Small))
          keep(tf::one_hot(x, n));
        break;
      }
    }
  }

  void inplace() {
    tf::Tensor& x = pick();
    tf::Tensor& o = pick();
    bool f = arith_ok(x) && arith_ok(o);
    if (!known && o.requires_grad() && !x.requires_grad()) return;  // K6
    // K7: an in-place op on a tensor that requires grad leaks when the operand's graph saved that
    // tensor: y.mul_(y), and also x.add_(log(x)), x.div_(x * 2) (found here).
    if (!known && x.requires_grad()) return;
    switch (in.ConsumeIntegralInRange<int>(0, 7)) {
      case 0: if (f) x.add_(o); break;
      case 1: if (f) x.sub_(o); break;
      case 2: if (f) x.mul_(o); break;
      case 3: if (f) x.div_(o); break;  // K5 on integers
      case 4: x.copy_(o); break;
      case 5: x.fill_(scalar_for(x.dtype())); break;
      case 6: x.zero_(); break;
      default: if (f) x.clamp_(scalar(), scalar()); break;
    }
  }

  void autograd() {
    tf::Tensor& x = pick();
    switch (in.ConsumeIntegralInRange<int>(0, 5)) {
      case 0: x.requires_grad_(in.ConsumeBool()); break;
      case 1: tf::sum(x).backward(); break;
      case 2: x.backward(pick(), in.ConsumeBool()); break;
      case 3: {
        tf::Tensor g = x.grad();
        if (g.defined() || known) keep(tf::sum(g));  // K2
        break;
      }
      case 4: x.zero_grad(in.ConsumeBool()); break;
      default: {
        tf::Tensor& g = pick();
        // K7: grads that reach back to x (a.set_grad(a), a.set_grad(a + 1), a.set_grad(b) with
        // b.set_grad(a)) are leaking cycles; a detached handle has no autograd state to close one.
        if (known) x.set_grad(g);
        else if (!g.requires_grad()) x.set_grad(g.detach());
        break;
      }
    }
  }

  void inspect() {
    tf::Tensor& x = pick();
    switch (in.ConsumeIntegralInRange<int>(0, 3)) {
      case 0: (void)x.str(); break;
      case 1: (void)x.repr(); break;
      case 2: (void)x.to_vector<double>(); break;
      default: (void)x.item<double>(); break;
    }
  }

  void step() {
    int kind = in.ConsumeIntegralInRange<int>(0, 9);
    if (pool.empty() || kind == 0) return create();
    switch (kind) {
      case 1: case 2: return unary();
      case 3: return binary();
      case 4: return reduce();
      case 5: return reshape();
      case 6: return indexing();
      case 7: return inplace();
      case 8: return autograd();
      default: return inspect();
    }
  }

  void run() {
    for (int i = 0; i < kMaxOps && in.remaining_bytes() > 0; ++i) {
      try {
        step();
      } catch (const tf::Error&) {  // tapeflow's documented exceptions: the expected answers
      } catch (const tf::IndexError&) {
      } catch (const tf::AutogradError&) {
      }
    }
    if (known) {  // K2: undefined tensors
      try { (void)tf::sum(tf::Tensor()); } catch (const tf::Error&) {} catch (const tf::IndexError&) {}
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* k = std::getenv("TAPEFLOW_FUZZ_KNOWN");
  known = k && std::strcmp(k, "1") == 0;
  tf::set_num_threads(1);  // reproducible, and fast for the small tensors used here
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fuzzer f(data, size);
  f.run();
  return 0;
}
