"""The native `cpu` platform (backends/cpu/, the CPU dialect of compiler/render.py) agrees with NumPy.

* the shared op table -- forward, the gradient program of every differentiable op, the vmap
  program of every op -- compiled as a few host modules built in parallel, against the NumPy
  backend (the programs are what `jit` compiles; a few eager/jit calls check the wiring);
* its own float32 exp/expm1/log/log1p/tanh/logistic against float64 NumPy, specials included;
* the same bits whatever the thread count (OpenMP chunks), and run after run;
* the 427 PRNG reference vectors on `cpu` (bit for bit with JAX);
* platform selection, and the NumPy fallback when there is no compiler or a broken one, while
  a kernel the compiler rejects is raised (a gpuxla bug must not hide behind the fallback).
"""
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends, config, random
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_rt
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.compiler import render
from gpuxla.core import dtypes

from codegen_util import _session_cache, needs_cxx  # noqa: F401
from test_interpret_optable import _cases, assert_same, compile_table, inputs_for, program_of

pytestmark = needs_cxx
ROOT = Path(__file__).resolve().parents[1]

_compiled = {}


@pytest.fixture(scope="module")
def table():
    """Every traceable op-table program, compiled together on the cpu platform."""
    if not _compiled:
        _compiled.update(compile_table(cpu.CpuBackend()))
    return _compiled


@pytest.mark.parametrize("op,dt,kind", list(_cases()))
def test_op_table(table, op, dt, kind, request):
    cid = request.node.callspec.id
    if cid not in table["built"]:
        pytest.skip("not traceable here (value-dependent shapes) or nothing to differentiate")
    prog, args = table["built"][cid]
    exe = table["exes"][cid]
    assert isinstance(exe.runtime, cpu_rt.CpuRuntime)
    xs = inputs_for(prog, args)
    ref = NumpyBackend().compile(prog)(xs)
    out = exe(xs)
    rtol, atol = (1e-4, 1e-5) if kind != "fwd" else (0, 0)
    assert_same(out, ref, rtol, atol, cid, op)


def test_table_is_mostly_traced(table):
    assert len(table["built"]) > 0.8 * (len(table["built"]) + len(table["failed"]))


@pytest.fixture
def on_cpu(monkeypatch):
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", cpu.CpuBackend())
    yield backends._backend


def test_eager_and_jit_run_the_cpu_kernels(on_cpu, monkeypatch):
    monkeypatch.setenv("GPUXLA_CPU_TIERED", "0")     # native from the first call (tiers: test_cpu_tiered.py)
    x = np.linspace(-3, 3, 40 * 300, dtype=np.float32).reshape(40, 300)
    e = np.exp(x - x.max(1, keepdims=True))
    want = e / e.sum(1, keepdims=True)
    eager = np.asarray(gpuxla.nn.softmax(jnp.asarray(x), axis=1))
    f = gpuxla.jit(lambda v: gpuxla.nn.softmax(v, axis=1))
    np.testing.assert_allclose(eager, want, rtol=2e-6, atol=1e-9)
    np.testing.assert_allclose(np.asarray(f(x)), want, rtol=2e-6, atol=1e-9)
    exe = f.lower(x).compile()
    assert exe.kernels and all("GX_EXPORT" in k.source and "__global__" not in k.source for k in exe.kernels)
    assert repr(gpuxla.devices()[0]) == "CpuDevice(id=0)" and gpuxla.default_backend() == "cpu"
    # a library call (dot_general) between two fused kernels
    w = np.random.default_rng(0).standard_normal((300, 7)).astype(np.float32)
    g = gpuxla.jit(lambda v, w: jnp.tanh(v @ w).sum(0))
    np.testing.assert_allclose(np.asarray(g(x, w)), np.tanh(x @ w).sum(0), rtol=1e-5, atol=1e-4)


def test_eager_graphs_run_on_numpy_until_hot(on_cpu, monkeypatch):
    monkeypatch.delenv("GPUXLA_CPU_TIERED", raising=False)
    monkeypatch.setattr(cpu, "_known", lambda program: False)
    ticks = iter(range(10 ** 6))
    monkeypatch.setattr(cpu, "_clock", lambda: next(ticks) * (cpu.HOT_SECONDS * 0.6))    # hot at the 2nd call
    x = jnp.asarray(np.linspace(-3, 3, 1000, dtype=np.float32))

    def step():
        return np.asarray(jnp.exp(x) * 2 + jnp.sum(x * x))
    want = np.exp(np.asarray(x)) * 2 + np.sum(np.asarray(x) ** 2)
    np.testing.assert_allclose(step(), want, rtol=1e-6)      # NumPy: no compiler run
    (tiered,) = backends._eager_cache.values()
    assert isinstance(tiered, cpu.Tiered) and tiered.job is None and tiered.native is None
    np.testing.assert_allclose(step(), want, rtol=1e-6)      # hot: the module is built in the background
    assert tiered.job is not None
    assert tiered.job.done.wait(timeout=300)
    np.testing.assert_allclose(step(), want, rtol=1e-6)
    assert isinstance(tiered.native.runtime, cpu_rt.CpuRuntime)


# ---------------------------------------------------------------------------------------------
# The float32 math functions of gx_cpu.h
# ---------------------------------------------------------------------------------------------
def _ulps(got, want):
    def key(a):
        i = a.astype(np.float32).view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    same = (got == want) | (np.isnan(got) & np.isnan(want))
    return np.where(same, 0, np.abs(key(got) - key(want)))


SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1e-45, -1e-45, 1e-38, -1e-38, 1e-7, -1e-7, 0.25, -0.25, 0.5, -0.5,
            1.0, -1.0, -1 + 2 ** -24, 88.72, 88.73, 89.0, -87.3, -103.0, -104.0, -110.0, 20.0, -20.0, 1e30, -1e30,
            3.4e38, -3.4e38]


@pytest.mark.parametrize("fn,ref,max_ulp", [
    ("exp", np.exp, 1), ("expm1", np.expm1, 2), ("log", np.log, 1), ("log1p", np.log1p, 1), ("tanh", np.tanh, 1),
    ("sigmoid", lambda d: 1 / (1 + np.exp(-d)), 4)])
def test_vector_math_functions(fn, ref, max_ulp):
    rng = np.random.default_rng(5)
    x = np.concatenate([np.array(SPECIALS, np.float32), (rng.standard_normal(20000) * 10).astype(np.float32),
                        (rng.standard_normal(5000) * 1e-3).astype(np.float32),
                        np.exp(rng.uniform(-100, 88, 5000)).astype(np.float32)])
    f = getattr(gpuxla.nn if fn == "sigmoid" else jnp, fn)
    exe = cpu.CpuBackend().compile(program_of(f, [x]))
    assert isinstance(exe.runtime, cpu_rt.CpuRuntime)
    (got,) = exe([x])
    with np.errstate(all="ignore"):
        want = ref(x.astype(np.float64)).astype(np.float32)
    u = _ulps(got, want)
    assert u.max() <= max_ulp, (x[u > max_ulp][:5], got[u > max_ulp][:5], want[u > max_ulp][:5])


# ---------------------------------------------------------------------------------------------
# Determinism
# ---------------------------------------------------------------------------------------------
def _programs():
    rng = np.random.default_rng(2)
    m = (rng.standard_normal((300, 2000)) * 3).astype(np.float32)
    v = rng.standard_normal(600_000).astype(np.float32)

    def layernorm(m):
        mu = jnp.mean(m, -1, keepdims=True)
        return (m - mu) / jnp.sqrt(jnp.var(m, -1, keepdims=True) + 1e-5)
    return [   # (function, arguments, tolerance against NumPy)
        (lambda m: (gpuxla.nn.softmax(m, axis=1), jnp.sum(m, 0), jnp.argmax(m, 1)), [m], 2e-4),  # sums of 300 |x|~3
        (layernorm, [m], 2e-5),
        (lambda v: (jnp.sum(jnp.sin(v)), jnp.max(v), gpuxla.nn.selu(v) * 2 + 1), [v], 2e-5),
        (gpuxla.grad(lambda v: jnp.sum(gpuxla.nn.sigmoid(v) * v)), [v], 2e-5),
        # built as the platform builds it (-O2, vectorised): still JAX's bits (the NumPy backend's)
        (lambda k: random.normal(k, (200_001,)), [np.asarray(random.PRNGKey(3))], 0),
    ]


def test_same_bits_for_every_thread_count():
    for f, args, tol in _programs():
        prog = program_of(f, args)
        xs = inputs_for(prog, args)
        runs = {}
        for t in (1, 2, 3):
            exe = cpu.CpuBackend().compile(prog)
            exe.runtime.threads = t
            runs[t] = exe(xs), exe(xs)
        # rows or elements in several chunks, or one long row cut into chunks
        assert any(k.launch[0][0] > 1 or "gx_parallel(" in k.source.split("GX_EXPORT")[0] for k in exe.kernels), \
            "nothing in parallel"
        for t, (a, b) in runs.items():
            for o1, o2, o0 in zip(a, b, runs[1][0]):
                assert o1.tobytes() == o2.tobytes() == o0.tobytes(), (t, prog.out_avals)
        assert_same(runs[2][0], NumpyBackend().compile(prog)(xs), tol, tol, str(prog.out_avals))


@pytest.mark.parametrize("n", [37, 3000, 70000])
def test_max_min_rows_with_nans_and_signed_zeros(n):
    """Float max/min rows take a fast compare-and-select pass and redo the row exactly when it
    met a NaN or came out zero: every case must still give NumPy's (lax's) answer, bits included."""
    rng = np.random.default_rng(n)
    x = rng.standard_normal((6, n)).astype(np.float32)
    x[1, n // 3] = np.nan                                 # NaN inside a row
    x[2] = -np.abs(x[2])
    x[2, n - 1] = -0.0                                    # max is -0 ...
    x[3] = -np.abs(x[3])
    x[3, [1, n // 2]] = [-0.0, 0.0]                       # ... or +0 next to a -0
    x[4] = np.abs(x[4])
    x[4, [0, n - 2]] = [0.0, -0.0]                        # min of +0 and -0 is -0
    x[5, -1] = np.nan                                     # NaN in the tail
    for f, ref in ((lambda v: jnp.max(v, 1), lambda v: np.max(v, 1)), (lambda v: jnp.min(v, 1), lambda v: np.min(v, 1)),
                   (lambda v: jnp.max(v), np.max)):
        (got,) = cpu.CpuBackend().compile(program_of(f, [x]))([x])
        want = np.asarray(ref(x))
        assert np.array_equal(got, want, equal_nan=True) and np.array_equal(np.signbit(got), np.signbit(want)), \
            (got, want)


def test_threads_flag(monkeypatch):
    monkeypatch.setenv("GPUXLA_CPU_THREADS", "1")
    assert cpu_rt.CpuRuntime().threads == 1
    monkeypatch.setenv("GPUXLA_CPU_THREADS", "0")
    prog = program_of(lambda x: x * 2, [np.ones(5, np.float32)])
    assert cpu.CpuBackend().compile(prog).runtime.threads >= 1    # 0: OpenMP's default


# ---------------------------------------------------------------------------------------------
# The PRNG reference vectors, bit for bit
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("x64", [False, True], ids=["x32", "x64"])
def test_random_reference_vectors_on_cpu(x64, tmp_path):
    """All 427 vectors in a fresh process on GPUXLA_PLATFORM=cpu (tests/cpu_vectors.py batches the
    compiles: one pass records the programs, one parallel build, one pass runs them)."""
    env = dict(os.environ, GPUXLA_PLATFORM="cpu",
               PYTHONPATH=str(ROOT) + os.pathsep + str(ROOT / "tests") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    p = subprocess.run([sys.executable, str(ROOT / "tests" / "cpu_vectors.py"), str(int(x64))], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-3000:]
    res = json.loads(p.stdout.strip().splitlines()[-1])
    assert res["platform"] == "cpu" and res["kernels_run"] > 100
    total = sum(t for cls in res["results"].values() for _, t, _ in cls.values())
    assert total > (300 if not x64 else 50)
    assert {c: {m: bad for m, (_, _, bad) in modes.items() if bad} for c, modes in res["results"].items()} == \
        {c: {} for c in res["results"]}


# ---------------------------------------------------------------------------------------------
# Platform selection and the fallback
# ---------------------------------------------------------------------------------------------
def test_platform_selection(monkeypatch):
    monkeypatch.setattr(backends, "_backend", None)
    monkeypatch.setenv("GPUXLA_PLATFORM", "cpu")
    assert backends.get_backend().platform == "cpu"
    monkeypatch.setattr(backends, "_backend", None)
    monkeypatch.delenv("GPUXLA_PLATFORM")
    monkeypatch.setattr(backends, "_gpu_usable", lambda: False)
    old = config.read("jax_platforms")
    try:
        config.update("jax_platforms", "cpu")
        assert backends.get_backend().platform == "cpu"
        monkeypatch.setattr(backends, "_backend", None)
        config.update("jax_platforms", "cuda,numpy")      # no GPU: the next one
        assert backends.get_backend().platform == "numpy"
        monkeypatch.setattr(backends, "_backend", None)
        with pytest.raises(ValueError, match="no platform 'tpu'"):    # refused when set
            config.update("jax_platforms", "tpu")
    finally:
        config.update("jax_platforms", old)
    monkeypatch.setattr(backends, "_backend", None)
    assert backends.default_platform() == "cpu"          # no GPU, a compiler that works
    monkeypatch.setattr(cpu, "available", lambda: False)
    assert backends.default_platform() == "numpy"


def _fresh_compiler_state(monkeypatch):
    for name in ("_memory", "_loaded", "_works", "_openmp"):
        monkeypatch.setattr(cpu_rt, name, {})


@pytest.mark.parametrize("cxx", ["/bin/false", "no-such-compiler-gpuxla"])
def test_falls_back_to_numpy_without_a_working_compiler(monkeypatch, cxx):
    _fresh_compiler_state(monkeypatch)
    monkeypatch.setenv("CXX", cxx)
    if cxx.startswith("no-such"):
        monkeypatch.setattr(cpu_rt, "host_compiler", lambda: None)
    monkeypatch.setenv("GPUXLA_DISK_CACHE", "0")
    be = cpu.CpuBackend()
    x = np.linspace(-2, 2, 30, dtype=np.float32)
    progs = [program_of(lambda v: jnp.exp(v) * 3 + 1, [x]), program_of(lambda v: jnp.sum(v * v), [x])]
    with pytest.warns(RuntimeWarning, match="cpu platform cannot compile kernels here.*NumPy"):
        exe = be.compile(progs[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")     # once: the next program falls back silently
        exe2 = be.compile(progs[1])
    assert not hasattr(exe, "runtime") and be.fallback is not None
    np.testing.assert_allclose(exe([x])[0], np.exp(x) * 3 + 1, rtol=1e-6)
    np.testing.assert_allclose(exe2([x])[0], np.sum(x * x), rtol=1e-6)
    assert not cpu.available()


def test_a_kernel_the_compiler_rejects_is_raised(monkeypatch):
    _fresh_compiler_state(monkeypatch)
    monkeypatch.setenv("GPUXLA_DISK_CACHE", "0")
    monkeypatch.setattr(cpu_rt, "module_source", lambda ks: "this is not C++;\n")
    with pytest.raises(cpu_rt.CpuCompileError, match="failed to compile the kernel module"):
        cpu.CpuBackend().compile(program_of(lambda v: v + 1, [np.ones(3, np.float32)]))


def test_x64_kernels():
    rng = np.random.default_rng(3)
    with dtypes.enable_x64(True):
        cases = [(lambda x: (jnp.exp(x) * 3, jnp.sum(x, 1), jnp.log1p(jnp.abs(x)), x.astype(jnp.float32)),
                  [rng.standard_normal((40, 700)) * 10]),
                 (lambda x: (x * 7 + 1, jnp.sum(x), x >> 3, jnp.max(x)), [rng.integers(-2 ** 40, 2 ** 40, (10000,))])]
        progs = [program_of(f, args) for f, args in cases]
        for p, exe, (_, args) in zip(progs, cpu.CpuBackend().compile_many(progs), cases):
            assert_same(exe(args), NumpyBackend().compile(p)(args), 1e-12, 1e-12, str(p.out_avals))


# ---------------------------------------------------------------------------------------------
# Kernel forms of the CPU dialect: column blocks, row values kept for a later pass
# ---------------------------------------------------------------------------------------------
def _col_cases():
    rng = np.random.default_rng(5)

    def col(shape):
        return (rng.standard_normal(shape) * 2).astype(np.float32)
    x = col((130, 67))            # 67 rows: one ragged block
    x[7, 5] = np.nan              # a NaN inside one column: max/argmax must carry it
    return [
        # sums, max, argmax over the batch axis, with a row-wise output and an epilogue fused in
        (lambda m: (jnp.sum(m * 2, 0), jnp.max(m, 0), jnp.argmax(m, 0), m * 2 + jnp.min(m, 0)), [x], True),
        # several passes per row: softmax over the first axis
        (lambda m: gpuxla.nn.softmax(m, axis=0), [col((33, 200))], True),
        (lambda m: jnp.sum(m, 1), [col((4, 9, 70))], True),        # the middle axis
        (lambda m: jnp.sum(m, 0), [col((0, 9))], True),     # rows of no value
        # the edges that are row-like: one row; rows of one value
        (lambda m: jnp.sum(m, 0), [col((5, 1))], False),
        (lambda m: (jnp.sum(m, 0), jnp.max(m, 0)), [col((1, 70))], False),
    ]


def test_column_reductions():
    """Reductions over a leading axis run COL_BLOCK rows at a time with r outside (the rows' values
    lie apart in memory): NumPy's values, the same bits for 1 and 2 threads."""
    for f, args, columns in _col_cases():
        prog = program_of(f, args)
        xs = inputs_for(prog, args)
        exe = cpu.CpuBackend().compile(prog)
        assert any("gx_o0" in k.source for k in exe.kernels) == columns, [k.source for k in exe.kernels]
        runs = []
        for t in (1, 2):
            exe.runtime.threads = t
            runs.append(exe(xs))
        for a, b in zip(*runs):
            assert a.tobytes() == b.tobytes(), prog.out_avals
        assert_same(runs[0], NumpyBackend().compile(prog)(xs), 2e-5, 2e-5, str(prog.out_avals))


@pytest.mark.parametrize("shape", [(131, 1100), (1030, 3), (9, 2050), (4, 1030)])
def test_column_sums_in_numpys_order(shape):
    """A column block takes COL_UNROLL values of the reduced axis per sweep (a ragged tail when
    it does not divide) and whole blocks of COL_BLOCK outputs per thread: each output still adds
    r = 0, 1, ... in order, which is what NumPy does for a sum over a leading axis, so the bits
    are NumPy's, for any thread count."""
    x = (np.random.default_rng(1).standard_normal(shape) * 3).astype(np.float32)
    prog = program_of(lambda m: jnp.sum(m, 0), [x])
    exe = cpu.CpuBackend().compile(prog)
    assert "gx_o0" in exe.kernels[0].source
    for t in (1, 2):
        exe.runtime.threads = t
        (got,) = exe([x])
        assert got.tobytes() == np.sum(x, 0).tobytes(), (shape, t)


@pytest.mark.parametrize("n", [2, 17, 1000])   # (a row of 1 is computed outside the passes)
def test_row_values_kept_for_a_later_pass(n, monkeypatch):
    """softmax's output pass reads exp(x - max) from a row buffer its sum pass filled instead of
    computing it again: the same bits as the recomputing form, NumPy's values."""
    x = (np.random.default_rng(n).standard_normal((37, n)) * 4).astype(np.float32)
    prog = program_of(lambda m: gpuxla.nn.softmax(m, axis=-1), [x])
    exe = cpu.CpuBackend().compile(prog)
    (src,) = [k.source for k in exe.kernels]
    assert "gx_row0[r] = " in src and "= gx_row0[r];" in src, src
    (got,) = exe([x])
    monkeypatch.setattr(render, "ROW_REUSE_BYTES", 0)
    again = cpu.CpuBackend().compile(prog)
    assert "gx_row0" not in again.kernels[0].source
    (want,) = again([x])
    assert got.tobytes() == want.tobytes()
    assert_same([got], NumpyBackend().compile(prog)([x]), 2e-6, 1e-7, "softmax")


def test_row_values_of_a_long_chain():
    """A chain of 40 steps that each read the last value twice, under a softmax: its values are
    keyed by hash-consing (spelled out, the text would double per step), and only the chain's
    last value (for the sum's pass) and its exp (for the output pass) are kept."""
    x = np.random.default_rng(7).standard_normal((5, 300)).astype(np.float32)

    def f(m):
        for _ in range(40):
            m = jnp.tanh(m) * 0.5 + m * 0.25
        return gpuxla.nn.softmax(m * 100, axis=-1)
    prog = program_of(f, [x])
    exe = cpu.CpuBackend().compile(prog)
    (src,) = [k.source for k in exe.kernels]
    assert "gx_row1[r] = " in src and "gx_row2" not in src, src
    assert_same(exe([x]), NumpyBackend().compile(prog)([x]), 1e-5, 1e-7, "softmax of a chain")


@pytest.mark.parametrize("user", [None, "ACTIVE"])
def test_openmp_wait_policy(user):
    """The first kernel module sets OMP_WAIT_POLICY=PASSIVE for libgomp (idle workers sleep
    instead of spinning against BLAS and the caller), unless the user chose a policy."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(GPUXLA_PLATFORM="cpu", GPUXLA_CPU_TIERED="0", PYTHONPATH=str(ROOT))
    if user:
        env["OMP_WAIT_POLICY"] = user
    code = ("import os, gpuxla, gpuxla.numpy as jnp\n"
            "before = os.environ.get('OMP_WAIT_POLICY')\n"
            "y = gpuxla.jit(lambda x: jnp.sin(x) * 2)(jnp.arange(4.0))\n"
            "print(before, os.environ.get('OMP_WAIT_POLICY'), float(y[1]))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, p.stderr[-2000:]
    before, after, y1 = p.stdout.split()
    assert (before, after) == ((str(user), user) if user else ("None", "PASSIVE"))
    assert float(y1) == pytest.approx(2 * np.sin(1.0), rel=1e-6)


def test_kernel_arguments_bound_once_a_frame():
    """A frame's kernel argument arrays hold the addresses of the buffers that stay (the arena,
    constants) from when it is made; inputs and fresh outputs are new on every call: each call
    reads its own inputs and writes outputs no later call overwrites."""
    rng = np.random.default_rng(7)
    x1, x2 = (rng.standard_normal((30, 20)).astype(np.float32) for _ in range(2))
    w = rng.standard_normal((20, 50)).astype(np.float32)
    f = lambda x, w: (jnp.tanh(x @ w) * 2, jnp.sum(jnp.exp(x), 0), jnp.maximum(x @ w, 0.5) - 1)  # noqa: E731
    exe = cpu.CpuBackend().compile(program_of(f, [x1, w]))
    assert len(exe.kernels) >= 2 and any(k.size for k in exe.kernels)
    want = [[np.tanh(x @ w) * 2, np.exp(x).sum(0), np.maximum(x @ w, 0.5) - 1] for x in (x1, x2)]
    out1 = exe([x1, w])
    out2 = exe([x2, w])
    out3 = exe([x1, w])
    for got, ref in ((out1, want[0]), (out2, want[1]), (out3, want[0])):
        assert_same(got, ref, 2e-5, 2e-5, "bound launches")
    assert not any(np.shares_memory(a, b) for a in out1 for b in out2)


def test_a_mask_times_a_value_vectorises(tmp_path):
    """bool -> float (a comparison converted, as in max's gradient) is a select in gx_common.cuh,
    not a cast: GCC's vectoriser finds no vector type for the cast of a one-byte bool, and a loop
    holding one stayed scalar whole (the MLP step's relu-gradient kernels, 5x slower)."""
    cxx = cpu_rt.host_compiler()
    version = subprocess.run([*cxx.split(), "--version"], capture_output=True, text=True).stdout
    if "Free Software Foundation" not in version:
        pytest.skip("the vectoriser's report is GCC's")
    x = np.linspace(-1, 1, 128 * 512, dtype=np.float32).reshape(128, 512)

    def relu_grad(x, g):       # and its sum over the batch, in one kernel (the MLP's bias gradient)
        d = g * (x > 0).astype(jnp.float32)
        return d, jnp.sum(d, 0)
    prog = program_of(relu_grad, [x, x * 3])
    kernels = cpu.CpuBackend().compile(prog).kernels
    src = tmp_path / "k.cc"
    src.write_text(render.module_source(kernels))
    r = subprocess.run([*cxx.split(), *cpu_rt.FLAGS, *cpu_rt.OPENMP, "-fopt-info-vec-all", f"-I{cpu_rt.kernels_dir()}",
                        "-c", str(src), "-o", str(tmp_path / "k.o")], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = src.read_text().splitlines()
    # the loop that converts the mask is reported vectorised (GCC names a line of its head)
    uses = [n + 1 for n, ln in enumerate(lines) if "gx_convert<float, bool>" in ln]
    loops = [(max(n for n in range(1, u) if lines[n - 1].lstrip().startswith("for (")), u) for u in uses]
    done = {int(m.split(":")[1]) for m in r.stderr.splitlines() if "optimized: loop vectorized" in m and "k.cc:" in m}
    assert loops and all(any(a <= d <= b for d in done) for a, b in loops), (loops, sorted(done), src.read_text())
