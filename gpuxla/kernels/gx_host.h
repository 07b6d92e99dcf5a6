// gx_host.h -- the CUDA intrinsics and math functions that host C++ lacks, for both host platforms:
// `cuda-interpret` (gx_interpret.h includes it) and the native `cpu` platform (gx_cpu.h).
//
// Bit casts (__float_as_uint, ...), integer intrinsics (__popc, __clz, ...), CUDA's global
// min/max, and the math functions CUDA has and glibc does not (rsqrtf, erfinvf, normcdff, ...).
// Nothing here knows about threads, blocks or fibers.
#pragma once
#ifndef GX_HOST_H
#define GX_HOST_H
#pragma GCC diagnostic ignored "-Wunused-function"

#include <math.h>
#include <string.h>

#ifndef __forceinline__
#define __forceinline__ inline __attribute__((always_inline))
#endif
#ifndef __align__
#define __align__(n) __attribute__((aligned(n)))
#endif

namespace gx_rt {
// Inverse error function in double: a rough start (Giles' single-precision fit), then Halley
// steps on erf (or on erfc in the tails, where 1 - |y| is exact and erf would cancel).
static inline double inv_erf(double p, double q) {  // p = |y| in (0,1), q = 1 - p
  double w = -log(q * (1.0 + p));
  double x;
  if (w < 5.0) {
    w -= 2.5;
    x = 2.81022636e-08;
    x = 3.43273939e-07 + x * w; x = -3.5233877e-06 + x * w; x = -4.39150654e-06 + x * w;
    x = 0.00021858087 + x * w;  x = -0.00125372503 + x * w; x = -0.00417768164 + x * w;
    x = 0.246640727 + x * w;    x = 1.50140941 + x * w;
  } else {
    w = sqrt(w) - 3.0;
    x = -0.000200214257;
    x = 0.000100950558 + x * w; x = 0.00134934322 + x * w;  x = -0.00367342844 + x * w;
    x = 0.00573950773 + x * w;  x = -0.0076224613 + x * w;  x = 0.00943887047 + x * w;
    x = 1.00167406 + x * w;     x = 2.83297682 + x * w;
  }
  x *= p;
  for (int i = 0; i < 8; ++i) {
    double f = p <= 0.5 ? erf(x) - p : q - erfc(x);
    double d = 1.1283791670955126 * exp(-x * x);  // d/dx erf
    if (d == 0.0 || f == 0.0) break;
    double dx = f / (d + x * f);  // Halley's step, using erf'' = -2x erf'
    x -= dx;
    if (fabs(dx) <= 1e-17 * fabs(x)) break;
  }
  return x;
}

}  // namespace gx_rt

// ---------------------------------------------------------------------------------------------
// Loads/stores with cache hints, bit casts, integer intrinsics
// ---------------------------------------------------------------------------------------------
template <class T> static inline T __ldg(const T* p) { return *p; }
template <class T> static inline T __ldcg(const T* p) { return *p; }
template <class T> static inline T __ldca(const T* p) { return *p; }
template <class T> static inline T __ldcs(const T* p) { return *p; }
template <class T> static inline T __ldlu(const T* p) { return *p; }
template <class T> static inline T __ldcv(const T* p) { return *p; }
template <class T> static inline void __stcg(T* p, T v) { *p = v; }
template <class T> static inline void __stcs(T* p, T v) { *p = v; }
template <class T> static inline void __stwb(T* p, T v) { *p = v; }
template <class T> static inline void __stwt(T* p, T v) { *p = v; }

template <class To, class From>
static inline To gx_bitcast_(From v) {
  static_assert(sizeof(To) == sizeof(From), "bit cast between types of different sizes");
  To t;
  memcpy(&t, &v, sizeof t);
  return t;
}
static inline int __float_as_int(float x) { return gx_bitcast_<int>(x); }
static inline unsigned __float_as_uint(float x) { return gx_bitcast_<unsigned>(x); }
static inline float __int_as_float(int x) { return gx_bitcast_<float>(x); }
static inline float __uint_as_float(unsigned x) { return gx_bitcast_<float>(x); }
static inline long long __double_as_longlong(double x) { return gx_bitcast_<long long>(x); }
static inline double __longlong_as_double(long long x) { return gx_bitcast_<double>(x); }
static inline int __double2hiint(double x) { return (int)(__double_as_longlong(x) >> 32); }
static inline int __double2loint(double x) { return (int)__double_as_longlong(x); }
static inline double __hiloint2double(int hi, int lo) {
  return __longlong_as_double((long long)(((unsigned long long)(unsigned)hi << 32) | (unsigned)lo));
}

static inline int __popc(unsigned x) { return __builtin_popcount(x); }
static inline int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static inline int __clz(int x) { return x ? __builtin_clz((unsigned)x) : 32; }
static inline int __clzll(long long x) { return x ? __builtin_clzll((unsigned long long)x) : 64; }
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline int __ffsll(long long x) { return __builtin_ffsll(x); }
static inline unsigned __brev(unsigned x) {
  x = ((x >> 1) & 0x55555555u) | ((x & 0x55555555u) << 1);
  x = ((x >> 2) & 0x33333333u) | ((x & 0x33333333u) << 2);
  x = ((x >> 4) & 0x0f0f0f0fu) | ((x & 0x0f0f0f0fu) << 4);
  return __builtin_bswap32(x);
}
static inline unsigned long long __brevll(unsigned long long x) {
  return ((unsigned long long)__brev((unsigned)x) << 32) | __brev((unsigned)(x >> 32));
}
static inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
static inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
static inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
  return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
static inline long long __mul64hi(long long a, long long b) { return (long long)(((__int128)a * b) >> 64); }
static inline int __mul24(int a, int b) { return (int)((long long)((a << 8) >> 8) * ((b << 8) >> 8)); }
static inline unsigned __umul24(unsigned a, unsigned b) { return (a & 0xffffffu) * (b & 0xffffffu); }
static inline unsigned __funnelshift_l(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)((v << (s & 31)) >> 32);
}
static inline unsigned __funnelshift_r(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)(v >> (s & 31));
}
static inline unsigned __funnelshift_lc(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)((v << (s > 32 ? 32 : s)) >> 32);
}
static inline unsigned __funnelshift_rc(unsigned lo, unsigned hi, unsigned s) {
  unsigned long long v = ((unsigned long long)hi << 32) | lo;
  return (unsigned)(v >> (s > 32 ? 32 : s));
}
static inline unsigned __byte_perm(unsigned x, unsigned y, unsigned s) {
  unsigned long long v = ((unsigned long long)y << 32) | x;
  unsigned r = 0;
  for (int i = 0; i < 4; ++i) r |= (unsigned)((v >> (8 * ((s >> (4 * i)) & 7))) & 0xff) << (8 * i);
  return r;
}

// CUDA's min/max are overloaded for integers and floats in the global namespace. The result type
// is the common type by value (decltype(true ? a : b) would be a reference to a parameter).
template <class A, class B>
static inline auto min(A a, B b) -> decltype(true ? A() : B()) { return b < a ? b : a; }
template <class A, class B>
static inline auto max(A a, B b) -> decltype(true ? A() : B()) { return a < b ? b : a; }
static inline float min(float a, float b) { return fminf(a, b); }
static inline float max(float a, float b) { return fmaxf(a, b); }
static inline double min(double a, double b) { return fmin(a, b); }
static inline double max(double a, double b) { return fmax(a, b); }
static inline unsigned umin(unsigned a, unsigned b) { return a < b ? a : b; }
static inline unsigned umax(unsigned a, unsigned b) { return a < b ? b : a; }
static inline long long llmin(long long a, long long b) { return a < b ? a : b; }
static inline long long llmax(long long a, long long b) { return a < b ? b : a; }
static inline unsigned long long ullmin(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
static inline unsigned long long ullmax(unsigned long long a, unsigned long long b) { return a < b ? b : a; }

// ---------------------------------------------------------------------------------------------
// CUDA math functions and intrinsics that glibc lacks (or spells differently)
// ---------------------------------------------------------------------------------------------
static inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
static inline double rsqrt(double x) { return 1.0 / sqrt(x); }
static inline float rcbrtf(float x) { return 1.0f / cbrtf(x); }
static inline double rcbrt(double x) { return 1.0 / cbrt(x); }
static inline double erfinv(double y) {
  if (!(y >= -1.0 && y <= 1.0)) return NAN;
  if (y == 0.0) return y;
  double p = fabs(y);
  if (p == 1.0) return copysign(INFINITY, y);
  return copysign(gx_rt::inv_erf(p, 1.0 - p), y);
}
static inline float erfinvf(float y) { return (float)erfinv((double)y); }
static inline double erfcinv(double y) {  // erfc(x) = y  <=>  erf(x) = 1 - y
  if (!(y >= 0.0 && y <= 2.0)) return NAN;
  if (y == 0.0) return INFINITY;
  if (y == 2.0) return -INFINITY;
  if (y == 1.0) return 0.0;
  if (y < 1.0) return gx_rt::inv_erf(1.0 - y, y);
  return -gx_rt::inv_erf(y - 1.0, 2.0 - y);
}
static inline float erfcinvf(float y) { return (float)erfcinv((double)y); }
static inline double normcdf(double x) { return 0.5 * erfc(-x * 0.70710678118654752440); }
static inline float normcdff(float x) { return (float)normcdf((double)x); }
static inline double normcdfinv(double p) { return -1.41421356237309504880 * erfcinv(2.0 * p); }
static inline float normcdfinvf(float p) { return (float)normcdfinv((double)p); }
static inline float __saturatef(float x) { return x >= 1.0f ? 1.0f : (x > 0.0f ? x : 0.0f); }
static inline float __fdividef(float a, float b) { return a / b; }
static inline float fdividef(float a, float b) { return a / b; }
// glibc declares its own __expf & co., so these fast-math intrinsics are macros here.
#define __expf(x) expf(x)
#define __exp10f(x) exp10f(x)
#define __logf(x) logf(x)
#define __log2f(x) log2f(x)
#define __log10f(x) log10f(x)
#define __sinf(x) sinf(x)
#define __cosf(x) cosf(x)
#define __tanf(x) tanf(x)
#define __powf(a, b) powf(a, b)
#define __sincosf(x, s, c) (*(s) = sinf(x), *(c) = cosf(x), (void)0)
static inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
static inline double __fma_rn(double a, double b, double c) { return fma(a, b, c); }
static inline float __fadd_rn(float a, float b) { return a + b; }
static inline float __fsub_rn(float a, float b) { return a - b; }
static inline float __fmul_rn(float a, float b) { return a * b; }
static inline float __fdiv_rn(float a, float b) { return a / b; }
static inline float __frcp_rn(float a) { return 1.0f / a; }
static inline float __fsqrt_rn(float a) { return sqrtf(a); }
static inline double __dadd_rn(double a, double b) { return a + b; }
static inline double __dsub_rn(double a, double b) { return a - b; }
static inline double __dmul_rn(double a, double b) { return a * b; }
static inline double __ddiv_rn(double a, double b) { return a / b; }
static inline double __drcp_rn(double a) { return 1.0 / a; }
static inline double __dsqrt_rn(double a) { return sqrt(a); }
static inline int __float2int_rz(float x) { return (int)x; }
static inline int __float2int_rn(float x) { return (int)rintf(x); }
static inline unsigned __float2uint_rz(float x) { return (unsigned)x; }
static inline unsigned __float2uint_rn(float x) { return (unsigned)rintf(x); }
static inline long long __float2ll_rz(float x) { return (long long)x; }
static inline long long __float2ll_rn(float x) { return (long long)rintf(x); }
static inline int __double2int_rz(double x) { return (int)x; }
static inline int __double2int_rn(double x) { return (int)rint(x); }
static inline long long __double2ll_rz(double x) { return (long long)x; }
static inline long long __double2ll_rn(double x) { return (long long)rint(x); }
static inline float __int2float_rn(int x) { return (float)x; }
static inline float __uint2float_rn(unsigned x) { return (float)x; }
static inline float __ll2float_rn(long long x) { return (float)x; }
static inline double __int2double_rn(int x) { return (double)x; }
static inline double __ll2double_rn(long long x) { return (double)x; }
static inline float __double2float_rn(double x) { return (float)x; }

#endif  // GX_HOST_H
