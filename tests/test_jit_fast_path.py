"""jit's fast path (transforms/jit.py `_Fast`): a cached call with the last signature's structure
and avals skips flattening and the cache key. Every change that must leave it (another structure,
dtype, shape or weak type, a pending argument, an option updated, clear_cache, an outer
transformation) must give the general path's result, retrace where the key changed, and raise its
errors; results of every structure are compared with NumPy."""
import collections

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config

RNG = np.random.default_rng(0)
Pair = collections.namedtuple("Pair", "a b")


@jax.tree_util.register_pytree_node_class
class Box:
    def __init__(self, v, tag):
        self.v, self.tag = v, tag

    def tree_flatten(self):
        return (self.v,), self.tag

    @classmethod
    def tree_unflatten(cls, tag, children):
        return cls(children[0], tag)


def counted(fun):
    calls = []

    def wrapped(*args):
        calls.append(1)
        return fun(*args)
    return jax.jit(wrapped), calls


def test_same_signature_traces_once_and_changes_retrace():
    f, traces = counted(lambda d, s: {"y": d["x"] * s, "z": (d["x"].sum(), None)})
    xv = RNG.standard_normal(5).astype(np.float32)
    for _ in range(3):
        out = f({"x": jnp.asarray(xv)}, 2.0)
        np.testing.assert_allclose(np.asarray(out["y"]), xv * 2, rtol=1e-6)
        np.testing.assert_allclose(float(out["z"][0]), xv.sum(), rtol=1e-5)
        assert out["z"][1] is None and sorted(out) == ["y", "z"]
    assert len(traces) == 1
    # another dtype, shape, weak type, structure: the general path, traced anew, right values
    out = f({"x": jnp.asarray(xv.astype(np.int32))}, 2.0)
    assert out["y"].dtype == np.float32 and len(traces) == 2
    f({"x": jnp.asarray(xv[:3])}, 2.0)
    assert len(traces) == 3
    out = f({"x": jnp.asarray(xv)}, jnp.float32(3.0))        # a strong float32 scalar, not a weak one
    np.testing.assert_allclose(np.asarray(out["y"]), xv * 3, rtol=1e-6)
    assert len(traces) == 4
    with pytest.raises(KeyError):
        f({"w": jnp.asarray(xv)}, 2.0)
    out = f({"x": jnp.asarray(xv), "extra": jnp.zeros(2)}, 2.0)
    np.testing.assert_allclose(np.asarray(out["y"]), xv * 2, rtol=1e-6)
    with pytest.raises(TypeError, match="non-array argument"):
        f({"x": jnp.asarray(xv)}, "2.0")
    for _ in range(2):
        f({"x": jnp.asarray(xv)}, 2.0)
    assert len(traces) == 6


def test_structures_round_trip():
    def fun(t):
        p, box, lst = t
        return [Pair(p.a + 1, p.b * 2), Box(box.v - 1, box.tag), (lst[0] + lst[1],)]
    f = jax.jit(fun)
    a, b, c = (RNG.standard_normal(4).astype(np.float32) for _ in range(3))
    for _ in range(3):
        out = f((Pair(jnp.asarray(a), jnp.asarray(b)), Box(jnp.asarray(c), "t"), [jnp.asarray(a), jnp.asarray(b)]))
        assert isinstance(out, list) and isinstance(out[0], Pair) and isinstance(out[1], Box)
        assert out[1].tag == "t" and isinstance(out[2], tuple)
        np.testing.assert_allclose(np.asarray(out[0].a), a + 1, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(out[0].b), b * 2, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(out[1].v), c - 1, rtol=1e-6)
        np.testing.assert_allclose(np.asarray(out[2][0]), a + b, rtol=1e-6)
    # another aux value of the custom node: traced anew, and it comes back
    out = f((Pair(jnp.asarray(a), jnp.asarray(b)), Box(jnp.asarray(c), "u"), [jnp.asarray(a), jnp.asarray(b)]))
    assert out[1].tag == "u"


def test_pending_arguments_options_and_clear_cache():
    f, traces = counted(lambda x: jnp.log(x))
    xv = np.abs(RNG.standard_normal(6).astype(np.float32)) + 0.5
    x = jnp.asarray(xv)
    f(x)
    f(x)
    np.testing.assert_allclose(np.asarray(f(x * 2)), np.log(xv * 2), rtol=1e-6)    # a pending argument
    assert len(traces) == 1
    config.update("jax_debug_nans", True)
    try:
        with pytest.raises(FloatingPointError):
            f(jnp.asarray(-xv))
    finally:
        config.update("jax_debug_nans", False)
    assert np.isnan(np.asarray(f(jnp.asarray(-xv)))).all()
    assert len(traces) == 3       # (a trace with the option on, and the de-optimized call it made)
    f.clear_cache()
    f(x)
    assert len(traces) == 4


def test_under_transformations_the_general_path_runs():
    f = jax.jit(lambda x, y: jnp.sin(x) * y)
    xv, yv = RNG.standard_normal(4).astype(np.float32), RNG.standard_normal(4).astype(np.float32)
    x, y = jnp.asarray(xv), jnp.asarray(yv)
    f(x, y)
    f(x, y)
    g = jax.grad(lambda x: jnp.sum(f(x, y)))(x)
    np.testing.assert_allclose(np.asarray(g), np.cos(xv) * yv, rtol=1e-5)
    v = jax.vmap(f, in_axes=(0, None))(jnp.stack([x, x]), y)
    np.testing.assert_allclose(np.asarray(v), np.stack([np.sin(xv) * yv] * 2), rtol=1e-6)
    with jax.default_matmul_precision("tensorfloat32"):
        np.testing.assert_allclose(np.asarray(f(x, y)), np.sin(xv) * yv, rtol=1e-6)


def test_static_arguments():
    traces = []

    def fun(x, n, scale):
        traces.append((n, scale))
        return x ** n * scale

    f = jax.jit(fun, static_argnums=(1,), static_argnames="scale")
    xv = RNG.standard_normal(5).astype(np.float32)
    x = jnp.asarray(xv)
    for n, scale in [(2, 1.5), (2, 1.5), (3, 1.5), (2, 1.5), (2, 2.5), (3, 1.5), (2.0, 1.5)]:
        np.testing.assert_allclose(np.asarray(f(x, n, scale)), xv ** n * scale, rtol=1e-5)
    assert traces == [(2, 1.5), (3, 1.5), (2, 2.5)]       # (2.0 == 2: the same cache entry, as in JAX)
    np.testing.assert_allclose(np.asarray(f(x, 2, scale=1.5)), xv ** 2 * 1.5, rtol=1e-5)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        f(x, [2], 1.5)
    g = jax.jit(lambda a, k: a * k, static_argnums=-1)
    for k in (2, 2, 3):
        np.testing.assert_allclose(np.asarray(g(x, k)), xv * k, rtol=1e-6)


def test_numpy_arguments_first_do_not_keep_arrays_off_the_fast_path():
    f, calls = counted(lambda a, b: a * b + 1.0)
    a, b = RNG.standard_normal(5).astype(np.float32), RNG.standard_normal(5).astype(np.float32)
    np.testing.assert_allclose(np.asarray(f(a, b)), a * b + 1.0, rtol=1e-6)
    assert f._fast is None                      # (NumPy arguments: the general path each call)
    x, y = jnp.asarray(a), jnp.asarray(b)
    np.testing.assert_allclose(np.asarray(f(x, y)), a * b + 1.0, rtol=1e-6)
    assert f._fast is not None and calls == [1]
    np.testing.assert_allclose(np.asarray(f._fast.call((y, x))), b * a + 1.0, rtol=1e-6)
    old = f._fast
    f.clear_cache()
    assert f._fast is None and not old.alive   # (another jit object of the function may hold it)
