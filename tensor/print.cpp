// NumPy-style printing: `[2.7 4.7 6.7]`, aligned rows for 2-D, `[18. 21.]` for whole floats,
// scientific notation when magnitudes call for it, and `...` summaries past 1000 elements.
// Mirrors NumPy 1.24's arrayprint (FloatingFormat, _formatArray with a 75-column line) and,
// for 0-d tensors, the str() of a NumPy scalar.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <ostream>
#include <sstream>

#include "tensor/ops.h"
#include "tensor/tensor.h"

namespace tapeflow {
namespace {

constexpr int kPrecision = 8;
constexpr int64_t kThreshold = 1000;
constexpr int kEdgeItems = 3;
constexpr int kLineWidth = 75;

// A float in scientific form: [-]int_part.frac e exp (int_part is one digit, with the sign).
struct SciParts {
  std::string int_part, frac;
  int exp = 0;
};

std::string to_chars_str(double v, bool f32, std::chars_format fmt) {
  char buf[64];
  auto r = f32 ? std::to_chars(buf, buf + sizeof buf, (float)v, fmt) : std::to_chars(buf, buf + sizeof buf, v, fmt);
  return std::string(buf, r.ptr);
}

SciParts split_sci(const std::string& s) {
  SciParts p;
  auto e = s.find('e');
  std::string m = s.substr(0, e);
  p.exp = std::stoi(s.substr(e + 1));
  auto dot = m.find('.');
  p.int_part = m.substr(0, dot);
  if (dot != std::string::npos) p.frac = m.substr(dot + 1);
  return p;
}

// Shortest round-trip digits in scientific form, rounded to at most max_frac fraction digits.
SciParts scientific(double v, bool f32, int max_frac) {
  SciParts p = split_sci(to_chars_str(v, f32, std::chars_format::scientific));
  if (max_frac >= 0 && (int)p.frac.size() > max_frac) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, max_frac);
    p = split_sci(std::string(buf, r.ptr));
    while (!p.frac.empty() && p.frac.back() == '0') p.frac.pop_back();
  }
  return p;
}

// Positional digits "int.frac" (the point always present), shortest unique, at most
// kPrecision fraction digits (rounded), as NumPy's array printing does.
std::string positional(double v, bool f32) {
  std::string s = to_chars_str(v, f32, std::chars_format::fixed);
  auto dot = s.find('.');
  if (dot != std::string::npos && (int)(s.size() - dot - 1) > kPrecision) {
    char buf[512];
    auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::fixed, kPrecision);
    s.assign(buf, r.ptr);
    while (s.back() == '0') s.pop_back();
    dot = s.find('.');
  }
  if (dot == std::string::npos) s += '.';
  return s;
}

// str() of a NumPy float scalar: positional ("2.0", "0.0001") for 1e-4 <= |v| < 1e16 or 0,
// else scientific ("1e-05", "9.9e-05", "1e+16"); shortest round-trip digits.
std::string scalar_float(double v, bool f32) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  double a = std::fabs(v);
  SciParts p = scientific(v, f32, -1);
  if (a != 0 && (a < 1e-4 || a >= 1e16)) {
    std::string e = std::to_string(std::abs(p.exp));
    if (e.size() < 2) e = "0" + e;
    return p.int_part + (p.frac.empty() ? "" : "." + p.frac) + "e" + (p.exp < 0 ? "-" : "+") + e;
  }
  bool neg = p.int_part[0] == '-';
  std::string digits = p.int_part.substr(neg ? 1 : 0) + p.frac, ip, fp;
  int point = p.exp + 1;  // digits before the decimal point
  if (a == 0) ip = "0";
  else if (point <= 0) { ip = "0"; fp = std::string(-point, '0') + digits; }
  else if (point >= (int)digits.size()) ip = digits + std::string(point - digits.size(), '0');
  else { ip = digits.substr(0, point); fp = digits.substr(point); }
  return (neg ? "-" : "") + ip + "." + (fp.empty() ? "0" : fp);
}

// NumPy's FloatingFormat: one width for every element of the array.
struct FloatFormat {
  bool f32 = true;
  bool exp = false;
  int pad_left = 0, pad_right = 0;  // positional: int / frac widths; exp: int width, frac digits
  int exp_size = 2;

  int right_width() const { return exp ? exp_size + 2 + pad_right : pad_right; }

  void fit(const std::vector<double>& vals) {
    double maxv = 0, minv = INFINITY;
    bool any_nonzero = false, any_finite = false, any_nonfinite = false, neg_inf = false;
    for (double v : vals) {
      if (!std::isfinite(v)) {
        any_nonfinite = true;
        neg_inf |= std::isinf(v) && v < 0;
        continue;
      }
      any_finite = true;
      double a = std::fabs(v);
      if (a == 0) continue;
      any_nonzero = true;
      maxv = std::max(maxv, a);
      minv = std::min(minv, a);
    }
    exp = any_nonzero && (maxv >= 1e8 || minv < 1e-4 || maxv / minv > 1e3);
    pad_left = pad_right = 0;
    if (any_finite) exp_size = 0;
    for (double v : vals) {
      if (!std::isfinite(v)) continue;
      if (exp) {
        SciParts p = scientific(v, f32, kPrecision);
        pad_left = std::max(pad_left, (int)p.int_part.size());
        pad_right = std::max(pad_right, (int)p.frac.size());
        exp_size = std::max(exp_size, std::max(2, (int)std::to_string(std::abs(p.exp)).size()));
      } else {
        std::string s = positional(v, f32);
        auto dot = s.find('.');
        pad_left = std::max(pad_left, (int)dot);
        pad_right = std::max(pad_right, (int)(s.size() - dot - 1));
      }
    }
    if (any_nonfinite) {
      int offset = right_width() + 1;
      pad_left = std::max({pad_left, 3 - offset, 3 + (neg_inf ? 1 : 0) - offset});
    }
  }

  std::string format(double v) const {
    if (!std::isfinite(v)) {
      std::string s = std::isnan(v) ? "nan" : (v < 0 ? "-inf" : "inf");
      int width = pad_left + right_width() + 1;
      return std::string(std::max(0, width - (int)s.size()), ' ') + s;
    }
    if (exp) {
      // Every element shows pad_right fraction digits: real digits of the value (NumPy's
      // min_digits), not zero padding.
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof buf, v, std::chars_format::scientific, pad_right);
      SciParts p = split_sci(std::string(buf, r.ptr));
      std::string frac = p.frac;
      std::string es = std::to_string(std::abs(p.exp));
      es = std::string(std::max(0, exp_size - (int)es.size()), '0') + es;
      return std::string(pad_left - p.int_part.size(), ' ') + p.int_part + "." + frac + "e" +
             (p.exp < 0 ? "-" : "+") + es;
    }
    std::string s = positional(v, f32);
    auto dot = s.find('.');
    return std::string(pad_left - dot, ' ') + s + std::string(pad_right - (s.size() - dot - 1), ' ');
  }
};

std::string rstrip(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

// NumPy's _formatArray over pre-formatted cells (row-major over the kept elements).
struct Printer {
  const Shape& shape;
  bool summarize;
  const std::vector<std::string>& cells;
  size_t pos = 0;

  bool summarized(int64_t n) const { return summarize && n > 2 * kEdgeItems; }

  // Indices kept along a dim of size n (first/last kEdgeItems when summarising).
  std::vector<int64_t> kept(int64_t n) const {
    std::vector<int64_t> k;
    for (int64_t i = 0; i < n; ++i)
      if (!summarized(n) || i < kEdgeItems || i >= n - kEdgeItems) k.push_back(i);
    return k;
  }

  void collect(int d, int64_t base, const Strides& cs, std::vector<int64_t>& out) const {
    if (d == shape.size()) { out.push_back(base); return; }
    for (int64_t i : kept(shape[d])) collect(d + 1, base + i * cs[d], cs, out);
  }

  // Appends word to line, first wrapping when it would pass `width` (and wrapping helps).
  static void extend(std::string& s, std::string& line, const std::string& word, int width,
                     const std::string& prefix) {
    if ((int)(line.size() + word.size()) > width && line.size() > prefix.size()) {
      s += rstrip(line) + "\n";
      line = prefix;
    }
    line += word;
  }

  std::string format(int axis, const std::string& hanging, int width) {
    if (axis == shape.size()) return cells[pos++];
    std::string next_hanging = hanging + " ";
    int64_t n = shape[axis];
    int64_t count = (int64_t)kept(n).size();
    bool summary = summarized(n);
    int axes_left = shape.size() - axis;
    std::string s, line = hanging;  // line: the row being filled (last axis only)
    for (int64_t j = 0; j < count; ++j) {
      bool last = j + 1 == count;
      std::string item = format(axis + 1, next_hanging, width - 1);
      if (axes_left == 1) {
        extend(s, line, item, width - 1, hanging);
        if (!last) line += ' ';
        if (summary && j + 1 == kEdgeItems) {
          extend(s, line, "...", width - 1, hanging);
          line += ' ';
        }
        if (last) s += line;
      } else {
        std::string sep(axes_left - 1, '\n');
        s += hanging + item + (last ? "" : sep);
        if (summary && j + 1 == kEdgeItems) s += hanging + "..." + sep;
      }
    }
    std::string out(1, '[');  // (built step by step: GCC 12 warns falsely on "[" + ...)
    out.append(s, hanging.size(), std::string::npos);
    out += ']';
    return out;
  }
};

}  // namespace

std::string Tensor::str() const {
  if (!defined()) return "[undefined]";
  Tensor h = detach().cpu();
  const Shape& s = h.shape();
  DType dt = dtype();
  if (s.size() > 0 && h.numel() == 0) return "[]";
  if (s.size() == 0) {
    if (is_floating(dt)) return scalar_float(h.item<double>(), dt == kFloat32);
    if (dt == kBool) return h.item<bool>() ? "True" : "False";
    return std::to_string(h.item<int64_t>());
  }
  bool summarize = h.numel() > kThreshold;
  std::vector<std::string> cells;
  Printer pr{s, summarize, cells};
  Strides cs;
  cs.resize(s.size());
  int64_t acc = 1;
  for (int i = s.size() - 1; i >= 0; --i) { cs[i] = acc; acc *= s[i]; }
  std::vector<int64_t> idx;
  pr.collect(0, 0, cs, idx);
  if (is_floating(dt)) {
    std::vector<double> all = h.to_vector<double>(), vals;
    for (int64_t i : idx) vals.push_back(all[i]);
    FloatFormat ff;
    ff.f32 = dt == kFloat32;
    ff.fit(vals);
    for (double v : vals) cells.push_back(ff.format(v));
  } else if (dt == kBool) {
    std::vector<uint8_t> all = h.to_vector<uint8_t>();
    for (int64_t i : idx) cells.push_back(all[i] ? " True" : "False");
  } else {
    std::vector<int64_t> all = h.to_vector<int64_t>();
    size_t width = 0;
    for (int64_t i : idx) {
      cells.push_back(std::to_string(all[i]));
      width = std::max(width, cells.back().size());
    }
    for (auto& c : cells) c = std::string(width - c.size(), ' ') + c;
  }
  return pr.format(0, " ", kLineWidth);
}

std::string Tensor::repr() const {
  if (!defined()) return "tensor(undefined)";
  std::string body = str();
  std::string ind;
  for (char c : body) {
    ind += c;
    if (c == '\n') ind += "       ";
  }
  // Blank separator lines stay blank.
  std::string out;
  for (size_t i = 0; i < ind.size(); ++i) {
    if (ind[i] == '\n' && ind.compare(i + 1, 8, "       \n") == 0) { out += '\n'; i += 7; continue; }
    out += ind[i];
  }
  std::ostringstream os;
  os << "tensor(" << out << ", shape=" << shape() << ", dtype=" << dtype() << ", device=" << device();
  if (requires_grad()) os << ", requires_grad=true";
  os << ')';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace tapeflow
