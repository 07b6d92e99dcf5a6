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
#include <type_traits>
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

// The process's worker pool (gx_pool.h: gx_pool_run), set by runtime.py when it loads the module;
// until then, or where the pool's library did not build, OpenMP's threads run gx_parallel.
typedef void (*gx_chunk_fn)(void* ctx, long long lo, long long hi);
typedef void (*gx_pool_fn)(long long n, long long grain, int threads, gx_chunk_fn fn, void* ctx);
static gx_pool_fn gx_pool_entry = nullptr;
GX_EXPORT void gx_cpu_set_pool(void* entry) { gx_pool_entry = (gx_pool_fn)entry; }

template <class F>
static void gx_chunk_of(void* ctx, long long lo, long long hi) { (*(F*)ctx)(lo, hi); }

// Run body(lo, hi) over [0, n) in chunks of `grain` items, on up to `threads` threads.
// The chunks are independent (elements of a loop kernel, whole rows of a reduction), so the
// result is the same bits whatever the thread count or schedule.
template <class F>
static inline void gx_parallel(long long n, long long grain, int threads, F&& body) {
  long long chunks = (n + grain - 1) / grain;
  if (threads > 1 && chunks > 1 && gx_pool_entry != nullptr) {
    typedef typename std::remove_reference<F>::type B;
    gx_pool_entry(n, grain, threads, &gx_chunk_of<B>, (void*)&body);
    return;
  }
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

// Chunks of n items that give each of `threads` threads one (a multiple of 16 items: whole cache
// lines of float32 outputs per thread), for work whose result does not depend on its chunks.
static inline long long gx_even_grain(long long n, int threads) {
  long long t = threads > 1 ? threads : 1, g = (n + t - 1) / t;
  g = (g + 15) / 16 * 16;
  return g > 0 ? g : 1;
}

// ---------------------------------------------------------------------------------------------
// float32 exp, expm1, log, log1p, tanh the compiler can vectorise (glibc's are calls, one value at
// a time).  log, log1p and tanh compute in double -- where float's whole range, subnormals
// included, is normal and a short polynomial is accurate to ~1e-14 -- and round once to float:
// the correctly rounded value but for rare halfway-close cases (then 1 ulp off).  exp and expm1,
// the hot ones (softmax, selu, logistic), compute in float, twice the lanes.  Special values (nan,
// +-inf, 0, negative logs) come out as C's.  No branches: both sides are computed and selected
// (the module is built with -fno-trapping-math, so the compiler may do the same).
// ---------------------------------------------------------------------------------------------
// Horner steps of the polynomials below: one fused multiply-add where the CPU has them (the
// module is built with -ffp-contract=off, so `c + r * p` would stay two roundings and two
// instructions); the results stay within the bounds stated, tested in tests/test_cpu_platform.py.
#ifdef __FMA__
#define GX_MADF(a, b, c) __builtin_fmaf(a, b, c)
#define GX_MAD(a, b, c) __builtin_fma(a, b, c)
#else
#define GX_MADF(a, b, c) ((c) + (a) * (b))
#define GX_MAD(a, b, c) ((c) + (a) * (b))
#endif
static inline double gx_bits_f64(unsigned long long b) { double d; memcpy(&d, &b, 8); return d; }
static inline unsigned long long gx_f64_bits(double d) { unsigned long long b; memcpy(&b, &d, 8); return b; }

// e^x for |x| <= 110 (or nan): x = n ln2 + r, |r| <= ln2/2, e^r by Taylor to r^12, times 2^n.
static inline double gx_cpu_exp_core(double x) {
  const double shift = 6755399441055744.0;  // 1.5 * 2^52: adding it rounds to an integer in the low bits
  double kd = x * 1.4426950408889634 + shift;
  unsigned long long ki = gx_f64_bits(kd);
  double n = kd - shift;
  double r = (x - n * 6.93147180369123816490e-01) - n * 1.90821492927058770002e-10;
  double p = 1.0 / 479001600.0;
  p = GX_MAD(r, p, 1.0 / 39916800.0); p = GX_MAD(r, p, 1.0 / 3628800.0); p = GX_MAD(r, p, 1.0 / 362880.0);
  p = GX_MAD(r, p, 1.0 / 40320.0);    p = GX_MAD(r, p, 1.0 / 5040.0);    p = GX_MAD(r, p, 1.0 / 720.0);
  p = GX_MAD(r, p, 1.0 / 120.0);      p = GX_MAD(r, p, 1.0 / 24.0);      p = GX_MAD(r, p, 1.0 / 6.0);
  p = GX_MAD(r, p, 0.5);              p = GX_MAD(r, p, 1.0);             p = GX_MAD(r, p, 1.0);
  return p * gx_bits_f64((ki + 1023ull) << 52);  // (the 1.5*2^52 bits above bit 11 shift out)
}
static inline double gx_cpu_clamp110(double d) { return d < -110.0 ? -110.0 : (d > 110.0 ? 110.0 : d); }

// e^x - 1: Taylor to x^11 for |x| < 1/4 (no cancellation), else e^x - 1 (at most 4x its error).
static inline double gx_cpu_expm1_core(double d) {
  double p = 1.0 / 39916800.0;
  p = GX_MAD(d, p, 1.0 / 3628800.0); p = GX_MAD(d, p, 1.0 / 362880.0); p = GX_MAD(d, p, 1.0 / 40320.0);
  p = GX_MAD(d, p, 1.0 / 5040.0);    p = GX_MAD(d, p, 1.0 / 720.0);    p = GX_MAD(d, p, 1.0 / 120.0);
  p = GX_MAD(d, p, 1.0 / 24.0);      p = GX_MAD(d, p, 1.0 / 6.0);      p = GX_MAD(d, p, 0.5);
  double small = d + d * d * p;
  double big = gx_cpu_exp_core(gx_cpu_clamp110(d)) - 1.0;
  return fabs(d) < 0.25 ? small : big;
}

// log x for positive finite x: x = m 2^k with m in [sqrt(1/2), sqrt(2)), log m = 2 atanh(f/(2+f)).
static inline double gx_cpu_log_core(double x) {
  unsigned long long ix = gx_f64_bits(x) + (0x3ff0000000000000ull - 0x3fe6a09e667f3bcdull);
  double k = gx_bits_f64(0x4330000000000000ull | (ix >> 52)) - 4503599627371519.0;  // (ix >> 52) - 1023
  double m = gx_bits_f64((ix & 0x000fffffffffffffull) + 0x3fe6a09e667f3bcdull);
  double f = m - 1.0, s = f / (2.0 + f), z = s * s;
  double q = 1.0 / 17.0;
  q = GX_MAD(z, q, 1.0 / 15.0); q = GX_MAD(z, q, 1.0 / 13.0); q = GX_MAD(z, q, 1.0 / 11.0); q = GX_MAD(z, q, 1.0 / 9.0);
  q = GX_MAD(z, q, 1.0 / 7.0);  q = GX_MAD(z, q, 1.0 / 5.0);  q = GX_MAD(z, q, 1.0 / 3.0);
  return k * 6.93147180369123816490e-01 + (2.0 * s + (2.0 * s * z * q + k * 1.90821492927058770002e-10));
}

// exp and expm1 in float, 8 or 16 to a vector: within 1 ulp (exp) and 3 ulp (expm1) of the
// correctly rounded result; e^x = 2^n e^r as above, 2^n applied in two halves so that results in
// float's subnormal range round once.
static inline float gx_bits_f32(unsigned b) { float f; memcpy(&f, &b, 4); return f; }
static inline unsigned gx_f32_bits(float f) { unsigned b; memcpy(&b, &f, 4); return b; }
static inline float gx_cpu_exp_f32(float x) {   // x in [-104, 89]
  const float shift = 12582912.0f;  // 1.5 * 2^23
  float kd = x * 1.44269504f + shift;
  int n = (int)(gx_f32_bits(kd) - gx_f32_bits(shift));
  float nf = kd - shift;
  float r = (x - nf * 0.693145751953125f) - nf * 1.428606765330187e-06f;
  float p = 1.0f / 5040.0f;
  p = GX_MADF(r, p, 1.0f / 720.0f); p = GX_MADF(r, p, 1.0f / 120.0f); p = GX_MADF(r, p, 1.0f / 24.0f); p = GX_MADF(r, p, 1.0f / 6.0f);
  p = GX_MADF(r, p, 0.5f);          p = GX_MADF(r, p, 1.0f);          p = GX_MADF(r, p, 1.0f);
  int h = n >> 1;
  return (p * gx_bits_f32((unsigned)(h + 127) << 23)) * gx_bits_f32((unsigned)(n - h + 127) << 23);
}
static inline float gx_cpu_expf(float x) {
  float c = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  float e = gx_cpu_exp_f32(c);
  return x != x ? x : e;
}
// e^x - 1: Taylor to x^9 for |x| < 1/2 (no cancellation), else e^x - 1.
static inline float gx_cpu_expm1f(float x) {
  float p = 1.0f / 3628800.0f;
  p = GX_MADF(x, p, 1.0f / 362880.0f); p = GX_MADF(x, p, 1.0f / 40320.0f); p = GX_MADF(x, p, 1.0f / 5040.0f);
  p = GX_MADF(x, p, 1.0f / 720.0f);    p = GX_MADF(x, p, 1.0f / 120.0f);   p = GX_MADF(x, p, 1.0f / 24.0f);
  p = GX_MADF(x, p, 1.0f / 6.0f);      p = GX_MADF(x, p, 0.5f);
  float small = x + (x * x) * p;
  float c = x < -104.0f ? -104.0f : (x > 89.0f ? 89.0f : x);
  float big = gx_cpu_exp_f32(c) - 1.0f;
  float r = fabsf(x) < 0.5f ? small : big;
  return x != x ? x : r;
}

static inline float gx_cpu_logf(float x) {
  double d = x;
  double r = gx_cpu_log_core(d > 0.0 && d <= 3.5e38 ? d : 1.0);
  r = d == 0.0 ? -HUGE_VAL : r;
  r = d > 3.5e38 ? d : r;        // +inf
  r = d < 0.0 ? NAN : r;
  return (float)(d != d ? d : r);
}

// log1p: log u * x / (u - 1) with u = 1 + x rounded (the factor corrects u's rounding).
static inline float gx_cpu_log1pf(float x) {
  double d = x, u = 1.0 + d;
  double ok = u > 0.0 && u <= 3.5e38 ? u : 2.0;
  double r = u == 1.0 ? d : gx_cpu_log_core(ok) * (d / (ok - 1.0));
  r = u == 0.0 ? -HUGE_VAL : r;
  r = u > 3.5e38 ? u : r;
  r = u < 0.0 ? NAN : r;
  return (float)(d != d ? d : r);
}

// tanh |x| = t / (t + 2) with t = e^(2|x|) - 1; tanh 20 rounds to 1 in float.
static inline float gx_cpu_tanhf(float x) {
  double a = fabs((double)x);
  a = a > 20.0 ? 20.0 : a;
  double t = gx_cpu_expm1_core(2.0 * a);
  return (float)copysign(t / (t + 2.0), (double)x);
}
#define GX_EXPF gx_cpu_expf
#define GX_EXPM1F gx_cpu_expm1f
#define GX_LOGF gx_cpu_logf
#define GX_LOG1PF gx_cpu_log1pf
#define GX_TANHF gx_cpu_tanhf

// ---------------------------------------------------------------------------------------------
// An 8 x 8 block of U-sized elements moved transposed: dst[c * ds + r] = src[r * ss + c] (r, c < 8,
// strides in elements). The tiled loop kernels of the CPU dialect (render.CpuDialect.tile) copy an
// operand read transposed into a local buffer with it: eight contiguous loads of 8 elements, three
// rounds of shuffles (pairs of elements, then pairs of pairs, then halves), eight contiguous stores
// -- where a plain loop does a scalar store per element. Only bits move, so one U serves every type
// of its size (float and int32 alike). Compilers without __builtin_shufflevector get the loop.
// ---------------------------------------------------------------------------------------------
#if defined(__clang__) || (defined(__GNUC__) && __GNUC__ >= 12)
#define GX_SHUF __builtin_shufflevector
template <class U>
static inline void gx_transpose8(const U* __restrict__ src, long long ss, U* __restrict__ dst, long long ds) {
  // Spelled out, not looped: GCC -O2 leaves loops over V arrays rolled, the vectors on the stack.
  typedef U V __attribute__((vector_size(8 * sizeof(U))));
  V r0, r1, r2, r3, r4, r5, r6, r7;
  memcpy(&r0, src, sizeof(V));          memcpy(&r1, src + ss, sizeof(V));
  memcpy(&r2, src + 2 * ss, sizeof(V)); memcpy(&r3, src + 3 * ss, sizeof(V));
  memcpy(&r4, src + 4 * ss, sizeof(V)); memcpy(&r5, src + 5 * ss, sizeof(V));
  memcpy(&r6, src + 6 * ss, sizeof(V)); memcpy(&r7, src + 7 * ss, sizeof(V));
  // Rows 2i and 2i+1 interleaved within each half: a = (00 10 01 11 | 04 14 05 15), b = (02 12 03 13 | ...)
#define GX_LO(x, y) GX_SHUF(x, y, 0, 8, 1, 9, 4, 12, 5, 13)
#define GX_HI(x, y) GX_SHUF(x, y, 2, 10, 3, 11, 6, 14, 7, 15)
  V a0 = GX_LO(r0, r1), a1 = GX_HI(r0, r1), a2 = GX_LO(r2, r3), a3 = GX_HI(r2, r3);
  V a4 = GX_LO(r4, r5), a5 = GX_HI(r4, r5), a6 = GX_LO(r6, r7), a7 = GX_HI(r6, r7);
#undef GX_LO
#undef GX_HI
  // Pairs of pairs: b0 = column 0 of rows 0-3, then column 4 of them; b1 = columns 1 and 5; ...
#define GX_LO(x, y) GX_SHUF(x, y, 0, 1, 8, 9, 4, 5, 12, 13)
#define GX_HI(x, y) GX_SHUF(x, y, 2, 3, 10, 11, 6, 7, 14, 15)
  V b0 = GX_LO(a0, a2), b1 = GX_HI(a0, a2), b2 = GX_LO(a1, a3), b3 = GX_HI(a1, a3);
  V b4 = GX_LO(a4, a6), b5 = GX_HI(a4, a6), b6 = GX_LO(a5, a7), b7 = GX_HI(a5, a7);
#undef GX_LO
#undef GX_HI
  // Halves: column k = the low halves of b_k (rows 0-3) and b_k+4 (rows 4-7); column k + 4 the high.
#define GX_LO(x, y) GX_SHUF(x, y, 0, 1, 2, 3, 8, 9, 10, 11)
#define GX_HI(x, y) GX_SHUF(x, y, 4, 5, 6, 7, 12, 13, 14, 15)
  V c0 = GX_LO(b0, b4), c1 = GX_LO(b1, b5), c2 = GX_LO(b2, b6), c3 = GX_LO(b3, b7);
  V c4 = GX_HI(b0, b4), c5 = GX_HI(b1, b5), c6 = GX_HI(b2, b6), c7 = GX_HI(b3, b7);
#undef GX_LO
#undef GX_HI
  memcpy(dst, &c0, sizeof(V));          memcpy(dst + ds, &c1, sizeof(V));
  memcpy(dst + 2 * ds, &c2, sizeof(V)); memcpy(dst + 3 * ds, &c3, sizeof(V));
  memcpy(dst + 4 * ds, &c4, sizeof(V)); memcpy(dst + 5 * ds, &c5, sizeof(V));
  memcpy(dst + 6 * ds, &c6, sizeof(V)); memcpy(dst + 7 * ds, &c7, sizeof(V));
}
#undef GX_SHUF
#else
template <class U>
static inline void gx_transpose8(const U* __restrict__ src, long long ss, U* __restrict__ dst, long long ds) {
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 8; ++c) dst[c * ds + r] = src[r * ss + c];
}
#endif

// The OpenMP threads this module would use by default (0 when built without OpenMP).
GX_EXPORT int gx_cpu_max_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 0;
#endif
}

// A kernel's launch on the NumPy arrays themselves (runtime.py's bound launchers). Building the
// pointer array in Python costs ~1 us an array (`ndarray.ctypes`), more than a small kernel runs;
// here the launcher writes only each array object's address into a block it made once:
//   call = {entry, n, offset of data, of descr, of flags, then n pairs (array object, dtype object)}
// with the offsets of NumPy's PyArrayObject fields, which runtime.py finds and checks against
// sample arrays. An array that is not C-contiguous and aligned (flags 0x1 | 0x100), or whose
// dtype is not the one expected, is left to the caller: nothing runs, and the result is its
// position + 1 (0: the kernel ran).
GX_EXPORT int gx_cpu_call(void* const* call, int threads) {
  typedef void (*gx_entry)(void* const*, int);
  const long long n = (long long)call[1];
  const size_t od = (size_t)call[2], oe = (size_t)call[3], of = (size_t)call[4];
  void* small[32];
  void** ptrs = n <= 32 ? small : new void*[n];
  for (long long i = 0; i < n; ++i) {
    const char* a = (const char*)call[5 + 2 * i];
    if ((*(const int*)(a + of) & 0x101) != 0x101 || *(void* const*)(a + oe) != call[6 + 2 * i]) {
      if (ptrs != small) delete[] ptrs;
      return (int)i + 1;
    }
    ptrs[i] = *(void* const*)(a + od);
  }
  ((gx_entry)call[0])(ptrs, threads);
  if (ptrs != small) delete[] ptrs;
  return 0;
}
#endif  // GX_CPU_H
