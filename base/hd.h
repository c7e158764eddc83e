// TF_HD marks a small function for both g++ and nvcc (host and device), so the CPU tests cover
// the math the GPU runs. Internal header (not part of the public API).
#pragma once

#ifndef TF_HD
#if defined(__CUDACC__)
#define TF_HD __host__ __device__ __forceinline__
#else
#define TF_HD inline
#endif
#endif
