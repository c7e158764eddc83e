// CpuBackend::lstm_gates / lstm_gates_backward: the LSTM gate nonlinearities and cell update
// fused into one pass over each batch row (rows in parallel; float32 uses the vectorised exp /
// tanh / sigmoid of vec_math), see backend.h.
#include <algorithm>
#include <cmath>
#include <type_traits>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vec_math.h"

namespace tapeflow::backend::cpu {
namespace {

template <class T> T sigm(T v) { return T(1) / (T(1) + std::exp(-v)); }

// y = tanh(x) / sigmoid(x) over n contiguous values (float32: the vectorised vec_math versions).
template <class T> void tanh_n(const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) vec_tanh_f32(x, y, n);
  else for (int64_t k = 0; k < n; ++k) y[k] = std::tanh(x[k]);
}
template <class T> void sigmoid_n(const T* x, T* y, int64_t n) {
  if constexpr (std::is_same_v<T, float>) vec_sigmoid_f32(x, y, n);
  else for (int64_t k = 0; k < n; ++k) y[k] = sigm(x[k]);
}
// act (4H) = (sig(i), sig(f), tanh(g), sig(o)) of one row of gates.
template <class T> void activate(const T* g, T* act, int64_t H) {
  sigmoid_n(g, act, 2 * H);
  tanh_n(g + 2 * H, act + 2 * H, H);
  sigmoid_n(g + 3 * H, act + 3 * H, H);
}

int64_t row_grain(int64_t H) { return std::max<int64_t>(1, 4096 / std::max<int64_t>(1, H)); }

template <class T>
void gates_fwd(const View& gates, const View& c, const View& hc) {
  const int64_t B = c.shape[0], H = c.shape[1];
  const T* gp = static_cast<const T*>(gates.data);
  const T* cp = static_cast<const T*>(c.data);
  T* hp = static_cast<T*>(hc.data);
  parallel_for(0, B, row_grain(H), [&](int64_t b0, int64_t b1) {
    std::vector<T> act(static_cast<size_t>(4 * H));
    T* a = act.data();
    for (int64_t b = b0; b < b1; ++b) {
      activate(gp + b * 4 * H, a, H);
      T* out = hp + b * 2 * H;
      const T* cr = cp + b * H;
      for (int64_t j = 0; j < H; ++j) out[H + j] = a[H + j] * cr[j] + a[j] * a[2 * H + j];  // c'
      tanh_n(out + H, out, H);
      for (int64_t j = 0; j < H; ++j) out[j] *= a[3 * H + j];  // h' = o * tanh(c')
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
  parallel_for(0, B, row_grain(H), [&](int64_t b0, int64_t b1) {
    std::vector<T> buf(static_cast<size_t>(5 * H));
    T* a = buf.data();
    T* tcb = a + 4 * H;
    for (int64_t b = b0; b < b1; ++b) {
      activate(gp + b * 4 * H, a, H);
      tanh_n(hp + b * 2 * H + H, tcb, H);
      const T* d = dp + b * 2 * H;
      const T* cr = cp + b * H;
      T* go = ggp + b * 4 * H;
      for (int64_t j = 0; j < H; ++j) {
        const T i = a[j], f = a[H + j], gg = a[2 * H + j], o = a[3 * H + j], tc = tcb[j];
        const T dh = d[j];
        const T dc = d[H + j] + dh * o * (T(1) - tc * tc);
        go[j] = dc * gg * i * (T(1) - i);
        go[H + j] = dc * cr[j] * f * (T(1) - f);
        go[2 * H + j] = dc * i * (T(1) - gg * gg);
        go[3 * H + j] = dh * tc * o * (T(1) - o);
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
