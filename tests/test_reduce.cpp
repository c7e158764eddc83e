// Reductions over all axes, one axis and several axes, with keepdims and negative axes:
// sum mean prod max min argmax argmin var std (with correction) logsumexp all any cumsum
// sum_to; float32, float64, integer and bool paths; permuted (non-contiguous) inputs; rank-0
// and size-0 inputs. Expected values computed offline with NumPy / PyTorch.
// Every case runs on every device (TF_EACH_DEVICE, tests/devices.h; inputs via on_dev).
#include "devices.h"
#include "helpers.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

namespace {

// x = ((arange(24) * 7 % 11) - 5) / 2 reshaped to (2, 3, 4)
const std::vector<double> kX = {-2.5, 1.0, -1.0, 2.5, 0.5, -1.5, 2.0, 0.0, -2.0, 1.5, -0.5, -2.5,
                                1.0, -1.0, 2.5, 0.5, -1.5, 2.0, 0.0, -2.0, 1.5, -0.5, -2.5, 1.0};

Tensor make_x(DType dt) { return from_vector(kX, {2, 3, 4}).astype(dt); }

}  // namespace

TEST_CASE("sum and mean over all, one and several axes", "[reduce]") {
  TF_EACH_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor x = on_dev(make_x(dt));
    Tensor s = x.sum();
    CHECK(s.dim() == 0);
    CHECK(s.dtype() == dt);
    REQUIRE_THAT(s, Values({-1.5}));
    Tensor s1 = sum(x, 1);
    CHECK(s1.shape() == Shape{2, 4});
    REQUIRE_THAT(s1, Values({-4.0, 1.0, 0.5, 0.0, 1.0, 0.5, 0.0, -0.5}));
    Tensor sl = x.sum(-1);
    CHECK(sl.shape() == Shape{2, 3});
    REQUIRE_THAT(sl, Values({0.0, 1.0, -3.5, 3.0, -1.5, -0.5}));
    Tensor s02 = x.sum({0, 2});
    CHECK(s02.shape() == Shape{3});
    REQUIRE_THAT(s02, Values({3.0, -0.5, -4.0}));
    Tensor s02k = x.sum({0, -1}, true);
    CHECK(s02k.shape() == Shape{1, 3, 1});
    REQUIRE_THAT(s02k, Values({3.0, -0.5, -4.0}));
    CHECK(x.sum({}, true).shape() == Shape{1, 1, 1});
    CHECK(x.sum({0, 1, 2}).dim() == 0);

    REQUIRE_THAT(x.mean(), Values({-0.0625}));
    REQUIRE_THAT(mean(x, 1), Values({-1.3333333333333333, 0.3333333333333333, 0.16666666666666666, 0.0,
                                     0.3333333333333333, 0.16666666666666666, 0.0, -0.16666666666666666}));
    Tensor m02 = x.mean({0, 2}, true);
    CHECK(m02.shape() == Shape{1, 3, 1});
    REQUIRE_THAT(m02, Values({0.375, -0.0625, -0.5}));
    CHECK(m02.dtype() == dt);
  }
}

TEST_CASE("prod, max and min", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat32));
  REQUIRE_THAT(x.prod(2), Values({6.25, -0.0, -3.75, -1.25, 0.0, 1.875}));
  REQUIRE_THAT(prod(x, 0), Values({-2.5, -1.0, -2.5, 1.25, -0.75, -3.0, 0.0, -0.0, -3.0, -0.75, 1.25, -2.5}));
  CHECK(prod(x, -1, true).shape() == Shape{2, 3, 1});
  REQUIRE_THAT(on_dev(tensor({2.f, 3.f, 0.5f})).prod(), Values({3}));
  REQUIRE_THAT(x.max(), Values({2.5}));
  REQUIRE_THAT(x.min(), Values({-2.5}));
  Tensor mx = max(x, 1);
  CHECK(mx.shape() == Shape{2, 4});
  REQUIRE_THAT(mx, Values({0.5, 1.5, 2.0, 2.5, 1.5, 2.0, 2.5, 1.0}));
  Tensor mn = x.min({0, 1}, true);
  CHECK(mn.shape() == Shape{1, 1, 4});
  REQUIRE_THAT(mn, Values({-2.5, -1.5, -2.5, -2.5}));
  REQUIRE_THAT(max(on_dev(tensor({1.f, NAN, 3.f}))), Values({NAN}));  // NaN propagates (np.max)
  REQUIRE_THAT(min(on_dev(tensor({-INFINITY, 0.f}))), Values({-INFINITY}));
}

TEST_CASE("argmax and argmin: first of ties, flattened and per axis", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat64));
  Tensor am = argmax(x, 1);
  CHECK(am.dtype() == kInt64);
  CHECK(am.shape() == Shape{2, 4});
  CHECK(ints(am) == std::vector<int64_t>{1, 2, 1, 0, 2, 1, 0, 2});
  Tensor an = x.argmin(-1);
  CHECK(an.shape() == Shape{2, 3});
  CHECK(ints(an) == std::vector<int64_t>{0, 1, 3, 1, 3, 2});
  Tensor ak = x.argmin(2, true);
  CHECK(ak.shape() == Shape{2, 3, 1});
  CHECK(ints(ak) == std::vector<int64_t>{0, 1, 3, 1, 3, 2});
  Tensor flat = x.argmax();
  CHECK(flat.dim() == 0);
  CHECK(flat.item<int64_t>() == 3);
  CHECK(argmin(x).item<int64_t>() == 0);
  CHECK(ints(argmax(on_dev(tensor({1.f, 5.f, 5.f, 2.f})), 0)) == std::vector<int64_t>{1});  // first of ties
  CHECK(ints(argmax(on_dev(from_vector<int32_t>({3, 9, 9})), 0)) == std::vector<int64_t>{1});
  CHECK(argmax(on_dev(scalar_tensor(4.f)), 0).item<int64_t>() == 0);
  CHECK(argmax(on_dev(scalar_tensor(4.f)), 0).dim() == 0);
}

TEST_CASE("var and std with a correction", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat64));
  REQUIRE_THAT(x.var(), Values({2.702445652173913}, 1e-12));  // torch.var (unbiased)
  Tensor v2 = var(x, 2);
  CHECK(v2.shape() == Shape{2, 3});
  REQUIRE_THAT(v2, Values({4.833333333333333, 2.083333333333333, 3.2291666666666665, 2.083333333333333,
                           3.2291666666666665, 3.2291666666666665}, 1e-12));
  Tensor v1 = x.var(1, 0);  // population variance
  REQUIRE_THAT(v1, Values({1.7222222222222223, 1.722222222222222, 1.7222222222222223, 4.166666666666667,
                           1.722222222222222, 1.7222222222222223, 4.166666666666667, 1.722222222222222}, 1e-12));
  Tensor s01 = x.std({0, 1}, 1, true);
  CHECK(s01.shape() == Shape{1, 1, 4});
  REQUIRE_THAT(s01, Values({1.70293863659264, 1.4404860290887933, 1.8819316317727024, 1.8819316317727026}, 1e-12));
  REQUIRE_THAT(tapeflow::std(on_dev(tensor({2.f, 4.f, 4.f, 4.f, 5.f, 5.f, 7.f, 9.f})), {}, 0), Values({2}));  // textbook example
  CHECK(var(on_dev(make_x(kFloat32)), 2).dtype() == kFloat32);
  REQUIRE_THAT(var(on_dev(from_vector<int32_t>({1, 2, 3, 4}))), Values({1.6666666666666667}, 1e-6));
  CHECK(var(on_dev(from_vector<int32_t>({1, 2, 3, 4}))).dtype() == kFloat32);
}

TEST_CASE("logsumexp is exact and stable", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat64));
  REQUIRE_THAT(x.logsumexp(), Values({4.166211979569234}, 1e-12));
  REQUIRE_THAT(logsumexp(x, -1), Values({2.731163696255373, 2.3283412890257247, 1.6687704079392338,
                                         2.8283412890257247, 2.168770407939234, 2.0654169752271}, 1e-12));
  Tensor l02 = logsumexp(x, {0, 2}, true);
  CHECK(l02.shape() == Shape{1, 3, 1});
  REQUIRE_THAT(l02, Values({3.4740796445837403, 2.944882516162779, 2.5797793527803323}, 1e-12));
  // Magnitudes of 1e4 do not overflow: logsumexp([1e4, 1e4]) = 1e4 + log 2
  REQUIRE_THAT(logsumexp(on_dev(tensor({1e4f, 1e4f}))), Values({10000.693147180560}, 1e-7));
  REQUIRE_THAT(logsumexp(on_dev(tensor({-1e4f, -1e4f}))), Values({-9999.306852819440}, 1e-7));
  REQUIRE_THAT(logsumexp(on_dev(tensor({-INFINITY, -INFINITY}))), Values({-INFINITY}));
  REQUIRE_THAT(logsumexp(on_dev(tensor({-INFINITY, 0.f}))), Values({0}));
  CHECK(logsumexp(on_dev(make_x(kFloat32)), 1).dtype() == kFloat32);
}

TEST_CASE("all and any", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat32));
  Tensor nz = x != 0;
  CHECK(ints(nz.all(2)) == std::vector<int64_t>{1, 0, 1, 1, 0, 1});
  CHECK(all(nz, 2).dtype() == kBool);
  CHECK(ints(any(x > 2, 2)) == std::vector<int64_t>{1, 0, 0, 1, 0, 0});
  CHECK(any(x > 2, -1, true).shape() == Shape{2, 3, 1});
  CHECK_FALSE(nz.all().item<bool>());
  CHECK(nz.any().item<bool>());
  CHECK(all(on_dev(tensor({1.f, -2.f}))).item<bool>());  // non-bool inputs: non-zero is true
  CHECK_FALSE(any(on_dev(zeros({3}))).item<bool>());
  CHECK(all(on_dev(zeros({0}))).item<bool>());  // empty: all is true, any is false
  CHECK_FALSE(any(on_dev(zeros({0}))).item<bool>());
  CHECK(ints(on_dev(from_vector<bool>({true, false, true, true}, {2, 2})).all(0)) == std::vector<int64_t>{1, 0});
}

TEST_CASE("cumsum", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(make_x(kFloat32));
  Tensor c2 = cumsum(x, 2);
  CHECK(c2.shape() == Shape{2, 3, 4});
  REQUIRE_THAT(c2, Values({-2.5, -1.5, -2.5, 0.0, 0.5, -1.0, 1.0, 1.0, -2.0, -0.5, -1.0, -3.5,
                           1.0, 0.0, 2.5, 3.0, -1.5, 0.5, 0.5, -1.5, 1.5, 1.0, -1.5, -0.5}));
  REQUIRE_THAT(cumsum(x, -3), Values({-2.5, 1.0, -1.0, 2.5, 0.5, -1.5, 2.0, 0.0, -2.0, 1.5, -0.5, -2.5,
                                      -1.5, 0.0, 1.5, 3.0, -1.0, 0.5, 2.0, -2.0, -0.5, 1.0, -3.0, -1.5}));
  Tensor ci = cumsum(on_dev(from_vector<int32_t>({1, 2, 3})), 0);
  CHECK(ci.dtype() == kInt64);
  CHECK(ints(ci) == std::vector<int64_t>{1, 3, 6});
  CHECK(ints(cumsum(on_dev(from_vector<bool>({true, false, true})), 0)) == std::vector<int64_t>{1, 1, 2});
  Tensor cs = cumsum(on_dev(scalar_tensor(2.5f)), 0);
  CHECK(cs.dim() == 0);
  CHECK(cs.item<float>() == 2.5f);
}

TEST_CASE("reductions of permuted, sliced and expanded views", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor xt = on_dev(make_x(kFloat64)).permute({2, 0, 1});  // (4, 2, 3), non-contiguous
  CHECK_FALSE(xt.is_contiguous());
  REQUIRE_THAT(xt.sum(2), Values({-4.0, 1.0, 1.0, 0.5, 0.5, 0.0, 0.0, -0.5}));
  REQUIRE_THAT(xt.max(0), Values({2.5, 2.0, 1.5, 2.5, 2.0, 1.5}));
  CHECK(ints(xt.argmax(2)) == std::vector<int64_t>{1, 2, 2, 1, 1, 0, 0, 2});
  REQUIRE_THAT(cumsum(xt, 1), Values({-2.5, 0.5, -2.0, -1.5, -1.0, -0.5, 1.0, -1.5, 1.5, 0.0, 0.5, 1.0,
                                      -1.0, 2.0, -0.5, 1.5, 2.0, -3.0, 2.5, 0.0, -2.5, 3.0, -2.0, -1.5}));
  REQUIRE_THAT(xt.var({0, 2}), Values({3.020833333333333, 2.5833333333333335}, 1e-12));
  REQUIRE_THAT(xt.sum(), Values({-1.5}));
  // every other column of a (2, 3, 4) tensor: x[:, :, ::2]
  Tensor sl = on_dev(make_x(kFloat32)).slice(2, 0, kEnd, 2);
  REQUIRE_THAT(sl.sum(-1), Values({-3.5, 2.5, -2.5, 3.5, -1.5, -1.0}));
  // expanded (zero-stride) input: a row repeated 1000 times
  Tensor e = on_dev(tensor({1.f, 2.f, 3.f})).expand({1000, 3});
  REQUIRE_THAT(e.sum(0), Values({1000, 2000, 3000}));
  REQUIRE_THAT(e.mean(), Values({2}));
  CHECK(ints(e.argmax(1)) == std::vector<int64_t>(1000, 2));
}

TEST_CASE("large reductions (parallel path) are accurate", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(arange(1000000, Options(kFloat64))).reshape({1000, 1000});
  CHECK(x.sum().item<double>() == 499999500000.0);
  Tensor cols = x.sum(0);
  CHECK(cols[0].item<double>() == 499500000.0);   // sum of 1000 * i for i < 1000
  CHECK(cols[999].item<double>() == 500499000.0);
  CHECK(x.T().sum(0)[1].item<double>() == 1000 * 1000 + 499500.0);
  CHECK(x.max().item<double>() == 999999.0);
  CHECK(x.argmax().item<int64_t>() == 999999);
  Tensor f = on_dev(ones({1 << 20}));
  CHECK(f.sum().item<float>() == float(1 << 20));  // float32 sums stay exact here
  REQUIRE_THAT(f.mean(), Values({1}));
}

TEST_CASE("integer and bool reductions", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor i = on_dev(from_vector<int32_t>({1, 2, 3, 4}, {2, 2}));
  CHECK(i.sum().dtype() == kInt64);  // as torch: integer sums accumulate in int64
  CHECK(i.sum().item<int64_t>() == 10);
  CHECK(ints(i.sum(0)) == std::vector<int64_t>{4, 6});
  CHECK(i.prod().item<int64_t>() == 24);
  CHECK(i.prod().dtype() == kInt64);
  CHECK(i.max().dtype() == kInt32);
  CHECK(ints(i.max(1)) == std::vector<int64_t>{2, 4});
  CHECK(ints(i.min(0)) == std::vector<int64_t>{1, 2});
  CHECK(i.mean().dtype() == kFloat32);
  REQUIRE_THAT(i.mean(0), Values({2, 3}));
  Tensor b = on_dev(from_vector<bool>({true, false, true}));
  CHECK(b.sum().dtype() == kInt64);
  CHECK(b.sum().item<int64_t>() == 2);
  CHECK(on_dev(from_vector<int64_t>({int64_t(1) << 40, 3})).sum().item<int64_t>() == (int64_t(1) << 40) + 3);
}

TEST_CASE("rank-0 and size-0 reductions", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor s = on_dev(scalar_tensor(3.f));
  CHECK(s.sum().item<float>() == 3.f);
  CHECK(s.sum().dim() == 0);
  CHECK(s.sum(0).dim() == 0);   // axis 0 / -1 of a scalar is allowed, as in torch
  CHECK(s.max(-1).item<float>() == 3.f);
  CHECK(s.mean().item<float>() == 3.f);
  Tensor z = on_dev(zeros({2, 0}));
  REQUIRE_THAT(z.sum(1), Values({0, 0}));
  REQUIRE_THAT(z.prod(1), Values({1, 1}));
  CHECK(z.sum(0).shape() == Shape{0});
  CHECK(z.max(0).shape() == Shape{0});  // reducing a non-empty dim of an empty tensor is fine
  REQUIRE_THAT(z.mean(1), Values({NAN, NAN}));  // 0 / 0, as NumPy
}

TEST_CASE("sum_to reverses broadcasting", "[reduce]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(ones({2, 3, 4}));
  Tensor r = sum_to(x, {3, 1});
  CHECK(r.shape() == Shape{3, 1});
  REQUIRE_THAT(r, Values({8, 8, 8}));
  CHECK(sum_to(x, {2, 3, 4}).is_same(x));
  Tensor r2 = sum_to(on_dev(arange(6, Options(kFloat32))).reshape({2, 3}), {3});
  REQUIRE_THAT(r2, Values({3, 5, 7}));
  REQUIRE_THAT(sum_to(on_dev(arange(6, Options(kFloat32))).reshape({2, 3}), {}), Values({15}));
}
