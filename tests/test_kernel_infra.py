"""The compile-and-launch layer under the code generator, tested with hand-written kernels.

Every kernel here is (a) compiled by NVRTC for sm_80 and sm_90 (skipped without cuda-bindings),
(b) run on the interpret platform and checked against NumPy / the `math` module, and (c) when CuPy
and a GPU are present, run on the GPU through the very same test body (the `plat` fixture), which
checks the interpret runtime's emulation of shuffles, votes and intrinsics against the hardware.
All kernels live in two sources (INFRA, MATH) so the whole file builds few shared objects.
"""
import math
import os
import statistics
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from gpuxla.backends import cache
from gpuxla.backends.cuda import interpret, nvrtc

try:
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None

needs_cxx = pytest.mark.skipif(interpret.host_compiler() is None, reason="no host C++ compiler")
needs_nvrtc = pytest.mark.skipif(not nvrtc.available(), reason="cuda-bindings / NVRTC not installed")


# =============================================================================================
# Hand-written infrastructure kernels
# =============================================================================================
INFRA = r"""
#include "gx_common.cuh"

// Grid-stride elementwise, 64-bit index.
extern "C" __global__ void ew_f32(const float* __restrict__ x, float* __restrict__ y, long long n) {
  for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
    y[i] = gx_add(gx_mul(gx_logistic(x[i]), 2.0f), gx_sqrt(gx_abs(x[i])));
}

// float16 / bfloat16 storage, float32 arithmetic.
extern "C" __global__ void ew_f16(const gx_f16* x, const gx_f16* z, gx_f16* y, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float a = gx_f16_to_f32(x[i]), b = gx_f16_to_f32(z[i]);
    y[i] = gx_f32_to_f16(gx_add(gx_mul(a, b), gx_exp(gx_neg(a))));
  }
}
extern "C" __global__ void ew_bf16(const gx_bf16* x, const gx_bf16* z, gx_bf16* y, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    float a = gx_bf16_to_f32(x[i]), b = gx_bf16_to_f32(z[i]);
    y[i] = gx_f32_to_bf16(gx_add(gx_mul(a, b), gx_exp(gx_neg(a))));
  }
}

// int32 / uint32 bit manipulation: shifts with out-of-range amounts, rotates, wrapping arithmetic.
extern "C" __global__ void ew_i32(const gx_i32* a, const gx_i32* b, gx_i32* out, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    gx_i32 x = a[i], s = b[i], r = s & 31;
    out[0 * n + i] = gx_shift_left(x, s);
    out[1 * n + i] = gx_shift_right_arithmetic(x, s);
    out[2 * n + i] = gx_shift_left(x, r) | gx_shift_right_logical(x, 32 - r);  // rotl; r == 0 works
    out[3 * n + i] = gx_add(x, gx_mul(x, s));
    out[4 * n + i] = (x ^ s) & ~(x | 7);
    out[5 * n + i] = gx_add(gx_div(x, s), gx_rem(x, s));
  }
}
extern "C" __global__ void ew_u32(const gx_u32* a, const gx_u32* b, gx_u32* out, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    gx_u32 x = a[i], s = b[i], r = s & 31u;
    out[0 * n + i] = gx_shift_right_logical(x, s);
    out[1 * n + i] = gx_shift_right_logical(x, r) | gx_shift_left(x, 32u - r);  // rotr
    out[2 * n + i] = gx_population_count(x) + 100u * gx_clz(x);
    out[3 * n + i] = gx_mul(x, s) ^ __umulhi(x, s);
    out[4 * n + i] = __brev(x) ^ (gx_u32)__ffs((int)x);
    out[5 * n + i] = __byte_perm(x, s, 0x5140u) + __funnelshift_l(x, s, r) + __funnelshift_r(x, s, r);
  }
}

// One block per row: per-thread strided sums, warp shuffle, shared memory across warps.
extern "C" __global__ void row_sum(const float* __restrict__ x, float* __restrict__ y, int cols) {
  __shared__ float partial[32];
  const float* row = x + (long long)blockIdx.x * cols;
  float acc = 0.0f;
  for (int c = threadIdx.x; c < cols; c += blockDim.x) acc += row[c];
  unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31u) >> 5;
  for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
  if (lane == 0) partial[warp] = acc;
  __syncthreads();
  if (warp == 0) {
    acc = lane < nwarps ? partial[lane] : 0.0f;
    for (int off = 16; off > 0; off >>= 1) acc += __shfl_down_sync(0xffffffffu, acc, off);
    if (lane == 0) y[blockIdx.x] = acc;
  }
}

// Row max with a butterfly (every lane ends with the maximum); NaN propagates through gx_max.
extern "C" __global__ void row_max(const float* __restrict__ x, float* __restrict__ y, int cols) {
  __shared__ float partial[32];
  const float* row = x + (long long)blockIdx.x * cols;
  float m = -gx_inf_f32();
  for (int c = threadIdx.x; c < cols; c += blockDim.x) m = gx_max(m, row[c]);
  for (int mask = 16; mask > 0; mask >>= 1) m = gx_max(m, __shfl_xor_sync(0xffffffffu, m, mask));
  unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5, nwarps = (blockDim.x + 31u) >> 5;
  if (lane == 0) partial[warp] = m;
  __syncthreads();
  m = lane < nwarps ? partial[lane] : -gx_inf_f32();
  for (int mask = 16; mask > 0; mask >>= 1) m = gx_max(m, __shfl_xor_sync(0xffffffffu, m, mask));
  if (threadIdx.x == blockDim.x - 1) y[blockIdx.x] = m;  // any thread has it
}

// Warp votes: full-mask ballot/any/all, a half-warp ballot, and a block-wide count.
extern "C" __global__ void vote(const int* x, unsigned* out, int* counts, int n) {
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  int v = i < n ? x[i] : 0;
  unsigned b = __ballot_sync(0xffffffffu, v > 0);
  int any = __any_sync(0xffffffffu, v > 0), all = __all_sync(0xffffffffu, v > 0);
  unsigned half = 0;
  if ((threadIdx.x & 31u) < 16u) half = __ballot_sync(0x0000ffffu, v < 0);
  int cnt = __syncthreads_count(v > 0);
  int w = i >> 5;
  if ((threadIdx.x & 31u) == 0) {
    out[4 * w + 0] = b;
    out[4 * w + 1] = (unsigned)any;
    out[4 * w + 2] = (unsigned)all;
    out[4 * w + 3] = half;
  }
  if (threadIdx.x == 0) counts[blockIdx.x] = cnt;
}

// Shuffle semantics, including sub-warp widths and out-of-range sources.
extern "C" __global__ void shfl_variants(int* out, double* d, long long* q) {
  int lane = threadIdx.x & 31;
  int v = threadIdx.x * 10 + 1;
  int o = threadIdx.x * 8;
  out[o + 0] = __shfl_sync(0xffffffffu, v, 3);
  out[o + 1] = __shfl_sync(0xffffffffu, v, lane + 5, 8);
  out[o + 2] = __shfl_up_sync(0xffffffffu, v, 3);
  out[o + 3] = __shfl_up_sync(0xffffffffu, v, 2, 16);
  out[o + 4] = __shfl_down_sync(0xffffffffu, v, 5);
  out[o + 5] = __shfl_down_sync(0xffffffffu, v, 3, 8);
  out[o + 6] = __shfl_xor_sync(0xffffffffu, v, 6);
  out[o + 7] = __shfl_xor_sync(0xffffffffu, v, 9, 8);
  d[threadIdx.x] = __shfl_xor_sync(0xffffffffu, (double)threadIdx.x + 0.25, 1);
  q[threadIdx.x] = __shfl_down_sync(0xffffffffu, (long long)threadIdx.x << 40, 1);
}

// Warp reductions (sm_80+).
extern "C" __global__ void warp_reduce(const int* x, int* out) {
  int v = x[blockIdx.x * blockDim.x + threadIdx.x];
  int w = (blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  int s = __reduce_add_sync(0xffffffffu, v);
  int mn = __reduce_min_sync(0xffffffffu, v);
  int mx = __reduce_max_sync(0xffffffffu, v);
  unsigned ux = __reduce_max_sync(0xffffffffu, (unsigned)v);
  unsigned ox = __reduce_or_sync(0xffffffffu, (unsigned)v);
  if ((threadIdx.x & 31u) == 0) {
    out[5 * w + 0] = s; out[5 * w + 1] = mn; out[5 * w + 2] = mx;
    out[5 * w + 3] = (int)ux; out[5 * w + 4] = (int)ox;
  }
}

// Histogram: shared-memory bins with atomicAdd, flushed with global atomics; float weights too.
extern "C" __global__ void histogram(const int* __restrict__ x, const float* __restrict__ w, unsigned* hist,
                                     float* whist, int n, int nbins) {
  __shared__ unsigned local[64];
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) local[b] = 0u;
  __syncthreads();
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicAdd(&local[x[i]], 1u);
    atomicAdd(&whist[x[i]], w[i]);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < nbins; b += blockDim.x) atomicAdd(&hist[b], local[b]);
}

extern "C" __global__ void atomics_misc(const int* x, int n, int* imax, int* imin, unsigned long long* cnt,
                                        double* dsum, int* cas_counter, unsigned* orbits) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    atomicMax(imax, x[i]);
    atomicMin(imin, x[i]);
    atomicAdd(cnt, 1ull);
    atomicAdd(dsum, (double)x[i]);
    int old = *cas_counter, assumed;
    do {
      assumed = old;
      old = atomicCAS(cas_counter, assumed, assumed + 1);
    } while (old != assumed);
    atomicOr(orbits, 1u << (x[i] & 31));
  }
}

// 3-D grid and block indexing.
extern "C" __global__ void index3d(unsigned* out) {
  unsigned bid = blockIdx.x + gridDim.x * (blockIdx.y + gridDim.y * blockIdx.z);
  unsigned nt = blockDim.x * blockDim.y * blockDim.z;
  unsigned tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
  unsigned g = bid * nt + tid;
  out[3 * g + 0] = blockIdx.x | blockIdx.y << 8 | blockIdx.z << 16;
  out[3 * g + 1] = threadIdx.x | threadIdx.y << 8 | threadIdx.z << 16;
  out[3 * g + 2] = (blockDim.x | blockDim.y << 8 | blockDim.z << 16) ^ (gridDim.x << 4 | gridDim.y << 12 | gridDim.z << 20);
}

// Dynamic shared memory: reverse each block's slice.
extern "C" __global__ void reverse_block(const float* x, float* y, int n) {
  GX_DYNAMIC_SHARED(float, buf);
  int i = blockIdx.x * blockDim.x + threadIdx.x;
  buf[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  if (i < n) y[i] = buf[blockDim.x - 1 - threadIdx.x];
}

extern "C" __global__ void trap_at(int where) {
  if ((int)threadIdx.x == where) __trap();
}

extern "C" __global__ void divergent_barrier(int* out) {
  if (threadIdx.x < 16) __syncthreads();
  else __syncwarp();
  out[threadIdx.x] = 1;
}
"""

INFRA_SIGS = [
    ("ew_f32", ["const float* __restrict__", "float* __restrict__", "long long"]),
    ("ew_f16", ["const gx_f16*", "const gx_f16*", "gx_f16*", "int"]),
    ("ew_bf16", ["const gx_bf16*", "const gx_bf16*", "gx_bf16*", "int"]),
    ("ew_i32", ["const gx_i32*", "const gx_i32*", "gx_i32*", "int"]),
    ("ew_u32", ["const gx_u32*", "const gx_u32*", "gx_u32*", "int"]),
    ("row_sum", ["const float*", "float*", "int"]),
    ("row_max", ["const float*", "float*", "int"]),
    ("vote", ["const int*", "unsigned*", "int*", "int"]),
    ("shfl_variants", ["int*", "double*", "long long*"]),
    ("warp_reduce", ["const int*", "int*"]),
    ("histogram", ["const int*", "const float*", "unsigned*", "float*", "int", "int"]),
    ("atomics_misc", ["const int*", "int", "int*", "int*", "unsigned long long*", "double*", "int*", "unsigned*"]),
    ("index3d", ["unsigned*"]),
    ("reverse_block", ["const float*", "float*", "int"]),
    ("trap_at", ["int"]),
    ("divergent_barrier", ["int*"]),
]

# =============================================================================================
# Every gx_* device function, one switch-kernel per type (generated)
# =============================================================================================
F_UNARY = ["neg", "exp", "exp2", "log", "log1p", "expm1", "sqrt", "rsqrt", "cbrt", "sin", "cos", "tan", "asin",
           "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "abs", "sign", "floor", "ceil",
           "round", "rint", "is_finite", "logistic", "erf", "erfc", "erf_inv", "lgamma", "digamma", "square"]
F_BINARY = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "atan2", "nextafter"]
I_UNARY = ["neg", "abs", "sign", "population_count", "clz", "square"]
I_BINARY = ["add", "sub", "mul", "div", "rem", "pow", "max", "min", "shift_left", "shift_right_logical",
            "shift_right_arithmetic"]
FLOATS = {"f32": ("float", np.float32), "f64": ("double", np.float64)}
INTS = {"i8": ("gx_i8", np.int8), "u8": ("gx_u8", np.uint8), "i16": ("gx_i16", np.int16),
        "u16": ("gx_u16", np.uint16), "i32": ("gx_i32", np.int32), "u32": ("gx_u32", np.uint32),
        "i64": ("gx_i64", np.int64), "u64": ("gx_u64", np.uint64)}
# conversions: name -> (from C type, to C type, expression of v)
CONVERSIONS = {
    "f16_to_f32": ("gx_f16", "float", "gx_f16_to_f32(v)"),
    "f16_to_f32_sw": ("gx_f16", "float", "gx_f16_to_f32_sw(v)"),
    "f32_to_f16": ("float", "gx_f16", "gx_f32_to_f16(v)"),
    "f32_to_f16_sw": ("float", "gx_f16", "gx_f32_to_f16_sw(v)"),
    "bf16_to_f32": ("gx_bf16", "float", "gx_bf16_to_f32(v)"),
    "f32_to_bf16": ("float", "gx_bf16", "gx_f32_to_bf16(v)"),
    "f32_to_bf16_sw": ("float", "gx_bf16", "gx_f32_to_bf16_sw(v)"),
    "f64_to_f16": ("double", "gx_f16", "gx_f64_to_f16(v)"),
    "f64_to_bf16": ("double", "gx_bf16", "gx_f64_to_bf16(v)"),
    "f32_to_i32": ("float", "gx_i32", "gx_convert<gx_i32>(v)"),
    "f32_to_u8": ("float", "gx_u8", "gx_convert<gx_u8>(v)"),
    "f32_to_i8": ("float", "gx_i8", "gx_convert<gx_i8>(v)"),
    "f32_to_u16": ("float", "gx_u16", "gx_convert<gx_u16>(v)"),
    "f64_to_i64": ("double", "gx_i64", "gx_convert<gx_i64>(v)"),
    "f64_to_u64": ("double", "gx_u64", "gx_convert<gx_u64>(v)"),
    "f64_to_u32": ("double", "gx_u32", "gx_convert<gx_u32>(v)"),
    "f64_to_i16": ("double", "gx_i16", "gx_convert<gx_i16>(v)"),
    "i64_to_f32": ("gx_i64", "float", "gx_convert<float>(v)"),
    "u64_to_f64": ("gx_u64", "double", "gx_convert<double>(v)"),
}


def _switch_kernel(name, ctype, ops, arity, call):
    args = ", ".join(f"const {ctype}* x{k}" for k in range(arity))
    vals = "; ".join(f"{ctype} v{k} = x{k}[i]" for k in range(arity))
    cases = "\n".join(f"      case {j}: r = ({ctype}){call(op)}; break;" for j, op in enumerate(ops))
    return (f'extern "C" __global__ void {name}(int op, {args}, {ctype}* y, int n) {{\n'
            f"  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {{\n"
            f"    {vals}; {ctype} r = 0;\n    switch (op) {{\n{cases}\n      default: r = v0;\n    }}\n"
            f"    y[i] = r;\n  }}\n}}\n")


def _math_source():
    parts = ['#include "gx_common.cuh"\n']
    sigs = []
    for t, (c, _) in FLOATS.items():
        parts.append(_switch_kernel(f"un_{t}", c, F_UNARY, 1, lambda op: f"gx_{op}(v0)"))
        parts.append(_switch_kernel(f"bin_{t}", c, F_BINARY, 2, lambda op: f"gx_{op}(v0, v1)"))
        sigs += [(f"un_{t}", ["int", f"const {c}*", f"{c}*", "int"]),
                 (f"bin_{t}", ["int", f"const {c}*", f"const {c}*", f"{c}*", "int"])]
        # select, clamp, integer_pow
        parts.append(
            f'extern "C" __global__ void misc_{t}(const {c}* a, const {c}* b, const {c}* c, {c}* out, int n) {{\n'
            f"  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {{\n"
            f"    out[0 * n + i] = gx_select(a[i] > b[i], a[i], c[i]);\n"
            f"    out[1 * n + i] = gx_clamp(b[i], a[i], c[i]);\n"
            f"    out[2 * n + i] = gx_integer_pow(a[i], 5);\n"
            f"    out[3 * n + i] = gx_integer_pow(a[i], -3);\n"
            f"    out[4 * n + i] = gx_integer_pow(a[i], 0);\n  }}\n}}\n")
        sigs.append((f"misc_{t}", [f"const {c}*"] * 3 + [f"{c}*", "int"]))
    for t, (c, _) in INTS.items():
        parts.append(_switch_kernel(f"un_{t}", c, I_UNARY, 1, lambda op: f"gx_{op}(v0)"))
        parts.append(_switch_kernel(f"bin_{t}", c, I_BINARY, 2, lambda op: f"gx_{op}(v0, v1)"))
        sigs += [(f"un_{t}", ["int", f"const {c}*", f"{c}*", "int"]),
                 (f"bin_{t}", ["int", f"const {c}*", f"const {c}*", f"{c}*", "int"])]
    parts.append(
        'extern "C" __global__ void misc_int(const gx_i32* a, const gx_i64* b, const gx_u8* p, gx_i64* out, int n) {\n'
        "  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {\n"
        "    out[0 * n + i] = gx_select(p[i] != 0, (gx_i64)a[i], b[i]);\n"
        "    out[1 * n + i] = gx_clamp((gx_i64)-5, b[i], (gx_i64)7);\n"
        "    out[2 * n + i] = gx_integer_pow(a[i], 3);\n"
        "    out[3 * n + i] = gx_integer_pow(b[i], 2);\n"
        "    out[4 * n + i] = (gx_i64)gx_max(p[i] != 0, a[i] > 0) + 2 * (gx_i64)gx_min(p[i] != 0, a[i] > 0);\n"
        "  }\n}\n")
    sigs.append(("misc_int", ["const gx_i32*", "const gx_i64*", "const gx_u8*", "gx_i64*", "int"]))
    for name, (src_t, dst_t, expr) in CONVERSIONS.items():
        parts.append(
            f'extern "C" __global__ void cvt_{name}(const {src_t}* x, {dst_t}* y, int n) {{\n'
            f"  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {{\n"
            f"    {src_t} v = x[i]; y[i] = {expr};\n  }}\n}}\n")
        sigs.append((f"cvt_{name}", [f"const {src_t}*", f"{dst_t}*", "int"]))
    return "\n".join(parts), sigs


MATH, MATH_SIGS = _math_source()
SOURCES = {"infra": (INFRA, INFRA_SIGS), "math": (MATH, MATH_SIGS)}


# =============================================================================================
# Platforms: the same test body on the interpret platform and (when present) on a GPU
# =============================================================================================
class InterpretPlatform:
    name = "interpret"

    def __init__(self, options=()):
        self.options = tuple(options)
        self.modules = {}

    def module(self, which):
        if which not in self.modules:
            src, sigs = SOURCES[which]
            self.modules[which] = interpret.compile_module(src, sigs, options=self.options)
        return self.modules[which]

    def launch(self, which, name, grid, block, args, shared_mem=0):
        self.module(which).launch(name, grid, block, args, shared_mem=shared_mem)


def _cuda_usable():
    try:
        import cupy

        return nvrtc.available() and cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


class CudaPlatform:
    name = "cuda"

    def __init__(self, tmpdir):
        import cupy

        self.cp, self.tmp, self.modules = cupy, Path(tmpdir), {}

    def module(self, which):
        if which not in self.modules:
            path = self.tmp / f"{which}.cubin"
            path.write_bytes(nvrtc.compile_cubin(SOURCES[which][0]))
            self.modules[which] = self.cp.RawModule(path=str(path))
        return self.modules[which]

    def launch(self, which, name, grid, block, args, shared_mem=0):
        cp = self.cp
        fn = self.module(which).get_function(name)
        dev = []
        for a in args:
            if isinstance(a, np.ndarray):
                host = a.view(f"u{a.dtype.itemsize}") if a.dtype.kind not in "biuf" else a
                dev.append(cp.asarray(host))
            else:
                dev.append(a)
        g = (grid,) if isinstance(grid, int) else tuple(grid)
        b = (block,) if isinstance(block, int) else tuple(block)
        fn(g, b, tuple(dev), shared_mem=shared_mem)
        cp.cuda.runtime.deviceSynchronize()
        for a, d in zip(args, dev):
            if isinstance(a, np.ndarray) and a.flags.writeable:
                a.view(d.dtype)[...] = d.get()


@pytest.fixture(scope="module", params=["interpret", "cuda"])
def plat(request, tmp_path_factory):
    if request.param == "interpret":
        if interpret.host_compiler() is None:
            pytest.skip("no host C++ compiler")
        return InterpretPlatform()
    if not _cuda_usable():
        pytest.skip("no CuPy with a CUDA GPU")
    return CudaPlatform(tmp_path_factory.mktemp("cubins"))


def _grid(n, block=256, cap=64):
    return max(1, min(cap, -(-n // block)))


# =============================================================================================
# (a) NVRTC compiles every kernel (and, through MATH, every gx_* function of the header)
# =============================================================================================
@needs_nvrtc
@pytest.mark.parametrize("which,arch", [("infra", "sm_80"), ("infra", "sm_90"),
                                        ("math", "sm_75"), ("math", "sm_80"), ("math", "sm_90")])
def test_nvrtc_compiles(which, arch):
    cubin = nvrtc.compile_cubin(SOURCES[which][0], arch=arch)
    assert isinstance(cubin, bytes) and cubin[:4] == b"\x7fELF" and len(cubin) > 1000
    assert cubin.arch == arch


# =============================================================================================
# (b) the infrastructure kernels, on every platform
# =============================================================================================
def test_elementwise_f32(plat):
    rng = np.random.default_rng(0)
    for n in (1, 1000, 70001):
        x = rng.standard_normal(n).astype(np.float32) * 4
        y = np.full(n, np.nan, np.float32)
        plat.launch("infra", "ew_f32", _grid(n, cap=40), 256, [x, y, np.int64(n)])
        x64 = x.astype(np.float64)
        ref = 2.0 / (1.0 + np.exp(-x64)) + np.sqrt(np.abs(x64))
        np.testing.assert_allclose(y, ref, rtol=3e-6, atol=1e-7)


def test_elementwise_f16(plat):
    rng = np.random.default_rng(1)
    n = 5000
    x = (rng.standard_normal(n) * 3).astype(np.float16)
    z = (rng.standard_normal(n) * 3).astype(np.float16)
    x[:4] = [np.inf, -np.inf, np.nan, 6e-8]
    y = np.zeros(n, np.float16)
    plat.launch("infra", "ew_f16", _grid(n), 256, [x, z, y, np.int32(n)])
    with np.errstate(all="ignore"):
        a, b = x.astype(np.float64), z.astype(np.float64)
        ref = (a * b + np.exp(-a)).astype(np.float16)
    np.testing.assert_allclose(y.astype(np.float32), ref.astype(np.float32), rtol=2 ** -10, atol=2 ** -24)


@pytest.mark.skipif(ml_dtypes is None, reason="ml_dtypes not installed")
def test_elementwise_bf16(plat):
    rng = np.random.default_rng(2)
    n = 5000
    bf16 = ml_dtypes.bfloat16
    x = (rng.standard_normal(n) * 3).astype(bf16)
    z = (rng.standard_normal(n) * 3).astype(bf16)
    y = np.zeros(n, bf16)
    plat.launch("infra", "ew_bf16", _grid(n), 256, [x, z, y, np.int32(n)])
    a, b = x.astype(np.float64), z.astype(np.float64)
    ref = (a * b + np.exp(-a)).astype(bf16)
    np.testing.assert_allclose(y.astype(np.float32), ref.astype(np.float32), rtol=2 ** -7, atol=1e-30)


def _wrap(v, bits, signed):
    v &= (1 << bits) - 1
    return v - (1 << bits) if signed and v >> (bits - 1) else v


def _cdiv(a, b):  # C truncating division
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def test_bitops_i32(plat):
    rng = np.random.default_rng(3)
    a = np.concatenate([rng.integers(-2 ** 31, 2 ** 31, 400), [-2 ** 31, 2 ** 31 - 1, -1, 0, 1, 5, -2 ** 31]])
    b = np.concatenate([rng.integers(-4, 40, 400), [-1, -1, 0, 33, 32, 31, 1]])
    a, b = a.astype(np.int32), b.astype(np.int32)
    n = len(a)
    out = np.zeros(6 * n, np.int32)
    plat.launch("infra", "ew_i32", _grid(n), 128, [a, b, out, np.int32(n)])
    w = lambda v: _wrap(v, 32, True)
    for i, (x, s) in enumerate(zip(a.tolist(), b.tolist())):
        us, r = s & 0xFFFFFFFF, s & 31
        ux = x & 0xFFFFFFFF
        div = -1 if s == 0 else (w(-x) if s == -1 else _cdiv(x, s))
        rem = x if s == 0 else (0 if s == -1 else x - _cdiv(x, s) * s)
        exp = [
            0 if us >= 32 else w(x << us),
            (-1 if x < 0 else 0) if us >= 32 else x >> us,
            w((ux << r | ux >> (32 - r)) & 0xFFFFFFFF),
            w(x + x * s),
            w((x ^ s) & ~(x | 7)),
            w(w(div) + rem),
        ]
        got = [int(out[k * n + i]) for k in range(6)]
        assert got == exp, (x, s, got, exp)


def test_bitops_u32(plat):
    rng = np.random.default_rng(4)
    a = np.concatenate([rng.integers(0, 2 ** 32, 400), [0, 1, 2 ** 32 - 1, 2 ** 31, 0x80000001]]).astype(np.uint32)
    b = np.concatenate([rng.integers(0, 2 ** 32, 200), rng.integers(0, 70, 200), [0, 32, 31, 2 ** 32 - 1, 33]])
    b = b.astype(np.uint32)
    n = len(a)
    out = np.zeros(6 * n, np.uint32)
    plat.launch("infra", "ew_u32", _grid(n), 128, [a, b, out, np.int32(n)])
    M = 0xFFFFFFFF

    def brev(x):
        return int(f"{x:032b}"[::-1], 2)

    def byte_perm(x, y, s):
        v = y << 32 | x
        return sum(((v >> (8 * ((s >> (4 * k)) & 7))) & 0xFF) << (8 * k) for k in range(4))

    for i, (x, s) in enumerate(zip(a.tolist(), b.tolist())):
        r = s & 31
        ffs = (x & -x).bit_length()
        hi_lo = (s << 32) | x
        exp = [
            0 if s >= 32 else x >> s,
            (x >> r | (0 if 32 - r >= 32 else x << (32 - r))) & M,
            (bin(x).count("1") + 100 * (32 - x.bit_length())) & M,
            ((x * s) & M) ^ ((x * s) >> 32),
            brev(x) ^ ffs,
            (byte_perm(x, s, 0x5140) + ((hi_lo << r) >> 32 & M) + ((hi_lo >> r) & M)) & M,
        ]
        got = [int(out[k * n + i]) for k in range(6)]
        assert got == exp, (hex(x), hex(s), [hex(g) for g in got], [hex(e) for e in exp])


@pytest.mark.parametrize("rows,cols,block", [(0, 5, 128), (1, 1, 32), (3, 1, 1024), (5, 7, 32), (17, 1000, 96),
                                             (4, 4099, 256), (2, 100003, 1024), (6, 0, 64)])
def test_row_sum(plat, rows, cols, block):
    rng = np.random.default_rng(rows * 7919 + cols)
    x = rng.uniform(-1, 1, (rows, cols)).astype(np.float32)
    y = np.full(rows, np.nan, np.float32)
    if rows:  # CUDA rejects an empty grid: the launch configuration handles zero rows
        plat.launch("infra", "row_sum", rows, block, [x, y, np.int32(cols)])
    np.testing.assert_allclose(y, x.astype(np.float64).sum(axis=1), rtol=1e-5, atol=1e-6 * (cols + 1))
    if rows:
        y2 = np.full(rows, np.nan, np.float32)
        plat.launch("infra", "row_sum", rows, block, [x, y2, np.int32(cols)])
        assert y.tobytes() == y2.tobytes(), "row_sum is not deterministic"


@pytest.mark.parametrize("rows,cols,block", [(1, 1, 32), (4, 33, 64), (9, 5000, 256), (3, 70, 1024)])
def test_row_max(plat, rows, cols, block):
    rng = np.random.default_rng(cols)
    x = rng.standard_normal((rows, cols)).astype(np.float32)
    if rows > 2:
        x[1, cols // 2] = np.nan
        x[2, :] = -np.inf
    y = np.zeros(rows, np.float32)
    plat.launch("infra", "row_max", rows, block, [x, y, np.int32(cols)])
    ref = np.where(np.isnan(x).any(axis=1), np.nan, np.max(np.where(np.isnan(x), -np.inf, x), axis=1))
    np.testing.assert_array_equal(y, ref.astype(np.float32))


def test_vote(plat):
    rng = np.random.default_rng(5)
    n, block = 300, 64
    nblocks = -(-n // block)
    x = rng.integers(-3, 4, n).astype(np.int32)
    x[64:96] = 1  # one warp where all are positive
    x[96:128] = -1  # and one where none is
    out = np.zeros(4 * nblocks * block // 32, np.uint32)
    counts = np.zeros(nblocks, np.int32)
    plat.launch("infra", "vote", nblocks, block, [x, out, counts, np.int32(n)])
    xp = np.concatenate([x, np.zeros(nblocks * block - n, np.int32)])
    for w in range(nblocks * block // 32):
        v = xp[32 * w:32 * w + 32]
        ballot = sum(1 << k for k in range(32) if v[k] > 0)
        half = sum(1 << k for k in range(16) if v[k] < 0)
        exp = [ballot, int(ballot != 0), int(ballot == 0xFFFFFFFF), half]
        assert out[4 * w:4 * w + 4].tolist() == exp, w
    np.testing.assert_array_equal(counts, (xp.reshape(nblocks, block) > 0).sum(axis=1))


def test_shuffle_semantics(plat):
    block = 64
    out = np.zeros(8 * block, np.int32)
    d = np.zeros(block, np.float64)
    q = np.zeros(block, np.int64)
    plat.launch("infra", "shfl_variants", 1, block, [out, d, q])
    v = [t * 10 + 1 for t in range(block)]

    def val(t, src_lane):  # value of lane src_lane in t's warp
        return v[(t & ~31) + src_lane]

    for t in range(block):
        lane = t & 31
        exp = [
            val(t, 3),
            val(t, (lane & ~7) + ((lane + 5) & 7)),
            val(t, lane - 3) if lane >= 3 else v[t],
            val(t, lane - 2) if (lane & 15) >= 2 else v[t],
            val(t, lane + 5) if lane + 5 < 32 else v[t],
            val(t, lane + 3) if (lane & 7) + 3 < 8 else v[t],
            val(t, lane ^ 6),
            val(t, lane ^ 9) if (lane ^ 9) < (lane & ~7) + 8 else v[t],
        ]
        assert out[8 * t:8 * t + 8].tolist() == exp, (t, out[8 * t:8 * t + 8].tolist(), exp)
        assert d[t] == (t ^ 1) + 0.25
        assert q[t] == ((t + 1) << 40 if lane < 31 else t << 40)


def test_warp_reduce(plat):
    rng = np.random.default_rng(6)
    x = rng.integers(-1000, 1000, 128).astype(np.int32)
    out = np.zeros(5 * 4, np.int32)
    plat.launch("infra", "warp_reduce", 2, 64, [x, out])
    for w in range(4):
        v = x[32 * w:32 * w + 32]
        u = v.astype(np.int64) & 0xFFFFFFFF
        ored = 0
        for e in u.tolist():
            ored |= e
        exp = [int(v.sum()), int(v.min()), int(v.max()), _wrap(int(u.max()), 32, True), _wrap(ored, 32, True)]
        assert out[5 * w:5 * w + 5].tolist() == exp


def test_histogram(plat):
    rng = np.random.default_rng(7)
    n, nbins = 20000, 37
    x = rng.integers(0, nbins, n).astype(np.int32)
    w = rng.uniform(0, 1, n).astype(np.float32)
    hist = np.zeros(nbins, np.uint32)
    whist = np.zeros(nbins, np.float32)
    plat.launch("infra", "histogram", 13, 128, [x, w, hist, whist, np.int32(n), np.int32(nbins)])
    np.testing.assert_array_equal(hist, np.bincount(x, minlength=nbins))
    np.testing.assert_allclose(whist, np.bincount(x, weights=w.astype(np.float64), minlength=nbins), rtol=1e-4)
    if plat.name == "interpret":  # blocks run serially: float atomics are deterministic
        whist2 = np.zeros(nbins, np.float32)
        plat.launch("infra", "histogram", 13, 128, [x, w, np.zeros(nbins, np.uint32), whist2, np.int32(n),
                                                    np.int32(nbins)])
        assert whist.tobytes() == whist2.tobytes()


def test_atomics_misc(plat):
    rng = np.random.default_rng(8)
    n = 3000
    x = rng.integers(-10 ** 6, 10 ** 6, n).astype(np.int32)
    imax, imin = np.array([-2 ** 31], np.int32), np.array([2 ** 31 - 1], np.int32)
    cnt, dsum = np.zeros(1, np.uint64), np.zeros(1, np.float64)
    cas, orbits = np.zeros(1, np.int32), np.zeros(1, np.uint32)
    plat.launch("infra", "atomics_misc", 5, 256, [x, np.int32(n), imax, imin, cnt, dsum, cas, orbits])
    assert imax[0] == x.max() and imin[0] == x.min() and cnt[0] == n and cas[0] == n
    assert dsum[0] == float(x.astype(np.int64).sum())  # exact: integers well inside 2^53
    bits = 0
    for e in (x & 31).tolist():
        bits |= 1 << e
    assert int(orbits[0]) == bits


def test_index3d(plat):
    grid, block = (3, 2, 2), (5, 3, 2)
    nb, nt = 12, 30
    out = np.zeros(3 * nb * nt, np.uint32)
    plat.launch("infra", "index3d", grid, block, [out])
    k = 0
    dims = (5 | 3 << 8 | 2 << 16) ^ (3 << 4 | 2 << 12 | 2 << 20)
    for bz in range(2):
        for by in range(2):
            for bx in range(3):
                for tz in range(2):
                    for ty in range(3):
                        for tx in range(5):
                            assert out[3 * k:3 * k + 3].tolist() == [bx | by << 8 | bz << 16,
                                                                      tx | ty << 8 | tz << 16, dims]
                            k += 1


def test_dynamic_shared_memory(plat):
    block, n = 96, 96 * 5
    x = np.arange(n, dtype=np.float32)
    y = np.zeros(n, np.float32)
    plat.launch("infra", "reverse_block", n // block, block, [x, y, np.int32(n)], shared_mem=4 * block)
    np.testing.assert_array_equal(y, x.reshape(-1, block)[:, ::-1].ravel())


# =============================================================================================
# Every gx_* function against references built from the math module (and NumPy's exact ops)
# =============================================================================================
INF, NAN = math.inf, math.nan


def _float_values(dt, rng):
    fi = np.finfo(dt)
    special = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, -1.5, 2.5, -2.5, 3.5, -3.5, 2.0, -2.0, 3.0, 10.0, -10.0,
               100.0, -100.0, 1e-8, -1e-8, 1e10, -1e10, INF, -INF, NAN, float(fi.max), -float(fi.max),
               float(fi.tiny), -float(fi.tiny), float(fi.smallest_subnormal), 0.99, -0.99, 0.999999, -0.999999,
               20.5, -7.25, -2.4570247, 1.4616321, 88.0, 89.0, 709.0, 710.0, math.pi, math.e,
               float(np.nextafter(dt(0.5), dt(0))), 1e-30, -1e-30, 1e30]
    grid = np.linspace(-12, 12, 97).tolist() + (rng.standard_normal(200) * 5).tolist()
    grid += np.exp(rng.uniform(-40, 40, 100)).tolist()
    vals = np.array(special + grid, dtype=np.float64)
    with np.errstate(over="ignore"):
        return vals.astype(dt)


def _c(fn, on_value_error=NAN, on_overflow=INF):
    """Wrap a math function with C's answers where Python raises."""

    def f(x, *rest):
        try:
            return fn(x, *rest)
        except ValueError:
            return on_value_error(x, *rest) if callable(on_value_error) else on_value_error
        except OverflowError:
            return on_overflow(x, *rest) if callable(on_overflow) else on_overflow

    return f


def _round_away(x):
    if not math.isfinite(x) or x == 0:
        return x
    ax = abs(x)
    f = math.floor(ax)
    r = f + 1 if ax - f >= 0.5 else f
    return math.copysign(r, x)


def _rint(x):
    if not math.isfinite(x) or x == 0:
        return x
    return math.copysign(float(round(x)), x)


def _logistic(x):
    if math.isnan(x):
        return x
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _erfinv(y):
    if math.isnan(y) or abs(y) > 1:
        return NAN
    if abs(y) == 1:
        return math.copysign(INF, y)
    if y == 0:
        return y
    p = abs(y)
    q = 1.0 - p
    nd = statistics.NormalDist()
    x = (nd.inv_cdf((1 + p) / 2) if p <= 0.5 else -nd.inv_cdf(q / 2)) / math.sqrt(2)
    for _ in range(6):  # Newton, on erfc in the tail where erf(x) - p would cancel
        f = math.erf(x) - p if p <= 0.5 else q - math.erfc(x)
        d = 2 / math.sqrt(math.pi) * math.exp(-x * x)
        if d == 0 or f == 0:
            break
        x -= f / d
    return math.copysign(x, y)


_BERNOULLI = [1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798,
              -174611 / 330]


def _digamma(x):
    if math.isnan(x) or x == INF:
        return x
    if x == -INF or (x <= 0 and x == math.floor(x)):
        return NAN
    res = 0.0
    if x < 0.5:  # psi(x) = psi(1 - x) - pi / tan(pi x), tan taken at the exact reduced argument
        r = x - round(x)
        res -= math.pi / math.tan(math.pi * r)
        x = 1.0 - x
    while x < 20:
        res -= 1.0 / x
        x += 1.0
    s, z, zk = 0.0, 1.0 / (x * x), 1.0
    for k, b in enumerate(_BERNOULLI, 1):
        zk *= z
        s += b / (2 * k) * zk
    return res + math.log(x) - 0.5 / x - s


def _lgamma(x):
    if math.isinf(x):
        return INF
    return _c(math.lgamma, INF, INF)(x)


def _sgn_inf(x, *rest):
    return math.copysign(INF, x)


F_UNARY_REF = {
    "neg": lambda x: -x,
    "exp": _c(math.exp),
    "exp2": _c(math.exp2),
    "log": _c(math.log, lambda x: -INF if x == 0 else NAN),
    "log1p": _c(math.log1p, lambda x: -INF if x == -1 else NAN),
    "expm1": _c(math.expm1),
    "sqrt": _c(math.sqrt),
    "rsqrt": lambda x: NAN if x < 0 or math.isnan(x) else (math.copysign(INF, x) if x == 0 else 1 / math.sqrt(x)),
    "cbrt": math.cbrt,
    "sin": _c(math.sin), "cos": _c(math.cos), "tan": _c(math.tan),
    "asin": _c(math.asin), "acos": _c(math.acos), "atan": math.atan,
    "sinh": _c(math.sinh, NAN, _sgn_inf), "cosh": _c(math.cosh), "tanh": math.tanh,
    "asinh": math.asinh, "acosh": _c(math.acosh),
    "atanh": _c(math.atanh, lambda x: math.copysign(INF, x) if abs(x) == 1 else NAN),
    "abs": abs,
    "sign": lambda x: x if x == 0 or math.isnan(x) else math.copysign(1.0, x),
    "floor": lambda x: x if not math.isfinite(x) or x == 0 else math.copysign(float(math.floor(x)), x),
    "ceil": lambda x: x if not math.isfinite(x) or x == 0 else math.copysign(float(math.ceil(x)), x),
    "round": _round_away, "rint": _rint,
    "is_finite": lambda x: float(math.isfinite(x)),
    "logistic": _logistic,
    "erf": math.erf, "erfc": math.erfc, "erf_inv": _erfinv,
    "lgamma": _lgamma, "digamma": _digamma,
    "square": lambda x: x * x if not math.isinf(x * x) else INF,
}
EXACT_UNARY = {"neg", "abs", "sign", "floor", "ceil", "round", "rint", "is_finite", "sqrt", "square"}
# (ulps, atol) per op: CUDA's documented float errors are <= 4 ulp for these (6 for lgammaf away
# from its negative zeros); glibc's are smaller.  lgamma/digamma get an absolute slack near roots.
UNARY_TOL = {"lgamma": (8, {"f32": 2e-6, "f64": 1e-14}), "digamma": (8, {"f32": 2e-6, "f64": 2e-14}),
             "tan": (6, None), "acosh": (6, None), "erfc": (6, None), "pow": (8, None)}


def _fmod(a, b):
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or b == 0:
        return NAN
    return math.fmod(a, b)


def _is_odd_int(y):
    return math.isfinite(y) and y == math.floor(y) and abs(y) < 2 ** 53 and int(y) % 2 == 1


def _pow(a, b):
    try:
        return math.pow(a, b)
    except OverflowError:
        return -INF if a < 0 and _is_odd_int(b) else INF
    except ValueError:
        if a == 0:  # pole
            return math.copysign(INF, a) if _is_odd_int(b) else INF
        return NAN


def _fmax(a, b):
    if math.isnan(a) or math.isnan(b):
        return NAN
    if a == b:
        return b if math.copysign(1, a) < 0 else a
    return max(a, b)


def _fmin(a, b):
    if math.isnan(a) or math.isnan(b):
        return NAN
    if a == b:
        return a if math.copysign(1, a) < 0 else b
    return min(a, b)


def _bits(a):
    a = np.asarray(a)
    return a.view(f"u{a.dtype.itemsize}")


def assert_float_close(got, ref64, dt, ulps, atol=0.0, inputs=(), what=""):
    """got (dtype dt) against an exact-ish float64 reference: NaN where NaN, inf where inf,
    else |got - ref| <= ulps * ulp(ref) + atol."""
    got = np.asarray(got, dt)
    ref64 = np.asarray(ref64, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        ref = ref64.astype(dt)
        spacing = np.spacing(np.abs(ref)).astype(np.float64)
        err = np.abs(got.astype(np.float64) - ref64)
    bad = np.isnan(got) != np.isnan(ref)
    inf = np.isinf(ref) | np.isinf(got)
    bad |= inf & ~np.isnan(ref) & (got != ref)
    fin = ~np.isnan(ref) & ~inf
    bad |= fin & ~(err <= ulps * spacing + atol)
    if bad.any():
        idx = np.flatnonzero(bad)[:8]
        rows = [tuple(float(v[i]) for v in inputs) + (float(got[i]), float(ref64[i])) for i in idx]
        raise AssertionError(f"{what}: {bad.sum()} of {bad.size} off; (inputs..., got, ref): {rows}")


def assert_bits_equal(got, ref, what="", inputs=()):
    got, ref = np.asarray(got), np.asarray(ref, got.dtype)
    nan = np.isnan(got) & np.isnan(ref) if got.dtype.kind == "f" else np.zeros(got.shape, bool)
    bad = (_bits(got) != _bits(ref)) & ~nan
    if bad.any():
        idx = np.flatnonzero(bad)[:8]
        rows = [tuple(v[i] for v in inputs) + (got[i], ref[i]) for i in idx]
        raise AssertionError(f"{what}: {bad.sum()} of {bad.size} differ; (inputs..., got, ref): {rows}")


def _run_switch(plat, kernel, op_index, inputs, out_dtype):
    n = len(inputs[0])
    y = np.zeros(n, out_dtype)
    plat.launch("math", kernel, _grid(n), 256, [np.int32(op_index), *inputs, y, np.int32(n)])
    return y


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("op", F_UNARY)
def test_unary_float(plat, op, t):
    dt = FLOATS[t][1]
    x = _float_values(dt, np.random.default_rng(10))
    if op == "erf_inv":  # its domain: add values near +-1
        x = np.concatenate([x, np.linspace(-1, 1, 101, dtype=dt), dt([1 - 1e-7, -(1 - 1e-7), 1 - 2 ** -24])])
        if t == "f64":
            x = np.concatenate([x, [1 - 1e-12, 1 - 2 ** -53, -(1 - 2 ** -50), 1e-300]])
    got = _run_switch(plat, f"un_{t}", F_UNARY.index(op), [x], dt)
    ref = np.array([F_UNARY_REF[op](float(v)) for v in x], np.float64)
    if op in EXACT_UNARY:
        with np.errstate(over="ignore"):
            assert_bits_equal(got, ref.astype(dt), f"gx_{op}<{t}>", (x,))
    else:
        ulps, atol = UNARY_TOL.get(op, (4, None))
        assert_float_close(got, ref, dt, ulps, (atol or {}).get(t, 0.0), (x,), f"gx_{op}<{t}>")


def test_special_function_values():
    """The math references themselves, at known values."""
    assert _erfinv(0.5) == pytest.approx(0.4769362762044699, rel=1e-15)
    assert _erfinv(-0.999) == pytest.approx(-2.326753765513525, rel=1e-14)
    assert _digamma(1.0) == pytest.approx(-0.5772156649015329, rel=1e-15)
    assert _digamma(0.5) == pytest.approx(-1.9635100260214235, rel=1e-15)
    assert _digamma(-0.5) == pytest.approx(0.03648997397857652, rel=1e-13)
    assert _digamma(10.0) == pytest.approx(2.251752589066721, rel=1e-15)


def _float_pairs(dt, rng):
    sp = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 2.0, 3.0, -3.0, 7.5, 1e-30, -1e10, INF, -INF, NAN,
          float(np.finfo(dt).max), float(np.finfo(dt).tiny), 0.1]
    a = [p for p in sp for _ in sp] + (rng.standard_normal(400) * 10).tolist()
    b = [q for _ in sp for q in sp] + (rng.standard_normal(400) * 3).tolist()
    return np.array(a, np.float64).astype(dt), np.array(b, np.float64).astype(dt)


F_BINARY_REF = {"rem": _fmod, "pow": _pow, "max": _fmax, "min": _fmin, "atan2": math.atan2,
                "nextafter": math.nextafter}


@pytest.mark.parametrize("t", ["f32", "f64"])
@pytest.mark.parametrize("op", F_BINARY)
def test_binary_float(plat, op, t):
    dt = FLOATS[t][1]
    a, b = _float_pairs(dt, np.random.default_rng(11))
    got = _run_switch(plat, f"bin_{t}", F_BINARY.index(op), [a, b], dt)
    with np.errstate(all="ignore"):
        if op in ("add", "sub", "mul", "div"):  # IEEE: NumPy's own arithmetic is the exact answer
            ref = {"add": np.add, "sub": np.subtract, "mul": np.multiply, "div": np.divide}[op](a, b)
            return assert_bits_equal(got, ref, f"gx_{op}<{t}>", (a, b))
        if op == "nextafter" and t == "f32":
            return assert_bits_equal(got, np.nextafter(a, b), f"gx_{op}<{t}>", (a, b))
        ref = np.array([F_BINARY_REF[op](float(p), float(q)) for p, q in zip(a, b)], np.float64)
        if op in ("rem", "max", "min", "nextafter"):
            return assert_bits_equal(got, ref.astype(dt), f"gx_{op}<{t}>", (a, b))
    ulps = UNARY_TOL.get(op, (4, None))[0]
    assert_float_close(got, ref, dt, ulps, 0.0, (a, b), f"gx_{op}<{t}>")


@pytest.mark.parametrize("t", ["f32", "f64"])
def test_select_clamp_integer_pow(plat, t):
    dt = FLOATS[t][1]
    rng = np.random.default_rng(12)
    n = 300
    a = (rng.standard_normal(n) * 2).astype(dt)
    b = (rng.standard_normal(n) - 1).astype(dt)
    c = (b + np.abs(rng.standard_normal(n))).astype(dt)
    a[:3] = [np.nan, 0.0, -0.0]
    out = np.zeros(5 * n, dt)
    plat.launch("math", f"misc_{t}", _grid(n), 128, [a, b, c, out, np.int32(n)])
    assert_bits_equal(out[:n], np.where(a > b, a, c), "select")
    clamp = np.array([_fmin(_fmax(float(x), float(lo)), float(hi)) for x, lo, hi in zip(a, b, c)]).astype(dt)
    assert_bits_equal(out[n:2 * n], clamp, "clamp")
    a64 = a.astype(np.float64)
    with np.errstate(all="ignore"):
        assert_float_close(out[2 * n:3 * n], a64 ** 5, dt, 4, 0.0, (a,), "integer_pow 5")
        assert_float_close(out[3 * n:4 * n], 1 / a64 ** 3, dt, 4, 0.0, (a,), "integer_pow -3")
    assert_bits_equal(out[4 * n:], np.ones(n, dt), "integer_pow 0")


def _int_values(bits, signed):
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    vals = [0, 1, 2, 3, 5, 7, 8, 13, 31, 32, 33, 63, 64, 65, 100, 127, 128, 255, 1000, 12345,
            lo, lo + 1, hi, hi - 1, hi // 2, lo // 2, 0x5A5A5A5A5A5A5A5A]
    vals += [-v for v in vals]
    return sorted({_wrap(v, bits, signed) for v in vals})


def _int_unary_ref(op, a, bits, signed):
    u = a & ((1 << bits) - 1)
    return _wrap({"neg": -a, "abs": abs(a), "sign": (a > 0) - (a < 0), "population_count": bin(u).count("1"),
                  "clz": bits - u.bit_length(), "square": a * a}[op], bits, signed)


def _int_binary_ref(op, a, b, bits, signed):
    w = lambda v: _wrap(v, bits, signed)
    mask = (1 << bits) - 1
    ub = b & mask
    if op == "add":
        return w(a + b)
    if op == "sub":
        return w(a - b)
    if op == "mul":
        return w(a * b)
    if op == "div":
        return w(-1) if b == 0 else (w(-a) if signed and b == -1 else w(_cdiv(a, b)))
    if op == "rem":
        return a if b == 0 else (0 if signed and b == -1 else w(a - _cdiv(a, b) * b))
    if op == "pow":
        return (1 if a == 1 else 0) if signed and b < 0 else w(pow(a, b, 1 << bits))
    if op == "max":
        return max(a, b)
    if op == "min":
        return min(a, b)
    if op == "shift_left":
        return 0 if ub >= bits else w(a << ub)
    if op == "shift_right_logical":
        return 0 if ub >= bits else w((a & mask) >> ub)
    if op == "shift_right_arithmetic":
        sa = _wrap(a, bits, True)
        return w((-1 if sa < 0 else 0) if ub >= bits else sa >> ub)
    raise KeyError(op)


@pytest.mark.parametrize("t", list(INTS))
@pytest.mark.parametrize("op", I_UNARY)
def test_unary_int(plat, op, t):
    dt = np.dtype(INTS[t][1])
    bits, signed = 8 * dt.itemsize, dt.kind == "i"
    vals = _int_values(bits, signed)
    x = np.array(vals, dt)
    got = _run_switch(plat, f"un_{t}", I_UNARY.index(op), [x], dt)
    exp = [_int_unary_ref(op, v, bits, signed) for v in vals]
    assert got.tolist() == exp, [(v, g, e) for v, g, e in zip(vals, got.tolist(), exp) if g != e][:8]


@pytest.mark.parametrize("t", list(INTS))
@pytest.mark.parametrize("op", I_BINARY)
def test_binary_int(plat, op, t):
    dt = np.dtype(INTS[t][1])
    bits, signed = 8 * dt.itemsize, dt.kind == "i"
    vals = _int_values(bits, signed)
    pa = [p for p in vals for _ in vals]
    pb = [q for _ in vals for q in vals]
    got = _run_switch(plat, f"bin_{t}", I_BINARY.index(op), [np.array(pa, dt), np.array(pb, dt)], dt)
    exp = [_int_binary_ref(op, p, q, bits, signed) for p, q in zip(pa, pb)]
    bad = [(p, q, g, e) for p, q, g, e in zip(pa, pb, got.tolist(), exp) if g != e]
    assert not bad, bad[:8]


def test_select_clamp_int(plat):
    rng = np.random.default_rng(13)
    n = 200
    a = rng.integers(-2000, 2000, n).astype(np.int32)
    b = rng.integers(-20, 20, n).astype(np.int64)
    p = rng.integers(0, 2, n).astype(np.uint8)
    out = np.zeros(5 * n, np.int64)
    plat.launch("math", "misc_int", _grid(n), 64, [a, b, p, out, np.int32(n)])
    np.testing.assert_array_equal(out[:n], np.where(p != 0, a, b))
    np.testing.assert_array_equal(out[n:2 * n], np.clip(b, -5, 7))
    np.testing.assert_array_equal(out[2 * n:3 * n], [_wrap(v ** 3, 32, True) for v in a.tolist()])
    np.testing.assert_array_equal(out[3 * n:4 * n], b * b)
    np.testing.assert_array_equal(out[4 * n:], ((p != 0) | (a > 0)) + 2 * ((p != 0) & (a > 0)))


# ---- conversions ----------------------------------------------------------------------------
def _nearest(d, guess_bits, value_of, nbits):
    """Correctly rounded (nearest, ties to even) encoding of the float64 d, by exact comparison of
    the neighbours of a guess."""
    if math.isnan(d):
        return None
    best = None
    for b in range(max(0, guess_bits - 2), min((1 << nbits) - 1, guess_bits + 2) + 1):
        v = value_of(b)
        if math.isnan(v):
            continue
        dist = abs(Fraction(v) - Fraction(d)) if math.isfinite(v) and math.isfinite(d) else (
            0 if v == d else math.inf)
        key = (dist, b & 1)
        if best is None or key < best[0]:
            best = (key, b)
    return best[1]


def _f64_to_narrow_ref(vals, narrow):
    """float64 -> float16/bfloat16 bits, correctly rounded (sign handled separately)."""
    out = []
    for d in vals.tolist():
        if math.isnan(d):
            out.append(None)
            continue
        sign = 0x8000 if math.copysign(1, d) < 0 else 0
        ad = abs(d)
        with np.errstate(over="ignore"):
            g = int(np.array(ad).astype(narrow).view(np.uint16))
        lim = 0x7C00 if narrow == np.float16 else 0x7F80
        # IEEE overflow: round as if the exponent range went on; the encoding of infinity stands
        # for the next power of two (2^16, 2^128), which is even, so the tie 65520 gives inf.
        top = 2.0 ** 16 if narrow == np.float16 else 2.0 ** 128

        def vo(b):
            return top if b == lim else float(np.array(b, np.uint16).view(narrow).astype(np.float64))

        r = INF_BITS = lim
        if ad < top:
            r = _nearest(ad, min(g, lim), vo, 15)
        out.append(sign | min(r, INF_BITS))
    return out


def test_f16_f32_conversions(plat):
    allh = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    f = np.zeros(1 << 16, np.float32)
    for name in ("f16_to_f32", "f16_to_f32_sw"):
        plat.launch("math", f"cvt_{name}", 64, 256, [allh, f, np.int32(1 << 16)])
        assert_bits_equal(f, allh.view(np.float16).astype(np.float32), name)
    rng = np.random.default_rng(14)
    bits = np.concatenate([
        rng.integers(0, 2 ** 32, 100000, dtype=np.uint64).astype(np.uint32),
        # halfway and near-halfway points of the normal and subnormal f16 ranges
        (np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32).view(np.uint32)
         + np.uint32(1 << 12)),
        np.array([0x33000000, 0x33000001, 0x32FFFFFF, 0x477FF000, 0x477FEFFF, 0x387FE000, 0x38800000, 0x7F800001,
                  0xFF800000, 0x80000000, 0x00000001], np.uint32),
    ])
    x = bits.view(np.float32)
    h = np.zeros(len(x), np.uint16)
    with np.errstate(over="ignore"):
        ref = x.astype(np.float16)
    for name in ("f32_to_f16", "f32_to_f16_sw"):
        plat.launch("math", f"cvt_{name}", 64, 256, [x, h, np.int32(len(x))])
        assert_bits_equal(h.view(np.float16), ref, name, (x,))


@pytest.mark.skipif(ml_dtypes is None, reason="ml_dtypes not installed")
def test_bf16_f32_conversions(plat):
    bf16 = ml_dtypes.bfloat16
    allh = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    f = np.zeros(1 << 16, np.float32)
    plat.launch("math", "cvt_bf16_to_f32", 64, 256, [allh, f, np.int32(1 << 16)])
    assert_bits_equal(f, allh.view(bf16).astype(np.float32), "bf16_to_f32")
    rng = np.random.default_rng(15)
    bits = np.concatenate([rng.integers(0, 2 ** 32, 100000, dtype=np.uint64).astype(np.uint32),
                           (allh.astype(np.uint32) << 16) + np.uint32(0x8000),  # exact ties
                           np.array([0x7F7FFFFF, 0x7F7F8000, 0xFF800000, 0x7FC00001, 1], np.uint32)])
    x = bits.view(np.float32)
    h = np.zeros(len(x), np.uint16)
    for name in ("f32_to_bf16", "f32_to_bf16_sw"):
        plat.launch("math", f"cvt_{name}", 64, 256, [x, h, np.int32(len(x))])
        with np.errstate(invalid="ignore"):
            ref = x.astype(bf16).astype(np.float32)
        assert_bits_equal(h.view(bf16).astype(np.float32), ref, name, (x,))


@pytest.mark.parametrize("narrow", ["f16", "bf16"])
def test_f64_to_half_rounds_once(plat, narrow):
    if narrow == "bf16" and ml_dtypes is None:
        pytest.skip("ml_dtypes not installed")
    nd = np.float16 if narrow == "f16" else ml_dtypes.bfloat16
    mbits = 10 if narrow == "f16" else 7
    rng = np.random.default_rng(16)
    base = np.array(rng.standard_normal(300) * 100, np.float64).astype(nd).astype(np.float64)
    # ties in the narrow format nudged by far less than a float32 ulp: a double rounding
    # (float64 -> float32 -> narrow) would round these to even instead of away from the tie
    e = np.floor(np.log2(np.abs(base) + 1e-300))
    tie = base + np.sign(base) * 2.0 ** (e - mbits - 1)
    vals = np.concatenate([tie * (1 + 2.0 ** -40), tie * (1 - 2.0 ** -40), tie, base,
                           [1 + 2.0 ** -11 + 2.0 ** -40, 65519.99999, 65520.0, 1e-300, -0.0, np.inf, np.nan,
                            2.0 ** -25 * (1 + 2.0 ** -30), 5.9604644775390625e-08 * 1.5]])
    h = np.zeros(len(vals), np.uint16)
    plat.launch("math", f"cvt_f64_to_{narrow}", 8, 256, [vals, h, np.int32(len(vals))])
    ref = _f64_to_narrow_ref(vals, nd)
    bad = [(v, hex(int(g)), hex(r)) for v, g, r in zip(vals.tolist(), h.tolist(), ref)
           if (r is None and not np.isnan(np.array(g, np.uint16).view(nd).astype(np.float32))) or
           (r is not None and g != r)]
    assert not bad, bad[:8]


_SAT = {"i32": (-2 ** 31, 2 ** 31 - 1), "u8": (0, 255), "i8": (-128, 127), "u16": (0, 65535),
        "i64": (-2 ** 63, 2 ** 63 - 1), "u64": (0, 2 ** 64 - 1), "u32": (0, 2 ** 32 - 1), "i16": (-32768, 32767)}


@pytest.mark.parametrize("name", ["f32_to_i32", "f32_to_u8", "f32_to_i8", "f32_to_u16", "f64_to_i64", "f64_to_u64",
                                  "f64_to_u32", "f64_to_i16"])
def test_float_to_int_saturates(plat, name):
    src, dst = name.split("_to_")
    sdt = FLOATS[src][1]
    ddt = INTS[dst][1]
    lo, hi = _SAT[dst]
    vals = [0.0, -0.0, 0.5, -0.5, 0.99, -0.99, 1.5, -1.5, 127.5, 128.0, -128.5, -129.0, 255.9, 256.0, 65535.5,
            65536.0, 2.0 ** 31, 2.0 ** 31 - 128, -2.0 ** 31, -2.0 ** 31 - 1e3, 2.0 ** 32, 2.0 ** 32 - 1e3,
            2.0 ** 63, -2.0 ** 63, 2.0 ** 64, 1.8e19, 1e30, -1e30, INF, -INF, NAN, 12345.678, -12345.678]
    x = np.array(vals, np.float64).astype(sdt)
    y = np.zeros(len(x), ddt)
    plat.launch("math", f"cvt_{name}", 1, 64, [x, y, np.int32(len(x))])

    def ref(v):
        if math.isnan(v):
            return 0
        return int(min(max(math.trunc(v) if math.isfinite(v) else (hi if v > 0 else lo), lo), hi))

    assert y.tolist() == [ref(float(v)) for v in x], list(zip(x.tolist(), y.tolist()))


def test_int_to_float_conversions(plat):
    i = np.array([0, 1, -1, 2 ** 24 + 1, 2 ** 53 + 1, -(2 ** 63), 2 ** 63 - 1, 123456789123], np.int64)
    f = np.zeros(len(i), np.float32)
    plat.launch("math", "cvt_i64_to_f32", 1, 32, [i, f, np.int32(len(i))])
    assert_bits_equal(f, i.astype(np.float32), "i64_to_f32")
    u = np.array([0, 1, 2 ** 64 - 1, 2 ** 53 + 1, 2 ** 63 + 2 ** 11 + 1], np.uint64)
    d = np.zeros(len(u), np.float64)
    plat.launch("math", "cvt_u64_to_f64", 1, 32, [u, d, np.int32(len(u))])
    assert_bits_equal(d, u.astype(np.float64), "u64_to_f64")


# =============================================================================================
# Interpret-runtime specifics: errors, argument checking, the ucontext fallback
# =============================================================================================
@pytest.fixture(scope="module")
def infra_interp():
    if interpret.host_compiler() is None:
        pytest.skip("no host C++ compiler")
    return InterpretPlatform().module("infra")


def test_trap_raises(infra_interp):
    with pytest.raises(interpret.KernelLaunchError, match=r"__trap\(\).*thread \(5,0,0\)"):
        infra_interp.launch("trap_at", 2, 32, [np.int32(5)])
    infra_interp.launch("trap_at", 2, 32, [np.int32(-1)])  # the runtime recovers


def test_deadlock_is_reported(infra_interp):
    out = np.zeros(32, np.int32)
    with pytest.raises(interpret.KernelLaunchError, match="deadlock"):
        infra_interp.launch("divergent_barrier", 1, 32, [out])


def test_launch_argument_checks(infra_interp):
    x = np.zeros(8, np.float32)
    with pytest.raises(TypeError, match="takes 3 arguments"):
        infra_interp.launch("ew_f32", 1, 32, [x, x])
    with pytest.raises(ValueError, match="C-contiguous"):
        infra_interp.launch("ew_f32", 1, 32, [np.zeros(16, np.float32)[::2], x, np.int64(8)])
    with pytest.raises(TypeError, match="float64"):
        infra_interp.launch("ew_f32", 1, 32, [np.zeros(8), x, np.int64(8)])
    with pytest.raises(TypeError, match="np.int64"):
        infra_interp.launch("ew_f32", 1, 32, [x, x, np.int32(8)])
    ro = np.zeros(8, np.float32)
    ro.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        infra_interp.launch("ew_f32", 1, 32, [x, ro, 8])
    with pytest.raises(ValueError, match="empty launch"):
        infra_interp.launch("ew_f32", 0, 32, [x, x, 8])
    with pytest.raises(ValueError, match="1024"):
        infra_interp.launch("ew_f32", 1, (64, 32), [x, x, 8])
    with pytest.raises(KeyError, match="no kernel"):
        infra_interp.launch("nope", 1, 1, [])
    infra_interp.launch("ew_f32", 1, 32, [ro, x, 8])  # Python int for a long long; const pointer may be read-only


def test_ucontext_fallback_matches():
    if interpret.host_compiler() is None:
        pytest.skip("no host C++ compiler")
    plat_uc = InterpretPlatform(options=["-DGX_INTERPRET_UCONTEXT"])
    test_row_sum(plat_uc, 9, 1000, 96)
    test_shuffle_semantics(plat_uc)
    test_vote(plat_uc)
    test_histogram(plat_uc)


def test_interpret_compile_error_has_log_and_source():
    if interpret.host_compiler() is None:
        pytest.skip("no host C++ compiler")
    src = '#include "gx_common.cuh"\nextern "C" __global__ void broken(float* y) {\n  y[0] = undefined_thing;\n}\n'
    with pytest.raises(interpret.InterpretCompileError) as e:
        interpret.compile_module(src, [("broken", ["float*"])])
    msg = str(e.value)
    assert "undefined_thing" in msg and "3 |   y[0] = undefined_thing;" in msg


def test_no_host_compiler(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CXX", "no-such-compiler")
    assert interpret.host_compiler() is None
    with pytest.raises(interpret.InterpretUnavailable, match="no host C\\+\\+ compiler|none was found"):
        interpret.compile_module("", [])


# =============================================================================================
# Caches
# =============================================================================================
SMALL = '#include "gx_common.cuh"\nextern "C" __global__ void small_k(float* y) { y[threadIdx.x] = gx_exp(1.0f); }\n'


@needs_nvrtc
def test_nvrtc_cache_hit_corruption_and_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GPUXLA_DISK_CACHE", raising=False)
    nvrtc.clear_memory_cache()
    calls = []
    real = nvrtc._nvrtc_compile
    monkeypatch.setattr(nvrtc, "_nvrtc_compile", lambda *a: calls.append(1) or real(*a))
    c1 = nvrtc.compile_cubin(SMALL, arch="sm_90")
    assert len(calls) == 1
    files = list((tmp_path / "nvrtc").glob("*.cubin"))
    assert len(files) == 1 and not list((tmp_path / "nvrtc").glob("*.tmp"))
    c2 = nvrtc.compile_cubin(SMALL, arch="sm_90")  # memory hit
    assert len(calls) == 1 and c2 == c1
    nvrtc.clear_memory_cache()
    c3 = nvrtc.compile_cubin(SMALL, arch="sm_90")  # disk hit
    assert len(calls) == 1 and c3 == c1
    assert nvrtc.compile_stats["kernels"]["small_k@sm_90"]["last"] == "disk"
    for corrupt in (lambda b: b[: len(b) // 2], lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:], lambda b: b"xx"):
        data = files[0].read_bytes()
        files[0].write_bytes(corrupt(data))
        nvrtc.clear_memory_cache()
        before = nvrtc.compile_stats["disk_rebuilt"]
        c4 = nvrtc.compile_cubin(SMALL, arch="sm_90")
        assert c4 == c1 and nvrtc.compile_stats["disk_rebuilt"] == before + 1
        assert files[0].read_bytes() == data  # rewritten whole
    assert len(calls) == 4
    nvrtc.compile_cubin(SMALL, arch="sm_80")  # another arch is another entry
    assert len(calls) == 5 and len(list((tmp_path / "nvrtc").glob("*.cubin"))) == 2


@needs_nvrtc
def test_nvrtc_compile_error_and_name_expressions():
    with pytest.raises(nvrtc.CompileError) as e:
        nvrtc.compile_cubin('#include "gx_common.cuh"\n__global__ void bad() {\n  int x = ;\n}\n', arch="sm_90")
    msg = str(e.value)
    assert "expected an expression" in msg and "3 |   int x = ;" in msg
    assert isinstance(e.value, RuntimeError)
    c = nvrtc.compile_cubin("template <class T> __global__ void tk(T* p) { p[0] = T(1); }",
                            name_expressions=["tk<float>", "tk<int>"], arch="sm_90")
    assert c.lowered_names == {"tk<float>": "_Z2tkIfEvPT_", "tk<int>": "_Z2tkIiEvPT_"}
    assert nvrtc.nvrtc_version() >= (12, 0)


@needs_cxx
def test_interpret_cache_hit_corruption_and_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("GPUXLA_DISK_CACHE", raising=False)
    interpret.clear_memory_cache()
    builds = []
    real = interpret.subprocess.run

    def counting(cmd, *a, **k):
        if "-shared" in cmd:
            builds.append(cmd)
        return real(cmd, *a, **k)

    monkeypatch.setattr(interpret.subprocess, "run", counting)
    sig = [("small_k", ["float*"])]
    m1 = interpret.compile_module(SMALL, sig)
    assert len(builds) == 1
    sos = list((tmp_path / "interpret").glob("*.so"))
    assert len(sos) == 1 and sos[0].read_bytes().startswith(b"GXHOSTSO")   # the checksum is inside
    assert interpret.compile_module(SMALL, sig) is m1 and len(builds) == 1  # memory hit
    interpret.clear_memory_cache()
    m2 = interpret.compile_module(SMALL, sig)  # disk hit
    assert len(builds) == 1
    y = np.zeros(4, np.float32)
    m2.launch("small_k", 1, 4, [y])
    np.testing.assert_allclose(y, np.e, rtol=1e-6)
    data = sos[0].read_bytes()
    # Truncate the entry (as a new file: this process has the old one mapped, and rewriting a
    # mapped shared object in place would crash it, whatever the cache does).
    cache.atomic_write(sos[0], data[: len(data) // 3])
    interpret.clear_memory_cache()
    before = interpret.compile_stats["disk_rebuilt"]
    interpret.compile_module(SMALL, sig)
    assert len(builds) == 2 and interpret.compile_stats["disk_rebuilt"] == before + 1
    assert sos[0].read_bytes() == data       # replaced whole by the rebuild
    assert [p.name for p in (tmp_path / "interpret").iterdir()] == [sos[0].name]
    # A fresh process loads the rebuilt entry from disk without compiling.
    check = (
        "import numpy as np; from gpuxla.backends.cuda import interpret as I\n"
        f"m = I.compile_module({SMALL!r}, {sig!r})\n"
        "y = np.zeros(2, np.float32); m.launch('small_k', 1, 2, [y])\n"
        "assert I.compile_stats['disk_hits'] == 1 and I.compile_stats['compiled'] == 0, I.compile_stats\n"
        "assert abs(y[0] - np.e) < 1e-5\n")
    env = dict(os.environ, PYTHONPATH=str(Path(interpret.__file__).parents[3]))
    r = subprocess.run([sys.executable, "-c", check], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_disk_cache_can_be_disabled(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("GPUXLA_DISK_CACHE", "0")
    assert cache.cache_root() is None
    if nvrtc.available():
        nvrtc.clear_memory_cache()
        nvrtc.compile_cubin(SMALL + "// no disk\n", arch="sm_90")
    assert not (tmp_path / "nvrtc").exists()


def test_kernels_dir_found():
    d = cache.kernels_dir()
    assert (d / "gx_common.cuh").is_file() and (d / "gx_interpret.h").is_file()


@pytest.mark.skipif(interpret.host_compiler() is None, reason="no host C++ compiler")
def test_interpret_min_max_return_values_not_references():
    # min/max once returned a reference to a by-value parameter: min(20000, 4000) read 0 at -O1.
    src = ('#include "gx_common.cuh"\nextern "C" __global__ void mm(int* o, unsigned* u) {\n'
           '  o[0] = min(20000, 4000); o[1] = max(3, 7); o[2] = min(-5, 2); u[0] = max(2u, 9u); }\n')
    m = interpret.compile_module(src, [("mm", ["int*", "unsigned*"])])
    o, u = np.zeros(3, np.int32), np.zeros(1, np.uint32)
    m.launch("mm", 1, 1, [o, u])
    assert o.tolist() == [4000, 7, -5] and u.tolist() == [9]
