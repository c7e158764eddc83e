// Philox4x32-10: the counter-based generator behind every random op on every device (element i
// of a draw uses counter offset + i, so streams do not depend on the thread count or device).
// Internal header (not part of the public API).
#pragma once
#include <cstdint>

#include "base/hd.h"

namespace tapeflow {

// ---- Philox4x32-10 ----
struct Philox4 { uint32_t v[4]; };

TF_HD uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t p = (uint64_t)a * (uint64_t)b;
  *hi = (uint32_t)(p >> 32);
  return (uint32_t)p;
}

// Four 32-bit random words for counter `ctr` under key `seed`.
TF_HD Philox4 philox4x32(uint64_t seed, uint64_t ctr) {
  uint32_t c0 = (uint32_t)ctr, c1 = (uint32_t)(ctr >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = (uint32_t)seed, k1 = (uint32_t)(seed >> 32);
  for (int r = 0; r < 10; ++r) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo32(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u; k1 += 0xBB67AE85u;
  }
  Philox4 out{{c0, c1, c2, c3}};
  return out;
}

// Uniform double in [0, 1) from 53 random bits.
TF_HD double u01(uint32_t hi, uint32_t lo) {
  uint64_t bits = ((uint64_t)hi << 21) ^ (uint64_t)(lo >> 11);
  bits &= ((uint64_t)1 << 53) - 1;
  return (double)bits * (1.0 / 9007199254740992.0);
}

}  // namespace tapeflow
