"""What the gradient rules of max/min and div cost in the fused backward kernels (the kernel
report of `jit(f).lower(...).compile()`, whatever the platform), and that their values are
NumPy's and JAX 0.10.2's, ties and special values included."""
import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax

B, N, K = 32, 64, 48


def _relu_layer_loss(w, b, x, v):
    """A ReLU layer between two products, as in an MLP: max(h, 0) is kept for the second product
    (and for v's gradient), and its gradient is taken where the first product's bias gradient is
    summed."""
    h = x @ w + b
    return jnp.sum(jnp.tanh(jnp.maximum(h, 0.0) @ v))


def _relu_layer_args():
    r = np.random.default_rng(0)
    f = np.float32
    return (r.standard_normal((K, N)).astype(f), r.standard_normal(N).astype(f),
            r.standard_normal((B, K)).astype(f), r.standard_normal((N, 3)).astype(f))


def test_the_relu_gradient_kernel_reads_the_layer_input_and_the_cotangent_only():
    args = _relu_layer_args()
    f = jax.grad(_relu_layer_loss, argnums=(0, 1, 3))
    rows = jax.jit(f).lower(*args).compile().kernel_report()
    # The kernel summing the bias gradient over the batch: g * max'(h) with h = x @ w + b. It reads
    # x @ w (b added again in the kernel), the cotangent from the second product and b; max's
    # result is not read besides (JAX writes the rule from it, as this rule did before).
    (red,) = [r for r in rows if r["kind"] == "reduction" and r["bytes_written"] >= B * N * 4]
    assert red["bytes_read"] == 2 * B * N * 4 + N * 4
    assert red["bytes_written"] == B * N * 4 + N * 4          # g * max'(h) for the weight gradient, the sum
    gw, gb, gv = f(*args)
    w, b, x, v = (a.astype(np.float64) for a in args)
    a = np.maximum(x @ w + b, 0)
    g = 1 - np.tanh(a @ v) ** 2
    np.testing.assert_allclose(np.asarray(gv), a.T @ g, rtol=2e-5, atol=2e-5)
    d = g @ v.T * (x @ w + b > 0)
    np.testing.assert_allclose(np.asarray(gw), x.T @ d, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(np.asarray(gb), d.sum(0), rtol=2e-5, atol=2e-5)


def test_max_min_ties_and_special_values_as_jax():
    # JAX 0.10.2: d max(x, 0)/dx at nan, 0, -1, inf, 2 is 0, 1/2, 0, 1, 1; min's mirrors it.
    x = jnp.array([np.nan, 0., -1., np.inf, 2.])
    for f in (lambda g: g, jax.jit):
        np.testing.assert_array_equal(np.asarray(f(jax.grad(lambda x: jnp.sum(jnp.maximum(x, 0.))))(x)),
                                      [0, .5, 0, 1, 1])
        np.testing.assert_array_equal(np.asarray(f(jax.grad(lambda x: jnp.sum(jnp.minimum(x, 0.))))(x)),
                                      [0, .5, 1, 0, 0])
        assert float(f(jax.grad(lambda y: jnp.sum(jnp.maximum(x, y))))(0.)) == 1.5
    # both operands arrays, ties in both directions, forward mode too
    a, c = jnp.array([1., 2., 3., -0.]), jnp.array([1., 3., 2., 0.])
    ga, gc = jax.grad(lambda a, c: jnp.sum(lax.max(a, c) * jnp.arange(1., 5.)), (0, 1))(a, c)
    np.testing.assert_array_equal(np.asarray(ga), [.5, 0, 3, 2])
    np.testing.assert_array_equal(np.asarray(gc), [.5, 2, 0, 2])
    _, t = jax.jvp(lambda a, c: lax.min(a, c), (a, c), (jnp.ones(4), 2 * jnp.ones(4)))
    np.testing.assert_array_equal(np.asarray(t), [1.5, 1, 2, 1.5])


def _divisions(f, *args):
    """Elementwise divisions in the optimised program of jit(f): div, and integer_pow with a
    negative exponent (1 / x^n)."""
    text = jax.jit(f).lower(*args).as_text()
    return sum(" div " in ln or ("integer_pow[y=-" in ln) for ln in text.splitlines())


def test_div_gradients_divide_once():
    x = np.linspace(-4, 4, 101).astype(np.float32)
    logistic = jax.grad(lambda x: jnp.sum(1.0 / (1.0 + jnp.exp(-x))))
    assert _divisions(logistic, x) == 1        # -g / y^2; (-(1/y) / y) g before: two
    s = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(np.asarray(jax.jit(logistic)(x)), s * (1 - s), rtol=1e-6, atol=1e-7)
    # both operands: d(x/y) = dx / y - x dy / y^2, one division each
    u, y = np.float32([0.5, -2.0, 3.0]), np.float32([1.5, 0.25, -4.0])
    gu, gy = jax.grad(lambda u, y: jnp.sum(u / y), (0, 1))(u, y)
    assert _divisions(jax.grad(lambda u, y: jnp.sum(u / y), (0, 1)), u, y) == 2
    np.testing.assert_allclose(np.asarray(gu), 1 / y.astype(np.float64), rtol=1e-7)
    np.testing.assert_allclose(np.asarray(gy), -u.astype(np.float64) / y.astype(np.float64) ** 2, rtol=1e-7)
    _, t = jax.jvp(lambda u, y: u / y, (u, y), (np.float32([1, 0, 2]), np.float32([0, 1, 1])))
    np.testing.assert_allclose(np.asarray(t), [1 / 1.5, 2.0 / 0.0625, 2 / -4.0 - 3.0 / 16], rtol=1e-6)
    # special values as JAX 0.10.2: d(1/x) at nan, 0, -1, inf, 2
    r = jax.jit(jax.grad(lambda x: jnp.sum(1.0 / x)))(jnp.array([np.nan, 0., -1., np.inf, 2.]))
    np.testing.assert_array_equal(np.asarray(r), [np.nan, -np.inf, -1, -0., -0.25])
    assert np.signbit(np.asarray(r)[3])
