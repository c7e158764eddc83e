// ONNX export of the sequence ops and layers (autograd/trace.h's sequence reports): embedding
// (Gather), expand (Expand), layer_norm (LayerNormalization), trilu (Trilu), einsum (Einsum),
// and the recurrent layers as one ONNX RNN / LSTM / GRU node each (rnn, bidirectional). The
// node's weights are the layer's own parameter initializers, re-ordered by Split / Concat nodes
// into ONNX's gate order (LSTM: tapeflow i f g o -> ONNX i o f c; GRU: r z n -> z r h, with
// linear_before_reset = 1, which is tapeflow's (PyTorch's, Keras's reset_after) GRU formula).
#include <climits>

#include "onnx/exporter.h"
#include "tensor/creation.h"
#include "base/error.h"

namespace tapeflow::onnx::detail {

using autograd::TraceOp;

namespace export_seq {  // named: a unity build shares one anonymous namespace between sources

int64_t iattr(const TraceOp& op, const char* name) { return op.attr(name)->ints.at(0); }

std::string transpose(Exporter& ex, const std::string& x, const std::vector<int64_t>& perm) {
  auto& t = ex.node("Transpose", {x});
  attr_ints(t, "perm", perm);
  return ex.out(t);
}

// A tapeflow gate-stacked weight or bias (G*H, ...) in ONNX's gate order, with a leading
// direction dim of 1: Split into the G gates, Concat in `order`, Unsqueeze.
std::string onnx_gates(Exporter& ex, const Tensor& w, int gates, const std::vector<int>& order, DType dt) {
  std::string wi = ex.in(w, dt);
  std::string r = wi;
  if (gates > 1) {
    auto& s = ex.node("Split", {wi});
    attr_int(s, "axis", 0);
    for (int g = 1; g < gates; ++g) s.add_output(s.name() + "_" + std::to_string(g));
    std::vector<std::string> parts;
    for (int g : order) parts.push_back(s.output(g));
    auto& c = ex.node("Concat", parts);
    attr_int(c, "axis", 0);
    r = ex.out(c);
  }
  return ex.out(ex.node("Unsqueeze", {r, ex.ints({0})}));
}

const char* kRnnTypes[] = {"RNN", "LSTM", "GRU"};  // by RNNBase::Kind
int gates_of(int kind) { return kind == 1 ? 4 : kind == 2 ? 3 : 1; }
std::vector<int> order_of(int kind) {
  if (kind == 1) return {0, 3, 1, 2};  // i f g o -> i o f c
  if (kind == 2) return {1, 0, 2};     // r z n -> z r h
  return {0};
}

// W, R and B inputs of one direction (w: weight_ih, weight_hh, bias_ih, bias_hh).
std::vector<std::string> direction_weights(Exporter& ex, int kind, const Tensor* w, DType dt) {
  int g = gates_of(kind);
  std::vector<int> o = order_of(kind);
  std::string W = onnx_gates(ex, w[0], g, o, dt), R = onnx_gates(ex, w[1], g, o, dt);
  auto& b = ex.node("Concat", {onnx_gates(ex, w[2], g, o, dt), onnx_gates(ex, w[3], g, o, dt)});
  attr_int(b, "axis", 1);
  return {W, R, ex.out(b)};
}

// One ONNX RNN / LSTM / GRU node; returns its outputs (Y, Y_h[, Y_c]).
std::vector<std::string> rnn_node(Exporter& ex, const TraceOp& op, int kind, const std::string& direction,
                                  const std::vector<std::vector<std::string>>& dirs, const std::string& h0,
                                  const std::string& c0, int64_t units) {
  DType dt = op.output.dtype();
  std::string X = transpose(ex, ex.in(op.inputs[0], dt), {1, 0, 2});  // (T, N, F)
  std::vector<std::string> wrb(3);
  for (int k = 0; k < 3; ++k) {
    if (dirs.size() == 1) {
      wrb[k] = dirs[0][k];
    } else {
      auto& c = ex.node("Concat", {dirs[0][k], dirs[1][k]});
      attr_int(c, "axis", 0);
      wrb[k] = ex.out(c);
    }
  }
  std::vector<std::string> ins{X, wrb[0], wrb[1], wrb[2], "", h0};
  if (kind == 1) ins.push_back(c0);
  while (!ins.empty() && ins.back().empty()) ins.pop_back();
  auto& n = ex.node(kRnnTypes[kind], ins);
  attr_int(n, "hidden_size", units);
  attr_string(n, "direction", direction);
  if (kind == 2) attr_int(n, "linear_before_reset", 1);
  n.add_output(n.name() + "_h");
  if (kind == 1) n.add_output(n.name() + "_c");
  std::vector<std::string> outs(n.output().begin(), n.output().end());
  return outs;
}

std::string squeeze(Exporter& ex, const std::string& x, int64_t axis) {
  return ex.out(ex.node("Squeeze", {x, ex.ints({axis})}));
}

std::string emit_rnn(Exporter& ex, const TraceOp& op) {
  int kind = (int)iattr(op, "kind");
  int64_t which = iattr(op, "output");
  bool seq = iattr(op, "return_sequences"), back = iattr(op, "go_backwards");
  const Tensor &x = op.inputs[0], &h0 = op.inputs[1], &c0 = op.inputs[2];
  DType dt = op.output.dtype();
  int64_t units = op.inputs[4].size(1);
  std::string key = str_cat("rnn ", x.impl(), " ", op.inputs[3].impl(), " ", h0.impl(), " ", c0.impl());
  auto it = ex.memo.find(key);
  if (it == ex.memo.end()) {
    auto state = [&](const Tensor& s) { return s.defined() ? ex.out(ex.node("Unsqueeze", {ex.in(s, dt), ex.ints({0})})) : ""; };
    std::string hs = state(h0), cs = state(c0);
    auto w = direction_weights(ex, kind, &op.inputs[3], dt);
    it = ex.memo.emplace(key, rnn_node(ex, op, kind, back ? "reverse" : "forward", {w}, hs, cs, units)).first;
  }
  const auto& outs = it->second;
  if (which == 0 && seq) {  // Y (T, 1, N, H) -> (N, T, H)
    std::string y = transpose(ex, squeeze(ex, outs[0], 1), {1, 0, 2});
    if (!back) return y;
    // tapeflow's go_backwards outputs come last step first; ONNX's reverse direction gives them
    // in time order: reversed along time.
    return ex.out(ex.node("Slice", {y, ex.ints({-1}), ex.ints({INT64_MIN}), ex.ints({1}), ex.ints({-1})}));
  }
  return squeeze(ex, outs[which == 2 ? 2 : 1], 0);  // Y_h / Y_c (1, N, H) -> (N, H)
}

std::string emit_bidirectional(Exporter& ex, const TraceOp& op) {
  int kind = (int)iattr(op, "kind");
  if (iattr(op, "go_backwards"))
    ex.unsupported(op, "Bidirectional of a go_backwards layer has no ONNX form (its forward layer reads backwards)");
  DType dt = op.output.dtype();
  const bool lstm = kind == 1;
  const int64_t which = iattr(op, "output"), units = op.inputs[2].size(1);
  // Initial states as given to the layer: LSTM (fwd h, fwd c, bwd h, bwd c), others (fwd h, bwd h).
  auto st = [&](size_t i) { return i < op.inputs.size() ? op.inputs[i] : Tensor(); };
  const Tensor fh = st(9), fc = lstm ? st(10) : Tensor(), bh = lstm ? st(11) : st(10), bc = lstm ? st(12) : Tensor();
  std::string key = str_cat("bidirectional ", op.inputs[0].impl(), " ", op.inputs[1].impl(), " ", fh.impl(), " ",
                            fc.impl(), " ", bh.impl(), " ", bc.impl());
  auto it = ex.memo.find(key);
  if (it == ex.memo.end()) {
    auto both = [&](const Tensor& f, const Tensor& b) -> std::string {  // (2, N, H), forward first
      if (!f.defined()) return "";
      auto& c = ex.node("Concat", {ex.out(ex.node("Unsqueeze", {ex.in(f, dt), ex.ints({0})})),
                                   ex.out(ex.node("Unsqueeze", {ex.in(b, dt), ex.ints({0})}))});
      attr_int(c, "axis", 0);
      return ex.out(c);
    };
    std::string hs = both(fh, bh), cs = both(fc, bc);
    auto f = direction_weights(ex, kind, &op.inputs[1], dt), b = direction_weights(ex, kind, &op.inputs[5], dt);
    it = ex.memo.emplace(key, rnn_node(ex, op, kind, "bidirectional", {f, b}, hs, cs, units)).first;
  }
  const auto& outs = it->second;
  if (which > 0) {  // a state: LSTM [y, fwd h, fwd c, bwd h, bwd c], others [y, fwd h, bwd h]
    const int64_t dir = lstm ? (which <= 2 ? 0 : 1) : which - 1;
    const bool cell = lstm && (which == 2 || which == 4);
    auto& g = ex.node("Gather", {outs[cell ? 2 : 1], ex.scalar((double)dir, kInt64)});  // (N, H)
    attr_int(g, "axis", 0);
    return ex.out(g);
  }
  if (iattr(op, "return_sequences")) {  // Y (T, 2, N, H) -> (N, T, 2, H) -> (N, T, 2H)
    std::string y = transpose(ex, outs[0], {2, 0, 1, 3});
    return ex.out(ex.node("Reshape", {y, ex.ints({0, 0, 2 * units})}));
  }
  std::string h = transpose(ex, outs[1], {1, 0, 2});  // Y_h (2, N, H) -> (N, 2, H) -> (N, 2H)
  return ex.out(ex.node("Reshape", {h, ex.ints({0, 2 * units})}));
}

bool emit(Exporter& ex, const TraceOp& op, std::string& name, int& out_batch) {
  const std::string& n = op.op;
  const Tensor& y = op.output;
  DType dt = y.dtype();
  if (n == "embedding") {  // weight[indices]: Gather (the padding index only matters to training)
    auto& g = ex.node("Gather", {ex.in(op.inputs[1], dt), ex.in(op.inputs[0], kInt64)});
    attr_int(g, "axis", 0);
    name = ex.out(g);
    out_batch = ex.batch_dim(op.inputs[0]);
  } else if (n == "expand") {  // the batch dim stays x's (target 1 there: ONNX's Expand broadcasts)
    const Tensor& x = op.inputs[0];
    std::vector<int64_t> target(y.shape().begin(), y.shape().end());
    int b = ex.batch_dim(x);
    out_batch = b < 0 ? -1 : b + (y.dim() - x.dim());
    if (ex.dynamic() && out_batch >= 0) target[out_batch] = 1;
    name = ex.out(ex.node("Expand", {ex.in(x), ex.ints(target)}));
  } else if (n == "layer_norm") {
    const Tensor &x = op.inputs[0], &w = op.inputs[1], &b = op.inputs[2];
    int64_t nd = iattr(op, "axes");
    std::string scale;
    if (w.defined()) {
      scale = ex.in(w, dt);
    } else {
      Shape ns;
      for (int64_t i = x.dim() - nd; i < x.dim(); ++i) ns.push_back(x.size((int)i));
      scale = ex.constant(ones(ns, Options(dt)));
    }
    auto& l = ex.node("LayerNormalization", {ex.in(x, dt), scale, b.defined() ? ex.in(b, dt) : ""});
    attr_int(l, "axis", -nd);
    attr_float(l, "epsilon", op.attr("epsilon")->f);
    name = ex.out(l);
  } else if (n == "trilu") {
    auto& t = ex.node("Trilu", {ex.in(op.inputs[0], dt), ex.constant(scalar_tensor(iattr(op, "k"), Options(kInt64)))});
    attr_int(t, "upper", iattr(op, "upper"));
    name = ex.out(t);
  } else if (n == "einsum") {
    const auto& codes = op.attr("equation")->ints;
    std::string eq(codes.begin(), codes.end());
    std::vector<std::string> ins;
    for (const Tensor& t : op.inputs) ins.push_back(ex.in(t, dt));
    auto& e = ex.node("Einsum", ins);
    attr_string(e, "equation", eq);
    name = ex.out(e);
    // The batch dim's letter, found in the output.
    std::string lhs = eq.substr(0, eq.find("->")), rhs = eq.substr(eq.find("->") + 2);
    out_batch = -1;
    size_t start = 0;
    for (const Tensor& t : op.inputs) {
      size_t end = lhs.find(',', start);
      std::string letters = lhs.substr(start, end == std::string::npos ? std::string::npos : end - start);
      start = end + 1;
      int b = ex.batch_dim(t);
      if (b >= 0 && out_batch < 0) {
        size_t p = rhs.find(letters[b]);
        if (p != std::string::npos) out_batch = (int)p;
      }
    }
  } else if (n == "rnn") {
    name = emit_rnn(ex, op);
    out_batch = 0;
  } else if (n == "bidirectional") {
    name = emit_bidirectional(ex, op);
    out_batch = 0;
  } else {
    return false;
  }
  return true;
}

}  // namespace export_seq

bool emit_seq(Exporter& ex, const TraceOp& op, std::string& name, int& out_batch) {
  return export_seq::emit(ex, op, name, out_batch);
}

}  // namespace tapeflow::onnx::detail
