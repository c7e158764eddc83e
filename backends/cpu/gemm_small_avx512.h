// The AVX-512 small-gemm kernel's tail-column kernels (gemm_small_tail_avx512.cpp), for the
// 1-7 columns past the last whole vector of C. Internal header (not public API).
#pragma once
#include <cstdint>

#include "backends/cpu/gemm_small_shared.h"

namespace tapeflow::backend::cpu::gemm_small_detail {

// Rows of C a tail kernel works on together: enough independent accumulators (R * T) to keep
// both FMA pipes busy through the FMA latency, and no more than the registers hold.
template <int T>
constexpr int tail_rows() { return T <= 2 ? 8 : T <= 4 ? 4 : 2; }

// Columns [0, t) of g.C (offset to the first tail column; g.bias too), 1 <= t <= 7:
// A stored M x K (g.sai == K's stride 1): kn values of k of t dot products per row against the
// tail columns of B stored as t rows bt, ldt apart (first: the first chunk of k).
void run_tail_dots(int64_t t, const Args& g, int64_t M, int64_t kn, const float* bt, int64_t ldt, bool first);
// A stored K x M (g.sai == 1): all K at once, B(k, j) = b[k * bk + j * bj].
void run_tail_cols(int64_t t, const Args& g, int64_t M, int64_t K, const float* b, int64_t bk, int64_t bj);

}  // namespace tapeflow::backend::cpu::gemm_small_detail
