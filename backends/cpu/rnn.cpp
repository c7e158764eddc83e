// CpuBackend::lstm_gates / lstm_gates_backward: the LSTM gate nonlinearities and cell update
// fused into one pass over each batch row (rows in parallel), see backend.h.
#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"

namespace tapeflow::backend::cpu {
namespace {

template <class T> T sigm(T v) { return T(1) / (T(1) + std::exp(-v)); }

template <class T>
void gates_fwd(const View& gates, const View& c, const View& hc) {
  const int64_t B = c.shape[0], H = c.shape[1];
  const T* gp = static_cast<const T*>(gates.data);
  const T* cp = static_cast<const T*>(c.data);
  T* hp = static_cast<T*>(hc.data);
  parallel_for(0, B, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* g = gp + b * 4 * H;
      T* out = hp + b * 2 * H;
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigm(g[j]), f = sigm(g[H + j]), gg = std::tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
        const T c2 = f * cp[b * H + j] + i * gg;
        out[H + j] = c2;
        out[j] = o * std::tanh(c2);
      }
    }
  });
}

template <class T>
void gates_bwd(const View& gates, const View& c, const View& hc, const View& ghc, const View& ggates, const View& gc) {
  const int64_t B = c.shape[0], H = c.shape[1];
  const T* gp = static_cast<const T*>(gates.data);
  const T* cp = static_cast<const T*>(c.data);
  const T* hp = static_cast<const T*>(hc.data);
  const T* dp = static_cast<const T*>(ghc.data);
  T* ggp = static_cast<T*>(ggates.data);
  T* gcp = static_cast<T*>(gc.data);
  parallel_for(0, B, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H)), [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; ++b) {
      const T* g = gp + b * 4 * H;
      const T* d = dp + b * 2 * H;
      T* gg_out = ggp + b * 4 * H;
      for (int64_t j = 0; j < H; ++j) {
        const T i = sigm(g[j]), f = sigm(g[H + j]), gg = std::tanh(g[2 * H + j]), o = sigm(g[3 * H + j]);
        const T tc = std::tanh(hp[b * 2 * H + H + j]);
        const T dh = d[j];
        const T dc = d[H + j] + dh * o * (T(1) - tc * tc);
        gg_out[j] = dc * gg * i * (T(1) - i);
        gg_out[H + j] = dc * cp[b * H + j] * f * (T(1) - f);
        gg_out[2 * H + j] = dc * i * (T(1) - gg * gg);
        gg_out[3 * H + j] = dh * tc * o * (T(1) - o);
        gcp[b * H + j] = dc * f;
      }
    }
  });
}

}  // namespace

void CpuBackend::lstm_gates(const View& gates, const View& c, const View& hc) {
  if (c.dtype == kFloat64) gates_fwd<double>(gates, c, hc);
  else gates_fwd<float>(gates, c, hc);
}
void CpuBackend::lstm_gates_backward(const View& gates, const View& c, const View& hc, const View& ghc,
                                     const View& ggates, const View& gc) {
  if (c.dtype == kFloat64) gates_bwd<double>(gates, c, hc, ghc, ggates, gc);
  else gates_bwd<float>(gates, c, hc, ghc, ggates, gc);
}

}  // namespace tapeflow::backend::cpu
