"""custom_jvp, custom_vjp and checkpoint. Reference values from JAX 0.10.2 (the custom
derivatives tutorial's examples) or closed forms."""
from functools import partial

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.core import dtypes
from gpuxla.test_util import check_grads


def close(a, b, rtol=2e-6, atol=2e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol)


@pytest.fixture
def x64():
    with dtypes.enable_x64(True):
        yield


def _map(f, xs):     # vmap when the batching engineer's vmap exists, a loop until then
    vmap = getattr(jax, "vmap", None)
    return vmap(f)(xs) if vmap else jnp.stack([f(x) for x in xs])


# --- custom_jvp -------------------------------------------------------------------------------
@jax.custom_jvp
def log1pexp(x):
    return jnp.log(1. + jnp.exp(x))


@log1pexp.defjvp
def log1pexp_jvp(primals, tangents):
    x, = primals
    x_dot, = tangents
    return log1pexp(x), (1 - 1 / (1 + jnp.exp(x))) * x_dot


def test_log1pexp_stable_gradient():
    # Differentiating the formula gives nan at 100 (inf / inf); the rule gives 1.
    assert np.isnan(float(jax.grad(lambda x: jnp.log(1. + jnp.exp(x)))(100.)))
    close(jax.grad(log1pexp)(100.), 1.0)
    close(log1pexp(3.), 3.0485873222351074)
    close(jax.grad(log1pexp)(3.), 0.9525741338729858)
    close(_map(jax.grad(log1pexp), jnp.arange(3.)), [0.5, 0.7310585975646973, 0.8807970881462097])
    close(jax.jvp(log1pexp, (3.,), (2.,))[1], 2 * 0.9525741338729858)


def test_defjvps_and_two_arguments():
    @jax.custom_jvp
    def f(x, y):
        return jnp.sin(x) * y
    f.defjvps(lambda x_dot, primal_out, x, y: jnp.cos(x) * x_dot * y,
              lambda y_dot, primal_out, x, y: jnp.sin(x) * y_dot)
    close(f(2., 3.), 2.7278921604156494)
    close(jax.grad(f)(2., 3.), -1.2484405040740967)
    close(jax.grad(f, 1)(2., 3.), 0.9092974066734314)
    close(jax.jvp(f, (2., 3.), (1., 1.))[1], -1.2484405040740967 + 0.9092974066734314)


def test_rule_replaces_the_function_graph():
    # The derivative walk never enters f's own graph: f uses nextafter, which has no rule.
    @jax.custom_jvp
    def f(x):
        return jnp.nextafter(x, x + 1.0) * 2.0
    f.defjvp(lambda p, t: (f(*p), 7.0 * t[0]))
    close(jax.grad(f)(1.5), 7.0)
    close(jax.jvp(f, (1.5,), (1.0,))[1], 7.0)


def test_python_control_flow_in_rule():
    @jax.custom_jvp
    def f(x):
        return jnp.sin(x) if x > 0 else jnp.cos(x)

    @f.defjvp
    def f_jvp(primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), (2 * x_dot if x > 0 else 3 * x_dot)
    close(jax.grad(f)(1.), 2.0)
    close(jax.grad(f)(-1.), 3.0)


def test_custom_jvp_nondiff_argnums():
    @partial(jax.custom_jvp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)

    @app.defjvp
    def app_jvp(f, primals, tangents):
        x, = primals
        x_dot, = tangents
        return f(x), 2. * x_dot
    close(app(lambda x: x ** 3, 3.), 27.0)
    close(jax.grad(app, 1)(lambda x: x ** 3, 3.), 2.0)


def test_custom_jvp_higher_order(x64):
    # The VJP transposes the user's JVP, and the JVP's own ops differentiate again.
    @jax.custom_jvp
    def s(x):
        return jnp.sin(x)
    s.defjvp(lambda p, t: (s(p[0]), jnp.cos(p[0]) * t[0]))
    x = 0.7
    close(jax.grad(s)(x), np.cos(x), rtol=1e-12)
    close(jax.grad(jax.grad(s))(x), -np.sin(x), rtol=1e-12)
    close(jax.grad(jax.grad(jax.grad(s)))(x), -np.cos(x), rtol=1e-12)
    close(jax.jacfwd(jax.jacrev(s))(x), -np.sin(x), rtol=1e-12)
    check_grads(lambda v: s(v) * v, (jnp.array([0.3, -1.2]),), order=2)


def test_custom_jvp_pytree_io():
    @jax.custom_jvp
    def f(d):
        return {"u": d["a"] * d["b"], "v": d["a"]}

    @f.defjvp
    def f_jvp(primals, tangents):
        (d,), (t,) = primals, tangents
        return f(d), {"u": t["a"] * d["b"] + d["a"] * t["b"], "v": t["a"]}
    d = {"a": jnp.array([1., 2.]), "b": jnp.array([3., 5.])}
    g = jax.grad(lambda d: jnp.sum(f(d)["u"]) + jnp.sum(f(d)["v"] ** 2))(d)
    close(g["a"], [3 + 2, 5 + 4])
    close(g["b"], [1, 2])


def test_missing_rule():
    @jax.custom_jvp
    def f(x):
        return x
    with pytest.raises(AttributeError, match="No JVP defined"):
        f(1.0)


# --- custom_vjp -------------------------------------------------------------------------------
@jax.custom_vjp
def clip_gradient(lo, hi, x):
    return x


clip_gradient.defvjp(lambda lo, hi, x: (x, (lo, hi)), lambda res, g: (None, None, jnp.clip(g, *res)))


def test_clip_gradient():
    def clip_sin(x):
        return jnp.sin(clip_gradient(-0.75, 0.75, x))
    t = jnp.linspace(0, 10, 11)
    close(jnp.sin(t), np.sin(np.linspace(0, 10, 11)), rtol=1e-6)
    close(_map(jax.grad(clip_sin), t),
          [0.75, 0.5403022766113281, -0.416146844625473, -0.75, -0.6536436080932617, 0.28366219997406006,
           0.75, 0.75, -0.1455000340938568, -0.75, -0.75], rtol=1e-6)


def test_custom_vjp_two_args():
    @jax.custom_vjp
    def f(x, y):
        return jnp.sin(x) * y
    f.defvjp(lambda x, y: (f(x, y), (jnp.cos(x), jnp.sin(x), y)),
             lambda res, g: (res[0] * g * res[2], res[1] * g))
    close(f(2., 3.), 2.7278921604156494)
    close(jax.grad(f)(2., 3.), -1.2484405040740967)
    close(jax.grad(f, 1)(2., 3.), 0.9092974066734314)


def test_custom_vjp_nondiff_argnums():
    @partial(jax.custom_vjp, nondiff_argnums=(0,))
    def app(f, x):
        return f(x)
    app.defvjp(lambda f, x: (app(f, x), x), lambda f, x, g: (5 * g,))
    close(app(lambda x: x ** 2, 4.), 16.0)
    close(jax.grad(app, 1)(lambda x: x ** 2, 4.), 5.0)


def test_custom_vjp_pytree_residuals_and_none_leaves():
    @jax.custom_vjp
    def h(p):
        return p["a"] * p["b"]

    def fwd(p):
        return h(p), {"saved": (p["a"], p["b"])}

    def bwd(res, g):
        a, b = res["saved"]
        return ({"a": 2 * g * b, "b": None},)      # a deliberately different rule, None = zero
    h.defvjp(fwd, bwd)
    g = jax.grad(lambda p: jnp.sum(h(p)))({"a": jnp.array([1., 2.]), "b": jnp.array([3., 4.])})
    close(g["a"], [6, 8])
    close(g["b"], [0, 0])


def test_custom_vjp_second_order(x64):
    # bwd's ops are ordinary ops: grad of grad differentiates them.
    @jax.custom_vjp
    def f(x):
        return x ** 3
    f.defvjp(lambda x: (f(x), x), lambda x, g: (3 * x ** 2 * g,))
    close(jax.grad(f)(2.0), 12.0)
    close(jax.grad(jax.grad(f))(2.0), 12.0)
    close(jax.jacrev(jax.jacrev(f))(2.0), 12.0)


def test_custom_vjp_forward_mode_is_an_error():
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff \\(jvp\\) to a custom_vjp function"):
        jax.jvp(lambda x: clip_gradient(-1., 1., x), (1.0,), (1.0,))


def test_custom_vjp_bad_bwd():
    @jax.custom_vjp
    def f(x, y):
        return x * y
    f.defvjp(lambda x, y: (f(x, y), None), lambda res, g: (g,))
    with pytest.raises(TypeError, match="one cotangent per primal input"):
        jax.grad(f)(1.0, 2.0)


# --- checkpoint -------------------------------------------------------------------------------
def test_checkpoint_gradients_and_recomputation(x64):
    calls = []

    def block(x, w):
        calls.append(1)
        return jnp.tanh(jnp.sin(x) * w)
    x, w = jnp.array([0.3, -0.2, 1.0]), jnp.array([1.5, 0.5, -2.0])
    loss = lambda x, w: jnp.sum(block(block(x, w), w) ** 2)
    loss_ck = lambda x, w: jnp.sum(jax.checkpoint(block)(jax.checkpoint(block)(x, w), w) ** 2)
    g = jax.grad(loss, (0, 1))(x, w)
    calls.clear()
    g_ck = jax.grad(loss_ck, (0, 1))(x, w)
    close(g_ck[0], g[0], rtol=1e-12)
    close(g_ck[1], g[1], rtol=1e-12)
    # Each checkpointed block ran forward once and again in the backward pass.
    assert len(calls) == 4
    close(jax.jvp(lambda x: loss_ck(x, w), (x,), (jnp.ones(3),))[1], jnp.vdot(g[0], jnp.ones(3)), rtol=1e-12)
    close(jax.hessian(loss_ck)(x, w), jax.hessian(loss)(x, w), rtol=1e-10, atol=1e-12)


def test_remat_decorator_static_argnums():
    @partial(jax.remat, static_argnums=(1,))
    def f(x, n):
        for _ in range(n):
            x = jnp.sin(x)
        return x
    x = 0.5
    expect = np.cos(np.sin(x)) * np.cos(x)
    close(jax.grad(f)(x, 2), expect, rtol=1e-6)
    assert jax.checkpoint is jax.remat
