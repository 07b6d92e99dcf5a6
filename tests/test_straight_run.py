"""A frame's run as one straight-line function (backends/cuda/plan.py `_straight_run`): on the
lean path (cpu and cuda-interpret) the generated steps' lines are copied into one function whose
slots are local variables, their globals renamed apart (`_inlined`). These check the renaming, that
programs with constants, arena intermediates, library products, passed-through inputs and constant
outputs give NumPy's values through it over several calls with new inputs, and that a frame with a
step that is not generated (a library call such as sort) keeps the run over `env`."""
import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends
from gpuxla.backends import cpu
from gpuxla.backends.cuda import InterpretBackend
from gpuxla.backends.cuda import plan as P

from codegen_util import needs_cxx

RNG = np.random.default_rng(11)
C = RNG.standard_normal((8, 5)).astype(np.float32)      # a constant the programs close over


def test_inlined_renames_globals_only():
    # `shape` and `out` are globals of the step, but also an attribute and a keyword argument
    # in its lines: only the reads of the globals are renamed.
    g = {"shape": (2, 3), "out": None, "mm": np.matmul, "__builtins__": {}}
    lines = ("env[2] = o = mm(env[0], env[1].reshape(shape), out=out)", "env[3] = o.shape")
    ns = {}
    got = P._inlined(lines, g, "s4_", ns)
    assert got == ["env[2] = o = s4_mm(env[0], env[1].reshape(s4_shape), out=s4_out)",
                   "env[3] = o.shape"]
    assert ns == {"s4_shape": (2, 3), "s4_out": None, "s4_mm": np.matmul}
    env = [np.ones((4, 2)), np.arange(6.0), None, None]
    exec("\n".join(got), dict(ns), {"env": env})
    np.testing.assert_array_equal(env[2], np.ones((4, 2)) @ np.arange(6.0).reshape(2, 3))
    assert env[3] == (4, 3)


def _program(x, y):
    h = jnp.tanh(x @ jnp.asarray(C)) + y               # a product, a kernel, a constant
    z = jnp.exp(h - jnp.max(h, axis=1, keepdims=True))  # intermediates in the arena
    return z / jnp.sum(z, axis=1, keepdims=True), x, jnp.asarray(C) * 2.0


def _reference(x, y):
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    h = np.tanh(x64 @ C.astype(np.float64)) + y64
    z = np.exp(h - h.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True), x64, C.astype(np.float64) * 2.0


def _no_product(x, y):
    h = jnp.tanh(x[:, :5] * jnp.asarray(C[:1])) + y
    z = jnp.exp(h - jnp.max(h, axis=1, keepdims=True))
    return z / jnp.sum(z, axis=1, keepdims=True), x, jnp.asarray(C) * 2.0


def _no_product_reference(x, y):
    x64, y64 = x.astype(np.float64), y.astype(np.float64)
    h = np.tanh(x64[:, :5] * C[:1].astype(np.float64)) + y64
    z = np.exp(h - h.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True), x64, C.astype(np.float64) * 2.0


def _sorted(x, y):
    return jnp.sort(jnp.sin(x), axis=1) + y[:, :1].sum()


PLATFORMS = [pytest.param(lambda: cpu.CpuBackend(), id="cpu"), pytest.param(InterpretBackend, id="cuda-interpret")]


@pytest.fixture(params=PLATFORMS)
def platform(request, monkeypatch):
    monkeypatch.setenv("GPUXLA_CPU_TIERED", "0")
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", request.param())


def _frame_of(f):
    exe = f._fast.entry.fn
    assert exe._lean
    (frame,) = exe._free[None]
    return frame


def _assert_straight(f):
    """The frame runs straight: slots are locals -- on the cpu platform always (its products are
    generated steps too), on cuda-interpret where no step is a library call."""
    frame = _frame_of(f)
    names = frame.run.__code__.co_varnames
    if isinstance(backends._backend, cpu.CpuBackend):
        assert all(hasattr(op, "gx_lines") for op in frame.ops)
    if all(hasattr(op, "gx_lines") for op in frame.ops):
        assert "env" not in names
        assert any(v.startswith("e") and v[1:].isdigit() for v in names)
    else:
        assert "env" in names


@needs_cxx
@pytest.mark.parametrize("fun, reference", [(_program, _reference), (_no_product, _no_product_reference)],
                         ids=["product", "no-product"])
def test_straight_run_matches_numpy(platform, fun, reference):
    f = gpuxla.jit(fun)
    for k in range(3):          # (new inputs each call: nothing of an earlier call stays)
        x = RNG.standard_normal((6, 8)).astype(np.float32)
        y = RNG.standard_normal((6, 5)).astype(np.float32)
        outs = f(gpuxla.device_put(x), gpuxla.device_put(y))
        for got, want in zip(outs, reference(x, y)):
            np.testing.assert_allclose(np.asarray(got), want, rtol=2e-5, atol=2e-6)
        assert outs[1] is not outs[0]
    _assert_straight(f)
    # each call's outputs are its own: the last call did not write into the first's
    x = RNG.standard_normal((6, 8)).astype(np.float32)
    y = RNG.standard_normal((6, 5)).astype(np.float32)
    first = f(gpuxla.device_put(x), gpuxla.device_put(y))
    kept = [np.array(o) for o in first]
    f(gpuxla.device_put(x + 1), gpuxla.device_put(y - 1))
    for o, k in zip(first, kept):
        np.testing.assert_array_equal(np.asarray(o), k)


@needs_cxx
def test_a_step_that_is_not_generated_keeps_the_env_run(platform):
    f = gpuxla.jit(_sorted)
    for _ in range(2):
        x = RNG.standard_normal((4, 7)).astype(np.float32)
        y = RNG.standard_normal((4, 3)).astype(np.float32)
        got = f(gpuxla.device_put(x), gpuxla.device_put(y))
        want = np.sort(np.sin(x.astype(np.float64)), axis=1) + y[:, :1].astype(np.float64).sum()
        np.testing.assert_allclose(np.asarray(got), want, rtol=2e-6, atol=2e-6)
    assert "env" in _frame_of(f).run.__code__.co_varnames
