// The Winograd F(2x2, 3x3) per-tile transforms of conv_winograd.cpp, over the channels at unit
// stride (the loops the compiler vectorises). Included by conv_winograd.cpp once per instruction
// set, each time in a namespace of its own under that set's target pragma. Adds and
// subtractions only: every build gives the same bits. Deliberately no include guard.

// v[xi * vs + c] = (B^T d B)[xi] for c in [0, C), d[i][j] = p[i * rs + j * C + c]: first the
// columns of B^T d into v, then each row times B in place.
void input_tile(const float* __restrict p, int64_t rs, int64_t C, float* __restrict v, int64_t vs) {
  // 4 row pointers and 16 output rows, named apart so the loop over c vectorises.
  const float* __restrict p0 = p;
  const float* __restrict p1 = p + rs;
  const float* __restrict p2 = p + 2 * rs;
  const float* __restrict p3 = p + 3 * rs;
  for (int j = 0; j < 4; ++j) {  // column j of B^T d, kept in the 4 rows of v (xi = i * 4 + j)
    const int64_t o = j * C;
    float* __restrict v0 = v + j * vs;
    float* __restrict v1 = v + (4 + j) * vs;
    float* __restrict v2 = v + (8 + j) * vs;
    float* __restrict v3 = v + (12 + j) * vs;
    for (int64_t c = 0; c < C; ++c) {
      const float a = p0[o + c], b = p1[o + c], d = p2[o + c], e = p3[o + c];
      v0[c] = a - d;
      v1[c] = b + d;
      v2[c] = d - b;
      v3[c] = b - e;
    }
  }
  for (int i = 0; i < 4; ++i) {  // (B^T d) B, row i in place
    float* __restrict e0 = v + (i * 4) * vs;
    float* __restrict e1 = v + (i * 4 + 1) * vs;
    float* __restrict e2 = v + (i * 4 + 2) * vs;
    float* __restrict e3 = v + (i * 4 + 3) * vs;
    for (int64_t c = 0; c < C; ++c) {
      const float a = e0[c], b = e1[c], d = e2[c], e = e3[c];
      e0[c] = a - d;
      e1[c] = b + d;
      e2[c] = d - b;
      e3[c] = b - e;
    }
  }
}

// q[(a * 2 + b) * K + k] = (A^T m A)[a][b] for k in [0, K), m[xi] = m[xi * ms + k].
void output_tile(const float* __restrict m, int64_t ms, int64_t K, float* __restrict q) {
  for (int64_t k = 0; k < K; ++k) {
    float r[16], a0[4], a1[4];
    for (int xi = 0; xi < 16; ++xi) r[xi] = m[xi * ms + k];
    for (int j = 0; j < 4; ++j) {  // A^T m
      a0[j] = r[j] + r[4 + j] + r[8 + j];
      a1[j] = r[4 + j] - r[8 + j] - r[12 + j];
    }
    q[k] = a0[0] + a0[1] + a0[2];
    q[K + k] = a0[1] - a0[2] - a0[3];
    q[2 * K + k] = a1[0] + a1[1] + a1[2];
    q[3 * K + k] = a1[1] - a1[2] - a1[3];
  }
}

// d[xi * ds + k] = (A g A^T)[xi] for k in [0, K): g = [g0[k] g0[K + k]; g0[rs + k] g0[rs + K + k]]
// the tile's 2x2 output gradient, A = [1 0; 1 1; 1 -1; 0 -1].
void grad_tile(const float* __restrict g0, int64_t rs, int64_t K, float* __restrict d,
               int64_t ds) {
  for (int64_t k = 0; k < K; ++k) {
    const float a = g0[k], b = g0[K + k], c = g0[rs + k], e = g0[rs + K + k];
    const float r[4][2] = {{a, b}, {a + c, b + e}, {a - c, b - e}, {-c, -e}};  // A g, then (A g) A^T
    for (int i = 0; i < 4; ++i) {
      d[(i * 4 + 0) * ds + k] = r[i][0];
      d[(i * 4 + 1) * ds + k] = r[i][0] + r[i][1];
      d[(i * 4 + 2) * ds + k] = r[i][0] - r[i][1];
      d[(i * 4 + 3) * ds + k] = -r[i][1];
    }
  }
}
