"""The cpu platform folds an update `x + c * dot` into the product's BLAS call (alpha c, beta 1):
backends/cpu/blas.py (cblas gemm of the OpenBLAS NumPy links) and Executable._dot_updates
(backends/cuda/plan.py).

* `blas.updater` against NumPy, for row-major, transposed and strided operands, and a shape that
  does not fit raises instead of writing out of bounds;
* an SGD step (784-512-512-10 MLP shaped, smaller) folds every weight update: the executable
  says so and launches fewer kernels, and the parameters match the unfolded executable (the same
  program with no BLAS entry), the NumPy backend and a float64 NumPy backward pass by hand, in
  float32 and float64, donated (the update written in place: the output is the donated buffer)
  and not;
* the patterns where folding would be wrong stay unfolded and right: a gradient also returned,
  a step size that is an argument, an array of step sizes, an x the kernel computes itself.
"""
import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import backends
from gpuxla.backends import cpu
from gpuxla.backends.cpu import blas
from gpuxla.backends.cuda import plan
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.core import dtypes

from codegen_util import _session_cache, needs_cxx  # noqa: F401
from test_interpret_optable import program_of

pytestmark = [needs_cxx, pytest.mark.skipif(not blas.available(np.float32) or not blas.available(np.float64),
                                            reason="no cblas gemm in the BLAS NumPy loaded")]
LR = 0.01
SIZES = (24, 16, 16, 5)
TOL = {np.float32: (2e-6, 2e-7), np.float64: (1e-13, 1e-15)}     # (the op table's matmul tolerances)


@pytest.fixture
def on_cpu(monkeypatch):
    monkeypatch.setenv("GPUXLA_CPU_TIERED", "0")
    monkeypatch.setattr(plan, "UPDATE_MIN_ELEMENTS", 0)     # (small shapes: folded as large ones are)
    monkeypatch.setattr(backends, "_eager_cache", {})
    monkeypatch.setattr(backends, "_backend", cpu.CpuBackend())
    yield backends._backend


@pytest.mark.parametrize("dt", [np.float32, np.float64])
def test_updater_against_numpy(dt):
    rng = np.random.default_rng(0)
    update = blas.updater(dt)
    a, b = rng.standard_normal((7, 5)).astype(dt), rng.standard_normal((6, 7)).astype(dt)
    cases = [(a.T, b.T), (np.asfortranarray(a.T), b.T.copy()), (a[::2].T, b[:, ::2].T.copy()),
             (a.T.copy(), np.ones((7, 1), dt) @ np.ones((1, 6), dt))]
    for x, y in cases:
        c0 = rng.standard_normal((x.shape[0], y.shape[1])).astype(dt)
        c = c0.copy()
        update(-0.25, x, y, c)
        np.testing.assert_allclose(c, c0 - 0.25 * (x.astype(np.float64) @ y), rtol=TOL[dt][0] * 10, atol=1e-6)
    with pytest.raises(ValueError, match="do not fit"):
        update(1.0, a.T, b, np.zeros((5, 6), dt))
    with pytest.raises(ValueError, match="do not fit"):
        update(1.0, a.T, b.T, np.zeros((6, 5), dt).T)


def _init(dt, seed=0):
    rng = np.random.default_rng(seed)
    params = [((rng.standard_normal((m, n)) * np.sqrt(2 / m)).astype(dt), (rng.standard_normal(n) * 0.1).astype(dt))
              for m, n in zip(SIZES[:-1], SIZES[1:])]
    x = rng.standard_normal((8, SIZES[0])).astype(dt)
    y = np.eye(SIZES[-1], dtype=dt)[rng.integers(0, SIZES[-1], 8)]
    return params, x, y


def _loss(params, x, y):
    h = x
    for i, (w, b) in enumerate(params):
        h = jnp.dot(h, w) + b
        if i < len(params) - 1:
            h = jnp.maximum(h, 0.0)
    return -jnp.mean(jnp.sum(y * gpuxla.nn.log_softmax(h), axis=-1))


def _step(params, x, y):
    grads = gpuxla.grad(_loss)(params, x, y)
    return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]


def _by_hand(params, x, y):
    """The same step in float64 NumPy."""
    params = [(w.astype(np.float64), b.astype(np.float64)) for w, b in params]
    acts, hs, h = [x.astype(np.float64)], [], x.astype(np.float64)
    for i, (w, b) in enumerate(params):
        h = acts[-1] @ w + b
        hs.append(h)
        if i < len(params) - 1:
            acts.append(np.maximum(h, 0))
    e = np.exp(h - h.max(-1, keepdims=True))
    d = (e / e.sum(-1, keepdims=True) - y) / x.shape[0]
    new = [None] * len(params)
    for i in reversed(range(len(params))):
        w, b = params[i]
        gw, gb = acts[i].T @ d, d.sum(0)
        if i:
            d = (d @ w.T) * (hs[i - 1] > 0)
        new[i] = (w - LR * gw, b - LR * gb)
    return new


def _leaves(tree):
    return [np.asarray(v) for v in gpuxla.tree_util.tree_leaves(tree)]


def _unfolded(monkeypatch, fn, *args):
    """fn's results with no gemm entry: the product and the update kernel run as before."""
    with monkeypatch.context() as m:
        m.setattr(blas, "_fns", {})
        f = gpuxla.jit(fn)
        exe = f.lower(*args).compile()
        assert not exe.dot_updates
        return _leaves(f(*args))


@pytest.mark.parametrize("dt", [np.float32, np.float64])
@pytest.mark.parametrize("donate", [False, True])
def test_sgd_step_folds_every_weight_update(on_cpu, monkeypatch, dt, donate):
    with dtypes.enable_x64(dt == np.float64):
        params, x, y = _init(dt)
        want = _leaves(_by_hand(params, x, y))
        unfolded = _unfolded(monkeypatch, _step, params, x, y)
        ref = NumpyBackend().compile(program_of(_step, [params, x, y]))
        on_numpy = ref([a for a in _leaves((params, x, y))])
        f = gpuxla.jit(_step, donate_argnums=0 if donate else ())
        exe = f.lower(params, x, y).compile()
        ups = sorted(exe.dot_updates.values(), key=lambda u: u.out)
        assert len(ups) == len(params) and all(u.alpha == pytest.approx(-LR) for u in ups)
        dev = [tuple(jnp.asarray(v) for v in p) for p in params]
        ptrs = [w._buf.ctypes.data for w, _ in dev]
        got = f(dev, jnp.asarray(x), jnp.asarray(y))
        out = _leaves(got)
        launched = {n for frames in exe._exe._free.values() for fr in frames for n in fr.op_steps}
        assert launched and not launched & {u.kernel_step for u in ups}      # (the update kernels)
        if donate:      # written in place: the new weights are the donated buffers
            assert [w._buf.ctypes.data for w, _ in got] == ptrs
        rtol, atol = TOL[dt]
        for o, u, r, w in zip(out, unfolded, on_numpy, want):
            assert o.dtype == dt
            np.testing.assert_allclose(o, u, rtol=rtol, atol=atol)
            np.testing.assert_allclose(o, r, rtol=rtol, atol=atol)
            np.testing.assert_allclose(o, w, rtol=rtol * 10, atol=atol * 10)


def _cases():
    rng = np.random.default_rng(1)
    a, d = rng.standard_normal((6, 9)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    w = rng.standard_normal((9, 4)).astype(np.float32)
    lrs = rng.uniform(0.1, 1, (9, 4)).astype(np.float32)
    return {
        # folded: alpha from the signs and constants
        "sgd": (lambda w, a, d: w - 0.5 * (a.T @ d), (w, a, d), -0.5),
        "plus": (lambda w, a, d: (a.T @ d) * 3.0 + w, (w, a, d), 3.0),
        "neg": (lambda w, a, d: w + -(a.T @ d), (w, a, d), -1.0),
        # not folded: the gradient is also returned / read again; the step size is an argument or
        # an array; x is computed by the update kernel itself
        "returned": (lambda w, a, d: (w - 0.5 * (g := a.T @ d), g), (w, a, d), None),
        "reread": (lambda w, a, d: (w - 0.5 * (g := a.T @ d), jnp.sum(g * g)), (w, a, d), None),
        "traced_lr": (lambda w, a, d, lr: w - lr * (a.T @ d), (w, a, d, np.float32(0.3)), None),
        "array_lr": (lambda w, a, d: w - lrs * (a.T @ d), (w, a, d), None),
        "computed_x": (lambda w, a, d: w * 0.5 - (a.T @ d), (w, a, d), None),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_folded_only_where_it_is_the_same_value(on_cpu, monkeypatch, name):
    fn, args, alpha = _cases()[name]
    exe = gpuxla.jit(fn).lower(*args).compile()
    ups = list(exe.dot_updates.values())
    if alpha is None:
        assert not ups
    else:
        assert len(ups) == 1 and ups[0].alpha == pytest.approx(alpha)
    want = NumpyBackend().compile(program_of(fn, list(args)))(list(args))
    for o, u, r in zip(_leaves(gpuxla.jit(fn)(*args)), _unfolded(monkeypatch, fn, *args), want):
        np.testing.assert_allclose(o, u, rtol=2e-6, atol=1e-6)
        np.testing.assert_allclose(o, r, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("donated", [0, 1])
def test_update_written_into_a_donated_buffer(on_cpu, donated):
    """Into x itself (donated x: no copy), or into another donated buffer (x copied there first)."""
    rng = np.random.default_rng(2)
    w, v = rng.standard_normal((2, 9, 4)).astype(np.float32)
    a, d = rng.standard_normal((6, 9)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)
    # (v read once, before the product: its buffer is free when the update is written)
    f = gpuxla.jit(lambda w, v, a, d: w - 0.5 * (a.T @ (d + v[:6])), donate_argnums=donated)
    (u,) = f.lower(w, v, a, d).compile().dot_updates.values()
    args = [jnp.asarray(t) for t in (w, v, a, d)]
    ptr = args[donated]._buf.ctypes.data
    out = f(*args)
    assert out._buf.ctypes.data == ptr
    np.testing.assert_allclose(np.asarray(out), w - 0.5 * (a.T.astype(np.float64) @ (d + v[:6])), rtol=2e-6, atol=1e-6)


def test_small_updates_stay_kernels(on_cpu, monkeypatch):
    monkeypatch.setattr(plan, "UPDATE_MIN_ELEMENTS", 9 * 4 + 1)
    fn, args, _ = _cases()["sgd"]
    assert not gpuxla.jit(fn).lower(*args).compile().dot_updates
