"""CUDA C generation: golden text, NVRTC compilation of every kernel, the inspection API.

No GPU is needed: NVRTC compiles CUBINs without a driver, and kernels run on cuda-interpret.
Regenerate the golden files after an intended change of the generated code with

    GPUXLA_REGEN_GOLDEN=1 pytest tests/test_codegen.py -k golden
"""
import os
import time
from pathlib import Path

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla.backends import cache
from gpuxla.backends.cuda import InterpretBackend, interpret, nvrtc
from gpuxla.backends.cuda.plan import Plan
from gpuxla.compiler import render
from gpuxla.core.graph import Aval, symbolic, trace_scope
from gpuxla.core.program import Program

GOLDEN = Path(__file__).parent / "golden"
needs_nvrtc = pytest.mark.skipif(not nvrtc.available(), reason="cuda-bindings / NVRTC not installed")
from codegen_util import _session_cache, needs_cxx, plan_of  # noqa: E402,F401  (fixture, autouse)


def plan_of_avals(f, *avals):
    """A plan for arguments that exist only as shapes (no memory is allocated)."""
    leaves = [symbolic(a, f"arg{i}") for i, a in enumerate(avals)]
    with trace_scope():
        outs = f(*leaves)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    return Plan(Program.from_graph(leaves, list(outs)))


def selu(x, alpha=1.67, lmbda=1.05):
    return lmbda * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)


def softmax(x):
    m = jnp.max(x, axis=-1, keepdims=True)
    e = jnp.exp(x - m)
    return e / jnp.sum(e, axis=-1, keepdims=True)


def row_sum(x):
    return jnp.sum(x, axis=1)


F32 = np.dtype(np.float32)
CANONICAL = {
    "selu": (selu, [Aval((4096,), F32)]),
    "row_sum": (row_sum, [Aval((64, 1000), F32)]),
    "softmax": (softmax, [Aval((32, 1000), F32)]),
}


# ---------------------------------------------------------------------------------------------
# Golden text
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(CANONICAL))
def test_golden(name):
    f, avals = CANONICAL[name]
    src = plan_of_avals(f, *avals).cuda_source()
    path = GOLDEN / f"{name}.cu"
    if os.environ.get("GPUXLA_REGEN_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(src)
    assert path.exists(), f"missing {path}; run with GPUXLA_REGEN_GOLDEN=1 to create it"
    assert src == path.read_text(), (f"generated CUDA for {name} changed; if intended, regenerate with "
                                     "GPUXLA_REGEN_GOLDEN=1 and review the diff")


REDUCE_HEADER_KERNEL = """#include "gx_reduce.cuh"
extern "C" __global__ void uses_reduce_header(const float* x, int* i, float* y) {
  float v = x[0]; int k = 0;
  for (int j = 1; j < 4; ++j) gx_argmax_step(v, k, x[j], j);
  i[0] = k; y[0] = gx_nextafter_bf16(1.0f, 2.0f);
}
"""


def test_reduction_helpers_come_from_the_kernels_header():
    # Kernels carry copies of the header's sections (the goldens pin that text); the header itself
    # is one of the kernels-folder files both compilers are handed, and it works as an #include.
    assert set(render._HELPERS) == {"shfl", "arg", "nextafter16"}
    headers = cache.headers_state()[0]
    assert "gx_reduce.cuh" in headers
    assert all(sec in headers["gx_reduce.cuh"] for sec in render._HELPERS.values())


@needs_cxx
def test_reduction_header_includes_on_the_interpret_platform():
    m = interpret.compile_module(REDUCE_HEADER_KERNEL, [("uses_reduce_header", ["const float*", "int*", "float*"])])
    x, i, y = np.array([1, 3, 3, 2], np.float32), np.zeros(1, np.int32), np.zeros(1, np.float32)
    m.launch("uses_reduce_header", 1, 1, [x, i, y])
    assert i[0] == 1 and y[0] == 1 + 2 ** -7   # ties keep the lower index; one bfloat16 step above 1


@needs_nvrtc
def test_reduction_header_includes_under_nvrtc():
    assert nvrtc.compile_cubin(REDUCE_HEADER_KERNEL, arch="sm_90")


def test_generated_text_is_stable_and_named_by_its_hash():
    a = plan_of_avals(softmax, Aval((8, 300), F32))
    b = plan_of_avals(softmax, Aval((8, 300), F32))
    assert [k.source for k in a.kernels] == [k.source for k in b.kernels]
    (k,) = a.kernels
    assert k.name.startswith("gx_reduction_") and len(k.name) == len("gx_reduction_") + 12
    assert f'extern "C" __global__ __launch_bounds__({k.launch[1][0]}) void {k.name}(' in k.source
    c = plan_of_avals(softmax, Aval((8, 301), F32))  # shapes are baked in: another kernel
    assert c.kernels[0].name != k.name and "301" in c.kernels[0].source


def test_kernel_text_properties():
    # 16-bit floats are loaded into float32, computed there, rounded after each op, stored back.
    (k,) = plan_of_avals(lambda x: jnp.exp(x) * 2, Aval((100,), np.dtype(np.float16))).kernels
    assert "gx_f16_to_f32(in0[i])" in k.source and "out0[i] = gx_f32_to_f16(" in k.source
    assert "const float" in k.source and "__half" not in k.source
    # Grid-stride loop with 32-bit indices for ordinary sizes ...
    assert "typedef int gx_ix;" in k.source and "i += (gx_ix)gridDim.x * blockDim.x" in k.source
    # ... vectorised 16-byte loads where the size allows, with the scalar loop for unaligned buffers.
    (k,) = plan_of_avals(selu, Aval((4096,), F32)).kernels
    assert k.strategy == "loop-vec4" and "reinterpret_cast<const uint4*>(in0)" in k.source
    assert "& 15) == 0" in k.source
    # Broadcast and transpose are index arithmetic on the inputs, never copies.
    (k,) = plan_of_avals(lambda x, b: x.T + b, Aval((30, 41), F32), Aval((30,), F32)).kernels
    scalar = k.source.split("return;")[-1]      # (the scalar loop, after the 4-wide one)
    assert scalar.count("in0[") == 1 and scalar.count("in1[") == 1


def test_64_bit_indexing_past_2_to_31_elements():
    n = 2 ** 31 + 64
    p = plan_of_avals(lambda x: x + np.uint8(3), Aval((n,), np.dtype(np.uint8)))
    (k,) = p.kernels
    assert "typedef long long gx_ix;" in k.source and str(n) in k.source
    p = plan_of_avals(lambda x: jnp.sum(x, axis=1), Aval((2 ** 16 + 1, 2 ** 15), F32))
    assert "typedef long long gx_ix;" in p.kernels[0].source
    if nvrtc.available():
        for k in p.kernels:
            nvrtc.compile_cubin(k.source, arch="sm_90")


def test_launch_configuration_per_kernel():
    by = {}
    for f in (jnp.exp, lambda x: jnp.sum(x, 1), lambda x: jnp.sum(x, 0), jnp.sum):
        (k,) = plan_of_avals(f, Aval((1000, 3000), F32)).kernels
        by[k.strategy] = k.launch
    assert by["loop-vec4"] == ((min(-(-3_000_000 // 4 // 256), render.MAX_GRID), 1, 1), (256, 1, 1))
    assert by["block"][0] == (1000, 1, 1) and by["block"][1][0] in (128, 256, 512)
    # Column sums: tiles of 32 columns, each column cut into chunks (tests/test_reduction_forms.py).
    assert by["tile"][1] == (256, 1, 1) and by["tile"][0][0] % -(-3000 // 32) == 0 and by["tile"][0][0] > 94
    assert by["split"][0][1] == 1 and by["split"][0][0] > 1   # one row over several blocks


# ---------------------------------------------------------------------------------------------
# NVRTC
# ---------------------------------------------------------------------------------------------
def _corpus():
    """Every kernel of the test programs: the canonical ones, the op table's, and a few more."""
    import test_interpret_optable as T
    plans = [plan_of_avals(f, *avals) for f, avals in CANONICAL.values()]
    for p in T._cases():
        try:
            b = T._build(*p.values)
        except Exception:  # noqa: BLE001 - untraceable op: no program
            continue
        if b is not None:
            plans.append(Plan(b[0]))
    return list({k.name: k for pl in plans for k in pl.kernels}.values())


@needs_nvrtc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_every_kernel_compiles_with_nvrtc(arch):
    kernels = _corpus()
    assert len(kernels) > 300
    # Kernels are self-contained and their helpers guarded, so they compile in shared modules
    # (a few NVRTC runs instead of one per kernel); an error names the failing kernel's source.
    for i in range(0, len(kernels), 250):
        chunk = kernels[i:i + 250]
        cubin = nvrtc.compile_cubin(render.module_source(chunk), arch=arch)
        assert bytes(cubin[:4]) == b"\x7fELF"


@needs_nvrtc
def test_nvrtc_per_kernel_cold_and_cached(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    nvrtc.clear_memory_cache()
    ks = [k for f, avals in CANONICAL.values() for k in plan_of_avals(f, *avals).kernels]
    times = []
    for k in ks:
        t0 = time.perf_counter()
        nvrtc.compile_cubin(k.source, arch="sm_90")
        cold = time.perf_counter() - t0
        nvrtc.clear_memory_cache()
        t0 = time.perf_counter()
        nvrtc.compile_cubin(k.source, arch="sm_90")   # from the disk cache
        disk = time.perf_counter() - t0
        t0 = time.perf_counter()
        nvrtc.compile_cubin(k.source, arch="sm_90")   # from memory
        mem = time.perf_counter() - t0
        times.append((k.name, cold, disk, mem))
        assert disk < cold and mem < cold
        assert nvrtc.compile_stats["kernels"][f"{k.name}@sm_90"]["hits"] >= 2
    print("\nNVRTC sm_90 per kernel (cold / disk / memory, ms):")
    for name, c, d, m in times:
        print(f"  {name}: {1e3 * c:.1f} / {1e3 * d:.2f} / {1e3 * m:.3f}")


@needs_nvrtc
def test_compile_error_names_the_kernel_and_shows_the_source():
    (k,) = plan_of_avals(selu, Aval((100,), F32)).kernels
    with pytest.raises(nvrtc.CompileError) as e:
        nvrtc.compile_cubin(k.source.replace("gx_exp(", "gx_no_such_function("), arch="sm_80")
    assert k.name in str(e.value) and "gx_no_such_function" in str(e.value)


# ---------------------------------------------------------------------------------------------
# The inspection API
# ---------------------------------------------------------------------------------------------
@needs_nvrtc
def test_lower_compile_for_cuda_without_a_gpu():
    x = np.ones((64, 1000), np.float32)
    compiled = gpuxla.jit(softmax).lower(x).compile(platform="cuda")
    (k,) = compiled.kernels
    assert k.kind == "reduction" and k.name.startswith("gx_reduction_")
    assert k.source.startswith("// gpuxla reduction kernel") and k.name in compiled.cuda_source()
    grid, block = k.launch
    assert len(grid) == 3 and len(block) == 3 and block[0] % 32 == 0
    assert bytes(k.cubin[:4]) == b"\x7fELF" and k.cubin.arch == nvrtc.default_arch()
    c2 = gpuxla.jit(lambda a, w: jnp.maximum(a @ w, 0)).lower(x, np.ones((1000, 8), np.float32)).compile(platform="cuda")
    assert [k.kind for k in c2.kernels] == ["loop"] and c2.library_calls == ["dot_general"]


@needs_cxx
def test_debug_3_prints_the_cuda_source(capfd, monkeypatch):
    monkeypatch.setenv("GPUXLA_DEBUG", "3")
    c = gpuxla.jit(selu).lower(np.ones(10, np.float32)).compile(platform="cuda-interpret")
    err = capfd.readouterr().err
    assert c.kernels[0].source in err


@needs_cxx
@pytest.mark.parametrize("n", [4096, 4099, 1025])
def test_vectorised_and_unaligned_paths_agree(n):
    # Any size vectorises: 4-wide loads up to the last multiple of 4, a scalar tail after it.
    exe = InterpretBackend().compile(Program.from_graph(*_selu_graph(n)))
    assert exe.kernels[0].strategy == "loop-vec4"
    buf = np.empty(n + 8, np.float32)
    off = (-(buf.ctypes.data // 4)) % 4                 # first element on a 16-byte boundary
    data = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    want = np.float32(1.05) * np.where(data > 0, data, np.float32(1.67) * np.exp(data) - np.float32(1.67))
    outs = []
    for at in (off, off + 1):                           # aligned, then 4 bytes off
        x = buf[at:at + n]
        x[:] = data
        outs.append(exe([x])[0])
        np.testing.assert_allclose(outs[-1], want, rtol=2e-6, atol=1e-6)
    assert np.array_equal(outs[0], outs[1])             # both paths: the same bits


def _selu_graph(n):
    x = symbolic(Aval((n,), F32), "x")
    with trace_scope():
        y = selu(x)
    return [x], [y]


@needs_cxx
def test_repeated_launches_reuse_the_compiled_module(monkeypatch):
    interpret.compile_stats["compiled"] = 0
    prog = Program.from_graph(*_selu_graph(300))
    e1 = InterpretBackend().compile(prog)
    hits = interpret.compile_stats["memory_hits"]
    e2 = InterpretBackend().compile(prog)
    assert interpret.compile_stats["memory_hits"] == hits + 1
    x = np.linspace(-1, 1, 300, dtype=np.float32)
    assert np.array_equal(e1([x])[0], e2([x])[0])
