// Winograd F(2x2, 3x3), see conv_winograd.h. Per call: U = G w G^T for every (k, c), stored
// as 16 matrices (C, K). The tiles (2x2 output, 4x4 input) are cut into blocks of whole tile
// rows ("units": one sample, one tile row) of about kBlockBytes of transformed data; per block:
//   V[xi] (T, C) = B^T d B of every tile,  M[xi] (T, K) = V[xi] @ U[xi]  (16 sgemm calls),
//   y tiles      = A^T M A;
// the transforms run over the channels (unit stride), the input gathered channels last first.
// The weight gradient: dU[xi] (C, K) = sum over blocks of V[xi]^T dM[xi], dM = A g A^T of each
// tile's 2x2 output gradient g, then gw = G^T dU G.
// Blocks run in parallel on the pool; each writes its own output rows only.
#include "backends/cpu/conv_winograd.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "backends/cpu/blas.h"
#include "backends/cpu/isa_region.h"
#include "backends/cpu/parallel.h"
#include "backends/cpu/vec_math.h"

namespace tapeflow::backend::cpu {
namespace {

constexpr int64_t kBlockBytes = 768 * 1024;
// Extra floats between the 16 matrices of V / M: their rows would otherwise often lie a power
// of two apart, and the 16 streams of a transform would fight over the same cache sets.
constexpr int64_t kPad = 48;

std::vector<float>& scratch() {
  thread_local std::vector<float> buf;
  return buf;
}
// A scratch buffer above 8 MB (one tile row of a very wide layer) is given back after the call.
void trim_scratch() {
  std::vector<float>& buf = scratch();
  if (buf.size() * sizeof(float) > (8u << 20)) std::vector<float>().swap(buf);
}

// U[xi][c][k] = (G g G^T)[xi] for g = w(k, c).
void transform_weights(const float* w, int64_t C, int64_t K, bool flip, float* U) {
  const int64_t KC = K * C;
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c) {
      float g[3][3];
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j)
          g[i][j] = flip ? w[(c * K + k) * 9 + (2 - i) * 3 + (2 - j)] : w[(k * C + c) * 9 + i * 3 + j];
      float t[4][3];  // G g
      for (int j = 0; j < 3; ++j) {
        t[0][j] = g[0][j];
        t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
        t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
        t[3][j] = g[2][j];
      }
      for (int i = 0; i < 4; ++i) {
        float* u = U + (i * 4) * KC + c * K + k;
        u[0 * KC] = t[i][0];
        u[1 * KC] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
        u[2 * KC] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
        u[3 * KC] = t[i][2];
      }
    }
}

// The per-tile transforms (conv_winograd_tiles.h), built for AVX-512 and AVX2 as well as the
// library's x86-64 baseline; each routine takes the build vec_math_isa() allows (TAPEFLOW_CPU_ISA
// caps it) once, not per tile.
namespace wg_base {
#include "backends/cpu/conv_winograd_tiles.h"
}  // namespace wg_base
#if TF_ISA_REGIONS
TF_ISA_BEGIN("GCC target(\"avx2\")")
namespace wg_avx2 {
#include "backends/cpu/conv_winograd_tiles.h"
}  // namespace wg_avx2
TF_ISA_END
TF_ISA_BEGIN("GCC target(\"avx512f\")")
namespace wg_avx512 {
#include "backends/cpu/conv_winograd_tiles.h"
}  // namespace wg_avx512
TF_ISA_END
#define TF_WINOGRAD_BUILD(name)                                  \
  decltype(&wg_base::name) name##_build() {                      \
    switch (vec_math_isa()) {                                    \
      case VecIsa::Avx512: return &wg_avx512::name;              \
      case VecIsa::Avx2: return &wg_avx2::name;                  \
      default: return &wg_base::name;                            \
    }                                                            \
  }
#else
#define TF_WINOGRAD_BUILD(name) \
  decltype(&wg_base::name) name##_build() { return &wg_base::name; }
#endif
TF_WINOGRAD_BUILD(input_tile)
TF_WINOGRAD_BUILD(output_tile)
TF_WINOGRAD_BUILD(grad_tile)
#undef TF_WINOGRAD_BUILD


// V[xi][t][c] (xi stride vs) = (B^T d B)[xi] of the tiles t of units [u0, u1) of x (N, C, H, W),
// vectorised over the channels; P is scratch for 4 * (2 TW + 2) * C floats.
void input_block(const float* x, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw, int64_t TH, int64_t TW,
                 int64_t u0, int64_t u1, float* P, float* V, int64_t vs) {
  const int64_t RW = 2 * TW + 2;  // a unit's input rows, column s = x column s - pw
  const int64_t s0 = std::min(pw, RW), s1 = std::min(pw + W, RW);  // the columns inside x
  const int64_t RC = RW * C;
  const auto input_tile = input_tile_build();
  for (int64_t u = u0; u < u1; ++u) {
    const int64_t n = u / TH, ty = u % TH;
    // P[r][s][c]: the unit's 4 input rows, channels last. The next tile row of the same sample
    // starts 2 rows lower: its first 2 rows are this unit's last 2, moved up.
    int r0 = 0;
    if (u > u0 && ty > 0) {
      std::memmove(P, P + 2 * RC, size_t(2 * RC) * sizeof(float));
      r0 = 2;
    }
    for (int r = r0; r < 4; ++r) {
      float* pr = P + r * RC;
      std::fill(pr, pr + RC, 0.0f);
      const int64_t h = 2 * ty - ph + r;
      if (h < 0 || h >= H) continue;
      for (int64_t c = 0; c < C; ++c) {
        const float* xr = x + ((n * C + c) * H + h) * W - pw;
        for (int64_t sc = s0; sc < s1; ++sc) pr[sc * C + c] = xr[sc];
      }
    }
    for (int64_t tx = 0; tx < TW; ++tx) input_tile(P + 2 * tx * C, RW * C, C, V + ((u - u0) * TW + tx) * C, vs);
  }
}

}  // namespace

void winograd3x3(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                 const float* w, int64_t K, bool flip_transpose, float* y) {
  const int64_t OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
  const int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, units = N * TH;
  std::vector<float> U(size_t(16 * K * C));
  transform_weights(w, C, K, flip_transpose, U.data());
  // Units per block: the block's V and M (16 (C + K) floats per tile) within kBlockBytes.
  const int64_t per_unit = 16 * (C + K) * TW * int64_t(sizeof(float));
  const int64_t upb = std::clamp<int64_t>(kBlockBytes / std::max<int64_t>(per_unit, 1), 1, units);
  const int64_t blocks = (units + upb - 1) / upb;
  const int64_t RW = 2 * TW + 2;
  const float* Up = U.data();
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    const int64_t Tmax = upb * TW;
    std::vector<float>& buf = scratch();
    const size_t need = size_t(16 * ((C + K) * Tmax + 2 * kPad) + 4 * RW * C + 2 * K * OW + 4 * K * TW);
    if (buf.size() < need) buf.resize(need);
    float* V = buf.data();
    float* M = V + 16 * (C * Tmax + kPad);
    float* P = M + 16 * (K * Tmax + kPad);
    float* Y = P + 4 * RW * C;              // Y[k][a][ow]: the unit's 2 output rows
    float* Q = Y + 2 * K * OW;              // Q[tx][4][k]: the unit's output tiles
    const auto output_tile = output_tile_build();
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t u0 = b * upb, u1 = std::min(u0 + upb, units), T = (u1 - u0) * TW;
      const int64_t VS = C * T + kPad, MS = K * T + kPad;  // V[xi][t][c], M[xi][t][k]
      input_block(x, C, H, W, ph, pw, TH, TW, u0, u1, P, V, VS);
      for (int xi = 0; xi < 16; ++xi)
        blas::api().sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, blasint(T), blasint(K), blasint(C), 1.0f,
                          V + xi * VS, blasint(C), Up + xi * C * K, blasint(K), 0.0f, M + xi * MS, blasint(K));
      // Output transform, vectorised over the output channels: A^T m A per tile into Y, then
      // the unit's two rows out.
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t n = u / TH, ty = u % TH;
        for (int64_t tx = 0; tx < TW; ++tx) output_tile(M + ((u - u0) * TW + tx) * K, MS, K, Q + tx * 4 * K);
        for (int64_t k = 0; k < K; ++k) {  // Q[tx][a * 2 + b][k] -> Y[k][a][2 tx + b]
          float* yk = Y + k * 2 * OW;
          for (int64_t tx = 0; tx < TW; ++tx) {
            const float* q = Q + tx * 4 * K + k;
            yk[2 * tx] = q[0];
            yk[OW + 2 * tx] = q[2 * K];
            if (2 * tx + 1 < OW) {
              yk[2 * tx + 1] = q[K];
              yk[OW + 2 * tx + 1] = q[3 * K];
            }
          }
        }
        const int64_t rows = std::min<int64_t>(2, OH - 2 * ty);
        for (int64_t k = 0; k < K; ++k)
          std::memcpy(y + ((n * K + k) * OH + 2 * ty) * OW, Y + k * 2 * OW, size_t(rows * OW) * sizeof(float));
      }
    }
    trim_scratch();
  });
}

void winograd3x3_grad_weight(const float* x, int64_t N, int64_t C, int64_t H, int64_t W, int64_t ph, int64_t pw,
                             const float* gy, int64_t K, float* gw) {
  const int64_t OH = H + 2 * ph - 2, OW = W + 2 * pw - 2;
  const int64_t TH = (OH + 1) / 2, TW = (OW + 1) / 2, units = N * TH;
  const int64_t per_unit = 16 * (C + K) * TW * int64_t(sizeof(float));
  const int64_t upb = std::clamp<int64_t>(kBlockBytes / std::max<int64_t>(per_unit, 1), 1, units);
  const int64_t blocks = (units + upb - 1) / upb, RW = 2 * TW + 2, CK = C * K;
  // dU[xi] (C, K) = sum over tiles of V[xi]^T dM[xi], dM = A g A^T of the tile's 2x2 output
  // gradient g; per chunk of blocks, then summed over the chunks in order (deterministic).
  std::vector<std::vector<float>> parts(static_cast<size_t>(blocks));
  parallel_for(0, blocks, 1, [&](int64_t b0, int64_t b1) {
    const int64_t Tmax = upb * TW;
    std::vector<float>& buf = scratch();
    const size_t need = size_t(16 * ((C + K) * Tmax + 2 * kPad) + 4 * RW * C + 4 * TW * K);
    if (buf.size() < need) buf.resize(need);
    float* V = buf.data();
    float* D = V + 16 * (C * Tmax + kPad);
    float* P = D + 16 * (K * Tmax + kPad);
    float* Gr = P + 4 * RW * C;  // Gr[a][ow][k], ow < 2 TW: the unit's 2 gy rows, channels last
    std::vector<float>& dU = parts[size_t(b0)];
    dU.assign(size_t(16 * CK), 0.0f);
    const auto grad_tile = grad_tile_build();
    for (int64_t b = b0; b < b1; ++b) {
      const int64_t u0 = b * upb, u1 = std::min(u0 + upb, units), T = (u1 - u0) * TW;
      const int64_t VS = C * T + kPad, DS = K * T + kPad;
      input_block(x, C, H, W, ph, pw, TH, TW, u0, u1, P, V, VS);
      for (int64_t u = u0; u < u1; ++u) {
        const int64_t n = u / TH, ty = u % TH;
        std::fill(Gr, Gr + 4 * TW * K, 0.0f);
        for (int64_t a = 0; a < 2 && 2 * ty + a < OH; ++a)
          for (int64_t k = 0; k < K; ++k) {
            const float* g = gy + ((n * K + k) * OH + 2 * ty + a) * OW;
            float* gr = Gr + a * 2 * TW * K + k;
            for (int64_t ow = 0; ow < OW; ++ow) gr[ow * K] = g[ow];
          }
        for (int64_t tx = 0; tx < TW; ++tx) {
          grad_tile(Gr + 2 * tx * K, 2 * TW * K, K, D + ((u - u0) * TW + tx) * K, DS);
        }
      }
      for (int xi = 0; xi < 16; ++xi)
        blas::api().sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, blasint(C), blasint(K), blasint(T), 1.0f,
                          V + xi * VS, blasint(C), D + xi * DS, blasint(K), 1.0f, dU.data() + xi * CK, blasint(K));
    }
    trim_scratch();
  });
  std::vector<double> acc(size_t(16 * CK), 0.0);
  for (const std::vector<float>& p : parts)
    for (size_t i = 0; i < p.size(); ++i) acc[i] += double(p[i]);
  // gw[k][c] = G^T dU G (3 x 3); G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
  const double Gm[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (int64_t k = 0; k < K; ++k)
    for (int64_t c = 0; c < C; ++c)
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < 3; ++j) {
          double s = 0;
          for (int p4 = 0; p4 < 4; ++p4)
            for (int q4 = 0; q4 < 4; ++q4) s += Gm[p4][i] * acc[size_t((p4 * 4 + q4) * CK + c * K + k)] * Gm[q4][j];
          gw[(k * C + c) * 9 + i * 3 + j] = float(s);
        }
}

}  // namespace tapeflow::backend::cpu
