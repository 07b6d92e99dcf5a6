"""lax.cond/switch/while_loop/fori_loop/scan/map under eager, jit, grad and vmap.

References: Python loops, finite differences (check_grads), and values printed by JAX 0.10.2.
"""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core.dtypes import enable_x64
from gpuxla.test_util import check_grads

MODES = {"eager": lambda f: f, "jit": jax.jit}


@pytest.mark.parametrize("mode", MODES)
def test_tutorial_examples(mode):
    w = MODES[mode]
    assert float(w(lambda x: lax.cond(True, lambda x: x + 1, lambda x: x - 1, x))(3.0)) == 4.0
    assert float(w(lambda x: lax.cond(x < 0, lambda x: x + 1, lambda x: x - 1, x))(3.0)) == 2.0
    assert float(w(lambda i, x: lax.switch(i, [lambda x: x, lambda x: x ** 2, lambda x: -x], x))(1, 4.0)) == 16.0
    # Out-of-range indices clamp, as in JAX.
    assert float(w(lambda i, x: lax.switch(i, [lambda x: x, lambda x: x ** 2, lambda x: -x], x))(7, 4.0)) == -4.0
    i, v = w(lambda: lax.while_loop(lambda c: c[0] < 10, lambda c: (c[0] + 1, c[1] * 2), (0, 1.0)))()
    assert (int(i), float(v)) == (10, 1024.0)
    assert float(w(lambda: lax.fori_loop(0, 5, lambda i, v: v + i, 0.0))()) == 10.0
    c, ys = w(lambda xs: lax.scan(lambda c, x: (c + x, c + x), 0.0, xs))(jnp.arange(5.0))
    assert float(c) == 10.0 and np.array_equal(np.asarray(ys), np.cumsum(np.arange(5.0)))
    assert not c.weak_type     # a weak init meeting a strong body output is promoted, as in JAX
    np.testing.assert_allclose(np.asarray(w(lambda xs: lax.map(lambda x: x ** 2, xs))(jnp.arange(4.0))), [0, 1, 4, 9])


def test_scan_reverse_and_pytrees():
    xs = {"a": jnp.arange(4.0), "b": jnp.ones((4, 2))}

    def f(c, x):
        c = (c[0] + x["a"], c[1] * 2)
        return c, {"s": c[0] + x["b"].sum()}
    (c0, c1), ys = lax.scan(f, (0.0, jnp.int32(1)), xs, reverse=True)
    ref, out = 0.0, []
    for k in range(3, -1, -1):
        ref += k
        out.append(ref + 2)
    assert float(c0) == 6.0 and int(c1) == 16
    np.testing.assert_allclose(np.asarray(ys["s"]), out[::-1])


def test_fori_loop_with_traced_bounds_is_a_while_loop():
    f = jax.jit(lambda n, x: lax.fori_loop(0, n, lambda i, v: v + i * x, 0.0))
    assert float(f(5, 2.0)) == 20.0 and float(f(3, 2.0)) == 6.0
    assert "while" in str(jax.make_jaxpr(lambda n: lax.fori_loop(0, n, lambda i, v: v + 1.0, 0.0))(3))


def test_body_traced_once_for_1000_steps():
    calls = []

    def body(i, v):
        calls.append(1)
        return v * 1.001 + i
    f = jax.jit(lambda x: lax.fori_loop(0, 1000, body, x))
    ref = 1.0
    for i in range(1000):
        ref = ref * 1.001 + i
    np.testing.assert_allclose(float(f(1.0)), ref, rtol=1e-4)
    np.testing.assert_allclose(float(f(2.0)), (ref - 1.001 ** 1000) + 2 * 1.001 ** 1000, rtol=1e-4)
    assert len(calls) == 1


def test_closures_over_outer_values_are_inputs():
    y = jnp.arange(3.0)
    jaxpr = str(jax.make_jaxpr(lambda x: lax.cond(x > 0, lambda: y * x, lambda: -y))(1.0))
    assert "cond" in jaxpr
    g = jax.grad(lambda x: jnp.sum(lax.cond(x > 0, lambda: y * x, lambda: -y)))(2.0)
    assert float(g) == 3.0


def test_grad_through_cond_and_switch():
    f = lambda x: lax.cond(x > 0, lambda y: y ** 2, lambda y: jnp.sin(y), x)
    assert float(jax.grad(f)(3.0)) == 6.0
    np.testing.assert_allclose(float(jax.grad(f)(-1.0)), np.cos(-1.0), rtol=1e-6)
    g = lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, lambda v: v ** 3], x)
    for i, want in enumerate([np.cos(0.7), -np.sin(0.7), 3 * 0.7 ** 2]):
        np.testing.assert_allclose(float(jax.grad(g, argnums=1)(i, 0.7)), want, rtol=1e-6)
    with enable_x64():   # finite differences need float64
        check_grads(lambda x: lax.cond(jnp.sum(x) > 0, lambda v: jnp.tanh(v) * v, lambda v: v ** 3, x),
                    (np.array([0.3, -0.2, 0.5]),), order=2, modes=("fwd", "rev"))


def test_grad_of_scan_rnn_matches_jax():
    rng = np.random.default_rng(0)
    W = jnp.asarray(rng.standard_normal((4, 4)).astype(np.float32) * 0.5)
    U = jnp.asarray(rng.standard_normal((3, 4)).astype(np.float32) * 0.5)
    xs = jnp.asarray(rng.standard_normal((6, 3)).astype(np.float32))

    def rnn(W, U, xs):
        def step(h, x):
            h = jnp.tanh(h @ W + x @ U)
            return h, jnp.sum(h)
        h, ys = lax.scan(step, jnp.zeros(4), xs)
        return jnp.sum(ys) + jnp.sum(h ** 2)
    # Values printed by JAX 0.10.2 for the same inputs.
    np.testing.assert_allclose(float(rnn(W, U, xs)), 5.010186, rtol=1e-5)
    gW, gU = jax.grad(rnn, argnums=(0, 1))(W, U, xs)
    np.testing.assert_allclose(np.asarray(gW).ravel()[:4], [0.9766926, 0.9491689, 0.6141471, 1.2275603], rtol=1e-4)
    np.testing.assert_allclose(np.asarray(gU).ravel()[:4], [0.4589344, 0.8771002, 0.92077374, 1.5138079], rtol=1e-4)
    gW2, _ = jax.jit(jax.grad(rnn, argnums=(0, 1)))(W, U, xs)
    np.testing.assert_allclose(np.asarray(gW2), np.asarray(gW), rtol=1e-5, atol=1e-6)


def test_scan_gradients_fwd_and_rev():
    with enable_x64():
        check_grads(lambda x, a: lax.scan(lambda c, v: (jnp.sin(c) * v, c * v), x, a)[1],
                    (np.array(0.5), np.array([1.0, 2.0, 3.0])), order=2, modes=("fwd", "rev"))
    # The cumulative sum as a scan, against NumPy.
    g = jax.grad(lambda xs: jnp.sum(lax.scan(lambda c, x: (c + x, c + x), 0.0, xs)[1] ** 2))(jnp.arange(4.0))
    cs = np.cumsum(np.arange(4.0))
    np.testing.assert_allclose(np.asarray(g), [2 * cs[k:].sum() for k in range(4)], rtol=1e-6)
    np.testing.assert_allclose(float(jax.grad(lambda x: lax.scan(lambda c, a: (jnp.sin(c) * a, c), x, jnp.arange(1., 4.))[0])(0.5)),
                               2.820862, rtol=1e-5)


def test_newton_iteration_with_fori_loop():
    def sqrt_newton(a):
        return lax.fori_loop(0, 20, lambda i, x: 0.5 * (x + a / x), a)
    np.testing.assert_allclose(float(sqrt_newton(2.0)), np.sqrt(2.0), rtol=1e-6)
    np.testing.assert_allclose(float(jax.grad(sqrt_newton)(2.0)), 0.5 / np.sqrt(2.0), rtol=1e-5)
    np.testing.assert_allclose(float(jax.grad(lambda x: lax.fori_loop(0, 3, lambda i, v: v * v, x))(1.5)), 136.6875, rtol=1e-6)


def test_while_loop_forward_mode_and_reverse_error():
    f = lambda x: lax.while_loop(lambda c: c < 10.0, lambda c: c * 2, x)
    out, t = jax.jvp(f, (1.5,), (1.0,))
    assert (float(out), float(t)) == (12.0, 8.0)
    with pytest.raises(ValueError, match="Reverse-mode differentiation does not work for lax.while_loop"):
        jax.grad(f)(1.5)


def test_vmap_of_control_flow_matches_loops():
    ps, xs = np.array([True, False, True]), np.arange(3.0)
    got = jax.vmap(lambda p, x: lax.cond(p, lambda x: x * 2, lambda x: -x, x))(jnp.asarray(ps), jnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), [0.0, -1.0, 4.0])
    got = jax.vmap(lambda x: lax.while_loop(lambda c: c < 10, lambda c: c + 3, x))(jnp.array([0, 5, 11]))
    assert np.asarray(got).tolist() == [12, 11, 11]
    x2 = np.arange(6.0).reshape(2, 3)
    got = jax.vmap(lambda x: lax.scan(lambda c, v: (c + v, c * v), 1.0, x)[1])(jnp.asarray(x2))
    ref = []
    for row in x2:
        c, ys = 1.0, []
        for v in row:
            ys.append(c * v)
            c += v
        ref.append(ys)
    np.testing.assert_allclose(np.asarray(got), ref)
    # Batched index with an unbatched operand; and a batched closure inside scan.
    got = jax.vmap(lambda i: lax.switch(i, [lambda: 1.0, lambda: 2.0, lambda: 3.0]))(jnp.array([2, 0, 1]))
    np.testing.assert_allclose(np.asarray(got), [3.0, 1.0, 2.0])
    got = jax.vmap(lambda w: lax.scan(lambda c, x: (c * w + x, c), 0.0, jnp.arange(3.0))[0])(jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(np.asarray(got), [3.0, 4.0])


def test_per_example_grads_through_scan():
    def loss(w, xs):
        return lax.scan(lambda c, x: (c + jnp.tanh(w * x), None), 0.0, xs)[0]
    xs = np.arange(6.0).reshape(2, 3) / 3
    got = jax.vmap(jax.grad(loss), in_axes=(None, 0))(0.7, jnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), [(x / np.cosh(0.7 * x) ** 2).sum() for x in xs], rtol=1e-5)


def test_mismatched_branches_and_carries_raise():
    with pytest.raises(TypeError, match=r"branch 0 .* branch 1.*i32\[\]\) vs \(f32\[\]|f32\[\]\) vs \(i32\[\]"):
        lax.cond(True, lambda x: x, lambda x: x.astype(jnp.int32), 1.0)
    with pytest.raises(TypeError, match=r"f32\[3\]\) vs \(f32\[2\]"):
        lax.while_loop(lambda c: jnp.sum(c) < 1, lambda c: c[:2], jnp.zeros(3))
    with pytest.raises(TypeError, match="carry"):
        lax.scan(lambda c, x: (c.astype(jnp.int32), x), 0.0, jnp.arange(3.0))
    with pytest.raises(ValueError, match="inconsistent lengths"):
        lax.scan(lambda c, x: (c, x), 0.0, (jnp.arange(3.0), jnp.arange(4.0)))
    with pytest.raises(TypeError, match="boolean scalar"):
        lax.while_loop(lambda c: c, lambda c: c + 1, 1.0)
