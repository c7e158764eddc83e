// Views that copy nothing (reshape/view, flatten, squeeze/unsqueeze, transpose/permute/T,
// slice/select/[], expand/broadcast_to, narrow, split/chunk): they share storage, have the
// expected shapes/strides/offsets, and writes through a view show in the base. The copying
// joins concat/stack. Expected values are hand-derived (the base is arange).
// Every case runs on every device (TF_EACH_DEVICE, tests/devices.h; inputs via on_dev).
#include "devices.h"
#include "helpers.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

namespace {
Tensor base234() { return on_dev(arange(24, Options(kFloat32))).reshape({2, 3, 4}); }
std::vector<double> range(int n, double step = 1, double start = 0) {
  std::vector<double> v;
  for (int i = 0; i < n; ++i) v.push_back(start + i * step);
  return v;
}
}  // namespace

TEST_CASE("reshape and view share storage and infer one -1", "[views]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(arange(18, Options(kFloat32)));
  Tensor r = x.reshape({3, 2, 3});
  CHECK(r.shape() == Shape{3, 2, 3});
  CHECK(r.shares_storage(x));
  Tensor r6 = r.reshape({-1, 6});  // the seed example: (3, 2, 3) -> (-1, 6)
  CHECK(r6.shape() == Shape{3, 6});
  CHECK(r6.shares_storage(x));
  REQUIRE_THAT(r6, Values(range(18)));
  CHECK(reshape(x, {2, -1}).shape() == Shape{2, 9});
  Tensor v = x.view({-1, 3});
  CHECK(v.shape() == Shape{6, 3});
  CHECK(v.shares_storage(x));
  v[1][2].fill_(-5);  // writes through the view land in the base
  CHECK(x.to_vector<float>()[5] == -5.f);
  CHECK(x.reshape({1, 18, 1}).shape() == Shape{1, 18, 1});
  CHECK(on_dev(scalar_tensor(2.f)).reshape({1, 1}).shape() == Shape{1, 1});
  CHECK(on_dev(tensor({7.f})).reshape({}).dim() == 0);
  CHECK(x.size(-1) == 18);
  CHECK(r.size(1) == 2);

  // A transposed tensor can still be viewed when the merged dims stay contiguous...
  Tensor b = base234();
  Tensor p = b.permute({1, 2, 0});  // (3, 4, 2), strides (4, 1, 12)
  Tensor pv = p.view({12, 2});      // dims 0 and 1 merge (4 * 1 == stride of dim 0)
  CHECK(pv.shares_storage(b));
  CHECK(pv.strides() == Strides{1, 12});
  REQUIRE_THAT(pv.select(1, 1), Values(range(12, 1, 12)));
  // ...and reshape copies when it cannot be a view.
  Tensor t = b.transpose(0, 2);  // (4, 3, 2)
  Tensor tr = t.reshape({-1});
  CHECK_FALSE(tr.shares_storage(b));
  REQUIRE_THAT(tr.slice(0, 0, 6), Values({0, 12, 4, 16, 8, 20}));
}

TEST_CASE("flatten, squeeze and unsqueeze", "[views]") {
  TF_EACH_DEVICE();
  Tensor b = base234();
  CHECK(b.flatten().shape() == Shape{24});
  CHECK(b.flatten(1).shape() == Shape{2, 12});
  CHECK(b.flatten(0, 1).shape() == Shape{6, 4});
  CHECK(b.flatten(-2, -1).shape() == Shape{2, 12});
  CHECK(b.flatten().shares_storage(b));
  CHECK(on_dev(scalar_tensor(1.f)).flatten().shape() == Shape{1});

  Tensor u = b.unsqueeze(0);
  CHECK(u.shape() == Shape{1, 2, 3, 4});
  CHECK(u.shares_storage(b));
  CHECK(b.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(unsqueeze(b, 2).shape() == Shape{2, 3, 1, 4});
  CHECK(unsqueeze(on_dev(scalar_tensor(1.f)), 0).shape() == Shape{1});
  Tensor s = on_dev(zeros({1, 3, 1, 2}));
  CHECK(s.squeeze().shape() == Shape{3, 2});
  CHECK(s.squeeze(0).shape() == Shape{3, 1, 2});
  CHECK(s.squeeze(-2).shape() == Shape{1, 3, 2});
  CHECK(s.squeeze(1).shape() == Shape{1, 3, 1, 2});  // not of size 1: unchanged
  CHECK(squeeze(s, 2).shares_storage(s));
  CHECK(on_dev(ones({1, 1})).squeeze().dim() == 0);
  Tensor col = b.select(2, 1).unsqueeze(2);  // (2, 3, 1), a strided view
  col.fill_(100);
  REQUIRE_THAT(b.select(2, 1), Values(std::vector<double>(6, 100.0)));
}

TEST_CASE("transpose, permute and T", "[views]") {
  TF_EACH_DEVICE();
  Tensor b = base234();
  Tensor t = b.transpose(0, 2);
  CHECK(t.shape() == Shape{4, 3, 2});
  CHECK(t.strides() == Strides{1, 4, 12});
  CHECK(t.shares_storage(b));
  CHECK_FALSE(t.is_contiguous());
  CHECK(t[3][2][1].item<float>() == 23.f);
  CHECK(t[1][0][1].item<float>() == 13.f);
  CHECK(transpose(b, -1, -2).shape() == Shape{2, 4, 3});
  Tensor p = b.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Strides{1, 12, 4});
  CHECK(permute(b, {-1, 0, 1}).strides() == Strides{1, 12, 4});
  CHECK(b.T().shape() == Shape{4, 3, 2});
  CHECK(b.T().strides() == Strides{1, 4, 12});
  Tensor m = on_dev(tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}));
  REQUIRE_THAT(m.T(), Values({1, 4, 2, 5, 3, 6}));
  m.T()[2][1].fill_(60);  // writes through T() reach m[1][2]
  REQUIRE_THAT(m, Values({1, 2, 3, 4, 5, 60}));
  CHECK(on_dev(tensor({1.f, 2.f})).T().shape() == Shape{2});  // 1-D: unchanged
  CHECK(on_dev(scalar_tensor(1.f)).T().dim() == 0);
  CHECK(transpose(on_dev(scalar_tensor(1.f)), 0, 0).dim() == 0);
}

TEST_CASE("slice with start, stop, step and negative indices", "[views]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(arange(10, Options(kFloat32)));
  Tensor s = x.slice(0, 2, 8, 3);  // x[2:8:3]
  CHECK(s.shape() == Shape{2});
  CHECK(s.strides() == Strides{3});
  CHECK(s.offset() == 2);
  CHECK(s.shares_storage(x));
  REQUIRE_THAT(s, Values({2, 5}));
  REQUIRE_THAT(x.slice(0, -3), Values({7, 8, 9}));        // x[-3:]
  REQUIRE_THAT(x.slice(0, 1, -6), Values({1, 2, 3}));     // x[1:-6]
  REQUIRE_THAT(x.slice(0, -100, 2), Values({0, 1}));      // clamped like Python
  REQUIRE_THAT(x.slice(0, 8, 100), Values({8, 9}));
  CHECK(x.slice(0, 7, 3).numel() == 0);
  REQUIRE_THAT(slice(x, 0, 0, kEnd, 4), Values({0, 4, 8}));
  REQUIRE_THAT(x.slice(0, 1, kEnd, 2).slice(0, 1, kEnd, 2), Values({3, 7}));  // slice of a slice
  Tensor b = base234();
  Tensor bs = b.slice(2, 1, 3).slice(1, -2);  // b[:, -2:, 1:3]
  CHECK(bs.shape() == Shape{2, 2, 2});
  REQUIRE_THAT(bs, Values({5, 6, 9, 10, 17, 18, 21, 22}));
  bs.fill_(0);
  CHECK(b.sum().item<float>() == 276.f - (5 + 6 + 9 + 10 + 17 + 18 + 21 + 22));
  Tensor x2 = on_dev(arange(10, Options(kFloat32)));
  x2.slice(0, 0, kEnd, 2) *= 10;  // in-place through a strided view
  REQUIRE_THAT(x2, Values({0, 1, 20, 3, 40, 5, 60, 7, 80, 9}));
}

TEST_CASE("select, operator[] and narrow", "[views]") {
  TF_EACH_DEVICE();
  Tensor b = base234();
  Tensor r = b[1];
  CHECK(r.shape() == Shape{3, 4});
  CHECK(r.offset() == 12);
  CHECK(r.shares_storage(b));
  REQUIRE_THAT(r[2], Values({20, 21, 22, 23}));
  REQUIRE_THAT(b[-1][-1], Values({20, 21, 22, 23}));
  Tensor c = b.select(2, -1);
  CHECK(c.shape() == Shape{2, 3});
  REQUIRE_THAT(c, Values({3, 7, 11, 15, 19, 23}));
  CHECK(select(b, 1, 0).shape() == Shape{2, 4});
  Tensor e = b[0][1][2];
  CHECK(e.dim() == 0);
  CHECK(e.item<float>() == 6.f);
  e.fill_(-6);
  CHECK(b.to_vector<float>()[6] == -6.f);
  Tensor n = b.narrow(2, 1, 2);
  CHECK(n.shape() == Shape{2, 3, 2});
  CHECK(n.shares_storage(b));
  REQUIRE_THAT(n[0][0], Values({1, 2}));
  REQUIRE_THAT(b.narrow(1, -1, 1).squeeze(1), Values({8, 9, 10, 11, 20, 21, 22, 23}));
  CHECK(b.narrow(0, 2, 0).numel() == 0);
}

TEST_CASE("expand and broadcast_to", "[views]") {
  TF_EACH_DEVICE();
  Tensor v = on_dev(tensor({1.f, 2.f, 3.f}));
  Tensor e = v.expand({4, 3});
  CHECK(e.shape() == Shape{4, 3});
  CHECK(e.strides() == Strides{0, 1});
  CHECK(e.shares_storage(v));
  REQUIRE_THAT(e, Values({1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3}));
  v.fill_(7);  // the expansion sees the base's new values
  REQUIRE_THAT(e.select(0, 3), Values({7, 7, 7}));
  Tensor c = on_dev(tensor({1.f, 2.f})).reshape({2, 1});
  Tensor ce = c.expand({-1, 3});
  CHECK(ce.shape() == Shape{2, 3});
  REQUIRE_THAT(ce, Values({1, 1, 1, 2, 2, 2}));
  Tensor bt = broadcast_to(c, {2, 2, 3});
  CHECK(bt.shape() == Shape{2, 2, 3});
  CHECK(bt.strides() == Strides{0, 1, 0});
  CHECK(c.broadcast_to({2, 4}).shape() == Shape{2, 4});
  CHECK(on_dev(scalar_tensor(5.f)).expand({2, 2}).sum().item<float>() == 20.f);
  CHECK(v.expand({3}).is_contiguous());
  Tensor te = on_dev(tensor({{1.f, 2.f}, {3.f, 4.f}})).T().unsqueeze(0).expand({2, 2, 2});  // expand of a transpose
  REQUIRE_THAT(te, Values({1, 3, 2, 4, 1, 3, 2, 4}));
}

TEST_CASE("split and chunk return views", "[views]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(arange(10, Options(kFloat32)));
  auto parts = x.split(4);
  REQUIRE(parts.size() == 3);
  REQUIRE_THAT(parts[0], Values({0, 1, 2, 3}));
  REQUIRE_THAT(parts[2], Values({8, 9}));
  for (auto& p : parts) CHECK(p.shares_storage(x));
  auto sized = split(x, std::vector<int64_t>{2, 0, 8});
  REQUIRE(sized.size() == 3);
  CHECK(sized[1].numel() == 0);
  REQUIRE_THAT(sized[2].slice(0, 0, 2), Values({2, 3}));
  Tensor b = base234();
  auto cols = split(b, 3, -1);
  REQUIRE(cols.size() == 2);
  CHECK(cols[0].shape() == Shape{2, 3, 3});
  CHECK(cols[1].shape() == Shape{2, 3, 1});
  REQUIRE_THAT(cols[1], Values({3, 7, 11, 15, 19, 23}));
  auto ch = x.chunk(3);  // torch.chunk(arange(10), 3): sizes 4, 4, 2
  REQUIRE(ch.size() == 3);
  CHECK(ch[0].numel() == 4);
  CHECK(ch[2].numel() == 2);
  auto ch2 = chunk(b, 2, 1);  // sizes 2, 1 along dim 1
  REQUIRE(ch2.size() == 2);
  CHECK(ch2[0].shape() == Shape{2, 2, 4});
  CHECK(ch2[1].shape() == Shape{2, 1, 4});
  ch2[1].fill_(0);
  REQUIRE_THAT(b[1][2], Values({0, 0, 0, 0}));
  CHECK(x.chunk(20).size() == 10);  // more chunks than elements: one element each
}

TEST_CASE("concat and stack copy", "[views]") {
  TF_EACH_DEVICE();
  Tensor a = on_dev(tensor({{1.f, 2.f}, {3.f, 4.f}}));
  Tensor b = on_dev(tensor({{5.f, 6.f}}));
  Tensor c = concat({a, b});
  CHECK(c.shape() == Shape{3, 2});
  CHECK_FALSE(c.shares_storage(a));
  REQUIRE_THAT(c, Values({1, 2, 3, 4, 5, 6}));
  Tensor c1 = concat({a, a.T(), b.T().expand({2, 3})}, -1);  // mixed layouts along dim 1
  CHECK(c1.shape() == Shape{2, 7});
  REQUIRE_THAT(c1, Values({1, 2, 1, 3, 5, 5, 5, 3, 4, 2, 4, 6, 6, 6}));
  Tensor mixed = concat({on_dev(from_vector<int32_t>({1, 2})), on_dev(tensor({0.5f}))});
  CHECK(mixed.dtype() == kFloat32);
  REQUIRE_THAT(mixed, Values({1, 2, 0.5}));
  CHECK(concat({on_dev(zeros({0, 2})), a}).shape() == Shape{2, 2});
  CHECK(concat({a}).shape() == Shape{2, 2});

  Tensor s = stack({on_dev(tensor({1.f, 2.f})), on_dev(tensor({3.f, 4.f})), on_dev(tensor({5.f, 6.f}))});
  CHECK(s.shape() == Shape{3, 2});
  REQUIRE_THAT(s, Values({1, 2, 3, 4, 5, 6}));
  Tensor s1 = stack({on_dev(tensor({1.f, 2.f})), on_dev(tensor({3.f, 4.f}))}, 1);
  CHECK(s1.shape() == Shape{2, 2});
  REQUIRE_THAT(s1, Values({1, 3, 2, 4}));
  Tensor sn = stack({a, a.T()}, -1);
  CHECK(sn.shape() == Shape{2, 2, 2});
  REQUIRE_THAT(sn, Values({1, 1, 2, 3, 3, 2, 4, 4}));
  Tensor ss = stack({on_dev(scalar_tensor(1.f)), on_dev(scalar_tensor(2.f))});
  CHECK(ss.shape() == Shape{2});
  s.fill_(0);
  REQUIRE_THAT(a, Values({1, 2, 3, 4}));  // stack copied its inputs
}

TEST_CASE("views of views of integer and bool tensors", "[views]") {
  TF_EACH_DEVICE();
  Tensor i = on_dev(arange(12)).reshape({3, 4});
  CHECK(i.dtype() == kInt64);
  Tensor v = i.T().slice(0, 1, 3)[1];  // i[:, 2]
  CHECK(v.shares_storage(i));
  CHECK(ints(v) == std::vector<int64_t>{2, 6, 10});
  v.fill_(-1);
  CHECK(ints(i.select(1, 2)) == std::vector<int64_t>{-1, -1, -1});
  Tensor b = on_dev(from_vector<bool>({true, false, false, true}, {2, 2}));
  CHECK(ints(b.T()) == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(ints(b.T().reshape({4})) == std::vector<int64_t>{1, 0, 0, 1});
  CHECK(b.unsqueeze(0).expand({3, 2, 2}).dtype() == kBool);
}

TEST_CASE("views with an offset into an empty tensor", "[views]") {
  // The storage of an empty tensor has no data; its views must not offset the null pointer
  // (undefined behaviour that clang's UBSan reports; found by tests/fuzz/fuzz_tensor_ops).
  Tensor e = zeros({0, 4}).slice(1, 2);
  CHECK(e.shape() == Shape{0, 2});
  CHECK(e.astype(kInt32).shape() == Shape{0, 2});
  CHECK(e.contiguous().numel() == 0);
  CHECK((e + 1.0).shape() == Shape{0, 2});
  CHECK(e.to_vector<float>().empty());
  CHECK(zeros({3, 0}).select(0, 2).shape() == Shape{0});
}
