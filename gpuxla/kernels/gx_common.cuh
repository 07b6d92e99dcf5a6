// gx_common.cuh -- included by every generated kernel (`#include "gx_common.cuh"`).
//
// One device function per elementwise primitive, named after it (exp_p -> gx_exp), overloaded for
// float and double and, where the primitive is defined on them, for the integer types.  The same
// text compiles under NVRTC (device functions) and under the host C++ compiler of the interpret
// platform, where gx_interpret.h supplies the CUDA keywords and intrinsics, and under the host
// compiler of the native `cpu` platform (-DGX_CPU), where gx_cpu.h does.
//
// Semantics follow XLA/lax, not C, wherever they differ:
//   * integer add/sub/mul/neg/abs wrap (two's complement), never signed-overflow UB;
//   * integer div truncates like C; x/0 == -1 (all bits set), INT_MIN/-1 == INT_MIN;
//     x%0 == x, INT_MIN%-1 == 0 (XLA's choice; C would trap);
//   * shifts by an amount >= the bit width (or negative) give 0, or the sign fill for
//     shift_right_arithmetic, which shifts the bit pattern as signed whatever the type;
//   * float max/min propagate NaN and order -0 < +0; round is half away from zero, rint half to even;
//   * float -> integer conversion (gx_convert) saturates and maps NaN to 0.
// float16/bfloat16 are storage types only (unsigned short); generated code converts to float,
// computes, and converts back (RNE).  Because gx_f16 == gx_bf16 == gx_u16, never call a gx_*
// arithmetic function on the storage type: convert first.  Plain `char` and `long` are not in the
// overload sets: use the gx_* fixed-width typedefs.
#pragma once

#if defined(__CUDACC_RTC__) || defined(__CUDACC__)
#define GX_CUDA 1
#define GX_FUNC __device__ __forceinline__
#define GX_MFUNC __device__ __forceinline__
#elif defined(GX_CPU)
#include "gx_cpu.h"
#define GX_FUNC static inline
#define GX_MFUNC inline
#else
#include "gx_interpret.h"
#define GX_FUNC static inline
#define GX_MFUNC inline
#endif

typedef signed char gx_i8;
typedef unsigned char gx_u8;
typedef short gx_i16;
typedef unsigned short gx_u16;
typedef int gx_i32;
typedef unsigned int gx_u32;
typedef long long gx_i64;
typedef unsigned long long gx_u64;
typedef unsigned short gx_f16;   // IEEE binary16 bits
typedef unsigned short gx_bf16;  // bfloat16 bits

// Dynamic shared memory: `extern __shared__` has no host C++ spelling, so kernels write
// GX_DYNAMIC_SHARED(float, buf); and launch with shared_mem bytes.
#ifdef GX_CUDA
#define GX_DYNAMIC_SHARED(T, name) \
  extern __shared__ __align__(16) unsigned char gx_dynamic_smem_[]; \
  T* name = reinterpret_cast<T*>(gx_dynamic_smem_)
#else
#define GX_DYNAMIC_SHARED(T, name) T* name = reinterpret_cast<T*>(gx_rt::dynamic_smem())
#endif

GX_FUNC float gx_nan_f32() { return __uint_as_float(0x7fc00000u); }
GX_FUNC double gx_nan_f64() { return __longlong_as_double(0x7ff8000000000000ll); }
GX_FUNC float gx_inf_f32() { return __uint_as_float(0x7f800000u); }
GX_FUNC double gx_inf_f64() { return __longlong_as_double(0x7ff0000000000000ll); }
GX_FUNC float gx_nan_like(float) { return gx_nan_f32(); }
GX_FUNC double gx_nan_like(double) { return gx_nan_f64(); }

// =============================================================================================
// float16 / bfloat16 <-> float32 (round to nearest even; inf, nan and subnormals preserved)
// =============================================================================================
GX_FUNC float gx_f16_to_f32_sw(gx_f16 h) {
  gx_u32 sign = (gx_u32)(h & 0x8000u) << 16;
  gx_u32 e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  if (e == 0x1fu) return __uint_as_float(sign | 0x7f800000u | (m << 13));
  if (e == 0) {  // zero or subnormal: m * 2^-24, exact in float
    float v = (float)m * 5.9604644775390625e-8f;
    return sign ? -v : v;
  }
  return __uint_as_float(sign | ((e + 112u) << 23) | (m << 13));
}

GX_FUNC gx_f16 gx_f32_to_f16_sw(float f) {
  gx_u32 x = __float_as_uint(f);
  gx_u32 sign = (x >> 16) & 0x8000u, ax = x & 0x7fffffffu;
  if (ax >= 0x7f800000u)  // inf, or nan kept quiet with the top payload bits
    return (gx_f16)(sign | (ax > 0x7f800000u ? 0x7e00u | ((ax >> 13) & 0x3ffu) : 0x7c00u));
  if (ax >= 0x477ff000u) return (gx_f16)(sign | 0x7c00u);  // rounds past 65504
  if (ax < 0x38800000u) {  // below 2^-14: f16 subnormal or zero, unit 2^-24
    if (ax <= 0x33000000u) return (gx_f16)sign;  // <= 2^-25 rounds (to even) to zero
    gx_u32 m = (ax & 0x7fffffu) | 0x800000u;
    gx_u32 s = 126u - (ax >> 23);  // 14..24
    gx_u32 r = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1u);
    if (rem > half || (rem == half && (r & 1u))) ++r;
    return (gx_f16)(sign | r);
  }
  gx_u32 r = ax - 0x38000000u;  // rebias 127 -> 15
  gx_u32 rem = r & 0x1fffu;
  r >>= 13;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u))) ++r;
  return (gx_f16)(sign | r);
}

GX_FUNC float gx_bf16_to_f32(gx_bf16 h) { return __uint_as_float((gx_u32)h << 16); }

GX_FUNC gx_bf16 gx_f32_to_bf16_sw(float f) {
  gx_u32 x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (gx_bf16)((x >> 16) | 0x40u);  // quiet nan
  return (gx_bf16)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

GX_FUNC float gx_f16_to_f32(gx_f16 h) {
#ifdef GX_CUDA
  float f;
  asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(h));
  return f;
#else
  return gx_f16_to_f32_sw(h);
#endif
}

GX_FUNC gx_f16 gx_f32_to_f16(float f) {
#ifdef GX_CUDA
  gx_f16 h;
  asm("cvt.rn.f16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
#else
  return gx_f32_to_f16_sw(f);
#endif
}

GX_FUNC gx_bf16 gx_f32_to_bf16(float f) {
#if defined(GX_CUDA) && defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  gx_bf16 h;
  asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(f));
  return h;
#else
  return gx_f32_to_bf16_sw(f);
#endif
}

// double -> float rounding to odd: rounding that result again to a format with at least two fewer
// significand bits gives the correctly rounded double -> half/bfloat16 (no double rounding).
GX_FUNC float gx_f64_to_f32_odd(double d) {
  float f = (float)d;
  if (d == d && (double)f != d) {
    gx_u32 b = __float_as_uint(f);
    if (fabs((double)f) > fabs(d)) --b;  // step the magnitude back: truncation toward zero
    f = __uint_as_float(b | 1u);
  }
  return f;
}
GX_FUNC gx_f16 gx_f64_to_f16(double d) { return gx_f32_to_f16(gx_f64_to_f32_odd(d)); }
GX_FUNC gx_bf16 gx_f64_to_bf16(double d) { return gx_f32_to_bf16(gx_f64_to_f32_odd(d)); }
GX_FUNC double gx_f16_to_f64(gx_f16 h) { return (double)gx_f16_to_f32(h); }
GX_FUNC double gx_bf16_to_f64(gx_bf16 h) { return (double)gx_bf16_to_f32(h); }

// =============================================================================================
// convert_element_type: C casts, except float -> integer saturates with NaN -> 0 (as XLA)
// =============================================================================================
template <class T>
GX_FUNC T gx_f2i_sat(double x, double lo, double hi, T tmin, T tmax) {
  if (x != x) return (T)0;
  if (x <= lo) return tmin;
  if (x >= hi) return tmax;
  return (T)x;
}
template <class To, class From>
struct gx_cvt {
  static GX_MFUNC To run(From x) { return (To)x; }
};
// bool -> number as a select: the same values as the cast, but GCC's vectoriser finds no vector
// type for the cast of a one-byte bool to float, and a loop holding one stayed scalar whole (the
// MLP step's relu-gradient kernel, mask * g: 118 -> 25 us a call on the cpu platform).
template <class To>
struct gx_cvt<To, bool> {
  static GX_MFUNC To run(bool x) { return x ? (To)1 : (To)0; }
};
#define GX_CVT_F2I(T, LO, HI, TMIN, TMAX)                                                        \
  template <> struct gx_cvt<T, float> {                                                          \
    static GX_MFUNC T run(float x) { return gx_f2i_sat<T>((double)x, LO, HI, (T)(TMIN), (T)(TMAX)); } \
  };                                                                                             \
  template <> struct gx_cvt<T, double> {                                                         \
    static GX_MFUNC T run(double x) { return gx_f2i_sat<T>(x, LO, HI, (T)(TMIN), (T)(TMAX)); }    \
  };
GX_CVT_F2I(gx_i8, -128.0, 128.0, -128, 127)
GX_CVT_F2I(gx_u8, 0.0, 256.0, 0, 255)
GX_CVT_F2I(gx_i16, -32768.0, 32768.0, -32768, 32767)
GX_CVT_F2I(gx_u16, 0.0, 65536.0, 0, 65535)
GX_CVT_F2I(gx_i32, -2147483648.0, 2147483648.0, -2147483647 - 1, 2147483647)
GX_CVT_F2I(gx_u32, 0.0, 4294967296.0, 0u, 4294967295u)
GX_CVT_F2I(gx_i64, -9223372036854775808.0, 9223372036854775808.0, -9223372036854775807ll - 1, 9223372036854775807ll)
GX_CVT_F2I(gx_u64, 0.0, 18446744073709551616.0, 0ull, 18446744073709551615ull)
#undef GX_CVT_F2I
template <class To, class From>
GX_FUNC To gx_convert(From x) { return gx_cvt<To, From>::run(x); }

// =============================================================================================
// Floating point
// =============================================================================================
// The cpu platform (gx_cpu.h) swaps in float32 versions of these that vectorise; elsewhere, C's.
#ifndef GX_EXPF
#define GX_EXPF expf
#define GX_EXPM1F expm1f
#define GX_LOGF logf
#define GX_LOG1PF log1pf
#define GX_TANHF tanhf
#endif
#define GX_F1(name, ff, fd) \
  GX_FUNC float name(float x) { return ff(x); } \
  GX_FUNC double name(double x) { return fd(x); }
GX_F1(gx_exp, GX_EXPF, exp)
GX_F1(gx_exp2, exp2f, exp2)
GX_F1(gx_log, GX_LOGF, log)
GX_F1(gx_log1p, GX_LOG1PF, log1p)
GX_F1(gx_expm1, GX_EXPM1F, expm1)
GX_F1(gx_sqrt, sqrtf, sqrt)
GX_F1(gx_rsqrt, rsqrtf, rsqrt)
GX_F1(gx_cbrt, cbrtf, cbrt)
GX_F1(gx_sin, sinf, sin)
GX_F1(gx_cos, cosf, cos)
GX_F1(gx_tan, tanf, tan)
GX_F1(gx_asin, asinf, asin)
GX_F1(gx_acos, acosf, acos)
GX_F1(gx_atan, atanf, atan)
GX_F1(gx_sinh, sinhf, sinh)
GX_F1(gx_cosh, coshf, cosh)
GX_F1(gx_tanh, GX_TANHF, tanh)
GX_F1(gx_asinh, asinhf, asinh)
GX_F1(gx_acosh, acoshf, acosh)
GX_F1(gx_atanh, atanhf, atanh)
GX_F1(gx_abs, fabsf, fabs)
GX_F1(gx_floor, floorf, floor)
GX_F1(gx_ceil, ceilf, ceil)
GX_F1(gx_round, roundf, round)  // half away from zero (lax.round's default)
GX_F1(gx_rint, rintf, rint)     // half to even (default rounding mode)
GX_F1(gx_erf, erff, erf)
GX_F1(gx_erfc, erfcf, erfc)
GX_F1(gx_erf_inv, erfinvf, erfinv)  // host versions in gx_host.h
GX_F1(gx_lgamma, lgammaf, lgamma)
#undef GX_F1

#define GX_F2(name, ff, fd) \
  GX_FUNC float name(float a, float b) { return ff(a, b); } \
  GX_FUNC double name(double a, double b) { return fd(a, b); }
GX_F2(gx_rem, fmodf, fmod)
GX_F2(gx_pow, powf, pow)
GX_F2(gx_atan2, atan2f, atan2)
GX_F2(gx_nextafter, nextafterf, nextafter)
#undef GX_F2
// C's fma rounds once on the GPU and in the host C library alike, so both platforms agree bit for bit.
GX_FUNC float gx_fma(float a, float b, float c) { return fmaf(a, b, c); }
GX_FUNC double gx_fma(double a, double b, double c) { return fma(a, b, c); }

GX_FUNC float gx_neg(float x) { return -x; }
GX_FUNC double gx_neg(double x) { return -x; }
GX_FUNC float gx_square(float x) { return x * x; }
GX_FUNC double gx_square(double x) { return x * x; }
GX_FUNC float gx_add(float a, float b) { return a + b; }
GX_FUNC double gx_add(double a, double b) { return a + b; }
GX_FUNC float gx_sub(float a, float b) { return a - b; }
GX_FUNC double gx_sub(double a, double b) { return a - b; }
GX_FUNC float gx_mul(float a, float b) { return a * b; }
GX_FUNC double gx_mul(double a, double b) { return a * b; }
GX_FUNC float gx_div(float a, float b) { return a / b; }
GX_FUNC double gx_div(double a, double b) { return a / b; }

GX_FUNC bool gx_is_finite(float x) { return (__float_as_uint(x) & 0x7f800000u) != 0x7f800000u; }
GX_FUNC bool gx_is_finite(double x) {
  return ((gx_u64)__double_as_longlong(x) & 0x7ff0000000000000ull) != 0x7ff0000000000000ull;
}
GX_FUNC bool gx_signbit(float x) { return (__float_as_uint(x) >> 31) != 0; }
GX_FUNC bool gx_signbit(double x) { return __double_as_longlong(x) < 0; }

// sign: -1, 0 or 1; keeps -0.0 and nan.
GX_FUNC float gx_sign(float x) { return x > 0.0f ? 1.0f : (x < 0.0f ? -1.0f : x); }
GX_FUNC double gx_sign(double x) { return x > 0.0 ? 1.0 : (x < 0.0 ? -1.0 : x); }

// logistic: 1/(1+e^-x) for x >= 0, e^x/(1+e^x) below, so neither side overflows or underflows early.
GX_FUNC float gx_logistic(float x) {
  float e = GX_EXPF(-fabsf(x)), r = 1.0f / (1.0f + e);
  return x >= 0.0f ? r : e * r;
}
GX_FUNC double gx_logistic(double x) {
  double e = exp(-fabs(x)), r = 1.0 / (1.0 + e);
  return x >= 0.0 ? r : e * r;
}

// max/min: nan if either is nan; -0 < +0.
#ifdef GX_CPU
// The cpu platform's are branch-free: both sides are computed and chosen by a bit mask (gx_sel).
// GCC turns the branchy form's `?:`s into control flow, threads a loop's later selects through
// it, and then cannot if-convert the loop (the bit-exact normal sampler's clamp left it scalar).
// Equal operands differ at most in the sign of a zero: max takes the AND of the bits (+0 wins),
// min the OR (-0 wins).
GX_FUNC float gx_sel(bool c, float a, float b) {
  gx_u32 m = 0u - (gx_u32)c;
  return __uint_as_float((__float_as_uint(a) & m) | (__float_as_uint(b) & ~m));
}
GX_FUNC double gx_sel(bool c, double a, double b) {
  gx_u64 m = 0ull - (gx_u64)c;
  return __longlong_as_double((gx_i64)(((gx_u64)__double_as_longlong(a) & m) | ((gx_u64)__double_as_longlong(b) & ~m)));
}
GX_FUNC float gx_bits_and(float a, float b) { return __uint_as_float(__float_as_uint(a) & __float_as_uint(b)); }
GX_FUNC double gx_bits_and(double a, double b) {
  return __longlong_as_double(__double_as_longlong(a) & __double_as_longlong(b));
}
GX_FUNC float gx_bits_or(float a, float b) { return __uint_as_float(__float_as_uint(a) | __float_as_uint(b)); }
GX_FUNC double gx_bits_or(double a, double b) {
  return __longlong_as_double(__double_as_longlong(a) | __double_as_longlong(b));
}
#define GX_FMINMAX(T)                                                                 \
  GX_FUNC T gx_max(T a, T b) {                                                        \
    T m = gx_sel(a == b, gx_bits_and(a, b), gx_sel(a > b, a, b));                     \
    return gx_sel((a != a) | (b != b), a + b, m);                                     \
  }                                                                                   \
  GX_FUNC T gx_min(T a, T b) {                                                        \
    T m = gx_sel(a == b, gx_bits_or(a, b), gx_sel(a < b, a, b));                      \
    return gx_sel((a != a) | (b != b), a + b, m);                                     \
  }                                                                                   \
  GX_FUNC T gx_clamp(T lo, T x, T hi) { return gx_min(gx_max(x, lo), hi); }
#else
#define GX_FMINMAX(T)                                                                 \
  GX_FUNC T gx_max(T a, T b) {                                                        \
    if (a != a || b != b) return a + b;                                               \
    if (a == b) return gx_signbit(a) ? b : a;                                         \
    return a > b ? a : b;                                                             \
  }                                                                                   \
  GX_FUNC T gx_min(T a, T b) {                                                        \
    if (a != a || b != b) return a + b;                                               \
    if (a == b) return gx_signbit(a) ? a : b;                                         \
    return a < b ? a : b;                                                             \
  }                                                                                   \
  GX_FUNC T gx_clamp(T lo, T x, T hi) { return gx_min(gx_max(x, lo), hi); }
#endif
GX_FMINMAX(float)
GX_FMINMAX(double)
#undef GX_FMINMAX

// digamma: reflection below 0 (nan at the poles 0, -1, -2, ... and at -inf), recurrence up to
// x >= 10, then the asymptotic series.  CUDA has no digamma, so both platforms use this.
template <class T>
GX_FUNC T gx_digamma_impl(T x) {
  if (x != x) return x;
  const T pi = (T)3.14159265358979323846;
  T result = 0;
  if (x <= 0) {
    if (x == gx_floor(x)) return gx_nan_like(x);  // poles, and -inf
    T r = x - gx_rint(x);  // exact, in [-1/2, 1/2]: tan(pi x) = tan(pi r), and pi*r stays accurate
    result = -pi / gx_tan(pi * r);
    x = 1 - x;
  }
  while (x < 10) {
    result -= 1 / x;
    x += 1;
  }
  T z = 1 / (x * x);
  T series = z * ((T)(1.0 / 12) -
                  z * ((T)(1.0 / 120) -
                       z * ((T)(1.0 / 252) -
                            z * ((T)(1.0 / 240) -
                                 z * ((T)(1.0 / 132) - z * ((T)(691.0 / 32760) - z * (T)(1.0 / 12)))))));
  return result + gx_log(x) - (T)0.5 / x - series;
}
GX_FUNC float gx_digamma(float x) { return gx_digamma_impl<float>(x); }
GX_FUNC double gx_digamma(double x) { return gx_digamma_impl<double>(x); }

// integer_pow with a (static) integer exponent: repeated squaring; x^-n = 1/x^n.
// Exponents up to 4 are spelled out (the same products in the same order): the compiler cannot
// count the loop's trips, so it neither unrolls it nor vectorises a loop that calls it (x**2 in
// a variance).
template <class T>
GX_FUNC T gx_integer_pow_f(T x, int n) {
  unsigned e = n < 0 ? 0u - (unsigned)n : (unsigned)n;
  if (e <= 4u) {
    const T x2 = x * x;
    const T p = e == 0u ? (T)1 : e == 1u ? x : e == 2u ? x2 : e == 3u ? x * x2 : x2 * x2;
    return n < 0 ? (T)1 / p : p;
  }
  T acc = 1, base = x;
  while (e) {
    if (e & 1u) acc *= base;
    base *= base;
    e >>= 1;
  }
  return n < 0 ? (T)1 / acc : acc;
}
GX_FUNC float gx_integer_pow(float x, int n) { return gx_integer_pow_f<float>(x, n); }
GX_FUNC double gx_integer_pow(double x, int n) { return gx_integer_pow_f<double>(x, n); }

// =============================================================================================
// Integers.  T the type, U its unsigned twin, S its signed twin, W the unsigned type arithmetic
// is done in (never narrower than unsigned int, so no promotion to signed int can overflow).
// =============================================================================================
#define GX_INT_OPS(T, U, S, W, BITS, SIGNED)                                                     \
  GX_FUNC T gx_neg(T x) { return (T)((W)0 - (W)(U)x); }                                          \
  GX_FUNC T gx_add(T a, T b) { return (T)((W)(U)a + (W)(U)b); }                                  \
  GX_FUNC T gx_sub(T a, T b) { return (T)((W)(U)a - (W)(U)b); }                                  \
  GX_FUNC T gx_mul(T a, T b) { return (T)((W)(U)a * (W)(U)b); }                                  \
  GX_FUNC T gx_square(T a) { return gx_mul(a, a); }                                              \
  GX_FUNC T gx_abs(T x) { return (SIGNED && x < (T)0) ? gx_neg(x) : x; }                         \
  GX_FUNC T gx_sign(T x) { return (T)((x > (T)0) - (SIGNED && x < (T)0)); }                      \
  GX_FUNC T gx_div(T a, T b) {                                                                   \
    if (b == (T)0) return (T)~(U)0;                                                              \
    if (SIGNED && b == (T)~(U)0) return gx_neg(a);                                               \
    return (T)(a / b);                                                                           \
  }                                                                                              \
  GX_FUNC T gx_rem(T a, T b) {                                                                   \
    if (b == (T)0) return a;                                                                     \
    if (SIGNED && b == (T)~(U)0) return (T)0;                                                    \
    return (T)(a % b);                                                                           \
  }                                                                                              \
  GX_FUNC T gx_pow_u_(T a, W e) {                                                               \
    W acc = 1, base = (W)(U)a;                                                                   \
    while (e) {                                                                                  \
      if (e & 1u) acc *= base;                                                                   \
      base *= base;                                                                              \
      e >>= 1;                                                                                   \
    }                                                                                            \
    return (T)acc;                                                                               \
  }                                                                                              \
  /* a negative exponent gives 1 for a == 1 and 0 otherwise (XLA's integer pow) */               \
  GX_FUNC T gx_pow(T a, T b) {                                                                   \
    if (SIGNED && b < (T)0) return (T)(a == (T)1 ? 1 : 0);                                       \
    return gx_pow_u_(a, (W)(U)b);                                                                \
  }                                                                                              \
  GX_FUNC T gx_integer_pow(T x, int n) {                                                         \
    return n < 0 ? (T)(x == (T)1 ? 1 : 0) : gx_pow_u_(x, (W)(unsigned)n);                        \
  }                                                                                              \
  GX_FUNC T gx_max(T a, T b) { return a < b ? b : a; }                                           \
  GX_FUNC T gx_min(T a, T b) { return b < a ? b : a; }                                           \
  GX_FUNC T gx_clamp(T lo, T x, T hi) { return gx_min(gx_max(x, lo), hi); }                      \
  GX_FUNC T gx_shift_left(T a, T b) {                                                            \
    return (U)b >= (U)(BITS) ? (T)0 : (T)((W)(U)a << (U)b);                                      \
  }                                                                                              \
  GX_FUNC T gx_shift_right_logical(T a, T b) {                                                   \
    return (U)b >= (U)(BITS) ? (T)0 : (T)((U)a >> (U)b);                                         \
  }                                                                                              \
  GX_FUNC T gx_shift_right_arithmetic(T a, T b) {                                                \
    if ((U)b >= (U)(BITS)) return (T)((S)a < (S)0 ? ~(U)0 : (U)0);                               \
    return (T)((S)a >> (U)b);                                                                    \
  }                                                                                              \
  GX_FUNC T gx_population_count(T a) {                                                           \
    return (T)((BITS) == 64 ? __popcll((gx_u64)(U)a) : __popc((gx_u32)(U)a));                    \
  }                                                                                              \
  GX_FUNC T gx_clz(T a) {                                                                        \
    return (T)((BITS) == 64 ? __clzll((gx_i64)(U)a) : __clz((gx_i32)(gx_u32)(U)a) - (32 - (BITS))); \
  }
GX_INT_OPS(gx_i8, gx_u8, gx_i8, gx_u32, 8, 1)
GX_INT_OPS(gx_u8, gx_u8, gx_i8, gx_u32, 8, 0)
GX_INT_OPS(gx_i16, gx_u16, gx_i16, gx_u32, 16, 1)
GX_INT_OPS(gx_u16, gx_u16, gx_i16, gx_u32, 16, 0)
GX_INT_OPS(gx_i32, gx_u32, gx_i32, gx_u32, 32, 1)
GX_INT_OPS(gx_u32, gx_u32, gx_i32, gx_u32, 32, 0)
GX_INT_OPS(gx_i64, gx_u64, gx_i64, gx_u64, 64, 1)
GX_INT_OPS(gx_u64, gx_u64, gx_i64, gx_u64, 64, 0)
#undef GX_INT_OPS

// bool: max is or, min is and (lax.max/min accept predicates).
GX_FUNC bool gx_max(bool a, bool b) { return a || b; }
GX_FUNC bool gx_min(bool a, bool b) { return a && b; }

template <class T>
GX_FUNC T gx_select(bool pred, T on_true, T on_false) { return pred ? on_true : on_false; }
