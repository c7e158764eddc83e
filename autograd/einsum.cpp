// einsum (tensor/nn_ops.h) for one or two operands, lowered to sum, permute, reshape and one
// batched matmul: the letters of two operands split into batch (both inputs and the output),
// contracted (both inputs only), left / right free (one input and the output) and summed-away
// (one input only). The result is differentiable through those ops.
#include <algorithm>
#include <string>
#include <vector>

#include "autograd/trace.h"
#include "tensor/creation.h"
#include "tensor/internal.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"

namespace tapeflow {

using namespace detail;

namespace {

constexpr const char* kSupported =
    "supported: one or two operands of letters a-z with no letter repeated inside an operand, an "
    "optional explicit output '->...' (each letter at most once, taken from the inputs), no '...' "
    "(e.g. \"ij,jk->ik\", \"bij,bjk->bik\", \"bhqd,bhkd->bhqk\", \"i,i->\", \"i,j->ij\", \"ij->ji\")";

[[noreturn]] void bad(const std::string& eq, const std::string& why) {
  fail("einsum: unsupported equation \"", eq, "\": ", why, "; ", kSupported);
}

struct Parsed {
  std::vector<std::string> ins;
  std::string out;
};

Parsed parse(const std::string& eq, size_t nops) {
  Parsed p;
  std::string s;
  for (char c : eq)
    if (c != ' ') s += c;
  if (s.find("...") != std::string::npos) bad(eq, "ellipsis is not supported");
  size_t arrow = s.find("->");
  std::string lhs = arrow == std::string::npos ? s : s.substr(0, arrow);
  size_t start = 0;
  while (true) {
    size_t comma = lhs.find(',', start);
    p.ins.push_back(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (p.ins.size() != nops)
    fail("einsum: equation \"", eq, "\" has ", p.ins.size(), " operand(s) but ", nops, " tensor(s) were given");
  for (auto& in : p.ins) {
    for (char c : in)
      if (c < 'a' || c > 'z') bad(eq, std::string("unexpected character '") + c + "'");
    for (size_t i = 0; i < in.size(); ++i)
      if (in.find(in[i], i + 1) != std::string::npos) bad(eq, std::string("letter '") + in[i] + "' repeats inside an operand");
  }
  if (arrow != std::string::npos) {
    p.out = s.substr(arrow + 2);
    for (size_t i = 0; i < p.out.size(); ++i) {
      char c = p.out[i];
      if (c < 'a' || c > 'z') bad(eq, std::string("unexpected character '") + c + "' in the output");
      if (p.out.find(c, i + 1) != std::string::npos) bad(eq, std::string("letter '") + c + "' repeats in the output");
      bool found = false;
      for (auto& in : p.ins) found = found || in.find(c) != std::string::npos;
      if (!found) bad(eq, std::string("output letter '") + c + "' is in no input");
    }
  } else {  // implicit output: the letters that appear once, in alphabetical order
    for (char c = 'a'; c <= 'z'; ++c) {
      int count = 0;
      for (auto& in : p.ins) count += int(std::count(in.begin(), in.end(), c));
      if (count == 1) p.out += c;
    }
  }
  return p;
}

// Reported after its parts (permute / reshape / matmul): ONNX's Einsum replaces them. The
// equation travels as its character codes.
void trace_einsum(const std::string& eq, std::initializer_list<Tensor> in, const Tensor& y) {
  if (!autograd::tracing()) return;
  autograd::trace("einsum", in, y, {{"equation", std::vector<int64_t>(eq.begin(), eq.end())}});
}

bool has(const std::string& s, char c) { return s.find(c) != std::string::npos; }

// Sums away the letters of `t` (labels `l`) that are not in `keep1` or `keep2`.
Tensor sum_unused(Tensor t, std::string& l, const std::string& keep1, const std::string& keep2) {
  std::vector<int> axes;
  std::string rest;
  for (size_t i = 0; i < l.size(); ++i) {
    if (has(keep1, l[i]) || has(keep2, l[i])) rest += l[i];
    else axes.push_back(int(i));
  }
  if (axes.empty()) return t;
  Axes ax;
  for (int a : axes) ax.axes.push_back(a);
  ax.all = false;
  l = rest;
  return sum(t, ax);
}

std::vector<int> perm_to(const std::string& from, const std::string& to) {
  std::vector<int> p;
  for (char c : to) p.push_back(int(from.find(c)));
  return p;
}

void check_rank(const std::string& eq, const std::string& l, const Tensor& t, int k) {
  if (int(l.size()) != t.dim())
    fail("einsum: operand ", k, " of \"", eq, "\" has ", l.size(), " letter(s) but the tensor has shape ", t.shape());
}

}  // namespace

Tensor einsum(const std::string& equation, const Tensor& a) {
  check_defined("einsum", a);
  Parsed p = parse(equation, 1);
  std::string l = p.ins[0];
  check_rank(equation, l, a, 0);
  Tensor t = sum_unused(a, l, p.out, "");
  Tensor y = permute(t, perm_to(l, p.out)).contiguous();
  trace_einsum(equation, {a}, y);
  return y;
}

Tensor einsum(const std::string& equation, const Tensor& a, const Tensor& b) {
  check_defined("einsum", a);
  check_defined("einsum", b);
  check_same_device("einsum", a, b);
  Parsed p = parse(equation, 2);
  std::string la = p.ins[0], lb = p.ins[1];
  check_rank(equation, la, a, 0);
  check_rank(equation, lb, b, 1);
  for (size_t i = 0; i < la.size(); ++i) {
    size_t j = lb.find(la[i]);
    if (j != std::string::npos && a.shape()[int(i)] != b.shape()[int(j)])
      fail("einsum: letter '", la[i], "' of \"", equation, "\" has size ", a.shape()[int(i)], " in operand 0 (shape ",
           a.shape(), ") but ", b.shape()[int(j)], " in operand 1 (shape ", b.shape(), ")");
  }
  Tensor ta = sum_unused(a, la, p.out, lb), tb = sum_unused(b, lb, p.out, la);
  std::string batch, contr, left, right;
  for (char c : la) {
    if (has(lb, c)) (has(p.out, c) ? batch : contr) += c;
    else left += c;
  }
  for (char c : lb)
    if (!has(la, c)) right += c;
  auto size_of = [&](char c) { return has(la, c) ? ta.shape()[int(la.find(c))] : tb.shape()[int(lb.find(c))]; };
  auto prod = [&](const std::string& s) { int64_t n = 1; for (char c : s) n *= size_of(c); return n; };
  const int64_t B = prod(batch), L = prod(left), K = prod(contr), R = prod(right);
  Tensor ma = permute(ta, perm_to(la, batch + left + contr)).reshape({B, L, K});
  Tensor mb = permute(tb, perm_to(lb, batch + contr + right)).reshape({B, K, R});
  Tensor y = matmul(ma, mb);
  Shape ys;
  for (char c : batch + left + right) ys.push_back(size_of(c));
  Tensor out = permute(y.reshape(ys), perm_to(batch + left + right, p.out)).contiguous();
  trace_einsum(equation, {a, b}, out);
  return out;
}

}  // namespace tapeflow
