// gpuxla reduction kernel (warp per row): reduce_max, reduce_sum over axes (1,) of (32, 1000) -> 32 row(s) of 1000
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

extern "C" __global__ __launch_bounds__(256) void gx_reduction_5dcff7bf7966(const float* __restrict__ in0, float* __restrict__ out0) {
  typedef int gx_ix;
  const int gx_lane = threadIdx.x & 31;
  for (gx_ix o = ((gx_ix)blockIdx.x * blockDim.x + threadIdx.x) >> 5; o < 32; o += ((gx_ix)gridDim.x * blockDim.x) >> 5) {
    float acc0 = (-gx_inf_f32());
    for (gx_ix r = gx_lane; r < 1000; r += 32) {
      const float v0 = in0[o * 1000 + r];
      acc0 = gx_max(acc0, v0);
    }
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc0, gx_d);
      acc0 = gx_max(acc0, gx_v);
    }
    acc0 = gx_shfl0(acc0);
    float acc1 = 0.0f;
    for (gx_ix r = gx_lane; r < 1000; r += 32) {
      const float v1 = in0[o * 1000 + r];
      const float v2 = gx_sub(v1, acc0);
      const float v3 = gx_exp(v2);
      acc1 = gx_add(acc1, v3);
    }
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc1, gx_d);
      acc1 = gx_add(acc1, gx_v);
    }
    acc1 = gx_shfl0(acc1);
    for (gx_ix r = gx_lane; r < 1000; r += 32) {
      const float v4 = in0[o * 1000 + r];
      const float v5 = gx_sub(v4, acc0);
      const float v6 = gx_exp(v5);
      const float v7 = gx_div(v6, acc1);
      out0[o * 1000 + r] = v7;
    }
  }
}
