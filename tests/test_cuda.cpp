// CUDA backend tests: every backend family run on cuda:0 against the CPU result on fresh random
// inputs, through the public Tensor API, plus the caching allocator's statistics and the error
// messages. Tagged [cuda]; without a CUDA device they WARN "skipped: no CUDA device", except
// the first case, which checks what a build without CUDA (or without a GPU) answers.
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "devices.h"
#include "helpers.h"
#include "autograd/grad_mode.h"
#include "base/cuda.h"

using namespace tapeflow;
using Catch::Matchers::Contains;

namespace {

const Device kGpu = Device::cuda(0);

// The CUDA result equals the CPU one: same shape and dtype, values within tol (relative).
void check_same(const std::string& what, const Tensor& cpu, const Tensor& gpu, double tol = 1e-5) {
  INFO(what);
  REQUIRE(gpu.device() == kGpu);
  Tensor back = gpu.cpu();
  REQUIRE(back.shape() == cpu.shape());
  REQUIRE(back.dtype() == cpu.dtype());
  std::vector<double> want = cpu.to_vector<double>(), got = back.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) {
    if (!tftest::close(got[i], want[i], tol)) {
      FAIL_CHECK("element " << i << ": cuda " << got[i] << " vs cpu " << want[i]);
      return;
    }
  }
}

using Fn2 = std::function<Tensor(const Tensor&, const Tensor&)>;

}  // namespace

TEST_CASE("cuda: availability and errors without a device", "[cuda]") {
  if (!cuda::is_built()) {
    CHECK_FALSE(cuda::is_available());
    CHECK(cuda::device_count() == 0);
    CHECK(cuda::memory_allocated() == 0);
    CHECK_THROWS_AS(zeros({2}, Options(kGpu)), Error);
    CHECK_THROWS_WITH(zeros({2}, Options(kGpu)), Contains("built without CUDA"));
    CHECK_THROWS_WITH(ones({2}).to(kGpu), Contains("cuda:0") && Contains("built without CUDA"));
  } else if (!cuda::is_available()) {
    CHECK(cuda::device_count() == 0);
    CHECK_THROWS_WITH(zeros({2}, Options(kGpu)), Contains("no CUDA device"));
  } else {
    CHECK(cuda::device_count() >= 1);
    CHECK_THROWS_WITH(zeros({2}, Options(Device::cuda(97))), Contains("no CUDA device"));
  }
  CHECK(test_devices().front() == Device::cpu());
  CHECK(test_devices().size() == (cuda::is_available() ? 2u : 1u));
}

TEST_CASE("cuda: binary ops, broadcasting and where match the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(12);
  std::vector<std::pair<const char*, Fn2>> ops = {
      {"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
      {"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
      {"eq", [](const Tensor& a, const Tensor& b) { return a == b; }},
      {"lt", [](const Tensor& a, const Tensor& b) { return a < b; }},
      {"ge", [](const Tensor& a, const Tensor& b) { return a >= b; }},
      {"and", [](const Tensor& a, const Tensor& b) { return logical_and(a > 0.0, b > 0.0); }},
      {"or", [](const Tensor& a, const Tensor& b) { return logical_or(a > 0.0, b > 0.0); }},
      {"where", [](const Tensor& a, const Tensor& b) { return where(a > b, a, b * 2.0); }}};
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor a = randn({4, 1, 6}, Options(dt)), b = randn({3, 6}, Options(dt));
    Tensor ga = a.to(kGpu), gb = b.to(kGpu);
    for (auto& [name, f] : ops) {
      check_same(std::string(name) + " broadcast", f(a, b), f(ga, gb));
      check_same(std::string(name) + " same shape", f(b, 0.1 - b), f(gb, 0.1 - gb));
    }
    check_same("pow", pow(abs(a) + 0.5, b), pow(abs(ga) + 0.5, gb));
    check_same("scalar left", 1.0 - a, 1.0 - ga);
    Tensor big = randn({64, 130}, Options(dt));  // transposed operands: strided kernel
    check_same("transposed add", big.T() + big.T() * 2.0, big.to(kGpu).T() + big.to(kGpu).T() * 2.0);
  }
  Tensor ia = randint(-20, 20, {5, 7}, Options(kInt64)), ib = randint(1, 6, {7}, Options(kInt64));
  for (auto& [name, f] : ops) check_same(std::string(name) + " int64", f(ia, ib), f(ia.to(kGpu), ib.to(kGpu)), 0);
  Tensor small = randint(-5, 6, {5, 7}, Options(kInt64)), expo = randint(0, 4, {7}, Options(kInt64));
  check_same("int pow", pow(small, expo), pow(small.to(kGpu), expo.to(kGpu)), 0);
}

TEST_CASE("cuda: casts and strided copies match the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(13);
  Tensor base = randint(0, 100, {9, 13}, Options(kInt64));
  for (DType from : {kBool, kUInt8, kInt32, kInt64, kFloat32, kFloat64}) {
    Tensor src = base.astype(from), gsrc = src.to(kGpu);
    for (DType to : {kBool, kUInt8, kInt32, kInt64, kFloat32, kFloat64}) {
      std::string what = str_cat("cast ", from, " -> ", to);
      check_same(what, src.astype(to), gsrc.astype(to), 0);
      check_same(what + " transposed", src.T().astype(to), gsrc.T().astype(to), 0);
    }
  }
  Tensor f = randn({6, 8, 10}) * 50.0;
  check_same("float -> int32 truncation", f.astype(kInt32), f.to(kGpu).astype(kInt32), 0);
  Tensor g = f.to(kGpu);
  check_same("permute contiguous", f.permute({2, 0, 1}).contiguous(), g.permute({2, 0, 1}).contiguous(), 0);
  check_same("step slice", f.slice(1, 1, kEnd, 3).contiguous(), g.slice(1, 1, kEnd, 3).contiguous(), 0);
  check_same("expand", f.slice(0, 0, 1).expand({4, 8, 10}).contiguous(), g.slice(0, 0, 1).expand({4, 8, 10}).contiguous(), 0);
  Tensor target = zeros({10, 8}), gtarget = target.to(kGpu);
  target.slice(0, 2, 6).copy_(f[0].T().slice(0, 0, 4));
  gtarget.slice(0, 2, 6).copy_(g[0].T().slice(0, 0, 4));
  check_same("copy_ into a view", target, gtarget, 0);
  check_same("fill_", zeros({3, 5}).fill_(2.5), zeros({3, 5}, Options(kGpu)).fill_(2.5), 0);
}

TEST_CASE("cuda: reductions, arg reductions and cumsum match the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(14);
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor x = randn({37, 53, 11}, Options(dt)), g = x.to(kGpu);
    check_same("sum all", x.sum(), g.sum(), 1e-4);
    check_same("sum 0", x.sum(0), g.sum(0), 1e-4);
    check_same("sum {0,2}", x.sum({0, 2}), g.sum({0, 2}), 1e-4);
    check_same("sum 2 keepdims", x.sum(2, true), g.sum(2, true), 1e-4);
    check_same("mean 1", x.mean(1), g.mean(1), 1e-4);
    check_same("prod 2", (1.0 + 0.1 * x).prod(2), (1.0 + 0.1 * g).prod(2), 1e-4);
    for (int axis : {0, 1, 2}) {
      check_same("max", x.max(axis), g.max(axis));
      check_same("min", x.min(axis), g.min(axis));
      check_same("argmax", x.argmax(axis), g.argmax(axis), 0);
      check_same("argmin", x.argmin(axis), g.argmin(axis), 0);
      check_same("cumsum", cumsum(x, axis), cumsum(g, axis), 1e-4);
    }
    check_same("permuted sum", x.permute({2, 0, 1}).sum({1}), g.permute({2, 0, 1}).sum({1}), 1e-4);
    check_same("var", x.var(1), g.var(1), 1e-4);
    check_same("logsumexp", x.logsumexp(2), g.logsumexp(2), 1e-5);
    check_same("argmax flat", x.argmax(), g.argmax(), 0);
  }
  // Long reductions take the two-pass (split) path; columns the y-split layout.
  Tensor big = randn({1 << 20}, Options(kFloat64));
  check_same("sum 2^20", big.sum(), big.to(kGpu).sum(), 1e-9);
  check_same("max 2^20", big.max(), big.to(kGpu).max());
  Tensor cols = randn({65536, 3}, Options(kFloat64));
  check_same("column sum", cols.sum(0), cols.to(kGpu).sum(0), 1e-9);
  Tensor ints = randint(0, 3, {40, 300}, Options(kInt32));  // many ties: first index wins
  Tensor gi = ints.to(kGpu);
  check_same("int sum", ints.sum(1), gi.sum(1), 0);
  check_same("int argmax ties", ints.argmax(1), gi.argmax(1), 0);
  check_same("int argmin ties", ints.argmin(0), gi.argmin(0), 0);
  check_same("int cumsum long", cumsum(ints, 1), cumsum(gi, 1), 0);
  check_same("all", (ints > 0).all(1), (gi > 0).all(1), 0);
  check_same("any", (ints > 1).any(0), (gi > 1).any(0), 0);
  check_same("all of numbers", ints.all(), gi.all(), 0);
  Tensor row = randn({3, 5000}, Options(kFloat64));
  check_same("cumsum block scan", cumsum(row, 1), cumsum(row.to(kGpu), 1), 1e-9);
}

TEST_CASE("cuda: softmax, log_softmax, their backwards and cross-entropy match the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(15);
  for (Shape s : {Shape{64, 10}, Shape{8, 1000}, Shape{4, 5000}, Shape{1000, 7}}) {
    for (int axis : {-1, 0}) {
      Tensor x = randn(s) * 3.0, w = randn(s);
      Tensor xc = x.detach().requires_grad_(), xg = x.to(kGpu).detach().requires_grad_();
      Tensor yc = softmax(xc, axis), yg = softmax(xg, axis);
      check_same("softmax", yc, yg);
      (yc * w).sum().backward();
      (yg * w.to(kGpu)).sum().backward();
      check_same("softmax grad", xc.grad(), xg.grad(), 1e-4);
      Tensor xc2 = x.detach().requires_grad_(), xg2 = x.to(kGpu).detach().requires_grad_();
      Tensor lc = log_softmax(xc2, axis), lg = log_softmax(xg2, axis);
      check_same("log_softmax", lc, lg, 1e-5);
      (lc * w).sum().backward();
      (lg * w.to(kGpu)).sum().backward();
      check_same("log_softmax grad", xc2.grad(), xg2.grad(), 1e-4);
    }
  }
  Tensor huge = tensor({{1e4f, -1e4f, 0.f}, {5e3f, 5e3f, -5e3f}});
  check_same("stable log_softmax", log_softmax(huge), log_softmax(huge.to(kGpu)));
  Tensor logits = randn({32, 10}), labels = randint(0, 10, {32});
  check_same("cross_entropy", cross_entropy(logits, labels), cross_entropy(logits.to(kGpu), labels.to(kGpu)), 1e-5);
  Tensor target = one_hot(labels, 10).astype(kFloat32);
  check_same("one_hot", one_hot(labels, 10), one_hot(labels.to(kGpu), 10), 0);
  check_same("softmax_cross_entropy", softmax_cross_entropy(logits, target),
             softmax_cross_entropy(logits.to(kGpu), target.to(kGpu)), 1e-5);
}

TEST_CASE("cuda: matmul through cuBLAS matches the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(16);
  for (DType dt : {kFloat32, kFloat64}) {
    double tol = dt == kFloat32 ? 1e-4 : 1e-10;
    Tensor a = randn({33, 47}, Options(dt)), b = randn({47, 29}, Options(dt));
    Tensor ga = a.to(kGpu), gb = b.to(kGpu);
    check_same("matmul", matmul(a, b), matmul(ga, gb), tol);
    check_same("transposed", matmul(b.T(), a.T()), matmul(gb.T(), ga.T()), tol);
    Tensor ba = randn({5, 33, 47}, Options(dt)), bb = randn({5, 47, 29}, Options(dt));
    check_same("batched", matmul(ba, bb), matmul(ba.to(kGpu), bb.to(kGpu)), tol);
    check_same("broadcast batch", matmul(ba, b), matmul(ba.to(kGpu), gb), tol);
    Tensor b4 = randn({3, 1, 4, 6}, Options(dt)), c4 = randn({2, 6, 5}, Options(dt));
    check_same("broadcast 4-d", matmul(b4, c4), matmul(b4.to(kGpu), c4.to(kGpu)), tol);
    Tensor v = randn({47}, Options(dt));
    check_same("matrix-vector", matmul(a, v), matmul(ga, v.to(kGpu)), tol);
    check_same("vector-matrix", matmul(v, b), matmul(v.to(kGpu), gb), tol);
    check_same("dot", dot(v, v), dot(v.to(kGpu), v.to(kGpu)), tol);
    check_same("outer", outer(v, v), outer(v.to(kGpu), v.to(kGpu)), tol);
    Tensor bias = randn({29}, Options(dt));
    check_same("addmm", addmm(bias, a, b), addmm(bias.to(kGpu), ga, gb), tol);
    check_same("K = 0", matmul(zeros({3, 0}, Options(dt)), zeros({0, 4}, Options(dt))),
               matmul(zeros({3, 0}, Options(dt, kGpu)), zeros({0, 4}, Options(dt, kGpu))), 0);
  }
  CHECK_FALSE(cuda::allow_tf32());
  Tensor a = randn({256, 256}), b = randn({256, 256});
  cuda::set_allow_tf32(true);
  Tensor tf32 = matmul(a.to(kGpu), b.to(kGpu));
  cuda::set_allow_tf32(false);
  check_same("tf32 (loose)", matmul(a, b), tf32, 5e-2);
  check_same("tf32 off again", matmul(a, b), matmul(a.to(kGpu), b.to(kGpu)), 1e-4);
}

TEST_CASE("cuda: indexing and scatter-add match the CPU", "[cuda]") {
  TF_REQUIRE_CUDA();
  manual_seed(17);
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64, kUInt8}) {
    INFO(dtype_name(dt));
    Tensor x = randint(0, 9, {6, 8, 5}, Options(kInt64)).astype(dt), g = x.to(kGpu);
    Tensor idx = randint(0, 8, {11}, Options(kInt64)), gidx = idx.to(kGpu);  // duplicates
    check_same("index_select", index_select(x, 1, idx), index_select(g, 1, gidx), 0);
    Tensor gather_idx = randint(0, 8, {6, 3, 5}, Options(kInt64));
    check_same("gather", gather(x, 1, gather_idx), gather(g, 1, gather_idx.to(kGpu)), 0);
    check_same("take_along_dim", take_along_dim(x, gather_idx, 1), take_along_dim(g, gather_idx.to(kGpu), 1), 0);
    Tensor src = randint(0, 4, {6, 3, 5}, Options(kInt64)).astype(dt);
    check_same("scatter_add", scatter_add(x, 1, gather_idx, src),
               scatter_add(g, 1, gather_idx.to(kGpu), src.to(kGpu)), 0);
    Tensor add_src = randint(0, 4, {6, 11, 5}, Options(kInt64)).astype(dt);
    check_same("index_add", index_add(x, 1, idx, add_src), index_add(g, 1, gidx, add_src.to(kGpu)), 0);
  }
  // Many threads adding into few slots: float atomics, compared with a tolerance.
  Tensor src = randn({4096, 3}), slots = randint(0, 4, {4096});
  check_same("index_add contention", index_add(zeros({4, 3}), 0, slots, src),
             index_add(zeros({4, 3}, Options(kGpu)), 0, slots.to(kGpu), src.to(kGpu)), 1e-4);
}

TEST_CASE("cuda: random streams equal the CPU's for the same seed", "[cuda]") {
  TF_REQUIRE_CUDA();
  auto both = [](auto make) {
    manual_seed(99);
    Tensor c = make(Device::cpu());
    manual_seed(99);
    Tensor g = make(kGpu);
    return std::make_pair(c, g);
  };
  auto [u, gu] = both([](Device d) { return uniform({1000}, -2.0, 3.0, Options(kFloat32, d)); });
  check_same("uniform", u, gu, 1e-6);
  auto [n, gn] = both([](Device d) { return normal({1001}, 1.0, 2.0, Options(kFloat64, d)); });
  check_same("normal", n, gn, 1e-12);
  auto [b, gb] = both([](Device d) { return bernoulli({777}, 0.3, Options(kFloat32, d)); });
  check_same("bernoulli", b, gb, 0);
  auto [r, gr] = both([](Device d) { return randint(-5, 17, {555}, Options(kInt64, d)); });
  check_same("randint", r, gr, 0);
}

TEST_CASE("cuda: the caching allocator reuses blocks and reports its statistics", "[cuda]") {
  TF_REQUIRE_CUDA();
  cuda::synchronize();
  cuda::empty_cache();
  CHECK(cuda::memory_reserved() == cuda::memory_allocated());
  const size_t base = cuda::memory_allocated();
  size_t reserved = 0;
  {
    Tensor t = empty({1000, 1000}, Options(kFloat32, kGpu));
    CHECK(cuda::memory_allocated() >= base + 4000000);
    CHECK(cuda::memory_allocated() <= base + 4000000 + 4000000 / 8);  // size class waste
    reserved = cuda::memory_reserved();
    CHECK(reserved >= cuda::memory_allocated());
  }
  CHECK(cuda::memory_allocated() == base);
  CHECK(cuda::memory_reserved() == reserved);  // freed into the cache, not to the driver
  {
    Tensor t = empty({999, 1001}, Options(kFloat32, kGpu));  // same size class
    CHECK(cuda::memory_reserved() == reserved);
  }
  cuda::empty_cache();
  CHECK(cuda::memory_reserved() == cuda::memory_allocated());

  // A training step allocates the same sizes every time: after the first, no new memory.
  manual_seed(5);
  Tensor w1 = (randn({20, 16}) * 0.1).to(kGpu).requires_grad_();
  Tensor w2 = (randn({16, 4}) * 0.1).to(kGpu).requires_grad_();
  Tensor xb = randn({32, 20}).to(kGpu), labels = randint(0, 4, {32}).to(kGpu);
  std::vector<size_t> after;
  std::vector<float> losses;
  for (int step = 0; step < 4; ++step) {
    Tensor loss = cross_entropy(matmul(tanh(matmul(xb, w1)), w2), labels).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      w1 -= w1.grad() * 0.5;
      w2 -= w2.grad() * 0.5;
    }
    w1.zero_grad(true);
    w2.zero_grad(true);
    losses.push_back(loss.item<float>());
    after.push_back(cuda::memory_reserved());
  }
  CHECK(losses[3] < losses[0]);
  CHECK(after[2] == after[1]);
  CHECK(after[3] == after[1]);
}

TEST_CASE("cuda: error messages", "[cuda]") {
  TF_REQUIRE_CUDA();
  Tensor c = ones({3}), g = ones({3}, Options(kGpu));
  CHECK_THROWS_AS(c + g, Error);
  CHECK_THROWS_WITH(c + g, Contains("cpu") && Contains("cuda:0"));
  CHECK_THROWS_WITH(matmul(ones({2, 3}), ones({3, 2}, Options(kGpu))), Contains("cpu") && Contains("cuda:0"));
  CHECK_THROWS_WITH(index_select(g, 0, tensor({0.f}).astype(kInt64)), Contains("cpu") && Contains("cuda:0"));
  // Out of memory names the request and the allocator's statistics, and leaves it usable.
  CHECK_THROWS_AS(empty({int64_t(1) << 45}, Options(kFloat32, kGpu)), Error);
  CHECK_THROWS_WITH(empty({int64_t(1) << 45}, Options(kFloat32, kGpu)),
                    Contains("out of memory") && Contains("140737488355328 bytes") && Contains("reserved"));
  check_same("usable after OOM", ones({3}) * 2.0, g * 2.0, 0);
}
