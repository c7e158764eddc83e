// Linear algebra and the nn helpers: matmul with NumPy semantics (1-D, 2-D, batched N-D with
// broadcast batch dims, transposed / sliced / expanded operands, float32, float64, integers),
// dot, outer, addmm; softmax / log_softmax (stable for logits of magnitude 1e4), cross_entropy
// and softmax_cross_entropy. Expected values from NumPy / PyTorch or hand-derived formulas.
// Every case runs on every device (TF_EACH_DEVICE, tests/devices.h; inputs via on_dev).
#include "devices.h"
#include "helpers.h"

using namespace tapeflow;
using tftest::ints;
using tftest::Values;

namespace {

const std::vector<double> kA = {1, 2, 3, 4, 5, 6};        // (2, 3)
const std::vector<double> kB = {1, -1, 0, 2, 3, 0.5};     // (3, 2)
const std::vector<double> kAB = {10.0, 4.5, 22.0, 9.0};  // A @ B

// The same (rows, cols) matrix as a transposed view of its transpose.
Tensor transposed_copy(const std::vector<double>& v, int64_t rows, int64_t cols, DType dt) {
  return on_dev(from_vector(v, {rows, cols}).astype(dt)).T().contiguous().T();
}

}  // namespace

TEST_CASE("matmul of 1-D and 2-D operands", "[linalg]") {
  TF_EACH_DEVICE();
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor A = on_dev(from_vector(kA, {2, 3})).astype(dt), B = on_dev(from_vector(kB, {3, 2})).astype(dt);
    Tensor v = on_dev(from_vector<double>({1, -2, 0.5})).astype(dt);
    Tensor C = matmul(A, B);
    CHECK(C.shape() == Shape{2, 2});
    CHECK(C.dtype() == dt);
    REQUIRE_THAT(C, Values(kAB));
    REQUIRE_THAT(A.matmul(B), Values(kAB));
    Tensor vB = matmul(v, B);
    CHECK(vB.shape() == Shape{2});
    REQUIRE_THAT(vB, Values({2.5, -4.75}));
    Tensor Av = matmul(A, v);
    CHECK(Av.shape() == Shape{2});
    REQUIRE_THAT(Av, Values({-1.5, -3.0}));
    Tensor vv = matmul(v, v);
    CHECK(vv.dim() == 0);
    REQUIRE_THAT(vv, Values({5.25}));
    // Transposed operands (column-major storage) in every combination.
    Tensor At = transposed_copy(kA, 2, 3, dt), Bt = transposed_copy(kB, 3, 2, dt);
    CHECK_FALSE(At.is_contiguous());
    REQUIRE_THAT(matmul(At, B), Values(kAB));
    REQUIRE_THAT(matmul(A, Bt), Values(kAB));
    REQUIRE_THAT(matmul(At, Bt), Values(kAB));
    // (A @ B)^T = B^T @ A^T with plain transposed views
    REQUIRE_THAT(matmul(B.T(), A.T()), Values({10.0, 22.0, 4.5, 9.0}));
    // Sliced operands: every other column of a wider matrix, every other row of a taller one.
    Tensor wide = on_dev(from_vector<double>({1, 9, 2, 9, 3, 9, 4, 9, 5, 9, 6, 9}, {2, 6})).astype(dt).slice(1, 0, kEnd, 2);
    Tensor tall = on_dev(from_vector<double>({1, -1, 7, 7, 0, 2, 7, 7, 3, 0.5}, {5, 2})).astype(dt).slice(0, 0, kEnd, 2);
    REQUIRE_THAT(matmul(wide, tall), Values(kAB));
    // 1 x K and K x 1 shapes
    REQUIRE_THAT(matmul(A.slice(0, 1, 2), B), Values({22.0, 9.0}));
    REQUIRE_THAT(matmul(A, B.slice(1, 1, 2)), Values({4.5, 9.0}));
  }
}

TEST_CASE("batched matmul with broadcast batch dims", "[linalg]") {
  TF_EACH_DEVICE();
  // A3 = arange(12).reshape(2, 2, 3) - 5;  B3 = arange(12).reshape(2, 3, 2) % 5 - 2
  Tensor A3 = on_dev(arange(12, Options(kFloat32))).reshape({2, 2, 3}) - 5;
  Tensor B3 = on_dev(from_vector<double>({-2, -1, 0, 1, 2, -2, -1, 0, 1, 2, -2, -1}, {2, 3, 2})).astype(kFloat32);
  Tensor C3 = matmul(A3, B3);
  CHECK(C3.shape() == Shape{2, 2, 2});
  REQUIRE_THAT(C3, Values({4.0, 7.0, 4.0, 1.0, -5.0, 1.0, -11.0, 4.0}));
  // (2, 1, 2, 3) @ (3, 3, 2) -> (2, 3, 2, 2)
  Tensor A4 = on_dev(arange(12, Options(kFloat64))).reshape({2, 1, 2, 3}) / 4;
  Tensor B4 = on_dev(arange(18, Options(kFloat64))).reshape({3, 3, 2}) - 9;
  Tensor C4 = matmul(A4, B4);
  CHECK(C4.shape() == Shape{2, 3, 2, 2});
  const std::vector<double> c4 = {-4.25, -3.5, -20.0, -17.0, 0.25, 1.0, -2.0, 1.0, 4.75, 5.5, 16.0, 19.0,
                                  -35.75, -30.5, -51.5, -44.0, -4.25, 1.0, -6.5, 1.0, 27.25, 32.5, 38.5, 46.0};
  REQUIRE_THAT(C4, Values(c4));
  // The same with the batch of B as an explicit zero-stride expansion, and transposed matrices.
  Tensor B4t = B4.transpose(-1, -2).contiguous().transpose(-1, -2);
  REQUIRE_THAT(matmul(A4, B4t), Values(c4));
  REQUIRE_THAT(matmul(A4.expand({2, 3, 2, 3}), B4), Values(c4));
  // batch dims with mismatched strides: (3, 2) batch stored as (2, 3) and permuted
  Tensor A4x = A4.expand({2, 3, 2, 3}).contiguous().permute({1, 0, 2, 3}).contiguous().permute({1, 0, 2, 3});
  CHECK_FALSE(A4x.is_contiguous());
  REQUIRE_THAT(matmul(A4x, B4), Values(c4));
  // 1-D against batches
  Tensor v = on_dev(tensor({1.f, -2.f, 0.5f}));
  Tensor vB = matmul(v, B3);
  CHECK(vB.shape() == Shape{2, 2});
  REQUIRE_THAT(vB, Values({-1.0, -4.0, -4.0, -4.5}));
  Tensor Av = matmul(A3, v);
  CHECK(Av.shape() == Shape{2, 2});
  REQUIRE_THAT(Av, Values({1.5, 0.0, -1.5, -3.0}));
  // 2-D against a batch: (2, 3) @ (2, 3, 2) broadcasts A
  Tensor A = on_dev(from_vector(kA, {2, 3})).astype(kFloat32);
  Tensor AB3 = matmul(A, B3);
  CHECK(AB3.shape() == Shape{2, 2, 2});
  REQUIRE_THAT(AB3.select(0, 0), Values({4, -5, 4, -11}));  // [[1,2,3],[4,5,6]] @ [[-2,-1],[0,1],[2,-2]]
}

TEST_CASE("larger matmuls agree with a closed form", "[linalg]") {
  TF_EACH_DEVICE();
  // A[i][k] = i + k, B[k][j] = k - j:  C[i][j] = i*S1 - i*j*K + S2 - j*S1
  const int64_t M = 65, K = 130, N = 33;
  const double S1 = K * (K - 1) / 2.0, S2 = (K - 1) * K * (2 * K - 1) / 6.0;
  std::vector<double> want;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) want.push_back(i * S1 - double(i * j * K) + S2 - j * S1);
  for (DType dt : {kFloat64, kFloat32}) {
    INFO(dtype_name(dt));
    double tol = dt == kFloat64 ? 1e-12 : 1e-5;
    Tensor A = on_dev(arange(M, Options(dt))).reshape({M, 1}) + on_dev(arange(K, Options(dt))).reshape({1, K});
    Tensor B = on_dev(arange(K, Options(dt))).reshape({K, 1}) - on_dev(arange(N, Options(dt))).reshape({1, N});
    REQUIRE_THAT(matmul(A, B), Values(want, tol));
    REQUIRE_THAT(matmul(A.T().contiguous().T(), B.T().contiguous().T()), Values(want, tol));
    // a batch of 3 identical products through a zero-stride batch
    Tensor C = matmul(A.unsqueeze(0).expand({3, M, K}), B);
    CHECK(C.shape() == Shape{3, M, N});
    REQUIRE_THAT(C.select(0, 2), Values(want, tol));
  }
}

TEST_CASE("matmul on integers and mixed dtypes", "[linalg]") {
  TF_EACH_DEVICE();
  Tensor Ai = on_dev(from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3}));
  Tensor Bi = on_dev(from_vector<int64_t>({1, -1, 0, 2, 3, 1}, {3, 2}));
  Tensor Ci = matmul(Ai, Bi);
  CHECK(Ci.dtype() == kInt64);
  CHECK(ints(Ci) == std::vector<int64_t>{10, 6, 22, 12});
  CHECK(matmul(on_dev(from_vector<int32_t>({1, 2})), on_dev(from_vector<int32_t>({3, 4}))).item<int64_t>() == 11);
  Tensor mixed = matmul(on_dev(from_vector(kA, {2, 3})).astype(kFloat32), on_dev(from_vector(kB, {3, 2})));
  CHECK(mixed.dtype() == kFloat64);
  REQUIRE_THAT(mixed, Values(kAB));
}

TEST_CASE("dot, outer and addmm", "[linalg]") {
  TF_EACH_DEVICE();
  Tensor d = dot(on_dev(tensor({1.f, -2.f, 0.5f})), on_dev(tensor({1.f, -2.f, 0.5f})));
  CHECK(d.dim() == 0);
  REQUIRE_THAT(d, Values({5.25}));
  REQUIRE_THAT(dot(on_dev(tensor({1.f, 2.f, 3.f, 4.f})).slice(0, 0, kEnd, 2), on_dev(tensor({10.f, 100.f}))), Values({310}));
  Tensor o = outer(on_dev(from_vector<double>({1, 2, 3})), on_dev(from_vector<double>({4, -5})));
  CHECK(o.shape() == Shape{3, 2});
  REQUIRE_THAT(o, Values({4.0, -5.0, 8.0, -10.0, 12.0, -15.0}));
  CHECK(ints(outer(on_dev(from_vector<int64_t>({1, 2})), on_dev(from_vector<int64_t>({3})))) == std::vector<int64_t>{3, 6});

  for (DType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    Tensor A = on_dev(from_vector(kA, {2, 3})).astype(dt), B = on_dev(from_vector(kB, {3, 2})).astype(dt);
    Tensor bias = on_dev(from_vector<double>({0.5, -1})).astype(dt);
    Tensor y = addmm(bias, A, B);
    CHECK(y.shape() == Shape{2, 2});
    CHECK(y.dtype() == dt);
    REQUIRE_THAT(y, Values({10.5, 3.5, 22.5, 8.0}));
    // transposed operands and a full (M, N) bias, a column bias, a 0-d bias
    REQUIRE_THAT(addmm(on_dev(ones({2, 2}, Options(dt))), transposed_copy(kA, 2, 3, dt), transposed_copy(kB, 3, 2, dt)),
                 Values({11, 5.5, 23, 10}));
    REQUIRE_THAT(addmm(on_dev(from_vector<double>({1, 2}, {2, 1})).astype(dt), A, B), Values({11, 5.5, 24, 11}));
    REQUIRE_THAT(addmm(on_dev(scalar_tensor(1, Options(dt))), A, B), Values({11, 5.5, 23, 10}));
  }
  // integer and mixed inputs take the unfused path
  Tensor yi = addmm(on_dev(from_vector<int64_t>({1, 1})), on_dev(from_vector<int64_t>({1, 2, 3, 4, 5, 6}, {2, 3})),
                    on_dev(from_vector<int64_t>({1, -1, 0, 2, 3, 1}, {3, 2})));
  CHECK(ints(yi) == std::vector<int64_t>{11, 7, 23, 13});
  REQUIRE_THAT(addmm(on_dev(from_vector<double>({0.5, -1})), on_dev(from_vector(kA, {2, 3})).astype(kFloat32),
                     on_dev(from_vector(kB, {3, 2})).astype(kFloat32)),
               Values({10.5, 3.5, 22.5, 8.0}));
}

TEST_CASE("softmax and log_softmax", "[linalg]") {
  TF_EACH_DEVICE();
  const std::vector<double> xv = {1, 2, 3, 1, 1, 1, -1, 0, 1};
  for (DType dt : {kFloat32, kFloat64}) {
    INFO(dtype_name(dt));
    double tol = dt == kFloat32 ? 3e-7 : 1e-14;
    Tensor x = on_dev(from_vector(xv, {3, 3})).astype(dt);
    Tensor s = softmax(x);
    CHECK(s.dtype() == dt);
    CHECK(s.shape() == Shape{3, 3});
    REQUIRE_THAT(s, Values({0.09003057317038045, 0.2447284710547976, 0.6652409557748218, 0.3333333333333333,
                            0.3333333333333333, 0.3333333333333333, 0.09003057317038045, 0.2447284710547976,
                            0.6652409557748218}, tol));
    const std::vector<double> s0 = {0.4683105308334812, 0.6652409557748218, 0.7869860421615984,
                                    0.4683105308334812, 0.24472847105479764, 0.10650697891920073,
                                    0.06337893833303762, 0.09003057317038046, 0.10650697891920073};
    REQUIRE_THAT(softmax(x, 0), Values(s0, tol));
    REQUIRE_THAT(softmax(x.T().contiguous().T(), 0), Values(s0, tol));  // non-contiguous input
    REQUIRE_THAT(softmax(x.T(), 1), Values({0.4683105308334812, 0.4683105308334812, 0.06337893833303762,
                                            0.6652409557748218, 0.24472847105479764, 0.09003057317038046,
                                            0.7869860421615984, 0.10650697891920073, 0.10650697891920073}, tol));
    REQUIRE_THAT(log_softmax(x, -1), Values({-2.4076059644443806, -1.4076059644443804, -0.4076059644443804,
                                             -1.0986122886681098, -1.0986122886681098, -1.0986122886681098,
                                             -2.4076059644443806, -1.4076059644443804, -0.4076059644443804}, tol));
    REQUIRE_THAT(log_softmax(x, 0), Values({-0.7586236756795135, -0.4076059644443804, -0.2395447662218847,
                                            -0.7586236756795135, -1.4076059644443804, -2.2395447662218846,
                                            -2.7586236756795133, -2.4076059644443806, -2.2395447662218846}, tol));
    // Logits of magnitude 1e4: no overflow, no NaN.
    Tensor big = on_dev(from_vector<double>({1e4, 1e4 - 1, -1e4, -1e4, -1e4, -1e4 + 2}, {2, 3})).astype(dt);
    REQUIRE_THAT(softmax(big), Values({0.7310585786300049, 0.26894142136999516, 0.0, 0.10650697891920076,
                                       0.10650697891920076, 0.7869860421615985}, tol));
    REQUIRE_THAT(log_softmax(big), Values({-0.31326168751822286, -1.3132616875182228, -20000.31326168752,
                                           -2.2395447662218846, -2.2395447662218846, -0.23954476622188453}, tol));
    // broadcast-expanded rows
    REQUIRE_THAT(softmax(on_dev(from_vector<double>({0, 0})).astype(dt).expand({3, 2})), Values({0.5, 0.5, 0.5, 0.5, 0.5, 0.5}));
  }
  // 1-D, 3-D along the middle axis, and integer input (computed in float32)
  REQUIRE_THAT(softmax(on_dev(tensor({0.f, 0.f, 0.f, 0.f}))), Values({0.25, 0.25, 0.25, 0.25}));
  Tensor s3 = softmax(on_dev(zeros({2, 5, 3})), 1);
  REQUIRE_THAT(s3.sum(1), Values({1, 1, 1, 1, 1, 1}));
  REQUIRE_THAT(s3[1][4], Values({0.2, 0.2, 0.2}));
  Tensor si = softmax(on_dev(from_vector<int64_t>({1, 2, 3})));
  CHECK(si.dtype() == kFloat32);
  REQUIRE_THAT(si, Values({0.09003057317038045, 0.2447284710547976, 0.6652409557748218}, 3e-7));
}

TEST_CASE("cross_entropy and softmax_cross_entropy", "[linalg]") {
  TF_EACH_DEVICE();
  Tensor logits = on_dev(from_vector<double>({2, 1, 0.1, 0.5, 2.5, -1, 1e4, 0, -1e4}, {3, 3}));
  Tensor labels = on_dev(from_vector<int64_t>({0, 2, 1}));
  Tensor ce = cross_entropy(logits, labels);  // torch.nn.functional.cross_entropy(reduction='none')
  CHECK(ce.shape() == Shape{3});
  CHECK(ce.dtype() == kFloat64);
  REQUIRE_THAT(ce, Values({0.41703001627783354, 3.6531782071222882, 10000.0}, 1e-12));
  REQUIRE_THAT(cross_entropy(logits.astype(kFloat32), on_dev(from_vector<int32_t>({0, 2, 1}))),
               Values({0.41703001627783354, 3.6531782071222882, 10000.0}, 3e-7));
  Tensor target = on_dev(from_vector<double>({1, 0, 0, 0.2, 0.3, 0.5, 0, 1, 0}, {3, 3}));
  Tensor sce = softmax_cross_entropy(logits, target);
  CHECK(sce.shape() == Shape{3});
  REQUIRE_THAT(sce, Values({0.41703001627783354, 2.303178207122288, 10000.0}, 1e-12));
  // along dim 0 of the transposed problem
  REQUIRE_THAT(softmax_cross_entropy(logits.T(), target.T(), 0), Values({0.41703001627783354, 2.303178207122288, 10000.0}, 1e-12));
}
