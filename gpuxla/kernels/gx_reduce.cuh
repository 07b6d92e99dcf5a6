// gpuxla kernel helpers for reductions and 16-bit floats: warp shuffles for every value type,
// the argmax/argmin step, nextafter in a 16-bit format.
//
// compiler/render.py copies into a generated kernel only the sections it uses, rather than
// including this file: the kernel text then carries all the C it needs beyond gx_common.cuh, and
// its name (a hash of that text) changes whenever one of those sections does. render.py finds the
// sections by their guards, so each one stays a single `#ifndef GX_FUSED_<NAME>` ... `#endif`
// block with no other #if inside. Included as a whole, the file works as an ordinary header too.
#pragma once
#include "gx_common.cuh"

#ifndef GX_FUSED_SHFL
#define GX_FUSED_SHFL
// Warp shuffles for every value type (CUDA has no 8/16-bit or bool shuffles).
template <class T> GX_FUNC T gx_shfl_down(T v, int d) { return __shfl_down_sync(0xffffffffu, v, d); }
template <class T> GX_FUNC T gx_shfl0(T v) { return __shfl_sync(0xffffffffu, v, 0); }
#define GX_SHFL_VIA_INT(T) \
  GX_FUNC T gx_shfl_down(T v, int d) { return (T)__shfl_down_sync(0xffffffffu, (int)v, d); } \
  GX_FUNC T gx_shfl0(T v) { return (T)__shfl_sync(0xffffffffu, (int)v, 0); }
GX_SHFL_VIA_INT(bool)
GX_SHFL_VIA_INT(gx_i8)
GX_SHFL_VIA_INT(gx_u8)
GX_SHFL_VIA_INT(gx_i16)
GX_SHFL_VIA_INT(gx_u16)
#undef GX_SHFL_VIA_INT
#endif

#ifndef GX_FUSED_ARG
#define GX_FUSED_ARG
// argmax/argmin step: NaN is the extreme value (the first NaN wins), ties keep the lower index.
template <class T, class I> GX_FUNC void gx_argmax_step(T& av, I& ai, T bv, I bi) {
  bool an = av != av, bn = bv != bv;
  if (bn ? (!an || bi < ai) : (!an && (bv > av || (bv == av && bi < ai)))) { av = bv; ai = bi; }
}
template <class T, class I> GX_FUNC void gx_argmin_step(T& av, I& ai, T bv, I bi) {
  bool an = av != av, bn = bv != bv;
  if (bn ? (!an || bi < ai) : (!an && (bv < av || (bv == av && bi < ai)))) { av = bv; ai = bi; }
}
#endif

#ifndef GX_FUSED_NEXTAFTER16
#define GX_FUSED_NEXTAFTER16
// nextafter in a 16-bit float format: one step of its bit pattern (inputs hold 16-bit values).
GX_FUNC float gx_nextafter16_(float x, float y, bool bf) {
  if (x != x || y != y) return x + y;
  if (x == y) return y;
  gx_u16 b = bf ? gx_f32_to_bf16(x) : gx_f32_to_f16(x);
  if ((b & 0x7fffu) == 0) b = (gx_u16)(y > x ? 1u : 0x8001u);
  else b = (gx_u16)(((y > x) == ((b & 0x8000u) == 0)) ? b + 1u : b - 1u);
  return bf ? gx_bf16_to_f32(b) : gx_f16_to_f32(b);
}
GX_FUNC float gx_nextafter_f16(float x, float y) { return gx_nextafter16_(x, y, false); }
GX_FUNC float gx_nextafter_bf16(float x, float y) { return gx_nextafter16_(x, y, true); }
#endif
