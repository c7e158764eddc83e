// Regions of a source compiled for one instruction set: the functions defined between
// TF_ISA_BEGIN("GCC target(\"avx2\")") and TF_ISA_END get that target, with contraction into
// FMA off (AVX-512F has FMA of its own), so that a loop written once and included in several
// regions gives the baseline build's bits. GCC only (its push_options / target / optimize
// pragmas); TF_ISA_REGIONS is 0 elsewhere (clang, other CPUs) and the callers keep their
// baseline build. Internal header (not public API).
#pragma once

#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(__clang__)
#define TF_ISA_REGIONS 1
#define TF_ISA_BEGIN(target) \
  _Pragma("GCC push_options") _Pragma(target) _Pragma("GCC optimize(\"fp-contract=off\")")
#define TF_ISA_END _Pragma("GCC pop_options")
#else
#define TF_ISA_REGIONS 0
#endif
