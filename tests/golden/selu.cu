// gpuxla loop kernel: 1 output(s) of shape (4096,): float[4096]
#include "gx_common.cuh"

extern "C" __global__ __launch_bounds__(256) void gx_loop_95845ab1b465(const float* __restrict__ in0, float* __restrict__ out0) {
  typedef int gx_ix;
  if (((unsigned long long)in0 & 15) == 0 && ((unsigned long long)out0 & 15) == 0) {
    for (gx_ix gx_v = (gx_ix)blockIdx.x * blockDim.x + threadIdx.x; gx_v < 1024; gx_v += (gx_ix)gridDim.x * blockDim.x) {
      __align__(16) float in0_v[4];
      *reinterpret_cast<uint4*>(in0_v) = reinterpret_cast<const uint4*>(in0)[gx_v];
      __align__(16) float out0_v[4];
      #pragma unroll
      for (int gx_k = 0; gx_k < 4; ++gx_k) {
        const gx_ix i = gx_v * 4 + gx_k;
        const float v7 = in0_v[gx_k];
        const bool v8 = (v7 > 0.0f);
        const float v9 = gx_exp(v7);
        const float v10 = gx_mul(1.67f, v9);
        const float v11 = gx_sub(v10, 1.67f);
        const float v12 = (v8 ? v7 : v11);
        const float v13 = gx_mul(1.05f, v12);
        out0_v[gx_k] = v13;
      }
      reinterpret_cast<uint4*>(out0)[gx_v] = *reinterpret_cast<const uint4*>(out0_v);
    }
    return;
  }
  for (gx_ix i = (gx_ix)blockIdx.x * blockDim.x + threadIdx.x; i < 4096; i += (gx_ix)gridDim.x * blockDim.x) {
    const float v0 = in0[i];
    const bool v1 = (v0 > 0.0f);
    const float v2 = gx_exp(v0);
    const float v3 = gx_mul(1.67f, v2);
    const float v4 = gx_sub(v3, 1.67f);
    const float v5 = (v1 ? v0 : v4);
    const float v6 = gx_mul(1.05f, v5);
    out0[i] = v6;
  }
}
