// Matrix products with NumPy semantics through the backend's (strided, batched) gemm.
// d(A@B) = (G @ B^T, A^T @ G); the engine sums broadcast batch dims away.
#include <optional>

#include "autograd/function.h"
#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/ops.h"

namespace tapeflow {

using autograd::Grads;
using autograd::Node;
using autograd::record;
using autograd::save;
using autograd::should_record;
using namespace detail;

namespace {

struct MatLayout {
  bool trans;
  int64_t ld;
};

// How the last two dims of t (rows x cols) can be handed to gemm without a copy.
std::optional<MatLayout> mat_layout(const Tensor& t) {
  int r = t.dim();
  int64_t rows = t.shape()[r - 2], cols = t.shape()[r - 1];
  int64_t sr = t.strides()[r - 2], sc = t.strides()[r - 1];
  if (cols == 1) sc = 1;
  if (rows == 1) sr = std::max<int64_t>(cols, 1) * sc;
  if (sc == 1 && sr >= std::max<int64_t>(cols, 1)) return MatLayout{false, sr};
  int64_t sr2 = t.strides()[r - 2], sc2 = t.strides()[r - 1];
  if (rows == 1) sr2 = 1;
  if (cols == 1) sc2 = std::max<int64_t>(rows, 1);
  if (sr2 == 1 && sc2 >= std::max<int64_t>(rows, 1)) return MatLayout{true, sc2};
  return std::nullopt;
}

// If the batch dims (all but the last two) advance by one fixed stride, return it.
std::optional<int64_t> batch_stride(const Tensor& t) {
  int nb = t.dim() - 2;
  int64_t stride = 0;
  bool set = false;
  for (int i = nb - 1; i >= 0; --i) {
    if (t.shape()[i] == 1) continue;
    if (!set) { stride = t.strides()[i]; set = true; continue; }
    int64_t inner = 1;
    for (int j = i + 1; j < nb; ++j) inner *= t.shape()[j];
    if (t.strides()[i] != stride * inner) return std::nullopt;
  }
  return stride;
}

int64_t batch_offset(const Tensor& t, int64_t flat) {
  int nb = t.dim() - 2;
  int64_t off = 0;
  for (int i = nb - 1; i >= 0; --i) {
    int64_t n = t.shape()[i];
    off += (flat % n) * t.strides()[i];
    flat /= n;
  }
  return off;
}

// a (..., M, K) @ b (..., K, N), both at least 2-D, same floating dtype.
Tensor matmul_forward(const Tensor& a0, const Tensor& b0, const Shape& batch) {
  int64_t M = a0.shape()[a0.dim() - 2], K = a0.shape()[a0.dim() - 1], N = b0.shape()[b0.dim() - 1];
  Shape ash = batch, bsh = batch, osh = batch;
  ash.push_back(M); ash.push_back(K);
  bsh.push_back(K); bsh.push_back(N);
  osh.push_back(M); osh.push_back(N);
  // Two matrices are read in place (no views: two per operand cost more than a small product's
  // bookkeeping); batches are expanded to the broadcast shape first.
  Tensor a = batch.size() == 0 ? a0 : a0.detach().expand(ash), b = batch.size() == 0 ? b0 : b0.detach().expand(bsh);
  if (!mat_layout(a)) a = a.detach().contiguous();
  if (!mat_layout(b)) b = b.detach().contiguous();
  Tensor out = make_tensor(osh, a.dtype(), a.device(), "matmul");
  if (out.numel() == 0) return out;
  if (K == 0) {
    backend_of(out).fill(view_of(out), 0.0);
    return out;
  }
  MatLayout la = *mat_layout(a), lb = *mat_layout(b);
  int64_t nbatch = batch.numel();
  auto sa = batch_stride(a), sb = batch_stride(b);
  size_t es = dtype_size(a.dtype());
  auto& be = backend_of(a);
  const char* pa = static_cast<const char*>(a.raw_data());
  const char* pb = static_cast<const char*>(b.raw_data());
  char* pc = static_cast<char*>(out.raw_data());
  if (sa && sb) {
    be.gemm(a.dtype(), la.trans, lb.trans, M, N, K, 1.0, pa, la.ld, *sa, pb, lb.ld, *sb, 0.0, pc, N, M * N, nbatch);
  } else {
    for (int64_t i = 0; i < nbatch; ++i)
      be.gemm(a.dtype(), la.trans, lb.trans, M, N, K, 1.0, pa + batch_offset(a, i) * es, la.ld, 0,
              pb + batch_offset(b, i) * es, lb.ld, 0, 0.0, pc + i * M * N * es, N, 0, 1);
  }
  return out;
}

Tensor mT(const Tensor& t) { return t.transpose(-1, -2); }

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  check_same_device("matmul", a, b);
  if (a.dim() == 0 || b.dim() == 0)
    fail("matmul: both arguments must be at least 1-D, got shapes ", a.shape(), " and ", b.shape());
  int64_t ka = a.shape()[a.dim() - 1], kb = b.shape()[b.dim() == 1 ? 0 : b.dim() - 2];
  if (ka != kb)
    fail("matmul: shapes ", a.shape(), " and ", b.shape(), " are not aligned: ", ka, " != ", kb);
  if (a.dim() == 1 && b.dim() == 1) return matmul(a.reshape({1, ka}), b.reshape({ka, 1})).reshape({});
  if (a.dim() == 1) return matmul(a.unsqueeze(0), b).squeeze(-2);
  if (b.dim() == 1) return matmul(a, b.unsqueeze(-1)).squeeze(-1);
  DType dt = promote_types(a.dtype(), b.dtype());
  if (!is_floating(dt)) {
    // Integer matmul: exact in float64 up to 2^53.
    return matmul(a.astype(kFloat64), b.astype(kFloat64)).astype(dt);
  }
  Tensor a_cast, b_cast;  // references to a and b otherwise: no Tensor copies
  if (a.dtype() != dt) a_cast = a.astype(dt);
  if (b.dtype() != dt) b_cast = b.astype(dt);
  const Tensor& ac = a.dtype() == dt ? a : a_cast;
  const Tensor& bc = b.dtype() == dt ? b : b_cast;
  Shape ab(a.shape().begin(), a.shape().end() - 2), bb(b.shape().begin(), b.shape().end() - 2);
  Shape batch;
  try {
    batch = broadcast_shapes(ab, bb);
  } catch (const Error&) {
    fail("matmul: batch dims of shapes ", a.shape(), " and ", b.shape(), " cannot be broadcast");
  }
  Tensor y = matmul_forward(ac, bc, batch);
  if (should_record({&ac, &bc}))
    record("MatmulBackward", {&ac, &bc}, y, [sa = save(ac), sb = save(bc)](Node& n, Grads& gs) -> Grads {
      Tensor ga, gb;
      if (autograd::needs_input_grad(n, 0)) ga = matmul(gs[0], mT(sb.unpack(n)));
      if (autograd::needs_input_grad(n, 1)) gb = matmul(mT(sa.unpack(n)), gs[0]);
      return {ga, gb};
    });
  if (autograd::tracing()) autograd::trace("matmul", {ac, bc}, y);
  return y;
}

Tensor Tensor::matmul(const Tensor& o) const { return tapeflow::matmul(*this, o); }

Tensor dot(const Tensor& a, const Tensor& b) {
  check_same_device("dot", a, b);
  if (a.dim() != 1 || b.dim() != 1 || a.numel() != b.numel())
    fail("dot: expected two 1-D tensors of the same size, got shapes ", a.shape(), " and ", b.shape());
  return matmul(a, b);
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_same_device("outer", a, b);
  if (a.dim() != 1 || b.dim() != 1)
    fail("outer: expected two 1-D tensors, got shapes ", a.shape(), " and ", b.shape());
  return a.unsqueeze(1) * b.unsqueeze(0);
}

// x @ w + bias in one gemm (beta = 1 over the broadcast bias).
// d = (sum of G over rows -> bias, G @ w^T, x^T @ G)
Tensor addmm(const Tensor& bias, const Tensor& x, const Tensor& w) {
  check_same_device("addmm", x, w);
  check_same_device("addmm", x, bias);
  if (x.dim() != 2 || w.dim() != 2)
    fail("addmm: expected 2-D x and w, got shapes ", x.shape(), " and ", w.shape());
  if (x.shape()[1] != w.shape()[0])
    fail("addmm: shapes ", x.shape(), " and ", w.shape(), " are not aligned: ", x.shape()[1], " != ", w.shape()[0]);
  int64_t M = x.shape()[0], K = x.shape()[1], N = w.shape()[1];
  Shape osh{M, N};
  try {
    if (broadcast_shapes(bias.shape(), osh) != osh) throw Error("");
  } catch (const Error&) {
    fail("addmm: bias of shape ", bias.shape(), " does not broadcast to the output shape ", osh);
  }
  DType dt = x.dtype();
  if (!is_floating(dt) || w.dtype() != dt || bias.dtype() != dt) return matmul(x, w) + bias;
  Tensor xc = mat_layout(x) ? x : x.contiguous(), wc = mat_layout(w) ? w : w.contiguous();
  Tensor y = make_tensor(osh, dt, x.device());
  auto& be = backend_of(x);
  if (y.numel() && K == 0) {
    be.copy_strided(view_as(bias, osh), view_of(y));
  } else if (y.numel()) {
    MatLayout la = *mat_layout(xc), lb = *mat_layout(wc);
    // A bias of N in one pass with the product where the backend can; else copied, beta = 1.
    bool done = bias.dim() == 1 && bias.shape()[0] == N && bias.is_contiguous() &&
                be.gemm_bias(dt, la.trans, lb.trans, M, N, K, xc.raw_data(), la.ld, wc.raw_data(), lb.ld,
                             bias.raw_data(), y.raw_data(), N);
    if (!done) {
      be.copy_strided(view_as(bias, osh), view_of(y));
      be.gemm(dt, la.trans, lb.trans, M, N, K, 1.0, xc.raw_data(), la.ld, 0, wc.raw_data(), lb.ld, 0, 1.0,
              y.raw_data(), N, 0, 1);
    }
  }
  if (should_record({&bias, &x, &w}))
    record("AddmmBackward", {&bias, &x, &w}, y, [sx = save(x), sw = save(w)](Node& n, Grads& gs) -> Grads {
      Tensor gx, gw;
      if (autograd::needs_input_grad(n, 1)) gx = matmul(gs[0], mT(sw.unpack(n)));
      if (autograd::needs_input_grad(n, 2)) gw = matmul(mT(sx.unpack(n)), gs[0]);
      return {gs[0], gx, gw};
    });
  if (autograd::tracing()) autograd::trace("addmm", {bias, x, w}, y);
  return y;
}

}  // namespace tapeflow
