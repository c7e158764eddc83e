// The host-staged defaults of backend.h's "normalisation, embedding, sorting" entries
// (backends/fallback.cpp), which a device without its own kernels runs: a test backend whose
// "device" memory is host memory and which overrides none of them must give the CPU kernels'
// results, absent (nullptr) weight / bias views included.
#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "backends/backend.h"
#include "nn_test_util.h"
#include "tensor/internal.h"

namespace tf = tapeflow;
namespace be = tapeflow::backend;
using tf::Tensor;

namespace {

// Copies are memcpy; every other primitive is unused here.
struct HostStagedBackend final : be::Backend {
  [[noreturn]] static void unused() { throw tf::Error("HostStagedBackend: unused primitive"); }
  tf::Device device() const override { return tf::Device::cpu(); }
  void* allocate(size_t) override { unused(); }
  void deallocate(void*, size_t) override { unused(); }
  void copy_from_host(void* d, const void* s, size_t n) override { ++copies; std::memcpy(d, s, n); }
  void copy_to_host(void* d, const void* s, size_t n) override { ++copies; std::memcpy(d, s, n); }
  void copy_within(void*, const void*, size_t) override { unused(); }
  void synchronize() override {}
  void fill(const be::View&, double) override { unused(); }
  void unary(be::UnaryOp, const be::View&, const be::View&, double, double) override { unused(); }
  void binary(be::BinaryOp, const be::View&, const be::View&, const be::View&) override { unused(); }
  void where(const be::View&, const be::View&, const be::View&, const be::View&) override { unused(); }
  void copy_strided(const be::View&, const be::View&) override { unused(); }
  void reduce(be::ReduceOp, const be::View&, uint32_t, const be::View&) override { unused(); }
  void arg_reduce(be::ArgReduceOp, const be::View&, int, const be::View&) override { unused(); }
  void cumsum(const be::View&, int, const be::View&) override { unused(); }
  void gemm(tf::DType, bool, bool, int64_t, int64_t, int64_t, double, const void*, int64_t, int64_t, const void*,
            int64_t, int64_t, double, void*, int64_t, int64_t, int64_t) override { unused(); }
  void index_select(const be::View&, int, const be::View&, const be::View&) override { unused(); }
  void index_add(const be::View&, int, const be::View&, const be::View&) override { unused(); }
  void gather(const be::View&, int, const be::View&, const be::View&) override { unused(); }
  void scatter_add(const be::View&, int, const be::View&, const be::View&) override { unused(); }
  void random(be::RandomKind, const be::View&, uint64_t, uint64_t, double, double) override { unused(); }
  void im2col(const be::Window2d&, const be::View&, const be::View&) override { unused(); }
  void col2im(const be::Window2d&, const be::View&, const be::View&) override { unused(); }
  void max_pool2d(const be::Window2d&, const be::View&, const be::View&, const be::View&) override { unused(); }
  void max_pool2d_backward(const be::Window2d&, const be::View&, const be::View&, const be::View&) override { unused(); }
  void avg_pool2d(const be::Window2d&, bool, const be::View&, const be::View&) override { unused(); }
  void avg_pool2d_backward(const be::Window2d&, bool, const be::View&, const be::View&) override { unused(); }
  int copies = 0;
};

be::View v(const Tensor& t) { return tf::detail::view_of(t); }
bool same(const Tensor& a, const Tensor& b) { return tf::all(tf::eq(a, b)).item<bool>(); }

}  // namespace

TEST_CASE("the host-staged defaults of the nn entries match the CPU kernels", "[norm][sort]") {
  HostStagedBackend hb;
  be::Backend& cpu = be::cpu_backend();
  // layer norm (M, K) with weight, without bias; then its backward
  Tensor x = nntest::rnd({5, 7}, 1), w = nntest::rnd({7}, 2), gy = nntest::rnd({5, 7}, 3);
  Tensor y1 = tf::empty({5, 7}, tf::kFloat64), y2 = tf::empty({5, 7}, tf::kFloat64);
  Tensor m1 = tf::empty({5}, tf::kFloat64), m2 = tf::empty({5}, tf::kFloat64);
  Tensor r1 = tf::empty({5}, tf::kFloat64), r2 = tf::empty({5}, tf::kFloat64);
  cpu.layer_norm_forward(v(x), v(w), be::View{}, 1e-5, v(y1), v(m1), v(r1));
  hb.layer_norm_forward(v(x), v(w), be::View{}, 1e-5, v(y2), v(m2), v(r2));
  CHECK(same(y1, y2));
  CHECK(same(m1, m2));
  CHECK(same(r1, r2));
  Tensor gx1 = tf::empty({5, 7}, tf::kFloat64), gx2 = tf::empty({5, 7}, tf::kFloat64);
  Tensor gw1 = tf::empty({7}, tf::kFloat64), gw2 = tf::empty({7}, tf::kFloat64);
  cpu.layer_norm_backward(v(x), v(gy), v(m1), v(r1), v(w), v(gx1), v(gw1), be::View{});
  hb.layer_norm_backward(v(x), v(gy), v(m1), v(r1), v(w), v(gx2), v(gw2), be::View{});
  CHECK(same(gx1, gx2));
  CHECK(same(gw1, gw2));
  // sort: k < n, descending, with ties
  Tensor s = convtest::arg({3, 9}, 0, true);
  Tensor sv1 = tf::empty({3, 4}, tf::kFloat64), sv2 = tf::empty({3, 4}, tf::kFloat64);
  Tensor si1 = tf::empty({3, 4}, tf::kInt64), si2 = tf::empty({3, 4}, tf::kInt64);
  cpu.sort_rows(v(s), 4, true, v(sv1), v(si1));
  hb.sort_rows(v(s), 4, true, v(sv2), v(si2));
  CHECK(same(sv1, sv2));
  CHECK(same(si1, si2));
  // batch norm stats and forward, no weight / bias
  Tensor xb = nntest::rnd({2, 3, 4}, 4);
  Tensor mb = tf::empty({3}, tf::kFloat64), vb = tf::empty({3}, tf::kFloat64), mb2 = tf::empty({3}, tf::kFloat64),
         vb2 = tf::empty({3}, tf::kFloat64);
  cpu.batch_norm_stats(v(xb), v(mb), v(vb));
  hb.batch_norm_stats(v(xb), v(mb2), v(vb2));
  CHECK(same(mb, mb2));
  CHECK(same(vb, vb2));
  Tensor yb1 = tf::empty({2, 3, 4}, tf::kFloat64), yb2 = tf::empty({2, 3, 4}, tf::kFloat64);
  cpu.batch_norm_forward(v(xb), v(mb), v(vb), be::View{}, be::View{}, v(yb1));
  hb.batch_norm_forward(v(xb), v(mb), v(vb), be::View{}, be::View{}, v(yb2));
  CHECK(same(yb1, yb2));
  CHECK(hb.copies > 0);
}
