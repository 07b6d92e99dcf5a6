"""check_grads (finite differences in random directions, <u, Jv> = <J^T u, v>) to second order,
in float64, over: one case per differentiable primitive (and a meta-test that the cases reach
every one), composite functions, and the shared op table. Also exact values where derivatives
are defined by convention (ties, zeros), from JAX 0.10.2."""
import copy

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.core import primitives as P
from gpuxla.core.graph import Primitive
from gpuxla.test_util import check_grads


@pytest.fixture(autouse=True)
def x64():
    with dtypes.enable_x64(True):
        yield


def U(*shape, lo=-1.0, hi=1.0, seed=0):
    return np.random.RandomState(seed + 7 * len(shape)).uniform(lo, hi, shape)


def I(v):  # noqa: E743  (int32 index operand, the companion of U() in the case table)
    return np.asarray(v, np.int32)


class Case:
    def __init__(self, name, fn, *args, tol=None, eps=None):
        self.name, self.fn, self.args, self.tol, self.eps = name, fn, args, tol, eps


POS = dict(lo=0.5, hi=2.0)
UNIT = dict(lo=-0.8, hi=0.8)
CASES = [Case(n, getattr(lax, n), U(2, 3, **kw)) for n, kw in [
    ("exp", {}), ("exp2", {}), ("log", POS), ("log1p", dict(lo=-0.5, hi=1.0)), ("expm1", {}), ("tanh", {}),
    ("logistic", {}), ("sin", {}), ("cos", {}), ("tan", {}), ("asin", UNIT), ("acos", UNIT), ("atan", {}),
    ("sinh", {}), ("cosh", {}), ("asinh", {}), ("acosh", dict(lo=1.2, hi=3.0)), ("atanh", UNIT),
    ("sqrt", POS), ("rsqrt", POS), ("cbrt", POS), ("erf", {}), ("erfc", {}), ("erf_inv", UNIT),
    ("lgamma", POS), ("digamma", POS), ("neg", {})]] + [
    Case("lgamma_negative", lax.lgamma, np.array([-0.5, -1.3, -2.7])),
    Case("abs", lax.abs, np.array([-1.5, -0.5, 0.7])),
    Case("integer_pow", lambda x: lax.integer_pow(x, 3) + lax.integer_pow(x, -2) + lax.integer_pow(x, 1) * 2
         + lax.integer_pow(x, 0), U(4, **POS)),
    Case("piecewise_constant", lambda x: (lax.sign(x) + lax.floor(x) + lax.ceil(x) + lax.round(x)) * x,
         np.array([0.3, 1.7, -2.2])),
    Case("add_sub_mul", lambda x, y: lax.sub(lax.mul(lax.add(x, y), y), x), U(2, 3), U(2, 3, seed=1)),
    Case("div", lax.div, U(3), U(3, **POS)),
    Case("rem", lax.rem, np.array([2.5, -3.1]), np.array([0.7, 0.9])),
    Case("pow", lax.pow, U(3, **POS), U(3)),
    Case("max_min", lambda x, y: lax.max(x, y) * lax.min(x, y) + lax.max(x, y), U(4), U(4, seed=3)),
    Case("atan2", lax.atan2, U(3), U(3, seed=1)),
    Case("fma", lambda s, y, z: lax.fma(y, z, s) + lax.fma(s, y, z), np.float64(0.3), U(2, 3), U(2, 3, seed=1)),
    Case("rank0_operand", lambda s, y: lax.mul(s, y) + lax.div(y, s) + lax.max(s, y), np.float64(0.3), U(4)),
    Case("select", lambda x, y: lax.select(np.array([True, False, True]), x, y) * x, U(3), U(3, seed=1)),
    Case("select_n", lambda a, b, c: lax.select_n(I([0, 2, 1, 2]), a, b, c), U(4), U(4, seed=1), U(4, seed=2)),
    Case("convert_element_type", lambda x: lax.convert_element_type(lax.convert_element_type(x, np.float32),
                                                                     np.float64) ** 2 + x.astype(jnp.int32),
         U(3, lo=0.1, hi=0.9), tol=1e-3, eps=1e-3),   # float32 rounding limits the finite differences
    Case("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3, 4), (1, 2)) ** 2, U(3, 1)),
    Case("reshape_transpose_rev", lambda x: lax.rev(lax.transpose(lax.reshape(x, (3, 2, 2)), (2, 0, 1)), (0, 2)) ** 2,
         U(4, 3)),
    Case("slice", lambda x: lax.slice(x, (1, 0), (5, 3), (2, 2)) ** 2, U(5, 4)),
    Case("pad", lambda x, v: lax.pad(x, v, ((1, -1, 1), (-1, 2, 0))) ** 2, U(3, 4), np.float64(0.5)),
    Case("concatenate", lambda x, y: lax.concatenate([x, y, x], 1) ** 2, U(2, 2), U(2, 3)),
    Case("dynamic_slice", lambda x: lax.dynamic_slice(x, [1, 5], [2, 2]) ** 2, U(4, 4)),
    Case("dynamic_update_slice", lambda x, u: lax.dynamic_update_slice(x, u, [2, 1]) ** 2, U(4, 4), U(2, 3)),
    Case("gather_clip", lambda x: lax.gather_points(x, I([[0], [2], [2], [7]]), (1,), "clip") ** 2, U(2, 3)),
    Case("gather_fill", lambda x: lax.gather_points(x, I([[0, 1], [2, 0], [2, 0], [-1, 0]]), (0, 1), "fill", 0.0) ** 2,
         U(3, 2)),
    Case("scatter_add", lambda x, u: lax.scatter_points(x, I([[1], [1], [5], [0]]), u, (0,), "add") ** 2,
         U(3, 2), U(4, 2)),
    Case("scatter_set", lambda x, u: lax.scatter_points(x, I([[1], [1], [0]]), u, (1,), "set") ** 2, U(2, 3), U(3, 2)),
    Case("scatter_mul", lambda x, u: lax.scatter_points(x, I([[1], [1], [0]]), u, (0,), "mul"), U(3), U(3, **POS)),
    Case("scatter_max_min", lambda x, u: lax.scatter_points(x, I([[1], [1], [0]]), u, (0,), "max")
         + lax.scatter_points(x, I([[2], [1]]), u[:2], (0,), "min"), np.array([0.1, -0.4, 0.3]), np.array([0.9, -0.2, -0.6])),
    Case("reduce_sum", lambda x: lax.reduce_sum(x, (0, 2)) ** 2, U(2, 3, 2)),
    Case("reduce_prod", lambda x: lax.reduce_prod(x, (1,)), U(3, 4)),
    Case("reduce_max_min", lambda x: lax.reduce_max(x, (0,)) * lax.reduce_min(x, (1,))[0], U(3, 4)),
    Case("cumsum", lambda x: lax.cumsum(x, 1) ** 2 + lax.cumsum(x, 0, reverse=True), U(3, 4)),
    Case("cumprod", lambda x: lax.cumprod(x, 1) + lax.cumprod(x, 0, reverse=True), U(3, 4)),
    Case("cummax_cummin", lambda x: lax.cummax(x, 0) * lax.cummin(x, 1, reverse=True), U(5, 3)),
    Case("cumlogsumexp", lambda x: lax.cumlogsumexp(x, 1), U(2, 5)),
    Case("sort", lambda x: lax.sort(x, 0) * np.arange(1.0, 4.0)[:, None], U(3, 2)),
    Case("dot_general", lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))), U(2, 3, 4), U(2, 4, 5)),
    Case("dot_general_multi", lambda a, b: lax.dot_general(a, b, (((0, 2), (2, 1)), ((), ()))), U(3, 2, 4), U(5, 4, 3)),
    Case("matmul_vdot", lambda a, b: jnp.vdot(a @ b, a @ b), U(3, 4), U(4, 2)),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_primitive_check_grads(case):
    check_grads(case.fn, tuple(jnp.asarray(a) for a in case.args), order=2, atol=case.tol, rtol=case.tol,
                eps=case.eps)


def test_cases_reach_every_differentiable_primitive():
    seen = set()
    for case in CASES:
        seen |= {e.prim for e in jax.make_jaxpr(case.fn)(*[jnp.asarray(a) for a in case.args]).eqns}
    # wrap: the leaf marker (identity); custom calls: tests/test_custom_derivatives.py;
    # stop_gradient: finite differences cannot see it (tests/test_ad.py checks its values).
    # Primitives outside the core (linalg, fft, collectives) are tested with their rules.
    exempt = set(P.GROUP.nondiff) | {P.nextafter_p, P.wrap_p, P.custom_jvp_call_p, P.custom_vjp_call_p}
    core = {v for v in vars(P).values() if isinstance(v, Primitive)}
    missing = sorted(p.name for p in core if p not in seen and p not in exempt)
    assert not missing, f"no check_grads case reaches: {missing}"


# --- composite functions ----------------------------------------------------------------------
def log_softmax(x):
    m = lax.stop_gradient(jnp.max(x, axis=-1, keepdims=True))
    s = x - m
    return s - jnp.log(jnp.sum(jnp.exp(s), axis=-1, keepdims=True))


def softmax_cross_entropy(logits, labels):
    return -jnp.mean(jnp.sum(labels * log_softmax(logits), axis=-1))


def layernorm(x, g, b):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + 1e-5) * g + b


def mlp_loss(params, x, y):
    (w1, b1), (w2, b2) = params
    h = jnp.tanh(x @ w1 + b1)
    return jnp.mean((h @ w2 + b2 - y) ** 2)


def test_softmax_cross_entropy():
    labels = jnp.asarray(np.eye(5)[[0, 3, 1, 4]])
    check_grads(lambda z: softmax_cross_entropy(z, labels), (jnp.asarray(U(4, 5) * 3),), order=2)


def test_layernorm():
    check_grads(layernorm, (jnp.asarray(U(3, 6)), jnp.asarray(U(6, seed=1)), jnp.asarray(U(6, seed=2))), order=2)


def test_mlp_loss():
    params = ((jnp.asarray(U(4, 8)), jnp.asarray(U(8, seed=1))), (jnp.asarray(U(8, 2, seed=2)), jnp.asarray(U(2, seed=3))))
    x, y = jnp.asarray(U(5, 4, seed=4)), jnp.asarray(U(5, 2, seed=5))
    check_grads(mlp_loss, (params, x, y), order=2)
    # Reverse-over-reverse only, as jax.test_util does with modes=("rev",).
    check_grads(lambda p: mlp_loss(p, x, y), (params,), order=2, modes=("rev",))


def test_complex_functions():
    z = jnp.asarray(np.array([1 + 2j, 0.3 - 0.5j, -0.7 + 0.1j]))
    check_grads(lambda z: z * z + jnp.exp(z) * jnp.sin(z) / (z + 2.0), (z,), order=2)
    check_grads(lambda z: jnp.conj(z) * jnp.real(z) + jnp.imag(z), (z,), order=2)   # not holomorphic
    check_grads(lambda x: jnp.abs(jnp.fft.fft(x)) ** 2, (jnp.asarray(U(4)),), order=2)


def test_check_grads_catches_a_wrong_rule():
    @jax.custom_jvp
    def f(x):
        return jnp.sin(x)
    f.defjvp(lambda p, t: (f(p[0]), 1.01 * jnp.cos(p[0]) * t[0]))   # off by 1%
    with pytest.raises(AssertionError):
        check_grads(f, (jnp.asarray(U(3)),), order=1, modes=("fwd",))
    with pytest.raises(AssertionError):
        check_grads(f, (jnp.asarray(U(3)),), order=1, modes=("rev",))


# --- conventions: ties, zeros, clamped indices (values from JAX 0.10.2) -----------------------
def close(a, b):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12, atol=1e-12)


def test_ties_split_equally():
    x = jnp.array([[1., 3., 3.], [2., 2., 0.]])
    close(jax.grad(lambda x: jnp.sum(jnp.max(x, axis=1) * jnp.array([1., 2.])))(x), [[0, .5, .5], [1, 1, 0]])
    close(jax.grad(lambda x: jnp.sum(jnp.min(x, axis=0) * jnp.array([1., 2., 3.])))(x), [[1, 0, 0], [0, 2, 3]])
    close(jax.grad(lambda x: jnp.sum(jnp.maximum(x, 2.)))(x), [[0, 1, 1], [.5, .5, 0]])
    gx, gy = jax.grad(lambda x, y: jnp.sum(jnp.minimum(x, y)), (0, 1))(jnp.array([1., 2., 3.]), jnp.array([1., 3., 2.]))
    close(gx, [.5, 1, 0])
    close(gy, [.5, 0, 1])
    close(jax.grad(lambda x: jnp.sum(lax.cummax(x) * jnp.arange(1., 5.)))(jnp.array([1., 3., 2., 3.])), [1, 7, 0, 2])
    close(jax.grad(lambda x: jnp.sum(jnp.sort(x) * jnp.arange(1., 5.)))(jnp.array([2., 1., 2., 0.])), [3, 2, 4, 1])


def test_scatter_conventions():
    u, idx, x = jnp.array([3., 5., 5., 1.]), jnp.array([0, 1, 1, 2]), jnp.array([3., 4., 2.])
    w = jnp.array([1., 2., 3.])
    for method, ex, eu in [("max", [.5, 0, 3], [.5, 1, 1, 0]), ("min", [.5, 2, 0], [.5, 0, 0, 3]),
                           ("set", [0, 0, 0], [1, 0, 2, 3]), ("add", [1, 2, 3], [1, 2, 2, 3])]:
        gx, gu = jax.grad(lambda x, u: jnp.sum(getattr(x.at[idx], method)(u) * w), (0, 1))(x, u)
        close(gx, ex)
        close(gu, eu)


def test_zeros_in_products():
    close(jax.grad(jnp.prod)(jnp.array([3., 0., 2.])), [0, 6, 0])
    close(jax.grad(jnp.prod)(jnp.array([3., 0., 0.])), [0, 0, 0])
    close(jax.grad(lambda x: jnp.sum(jnp.cumprod(x)))(jnp.array([3., 0., 2., 4.])), [1, 33, 0, 0])
    close(jax.grad(lambda x: jnp.sum(x.at[jnp.array([0, 2])].multiply(jnp.array([2., 0.]))))(jnp.array([1., 2., 3.])),
          [2, 1, 0])
    # JAX refuses updates' gradients of scatter-mul with repeated indices; the exact values are
    # d/du_j prod(u at the same index) = product of the others.
    g = jax.grad(lambda u: jnp.sum(jnp.array([1., 2., 3.]).at[jnp.array([0, 0, 2, 2])].multiply(u)))(
        jnp.array([2., 0., 5., 4.]))
    close(g, [0, 2, 3 * 4, 3 * 5])


def test_abs_and_clamped_gather_conventions():
    close(jax.grad(lambda x: jnp.sum(jnp.abs(x)))(jnp.array([-1., 0., 2.])), [-1, 1, 1])
    # take(mode="clip") clamps index 5 to 2: its cotangent lands there.
    close(jax.grad(lambda x: jnp.sum(jnp.take(x, jnp.array([0, 0, 2, 5]), mode="clip") * jnp.arange(1., 5.)))(
        jnp.array([1., 2., 3.])), [3, 0, 7])


# --- the shared op table ----------------------------------------------------------------------
from op_table import OPS, make_args  # noqa: E402  (tests/ is on sys.path under pytest)


def _grad_args(op):
    """Arguments for a gradient check in float64: the op's gradient domain (grad_rng) and its
    float arguments promoted to float64; static and integer/bool arguments stay as they are."""
    dt = np.float64 if np.dtype(np.float64) in op.dtypes else next(d for d in op.dtypes if dtypes.is_inexact(d))
    spec = copy.copy(op)
    spec.rng = op.grad_rng or GRAD_RNG.get(op.name) or op.rng
    args = make_args(spec, dt, np.random.default_rng(0))
    diff = [i not in op.static and isinstance(a, np.ndarray) and dtypes.is_inexact(a.dtype) for i, a in enumerate(args)]
    args = [a.astype(np.float64) if d else a for a, d in zip(args, diff)]
    return args, diff


# Finite differences see through stop_gradient, so its gradient is checked by value instead.
FD_BLIND = {"lax.stop_gradient"}
# Ops whose table domain has ties where the derivative is one-sided (asked the table's owner for
# a grad_rng).
GRAD_RNG = {"sort_axis0": "distinct"}


@pytest.mark.parametrize("op", [op for op in OPS if op.grad], ids=lambda op: op.name)
def test_op_table_check_grads(op):
    args, diff = _grad_args(op)
    if op.name in FD_BLIND:
        x = jnp.asarray(args[0])     # d/dx sum(stop_gradient(x) * x) = x
        close(jax.grad(lambda x: jnp.sum(op.fn(jnp, x)))(x), args[0])
        return
    fixed = [a if i in op.static else jnp.asarray(a) for i, a in enumerate(args)]

    def f(*xs):
        it = iter(xs)
        return op.fn(jnp, *[next(it) if d else a for a, d in zip(fixed, diff)])
    xs = tuple(jnp.asarray(a) for a, d in zip(args, diff) if d)
    tol, eps = op.grad_tol, None
    if any(np.dtype(o.dtype) in (np.dtype(np.float16), np.dtype(dtypes.bfloat16))
           for o in jax.tree_util.tree_leaves(f(*xs))):
        # A 16-bit result resolves ~1e-3: finite differences need a wide step and tolerance.
        tol, eps = tol or 5e-2, 1e-1
    check_grads(f, xs, order=2, atol=tol, rtol=tol, eps=eps)
