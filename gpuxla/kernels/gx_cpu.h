// gx_cpu.h -- the host side of the native `cpu` platform (compiled with -DGX_CPU; gx_common.cuh
// includes it).  Kernels rendered by the CPU dialect of compiler/render.py are plain C++ loops:
// they use none of CUDA's thread model, only its spelling of a few keywords and intrinsics
// (gx_host.h), and gx_parallel below to spread independent chunks of work over threads.
#pragma once
#ifndef GX_CPU_H
#define GX_CPU_H
#define __global__
#define __device__
#define __host__
#define __launch_bounds__(...)
#include "gx_host.h"
#ifdef _OPENMP
#include <omp.h>
#endif

#define GX_EXPORT extern "C" __attribute__((visibility("default")))
// Before a loop whose iterations are independent (no reduction in it): vectorise it.
#ifdef _OPENMP
#define GX_SIMD _Pragma("omp simd")
#else
#define GX_SIMD
#endif

// Run body(lo, hi) over [0, n) in chunks of `grain` items, on up to `threads` OpenMP threads.
// The chunks are independent (elements of a loop kernel, whole rows of a reduction), so the
// result is the same bits whatever the thread count or schedule.
template <class F>
static inline void gx_parallel(long long n, long long grain, int threads, F&& body) {
  long long chunks = (n + grain - 1) / grain;
#ifdef _OPENMP
  if (threads > 1 && chunks > 1) {
    int t = (long long)threads < chunks ? threads : (int)chunks;
#pragma omp parallel for num_threads(t) schedule(static)
    for (long long c = 0; c < chunks; ++c) body(c * grain, c + 1 < chunks ? (c + 1) * grain : n);
    return;
  }
#endif
  (void)chunks;
  (void)threads;
  body(0LL, n);
}

// The OpenMP threads this module would use by default (0 when built without OpenMP).
GX_EXPORT int gx_cpu_max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 0;
#endif
}
#endif  // GX_CPU_H
