"""jit: tracing once per signature, the cache, static arguments, tracer errors, composition with
grad/vmap, inspection (lower/compile, GPUXLA_DEBUG, GPUXLA_DUMP) and the eager realization
cache. Reference values come from NumPy, from eager gpuxla, or from JAX 0.10.2 (baked in)."""
import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.errors import ConcretizationTypeError


def sum_logistic(x):
    return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))


# --- tracing and the cache ----------------------------------------------------------------------
def test_print_runs_once_per_signature(capsys):
    @jax.jit
    def f(x, y):
        print("Running f():")
        print(f"  x = {x}")
        return jnp.dot(x + 1, y + 1)

    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4), dtype=np.float32), rng.standard_normal(4, dtype=np.float32)
    r1 = f(x, y)
    out = capsys.readouterr().out
    assert out.count("Running f():") == 1 and "Traced<f32[3,4]>" in out
    r2 = f(x * 2, y)
    assert capsys.readouterr().out == ""                    # cached: no Python tracing
    # atol: a GPU sums the products in another order, and a result may lie near zero.
    np.testing.assert_allclose(np.asarray(r1), (x + 1) @ (y + 1), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(r2), (2 * x + 1) @ (y + 1), rtol=1e-5, atol=1e-5)
    f(np.ones((2, 4), np.float32), y)                       # a new shape retraces
    assert capsys.readouterr().out.count("Running f():") == 1
    assert f._cache_size() == 2


def test_trace_count_per_shape_dtype_and_weak_type():
    count = []

    @jax.jit
    def f(x):
        count.append(1)
        return x * 2

    f(jnp.ones(3))
    f(jnp.zeros(3))
    f(jnp.ones(3) + 5)
    assert len(count) == 1
    f(jnp.ones(4))
    assert len(count) == 2
    f(jnp.ones(3, jnp.int32))
    assert len(count) == 3
    f(1.0)                                                  # Python scalars: weak f32[], one trace
    f(2.0)
    assert len(count) == 4
    f(jnp.float32(1.0))                                     # strong f32[]: another trace
    assert len(count) == 5
    r = f(3.0)
    assert r.weak_type and float(r) == 6.0
    assert not f(jnp.float32(3.0)).weak_type
    f.clear_cache()
    f(1.0)
    assert len(count) == 6


def test_side_effects_and_baked_globals():
    # JAX's "pure functions" example: values: 4.0, 5.0 (stale global), 14.0 after a retrace.
    g = {"v": 0.0}

    def impure_uses_globals(x):
        return x + g["v"]

    assert float(jax.jit(impure_uses_globals)(4.0)) == 4.0
    g["v"] = 10.0
    assert float(jax.jit(impure_uses_globals)(5.0)) == 5.0   # the cache is shared by jit(f) objects
    np.testing.assert_array_equal(jax.jit(impure_uses_globals)(jnp.array([4.0])), [14.0])

    log = []

    def impure_saves_global(x):
        log.append(x)
        return x

    out = jax.jit(impure_saves_global)(4.0)
    assert float(out) == 4.0 and len(log) == 1
    assert "Traced" in repr(log[0])                         # the saved value is the tracer


def test_x64_is_part_of_the_key():
    f = jax.jit(lambda x: x + 1)
    assert f(1.0).dtype == np.float32
    with dtypes.enable_x64():
        assert f(1.0).dtype == np.float64
    assert f(1.0).dtype == np.float32


def test_arguments_scalars_numpy_and_pytrees():
    f = jax.jit(lambda a, b: {"s": a["u"] * b, "t": (a["v"], None)})
    out = f({"u": np.arange(3.0), "v": 7}, 2.0)
    assert out["s"].dtype == np.float32                     # NumPy float64 is canonicalized
    np.testing.assert_array_equal(out["s"], [0.0, 2.0, 4.0])
    assert isinstance(out["t"][0], jax.Array) and int(out["t"][0]) == 7 and out["t"][1] is None
    assert out["t"][0].weak_type                            # a Python int argument is weak

    arr = np.ones(3, np.float32)
    ident = jax.jit(lambda x: x)
    y = ident(arr)
    arr[0] = 5.0                                            # the call must not alias the caller's buffer
    assert isinstance(y, jax.Array) and float(y[0]) == 1.0


def test_outputs_none_constants_and_inputs():
    assert jax.jit(lambda x: None)(1.0) is None
    a, b = jax.jit(lambda x: (x, 2))(1.0)
    assert isinstance(b, jax.Array) and b.dtype == np.int32 and b.weak_type and int(b) == 2
    assert int(jax.jit(lambda: 3)()) == 3
    c = jax.jit(lambda x: jnp.arange(3.0))(1.0)
    np.testing.assert_array_equal(c, [0.0, 1.0, 2.0])


def test_keyword_arguments_are_traced():
    count = []

    @jax.jit
    def f(x, scale=1.0):
        count.append(1)
        return x * scale

    assert float(f(2.0, scale=3.0)) == 6.0
    assert float(f(2.0, scale=4.0)) == 8.0
    assert len(count) == 1


def test_pending_eager_arguments_and_closures():
    x = jnp.arange(4.0) * 2                                  # pending
    w = jnp.ones(4) * 3                                      # pending, closed over: baked in
    f = jax.jit(lambda v: v + w)
    np.testing.assert_array_equal(f(x), np.arange(4.0) * 2 + 3)
    np.testing.assert_array_equal(f(x + 1), np.arange(4.0) * 2 + 4)
    assert f._cache_size() == 1


# --- static arguments ---------------------------------------------------------------------------
def test_static_argnums_and_argnames():
    count = []

    def f(x, n):
        count.append(n)
        for _ in range(n):                                   # Python control flow on a static value
            x = x * 2
        return x

    jf = jax.jit(f, static_argnums=1)
    assert float(jf(1.0, 3)) == 8.0 and float(jf(2.0, 3)) == 16.0 and count == [3]
    assert float(jf(1.0, 2)) == 4.0 and count == [3, 2]
    # Passed by keyword, the static is found through the signature (a new key, as in JAX).
    assert float(jf(1.0, n=2)) == 4.0 and float(jf(3.0, n=2)) == 12.0 and count == [3, 2, 2]
    jn = jax.jit(f, static_argnames="n")
    assert float(jn(1.0, n=4)) == 16.0 and float(jn(1.0, 4)) == 16.0
    assert float(jax.jit(f, static_argnums=-1)(1.0, 1)) == 2.0

    @functools.partial(jax.jit, static_argnums=(1,))
    def g(x, mode):
        return x + 1 if mode == "inc" else x - 1

    assert float(g(1.0, "inc")) == 2.0 and float(g(1.0, "dec")) == 0.0


def test_static_argument_errors():
    jf = jax.jit(lambda x, n: x * n, static_argnums=1)
    with pytest.raises(ValueError, match="Non-hashable static arguments are not supported.*ndarray"):
        jf(1.0, np.arange(3))
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        jf(1.0, jnp.arange(3))

    def f(x, n):
        return x

    with pytest.raises(ValueError, match=r"static_argnums=\(3,\), but only accepts 2 positional arguments"):
        jax.jit(f, static_argnums=3)
    with pytest.raises(ValueError, match="invalid argnames {'m'}"):
        jax.jit(f, static_argnames="m")
    with pytest.raises(TypeError, match="Expected a callable value, got 3"):
        jax.jit(3)
    with pytest.raises(TypeError, match="not marked as static"):
        jax.jit(f)("abc", 1.0)


# --- tracer errors ------------------------------------------------------------------------------
def test_value_dependent_control_flow_raises():
    def f(x):
        if x > 0:
            return x
        return -x

    with pytest.raises(ConcretizationTypeError) as e:
        jax.jit(f)(1.0)
    msg = str(e.value)
    assert "argument 'x' of f" in msg and "static_argnums" in msg and "lax.cond" in msg
    assert float(jax.jit(f, static_argnums=0)(-2.0)) == 2.0
    with pytest.raises(ConcretizationTypeError):
        jax.jit(lambda x: float(x))(1.0)
    with pytest.raises(ConcretizationTypeError, match="argument 'y'"):
        jax.jit(lambda x, y: x if bool(y.sum() > 0) else -x)(1.0, jnp.ones(2))
    # The same function under lax.select works.
    g = jax.jit(lambda x: lax.select(x > 0, x, -x))
    assert float(g(-3.0)) == 3.0


def test_shape_dependent_control_flow_works():
    @jax.jit
    def f(x):
        if x.shape[0] > 2:
            return x.sum()
        return x.prod()

    assert float(f(jnp.arange(1.0, 5.0))) == 10.0
    assert float(f(jnp.arange(1.0, 3.0))) == 2.0


def test_disable_jit():
    count = []

    def f(x):
        count.append(1)
        return x + 1

    jf = jax.jit(f)
    jax.config.update("jax_disable_jit", True)
    try:
        assert float(jf(1.0)) == 2.0 and float(jf(1.0)) == 2.0
    finally:
        jax.config.update("jax_disable_jit", False)
    assert len(count) == 2 and jf._cache_size() == 0


def test_wrapper_attributes_and_methods():
    def fn(x):
        """doc"""
        return x

    jf = jax.jit(fn)
    assert jf.__wrapped__ is fn and jf.__name__ == "fn" and jf.__doc__ == "doc"
    assert jax.jit(fn, donate_argnums=0)(1.0) is not None

    class M:
        def __init__(self, k):
            self.k = k

        @functools.partial(jax.jit, static_argnums=0)
        def apply(self, x):
            return x * self.k

        def __hash__(self):
            return hash(self.k)

        def __eq__(self, other):
            return isinstance(other, M) and other.k == self.k

    assert float(M(3.0).apply(2.0)) == 6.0


# --- composition with grad and vmap -------------------------------------------------------------
def test_grad_and_jit_compose():
    x = jnp.arange(3.0)
    want = np.exp(-np.arange(3.0)) / (1 + np.exp(-np.arange(3.0))) ** 2
    for f in (jax.jit(jax.grad(sum_logistic)), jax.grad(jax.jit(sum_logistic)),
              jax.jit(jax.grad(jax.jit(sum_logistic))), jax.jit(jax.jit(jax.grad(sum_logistic)))):
        np.testing.assert_allclose(np.asarray(f(x)), want, rtol=1e-6)
    v, g = jax.value_and_grad(jax.jit(sum_logistic))(x)
    np.testing.assert_allclose(float(v), np.sum(1 / (1 + np.exp(-np.arange(3.0)))), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(g), want, rtol=1e-6)


def test_nested_grad_jit_x64():
    # JAX 0.10.2 with x64: grad(jit(grad(jit(grad(sum_logistic)))))(1.0) == -0.03532558051623558
    with dtypes.enable_x64():
        r = jax.grad(jax.jit(jax.grad(jax.jit(jax.grad(sum_logistic)))))(1.0)
        assert r.dtype == np.float64 and r.weak_type
        np.testing.assert_allclose(float(r), -0.03532558051623558, rtol=1e-12)
        r2 = jax.jit(jax.grad(jax.jit(jax.grad(sum_logistic))))(1.0)
        np.testing.assert_allclose(float(r2), -0.09085774767294842, rtol=1e-12)


def test_vmap_and_jit_compose():
    x = jnp.arange(6.0).reshape(2, 3)
    f = lambda v: jnp.sum(jnp.sin(v) * v)
    want = np.sum(np.sin(np.arange(6.0).reshape(2, 3)) * np.arange(6.0).reshape(2, 3), axis=1)
    for g in (jax.vmap(jax.jit(f)), jax.jit(jax.vmap(f)), jax.jit(jax.vmap(jax.jit(f)))):
        np.testing.assert_allclose(np.asarray(g(x)), want, rtol=1e-6)
    pe = jax.jit(jax.vmap(jax.grad(f)))(x)
    np.testing.assert_allclose(np.asarray(pe), np.cos(np.asarray(x)) * np.asarray(x) + np.sin(np.asarray(x)), rtol=1e-6)
    pe2 = jax.vmap(jax.jit(jax.grad(f)), in_axes=1)(x)
    np.testing.assert_allclose(np.asarray(pe2), (np.cos(np.asarray(x)) * np.asarray(x) + np.sin(np.asarray(x))).T,
                               rtol=1e-6)


def test_jit_closing_over_a_grad_leaf():
    # The jitted function reads the outer grad's variable: the call must stay differentiable.
    def outer(x):
        return jax.jit(lambda y: jnp.sin(x) * y)(2.0)

    np.testing.assert_allclose(float(jax.grad(outer)(0.5)), 2 * np.cos(0.5), rtol=1e-6)
    # A module-level jit whose arguments are all concrete, called inside grad on a closed-over leaf.
    jf = jax.jit(lambda a, b: a * b)
    np.testing.assert_allclose(float(jax.grad(lambda x: jf(x, 3.0) + jf(2.0, 5.0))(1.0)), 3.0)


def test_nested_jit_traces_inner_once():
    count = []

    @jax.jit
    def inner(x):
        count.append(1)
        return x * 2

    outer = jax.jit(lambda x: inner(x) + inner(x + 1))
    assert float(outer(1.0)) == 6.0 and len(count) == 1
    assert float(outer(2.0)) == 10.0 and len(count) == 1


def test_custom_derivatives_survive_jit():
    @jax.custom_jvp
    def f(x):
        return jnp.sin(x)

    f.defjvp(lambda p, t: (f(p[0]), 100.0 * t[0]))
    assert float(jax.grad(jax.jit(f))(1.0)) == 100.0
    assert float(jax.jit(jax.grad(f))(1.0)) == 100.0
    g = lambda x: x * lax.stop_gradient(x)
    assert float(jax.grad(jax.jit(g))(3.0)) == 3.0


# --- inspection ---------------------------------------------------------------------------------
def test_lower_shows_the_optimised_graph():
    def f(x):
        return jnp.tanh(x).T.T * 1.0 + 0.0

    x = jnp.ones((2, 3))
    traced = str(jax.make_jaxpr(f)(x))
    assert "transpose" in traced and "mul" in traced        # make_jaxpr: before the passes
    lowered = jax.jit(f).lower(x)
    text = lowered.as_text()
    assert "tanh" in text and "transpose" not in text and "mul" not in text and "add" not in text
    compiled = lowered.compile()
    assert "tanh" in compiled.as_text()
    np.testing.assert_allclose(np.asarray(compiled(x)), np.tanh(np.ones((2, 3))), rtol=1e-6)
    with pytest.raises(TypeError):
        compiled(jnp.ones((3, 3)))
    with pytest.raises(TypeError):
        compiled(x, x)
    # ShapeDtypeStructs lower without data.
    t = jax.jit(f).lower(jax.ShapeDtypeStruct((4, 5), jnp.float32)).as_text()
    assert "f32[4,5]" in t
    shp = jax.jit(f).eval_shape(jax.ShapeDtypeStruct((4, 5), jnp.float32))
    assert shp.shape == (4, 5)
    # lower() and calls share the cache: calling after lowering does not trace again.
    count = []
    g = jax.jit(lambda v: count.append(1) or v * 2)
    g.lower(x)
    np.testing.assert_array_equal(g(x), 2 * np.ones((2, 3)))
    assert len(count) == 1 and g._cache_size() == 1


def test_lower_with_static_args_and_platform():
    jf = jax.jit(lambda x, n: x ** n, static_argnums=1)
    c = jf.lower(jnp.arange(3.0), 2).compile(platform="numpy")
    np.testing.assert_array_equal(c(jnp.arange(3.0)), [0.0, 1.0, 4.0])   # statics are bound, as in JAX


def test_grad_drops_the_forward_sum():
    text = jax.jit(jax.grad(sum_logistic)).lower(jnp.arange(3.0)).as_text()
    assert "reduce_sum" not in text and "wrap" not in text
    vg = jax.jit(jax.value_and_grad(sum_logistic)).lower(jnp.arange(3.0)).as_text()
    assert "reduce_sum" in vg


def test_debug_prints_each_trace():
    code = ("import gpuxla as jax, gpuxla.numpy as jnp\n"
            "f = jax.jit(lambda x: x * 2.0)\nf(jnp.ones(3)); f(jnp.ones(3)); f(jnp.ones(2))\n")
    env = dict(os.environ, GPUXLA_DEBUG="1", GPUXLA_PLATFORM="numpy")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stderr.count("traced for") == 2 and r.stderr.count("optimized for") == 2
    assert "f32[3]" in r.stderr and "f32[2]" in r.stderr and "mul" in r.stderr


def test_dump_writes_each_stage(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUXLA_DUMP", str(tmp_path))
    f = jax.jit(lambda x: jnp.sin(x).T.T * 1.0)
    f(jnp.ones((2, 2)))
    names = sorted(p.name for p in tmp_path.iterdir())
    stages = [n.split("-", 1)[1] for n in names]
    assert stages[0] == "traced.txt" and "simplify.txt" in stages and stages[-1] == "program.txt"
    assert "optimized.txt" in stages and "lowered.txt" in stages
    assert "sin" in (tmp_path / names[-1]).read_text()


# --- the eager realization cache ----------------------------------------------------------------
def test_eager_loop_reuses_its_plan():
    from gpuxla.backends import eager_cache_stats
    x = jnp.ones(3)
    for i in range(3):                                       # warm up: the first iteration plans
        x = jnp.sin(x) * 0.5 + 1.0
        x.block_until_ready()
    misses = eager_cache_stats["misses"]
    hits = eager_cache_stats["hits"]
    v = np.asarray(x, dtype=np.float64)
    for i in range(20):
        x = jnp.sin(x) * 0.5 + 1.0
        x.block_until_ready()
        v = np.sin(v) * 0.5 + 1.0
    assert eager_cache_stats["misses"] == misses and eager_cache_stats["hits"] >= hits + 20
    np.testing.assert_allclose(np.asarray(x), v, rtol=1e-5)


def test_dispatch_measurement_runs():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "bench"))
    try:
        import dispatch
    finally:
        sys.path.pop(0)
    r = dispatch.measure_dispatch(number=200, repeat=2, with_jax=False)
    assert r["gpuxla_jit_us"] > 0 and r["numpy_add_us"] > 0 and r["ratio_numpy"] > 0
