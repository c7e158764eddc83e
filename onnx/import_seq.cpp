// ONNX import of the sequence ops: LayerNormalization, Trilu, Einsum (what tapeflow's einsum
// does), Slice, Split, Expand, ConstantOfShape and the recurrent RNN / LSTM / GRU nodes (forward,
// reverse and bidirectional, both layouts; no sequence_lens, peepholes, clip or non-default
// activations), each run with tapeflow ops so the weights stay trainable parameters. The
// recurrent weights are re-ordered from ONNX's gate order (LSTM i o f c, GRU z r h) into
// tapeflow's (i f g o, r z n) by chunk / concat; GRU's linear_before_reset = 1 is tapeflow's
// gru_cell, linear_before_reset = 0 is spelled out with the public ops.
#include <algorithm>
#include <climits>
#include <tuple>

#include "onnx/graph.h"
#include "tensor/creation.h"
#include "tensor/nn_ops.h"
#include "tensor/ops.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

namespace import_seq {  // named: a unity build shares one anonymous namespace between sources

using Ins = std::vector<Tensor>;
using Outs = std::vector<Tensor>;

const Tensor& arg(const Ins& in, size_t i) {
  if (i >= in.size() || !in[i].defined()) fail("input ", i, " is missing");
  return in[i];
}
Tensor opt(const Ins& in, size_t i) { return i < in.size() ? in[i] : Tensor(); }
std::vector<int64_t> ints_of(const Tensor& t) { return t.astype(kInt64).contiguous().to_vector<int64_t>(); }
// ConstantOfShape and Expand make tensors of a size the file names: capped, so that a hostile
// file cannot ask for terabytes (64M elements: far above the state and mask sizes models use).
constexpr int64_t kMaxMade = int64_t(1) << 26;
void check_made(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) {
    if (d < 0) fail("negative dimension ", d, " in shape ", s);
    if (d > 0 && n > kMaxMade / d) n = kMaxMade + 1;
    else n *= d;
  }
  if (n > kMaxMade) fail("the output shape ", s, " has more than ", kMaxMade, " elements (the importer's limit)");
}

std::string sattr(const OpNode& n, const std::string& a, const std::string& dflt) {
  auto it = n.attrs.find(a);
  return it == n.attrs.end() ? dflt : it->second.s;
}

Outs layer_normalization(const OpNode& n, const Ins& in) {
  const Tensor& x = arg(in, 0);
  int64_t axis = n.geti("axis", -1);
  if (axis < -x.dim() || axis >= x.dim()) fail("axis ", axis, " is out of range for rank ", x.dim());
  if (axis < 0) axis += x.dim();
  std::vector<int64_t> ns;
  Shape s;
  for (int i = (int)axis; i < x.dim(); ++i) ns.push_back(x.size(i)), s.push_back(x.size(i));
  auto as_ns = [&](const Tensor& t, const char* what) {
    if (!t.defined()) return t;
    if (t.numel() != s.numel()) fail(what, " of shape ", t.shape(), " does not match the normalized shape ", s);
    return t.shape() == s ? t : t.reshape(s);
  };
  return {layer_norm(x, ns, as_ns(arg(in, 1), "Scale"), as_ns(opt(in, 2), "B"), n.getf("epsilon", 1e-5))};
}

// ONNX's equation (spaces allowed, output optional) in tapeflow's explicit form.
std::string explicit_equation(std::string eq) {
  eq.erase(std::remove(eq.begin(), eq.end(), ' '), eq.end());
  if (eq.find("->") != std::string::npos) return eq;
  std::string out;
  for (char c = 'a'; c <= 'z'; ++c)
    if (std::count(eq.begin(), eq.end(), c) == 1) out += c;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (std::count(eq.begin(), eq.end(), c) == 1) out += c;
  return eq + "->" + out;
}

Outs einsum_node(const OpNode& n, const Ins& in) {
  if (!n.has("equation")) fail("the 'equation' attribute is required");
  std::string eq = explicit_equation(n.attrs.at("equation").s);
  try {
    if (in.size() == 1) return {einsum(eq, arg(in, 0))};
    if (in.size() == 2) return {einsum(eq, arg(in, 0), arg(in, 1))};
  } catch (const Error& e) {
    fail("tapeflow's einsum cannot do \"", n.attrs.at("equation").s, "\": ", e.what());
  }
  fail("tapeflow's einsum takes one or two operands, the node has ", in.size());
}

Outs slice_node(const OpNode&, const Ins& in) {
  Tensor x = arg(in, 0);
  std::vector<int64_t> starts = ints_of(arg(in, 1)), ends = ints_of(arg(in, 2)), axes, steps;
  if (Tensor a = opt(in, 3); a.defined()) axes = ints_of(a);
  else for (size_t i = 0; i < starts.size(); ++i) axes.push_back((int64_t)i);
  if (Tensor s = opt(in, 4); s.defined()) steps = ints_of(s);
  else steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size())
    fail("starts, ends, axes and steps must have the same length, got ", starts.size(), ", ", ends.size(), ", ",
         axes.size(), ", ", steps.size());
  for (size_t k = 0; k < starts.size(); ++k) {
    int64_t a = axes[k];
    if (a < -x.dim() || a >= x.dim()) fail("axis ", a, " is out of range for rank ", x.dim());
    int d = (int)(a < 0 ? a + x.dim() : a);
    const int64_t len = x.size(d), step = steps[k];
    if (step == 0) fail("steps must not be 0");
    int64_t s = starts[k], e = ends[k];
    if (s < 0) s = s < -len ? -1 : s + len;
    if (e < 0) e = e < -len ? -1 : e + len;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, len);
      e = std::clamp<int64_t>(e, 0, len);
    } else {
      s = std::clamp<int64_t>(s, -1, len - 1);
      e = std::clamp<int64_t>(e, -1, len - 1);
    }
    if (step == 1 && s <= e) {
      x = x.slice(d, s, e);
      continue;
    }
    std::vector<int64_t> idx;
    for (int64_t i = s; step > 0 ? i < e : i > e; i += step) idx.push_back(i);
    x = index_select(x, d, from_vector(idx, Shape{(int64_t)idx.size()}));
  }
  return {x};
}

Outs expand_node(const OpNode&, const Ins& in) {
  const Tensor& x = arg(in, 0);
  std::vector<int64_t> s = ints_of(arg(in, 1));
  size_t r = std::max<size_t>(s.size(), x.dim());
  Shape out;
  for (size_t i = 0; i < r; ++i) {
    int64_t a = i + x.dim() >= r ? x.size((int)(i + x.dim() - r)) : 1;
    int64_t b = i + s.size() >= r ? s[i + s.size() - r] : 1;
    if (a != b && a != 1 && b != 1) fail("shape ", x.shape(), " does not broadcast with ", Shape(s));
    out.push_back(a == 1 ? b : a);
  }
  check_made(out);
  return {x.expand(out)};
}

// Split: sizes from input 1 (opset 13 on) or the 'split' attribute, else equal parts, one per output.
Outs split_node(const OpNode& n, const Ins& in) {
  const Tensor& x = arg(in, 0);
  int64_t a = n.geti("axis", 0);
  if (a < -x.dim() || a >= x.dim()) fail("axis ", a, " is out of range for rank ", x.dim());
  int d = (int)(a < 0 ? a + x.dim() : a);
  std::vector<int64_t> sizes;
  if (Tensor t = opt(in, 1); t.defined()) sizes = ints_of(t);
  else if (auto* sp = n.getints("split")) sizes = *sp;
  const int64_t parts = (int64_t)n.outputs.size(), len = x.size(d);
  if (sizes.empty()) {
    if (parts < 1 || len % parts) fail("axis ", d, " of size ", len, " does not split into ", parts, " equal parts");
    sizes.assign(parts, len / parts);
  }
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  if ((int64_t)sizes.size() != parts || total != len)
    fail("split sizes (", sizes.size(), " of them, total ", total, ") do not match ", parts, " outputs and axis ", d,
         " of size ", len);
  Outs r;
  int64_t at = 0;
  for (int64_t s : sizes) {
    r.push_back(x.slice(d, at, at + s));
    at += s;
  }
  return r;
}

Outs constant_of_shape(const OpNode& n, const Ins& in) {
  std::vector<int64_t> s = ints_of(arg(in, 0));
  Tensor v = n.has("value") ? n.attrs.at("value").t : scalar_tensor(0.0, Options(kFloat32));
  if (v.numel() != 1) fail("'value' must hold one element, got shape ", v.shape());
  check_made(Shape(s));
  return {full(Shape(s), v.reshape({}).item<double>(), Options(v.dtype()))};
}

// A gate-stacked (G*H, ...) tensor re-ordered by `order` (chunk indices).
Tensor reorder(const Tensor& t, int gates, const std::vector<int>& order) {
  if (gates == 1) return t;
  std::vector<Tensor> q = chunk(t, gates, 0), r;
  for (int g : order) r.push_back(q[g]);
  return concat(r, 0);
}

// RNN (kind 0), LSTM (1), GRU (2).
Outs recurrent(const OpNode& n, const Ins& in, int kind) {
  const int G = kind == 1 ? 4 : kind == 2 ? 3 : 1;
  const std::vector<int> order = kind == 1 ? std::vector<int>{0, 2, 3, 1}   // i o f c -> i f g o
                                 : kind == 2 ? std::vector<int>{1, 0, 2}    // z r h -> r z n
                                             : std::vector<int>{0};
  Tensor X = arg(in, 0);
  const Tensor &W = arg(in, 1), &R = arg(in, 2);
  Tensor B = opt(in, 3), init_h = opt(in, 5), init_c = kind == 1 ? opt(in, 6) : Tensor();
  if (opt(in, 4).defined()) fail("sequence_lens is not supported (all sequences must have the full length)");
  if (kind == 1 && opt(in, 7).defined()) fail("peephole weights (input P) are not supported");
  if (n.has("clip")) fail("the 'clip' attribute is not supported");
  if (n.geti("input_forget", 0)) fail("input_forget = 1 is not supported");
  if (n.has("activations")) fail("the 'activations' attribute is not supported (only the default activations)");
  const std::string dir = sattr(n, "direction", "forward");
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional")
    fail("direction '", dir, "' is not forward, reverse or bidirectional");
  const int64_t nd = dir == "bidirectional" ? 2 : 1, layout = n.geti("layout", 0);
  if (X.dim() != 3) fail("X must be 3-D, got shape ", X.shape());
  if (layout) X = X.transpose(0, 1);  // (N, T, I) -> (T, N, I)
  if (R.dim() != 3) fail("R must be 3-D (num_directions, ", G, " * hidden_size, hidden_size), got shape ", R.shape());
  const int64_t H = n.geti("hidden_size", R.size(2)), T = X.size(0), N = X.size(1), I = X.size(2);
  auto check = [&](const Tensor& t, const char* what, const Shape& want) {
    if (t.defined() && t.shape() != want)
      fail(what, " has shape ", t.shape(), ", expected ", want, " (num_directions ", nd, ", ", G,
           " gates, hidden_size ", H, ", input size ", I, ", batch ", N, ")");
  };
  check(W, "W", Shape{nd, G * H, I});
  check(R, "R", Shape{nd, G * H, H});
  check(B, "B", Shape{nd, 2 * G * H});
  check(init_h, "initial_h", Shape{nd, N, H});
  check(init_c, "initial_c", Shape{nd, N, H});
  if (T == 0) fail("X has no time steps");
  // States made by ConstantOfShape keep its value's dtype: they follow X's (e.g. a model moved to float64).
  if (init_h.defined() && init_h.dtype() != X.dtype()) init_h = init_h.astype(X.dtype());
  if (init_c.defined() && init_c.dtype() != X.dtype()) init_c = init_c.astype(X.dtype());
  Options o(X.dtype(), X.device());
  const bool lbr = kind == 2 && n.geti("linear_before_reset", 0) != 0;
  std::vector<Tensor> ys, hs, cs;
  for (int64_t d = 0; d < nd; ++d) {
    Tensor wi = reorder(W.select(0, d), G, order), wh = reorder(R.select(0, d), G, order);
    Tensor b = B.defined() ? B.select(0, d) : zeros(Shape{2 * G * H}, o);
    Tensor bi = reorder(b.slice(0, 0, G * H), G, order), bh = reorder(b.slice(0, G * H), G, order);
    Tensor h = init_h.defined() ? init_h.select(0, d) : zeros(Shape{N, H}, o);
    Tensor c = kind == 1 ? (init_c.defined() ? init_c.select(0, d) : zeros(Shape{N, H}, o)) : Tensor();
    const bool back = dir == "reverse" || d == 1;
    std::vector<Tensor> out(T);
    for (int64_t s = 0; s < T; ++s) {
      int64_t t = back ? T - 1 - s : s;
      Tensor xt = X.select(0, t);
      if (kind == 1) {
        std::tie(h, c) = lstm_cell(xt, {h, c}, wi, wh, bi, bh);
      } else if (kind == 2 && lbr) {
        h = gru_cell(xt, h, wi, wh, bi, bh);
      } else if (kind == 2) {  // the reset gate applied before the recurrent product
        std::vector<Tensor> gi = chunk(addmm(bi, xt, wi.T()), 3, 1);
        Tensor grz = addmm(bh.slice(0, 0, 2 * H), h, wh.slice(0, 0, 2 * H).T());
        Tensor r = sigmoid(gi[0] + grz.slice(1, 0, H)), z = sigmoid(gi[1] + grz.slice(1, H));
        Tensor hn = tanh(gi[2] + addmm(bh.slice(0, 2 * H), r * h, wh.slice(0, 2 * H).T()));
        h = hn + z * (h - hn);
      } else {
        h = simple_rnn_cell(xt, h, wi, wh, bi, bh);
      }
      out[t] = h;
    }
    ys.push_back(stack(out, 0));  // (T, N, H)
    hs.push_back(h);
    if (kind == 1) cs.push_back(c);
  }
  Tensor Y = stack(ys, 1), Yh = stack(hs, 0);  // (T, nd, N, H), (nd, N, H)
  Tensor Yc = kind == 1 ? stack(cs, 0) : Tensor();
  if (layout) {  // (N, T, nd, H), (N, nd, H)
    Y = Y.permute({2, 0, 1, 3});
    Yh = Yh.transpose(0, 1);
    if (Yc.defined()) Yc = Yc.transpose(0, 1);
  }
  Outs r{Y, Yh};
  if (kind == 1) r.push_back(Yc);
  return r;
}

using Fn = Outs (*)(const OpNode&, const Ins&);
const std::map<std::string, Fn>& table() {
  static const std::map<std::string, Fn> t = {
      {"LayerNormalization", layer_normalization},
      {"Trilu", [](const OpNode& n, const Ins& in) -> Outs {
         const Tensor& x = arg(in, 0);
         int64_t k = opt(in, 1).defined() ? ints_of(in[1]).at(0) : 0;
         return {n.geti("upper", 1) ? triu(x, k) : tril(x, k)};
       }},
      {"Einsum", einsum_node},
      {"Slice", slice_node},
      {"Split", split_node},
      {"Expand", expand_node},
      {"ConstantOfShape", constant_of_shape},
      {"RNN", [](const OpNode& n, const Ins& in) { return recurrent(n, in, 0); }},
      {"LSTM", [](const OpNode& n, const Ins& in) { return recurrent(n, in, 1); }},
      {"GRU", [](const OpNode& n, const Ins& in) { return recurrent(n, in, 2); }},
  };
  return t;
}

}  // namespace import_seq

bool is_seq_supported(const std::string& op) { return import_seq::table().count(op) != 0; }
std::vector<Tensor> run_seq_node(const OpNode& n, const std::vector<Tensor>& in) { return import_seq::table().at(n.op)(n, in); }
void add_seq_ops(std::vector<std::string>& ops) {
  for (const auto& [name, fn] : import_seq::table()) ops.push_back(name);
}

}  // namespace tapeflow::onnx::detail
