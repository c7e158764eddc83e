// The fused optimizer loops (SGD, Adam / AMSGrad, RMSprop, Adagrad), written once over a lane
// type and shared by the CPU and CUDA backends. The includer defines, in the namespace it
// includes this in: `template <class E> struct L` (the lanes of element type E: V, W, ld, st,
// bc, sqrt, max), TF_INL and TF_OPT_ENTRY (how the loops and run() are declared: always-inline
// and plain on the CPU, device functions under nvcc), TF_RESTRICT, and Args
// (backends/optimizer_args.h's OptimizerArgs).
// The operators on V are the element's own, in the source order of the unfused formulas of
// optim/, so each lane's result is the scalar formula's: the CPU includes this once per
// instruction set (backends/cpu/optimizer.cpp, under that set's target pragma, contraction off:
// the same bits in every build), CUDA once with one element per thread. Each loop runs whole
// vectors from b and returns where it stopped; the caller runs the rest with W == 1.
// Deliberately no include guard.

template <bool WD, class V>
TF_INL V decay(V x, V wd) {
  if constexpr (WD) return x - x * wd;
  else return x;
}

template <class E, bool WD, bool MOM, bool NESTEROV>
TF_INL int64_t sgd(const Args<E>& a, int64_t i, int64_t e) {
  using O = L<E>;
  using V = typename O::V;
  E* TF_RESTRICT p = a.p;
  const E* TF_RESTRICT gp = a.g;
  E* TF_RESTRICT s0 = a.s0;
  const V wd = O::bc(a.wd), lr = O::bc(a.lr), mom = O::bc(a.mom);
  for (; i + O::W <= e; i += O::W) {
    V x = decay<WD>(O::ld(p + i), wd), g = O::ld(gp + i);
    if constexpr (!MOM) {
      x = x - g * lr;
    } else {
      V v = O::ld(s0 + i) * mom;
      v = v - g * lr;
      O::st(s0 + i, v);
      if constexpr (NESTEROV) x = x + (v * mom - g * lr);
      else x = x + v;
    }
    O::st(p + i, x);
  }
  return i;
}

template <class E, bool WD, bool AMS>
TF_INL int64_t adam(const Args<E>& a, int64_t i, int64_t e) {
  using O = L<E>;
  using V = typename O::V;
  E* TF_RESTRICT p = a.p;
  const E* TF_RESTRICT gp = a.g;
  E* TF_RESTRICT s0 = a.s0;
  E* TF_RESTRICT s1 = a.s1;
  E* TF_RESTRICT s2 = a.s2;
  const V wd = O::bc(a.wd), b1 = O::bc(a.b1), one_b1 = O::bc(a.one_b1), b2 = O::bc(a.b2),
          one_b2 = O::bc(a.one_b2), alpha = O::bc(a.alpha), eps = O::bc(a.eps);
  for (; i + O::W <= e; i += O::W) {
    V x = decay<WD>(O::ld(p + i), wd), g = O::ld(gp + i);
    V m = O::ld(s0 + i) * b1;
    m = m + g * one_b1;
    V v = O::ld(s1 + i) * b2;
    v = v + (g * g) * one_b2;
    O::st(s0 + i, m);
    O::st(s1 + i, v);
    V d = v;
    if constexpr (AMS) {
      d = O::max(O::ld(s2 + i), v);  // h > v ? h : v
      O::st(s2 + i, d);
    }
    O::st(p + i, x - (m * alpha) / (O::sqrt(d) + eps));
  }
  return i;
}

template <class E, bool WD, bool CENTERED, bool MOM>
TF_INL int64_t rmsprop(const Args<E>& a, int64_t i, int64_t e) {
  using O = L<E>;
  using V = typename O::V;
  E* TF_RESTRICT p = a.p;
  const E* TF_RESTRICT gp = a.g;
  E* TF_RESTRICT s0 = a.s0;
  E* TF_RESTRICT avg = CENTERED ? a.s1 : nullptr;  // unused otherwise
  E* TF_RESTRICT buf = CENTERED ? a.s2 : a.s1;
  const V wd = O::bc(a.wd), rho = O::bc(a.rho), one_rho = O::bc(a.one_rho), eps = O::bc(a.eps),
          lr = O::bc(a.lr), mom = O::bc(a.mom);
  for (; i + O::W <= e; i += O::W) {
    V x = decay<WD>(O::ld(p + i), wd), g = O::ld(gp + i);
    V s = O::ld(s0 + i) * rho;
    s = s + (g * g) * one_rho;
    O::st(s0 + i, s);
    V den;
    if constexpr (CENTERED) {
      V m = O::ld(avg + i) * rho;
      m = m + g * one_rho;
      O::st(avg + i, m);
      den = s - m * m + eps;
    } else {
      den = s + eps;
    }
    V inc = g * lr / O::sqrt(den);
    if constexpr (MOM) {
      V q = O::ld(buf + i) * mom;
      q = q + inc;
      O::st(buf + i, q);
      x = x - q;
    } else {
      x = x - inc;
    }
    O::st(p + i, x);
  }
  return i;
}

template <class E, bool WD>
TF_INL int64_t adagrad(const Args<E>& a, int64_t i, int64_t e) {
  using O = L<E>;
  using V = typename O::V;
  E* TF_RESTRICT p = a.p;
  const E* TF_RESTRICT gp = a.g;
  E* TF_RESTRICT s0 = a.s0;
  const V wd = O::bc(a.wd), lr = O::bc(a.lr), eps = O::bc(a.eps);
  for (; i + O::W <= e; i += O::W) {
    V x = decay<WD>(O::ld(p + i), wd), g = O::ld(gp + i);
    V acc = O::ld(s0 + i) + g * g;
    O::st(s0 + i, acc);
    O::st(p + i, x - g * lr / O::sqrt(acc + eps));
  }
  return i;
}

// Picks the loop for the flags of s (template flags keep every loop branch-free).
template <class E, bool WD>
TF_INL int64_t dispatch_wd(const OptimizerStep& s, const Args<E>& a, int64_t b, int64_t e) {
  using K = OptimizerStep::Kind;
  switch (s.kind) {
    case K::SGD:
      if (s.momentum == 0) return sgd<E, WD, false, false>(a, b, e);
      if (s.nesterov) return sgd<E, WD, true, true>(a, b, e);
      return sgd<E, WD, true, false>(a, b, e);
    case K::Adam:
      if (s.amsgrad) return adam<E, WD, true>(a, b, e);
      return adam<E, WD, false>(a, b, e);
    case K::RMSprop:
      if (s.centered) {
        if (s.momentum > 0) return rmsprop<E, WD, true, true>(a, b, e);
        return rmsprop<E, WD, true, false>(a, b, e);
      }
      if (s.momentum > 0) return rmsprop<E, WD, false, true>(a, b, e);
      return rmsprop<E, WD, false, false>(a, b, e);
    case K::Adagrad:
      return adagrad<E, WD>(a, b, e);
  }
  return b;
}

// Runs [b, e) in whole vectors; returns where the rest (fewer than W elements) begins.
template <class E>
TF_OPT_ENTRY int64_t run(const OptimizerStep& s, const Args<E>& a, int64_t b, int64_t e) {
  if (s.weight_decay != 0) return dispatch_wd<E, true>(s, a, b, e);
  return dispatch_wd<E, false>(s, a, b, e);
}
