// A small SVG chart writer for the samples: line and scatter series on one pair of linear
// axes, with title, axis labels, round-number ticks, grid and legend, at a fixed pixel size.
// No dependencies beyond the standard library; the output opens in any browser.
//   plot::Figure fig;
//   fig.title("Cost per epoch").xlabel("Epoch").ylabel("Training Cost");
//   fig.line(epochs, costs, "cost").save("cost.svg");
#pragma once
#include <string>
#include <vector>

namespace tapeflow::plot {

struct Series {
  enum class Kind { Line, Scatter };
  Kind kind = Kind::Line;
  std::vector<double> x, y;  // non-finite points are skipped (a line breaks there)
  std::string label;         // legend entry; "" leaves the series out of the legend
  std::string color;         // any SVG color; "" takes the next one of the palette
  double size = 0;           // line width or marker radius in pixels; 0 = default (2 / 3.5)
  bool dashed = false;       // lines only
};

enum class LegendPos { Auto, UpperRight, UpperLeft, LowerRight, LowerLeft, None };

class Figure {
 public:
  explicit Figure(int width = 640, int height = 480);

  Figure& title(const std::string& text);
  Figure& xlabel(const std::string& text);
  Figure& ylabel(const std::string& text);
  // Fixed axis ranges (otherwise the data range widened to round ticks).
  Figure& xlim(double lo, double hi);
  Figure& ylim(double lo, double hi);
  // Auto puts the legend in the corner that hides the fewest points.
  Figure& legend(LegendPos pos);

  Figure& line(std::vector<double> x, std::vector<double> y, const std::string& label = "",
               const std::string& color = "");
  Figure& scatter(std::vector<double> x, std::vector<double> y, const std::string& label = "",
                  const std::string& color = "");
  Figure& add(Series s);

  std::string svg() const;
  void save(const std::string& path) const;  // throws tapeflow::Error when the file cannot be written

 private:
  int width_, height_;
  std::string title_, xlabel_, ylabel_;
  bool has_xlim_ = false, has_ylim_ = false;
  double xlo_ = 0, xhi_ = 1, ylo_ = 0, yhi_ = 1;
  LegendPos legend_ = LegendPos::Auto;
  std::vector<Series> series_;
};

// Round ticks for an axis over [lo, hi]: a step of 1, 2 or 5 times a power of ten giving
// about `target` intervals; [first, last] is the data range widened to whole steps.
struct Ticks {
  double first = 0, last = 1, step = 1;
  std::vector<double> values;
  int decimals = 0;  // digits after the point that print every tick exactly
};
Ticks nice_ticks(double lo, double hi, int target = 6);
std::string format_tick(double value, int decimals);

}  // namespace tapeflow::plot
