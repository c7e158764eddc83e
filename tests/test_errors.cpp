// Bad input: every public function of the tensor core throws tapeflow::Error (an
// std::invalid_argument) or tapeflow::IndexError (an std::out_of_range) with a message that
// names the op and the offending shapes or values, and leaves its inputs unchanged.
#include "helpers.h"
#include "base/cuda.h"

using namespace tapeflow;
using Catch::Contains;
using tftest::Values;

// Checks both the exception type and a fragment of its message.
#define CHECK_ERROR(expr, type, text)   \
  do {                                  \
    CHECK_THROWS_AS(expr, type);        \
    CHECK_THROWS_WITH(expr, Contains(text)); \
  } while (0)

TEST_CASE("exception types derive from the standard ones", "[errors]") {
  CHECK_THROWS_AS(fail("x"), std::invalid_argument);
  CHECK_THROWS_AS(fail_index("x"), std::out_of_range);
  CHECK_THROWS_WITH(fail("op: ", 3, " vs ", Shape{2, 1}), "op: 3 vs (2, 1)");
}

TEST_CASE("matmul, dot, outer and addmm validate shapes", "[errors]") {
  Tensor a = ones({3, 4}), b = ones({5, 2});
  CHECK_ERROR(matmul(a, b), Error, "matmul: shapes (3, 4) and (5, 2) are not aligned: 4 != 5");
  CHECK_ERROR(a.matmul(b), Error, "matmul: shapes (3, 4) and (5, 2) are not aligned: 4 != 5");
  CHECK_ERROR(matmul(ones({3}), ones({4})), Error, "matmul: shapes (3,) and (4,) are not aligned: 3 != 4");
  CHECK_ERROR(matmul(ones({2, 3}), ones({4})), Error, "matmul: shapes (2, 3) and (4,) are not aligned: 3 != 4");
  CHECK_ERROR(matmul(scalar_tensor(1.f), a), Error, "matmul: both arguments must be at least 1-D, got shapes () and (3, 4)");
  CHECK_ERROR(matmul(ones({2, 3, 4}), ones({3, 4, 5})), Error,
              "matmul: batch dims of shapes (2, 3, 4) and (3, 4, 5) cannot be broadcast");
  CHECK_ERROR(dot(ones({3}), ones({4})), Error, "dot: expected two 1-D tensors of the same size, got shapes (3,) and (4,)");
  CHECK_ERROR(dot(ones({3, 1}), ones({3})), Error, "dot: expected two 1-D tensors");
  CHECK_ERROR(outer(ones({2, 2}), ones({2})), Error, "outer: expected two 1-D tensors, got shapes (2, 2) and (2,)");
  CHECK_ERROR(addmm(ones({2}), a, b), Error, "addmm: shapes (3, 4) and (5, 2) are not aligned: 4 != 5");
  CHECK_ERROR(addmm(ones({3}), ones({2, 4}), ones({4, 2})), Error,
              "addmm: bias of shape (3,) does not broadcast to the output shape (2, 2)");
  CHECK_ERROR(addmm(ones({2}), ones({2, 4, 1}), ones({4, 2})), Error, "addmm: expected 2-D x and w, got shapes (2, 4, 1) and (4, 2)");
  REQUIRE_THAT(a, Values(std::vector<double>(12, 1.0)));  // inputs untouched
}

TEST_CASE("broadcasting failures name the op and both shapes", "[errors]") {
  Tensor a = ones({2, 3}), b = ones({4});
  CHECK_ERROR(a + b, Error, "add: shapes (2, 3) and (4,) cannot be broadcast together (dim 1: 3 vs 4)");
  CHECK_ERROR(sub(a, b), Error, "sub: shapes (2, 3) and (4,) cannot be broadcast together");
  CHECK_ERROR(a * b, Error, "mul: shapes (2, 3) and (4,)");
  CHECK_ERROR(a / b, Error, "div: shapes (2, 3) and (4,)");
  CHECK_ERROR(maximum(a, b), Error, "maximum: shapes (2, 3) and (4,)");
  CHECK_ERROR(pow(a, b), Error, "pow: shapes (2, 3) and (4,)");
  CHECK_ERROR(a < b, Error, "lt: shapes (2, 3) and (4,)");
  CHECK_ERROR(logical_and(a, b), Error, "logical_and: shapes (2, 3) and (4,)");
  CHECK_ERROR(where(ones({2, 3}) > 0, a, b), Error, "where: shapes (2, 3) and (4,) cannot be broadcast together");
  CHECK_ERROR(broadcast_shapes({2, 3}, {3, 2}), Error, "broadcast_shapes: shapes (2, 3) and (3, 2) cannot be broadcast together (dim 0: 2 vs 3)");
  CHECK_ERROR(a.expand({4, 3}), Error, "expand: cannot expand shape (2, 3) to (4, 3) (dim 0: 2 vs 4)");
  CHECK_ERROR(a.expand({3}), Error, "expand: cannot expand shape (2, 3) to (3,) (fewer dims)");
  CHECK_ERROR(broadcast_to(a, {-1, 2, 3}), Error, "expand: -1 is not allowed for a new leading dim");
  CHECK_ERROR(add(a, Tensor()), Error, "add: got an undefined tensor");
}

TEST_CASE("in-place ops reject bad shapes and leave the target unchanged", "[errors]") {
  Tensor a = tensor({1.f, 2.f, 3.f});
  CHECK_ERROR(a += ones({2, 3}), Error, "add_: a value of shape (2, 3) cannot be combined in place into shape (3,)");
  CHECK_ERROR(a.mul_(ones({4})), Error, "mul_: shapes (3,) and (4,) cannot be broadcast together");
  CHECK_ERROR(a.copy_(ones({2})), Error, "copy_: shapes (3,) and (2,) cannot be broadcast together");
  CHECK_ERROR(a.copy_(ones({2, 3})), Error, "copy_: a value of shape (2, 3) cannot be written in place into shape (3,)");
  REQUIRE_THAT(a, Values({1, 2, 3}));
  Tensor i = from_vector<int32_t>({1, 2});
  CHECK_ERROR(i.add_(ones({3}, Options(kInt32))), Error, "add: shapes (2,) and (3,) cannot be broadcast together");
  CHECK(tftest::ints(i) == std::vector<int64_t>{1, 2});
  Tensor leaf = tensor({1.f, 2.f}, Options().with_grad());
  CHECK_ERROR(leaf.add_(ones({2})), Error, "add_: a leaf tensor that requires grad (shape (2,)) is being used in an in-place operation");
  CHECK_ERROR(leaf.fill_(0), Error, "fill_: a leaf tensor that requires grad");
  REQUIRE_THAT(leaf, Values({1, 2}));
  CHECK_ERROR(a.clamp_(2, 1), Error, "clamp: min (2) must not exceed max (1)");
}

TEST_CASE("reshape, view and the other shape ops validate their arguments", "[errors]") {
  Tensor x = ones({2, 3});
  CHECK_ERROR(x.reshape({4, 2}), Error, "reshape: cannot reshape tensor of shape (2, 3) (6 elements) into shape (4, 2) (8 elements)");
  CHECK_ERROR(x.reshape({-1, 4}), Error, "reshape: cannot reshape tensor of shape (2, 3) (6 elements) into shape (-1, 4)");
  CHECK_ERROR(x.reshape({-1, -1}), Error, "reshape: only one dimension can be inferred (-1), got shape (-1, -1)");
  CHECK_ERROR(x.reshape({-2, -3}), Error, "reshape: invalid dimension -2 in shape (-2, -3)");
  CHECK_ERROR(x.view({7}), Error, "view: cannot reshape tensor of shape (2, 3) (6 elements) into shape (7,)");
  CHECK_ERROR(x.T().view({6}), Error, "view: shape (6,) is not compatible with the strides of a tensor of shape (3, 2)");
  CHECK_ERROR(x.permute({0}), Error, "permute: got 1 dims for a tensor of rank 2");
  CHECK_ERROR(x.permute({1, 1}), Error, "permute: dim 1 repeats");
  CHECK_ERROR(x.permute({0, 2}), IndexError, "permute: dim 2 is out of range for a tensor of rank 2 (expected in [-2, 1])");
  CHECK_ERROR(x.transpose(0, 2), IndexError, "transpose: dim 2 is out of range");
  CHECK_ERROR(x.unsqueeze(3), IndexError, "unsqueeze: dim 3 is out of range for a tensor of rank 2");
  CHECK_ERROR(x.squeeze(-3), IndexError, "squeeze: dim -3 is out of range for a tensor of rank 2");
  CHECK_ERROR(x.flatten(1, 0), Error, "flatten: start_dim 1 comes after end_dim 0");
  CHECK_ERROR(x.slice(0, 0, 2, 0), Error, "slice: step must be positive, got 0");
  CHECK_ERROR(x.slice(2, 0, 1), IndexError, "slice: dim 2 is out of range");
  CHECK_ERROR(scalar_tensor(1.f).slice(0, 0, 1), Error, "slice: cannot slice a 0-d tensor");
  CHECK_ERROR(x.narrow(1, 2, 3), IndexError, "narrow: start 2 and length 3 are out of range for dim 1 of size 3");
  CHECK_ERROR(x.split(0), Error, "split: split_size must be positive, got 0");
  CHECK_ERROR(split(x, std::vector<int64_t>{1, 3}, 1), Error, "split: sizes add up to 4 but dim 1 of shape (2, 3) has size 3");
  CHECK_ERROR(split(x, std::vector<int64_t>{-1, 4}, 1), Error, "split: negative size -1");
  CHECK_ERROR(x.chunk(0), Error, "chunk: number of chunks must be positive, got 0");
  CHECK_ERROR(concat({}), Error, "concat: expected a non-empty list of tensors");
  CHECK_ERROR(concat({ones({2, 2}), ones({2, 3})}), Error, "concat: shapes (2, 2) and (2, 3) differ outside dim 0");
  CHECK_ERROR(concat({ones({2, 2}), ones({2})}), Error, "concat: tensor 1 has rank 1 but tensor 0 has rank 2");
  CHECK_ERROR(concat({scalar_tensor(1.f)}), Error, "concat: zero-dimensional tensors cannot be concatenated");
  CHECK_ERROR(concat({x, x}, 2), IndexError, "concat: dim 2 is out of range");
  CHECK_ERROR(stack({ones({2}), ones({3})}), Error, "stack: expected every tensor to have shape (2,), tensor 1 has (3,)");
  CHECK_ERROR(stack({}), Error, "stack: expected a non-empty list of tensors");
  CHECK_ERROR(sum_to(ones({2, 3}), {4}), Error, "sum_to: cannot sum shape (2, 3) to (4,)");
  CHECK_ERROR(x.size(2), IndexError, "size: dim 2 is out of range");
  CHECK_ERROR(Shape({1, 1, 1, 1, 1, 1, 1, 1, 1}), Error, "Shape: at most 8 dims are supported");
  REQUIRE_THAT(x, Values(std::vector<double>(6, 1.0)));
}

TEST_CASE("integer indexing and indexing ops check indices", "[errors]") {
  Tensor x = arange(12, Options(kFloat32)).reshape({3, 4});
  CHECK_ERROR(x[3], IndexError, "select: index 3 is out of bounds for dim 0 with size 3");
  CHECK_ERROR(x[-4], IndexError, "select: index -4 is out of bounds for dim 0 with size 3");
  CHECK_ERROR(x.select(1, 4), IndexError, "select: index 4 is out of bounds for dim 1 with size 4");
  CHECK_ERROR(scalar_tensor(1.f)[0], IndexError, "select: cannot index a 0-d tensor");
  CHECK_ERROR(index_select(x, 0, from_vector<int64_t>({0, 3})), IndexError,
              "index_select: index 3 is out of bounds for dim 0 with size 3");
  CHECK_ERROR(index_select(x, 1, from_vector<int64_t>({-1})), IndexError, "index_select: index -1 is out of bounds for dim 1 with size 4");
  CHECK_ERROR(index_select(x, 0, tensor({0.f})), Error, "index_select: index must be an integer tensor, got dtype float32");
  CHECK_ERROR(index_select(x, 0, from_vector<int64_t>({0, 1}, {1, 2})), Error, "index_select: index must be 1-D, got shape (1, 2)");
  CHECK_ERROR(index_select(x, 2, from_vector<int64_t>({0})), IndexError, "index_select: dim 2 is out of range");
  CHECK_ERROR(gather(x, 1, from_vector<int64_t>({0, 4}, {1, 2})), IndexError, "gather: index 4 is out of bounds for dim 1 with size 4");
  CHECK_ERROR(gather(x, 1, from_vector<int64_t>({0})), Error, "gather: index (shape (1,)) must have the same rank as input (shape (3, 4))");
  CHECK_ERROR(gather(x, 1, from_vector<int64_t>({0, 0, 0, 0}, {4, 1})), Error, "gather: index shape (4, 1) exceeds input shape (3, 4) at dim 0");
  CHECK_ERROR(take_along_dim(x, from_vector<int64_t>({0}), 1), Error, "take_along_dim: index (shape (1,)) must have the rank of input (shape (3, 4))");
  Tensor z = zeros({3, 4});
  CHECK_ERROR(scatter_add(z, 1, from_vector<int64_t>({5}, {1, 1}), ones({1, 1})), IndexError,
              "scatter_add: index 5 is out of bounds for dim 1 with size 4");
  CHECK_ERROR(scatter_add(z, 1, from_vector<int64_t>({0, 0}, {2, 1}), ones({1, 1})), Error,
              "scatter_add: index shape (2, 1) exceeds src shape (1, 1) at dim 0");
  CHECK_ERROR(scatter_add(z, 1, from_vector<int64_t>({0, 0}, {1, 2}), ones({1, 1})), Error,
              "scatter_add: index shape (1, 2) exceeds src shape (1, 1) at dim 1");
  CHECK_ERROR(scatter_add(z, 0, from_vector<int64_t>({0, 0, 0, 0, 0}, {1, 5}), ones({1, 5})), Error,
              "scatter_add: index shape (1, 5) exceeds input shape (3, 4) at dim 1");
  CHECK_ERROR(index_add(z, 0, from_vector<int64_t>({0, 1}), ones({3, 4})), Error,
              "index_add: src has shape (3, 4) but (2, 4) was expected");
  CHECK_ERROR(index_add(z, 0, from_vector<int64_t>({7}), ones({1, 4})), IndexError, "index_add: index 7 is out of bounds for dim 0 with size 3");
  REQUIRE_THAT(z, Values(std::vector<double>(12, 0.0)));  // unchanged by the failed calls
  CHECK_ERROR(one_hot(from_vector<int64_t>({0, -1})), IndexError, "one_hot: label -1 is negative");
  CHECK_ERROR(one_hot(from_vector<int64_t>({0, 3}), 3), IndexError, "one_hot: label 3 is out of range for 3 classes");
  CHECK_ERROR(one_hot(tensor({1.f})), Error, "one_hot: labels must be an integer tensor, got dtype float32");
}

TEST_CASE("reductions validate axes and empty inputs", "[errors]") {
  Tensor x = ones({2, 3});
  CHECK_ERROR(x.sum(2), IndexError, "sum: dim 2 is out of range for a tensor of rank 2 (expected in [-2, 1])");
  CHECK_ERROR(x.sum(-3), IndexError, "sum: dim -3 is out of range");
  CHECK_ERROR(x.sum({1, -1}), Error, "sum: axis -1 appears twice");
  CHECK_ERROR(x.mean(5), IndexError, "mean: dim 5 is out of range");
  CHECK_ERROR(x.prod(2), IndexError, "prod: dim 2");
  CHECK_ERROR(x.max(2), IndexError, "max: dim 2");
  CHECK_ERROR(x.min({0, 0}), Error, "min: axis 0 appears twice");
  CHECK_ERROR(x.argmax(2), IndexError, "argmax: dim 2 is out of range");
  CHECK_ERROR(x.argmin(-3), IndexError, "argmin: dim -3 is out of range");
  CHECK_ERROR(x.var(2), IndexError, "var: dim 2");
  CHECK_ERROR(x.var(1, -1), Error, "var: correction must be non-negative, got -1");
  CHECK_ERROR(x.std(3), IndexError, "dim 3 is out of range");
  CHECK_ERROR(x.logsumexp(2), IndexError, "dim 2 is out of range");
  CHECK_ERROR(x.all(2), IndexError, "all: dim 2");
  CHECK_ERROR(x.any(2), IndexError, "any: dim 2");
  CHECK_ERROR(cumsum(x, 2), IndexError, "cumsum: dim 2 is out of range");
  CHECK_ERROR(zeros({0}).max(), Error, "max: cannot reduce over an empty dimension (shape (0,))");
  CHECK_ERROR(zeros({2, 0}).min(1), Error, "min: cannot reduce over an empty dimension (shape (2, 0))");
  CHECK_ERROR(zeros({0}).argmax(), Error, "argmax: cannot reduce over an empty dimension (shape (0,))");
  CHECK_ERROR(scalar_tensor(1.f).sum(1), IndexError, "sum: dim 1 is out of range for a tensor of rank 0");
}

TEST_CASE("element access and conversions", "[errors]") {
  Tensor x = tensor({1.f, 2.f, 3.f});
  CHECK_ERROR(x.item<float>(), Error, "item: a tensor with 3 elements cannot be converted to a scalar (shape (3,))");
  CHECK_ERROR(zeros({0}).item<float>(), Error, "item: a tensor with 0 elements");
  CHECK_ERROR(x.data_ptr<double>(), Error, "data_ptr: tensor has dtype float32 but float64 was asked for");
  CHECK_ERROR(ones({2, 3}).T().data_ptr<float>(), Error, "data_ptr: tensor of shape (3, 2) is not contiguous");
  CHECK_ERROR(Tensor().item<float>(), Error, "item: got an undefined tensor");
  CHECK_ERROR(Tensor().to_vector<float>(), Error, "to_vector: got an undefined tensor");
  CHECK_ERROR(Tensor().clone(), Error, "clone: got an undefined tensor");
  CHECK_ERROR(parse_dtype("float16"), Error, "parse_dtype: unknown dtype 'float16'");
  CHECK_ERROR(Device("gpu"), Error, "Device: cannot parse 'gpu'");
  CHECK_ERROR(Device("cuda:x"), Error, "Device: cannot parse 'cuda:x'");
  if (!cuda::is_available()) {
    CHECK_THROWS_AS(x.cuda(), Error);
    CHECK_THROWS_WITH(x.to(Device::cuda(0)), Contains("CUDA"));
    CHECK_THROWS_WITH(zeros({2}, Options(Device::cuda(0))), Contains("CUDA"));
  }
}

TEST_CASE("factories validate shapes, ranges and dtypes", "[errors]") {
  CHECK_ERROR(from_vector<float>({1, 2, 3, 4, 5}, {2, 3}), Error, "from_vector: 5 values do not fill shape (2, 3) (6 elements)");
  CHECK_ERROR(tensor({{1.f, 2.f}, {3.f}}), Error, "tensor: nested lists must be rectangular (a row has 1 values, the first 2)");
  CHECK_ERROR(zeros({2, -1}), Error, "negative dimension -1 in shape (2, -1)");
  CHECK_ERROR(from_blob(nullptr, {2}, kFloat32), Error, "from_blob: null pointer for shape (2,)");
  CHECK_ERROR(arange(0, 5, 0), Error, "arange: step must be nonzero");
  CHECK_ERROR(arange(0.0, INFINITY), Error, "arange: non-finite range");
  CHECK_ERROR(linspace(0, 1, -1), Error, "linspace: number of steps must be non-negative, got -1");
  CHECK_ERROR(eye(-2), Error, "eye: n must be non-negative, got -2");
  CHECK_ERROR(uniform({2}, 2, 1), Error, "uniform: low (2) must not exceed high (1)");
  CHECK_ERROR(uniform({2}, 0, 1, Options(kInt32)), Error, "uniform: dtype must be floating, got int32");
  CHECK_ERROR(normal({2}, 0, -1), Error, "normal: stddev must be non-negative, got -1");
  CHECK_ERROR(normal({2}, 0, 1, Options(kInt64)), Error, "normal: dtype must be floating, got int64");
  CHECK_ERROR(bernoulli({2}, 1.5), Error, "bernoulli: p must be in [0, 1], got 1.5");
  CHECK_ERROR(randint(3, 3, {2}), Error, "randint: low (3) must be less than high (3)");
  CHECK_ERROR(randperm(-1), Error, "randperm: n must be non-negative, got -1");
}

TEST_CASE("element-wise ops reject unsupported dtypes", "[errors]") {
  Tensor b = from_vector<bool>({true, false});
  CHECK_ERROR(neg(b), Error, "neg: negation of a bool tensor is not supported; use logical_not");
  CHECK_ERROR(-b, Error, "neg: negation of a bool tensor");
  CHECK_ERROR(b - b, Error, "sub: subtraction of bool tensors is not supported");
  CHECK_ERROR(where(ones({2}), ones({2}), zeros({2})), Error, "where: condition must be a bool tensor, got float32");
  CHECK_ERROR(clamp(ones({2}), 1, 0), Error, "clamp: min (1) must not exceed max (0)");
}

TEST_CASE("softmax and the cross-entropies validate their inputs", "[errors]") {
  CHECK_ERROR(softmax(scalar_tensor(1.f)), Error, "softmax: expected at least a 1-D tensor");
  CHECK_ERROR(log_softmax(ones({2, 3}), 2), IndexError, "log_softmax: dim 2 is out of range for a tensor of rank 2");
  Tensor logits = zeros({2, 3});
  CHECK_ERROR(cross_entropy(logits, from_vector<int64_t>({0, 1, 2})), Error,
              "cross_entropy: labels must have shape (2,) for logits of shape (2, 3), got (3,)");
  CHECK_ERROR(cross_entropy(logits, from_vector<int64_t>({0, 3})), IndexError, "cross_entropy: label 3 is out of range for 3 classes");
  CHECK_ERROR(cross_entropy(logits, from_vector<int64_t>({0, -1})), IndexError, "cross_entropy: label -1 is out of range for 3 classes");
  CHECK_ERROR(cross_entropy(zeros({3}), from_vector<int64_t>({0})), Error, "cross_entropy: logits must be 2-D (batch, classes), got shape (3,)");
  CHECK_ERROR(cross_entropy(logits, tensor({0.f, 1.f})), Error, "cross_entropy: labels must be integers, got dtype float32");
  CHECK_ERROR(softmax_cross_entropy(logits, zeros({2, 2})), Error,
              "softmax_cross_entropy: logits of shape (2, 3) and target of shape (2, 2) must have the same shape");
}
