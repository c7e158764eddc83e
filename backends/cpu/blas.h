// OpenBLAS, loaded at run time: blas.cpp dlopen()s libopenblas.so.0 on first use, after picking
// its kernel (OPENBLAS_CORETYPE) from the CPU's features unless the user chose one. tapeflow
// never links OpenBLAS, so the choice is made before OpenBLAS's constructor reads it.
// Internal header (not part of the public API).
#pragma once
#include <cblas.h>

#include <string>

namespace tapeflow::backend::cpu::blas {

struct Api {
  decltype(&cblas_sgemm) sgemm = nullptr;
  decltype(&cblas_dgemm) dgemm = nullptr;
  decltype(&cblas_sgemv) sgemv = nullptr;
  decltype(&cblas_dgemv) dgemv = nullptr;
  void (*set_num_threads)(int) = nullptr;  // openblas_set_num_threads (may be absent)
  char* (*get_corename)() = nullptr;       // openblas_get_corename (may be absent)
};

// Loads OpenBLAS on first call (thread-safe); throws tapeflow::Error when it cannot be loaded.
const Api& api();
// Keeps OpenBLAS single-threaded (tapeflow's pool splits gemms); a no-op until it is loaded.
void sync_threads(int n);
// "Haswell (chosen: avx2+fma)" and the like; loads OpenBLAS.
std::string info();

}  // namespace tapeflow::backend::cpu::blas
