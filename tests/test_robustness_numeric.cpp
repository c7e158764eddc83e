// Robustness regressions from the fuzzing/stress pass (issue 17), numeric half: shapes whose
// element or byte count overflows int64, allocation failure, defined integer overflow and
// float->int casts (no UB), integer division, and semantics matched to PyTorch 1.13 (Debian
// python3-torch; the expected values below were computed with it offline).
#include <cmath>
#include <limits>

#include "backends/functors.h"
#include "helpers.h"

using namespace tapeflow;
using Catch::Contains;
using tftest::Values;

namespace {
const int64_t kI64Max = std::numeric_limits<int64_t>::max();
const int64_t kI64Min = std::numeric_limits<int64_t>::min();
const int32_t kI32Max = std::numeric_limits<int32_t>::max();
const int32_t kI32Min = std::numeric_limits<int32_t>::min();

// Only tapeflow's documented exception types: Error / IndexError (never bad_alloc etc.).
#define CHECK_TF_ERROR(expr, text)                                  \
  do {                                                              \
    CHECK_THROWS_AS(expr, tapeflow::Error);                         \
    CHECK_THROWS_WITH(expr, Catch::StartsWith(text));               \
  } while (0)
}  // namespace

TEST_CASE("shapes whose element or byte count overflows int64 are refused, naming the op", "[robust]") {
  CHECK_TF_ERROR(zeros({int64_t(1) << 62, 4}), "zeros: shape (4611686018427387904, 4) has too many elements");
  CHECK_TF_ERROR(zeros({(int64_t(1) << 61) + 1, 3, 3, 1}, kInt64), "zeros: shape");
  CHECK_TF_ERROR(ones({int64_t(1) << 62, 2}), "ones: shape");
  CHECK_TF_ERROR(full({int64_t(1) << 40, int64_t(1) << 40}, 2.0), "full: shape");
  CHECK_TF_ERROR(empty({int64_t(1) << 61}, Options(kFloat64)), "empty: shape");  // 2^64 bytes
  CHECK_TF_ERROR(randn({int64_t(1) << 62, 4}), "normal: shape");
  CHECK_TF_ERROR(rand({int64_t(1) << 62, 4}), "uniform: shape");
  CHECK_TF_ERROR(randint(0, 5, {int64_t(1) << 62, 4}), "randint: shape");
  CHECK_TF_ERROR(eye(int64_t(1) << 32, int64_t(1) << 32), "eye: shape (4294967296, 4294967296)");
  // A zero dim does not excuse the others (their contiguous strides would overflow).
  CHECK_TF_ERROR(zeros({0, int64_t(1) << 62, 4}), "zeros: shape");
  float buf[4] = {1, 2, 3, 4};
  CHECK_TF_ERROR(from_blob(buf, {int64_t(1) << 62, 4}, kFloat32), "from_blob: shape");
  CHECK_TF_ERROR(from_blob(buf, {-1}, kFloat32), "from_blob: negative dimension");
  Tensor one = ones({1});
  CHECK_TF_ERROR(one.expand({int64_t(1) << 62, 4}), "expand: shape");
  CHECK(one.expand({int64_t(1) << 40}).numel() == int64_t(1) << 40);  // a fine view
  CHECK_TF_ERROR(reshape(zeros({0}), {int64_t(1) << 62, 4, 0}), "reshape: cannot reshape tensor of shape (0,)");
  CHECK_TF_ERROR(reshape(zeros({0}), {int64_t(1) << 62, 4, -1}), "reshape: cannot reshape");
  CHECK_TF_ERROR(arange(0.0, 1e300), "arange: the range from 0 to 1e+300");
  CHECK_TF_ERROR(one_hot(from_vector<int64_t>({0, 1}), int64_t(1) << 62), "one_hot: shape (2, 4611686018427387904)");
  // Broadcasting two huge views: the output's count overflows; the error names the op.
  Tensor a = ones({1, 1}).expand({int64_t(1) << 40, 1}), b = ones({1, 1}).expand({1, int64_t(1) << 40});
  CHECK_TF_ERROR(a + b, "add: shape (1099511627776, 1099511627776) has too many elements");
}

TEST_CASE("allocation failure is a tapeflow error naming the op", "[robust]") {
  // 2^56 floats: the count and bytes fit in int64, the memory does not exist.
  CHECK_TF_ERROR(zeros({int64_t(1) << 56}), "zeros: ");
  CHECK_TF_ERROR(eye(int64_t(1) << 28), "eye: ");
  CHECK_TF_ERROR(linspace(0, 1, int64_t(1) << 60), "linspace: ");
  CHECK_TF_ERROR(randperm(int64_t(1) << 60), "randperm: ");
  CHECK_TF_ERROR(arange(int64_t(1) << 60), "arange: ");
  Tensor v = ones({1}).expand({int64_t(1) << 56});
  CHECK_TF_ERROR(v * 2, "mul: ");
  CHECK_TF_ERROR(v.contiguous(), "clone: ");
  CHECK_TF_ERROR(v.astype(kFloat64), "astype: ");
}

TEST_CASE("narrow and slice with extreme lengths and steps", "[robust]") {
  Tensor x = arange(10.0);
  // torch: x.narrow(0, 1, 2**63-1) -> error; x[0:10:2**62] -> [0.]
  CHECK_THROWS_AS(x.narrow(0, 1, kI64Max), IndexError);
  CHECK_THROWS_WITH(x.narrow(0, 1, kI64Max), Catch::StartsWith("narrow: start 1 and length 9223372036854775807"));
  CHECK_THAT(x.narrow(0, 1, 3), Values({1, 2, 3}));
  CHECK_THAT(x.slice(0, 0, kEnd, kI64Max), Values({0}));
  CHECK_THAT(x.slice(0, 3, kEnd, int64_t(1) << 62), Values({3}));
  CHECK_THAT(x.slice(0, 1, 10, 4), Values({1, 5, 9}));
  CHECK(x.slice(0, 5, 2).numel() == 0);
  CHECK(x.chunk(kI64Max).size() == 10);
  CHECK_THROWS_WITH(split(x, std::vector<int64_t>{kI64Max, kI64Max}), Contains("split: the sizes overflow"));
}

TEST_CASE("Scalar converts any double without UB", "[robust]") {
  CHECK(Scalar(NAN).i == 0);
  CHECK(Scalar(INFINITY).i == kI64Max);
  CHECK(Scalar(-INFINITY).i == kI64Min);
  CHECK(Scalar(1e30).i == kI64Max);
  CHECK(Scalar(-2.5).i == -2);
  Tensor x = ones({2});
  CHECK_THAT(x * INFINITY, Values({INFINITY, INFINITY}));
  CHECK_THAT(x + 1e30, Values({1e30, 1e30}));
  CHECK_THAT(full({2}, NAN), Values({NAN, NAN}));
  // Into integer tensors the fill value converts by the documented cast rules.
  CHECK(full({3}, NAN, Options(kInt32)).to_vector<int32_t>() == std::vector<int32_t>{0, 0, 0});
  CHECK(full({1}, 1e30, Options(kInt64)).to_vector<int64_t>() == std::vector<int64_t>{kI64Max});
  CHECK(full({1}, -INFINITY, Options(kInt32)).to_vector<int32_t>() == std::vector<int32_t>{kI32Min});
}

TEST_CASE("float to integer casts are defined: NaN -> 0, int32/int64 saturate, uint8 wraps", "[robust]") {
  Tensor f = tensor({NAN, INFINITY, -INFINITY, 1e10f, -1e10f, 3.7f, -3.7f});
  CHECK(f.astype(kInt32).to_vector<int32_t>() ==
        std::vector<int32_t>{0, kI32Max, kI32Min, kI32Max, kI32Min, 3, -3});
  CHECK(f.astype(kInt64).to_vector<int64_t>() ==
        std::vector<int64_t>{0, kI64Max, kI64Min, 10000000000LL, -10000000000LL, 3, -3});
  // torch: tensor([-1., 255., 256., 3.7, -3.7]).to(uint8) -> [255, 255, 0, 3, 253]
  CHECK(tensor({-1.f, 255.f, 256.f, 3.7f, -3.7f}).astype(kUInt8).to_vector<uint8_t>() ==
        std::vector<uint8_t>{255, 255, 0, 3, 253});
  CHECK(tensor({NAN, 2.f}).astype(kBool).to_vector<bool>() == std::vector<bool>{true, true});
  // clamp of an integer tensor with bounds beyond its range
  Tensor i = from_vector<int32_t>({-5, 0, 5});
  CHECK(clamp(i, -1e30, 1e30).to_vector<int32_t>() == std::vector<int32_t>{-5, 0, 5});
  CHECK(clamp_min(i, 1e30).to_vector<int32_t>() == std::vector<int32_t>{kI32Max, kI32Max, kI32Max});
}

TEST_CASE("signed integer overflow wraps as two's complement in element-wise ops and reductions", "[robust]") {
  // torch: int32 [2^31-1, -2^31] + 1 -> [-2^31, -2^31+1]; int64 max + 1 -> min
  Tensor i32 = from_vector<int32_t>({kI32Max, kI32Min});
  CHECK((i32 + from_vector<int32_t>({1, 1})).to_vector<int32_t>() == std::vector<int32_t>{kI32Min, kI32Min + 1});
  CHECK((i32 - from_vector<int32_t>({-1, 1})).to_vector<int32_t>() == std::vector<int32_t>{kI32Min, kI32Max});
  CHECK((from_vector<int64_t>({kI64Max}) + 1).to_vector<int64_t>() == std::vector<int64_t>{kI64Min});
  // torch: -int32(-2^31) and abs -> -2^31; int32 65536**2 and *65536 -> 0
  Tensor m = from_vector<int32_t>({kI32Min});
  CHECK(neg(m).to_vector<int32_t>() == std::vector<int32_t>{kI32Min});
  CHECK(abs(m).to_vector<int32_t>() == std::vector<int32_t>{kI32Min});
  Tensor big = from_vector<int32_t>({65536});
  CHECK(square(big).to_vector<int32_t>() == std::vector<int32_t>{0});
  CHECK((big * from_vector<int32_t>({65536})).to_vector<int32_t>() == std::vector<int32_t>{0});
  CHECK(pow(big, from_vector<int32_t>({2})).to_vector<int32_t>() == std::vector<int32_t>{0});
  // torch: int64 [2^62, 2^62].sum() -> -2^63; int32 [2^31-1, 1].sum() -> 2^31 (int64);
  //        cumsum -> [2^31-1, 2^31]
  CHECK(sum(from_vector<int64_t>({int64_t(1) << 62, int64_t(1) << 62})).item<int64_t>() == kI64Min);
  CHECK(sum(from_vector<int32_t>({kI32Max, 1})).item<int64_t>() == int64_t(1) << 31);
  CHECK(cumsum(from_vector<int32_t>({kI32Max, 1}), 0).to_vector<int64_t>() ==
        std::vector<int64_t>{kI32Max, int64_t(1) << 31});
  CHECK(cumsum(from_vector<int64_t>({kI64Max, 1}), 0).to_vector<int64_t>() == std::vector<int64_t>{kI64Max, kI64Min});
  std::vector<int64_t> many(40, int64_t(1) << 62);  // the 16-lane reduction path
  CHECK(sum(from_vector<int64_t>(many)).item<int64_t>() == 0);
  CHECK(prod(from_vector<int64_t>({int64_t(1) << 32, int64_t(1) << 32})).item<int64_t>() == 0);
  CHECK(arange(kI64Max - 2, kI64Max).to_vector<int64_t>() == std::vector<int64_t>{kI64Max - 2, kI64Max - 1});
}

TEST_CASE("integer division is defined: x / 0 is 0, INT_MIN / -1 wraps, never SIGFPE", "[robust]") {
  using backend::BinaryOp;
  using backend::binary_fn;
  CHECK(binary_fn<BinaryOp::Div, int64_t>(7, 0) == 0);
  CHECK(binary_fn<BinaryOp::Div, int64_t>(kI64Min, -1) == kI64Min);
  CHECK(binary_fn<BinaryOp::Div, int32_t>(kI32Min, -1) == kI32Min);
  CHECK(binary_fn<BinaryOp::Div, int32_t>(-7, 2) == -3);
  CHECK(binary_fn<BinaryOp::Div, uint8_t>(7, 0) == 0);
  CHECK(binary_fn<BinaryOp::Div, bool>(true, false) == false);
  // The public div is true division (integers give float32, as PyTorch): [7,-7]/2 -> [3.5,-3.5]
  Tensor i = from_vector<int32_t>({7, -7, 0});
  Tensor q = i / 2;
  CHECK(q.dtype() == kFloat32);
  CHECK_THAT(q, Values({3.5, -3.5, 0}));
  CHECK_THAT(i / from_vector<int32_t>({0, 0, 0}), Values({INFINITY, -INFINITY, NAN}));
  CHECK_THAT(from_vector<int64_t>({kI64Min}) / -1, Values({9.223372036854775808e18}));
}

TEST_CASE("in-place ops refuse a result dtype that cannot be cast back, as PyTorch", "[robust]") {
  // torch: int32 [7,-7] /= 2 -> "result type Float can't be cast to the desired output type Int"
  Tensor i = from_vector<int32_t>({7, -7});
  CHECK_THROWS_AS(i /= 2, Error);
  CHECK_THROWS_WITH(i /= 2, Catch::StartsWith("div_: result type float32 can't be cast to the desired output type int32"));
  CHECK_THROWS_WITH(i.div_(from_vector<int32_t>({2, 2})), Catch::StartsWith("div_: result type float32"));
  CHECK_THROWS_WITH(i += 1.5, Catch::StartsWith("add_: result type float32 can't be cast"));
  CHECK_THROWS_WITH(i *= ones({2}), Catch::StartsWith("mul_: result type float32"));
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{7, -7});  // unchanged
  // torch: int32 += int64 0-d tensor -> int32 [9, -5]; bool += long -> refused
  i += from_vector<int64_t>({2}).reshape({});
  CHECK(i.dtype() == kInt32);
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{9, -5});
  i *= 2;
  CHECK(i.to_vector<int32_t>() == std::vector<int32_t>{18, -10});
  Tensor b = from_vector<bool>({true});
  CHECK_THROWS_WITH(b += from_vector<int64_t>({1}), Catch::StartsWith("add_: result type int64 can't be cast to the desired output type bool"));
  Tensor f = ones({2});
  f /= 2;
  CHECK_THAT(f, Values({0.5, 0.5}));
}

TEST_CASE("relu keeps NaN and logsumexp of an empty reduction is -inf, as PyTorch", "[robust]") {
  // torch.relu([nan, -1, 2]) -> [nan, 0, 2]
  CHECK_THAT(relu(tensor({NAN, -1.f, 2.f})), Values({NAN, 0, 2}));
  CHECK_THAT(relu(tensor({NAN, -1.0, 2.0})), Values({NAN, 0, 2}));
  std::vector<float> long_run(100, -1.f);  // the contiguous (vectorisable) path
  long_run[37] = NAN;
  Tensor r = relu(from_vector(long_run));
  CHECK(std::isnan(r.to_vector<float>()[37]));
  CHECK(r.to_vector<float>()[36] == 0.f);
  CHECK(std::isnan(relu(from_vector(long_run).reshape({10, 10}).T()).to_vector<float>()[73]));
  // torch.logsumexp(zeros(0,3), 0) -> [-inf]*3; (zeros(2,0), 1) -> [-inf]*2; zeros(0) -> -inf
  CHECK_THAT(logsumexp(zeros({0, 3}), 0), Values({-INFINITY, -INFINITY, -INFINITY}));
  CHECK_THAT(logsumexp(zeros({2, 0}), 1), Values({-INFINITY, -INFINITY}));
  CHECK_THAT(logsumexp(zeros({2, 0}), 1, true), Values({-INFINITY, -INFINITY}));
  CHECK(logsumexp(zeros({2, 0}), 1, true).shape() == Shape{2, 1});
  CHECK_THAT(logsumexp(zeros({0})), Values({-INFINITY}));
  Tensor e = zeros({0, 3}).requires_grad_();
  Tensor l = sum(logsumexp(e, 0));
  l.backward();
  CHECK(e.grad().shape() == Shape{0, 3});
}
