"""Reduction forms that fill a GPU (#19): which form a shape gets, the launch it makes, and every
form run on cuda-interpret against NumPy -- the same bits on every run and for any grid.

The forms (compiler/lower.choose_form, compiler/render.py): warp/block per row, rows split into
chunks, and tiles of neighbouring outputs with row lanes (column sums, middle axes), chunked when
columns are long. Each kernel runs again with its grid forced to 1, 2 and 3 blocks. Multi-pass
groups reach their separate chunked kernels at small sizes by lowering `lower.BIG`.
"""
import re

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.cuda import InterpretBackend
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.compiler import lower, render
from gpuxla.core import dtypes

from codegen_util import _session_cache, needs_cxx  # noqa: F401  (fixture, autouse)
from test_interpret_optable import program_of

F32 = jnp.float32


def softmax(x, axis=-1):
    m = jnp.max(x, axis=axis, keepdims=True)
    e = jnp.exp(x - m)
    return e / jnp.sum(e, axis=axis, keepdims=True)


def layernorm(x, g, b):
    mu = jnp.mean(x, -1, keepdims=True)
    v = jnp.mean((x - mu) ** 2, -1, keepdims=True)
    return (x - mu) * jax.lax.rsqrt(v + 1e-5) * g + b


def report(f, *shapes):
    """The kernel report of f on float32 arguments of `shapes` (nothing allocated, nothing compiled)."""
    args = [jax.ShapeDtypeStruct(s, F32) for s in shapes]
    return [r for r in jax.jit(f).lower(*args).compile(platform="numpy").kernel_report() if r["kind"] != "library"]


# ---------------------------------------------------------------------------------------------
# Structure: big reductions of every layout fill the machine
# ---------------------------------------------------------------------------------------------
BIG_CASES = {
    "column sum": (lambda x: x.sum(0), [(4096, 4096)], "tile"),
    "row sum": (lambda x: x.sum(1), [(4096, 4096)], "block"),
    "scalar sum": (jnp.sum, [(4096, 4096)], "split"),
    "few long rows": (lambda x: x.max(1), [(8, 1 << 20)], "split"),
    "middle axis": (lambda x: x.sum(1), [(16, 4096, 256)], "tile"),
    "column argmax": (lambda x: jnp.argmax(x, 0), [(4096, 4096)], "tile"),
    "outer and inner axes": (lambda x: x.sum((0, 2)), [(64, 64, 4096)], "split"),
    "softmax": (softmax, [(4096, 4096)], "block"),
    "layernorm": (layernorm, [(4096, 4096), (4096,), (4096,)], "block"),
}


@pytest.mark.parametrize("name", sorted(BIG_CASES))
def test_big_reductions_fill_the_gpu(name):
    f, shapes, strategy = BIG_CASES[name]
    (r,) = report(f, *shapes)
    assert r["strategy"] == strategy
    assert r["threads"] // 32 >= lower.FILL_WARPS, r


def test_column_sum_4096_squared():
    (r,) = report(lambda x: x.sum(0), (4096, 4096))
    # Tiles of 32 columns x 8 row lanes, the 4096 rows cut into chunks: 128 tiles x 9 chunks.
    assert r["block"] == (256, 1, 1) and r["grid"] == (128 * 9, 1, 1)
    assert r["bytes_read"] == 4096 * 4096 * 4 and r["bytes_written"] == 4096 * 4


def test_multi_pass_reductions_that_would_not_fill_get_kernels_of_their_own():
    # The variance over the rows of a tall matrix needs the mean of the whole column, which a
    # chunked column does not have: mean and variance become two chunked kernels.
    rows = report(lambda x: x.var(0), (4096, 4096))
    assert [r["strategy"] for r in rows] == ["tile", "tile"]
    assert all(r["threads"] // 32 >= lower.FILL_WARPS for r in rows)
    # A small one stays one kernel of two stages.
    (r,) = report(lambda x: x.var(0), (64, 100))
    assert r["strategy"] == "tile"


# ---------------------------------------------------------------------------------------------
# Every form on cuda-interpret: NumPy's values, the same bits on every run and grid
# ---------------------------------------------------------------------------------------------
def _data(shape, dt, seed, nan=False):
    rng = np.random.default_rng(seed)
    if np.dtype(dt).kind in "iu":
        return rng.integers(-50, 50, shape).astype(dt)
    x = (rng.standard_normal(shape) * 3).astype(dt)
    if nan and x.size > 3:
        x.reshape(-1)[[1, x.size // 2]] = np.nan
    return x


CASES = [
    # (name, f, shape, dtype, nan, strategy)
    ("column sum, ragged tile and chunks", lambda x: x.sum(0), (1000, 37), np.float32, False, "tile"),
    ("narrow columns", lambda x: (x.max(0), x.min(0)), (2000, 5), np.float32, True, "tile"),
    ("middle axis argmax", lambda x: jnp.argmax(x, 1), (7, 500, 33), np.float32, True, "tile"),
    ("leading axes", lambda x: x.sum((0, 1)), (600, 3, 40), np.int32, False, "tile"),
    ("column argmin with ties", lambda x: jnp.argmin(jnp.round(x), 0), (900, 40), np.float32, False, "tile"),
    ("two columns", lambda x: x.max(0), (3000, 2), np.float32, True, "tile"),
    ("bool columns", lambda x: (jnp.any(x > 4, 0), jnp.all(x > -4, 0)), (900, 33), np.float32, False, "tile"),
    ("float16 columns", lambda x: x.sum(0), (700, 50), np.float16, False, "tile"),
    ("split rows", lambda x: x.sum(1), (5, 9000), np.float32, False, "split"),
    ("split max with NaN", lambda x: x.max(1), (3, 8200), np.float32, True, "split"),
    ("split argmax", lambda x: jnp.argmax(x), (9000,), np.float32, False, "split"),
    ("split to a scalar, int", jnp.sum, (20000,), np.int32, False, "split"),
    ("column mean (epilogue)", lambda x: x.mean(0), (1000, 70), np.float32, False, "tile"),
    ("empty columns", lambda x: x.sum(0), (0, 40), np.float32, False, None),
    ("one row", lambda x: x.sum(0), (1, 50), np.float32, False, None),
    ("one column", lambda x: x.sum(0), (50, 1), np.float32, False, None),
]


def _check_bits(exe, xs, want):
    got = exe(xs)
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and np.array_equal(g, w, equal_nan=g.dtype.kind == "f")


def _run_forms(cases, monkeypatch, big=None):
    if big is not None:
        monkeypatch.setattr(lower, "BIG", big)
    progs, inputs = [], []
    for name, f, shape, dt, nan, _ in cases:
        x = _data(shape, dt, len(progs), nan)
        progs.append(program_of(f, [x]))
        inputs.append(x)
    exes = InterpretBackend().compile_many(progs)
    for (name, f, shape, dt, nan, strategy), prog, exe, x in zip(cases, progs, exes, inputs):
        if strategy is not None:
            assert strategy in {k.strategy for k in exe.kernels}, (name, exe.kernels)
        ref = NumpyBackend().compile(prog)([x])
        out = exe([x])
        for o, r in zip(out, ref):
            o, r = np.asarray(o), np.asarray(r)
            assert o.dtype == r.dtype and o.shape == r.shape, name
            if r.dtype.kind == "f":
                tol = 2e-2 if r.dtype == np.float16 else 1e-5
                np.testing.assert_allclose(o, r, rtol=tol, atol=tol * max(1, shape[0]) ** 0.5, equal_nan=True,
                                           err_msg=name)
            else:
                np.testing.assert_array_equal(o, r, err_msg=name)
        _check_bits(exe, [x], out)                    # the same bits on a second run ...
        for k in exe.kernels:                         # ... and for any grid
            default = k.launch
            for g in (1, 2, 3):
                k.launch = ((g, 1, 1), default[1])
                _check_bits(exe, [x], out)
            k.launch = default


@needs_cxx
def test_every_form_against_numpy_on_every_grid(monkeypatch):
    _run_forms(CASES, monkeypatch)


@needs_cxx
def test_column_forms_in_float64(monkeypatch):
    with dtypes.enable_x64(True):
        _run_forms([("float64 column min", lambda x: x.min(0), (800, 45), np.float64, True, "tile"),
                    ("float64 split sum", lambda x: x.sum(1), (2, 9000), np.float64, False, "split")],
                   monkeypatch)


@needs_cxx
def test_multi_pass_column_kernels(monkeypatch):
    """Several stages and row-wise outputs over columns (batch norm, softmax over axis 0): one
    tile kernel of several passes while small, separate chunked kernels once big."""
    cases = [("column var", lambda x: x.var(0), (300, 45), np.float32, False, "tile"),
             ("column softmax", lambda x: softmax(x, 0), (300, 40), np.float32, False, "tile")]
    _run_forms(cases, monkeypatch, big=lower.BIG)
    _run_forms(cases, monkeypatch, big=0)


def test_every_form_compiles_with_nvrtc(monkeypatch):
    from gpuxla.backends.cuda import nvrtc
    from gpuxla.backends.cuda.plan import Plan
    from gpuxla.compiler import render
    from gpuxla.core.graph import Aval
    from test_codegen import plan_of_avals
    if not nvrtc.available():
        pytest.skip("cuda-bindings / NVRTC not installed")
    kernels = [k for _, f, shape, dt, nan, _ in CASES for k in Plan(program_of(f, [_data(shape, dt, 0)])).kernels]
    kernels += [k for f, shapes, _ in BIG_CASES.values()
                for k in plan_of_avals(f, *[Aval(s, np.dtype(np.float32)) for s in shapes]).kernels]
    assert {"tile", "split"} <= {k.strategy for k in kernels}
    assert bytes(nvrtc.compile_cubin(render.module_source(kernels), arch="sm_90")[:4]) == b"\x7fELF"


# ---------------------------------------------------------------------------------------------
# One read per row: multi-pass rows kept in registers
# ---------------------------------------------------------------------------------------------
def _cuda_kernel(f, *shapes):
    from gpuxla.core.graph import Aval
    from test_codegen import plan_of_avals
    (k,) = plan_of_avals(f, *[Aval(s, np.dtype(np.float32)) for s in shapes]).kernels
    return k


def test_softmax_and_layernorm_read_each_row_once():
    (r,) = report(softmax, (4096, 4096))
    assert r["passes"] == 1 and r["bytes_traffic"] == 2 * 4096 * 4096 * 4
    k = _cuda_kernel(softmax, (4096, 4096))
    assert k.source.count("in0[") == 1 and k.source.count("gx_exp(") == 1   # one load, one exp a value
    (r,) = report(layernorm, (4096, 4096), (4096,), (4096,))
    assert r["passes"] == 1
    # Rows too long for registers: kept in shared memory (one 64 KiB row: x, then exp(x - max)) ...
    (r,) = report(softmax, (512, 16384))
    assert r["passes"] == 1 and r["bytes_traffic"] == 2 * 512 * 16384 * 4 and r["est_bandwidth"] == 1.0
    assert r["shared_mem"] == 16384 * 4
    # ... unless even that is too big: three passes, as the report says.
    (r,) = report(softmax, (512, 32768))
    assert r["passes"] == 3 and r["bytes_traffic"] == 4 * 512 * 32768 * 4 and r["shared_mem"] == 0


def _tanh_rows(t):
    return (t - jnp.max(t, 1, keepdims=True)) / jnp.sum(t, 1, keepdims=True)


ROW_CASES = [
    ("softmax, thread per row", softmax, [(37, 5)], "thread"),
    ("softmax, warp per row, ragged", softmax, [(50, 300)], "warp"),
    ("softmax, block per row, ragged", softmax, [(20, 2000)], "block"),
    ("softmax, block per row, exact", softmax, [(8, 4096)], "block"),
    ("layernorm", layernorm, [(30, 1100), (1100,), (1100,)], "block"),
    ("column softmax", lambda x: softmax(x, 0), [(100, 40)], "tile"),
    ("tanh in three passes", lambda x: _tanh_rows(jnp.tanh(x)), [(16, 700)], "block"),
]


@needs_cxx
@pytest.mark.parametrize("dt", [np.float32, np.float16])
def test_rows_in_registers_against_numpy(dt, monkeypatch):
    rng = np.random.default_rng(5)
    progs, inputs = [], []
    for name, f, shapes, strategy in ROW_CASES:
        xs = [(rng.standard_normal(s) * 2).astype(dt) for s in shapes]
        progs.append(program_of(f, xs))
        inputs.append(xs)
    exes = InterpretBackend().compile_many(progs)
    for (name, f, shapes, strategy), prog, exe, xs in zip(ROW_CASES, progs, exes, inputs):
        k = next(k for k in exe.kernels if k.kind == "reduction" and len(k.info["stages"]) > 1)
        assert k.strategy == strategy and re.search(r"gx_c\d+\[gx_j\]", k.source), name
        assert max(k.row_reads.values()) == 1, name
        assert k.source.count("gx_tanh(") <= 1 and k.source.count("gx_exp(") <= 1, name   # once per value
        out, ref = exe(xs), NumpyBackend().compile(prog)(xs)
        tol = 2e-2 if dt == np.float16 else 2e-5
        for o, r in zip(out, ref):
            np.testing.assert_allclose(np.asarray(o, np.float64), np.asarray(r, np.float64), rtol=tol, atol=tol,
                                       err_msg=name)
        _check_bits(exe, xs, out)
    if dt == np.float32:   # the cache changes no bits: the passes combine in the same order without it
        monkeypatch.setattr(render, "ROW_CACHE", 0)
        for exe, xs, plain in zip(exes, inputs, InterpretBackend().compile_many(progs)):
            assert not any(re.search(r"gx_c\d+\[", k.source) for k in plain.kernels)
            _check_bits(plain, xs, exe(xs))


def test_rows_in_registers_need_no_local_memory():
    """ptxas puts the row arrays in registers (unrolled, constant indices): no stack, no spills."""
    from gpuxla.backends.cuda import nvrtc
    if not nvrtc.available():
        pytest.skip("cuda-bindings / NVRTC not installed")
    for k in (_cuda_kernel(softmax, (4096, 4096)), _cuda_kernel(layernorm, (4096, 4096), (4096,), (4096,))):
        assert re.search(r"gx_c\d+\[16\]", k.source)
        log = nvrtc.compile_cubin(k.source, arch="sm_90", options=("--ptxas-options=-v",)).log
        if "ptxas info" not in log:       # (a cached cubin keeps no log)
            continue
        assert "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" in log, log


# ---------------------------------------------------------------------------------------------
# One read per row: multi-pass rows too long for registers kept in shared memory
# ---------------------------------------------------------------------------------------------
def _rows_then_sum(x):
    return (x - jnp.max(x, 1, keepdims=True)).sum(1)


def _two_rows(x):
    """x and exp(x) both needed by the last pass: two buffers (exp(x) cannot take x's)."""
    e = jnp.exp(x)
    return (x - jnp.mean(x, 1, keepdims=True)) * e / jnp.sum(e, 1, keepdims=True)


SHARED_CASES = [
    # (name, f, shapes, dtype, force register rows off below this many values a thread)
    ("softmax, ragged, 20 values a thread", softmax, [(6, 5000)], np.float32, None),
    ("softmax, one row", softmax, [(1, 4500)], np.float32, None),
    ("softmax, no rows", softmax, [(0, 4500)], np.float32, None),
    ("tanh in three passes", lambda x: _tanh_rows(jnp.tanh(x)), [(5, 1100)], np.float32, 2),
    ("layernorm", layernorm, [(7, 1500), (1500,), (1500,)], np.float32, 2),
    ("softmax in float16", softmax, [(5, 1300)], np.float16, 2),
    ("int rows", _rows_then_sum, [(5, 1400)], np.int32, 2),
    ("x and exp(x) to the last pass", _two_rows, [(4, 1200)], np.float32, 2),
]


def _shared_programs(cases, monkeypatch):
    rng = np.random.default_rng(7)
    progs, inputs = [], []
    for name, f, shapes, dt, regs in cases:
        xs = [_data(s, dt, int(rng.integers(1 << 30))) for s in shapes]
        progs.append(program_of(f, xs))
        inputs.append(xs)
    return progs, inputs


@needs_cxx
def test_rows_in_shared_memory_against_numpy(monkeypatch):
    """Each value of a long row is loaded once and each exp/tanh computed once: the passes read
    them back from shared memory; NumPy's values, the same bits on every run, grid and with the
    rows off (ROW_SHARED_BYTES = 0), and a budget too small for all the values keeps some."""
    cases = SHARED_CASES
    with dtypes.enable_x64(True):
        cases = cases + [("layernorm in float64", layernorm, [(3, 1700), (1700,), (1700,)], np.float64, 2)]
        progs, inputs = _shared_programs(cases, monkeypatch)
        exes = []
        for (name, f, shapes, dt, regs), prog in zip(cases, progs):
            with monkeypatch.context() as m:
                if regs is not None:
                    m.setattr(render, "ROW_CACHE", regs)
                exes.append(InterpretBackend().compile(prog))
        for (name, f, shapes, dt, regs), prog, exe, xs in zip(cases, progs, exes, inputs):
            (k,) = [k for k in exe.kernels if k.kind == "reduction" and len(k.info["stages"]) > 1]
            assert k.strategy == "block", name
            if k.info["n_out"]:
                assert re.search(r"gx_rs\d+\[r\] = ", k.source) and k.shared_mem >= k.info["n_red"] * 2, name
                assert max(k.row_reads.values()) == 1, name
                assert k.source.count("gx_tanh(") <= 1 and k.source.count("gx_exp(") <= 1, name
            out, ref = exe(xs), NumpyBackend().compile(prog)(xs)
            for o, r in zip(out, ref):
                o, r = np.asarray(o), np.asarray(r)
                assert o.dtype == r.dtype and o.shape == r.shape, name
                if r.dtype.kind == "f":
                    tol = 2e-2 if dt == np.float16 else 2e-5
                    np.testing.assert_allclose(o.astype(np.float64), r.astype(np.float64), rtol=tol, atol=tol,
                                               err_msg=name)
                else:
                    np.testing.assert_array_equal(o, r, err_msg=name)
            _check_bits(exe, xs, out)
            default = k.launch
            for g in (1, 2, 3, 7):
                k.launch = ((g, 1, 1), default[1])
                _check_bits(exe, xs, out)
            k.launch = default
            with monkeypatch.context() as m:   # without the rows: the same bits, more passes
                m.setattr(render, "ROW_SHARED_BYTES", 0)
                if regs is not None:
                    m.setattr(render, "ROW_CACHE", regs)
                plain = InterpretBackend().compile(prog)
                assert not any(re.search(r"gx_rs\d", p.source) or p.shared_mem for p in plain.kernels), name
                _check_bits(plain, xs, out)
                if k.info["n_out"]:
                    assert max(max(p.row_reads.values()) for p in plain.kernels) > 1, name
            if name.startswith("x and exp"):
                assert k.shared_mem == 2 * 1200 * 4 and "gx_rs1[r] = " in k.source
            if name == "layernorm":             # room for one row of the two it would keep: x only
                with monkeypatch.context() as m:
                    m.setattr(render, "ROW_SHARED_BYTES", 1500 * 4)
                    m.setattr(render, "ROW_CACHE", regs)
                    part = InterpretBackend().compile(prog)
                    (pk,) = [p for p in part.kernels if p.kind == "reduction"]
                    assert pk.shared_mem == 1500 * 4 and max(pk.row_reads.values()) == 1
                    _check_bits(part, xs, out)


def test_rows_in_shared_memory_structure():
    """Softmax keeps x and then exp(x - max) in one buffer (x's last read comes before exp is
    computed); layernorm keeps x. The shared rows fit ROW_SHARED_BYTES; longer rows go without."""
    k = _cuda_kernel(softmax, (4096, 16384))
    assert k.strategy == "block" and k.shared_mem == 16384 * 4
    assert k.source.count("in0[") == 1 and k.source.count("gx_exp(") == 1
    assert k.source.count("gx_rs0[r] = ") == 2 and "gx_rs1" not in k.source
    k = _cuda_kernel(layernorm, (4096, 16384), (16384,), (16384,))
    assert k.shared_mem == 16384 * 4 and k.source.count("in0[") == 1
    k = _cuda_kernel(softmax, (512, 32768))
    assert k.shared_mem == 0 and not re.search(r"gx_rs\d", k.source) and k.source.count("in0[") == 3


def test_rows_in_shared_memory_compile_with_nvrtc():
    """The kernels compile for sm_90 with no stack or spills (registers are unaffected by the rows)."""
    from gpuxla.backends.cuda import nvrtc
    if not nvrtc.available():
        pytest.skip("cuda-bindings / NVRTC not installed")
    for k in (_cuda_kernel(softmax, (4096, 16384)), _cuda_kernel(layernorm, (4096, 16384), (16384,), (16384,))):
        assert k.shared_mem
        log = nvrtc.compile_cubin(k.source, arch="sm_90", options=("--ptxas-options=-v",)).log
        if "ptxas info" not in log:       # (a cached cubin keeps no log)
            continue
        assert "0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads" in log, log


@needs_cxx
def test_rows_in_shared_memory_past_48_kib_on_the_cuda_runtime(monkeypatch):
    """Past 48 KiB of dynamic shared memory a kernel must opt in before its launch (CUDA fails it
    otherwise; tests/fake_cupy.py checks the same): the cuda runtime does, and the values agree."""
    import fake_cupy as fc
    x = _data((2, 12800), np.float32, 3)
    want = NumpyBackend().compile(program_of(softmax, [x]))([x])[0]
    with fc.installed(nvrtc=False):
        f = jax.jit(softmax)
        got = f(jnp.asarray(x))
        (r,) = [r for r in f.lower(x).compile().kernel_report() if r["kind"] != "library"]
        assert r["shared_mem"] == 12800 * 4 > fc.DEFAULT_SHARED and r["passes"] == 1
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=1e-7)
        opted = [a.get(fc.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES) for a in fc._func_attrs.values()]
        assert opted == [12800 * 4]
    # A device with less shared memory than the rows take: an error naming the kernel and the knob.
    monkeypatch.setattr(fc, "MAX_SHARED", 48 * 1024)
    with fc.installed(nvrtc=False):
        with pytest.raises(RuntimeError, match=r"gx_reduction_\w+' keeps its rows in 51200 bytes.*ROW_SHARED_BYTES"):
            jax.jit(softmax)(jnp.asarray(x))


# ---------------------------------------------------------------------------------------------
# Several passes over few long rows: one kernel when it reads each row once and fills enough
# ---------------------------------------------------------------------------------------------
def test_few_long_rows_in_shared_memory_stay_one_kernel(monkeypatch):
    """Rows cut into chunks would fill the GPU, but a chunk has no row value for the next pass. The
    group stays one block kernel when its rows stay in shared memory and the report's estimate for
    it (traffic over fill) is no worse than the plain passes' traffic on a full GPU."""
    for f, shapes in [(softmax, [(100, 16384)]), (layernorm, [(100, 16384), (16384,), (16384,)])]:
        (r,) = report(f, *shapes)
        assert r["strategy"] == "block" and r["passes"] == 1 and r["shared_mem"] == 16384 * 4
        assert r["bytes_traffic"] <= r["bytes_read"] + r["bytes_written"] and 0.7 < r["est_bandwidth"] < 0.8
    # 64 rows fill 48% of the GPU: 2/0.48 > the 4 passes' bytes. Rows of 256 KiB do not fit.
    for shape in [(64, 16384), (64, 65536)]:
        assert [r["strategy"] for r in report(softmax, shape)] == ["split", "loop-vec4", "split", "loop-vec4"]
    monkeypatch.setattr(render, "ROW_SHARED_BYTES", 0)
    assert len(report(softmax, (100, 16384))) == 4


@needs_cxx
def test_few_long_rows_in_shared_memory_against_numpy(monkeypatch):
    """The same decision at a small size (lower.BIG and lower.FILL_WARPS lowered): one kernel,
    NumPy's values, the same bits on any grid; the chunked kernels without the shared rows agree."""
    monkeypatch.setattr(lower, "BIG", 0)
    monkeypatch.setattr(lower, "FILL_WARPS", 96)   # the block kernel fills half: 2 bytes a value vs 4
    x = _data((6, 5000), np.float32, 11)
    prog = program_of(softmax, [x])
    exe = InterpretBackend().compile(prog)
    (k,) = exe.kernels
    assert k.strategy == "block" and k.shared_mem == 5000 * 4 and max(k.row_reads.values()) == 1
    out = exe([x])
    ref = NumpyBackend().compile(prog)([x])
    np.testing.assert_allclose(np.asarray(out[0]), ref[0], rtol=2e-5, atol=1e-7)
    for g in (1, 2, 3, 7):
        k.launch = ((g, 1, 1), (256, 1, 1))
        _check_bits(exe, [x], out)
    monkeypatch.setattr(render, "ROW_SHARED_BYTES", 0)
    chunked = InterpretBackend().compile(prog)
    assert "split" in [k.strategy for k in chunked.kernels] and len(chunked.kernels) > 1
    np.testing.assert_allclose(np.asarray(chunked([x])[0]), ref[0], rtol=2e-5, atol=1e-7)
