// Tests of the Tensor handle and the factories: dtypes and promotion, creation from C++ data,
// filled tensors and ranges, handle sharing, clone/contiguous, element access
// (item/to_vector/data_ptr/astype), in-place ops, rank-0 and size-0 tensors. Random streams:
// test_random.cpp.
// Expected numbers are hand-derived or were computed offline with NumPy/PyTorch.
#include <algorithm>
#include <numeric>

#include "helpers.h"
#include "base/runtime.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

TEST_CASE("dtype names, sizes, parsing and the promotion lattice", "[tensor]") {
  CHECK(std::string(dtype_name(kFloat32)) == "float32");
  CHECK(std::string(dtype_name(kBool)) == "bool");
  CHECK(parse_dtype("int64") == kInt64);
  CHECK(parse_dtype("uint8") == kUInt8);
  CHECK(dtype_size(kBool) == 1);
  CHECK(dtype_size(kInt32) == 4);
  CHECK(dtype_size(kFloat64) == 8);
  CHECK(is_floating(kFloat64));
  CHECK_FALSE(is_floating(kInt64));
  CHECK(is_integral(kUInt8));
  CHECK_FALSE(is_integral(kBool));
  // torch.promote_types
  CHECK(promote_types(kBool, kUInt8) == kUInt8);
  CHECK(promote_types(kUInt8, kInt32) == kInt32);
  CHECK(promote_types(kInt32, kInt64) == kInt64);
  CHECK(promote_types(kInt64, kFloat32) == kFloat32);
  CHECK(promote_types(kFloat32, kFloat64) == kFloat64);
  CHECK(promote_types(kBool, kFloat64) == kFloat64);
  CHECK(promote_types(kInt32, kInt32) == kInt32);
}

TEST_CASE("binary ops promote dtypes as PyTorch does", "[tensor]") {
  Tensor i32 = from_vector<int32_t>({1, 2});
  Tensor u8 = from_vector<uint8_t>({1, 2});
  Tensor f32 = tensor({1.f, 2.f});
  Tensor b = from_vector<bool>({true, false});
  // C++ numbers are "wrapped numbers": they only raise the category (torch: int32 + 2.5 -> float32).
  CHECK((i32 + 2.5).dtype() == kFloat32);
  CHECK((i32 + 2).dtype() == kInt32);
  CHECK((2 * i32).dtype() == kInt32);
  CHECK((f32 + 2.0).dtype() == kFloat32);
  CHECK((b + 1).dtype() == kInt64);
  CHECK((b + 1.5).dtype() == kFloat32);
  CHECK((i32 * true).dtype() == kInt32);
  CHECK((u8 - 3).dtype() == kUInt8);
  CHECK(ints(u8 - 3) == std::vector<int64_t>{254, 255});  // wraps as uint8 does
  // 0-d tensors rank below dimensioned ones but keep their dtype across categories.
  CHECK((i32 + scalar_tensor(2.5, Options(kFloat64))).dtype() == kFloat64);
  CHECK((f32 + scalar_tensor(2.5, Options(kFloat64))).dtype() == kFloat32);
  CHECK((scalar_tensor(3) + i32).dtype() == kInt32);
  CHECK((scalar_tensor(2.5, Options(kFloat64)) + scalar_tensor(1, Options(kInt32))).dtype() == kFloat64);
  // Dimensioned tensors promote fully.
  CHECK((f32 + tensor({2.5}, Options(kFloat64))).dtype() == kFloat64);
  CHECK((u8 + from_vector<int32_t>({2})).dtype() == kInt32);
  // bool + bool stays bool (logical or), as torch.
  Tensor bb = b + from_vector<bool>({true, true});
  CHECK(bb.dtype() == kBool);
  CHECK(ints(bb) == std::vector<int64_t>{1, 1});
  // True division of integers gives float32.
  Tensor q = from_vector<int32_t>({1, 2}) / from_vector<int32_t>({2, 4});
  CHECK(q.dtype() == kFloat32);
  REQUIRE_THAT(q, Values({0.5, 0.5}));
  Tensor r = i32 + 2.5;
  REQUIRE_THAT(r, Values({3.5, 4.5}));
}

TEST_CASE("tensor() from initializer lists, flat and nested", "[tensor]") {
  Tensor a = tensor({1.f, 2.f, 3.f});
  CHECK(a.dtype() == kFloat32);
  CHECK(a.shape() == Shape{3});
  CHECK(a.is_contiguous());
  REQUIRE_THAT(a, Values({1, 2, 3}));
  Tensor m = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  CHECK(m.shape() == Shape{2, 3});
  CHECK(m.strides() == Strides{3, 1});
  REQUIRE_THAT(m, Values({1, 2, 3, 4, 5, 6}));
  Tensor d = tensor({0.1, 0.2}, Options(kFloat64));
  CHECK(d.dtype() == kFloat64);
  CHECK(d.to_vector<double>() == std::vector<double>{0.1, 0.2});  // exact in float64
  Tensor dm = tensor({{1.0, 2.0}, {3.0, 4.0}}, Options(kFloat64));
  CHECK(dm.shape() == Shape{2, 2});
  Tensor ai = tensor({1.f, 2.f}, Options(kInt32));
  CHECK(ai.dtype() == kInt32);
  CHECK(ints(ai) == std::vector<int64_t>{1, 2});
  Tensor g = tensor({1.f, 2.f}, Options().with_grad());
  CHECK(g.requires_grad());
}

TEST_CASE("from_vector, from_blob_copy and from_blob", "[tensor]") {
  Tensor v = from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK(v.dtype() == kInt64);
  CHECK(v.shape() == Shape{2, 3});
  CHECK(ints(v) == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  CHECK(from_vector<double>({1.5}).dtype() == kFloat64);
  CHECK(from_vector<int32_t>({1}).dtype() == kInt32);
  CHECK(from_vector<uint8_t>({1}).dtype() == kUInt8);
  CHECK(from_vector<bool>({true, false}).dtype() == kBool);
  CHECK(from_vector<float>({1.f, 2.f}).shape() == Shape{2});

  float buf[4] = {1, 2, 3, 4};
  Tensor c = from_blob_copy(buf, {2, 2}, kFloat32);
  buf[0] = 100;
  REQUIRE_THAT(c, Values({1, 2, 3, 4}));  // a copy: later writes to buf are not seen

  float mem[6] = {0, 1, 2, 3, 4, 5};
  Tensor w = from_blob(mem, {2, 3}, kFloat32);
  CHECK(w.data_ptr<float>() == mem);
  REQUIRE_THAT(w, Values({0, 1, 2, 3, 4, 5}));
  w *= 2.0;  // writes through the tensor land in the caller's buffer
  CHECK(mem[5] == 10.f);
  w[1].fill_(-1);
  CHECK(mem[2] == 4.f);
  CHECK(mem[3] == -1.f);
  CHECK(mem[5] == -1.f);
  mem[0] = 42;  // and the caller's writes show in the tensor
  CHECK(w.to_vector<float>()[0] == 42.f);
  Tensor sum_w = w.sum();
  CHECK(sum_w.item<float>() == 42 + 2 + 4 - 3);
}

TEST_CASE("scalars, rank-0 tensors and filled factories", "[tensor]") {
  Tensor s = scalar_tensor(3.5);
  CHECK(s.dim() == 0);
  CHECK(s.numel() == 1);
  CHECK(s.shape() == Shape{});
  CHECK(s.dtype() == kFloat32);
  CHECK(s.item<float>() == 3.5f);
  CHECK(scalar_tensor(2).dtype() == kInt64);
  CHECK(scalar_tensor(true).dtype() == kBool);
  CHECK(scalar_tensor(int64_t(1) << 60).item<int64_t>() == (int64_t(1) << 60));
  CHECK(scalar_tensor(2.5, kFloat64, Device::cpu()).dtype() == kFloat64);
  CHECK((s * 2).item<double>() == 7.0);
  CHECK((s * 2).dim() == 0);

  Tensor z = zeros({2, 3});
  CHECK(z.dtype() == kFloat32);
  REQUIRE_THAT(z, Values({0, 0, 0, 0, 0, 0}));
  REQUIRE_THAT(ones({2}, Options(kInt32)), Values({1, 1}));
  CHECK(ones({2}, Options(kInt32)).dtype() == kInt32);
  Tensor f = full({2, 2}, 7.25, Options(kFloat64));
  CHECK(f.dtype() == kFloat64);
  REQUIRE_THAT(f, Values({7.25, 7.25, 7.25, 7.25}));
  CHECK(empty({4, 5}).shape() == Shape{4, 5});
  CHECK(full({}, 3).dim() == 0);

  Tensor base = from_vector<int32_t>({1, 2, 3}, {3, 1});
  CHECK(zeros_like(base).shape() == Shape{3, 1});
  CHECK(zeros_like(base).dtype() == kInt32);
  REQUIRE_THAT(ones_like(base), Values({1, 1, 1}));
  REQUIRE_THAT(full_like(base, 9), Values({9, 9, 9}));
  CHECK(empty_like(base).dtype() == kInt32);
  CHECK(empty_like(base).shape() == Shape{3, 1});
  CHECK_FALSE(zeros_like(base).shares_storage(base));
}

TEST_CASE("arange, linspace and eye", "[tensor]") {
  Tensor a = arange(5);
  CHECK(a.dtype() == kInt64);
  CHECK(ints(a) == std::vector<int64_t>{0, 1, 2, 3, 4});
  CHECK(ints(arange(1, 10, 3)) == std::vector<int64_t>{1, 4, 7});
  CHECK(ints(arange(10, 0, -3)) == std::vector<int64_t>{10, 7, 4, 1});
  CHECK(arange(3, 3).numel() == 0);
  CHECK(arange(5, 1).numel() == 0);
  Tensor fa = arange(0, 1, 0.25);
  CHECK(fa.dtype() == kFloat32);
  REQUIRE_THAT(fa, Values({0, 0.25, 0.5, 0.75}));
  REQUIRE_THAT(arange(0.5, 2.0, 0.5), Values({0.5, 1.0, 1.5}));
  REQUIRE_THAT(arange(1, 2, 0.3), Values({1.0, 1.3, 1.6, 1.9}, 1e-6));  // np.arange(1, 2, 0.3)
  Tensor ad = arange(4, Options(kFloat64));
  CHECK(ad.dtype() == kFloat64);
  REQUIRE_THAT(ad, Values({0, 1, 2, 3}));

  Tensor l = linspace(0, 1, 5);
  CHECK(l.dtype() == kFloat32);
  REQUIRE_THAT(l, Values({0, 0.25, 0.5, 0.75, 1}));
  REQUIRE_THAT(linspace(-1, 1, 4), Values({-1, -0.33333334, 0.33333334, 1}, 1e-7));
  REQUIRE_THAT(linspace(2, 3, 1), Values({2}));
  CHECK(linspace(0, 1, 0).numel() == 0);
  CHECK(linspace(0, 1, 3, Options(kFloat64)).dtype() == kFloat64);

  Tensor e = eye(3);
  CHECK(e.shape() == Shape{3, 3});
  REQUIRE_THAT(e, Values({1, 0, 0, 0, 1, 0, 0, 0, 1}));
  Tensor e2 = eye(2, 3);
  CHECK(e2.shape() == Shape{2, 3});
  REQUIRE_THAT(e2, Values({1, 0, 0, 0, 1, 0}));
  CHECK(eye(2, -1, Options(kInt64)).dtype() == kInt64);
}

TEST_CASE("handles share storage; clone and contiguous copy", "[tensor]") {
  Tensor a = tensor({1.f, 2.f, 3.f});
  Tensor b = a;  // a handle, not a copy
  CHECK(b.is_same(a));
  CHECK(b.shares_storage(a));
  b.fill_(5);
  REQUIRE_THAT(a, Values({5, 5, 5}));

  Tensor c = a.clone();
  CHECK_FALSE(c.shares_storage(a));
  CHECK(c.is_contiguous());
  c.fill_(1);
  REQUIRE_THAT(a, Values({5, 5, 5}));

  Tensor m = tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}});
  CHECK(m.contiguous().is_same(m));  // already contiguous: the same handle
  Tensor t = m.T();
  CHECK_FALSE(t.is_contiguous());
  Tensor tc = t.contiguous();
  CHECK(tc.is_contiguous());
  CHECK_FALSE(tc.shares_storage(m));
  CHECK(tc.strides() == Strides{2, 1});
  REQUIRE_THAT(tc, Values({1, 4, 2, 5, 3, 6}));
  Tensor tcl = t.clone();  // clone of a view: contiguous, same values
  CHECK(tcl.is_contiguous());
  REQUIRE_THAT(tcl, Values({1, 4, 2, 5, 3, 6}));
  Tensor d = m.detach();
  CHECK(d.shares_storage(m));
}

TEST_CASE("item, to_vector, data_ptr and astype", "[tensor]") {
  CHECK(tensor({3.75f}).item<float>() == 3.75f);
  CHECK(tensor({3.75f}).item<double>() == 3.75);
  CHECK(tensor({3.75f}).item<int64_t>() == 3);
  CHECK(scalar_tensor(7).item<int32_t>() == 7);
  CHECK(scalar_tensor(true).item<bool>());
  CHECK(tensor({{2.f, 3.f}}).slice(1, 1).item<float>() == 3.f);  // any shape with one element

  Tensor m = tensor({{1.f, 2.f}, {3.f, 4.f}});
  CHECK(m.T().to_vector<float>() == std::vector<float>{1, 3, 2, 4});  // row-major of the view
  CHECK(m.to_vector<int32_t>() == std::vector<int32_t>{1, 2, 3, 4});
  CHECK(from_vector<bool>({true, false}).to_vector<float>() == std::vector<float>{1, 0});
  float* p = m.data_ptr<float>();
  p[3] = 40;
  CHECK(m.to_vector<float>()[3] == 40.f);
  CHECK(m.raw_data() == static_cast<void*>(p));
  Tensor row = m[1];
  CHECK(row.data_ptr<float>() == p + 2);  // a contiguous view points into the base

  Tensor f = tensor({-1.7f, 2.9f, -0.5f, 0.5f});
  Tensor i = f.astype(kInt32);  // np.array([-1.7, 2.9, -0.5, 0.5]).astype(np.int32)
  CHECK(i.dtype() == kInt32);
  CHECK(ints(i) == std::vector<int64_t>{-1, 2, 0, 0});
  CHECK(ints(tensor({0.f, 0.5f, -2.f}).astype(kBool)) == std::vector<int64_t>{0, 1, 1});
  CHECK(ints(from_vector<int64_t>({258, -1}).astype(kUInt8)) == std::vector<int64_t>{2, 255});
  Tensor fd = from_vector<int32_t>({1, 2}).to(kFloat64);
  CHECK(fd.dtype() == kFloat64);
  REQUIRE_THAT(fd, Values({1, 2}));
  CHECK(f.astype(kFloat32).is_same(f));  // no-op cast returns the same handle
  Tensor ft = m.T().astype(kFloat64);  // cast of a non-contiguous view
  REQUIRE_THAT(ft, Values({1, 3, 2, 40}));
  CHECK(m.to(Device::cpu()).is_same(m));
  CHECK(m.cpu().is_same(m));
  CHECK(m.device() == Device::cpu());
  CHECK(Device("cuda:1") == Device::cuda(1));
  CHECK(Device("cpu").str() == "cpu");
  CHECK(Device::cuda(0).str() == "cuda:0");
}

TEST_CASE("in-place ops write into the storage and bump its version", "[tensor]") {
  Tensor a = tensor({{1.f, 2.f}, {3.f, 4.f}});
  uint32_t v0 = a.version();
  a += tensor({10.f, 20.f});  // broadcast over rows
  REQUIRE_THAT(a, Values({11, 22, 13, 24}));
  CHECK(a.version() > v0);
  a -= 1;
  REQUIRE_THAT(a, Values({10, 21, 12, 23}));
  a *= 2.0;
  REQUIRE_THAT(a, Values({20, 42, 24, 46}));
  a /= tensor({2.f, 4.f});
  REQUIRE_THAT(a, Values({10, 10.5, 12, 11.5}));
  a.mul_(tensor({1.f, 2.f}).unsqueeze(1));
  REQUIRE_THAT(a, Values({10, 10.5, 24, 23}));
  a.clamp_(10.25, 23.5);
  REQUIRE_THAT(a, Values({10.25, 10.5, 23.5, 23}));

  Tensor col = a.select(1, 0);  // a strided view: in-place writes reach the base
  col += 100;
  REQUIRE_THAT(a, Values({110.25, 10.5, 123.5, 23}));
  a.T().zero_();
  REQUIRE_THAT(a, Values({0, 0, 0, 0}));
  a.copy_(tensor({1.5f, 2.5f}));  // broadcast copy
  REQUIRE_THAT(a, Values({1.5, 2.5, 1.5, 2.5}));
  Tensor i = zeros({2}, Options(kInt32));
  i.copy_(tensor({1.9f, -2.9f}));  // cast on copy (truncation)
  CHECK(ints(i) == std::vector<int64_t>{1, -2});
  i += 3;
  CHECK(i.dtype() == kInt32);
  CHECK(ints(i) == std::vector<int64_t>{4, 1});
  Tensor t = tensor({{1.f, 2.f}, {3.f, 4.f}}).T();
  t.add_(tensor({{1.f, 1.f}, {0.f, 0.f}}));  // in-place on a transposed tensor
  CHECK(t.to_vector<float>() == std::vector<float>{2, 4, 2, 4});
}

TEST_CASE("size-0 tensors", "[tensor]") {
  Tensor z = zeros({0, 3});
  CHECK(z.numel() == 0);
  CHECK(z.shape() == Shape{0, 3});
  CHECK(z.to_vector<float>().empty());
  CHECK(z.is_contiguous());
  Tensor s = z + tensor({1.f, 2.f, 3.f});
  CHECK(s.shape() == Shape{0, 3});
  Tensor cs = z.sum(0);
  CHECK(cs.shape() == Shape{3});
  REQUIRE_THAT(cs, Values({0, 0, 0}));
  CHECK(z.sum().item<float>() == 0.f);
  CHECK(z.prod().item<float>() == 1.f);
  CHECK(z.reshape({3, 0}).shape() == Shape{3, 0});
  CHECK(z.T().shape() == Shape{3, 0});
  CHECK(z.clone().numel() == 0);
  CHECK(empty({0}).numel() == 0);
  CHECK(tensor({1.f, 2.f}).slice(0, 1, 1).numel() == 0);
  CHECK(exp(z).shape() == Shape{0, 3});
  CHECK(matmul(zeros({2, 0}), zeros({0, 3})).shape() == Shape{2, 3});
  REQUIRE_THAT(matmul(zeros({2, 0}), zeros({0, 3})), Values({0, 0, 0, 0, 0, 0}));
  CHECK(concat({z, ones({1, 3})}).shape() == Shape{1, 3});
  CHECK(matmul(zeros({0, 3}), ones({3, 2})).shape() == Shape{0, 2});
  CHECK(matmul(ones({4, 0, 3}), ones({3, 2})).shape() == Shape{4, 0, 2});
  CHECK(index_select(z, 1, from_vector<int64_t>({2, 0})).shape() == Shape{0, 2});
  CHECK(softmax(z, 1).shape() == Shape{0, 3});
  CHECK(cumsum(z, 0).shape() == Shape{0, 3});
  CHECK(where(z > 0, z, 1.0 * z).shape() == Shape{0, 3});
  CHECK(z.argmax(1).shape() == Shape{0});
  CHECK((from_vector<int64_t>({}) + 1).numel() == 0);
}
