"""Transposed operands of loop kernels through 32x33 shared-memory tiles (#19, the `tile-transpose`
form of compiler/lower.transpose_tiling, spelled by render.CudaDialect.tile; the cpu platform's
blocks of the same form: tests/test_cpu_tiles.py).

Every case runs on cuda-interpret against NumPy, then again with the tiles switched off
(lower.TRANSPOSE_TILES) and with the grid forced to 1, 2 and 3 blocks: the same bits each time,
since each element is computed by the same expression whatever form or grid computes it.
"""
import re

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.cuda import InterpretBackend
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.compiler import lower, roofline
from gpuxla.core import dtypes

from codegen_util import _session_cache, needs_cxx  # noqa: F401  (fixture, autouse)
from test_interpret_optable import program_of

TILED = "tile-transpose"


def _data(shape, dt, seed):
    rng = np.random.default_rng(seed)
    dt = np.dtype(dt)
    if dt == np.bool_:
        return rng.random(shape) < 0.5
    if dt.kind in "iu":
        return rng.integers(-1000, 1000, shape).astype(dt)
    return (rng.standard_normal(shape) * 3).astype(dt)


def _bias_rows(x, b):
    return x.T * b[:, None] - b[None, :48]


CASES = [
    # (name, f, argument shapes, dtype, whether the loop kernel takes tiles)
    ("2-D, ragged both ways", lambda x: x.T + 1, [(65, 33)], np.float32, True),
    ("2-D, transposed and direct operands", lambda x, y: x.T * y - y, [(96, 70), (70, 96)], np.float32, True),
    ("square: one operand read transposed and direct", lambda x: x.T * 2 + x, [(40, 40)], np.float32, True),
    ("two transposed operands", lambda x, y: x.T - y.T * 3, [(50, 64), (50, 64)], np.float32, True),
    ("batched (0, 2, 1)", lambda x: jnp.transpose(x, (0, 2, 1)) * 2, [(3, 70, 40)], np.float32, True),
    ("batch axis between the tile's axes", lambda x: jnp.transpose(x, (2, 1, 0)) - 1, [(33, 3, 35)],
     np.float32, True),
    ("swapaxes and a broadcast batch", lambda x, y: jnp.swapaxes(x, 1, 2) + y, [(2, 40, 36), (3, 1, 36, 40)],
     np.float32, True),
    ("operands transposed along two axes", lambda x, y: jnp.transpose(x, (2, 1, 0)) + jnp.transpose(y, (0, 2, 1)),
     [(34, 36, 40), (40, 34, 36)], np.float32, True),
    ("column and row biases", _bias_rows, [(48, 64), (64,)], np.float32, True),
    ("under a select", lambda x, y: jnp.where(x.T > 0, x.T, y), [(45, 38), (38, 45)], np.float32, True),
    ("int32", lambda x, y: x.T * 3 + y, [(37, 90), (90, 37)], np.int32, True),
    ("bool", lambda x, y: jnp.logical_xor(x.T, y), [(64, 33), (33, 64)], np.bool_, True),
    ("float16", lambda x, y: x.T * y + x.T, [(66, 40), (40, 66)], np.float16, True),
    ("convert, then transpose", lambda x: jnp.transpose(x.astype(jnp.float32) * 0.5), [(34, 70)], np.int32, True),
    # Not a transpose of the minor axis, or too small to pay: the plain loop.
    ("minor axis kept", lambda x: jnp.transpose(x, (1, 0, 2)) + 1, [(40, 50, 36)], np.float32, False),
    ("short rows", lambda x: x.T + 1, [(16, 100)], np.float32, False),
    ("1 x 100", lambda x: x.T + 1, [(100, 1)], np.float32, False),
    ("100 x 1", lambda x: x.T + 1, [(1, 100)], np.float32, False),
    ("0 x 5", lambda x: x.T + 1, [(5, 0)], np.float32, False),
]


def _compile(cases, seed=0, backend=InterpretBackend):
    progs, inputs = [], []
    for k, (name, f, shapes, dt, _) in enumerate(cases):
        xs = [_data(s, dt, seed + 10 * k + j) for j, s in enumerate(shapes)]
        progs.append(program_of(f, xs))
        inputs.append(xs)
    return progs, inputs, backend().compile_many(progs)


def _same_bits(got, want, what):
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape, what
        assert np.array_equal(g.view(np.uint8), w.view(np.uint8)), what


def _against_numpy(out, ref, name):
    for o, r in zip(out, ref):
        o, r = np.asarray(o), np.asarray(r)
        assert o.dtype == r.dtype and o.shape == r.shape, name
        if r.dtype.kind == "f":
            tol = 1e-3 if r.dtype == np.float16 else 1e-6
            np.testing.assert_allclose(o, r, rtol=tol, atol=tol, err_msg=name)
        else:
            np.testing.assert_array_equal(o, r, err_msg=name)


def _check(cases, monkeypatch):
    progs, inputs, exes = _compile(cases)
    outs = []
    for (name, f, shapes, dt, tiled), prog, exe, xs in zip(cases, progs, exes, inputs):
        strategies = [k.strategy for k in exe.kernels if k.kind == "loop"]
        assert (TILED in strategies) == tiled, (name, strategies)
        out = exe(xs)
        _against_numpy(out, NumpyBackend().compile(prog)(xs), name)
        for k in exe.kernels:                        # any grid: the same bits
            default = k.launch
            for g in (1, 2, 3):
                k.launch = ((g, 1, 1), default[1])
                _same_bits(exe(xs), out, f"{name}, grid {g}")
            k.launch = default
        outs.append(out)
    monkeypatch.setattr(lower, "TRANSPOSE_TILES", False)   # the plain loop: the same bits as the tiles
    for (name, *_), exe, xs, out in zip(cases, InterpretBackend().compile_many(progs), inputs, outs):
        assert TILED not in {k.strategy for k in exe.kernels}, name
        _same_bits(exe(xs), out, f"{name}, without tiles")


@needs_cxx
def test_transposed_operands_against_numpy_with_and_without_tiles_on_every_grid(monkeypatch):
    _check(CASES, monkeypatch)


@needs_cxx
def test_more_transposed_operands_than_tiles(monkeypatch):
    """Past TILE_SHARED_BYTES of tiles, the remaining transposed operands are read directly."""
    monkeypatch.setattr(lower, "TILE_SHARED_BYTES", 2 * 32 * 33 * 4)
    f = lambda a, b, c: a.T - b.T * c.T       # noqa: E731
    (r,) = _report(f, (40, 64), (40, 64), (40, 64))
    assert r["strategy"] == TILED and r["bytes_strided"] == 40 * 64 * 4
    _check([("three transposed operands, two tiles", f, [(40, 64)] * 3, np.float32, True)], monkeypatch)


@needs_cxx
def test_float64_tiles(monkeypatch):
    with dtypes.enable_x64(True):
        _check([("float64", lambda x, y: x.T / y, [(70, 45), (45, 70)], np.float64, True),
                ("float64 batched", lambda x: jnp.transpose(x, (0, 2, 1)) ** 2, [(2, 33, 40)], np.float64, True)],
               monkeypatch)


@needs_cxx
def test_a_transpose_feeding_a_reduction_is_unaffected(monkeypatch):
    """Reductions read transposed operands in their own forms (a tile of outputs with row lanes):
    the tiles are a loop-kernel form only; the values still agree with NumPy."""
    cases = [("transposed column sum", lambda x, y: (x.T * y).sum(0), [(64, 48), (48, 64)], np.float32, False),
             ("transposed row max", lambda x: x.T.max(1), [(64, 48)], np.float32, False),
             ("a transposed output and its sum", lambda x: (x.T + 1, (x.T + 1).sum(1)), [(64, 48)], np.float32, True)]
    progs, inputs, exes = _compile(cases)
    for (name, *_), prog, exe, xs in zip(cases, progs, exes, inputs):
        assert all(k.strategy != TILED for k in exe.kernels if k.kind == "reduction"), name
        out, ref = exe(xs), NumpyBackend().compile(prog)(xs)
        for o, r in zip(out, ref):
            np.testing.assert_allclose(np.asarray(o), r, rtol=1e-5, atol=1e-4, err_msg=name)


# ---------------------------------------------------------------------------------------------
# Structure: the report, the launch, the C text
# ---------------------------------------------------------------------------------------------
def _report(f, *shapes, dt=jnp.float32):
    args = [jax.ShapeDtypeStruct(s, dt) for s in shapes]
    return [r for r in jax.jit(f).lower(*args).compile(platform="numpy").kernel_report() if r["kind"] != "library"]


def test_the_report_shows_tiles_for_a_big_transpose(monkeypatch):
    n = 4096
    (r,) = _report(lambda x: x.T + 1, (n, n))
    # 128 x 128 tiles of 32 x 32, 256 threads each, the grid capped: each block takes two tiles.
    assert r["strategy"] == TILED and r["block"] == (256, 1, 1) and r["grid"] == (8192, 1, 1)
    assert r["bytes_read"] == r["bytes_written"] == n * n * 4
    assert r["bytes_strided"] == 0 and r["bytes_traffic"] == 2 * n * n * 4 and r["est_bandwidth"] == 1.0
    # Without the tiles: lanes read the operand 16 KiB apart, a 32-byte sector for each 4-byte value.
    monkeypatch.setattr(lower, "TRANSPOSE_TILES", False)
    (r,) = _report(lambda x: x.T + 1, (n, n))
    assert r["strategy"] != TILED and r["bytes_strided"] == n * n * 4
    assert r["bytes_traffic"] == n * n * (roofline.SECTOR + 4)
    assert abs(r["est_bandwidth"] - 8 / (roofline.SECTOR + 4)) < 1e-12


def test_the_report_keeps_small_and_untransposed_loops_plain():
    for f, shape in [(lambda x: x.T + 1, (16, 16)), (lambda x: x.T + 1, (8, 4096)),
                     (lambda x: jnp.transpose(x, (1, 0, 2)) * 2, (64, 64, 64)), (lambda x: x * 2, (4096, 4096))]:
        (r,) = _report(f, shape)
        assert r["strategy"] != TILED, (shape, r)
    (r,) = _report(lambda x: x.T + 1, (8, 4096))
    assert r["bytes_strided"] == 8 * 4096 * 4         # too narrow to tile: reported as strided
    (r,) = _report(lambda x: x * 2 + x[0], (4096, 4096))
    assert r["bytes_strided"] == 0                    # a broadcast row is not a strided read


def _loop_kernel(f, *shapes, dt=np.float32):
    from gpuxla.core.graph import Aval
    from test_codegen import plan_of_avals
    (k,) = [k for k in plan_of_avals(f, *[Aval(s, np.dtype(dt)) for s in shapes]).kernels if k.kind == "loop"]
    return k


def test_the_tiled_kernel_text():
    k = _loop_kernel(lambda x, y: x.T + y, (200, 100), (100, 200))
    src = k.source
    assert k.strategy == TILED and k.launch == ((4 * 7, 1, 1), (256, 1, 1))
    assert "__shared__ float gx_tile0[32][33];" in src
    # Loaded with lanes along the operand's rows, read back transposed; the direct operand (in1) and
    # the output are indexed by the lane along the output's rows.
    assert re.search(r"gx_tile0\[gx_j\]\[gx_tx\] = in0\[gx_ll \* 100 \+ gx_lm\];", src)
    assert "= gx_tile0[gx_tx][gx_j];" in src
    assert re.search(r"const gx_ix (t\d+) = gx_m \* 200 \+ gx_l;.*in1\[\1\].*out0\[\1\]", src, re.S)
    # The same loop with the compute phase 4 outputs a thread when the buffers are aligned: one
    # 16-byte load of in1 and one store of out0 per thread, the tile read at column 4 * lane + k.
    aligned = "((unsigned long long)in1 & 15) == 0 && ((unsigned long long)out0 & 15) == 0"
    assert src.count(aligned) == 1 and src.count("__syncthreads();") == 4
    assert "const gx_ix gx_fv = (gx_m * 200 + gx_lv) / 4;" in src
    assert "*reinterpret_cast<uint4*>(in1_v) = reinterpret_cast<const uint4*>(in1)[gx_fv];" in src
    assert "reinterpret_cast<uint4*>(out0)[gx_fv] = *reinterpret_cast<const uint4*>(out0_v);" in src
    assert re.search(r"= gx_tile0\[gx_c\]\[gx_j\];", src) and re.search(r"= in1_v\[gx_k\];", src)
    # No vectors when the last axis is not a multiple of 4 long, or for 8-byte elements.
    for f, shapes, dt in [(lambda x, y: x.T + y, [(202, 98), (98, 202)], np.float32),
                          (lambda x, y: x.T + y, [(200, 100), (100, 200)], np.float64)]:
        k = _loop_kernel(f, *shapes, dt=dt)
        assert k.strategy == TILED and "gx_fv" not in k.source and k.source.count("__syncthreads();") == 2


@needs_cxx
def test_tile_vectors_change_no_bits(monkeypatch):
    """The 4-wide compute phase (ragged tiles, a batch, a broadcast and a transposed operand beside
    the direct one, 2- and 1-byte elements) gives the bits of the thread-per-output one, on any grid."""
    cases = [("ragged, direct operand", lambda x, y: x.T * y - y, [(100, 70), (70, 100)], np.float32, True),
             ("batched, broadcast", lambda x, y: jnp.transpose(x, (0, 2, 1)) * y + y[0, 0], [(3, 36, 44), (3, 44, 36)],
              np.float32, True),
             ("column and row biases", _bias_rows, [(48, 64), (64,)], np.float32, True),
             ("float16", lambda x, y: x.T * y + x.T, [(68, 40), (40, 68)], np.float16, True),
             ("int32, two outputs", lambda x, y: (x.T * 3 + y, y - x.T), [(36, 92), (92, 36)], np.int32, True),
             ("bool", lambda x, y: jnp.logical_xor(x.T, y), [(64, 36), (36, 64)], np.bool_, True)]
    progs, inputs, exes = _compile(cases, seed=3)
    for (name, *_), prog, exe, xs in zip(cases, progs, exes, inputs):
        (k,) = [k for k in exe.kernels if k.kind == "loop"]
        assert k.strategy == TILED and "gx_fv" in k.source, name
        out = exe(xs)
        _against_numpy(out, NumpyBackend().compile(prog)(xs), name)
        _same_bits(exe(xs), out, name)
        default = k.launch
        for g in (1, 2, 3, 7):
            k.launch = ((g, 1, 1), default[1])
            _same_bits(exe(xs), out, f"{name}, grid {g}")
        k.launch = default
        with monkeypatch.context() as m:
            m.setattr(lower, "TILE_VECTORS", False)
            plain = InterpretBackend().compile(prog)
            assert [p.strategy for p in plain.kernels if "gx_fv" not in p.source] == [TILED], name
            _same_bits(plain(xs), out, f"{name}, without vectors")


def test_tiled_kernels_compile_with_nvrtc():
    from gpuxla.backends.cuda import nvrtc
    from gpuxla.compiler import render
    if not nvrtc.available():
        pytest.skip("cuda-bindings / NVRTC not installed")
    kernels = [_loop_kernel(f, *shapes, dt=dt) for f, shapes, dt in [
        (lambda x, y: x.T * y - y, [(96, 70), (70, 96)], np.float32),
        (lambda x: jnp.transpose(x, (2, 1, 0)) - 1, [(33, 3, 35)], np.float32),
        (lambda x, y: x.T * y + x.T, [(66, 40), (40, 66)], np.float16),
        (lambda x, y: jnp.logical_xor(x.T, y), [(64, 33), (33, 64)], np.bool_),
        (lambda x: x.T + 1, [(4096, 4096)], np.float32)]]
    assert all(k.strategy == TILED for k in kernels)
    assert bytes(nvrtc.compile_cubin(render.module_source(kernels), arch="sm_90")[:4]) == b"\x7fELF"
    # One 32 x 33 tile of 4 bytes in shared memory, nothing in local memory.
    log = nvrtc.compile_cubin(kernels[-1].source, arch="sm_90", options=("--ptxas-options=-v",)).log
    if "ptxas info" in log:              # (a cached cubin keeps no log)
        assert f"{32 * 33 * 4} bytes smem" in log and "0 bytes stack frame" in log, log
