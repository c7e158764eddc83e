// Default implementations of the "normalisation, embedding, sorting" entries of backend.h for
// a device that does not override them: every (contiguous) view is staged through host memory
// and the CPU kernel runs there. Correct everywhere, slow on a device (two copies per call).
#include <vector>

#include "backends/backend.h"

namespace tapeflow::backend {
namespace {

// Host copies of a call's views; inputs are copied in, outputs copied back by finish().
struct Staging {
  Backend& dev;
  std::vector<std::vector<char>> bufs;
  std::vector<std::pair<View, View>> outs;  // (device view, host view)
  explicit Staging(Backend& d) : dev(d) { bufs.reserve(16); }
  View host(const View& v, bool input, bool output) {
    if (!v.data) return v;
    size_t n = size_t(v.numel()) * dtype_size(v.dtype);
    bufs.emplace_back(n ? n : 1);
    View h = v;
    h.data = bufs.back().data();
    if (input && n) dev.copy_to_host(h.data, v.data, n);
    if (output) outs.emplace_back(v, h);
    return h;
  }
  View in(const View& v) { return host(v, true, false); }
  View out(const View& v) { return host(v, false, true); }
  void finish() {
    for (auto& [d, h] : outs) {
      size_t n = size_t(d.numel()) * dtype_size(d.dtype);
      if (n) dev.copy_from_host(d.data, h.data, n);
    }
    dev.synchronize();
  }
};

}  // namespace

void Backend::batch_norm_stats(const View& x, const View& mean, const View& var) {
  Staging s(*this);
  cpu_backend().batch_norm_stats(s.in(x), s.out(mean), s.out(var));
  s.finish();
}
void Backend::batch_norm_forward(const View& x, const View& mean, const View& invstd,
                                 const View& weight, const View& bias, const View& out) {
  Staging s(*this);
  cpu_backend().batch_norm_forward(s.in(x), s.in(mean), s.in(invstd), s.in(weight), s.in(bias), s.out(out));
  s.finish();
}
void Backend::batch_norm_backward(const View& x, const View& gy, const View& mean,
                                  const View& invstd, const View& weight, bool training,
                                  const View& gx, const View& gweight, const View& gbias) {
  Staging s(*this);
  cpu_backend().batch_norm_backward(s.in(x), s.in(gy), s.in(mean), s.in(invstd), s.in(weight), training,
                                    s.out(gx), s.out(gweight), s.out(gbias));
  s.finish();
}
void Backend::layer_norm_forward(const View& x, const View& weight, const View& bias, double eps,
                                 const View& out, const View& mean, const View& rstd) {
  Staging s(*this);
  cpu_backend().layer_norm_forward(s.in(x), s.in(weight), s.in(bias), eps, s.out(out), s.out(mean), s.out(rstd));
  s.finish();
}
void Backend::layer_norm_backward(const View& x, const View& gy, const View& mean,
                                  const View& rstd, const View& weight, const View& gx,
                                  const View& gweight, const View& gbias) {
  Staging s(*this);
  cpu_backend().layer_norm_backward(s.in(x), s.in(gy), s.in(mean), s.in(rstd), s.in(weight), s.out(gx),
                                    s.out(gweight), s.out(gbias));
  s.finish();
}
void Backend::sort_rows(const View& x, int64_t k, bool descending, const View& values,
                        const View& indices) {
  Staging s(*this);
  cpu_backend().sort_rows(s.in(x), k, descending, s.out(values), s.out(indices));
  s.finish();
}

void Backend::lstm_gates(const View& gates, const View& c, const View& hc) {
  Staging s(*this);
  cpu_backend().lstm_gates(s.in(gates), s.in(c), s.out(hc));
  s.finish();
}
void Backend::lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc,
                                  const View& ggates, const View& gc) {
  Staging s(*this);
  cpu_backend().lstm_gates_backward(s.in(gates), s.in(c), s.in(hc), s.in(ghc), s.out(ggates), s.out(gc));
  s.finish();
}

}  // namespace tapeflow::backend
