// Every line of every op table (backends/op_table.h) on every device: each device's backend
// against the CPU backend, for every dtype the op takes. Tagged [cuda]: with a GPU it compares
// cuda:0 with the CPU; on the CPU itself it checks that every table entry dispatches.
#include <string>
#include <vector>

#include "devices.h"
#include "helpers.h"
#include "backends/backend.h"
#include "tensor/internal.h"

using namespace tapeflow;

namespace {

// The device's result equals the CPU one: same shape and dtype, values within tol (relative).
void check_same(const std::string& what, const Tensor& cpu, const Tensor& got, double tol, Device dev) {
  INFO(what);
  REQUIRE(got.device() == dev);
  REQUIRE(got.shape() == cpu.shape());
  REQUIRE(got.dtype() == cpu.dtype());
  std::vector<double> want = cpu.to_vector<double>(), have = got.to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i) {
    if (!tftest::close(have[i], want[i], tol)) {
      FAIL_CHECK("element " << i << ": " << dev.str() << " " << have[i] << " vs cpu " << want[i]);
      return;
    }
  }
}

}  // namespace

// Contiguous, permuted and broadcast operands; a new op is covered without touching this file.
TEST_CASE("cuda: every op-table entry matches the CPU on every device", "[cuda][optable]") {
  Device dev = GENERATE(from_range(test_devices()));
  INFO(dev.str());
  backend::Backend& be = backend::backend_for(dev);
  backend::Backend& cpu = backend::cpu_backend();
  auto run_unary = [](backend::Backend& b, backend::UnaryOp op, const Tensor& x, DType out_dt) {
    Tensor out = zeros(x.shape(), Options(out_dt, x.device()));
    bool affine = op == backend::UnaryOp::Affine;  // (x * 3 + 1); clamp to [-0.5, 0.75]
    b.unary(op, detail::view_of(x), detail::view_of(out), affine ? 3.0 : -0.5, affine ? 1.0 : 0.75);
    return out;
  };
  manual_seed(11);
  for (DType dt : {kFloat32, kFloat64, kInt32, kInt64, kUInt8, kBool}) {
    bool fl = is_floating(dt);
    // Small integers (uint8 0..2): no overflow anywhere, sums of uint8 included.
    int64_t lo = dt == kBool || dt == kUInt8 ? 0 : -6, hi = dt == kBool ? 2 : dt == kUInt8 ? 3 : 7;
    Tensor x = fl ? randn({5, 7, 9}, Options(dt)) * 2.0 : randint(lo, hi, {5, 7, 9}, Options(kInt64)).astype(dt);
    Tensor y = fl ? randn({5, 7, 9}, Options(dt)) * 2.0
                  : randint(dt == kBool ? 0 : 1, dt == kBool ? 2 : 4, {5, 7, 9}, Options(kInt64)).astype(dt);
    Tensor xp = x.permute({2, 0, 1}), xd = x.to(dev), xdp = xd.permute({2, 0, 1}), yd = y.to(dev);
    double tol = dt == kFloat32 ? 1e-5 : dt == kFloat64 ? 1e-10 : 0;
    for (int i = 0; i < int(backend::UnaryOp::Count); ++i) {
      auto op = backend::UnaryOp(i);
      if (backend::is_float_only(op) && !fl) continue;
      std::string what = str_cat(backend::op_name(op), " ", dt);
      DType out_dt = backend::is_bool_output(op) ? kBool : dt;
      check_same(what, run_unary(cpu, op, x, out_dt), run_unary(be, op, xd, out_dt), tol, dev);
      check_same(what + " permuted", run_unary(cpu, op, xp, out_dt), run_unary(be, op, xdp, out_dt), tol, dev);
    }
    for (int i = 0; i < int(backend::BinaryOp::Count); ++i) {
      auto op = backend::BinaryOp(i);
      if (backend::is_unary_grad(op) && !fl) continue;
      std::string what = str_cat(backend::op_name(op), " ", dt);
      DType out_dt = backend::is_bool_output(op) ? kBool : dt;
      auto run = [&](backend::Backend& b, const Tensor& a, const Tensor& c) {
        Tensor out = zeros(a.shape(), Options(out_dt, a.device()));
        b.binary(op, detail::view_of(a), detail::view_of(c), detail::view_of(out));
        return out;
      };
      check_same(what, run(cpu, x, y), run(be, xd, yd), tol, dev);
      Tensor row = y.slice(0, 0, 1), rowd = yd.slice(0, 0, 1);  // broadcast: a zero stride
      check_same(what + " broadcast", run(cpu, x, row.expand(x.shape())), run(be, xd, rowd.expand(x.shape())), tol, dev);
    }
    for (int i = 0; i < int(backend::ReduceOp::Count); ++i) {
      auto op = backend::ReduceOp(i);
      std::string what = str_cat(backend::op_name(op), " ", dt);
      DType out_dt = backend::is_bool_output(op) ? kBool : dt;
      // Products stay small: no integer overflow.
      bool prod = op == backend::ReduceOp::Prod;
      Tensor xs = x.slice(2, 0, 2);  // (5, 7, 2): at most 70 elements summed
      Tensor small = !prod || dt == kBool ? xs : fl ? xs * 0.3 : clamp(xs, -1, 1);
      for (uint32_t mask : {2u, 5u, 7u}) {
        auto run = [&](backend::Backend& b, const Tensor& a) {
          Shape s = a.shape();
          for (int d = 0; d < 3; ++d) if (mask & (1u << d)) s[d] = 1;
          Tensor out = zeros(s, Options(out_dt, a.device()));
          b.reduce(op, detail::view_of(a), mask, detail::view_of(out));
          return out;
        };
        check_same(str_cat(what, " mask ", mask), run(cpu, small), run(be, small.to(dev)), fl ? 1e-5 : 0, dev);
      }
    }
  }
}
