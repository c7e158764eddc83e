// Element-wise ops: every unary and binary op of tensor/ops.h, in float32 and float64, over
// contiguous, strided, transposed and expanded (zero-stride) inputs; broadcasting; C++ numbers
// on either side; comparisons and logical ops giving bool; where; integer and bool paths.
// Expected values were computed offline with NumPy (float64) and pasted here.
// Every case runs on every device (TF_EACH_DEVICE, tests/devices.h; inputs via on_dev).
#include <functional>

#include "devices.h"
#include "helpers.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

namespace {

std::vector<double> twice(std::vector<double> v) {
  std::vector<double> r = v;
  r.insert(r.end(), v.begin(), v.end());
  return r;
}

struct Layout {
  const char* name;
  Tensor t;
  bool doubled;  // the layout holds the values twice (shape (2, n))
};

// The same values in four layouts: contiguous, every other element of a larger buffer,
// a transposed (2, n) view and a zero-stride expansion to (2, n).
std::vector<Layout> layouts(const std::vector<double>& v, DType dt) {
  int64_t n = (int64_t)v.size();
  std::vector<double> spaced, pairs;
  for (double x : v) {
    spaced.push_back(x);
    spaced.push_back(0.75);  // junk between the elements
    pairs.push_back(x);
    pairs.push_back(x);
  }
  Tensor contiguous = on_dev(from_vector(v).astype(dt));
  Tensor strided = on_dev(from_vector(spaced, {n, 2}).astype(dt)).select(1, 0);
  Tensor transposed = on_dev(from_vector(pairs, {n, 2}).astype(dt)).T();
  Tensor expanded = on_dev(from_vector(v).astype(dt)).reshape({1, n}).expand({2, n});
  return {{"contiguous", contiguous, false},
          {"strided", strided, false},
          {"transposed", transposed, true},
          {"expanded", expanded, true}};
}

struct UnaryCase {
  const char* name;
  std::function<Tensor(const Tensor&)> fn;
  std::vector<double> in, out;
};

const std::vector<double> kX = {-2.5, -1.0, -0.5, 0.0, 0.5, 1.5, 2.5};
const std::vector<double> kP = {0.25, 1.0, 2.0, 9.0};

std::vector<UnaryCase> unary_cases() {
  return {
      {"neg", [](const Tensor& x) { return neg(x); }, kX, {2.5, 1, 0.5, 0, -0.5, -1.5, -2.5}},
      {"operator-", [](const Tensor& x) { return -x; }, kX, {2.5, 1, 0.5, 0, -0.5, -1.5, -2.5}},
      {"abs", [](const Tensor& x) { return abs(x); }, kX, {2.5, 1, 0.5, 0, 0.5, 1.5, 2.5}},
      {"sign", [](const Tensor& x) { return sign(x); }, kX, {-1, -1, -1, 0, 1, 1, 1}},
      {"exp", [](const Tensor& x) { return exp(x); }, kX,
       {0.0820849986238988, 0.36787944117144233, 0.6065306597126334, 1.0, 1.6487212707001282,
        4.4816890703380645, 12.182493960703473}},
      {"expm1", [](const Tensor& x) { return expm1(x); }, kX,
       {-0.9179150013761013, -0.6321205588285577, -0.3934693402873666, 0.0, 0.6487212707001282,
        3.481689070338065, 11.182493960703473}},
      {"square", [](const Tensor& x) { return square(x); }, kX, {6.25, 1, 0.25, 0, 0.25, 2.25, 6.25}},
      {"sin", [](const Tensor& x) { return sin(x); }, kX,
       {-0.5984721441039565, -0.8414709848078965, -0.479425538604203, 0.0, 0.479425538604203,
        0.9974949866040544, 0.5984721441039565}},
      {"cos", [](const Tensor& x) { return cos(x); }, kX,
       {-0.8011436155469337, 0.5403023058681398, 0.8775825618903728, 1.0, 0.8775825618903728,
        0.0707372016677029, -0.8011436155469337}},
      {"tanh", [](const Tensor& x) { return tanh(x); }, kX,
       {-0.9866142981514303, -0.7615941559557649, -0.46211715726000974, 0.0, 0.46211715726000974,
        0.9051482536448665, 0.9866142981514303}},
      {"sigmoid", [](const Tensor& x) { return sigmoid(x); }, kX,
       {0.07585818002124355, 0.2689414213699951, 0.3775406687981454, 0.5, 0.6224593312018546,
        0.8175744761936437, 0.9241418199787566}},
      {"relu", [](const Tensor& x) { return relu(x); }, kX, {0, 0, 0, 0, 0.5, 1.5, 2.5}},
      {"floor", [](const Tensor& x) { return floor(x); }, kX, {-3, -1, -1, 0, 0, 1, 2}},
      {"ceil", [](const Tensor& x) { return ceil(x); }, kX, {-2, -1, -0.0, 0, 1, 2, 3}},
      {"round", [](const Tensor& x) { return round(x); }, kX, {-2, -1, -0.0, 0, 0, 2, 2}},  // half to even
      {"clamp", [](const Tensor& x) { return clamp(x, -1, 1); }, kX, {-1, -1, -0.5, 0, 0.5, 1, 1}},
      {"clamp_min", [](const Tensor& x) { return clamp_min(x, 0); }, kX, {0, 0, 0, 0, 0.5, 1.5, 2.5}},
      {"clamp_max", [](const Tensor& x) { return clamp_max(x, 0.5); }, kX, {-2.5, -1, -0.5, 0, 0.5, 0.5, 0.5}},
      {"log", [](const Tensor& x) { return log(x); }, kP,
       {-1.3862943611198906, 0.0, 0.6931471805599453, 2.1972245773362196}},
      {"log1p", [](const Tensor& x) { return log1p(x); }, kP,
       {0.22314355131420976, 0.6931471805599453, 1.0986122886681096, 2.302585092994046}},
      {"sqrt", [](const Tensor& x) { return sqrt(x); }, kP, {0.5, 1.0, 1.4142135623730951, 3.0}},
      {"rsqrt", [](const Tensor& x) { return rsqrt(x); }, kP, {2.0, 1.0, 0.7071067811865475, 0.3333333333333333}},
      {"reciprocal", [](const Tensor& x) { return reciprocal(x); }, kP, {4.0, 1.0, 0.5, 0.1111111111111111}},
      {"pow 0.5", [](const Tensor& x) { return pow(x, 0.5); }, kP, {0.5, 1.0, 1.4142135623730951, 3.0}},
      {"pow -1.5", [](const Tensor& x) { return pow(x, -1.5); }, kP, {8.0, 1.0, 0.3535533905932738, 0.037037037037037035}},
      {"pow 3", [](const Tensor& x) { return x.pow(3); }, kP, {0.015625, 1.0, 8.0, 729.0}},
      {"logical_not", [](const Tensor& x) { return logical_not(x); }, kX, {0, 0, 0, 1, 0, 0, 0}},
      {"operator!", [](const Tensor& x) { return !x; }, kX, {0, 0, 0, 1, 0, 0, 0}},
  };
}

}  // namespace

TEST_CASE("unary ops in float32 and float64 over every layout", "[elementwise]") {
  TF_EACH_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    double tol = dt == kFloat32 ? 2e-7 : 1e-14;
    for (const UnaryCase& c : unary_cases()) {
      for (const Layout& l : layouts(c.in, dt)) {
        INFO(c.name << " " << dtype_name(dt) << " " << l.name);
        Tensor y = c.fn(l.t);
        CHECK(y.shape() == l.t.shape());
        bool is_bool = std::string(c.name) == "logical_not" || std::string(c.name) == "operator!";
        CHECK(y.dtype() == (is_bool ? kBool : dt));
        CHECK_THAT(y, Values(l.doubled ? twice(c.out) : c.out, tol));
      }
    }
  }
}

TEST_CASE("unary method forms", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(tensor({-1.f, 0.f, 4.f}));
  REQUIRE_THAT(x.neg(), Values({1, 0, -4}));
  REQUIRE_THAT(x.abs(), Values({1, 0, 4}));
  REQUIRE_THAT(x.relu(), Values({0, 0, 4}));
  REQUIRE_THAT(x.square(), Values({1, 0, 16}));
  REQUIRE_THAT(x.clamp(-0.5, 2), Values({-0.5, 0, 2}));
  REQUIRE_THAT(x.exp(), Values({0.36787944117144233, 1.0, 54.598150033144236}, 1e-6));
  REQUIRE_THAT(x.tanh(), Values({-0.7615941559557649, 0.0, 0.999329299739067}, 1e-6));
  REQUIRE_THAT(x.sigmoid(), Values({0.2689414213699951, 0.5, 0.9820137900379085}, 1e-6));
  Tensor p = on_dev(tensor({1.f, 4.f}));
  REQUIRE_THAT(p.sqrt(), Values({1, 2}));
  REQUIRE_THAT(p.log(), Values({0, 1.3862943611198906}, 1e-6));
  REQUIRE_THAT(p.pow(on_dev(tensor({2.f, 0.5f}))), Values({1, 2}));
}

TEST_CASE("unary ops on integer and bool tensors", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor i = on_dev(from_vector<int32_t>({-3, 0, 2}));
  CHECK(abs(i).dtype() == kInt32);
  CHECK(ints(abs(i)) == std::vector<int64_t>{3, 0, 2});
  CHECK(ints(neg(i)) == std::vector<int64_t>{3, 0, -2});
  CHECK(ints(sign(i)) == std::vector<int64_t>{-1, 0, 1});
  CHECK(ints(square(i)) == std::vector<int64_t>{9, 0, 4});
  CHECK(ints(relu(i)) == std::vector<int64_t>{0, 0, 2});
  CHECK(ints(floor(i)) == std::vector<int64_t>{-3, 0, 2});
  CHECK(floor(i).dtype() == kInt32);
  CHECK(ints(clamp(i, -1, 1)) == std::vector<int64_t>{-1, 0, 1});
  CHECK(clamp(i, -1, 1).dtype() == kInt32);
  // Float-only math on integers computes in float32 (np.exp(np.float32([-3, 0, 2]))).
  Tensor e = exp(i);
  CHECK(e.dtype() == kFloat32);
  REQUIRE_THAT(e, Values({0.049787066876888275, 1.0, 7.3890557289123535}, 1e-7));
  CHECK(sqrt(on_dev(from_vector<int64_t>({4, 9}))).dtype() == kFloat32);
  REQUIRE_THAT(sqrt(on_dev(from_vector<int64_t>({4, 9}))), Values({2, 3}));
  Tensor ip = pow(on_dev(from_vector<int64_t>({2, 3, -2})), 3);  // integer power stays integer
  CHECK(ip.dtype() == kInt64);
  CHECK(ints(ip) == std::vector<int64_t>{8, 27, -8});
  Tensor b = on_dev(from_vector<bool>({true, false}));
  CHECK(logical_not(b).dtype() == kBool);
  CHECK(ints(logical_not(b)) == std::vector<int64_t>{0, 1});
  CHECK(ints(logical_not(on_dev(from_vector<int32_t>({0, 5})))) == std::vector<int64_t>{1, 0});
  CHECK(ints(abs(on_dev(from_vector<uint8_t>({0, 200})))) == std::vector<int64_t>{0, 200});
}

TEST_CASE("special values: nan and inf", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(tensor({NAN, INFINITY, -INFINITY, 0.f}));
  REQUIRE_THAT(exp(x), Values({NAN, INFINITY, 0, 1}));
  REQUIRE_THAT(tanh(x), Values({NAN, 1, -1, 0}));
  REQUIRE_THAT(sigmoid(x), Values({NAN, 1, 0, 0.5}));
  REQUIRE_THAT(relu(on_dev(tensor({-INFINITY, INFINITY}))), Values({0, INFINITY}));
  REQUIRE_THAT(log(on_dev(tensor({0.f, -1.f}))), Values({-INFINITY, NAN}));
  REQUIRE_THAT(clamp(x, -1, 1), Values({NAN, 1, -1, 0}));  // clamp keeps NaN, as NumPy
  REQUIRE_THAT(maximum(on_dev(tensor({NAN, 1.f})), on_dev(tensor({1.f, NAN}))), Values({NAN, NAN}));  // np.maximum propagates NaN
  REQUIRE_THAT(minimum(on_dev(tensor({NAN, 1.f})), on_dev(tensor({1.f, 2.f}))), Values({NAN, 1}));
  // sigmoid is stable far out: no overflow to NaN.
  REQUIRE_THAT(sigmoid(on_dev(tensor({-1000.f, 1000.f}))), Values({0, 1}));
  REQUIRE_THAT(sigmoid(on_dev(tensor({-100.0, 100.0}, Options(kFloat64)))), Values({3.720075976020836e-44, 1.0}, 1e-12));
  REQUIRE_THAT(on_dev(tensor({1.f, -1.f, 0.f})) / 0.0, Values({INFINITY, -INFINITY, NAN}));
}

namespace {

struct BinaryCase {
  const char* name;
  std::function<Tensor(const Tensor&, const Tensor&)> fn;
  std::vector<double> out;
  bool is_bool;
};

// a = [[1, -2, 3], [0.5, 4, -1]] (2, 3) against b = [2, -2, 0.5] (3,), NumPy broadcasting.
std::vector<BinaryCase> binary_cases() {
  return {
      {"add", [](const Tensor& a, const Tensor& b) { return add(a, b); }, {3.0, -4.0, 3.5, 2.5, 2.0, -0.5}, false},
      {"operator+", [](const Tensor& a, const Tensor& b) { return a + b; }, {3.0, -4.0, 3.5, 2.5, 2.0, -0.5}, false},
      {"sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); }, {-1.0, 0.0, 2.5, -1.5, 6.0, -1.5}, false},
      {"operator-", [](const Tensor& a, const Tensor& b) { return a - b; }, {-1.0, 0.0, 2.5, -1.5, 6.0, -1.5}, false},
      {"mul", [](const Tensor& a, const Tensor& b) { return a * b; }, {2.0, 4.0, 1.5, 1.0, -8.0, -0.5}, false},
      {"div", [](const Tensor& a, const Tensor& b) { return a / b; }, {0.5, 1.0, 6.0, 0.25, -2.0, -2.0}, false},
      {"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }, {2.0, -2.0, 3.0, 2.0, 4.0, 0.5}, false},
      {"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }, {1.0, -2.0, 0.5, 0.5, -2.0, -1.0}, false},
      {"pow |a|", [](const Tensor& a, const Tensor& b) { return pow(abs(a), b); },
       {1.0, 0.25, 1.7320508075688772, 0.25, 0.0625, 1.0}, false},
      {"eq", [](const Tensor& a, const Tensor& b) { return a == b; }, {0, 1, 0, 0, 0, 0}, true},
      {"ne", [](const Tensor& a, const Tensor& b) { return a != b; }, {1, 0, 1, 1, 1, 1}, true},
      {"lt", [](const Tensor& a, const Tensor& b) { return a < b; }, {1, 0, 0, 1, 0, 1}, true},
      {"le", [](const Tensor& a, const Tensor& b) { return a <= b; }, {1, 1, 0, 1, 0, 1}, true},
      {"gt", [](const Tensor& a, const Tensor& b) { return a > b; }, {0, 0, 1, 0, 1, 0}, true},
      {"ge", [](const Tensor& a, const Tensor& b) { return a >= b; }, {0, 1, 1, 0, 1, 0}, true},
      {"eq fn", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, {0, 1, 0, 0, 0, 0}, true},
      {"ne fn", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, {1, 0, 1, 1, 1, 1}, true},
      {"lt fn", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, {1, 0, 0, 1, 0, 1}, true},
      {"le fn", [](const Tensor& a, const Tensor& b) { return le(a, b); }, {1, 1, 0, 1, 0, 1}, true},
      {"gt fn", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, {0, 0, 1, 0, 1, 0}, true},
      {"ge fn", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, {0, 1, 1, 0, 1, 0}, true},
  };
}

}  // namespace

TEST_CASE("binary ops broadcast over any strides", "[elementwise]") {
  TF_EACH_DEVICE();
  const std::vector<double> av = {1, -2, 3, 0.5, 4, -1}, bv = {2, -2, 0.5};
  for (DType dt : {kFloat32, kFloat64}) {
    double tol = dt == kFloat32 ? 2e-7 : 1e-14;
    Tensor a = on_dev(from_vector(av, {2, 3})).astype(dt);
    Tensor b = on_dev(from_vector(bv)).astype(dt);
    // The same a as a transposed view of its transpose, and b as a strided column slice.
    Tensor a_t = on_dev(from_vector<double>({1, 0.5, -2, 4, 3, -1}, {3, 2})).astype(dt).T();
    Tensor b_s = on_dev(from_vector<double>({2, 9, -2, 9, 0.5, 9}, {3, 2})).astype(dt).select(1, 0);
    Tensor b_row = on_dev(from_vector(bv, {1, 3})).astype(dt).expand({2, 3});  // zero-stride rows
    for (const BinaryCase& c : binary_cases()) {
      std::vector<std::pair<Tensor, Tensor>> pairs = {{a, b}, {a_t, b}, {a, b_s}, {a_t, b_s}, {a, b_row}, {a_t, b_row}};
      for (size_t k = 0; k < pairs.size(); ++k) {
        INFO(c.name << " " << dtype_name(dt) << " pair " << k);
        CHECK(pairs[k].first.is_contiguous() == (k % 2 == 0));
        Tensor y = c.fn(pairs[k].first, pairs[k].second);
        CHECK(y.shape() == Shape{2, 3});
        CHECK(y.dtype() == (c.is_bool ? kBool : dt));
        CHECK_THAT(y, Values(c.out, tol));
      }
      // Broadcasting is symmetric: b op a has shape (2, 3) too.
      CHECK(c.fn(b, a).shape() == Shape{2, 3});
    }
  }
}

TEST_CASE("broadcasting column against row, and higher ranks", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor c = on_dev(tensor({1.f, 2.f})).reshape({2, 1});  // (2, 1)
  Tensor r = on_dev(tensor({{10.f, 20.f, 30.f}}));  // (1, 3)
  Tensor d = c - r;
  CHECK(d.shape() == Shape{2, 3});
  REQUIRE_THAT(d, Values({-9, -19, -29, -8, -18, -28}));
  REQUIRE_THAT(c / r, Values({0.1, 0.05, 0.03333333333333333, 0.2, 0.1, 0.06666666666666667}, 1e-7));
  // (2, 1, 3) + (4, 1) -> (2, 4, 3)
  Tensor x = on_dev(arange(6, Options(kFloat32))).reshape({2, 1, 3});
  Tensor y = on_dev(arange(4, Options(kFloat32))).reshape({4, 1}) * 10;
  Tensor z = x + y;
  CHECK(z.shape() == Shape{2, 4, 3});
  std::vector<double> want;
  for (int i = 0; i < 2; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 3; ++k) want.push_back(i * 3 + k + j * 10);
  REQUIRE_THAT(z, Values(want));
  CHECK(broadcast_shapes({2, 1, 3}, {4, 1}) == Shape{2, 4, 3});
  CHECK(broadcast_shapes({}, {3}) == Shape{3});
  CHECK(broadcast_shapes({0, 1}, {1, 5}) == Shape{0, 5});
  // A transposed operand against a column: np.array(a).T * [[1], [2], [3]]
  Tensor a = on_dev(tensor({{1.f, -2.f, 3.f}, {0.5f, 4.f, -1.f}}));
  REQUIRE_THAT(a.T() * on_dev(tensor({1.f, 2.f, 3.f})).unsqueeze(1), Values({1, 0.5, -4, 8, 9, -3}));
  // rank-0 against anything
  REQUIRE_THAT(on_dev(scalar_tensor(2.f)) * a, Values({2, -4, 6, 1, 8, -2}));
}

TEST_CASE("C++ numbers on either side of an operator", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor a = on_dev(tensor({{1.f, -2.f, 3.f}, {0.5f, 4.f, -1.f}}));
  REQUIRE_THAT(1 - a, Values({0, 3, -2, 0.5, -3, 2}));
  REQUIRE_THAT(2 / a, Values({2.0, -1.0, 0.6666666666666666, 4.0, 0.5, -2.0}, 1e-7));
  REQUIRE_THAT(a * 3, Values({3, -6, 9, 1.5, 12, -3}));
  REQUIRE_THAT(3.0 * a, Values({3, -6, 9, 1.5, 12, -3}));
  REQUIRE_THAT(a + 0.5f, Values({1.5, -1.5, 3.5, 1, 4.5, -0.5}));
  REQUIRE_THAT(a - int64_t(1), Values({0, -3, 2, -0.5, 3, -2}));
  REQUIRE_THAT(a / 2, Values({0.5, -1, 1.5, 0.25, 2, -0.5}));
  CHECK((a * 3).dtype() == kFloat32);  // the float64 C++ number does not widen float32
  Tensor gt0 = a > 0;
  CHECK(gt0.dtype() == kBool);
  CHECK(ints(gt0) == std::vector<int64_t>{1, 0, 1, 1, 1, 0});
  CHECK(ints(0 < a) == std::vector<int64_t>{1, 0, 1, 1, 1, 0});
  CHECK(ints(a == 4) == std::vector<int64_t>{0, 0, 0, 0, 1, 0});
  CHECK(ints(1 != a) == std::vector<int64_t>{0, 1, 1, 1, 1, 1});
  CHECK(ints(a <= 0.5) == std::vector<int64_t>{0, 1, 0, 1, 0, 1});
  CHECK(ints(a >= 3) == std::vector<int64_t>{0, 0, 1, 0, 1, 0});
  REQUIRE_THAT(add(a, 1), Values({2, -1, 4, 1.5, 5, 0}));
  REQUIRE_THAT(sub(10, a), Values({9, 12, 7, 9.5, 6, 11}));
  REQUIRE_THAT(mul(2, a), Values({2, -4, 6, 1, 8, -2}));
  REQUIRE_THAT(div(a, 4), Values({0.25, -0.5, 0.75, 0.125, 1, -0.25}));
  REQUIRE_THAT(maximum(a, 0), Values({1, 0, 3, 0.5, 4, 0}));
  REQUIRE_THAT(minimum(0, a), Values({0, -2, 0, 0, 0, -1}));
  REQUIRE_THAT(pow(2, on_dev(tensor({0.f, 3.f, -1.f}))), Values({1, 8, 0.5}));
  CHECK(ints(eq(a, 3)) == std::vector<int64_t>{0, 0, 1, 0, 0, 0});
  CHECK(ints(ge(4, a)) == std::vector<int64_t>{1, 1, 1, 1, 1, 1});
  CHECK(ints(lt(a, 1)) == std::vector<int64_t>{0, 1, 0, 1, 0, 1});
  CHECK(ints(le(1, a)) == std::vector<int64_t>{1, 0, 1, 0, 1, 0});
  CHECK(ints(gt(a, -1)) == std::vector<int64_t>{1, 0, 1, 1, 1, 0});
  CHECK(ints(ne(a, 1)) == std::vector<int64_t>{0, 1, 1, 1, 1, 1});
  // Integer tensors with integer numbers stay integer.
  Tensor i = on_dev(from_vector<int64_t>({7, -7}));
  CHECK((i * 2).dtype() == kInt64);
  CHECK(ints(i * 2 + 1) == std::vector<int64_t>{15, -13});
  CHECK(ints(i - 10) == std::vector<int64_t>{-3, -17});
  REQUIRE_THAT(i / 2, Values({3.5, -3.5}));  // true division
  CHECK(ints(maximum(i, 0)) == std::vector<int64_t>{7, 0});
  CHECK(ints(pow(on_dev(from_vector<int32_t>({2, 3})), on_dev(from_vector<int32_t>({10, 2})))) == std::vector<int64_t>{1024, 9});
}

TEST_CASE("mixed-dtype comparisons and bool arithmetic", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor i = on_dev(from_vector<int32_t>({1, 2, 3}));
  CHECK(ints(i < 1.5) == std::vector<int64_t>{1, 0, 0});  // compared after promotion to float
  CHECK(ints(i == on_dev(tensor({1.f, 2.5f, 3.f}))) == std::vector<int64_t>{1, 0, 1});
  CHECK(ints(on_dev(from_vector<uint8_t>({0, 200})) > on_dev(from_vector<int64_t>({-1, 100}))) == std::vector<int64_t>{1, 1});
  Tensor b = on_dev(from_vector<bool>({true, false, true}));
  CHECK(ints(b * on_dev(from_vector<bool>({true, true, false}))) == std::vector<int64_t>{1, 0, 0});  // and
  CHECK((b * 2.5).dtype() == kFloat32);
  REQUIRE_THAT(b * 2.5, Values({2.5, 0, 2.5}));
  CHECK(ints(b + i) == std::vector<int64_t>{2, 2, 4});
  CHECK((b + i).dtype() == kInt32);
  CHECK(ints(b == true) == std::vector<int64_t>{1, 0, 1});
  CHECK(ints(maximum(b, on_dev(from_vector<bool>({false, false, false})))) == std::vector<int64_t>{1, 0, 1});
  // 0-d with 0-d stays 0-d
  Tensor z = on_dev(scalar_tensor(2.f)) + on_dev(scalar_tensor(3.f));
  CHECK(z.dim() == 0);
  CHECK(z.item<float>() == 5.f);
  CHECK(ints(on_dev(from_vector<int64_t>({5, -5})) * on_dev(from_vector<int64_t>({3, 3})).expand({2})) == std::vector<int64_t>{15, -15});
}

TEST_CASE("logical ops and where", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor p = on_dev(from_vector<bool>({true, true, false, false}));
  Tensor q = on_dev(from_vector<bool>({true, false, true, false}));
  CHECK(logical_and(p, q).dtype() == kBool);
  CHECK(ints(logical_and(p, q)) == std::vector<int64_t>{1, 0, 0, 0});
  CHECK(ints(logical_or(p, q)) == std::vector<int64_t>{1, 1, 1, 0});
  // Non-bool inputs are truthy where non-zero.
  CHECK(ints(logical_and(on_dev(tensor({0.f, 2.f, -1.f})), on_dev(from_vector<int32_t>({5, 0, 3})))) == std::vector<int64_t>{0, 0, 1});
  CHECK(ints(logical_or(on_dev(tensor({0.f, 0.f})), on_dev(tensor({0.f, 0.5f})))) == std::vector<int64_t>{0, 1});
  // Broadcast: (2, 1) with (3,)
  Tensor col = on_dev(from_vector<bool>({true, false}, {2, 1}));
  Tensor row = on_dev(from_vector<bool>({true, false, true}));
  CHECK(ints(logical_or(col, row)) == std::vector<int64_t>{1, 1, 1, 1, 0, 1});

  Tensor a = on_dev(tensor({{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}}));
  Tensor b = on_dev(tensor({-1.f, -2.f, -3.f}));
  Tensor w = where(col, a, b);  // cond (2, 1), a (2, 3), b (3,)
  CHECK(w.shape() == Shape{2, 3});
  REQUIRE_THAT(w, Values({1, 2, 3, -1, -2, -3}));
  REQUIRE_THAT(where(a > 3, a, zeros_like(a)), Values({0, 0, 0, 4, 5, 6}));
  REQUIRE_THAT(where(a.T() > 2, a.T(), -a.T()), Values({-1, 4, -2, 5, 3, 6}));  // transposed inputs
  Tensor mixed = where(on_dev(from_vector<bool>({true, false})), on_dev(from_vector<int32_t>({1, 2})), on_dev(tensor({0.5f, 0.25f})));
  CHECK(mixed.dtype() == kFloat32);
  REQUIRE_THAT(mixed, Values({1, 0.25}));
  Tensor wi = where(on_dev(from_vector<bool>({false, true})), on_dev(from_vector<int64_t>({1, 2})), on_dev(from_vector<int64_t>({8, 9})));
  CHECK(wi.dtype() == kInt64);
  CHECK(ints(wi) == std::vector<int64_t>{8, 2});
}

TEST_CASE("large strided element-wise ops run correctly on the parallel path", "[elementwise]") {
  TF_EACH_DEVICE();
  Tensor x = on_dev(arange(100000, Options(kFloat64))).reshape({1000, 100});
  Tensor t = x.T();  // (100, 1000), non-contiguous
  Tensor y = t * 2 + t;
  CHECK(y.shape() == Shape{100, 1000});
  CHECK(y.is_contiguous());
  // y[i][j] = 3 * (j * 100 + i); sum = 3 * sum(0..99999) = 14999850000
  CHECK(y.sum().item<double>() == 14999850000.0);
  CHECK(y[7][3].item<double>() == 3.0 * (3 * 100 + 7));
  Tensor e = exp(t.astype(kFloat32) * -1e-5);
  CHECK(e[99][999].item<float>() == Approx(std::exp(-0.99999)).epsilon(1e-6));
  Tensor m = maximum(t, x.select(1, 50).unsqueeze(0));  // broadcast (1, 1000) row over (100, 1000)
  CHECK(m[0][10].item<double>() == 1050.0);
  CHECK(m[99][0].item<double>() == 99.0);  // max(99, 50)
}
