// The SVG chart writer: axis ranges and round ticks, then the SVG text drawn back to front
// (background, grid, frame, ticks, series clipped to the plot area, legend, labels).
#include "samples/plot/svg_plot.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>

#include "base/error.h"

namespace tapeflow::plot {
namespace {

// matplotlib's "tab10" colors.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr int kLeft = 72, kRight = 24, kTop = 44, kBottom = 56;  // margins around the plot area
constexpr double kCharWidth = 7.0;                                // 12px sans-serif, roughly

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// Finite data range of x or y over all series; {0, 1} when there is none.
std::pair<double, double> data_range(const std::vector<Series>& series, bool want_x) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const Series& s : series) {
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      double v = want_x ? s.x[i] : s.y[i];
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (lo > hi) return {0.0, 1.0};
  return {lo, hi};
}

}  // namespace

Ticks nice_ticks(double lo, double hi, int target) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (lo > hi) std::swap(lo, hi);
  if (hi - lo < 1e-12 * std::max(1.0, std::abs(lo))) {  // one value: widen around it
    double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    lo -= pad;
    hi += pad;
  }
  target = std::max(2, target);
  // Candidate steps m * 10^k (m in 1, 2, 2.5, 5): keep those giving target-2 .. target+3
  // intervals, then prefer the least widened range, then the count nearest the target,
  // then steps other than 2.5. If none fits, the count nearest the target wins.
  int k0 = int(std::floor(std::log10(hi - lo))) - 2;
  Ticks best;
  double best_key[4] = {2, 0, 0, 0};  // [misfit, span, |count - target|, is_2_5]
  bool have = false;
  for (int k = k0; k <= k0 + 3; ++k) {
    for (double m : {1.0, 2.0, 2.5, 5.0}) {
      double step = m * std::pow(10.0, k);
      double first = std::floor(lo / step + 1e-9) * step, last = std::ceil(hi / step - 1e-9) * step;
      int count = int(std::lround((last - first) / step));
      bool fits = count >= target - 2 && count <= target + 3;
      double key[4] = {fits ? 0.0 : 1.0, fits ? (last - first) / (hi - lo) : 0.0,
                       double(std::abs(count - target)), m == 2.5 ? 1.0 : 0.0};
      if (have && !std::lexicographical_compare(key, key + 4, best_key, best_key + 4)) continue;
      have = true;
      std::copy(key, key + 4, best_key);
      best.step = step, best.first = first, best.last = last;
      best.values.clear();
      for (int i = 0; i <= count; ++i) {
        double v = first + i * step;
        best.values.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);  // no "-0"
      }
    }
  }
  // Digits after the point: the fewest that print the step exactly (2.5 -> 1, 0.05 -> 2).
  best.decimals = 0;
  while (best.decimals < 12) {
    double scaled = best.step * std::pow(10.0, best.decimals);
    if (std::abs(scaled - std::round(scaled)) < 1e-6 * scaled) break;
    ++best.decimals;
  }
  return best;
}

std::string format_tick(double value, int decimals) {
  char buf[48];
  if (std::abs(value) >= 1e7 || decimals > 6) std::snprintf(buf, sizeof buf, "%g", value);
  else std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

Figure::Figure(int width, int height) : width_(width), height_(height) {
  if (width < kLeft + kRight + 50 || height < kTop + kBottom + 50)
    fail("plot::Figure: size ", width, "x", height, " is too small (at least ", kLeft + kRight + 50, "x",
         kTop + kBottom + 50, ")");
}

Figure& Figure::title(const std::string& text) { title_ = text; return *this; }
Figure& Figure::xlabel(const std::string& text) { xlabel_ = text; return *this; }
Figure& Figure::ylabel(const std::string& text) { ylabel_ = text; return *this; }
Figure& Figure::legend(LegendPos pos) { legend_ = pos; return *this; }

Figure& Figure::xlim(double lo, double hi) {
  if (!(lo < hi)) fail("plot::Figure::xlim: need lo < hi, got ", lo, " and ", hi);
  has_xlim_ = true, xlo_ = lo, xhi_ = hi;
  return *this;
}
Figure& Figure::ylim(double lo, double hi) {
  if (!(lo < hi)) fail("plot::Figure::ylim: need lo < hi, got ", lo, " and ", hi);
  has_ylim_ = true, ylo_ = lo, yhi_ = hi;
  return *this;
}

Figure& Figure::line(std::vector<double> x, std::vector<double> y, const std::string& label,
                     const std::string& color) {
  Series s;
  s.x = std::move(x), s.y = std::move(y), s.label = label, s.color = color;
  return add(std::move(s));
}
Figure& Figure::scatter(std::vector<double> x, std::vector<double> y, const std::string& label,
                        const std::string& color) {
  Series s;
  s.kind = Series::Kind::Scatter;
  s.x = std::move(x), s.y = std::move(y), s.label = label, s.color = color;
  return add(std::move(s));
}
Figure& Figure::add(Series s) {
  if (s.x.size() != s.y.size())
    fail("plot::Figure: series '", s.label, "' has ", s.x.size(), " x values but ", s.y.size(), " y values");
  if (s.color.empty()) s.color = kPalette[series_.size() % 10];
  if (s.size <= 0) s.size = s.kind == Series::Kind::Line ? 2.0 : 3.5;
  series_.push_back(std::move(s));
  return *this;
}

std::string Figure::svg() const {
  const double ax0 = kLeft, ax1 = width_ - kRight, ay0 = kTop, ay1 = height_ - kBottom;
  auto [dxlo, dxhi] = data_range(series_, true);
  auto [dylo, dyhi] = data_range(series_, false);
  Ticks tx = nice_ticks(has_xlim_ ? xlo_ : dxlo, has_xlim_ ? xhi_ : dxhi);
  Ticks ty = nice_ticks(has_ylim_ ? ylo_ : dylo, has_ylim_ ? yhi_ : dyhi);
  const double xlo = has_xlim_ ? xlo_ : tx.first, xhi = has_xlim_ ? xhi_ : tx.last;
  const double ylo = has_ylim_ ? ylo_ : ty.first, yhi = has_ylim_ ? yhi_ : ty.last;
  auto px = [&](double x) { return ax0 + (x - xlo) / (xhi - xlo) * (ax1 - ax0); };
  auto py = [&](double y) { return ay1 - (y - ylo) / (yhi - ylo) * (ay1 - ay0); };
  auto in_x = [&](double v) { return v >= xlo - 1e-9 * (xhi - xlo) && v <= xhi + 1e-9 * (xhi - xlo); };
  auto in_y = [&](double v) { return v >= ylo - 1e-9 * (yhi - ylo) && v <= yhi + 1e-9 * (yhi - ylo); };

  std::string o;
  o += "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  o += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(width_) + "\" height=\"" +
       std::to_string(height_) + "\" viewBox=\"0 0 " + std::to_string(width_) + " " +
       std::to_string(height_) + "\" font-family=\"DejaVu Sans, Arial, sans-serif\" font-size=\"12\">\n";
  o += "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n";
  o += "<defs><clipPath id=\"plot-area\"><rect x=\"" + num(ax0 - 4) + "\" y=\"" + num(ay0 - 4) +
       "\" width=\"" + num(ax1 - ax0 + 8) + "\" height=\"" + num(ay1 - ay0 + 8) + "\"/></clipPath></defs>\n";

  // Grid, frame, ticks and tick labels.
  o += "<g stroke=\"#e0e0e0\" stroke-width=\"1\">\n";
  for (double v : tx.values)
    if (in_x(v)) o += "<line x1=\"" + num(px(v)) + "\" y1=\"" + num(ay0) + "\" x2=\"" + num(px(v)) + "\" y2=\"" + num(ay1) + "\"/>\n";
  for (double v : ty.values)
    if (in_y(v)) o += "<line x1=\"" + num(ax0) + "\" y1=\"" + num(py(v)) + "\" x2=\"" + num(ax1) + "\" y2=\"" + num(py(v)) + "\"/>\n";
  o += "</g>\n<rect x=\"" + num(ax0) + "\" y=\"" + num(ay0) + "\" width=\"" + num(ax1 - ax0) + "\" height=\"" +
       num(ay1 - ay0) + "\" fill=\"none\" stroke=\"black\" stroke-width=\"1\"/>\n";
  o += "<g stroke=\"black\" stroke-width=\"1\">\n";
  for (double v : tx.values)
    if (in_x(v)) o += "<line x1=\"" + num(px(v)) + "\" y1=\"" + num(ay1) + "\" x2=\"" + num(px(v)) + "\" y2=\"" + num(ay1 + 5) + "\"/>\n";
  for (double v : ty.values)
    if (in_y(v)) o += "<line x1=\"" + num(ax0 - 5) + "\" y1=\"" + num(py(v)) + "\" x2=\"" + num(ax0) + "\" y2=\"" + num(py(v)) + "\"/>\n";
  o += "</g>\n<g fill=\"black\">\n";
  for (double v : tx.values)
    if (in_x(v)) o += "<text x=\"" + num(px(v)) + "\" y=\"" + num(ay1 + 19) + "\" text-anchor=\"middle\">" + format_tick(v, tx.decimals) + "</text>\n";
  for (double v : ty.values)
    if (in_y(v)) o += "<text x=\"" + num(ax0 - 8) + "\" y=\"" + num(py(v) + 4) + "\" text-anchor=\"end\">" + format_tick(v, ty.decimals) + "</text>\n";
  o += "</g>\n";

  // Series, clipped to the plot area (plus a few pixels so edge markers stay whole).
  for (const Series& s : series_) {
    if (s.kind == Series::Kind::Line) {
      std::string d;
      bool pen_down = false;
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) { pen_down = false; continue; }
        d += pen_down ? 'L' : 'M';
        d += num(px(s.x[i]));
        d += ' ';
        d += num(py(s.y[i]));
        d += ' ';
        pen_down = true;
      }
      if (d.empty()) continue;
      d.pop_back();
      o += "<path d=\"" + d + "\" fill=\"none\" stroke=\"" + escape(s.color) + "\" stroke-width=\"" + num(s.size) +
           "\" stroke-linejoin=\"round\"" + (s.dashed ? " stroke-dasharray=\"6 4\"" : "") +
           " clip-path=\"url(#plot-area)\"/>\n";
    } else {
      o += "<g fill=\"" + escape(s.color) + "\" clip-path=\"url(#plot-area)\">\n";
      for (size_t i = 0; i < s.x.size(); ++i) {
        if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
        o += "<circle cx=\"" + num(px(s.x[i])) + "\" cy=\"" + num(py(s.y[i])) + "\" r=\"" + num(s.size) + "\"/>\n";
      }
      o += "</g>\n";
    }
  }

  // Legend: a white box in a corner; Auto picks the corner covering the fewest points.
  std::vector<const Series*> entries;
  for (const Series& s : series_)
    if (!s.label.empty()) entries.push_back(&s);
  if (!entries.empty() && legend_ != LegendPos::None) {
    size_t longest = 0;
    for (const Series* s : entries) longest = std::max(longest, s->label.size());
    const double bw = 44 + kCharWidth * double(longest), bh = 10 + 20.0 * double(entries.size());
    auto box_x = [&](LegendPos p) { return p == LegendPos::UpperLeft || p == LegendPos::LowerLeft ? ax0 + 10 : ax1 - 10 - bw; };
    auto box_y = [&](LegendPos p) { return p == LegendPos::LowerLeft || p == LegendPos::LowerRight ? ay1 - 10 - bh : ay0 + 10; };
    LegendPos pos = legend_;
    if (pos == LegendPos::Auto) {
      size_t best = SIZE_MAX;
      for (LegendPos p : {LegendPos::UpperRight, LegendPos::UpperLeft, LegendPos::LowerRight, LegendPos::LowerLeft}) {
        size_t covered = 0;
        for (const Series& s : series_) {
          for (size_t i = 0; i < s.x.size(); ++i) {
            double X = px(s.x[i]), Y = py(s.y[i]);
            if (X >= box_x(p) - 4 && X <= box_x(p) + bw + 4 && Y >= box_y(p) - 4 && Y <= box_y(p) + bh + 4) ++covered;
          }
        }
        if (covered < best) best = covered, pos = p;
      }
    }
    const double bx = box_x(pos), by = box_y(pos);
    o += "<g>\n<rect x=\"" + num(bx) + "\" y=\"" + num(by) + "\" width=\"" + num(bw) + "\" height=\"" + num(bh) +
         "\" fill=\"white\" fill-opacity=\"0.9\" stroke=\"#b0b0b0\" rx=\"3\"/>\n";
    for (size_t k = 0; k < entries.size(); ++k) {
      const Series& s = *entries[k];
      double cy = by + 15 + 20.0 * double(k);
      if (s.kind == Series::Kind::Line)
        o += "<line x1=\"" + num(bx + 8) + "\" y1=\"" + num(cy) + "\" x2=\"" + num(bx + 32) + "\" y2=\"" + num(cy) +
             "\" stroke=\"" + escape(s.color) + "\" stroke-width=\"" + num(s.size) + "\"" +
             (s.dashed ? " stroke-dasharray=\"6 4\"" : "") + "/>\n";
      else
        o += "<circle cx=\"" + num(bx + 20) + "\" cy=\"" + num(cy) + "\" r=\"" + num(s.size) + "\" fill=\"" + escape(s.color) + "\"/>\n";
      o += "<text x=\"" + num(bx + 38) + "\" y=\"" + num(cy + 4) + "\">" + escape(s.label) + "</text>\n";
    }
    o += "</g>\n";
  }

  // Title and axis labels.
  if (!title_.empty())
    o += "<text x=\"" + num((ax0 + ax1) / 2) + "\" y=\"" + num(kTop / 2.0 + 6) +
         "\" text-anchor=\"middle\" font-size=\"16\">" + escape(title_) + "</text>\n";
  if (!xlabel_.empty())
    o += "<text x=\"" + num((ax0 + ax1) / 2) + "\" y=\"" + num(height_ - 14.0) + "\" text-anchor=\"middle\" font-size=\"13\">" +
         escape(xlabel_) + "</text>\n";
  if (!ylabel_.empty()) {
    std::string cx = num(18), cy = num((ay0 + ay1) / 2);
    o += "<text x=\"" + cx + "\" y=\"" + cy + "\" transform=\"rotate(-90 " + cx + " " + cy +
         ")\" text-anchor=\"middle\" font-size=\"13\">" + escape(ylabel_) + "</text>\n";
  }
  o += "</svg>\n";
  return o;
}

void Figure::save(const std::string& path) const {
  std::string text = svg();
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) fail("plot::Figure::save: ", path, ": cannot open for writing: ", std::strerror(errno));
  bool ok = std::fwrite(text.data(), 1, text.size(), f) == text.size();
  ok = std::fclose(f) == 0 && ok;
  if (!ok) fail("plot::Figure::save: ", path, ": write failed");
}

}  // namespace tapeflow::plot
