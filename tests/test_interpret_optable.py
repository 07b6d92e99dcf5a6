"""The generated CUDA C, run on the cuda-interpret platform, agrees with the NumPy backend.

Every op of the shared op table (forward, the gradient program of every differentiable op, and
the vmap program of every op)
is traced to a Program, fused, rendered to CUDA C and run through the host C++ compiler; the same
Program runs on the NumPy backend, the reference semantics. All programs are compiled as ONE host
module, so the whole table costs one compiler run. Hypothesis then draws shapes (odd sizes, 0, 1,
non-power-of-two rows, rows long enough for several blocks) for elementwise and reduction kernels.

    GPUXLA_PLATFORM=cuda-interpret pytest tests/test_interpret_optable.py
"""
import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends, lax
from gpuxla.backends.cuda import InterpretBackend, interpret
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.core import dtypes
from gpuxla.core.trace import trace_values
from gpuxla.core.program import Program
from gpuxla.tree_util import tree_leaves

from op_table import OPS, make_args, tolerance

# (_session_cache points the kernel caches at a temporary folder)
from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

pytestmark = needs_cxx
BF16 = np.dtype(dtypes.bfloat16)


def program_of(f, args):
    t = trace_values(f, args, what="a test")
    return Program.from_graph(t.leaves, t.outs)


def inputs_for(prog, args):
    return [np.asarray(a).astype(av.dtype) for a, av in zip(args, prog.in_avals)]


def assert_same(out, ref, rtol, atol, what, op=None):
    assert len(out) == len(ref), what
    for o, r in zip(out, ref):
        o, r = np.asarray(o), np.asarray(r)
        assert o.shape == r.shape and o.dtype == r.dtype, f"{what}: {o.dtype}{o.shape} vs {r.dtype}{r.shape}"
        if op is not None:  # the tolerance of the result's dtype (float64 runs as float32 without x64)
            rtol, atol = (max(t, u) for t, u in zip(tolerance(op, r.dtype), (rtol, atol)))
        if r.dtype.kind == "f" or r.dtype == BF16:
            np.testing.assert_allclose(o.astype(np.float64), r.astype(np.float64), rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(o, r, err_msg=what)


# ---------------------------------------------------------------------------------------------
# The op table
# ---------------------------------------------------------------------------------------------
def _cases():
    for op in OPS:
        if op.x64 and not dtypes.x64_enabled():
            continue
        for dt in dict.fromkeys(op.dtypes):
            yield pytest.param(op, dt, "fwd", id=f"{op.name}-{dt.name}")
            if op.grad and dt == np.float32:
                yield pytest.param(op, dt, "grad", id=f"{op.name}-{dt.name}-grad")
        if hasattr(gpuxla, "vmap") and not op.static:
            dt = op.dtypes[0]
            yield pytest.param(op, dt, "vmap", id=f"{op.name}-{dt.name}-vmap")


def _build(op, dt, kind):
    args = make_args(op, dt, np.random.default_rng(7))
    dyn = [i for i in range(len(args)) if i not in op.static]

    def f(*vals):
        full = list(args)
        for i, v in zip(dyn, vals):
            full[i] = v
        return op.fn(jnp, *full)
    dyn_args = [args[i] for i in dyn]
    if kind == "vmap":
        # Three examples per argument, batched along axis 0 of every argument.
        more = [make_args(op, dt, np.random.default_rng(k)) for k in (8, 9)]
        batched = [np.stack([np.asarray(a), np.asarray(m1), np.asarray(m2)]) for a, m1, m2 in zip(args, *more)]
        return program_of(gpuxla.vmap(f), batched), batched
    if kind == "grad":
        floats = [k for k, i in enumerate(dyn) if np.asarray(args[i]).dtype.kind == "f"]
        outs = tree_leaves(op.fn(np, *args))
        if not floats or not all(np.asarray(o).dtype.kind == "f" for o in outs):
            return None
        w = [np.random.default_rng(k).standard_normal(np.shape(o)).astype(np.float32) for k, o in enumerate(outs)]

        def loss(*vals):
            return sum(jnp.sum(o.astype(jnp.float32) * wk) for o, wk in zip(tree_leaves(f(*vals)), w))
        fn = gpuxla.grad(loss, argnums=tuple(floats))
    else:
        fn = f
    return program_of(fn, dyn_args), dyn_args


_compiled = {}


def compile_table(backend):
    """Every traceable op-table program, compiled together by `backend.compile_many`:
    {"built": id -> (program, args), "exes": id -> executable, "failed": id -> trace error}."""
    built, failed = {}, {}
    for p in _cases():
        op, dt, kind = p.values
        try:
            b = _build(op, dt, kind)
        except Exception as e:  # noqa: BLE001 - untraceable ops run eagerly instead
            failed[p.id] = e
            continue
        if b is not None:
            built[p.id] = b
    exes = backend.compile_many([prog for prog, _ in built.values()])
    return {"built": built, "exes": dict(zip(built, exes)), "failed": failed}


@pytest.fixture(scope="module")
def table():
    """Every traceable op-table program, compiled together on the interpret platform."""
    if not _compiled:
        _compiled.update(compile_table(InterpretBackend()))
    return _compiled


@pytest.mark.parametrize("op,dt,kind", list(_cases()))
def test_op_table(table, op, dt, kind, request, monkeypatch):
    cid = request.node.callspec.id
    rtol, atol = 0, 0
    if cid in table["built"]:
        prog, args = table["built"][cid]
        exe = table["exes"][cid]
        xs = inputs_for(prog, args)
        ref = NumpyBackend().compile(prog)(xs)
        out = exe(xs)
        if kind != "fwd":
            rtol, atol = max(rtol, 1e-4), max(atol, 1e-5)
        assert_same(out, ref, rtol, atol, cid, op)
        return
    if kind in ("grad", "vmap"):
        if cid in table["failed"]:
            pytest.skip(f"{kind} program does not trace: {table['failed'][cid]!r:.200}")
        pytest.skip("no float argument or result to differentiate")
    # Not traceable (its output shape depends on values): run it eagerly on the interpret platform.
    args = make_args(op, dt, np.random.default_rng(7))
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", InterpretBackend())
    out = [np.asarray(o) for o in tree_leaves(op.fn(jnp, *[a if i in op.static else jnp.asarray(a)
                                                             for i, a in enumerate(args)]))]
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", NumpyBackend())
    ref = [np.asarray(o) for o in tree_leaves(op.fn(jnp, *[a if i in op.static else jnp.asarray(a)
                                                             for i, a in enumerate(args)]))]
    assert_same(out, ref, rtol, atol, cid, op)


def test_table_is_mostly_traced(table):
    # Eager fallbacks are for value-dependent shapes only; a broken tracer would hide here.
    assert len(table["built"]) > 0.8 * (len(table["built"]) + len(table["failed"]))


# ---------------------------------------------------------------------------------------------
# Random shapes
# ---------------------------------------------------------------------------------------------
hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

_DIMS = st.sampled_from([0, 1, 2, 3, 5, 7, 31, 33, 100, 129])
_SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def _run_both(f, args):
    prog = program_of(f, args)
    xs = inputs_for(prog, args)
    return InterpretBackend().compile(prog)(xs), NumpyBackend().compile(prog)(xs)


@_SETTINGS
@given(shape=st.lists(_DIMS, min_size=0, max_size=3), bdim=st.integers(0, 3),
       dt=st.sampled_from([np.float32, np.float16, BF16, np.int32, np.uint8]))
def test_random_elementwise_broadcast(shape, bdim, dt):
    shape = tuple(shape)
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 3).astype(dt)
    row = (rng.standard_normal(shape[bdim % len(shape):][:1] if shape else ()) * 3).astype(dt)

    def f(x, row):
        r = row.reshape(row.shape + (1,) * (x.ndim - (bdim % max(x.ndim, 1)) - 1)) if x.ndim else row
        y = jnp.maximum(x, r) * 2 - jnp.abs(x)
        if dtypes.is_float(x.dtype):
            y = y + jnp.tanh(x.astype(jnp.float32)).astype(x.dtype)
        return y, jnp.where(x > r, x, r)
    out, ref = _run_both(f, [x, row])
    assert_same(out, ref, 2e-2, 2e-2, f"{shape} {np.dtype(dt).name}")


@_SETTINGS
@given(shape=st.lists(_DIMS, min_size=1, max_size=3), data=st.data(),
       kind=st.sampled_from(["sum", "max", "min", "argmax", "mean", "softmax"]),
       dt=st.sampled_from([np.float32, np.float16, np.int32]))
def test_random_reductions(shape, data, kind, dt):
    shape = tuple(shape)
    axes = tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
    if kind in ("argmax", "softmax"):
        axes = axes[:1]
    if kind in ("max", "min", "argmax", "softmax") and any(shape[a] == 0 for a in axes):
        return  # no identity / undefined on an empty axis
    if kind in ("mean", "softmax") and dt == np.int32:
        dt = np.float32
    x = (np.random.default_rng(sum(shape)).standard_normal(shape) * 4).astype(dt)

    def f(x):
        if kind == "argmax":
            return jnp.argmax(x, axis=axes[0])
        if kind == "softmax":
            m = jnp.max(x, axis=axes, keepdims=True)
            e = jnp.exp(x - m)
            return e / jnp.sum(e, axis=axes, keepdims=True)
        return getattr(jnp, kind)(x, axis=axes)
    out, ref = _run_both(f, [x])
    n = max(1, int(np.prod([shape[a] for a in axes])))
    tol = {np.float32: 2e-6 * n ** 0.5 + 1e-5, np.float16: 2e-2, np.int32: 0}[dt]
    assert_same(out, ref, tol, tol, f"{kind} {shape} axes={axes} {np.dtype(dt).name}")


@pytest.mark.parametrize("shape,axes", [((3, 5000), (1,)), ((50000,), (0,)), ((40000, 3), (0,)),
                                        ((2, 3000, 3), (1,)), ((700, 40), (0, 1))])
def test_long_rows_use_several_blocks(shape, axes):
    """Rows longer than a block (block strategy) and single rows split across blocks."""
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)

    def f(x):
        return jnp.sum(x, axis=axes), jnp.max(x, axis=axes), jnp.argmin(x.reshape(-1), axis=0)
    prog = program_of(f, [x])
    exe = InterpretBackend().compile(prog)
    assert {k.strategy for k in exe.kernels} & {"block", "split"}
    ref = NumpyBackend().compile(prog)([x])
    out = exe([x])
    assert_same(out, ref, 1e-4, 1e-4, str(shape))
    # Deterministic: the same bits on every run.
    assert all(np.array_equal(a, b) for a, b in zip(out, exe([x])))


def test_eager_mode_on_the_interpret_platform(monkeypatch):
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", InterpretBackend())
    x = jnp.asarray(np.linspace(-2, 2, 40, dtype=np.float32).reshape(5, 8))
    y = jnp.exp(x) / jnp.sum(jnp.exp(x), axis=1, keepdims=True)
    v = np.exp(np.linspace(-2, 2, 40, dtype=np.float32).reshape(5, 8))
    np.testing.assert_allclose(np.asarray(y), v / v.sum(1, keepdims=True), rtol=1e-6)
    assert repr(jax_device()) == "CpuDevice(id=0)"


def jax_device():
    return gpuxla.devices()[0]


def test_interpret_unavailable_is_explained(monkeypatch):
    monkeypatch.setattr(interpret, "host_compiler", lambda: None)
    monkeypatch.setattr(interpret, "_memory", {})
    prog = program_of(lambda x: lax.exp(x) + 1, [np.ones(3, np.float32)])
    with pytest.raises(interpret.InterpretUnavailable, match="host C\\+\\+ compiler"):
        InterpretBackend().compile(prog)


def test_64_bit_types_under_x64():
    rng = np.random.default_rng(3)
    cases = [
        (lambda x: (jnp.exp(x) * 3, jnp.sum(x, 1), jnp.argmax(x, 0), x.astype(jnp.float16), x.astype(jnp.int64) // 3),
         [rng.standard_normal((40, 70)) * 10]),
        (lambda x: (x * 7 + 1, jnp.sum(x), x.astype(jnp.float64) / 3, x >> 3, jnp.max(x)),
         [rng.integers(-2 ** 40, 2 ** 40, (100,))]),
        (lambda x: (x.astype(jnp.bfloat16), jnp.nextafter(x, jnp.float64(1)), jnp.sum(x * x)), [rng.standard_normal(30000)]),
        (lambda x: jnp.sum(x * np.uint64(3), dtype=jnp.uint64), [rng.integers(0, 2 ** 62, (1000,), dtype=np.uint64)]),
    ]
    with dtypes.enable_x64(True):
        progs = [program_of(f, args) for f, args in cases]
        assert {a.dtype.name for p in progs for a in p.in_avals} == {"float64", "int64", "uint64"}
        exes = InterpretBackend().compile_many(progs)
        for p, exe, (_, args) in zip(progs, exes, cases):
            assert_same(exe(args), NumpyBackend().compile(p)(args), 1e-12, 1e-12, str(p.out_avals))
