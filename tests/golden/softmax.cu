// gpuxla reduction kernel (block per row): reduce_max, reduce_sum over axes (1,) of (32, 1000) -> 32 row(s) of 1000
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

extern "C" __global__ __launch_bounds__(128) void gx_reduction_857142dcea70(const float* __restrict__ in0, float* __restrict__ out0) {
  typedef int gx_ix;
  const int gx_lane = threadIdx.x & 31;
  const int gx_warp = threadIdx.x >> 5;
  __shared__ float gx_sm0[32];
  __shared__ float gx_sm1[32];
  for (gx_ix o = blockIdx.x; o < 32; o += gridDim.x) {
    float gx_c0[8];
    float gx_c2[8];
    float acc0 = (-gx_inf_f32());
    #pragma unroll
    for (int gx_j = 0; gx_j < 8; ++gx_j) {
      const gx_ix r = threadIdx.x + (gx_ix)gx_j * 128;
      if (r < 1000) {
        const float v0 = in0[o * 1000 + r];
        gx_c0[gx_j] = v0;
        acc0 = gx_max(acc0, v0);
      }
    }
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc0, gx_d);
      acc0 = gx_max(acc0, gx_v);
    }
    if (gx_lane == 0) gx_sm0[gx_warp] = acc0;
    __syncthreads();
    acc0 = gx_lane < 4 ? gx_sm0[gx_lane] : (-gx_inf_f32());
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc0, gx_d);
      acc0 = gx_max(acc0, gx_v);
    }
    acc0 = gx_shfl0(acc0);
    __syncthreads();
    float acc1 = 0.0f;
    #pragma unroll
    for (int gx_j = 0; gx_j < 8; ++gx_j) {
      const gx_ix r = threadIdx.x + (gx_ix)gx_j * 128;
      if (r < 1000) {
        const float v1 = gx_c0[gx_j];
        const float v2 = gx_sub(v1, acc0);
        const float v3 = gx_exp(v2);
        gx_c2[gx_j] = v3;
        acc1 = gx_add(acc1, v3);
      }
    }
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc1, gx_d);
      acc1 = gx_add(acc1, gx_v);
    }
    if (gx_lane == 0) gx_sm1[gx_warp] = acc1;
    __syncthreads();
    acc1 = gx_lane < 4 ? gx_sm1[gx_lane] : 0.0f;
    for (int gx_d = 16; gx_d > 0; gx_d >>= 1) {
      const float gx_v = gx_shfl_down(acc1, gx_d);
      acc1 = gx_add(acc1, gx_v);
    }
    acc1 = gx_shfl0(acc1);
    __syncthreads();
    #pragma unroll
    for (int gx_j = 0; gx_j < 8; ++gx_j) {
      const gx_ix r = threadIdx.x + (gx_ix)gx_j * 128;
      if (r < 1000) {
        const float v6 = gx_c2[gx_j];
        const float v7 = gx_div(v6, acc1);
        out0[o * 1000 + r] = v7;
      }
    }
  }
}
