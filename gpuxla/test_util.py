"""Testing helpers, as `jax.test_util`: `check_grads` and the checks it is made of.

    >>> import gpuxla.numpy as jnp
    >>> from gpuxla.test_util import check_grads
    >>> check_grads(jnp.sin, (0.3,), order=2)

JVPs are compared with central finite differences along random directions; VJPs with JVPs through
the identity <u, J v> = <J^T u, v> for random u, v. Higher orders apply the same checks to the
functions `(x, t) -> jvp(f, x, t)` and `x -> vjp(f, x)[1](f(x))`. Finite differences are only as
good as the dtype: use float64 (`jax_enable_x64`) for tight checks.

Tolerances follow JAX's `check_grads`: by default each compared value's dtype picks one from JAX's
gradient tolerance table (float32: 2e-3), and, as in JAX, the tolerance of an array comparison is
multiplied by the array's size.
"""
import numpy as np

from .core import dtypes
from .transforms.ad import jvp, vjp
from .tree_util import tree_flatten, tree_map

__all__ = ["check_grads", "check_jvp", "check_vjp", "numerical_jvp"]

EPS = 1e-4
# JAX's default_gradient_tolerance (jax._src.public_test_util)
_TOL = {np.dtype(np.float16): 1e-2, np.dtype(dtypes.bfloat16): 1e-1, np.dtype(np.float32): 2e-3,
        np.dtype(np.float64): 1e-5, np.dtype(np.complex64): 1e-3, np.dtype(np.complex128): 1e-5}


def _dtype(x):
    if hasattr(x, "dtype"):
        return x.dtype
    return dtypes.default_float_dtype() if isinstance(x, float) else np.asarray(x).dtype


def _is_float(x):
    return dtypes.is_inexact(_dtype(x)) and _dtype(x) != dtypes.float0


def _tol(tree, given):
    if given is not None:
        return given
    leaves = [x for x in tree_flatten(tree)[0] if _is_float(x)]
    return max([_TOL.get(np.dtype(_dtype(x)), 1e-5) for x in leaves] or [1e-5])


def _tol_of(a, b, given):
    """JAX's tolerance for comparing a with b: the larger of their dtypes' (or `given`)."""
    if given is not None:
        return given
    return max(_TOL.get(np.dtype(_dtype(v)), 1e-5) if _is_float(v) else 0.0 for v in (a, b))


def _np(x):
    if not _is_float(x):
        return np.asarray(x)
    return np.asarray(x, dtype=np.complex128 if dtypes.is_complex(_dtype(x)) else np.float64)


def _check_close(x, y, atol, rtol, err_msg):
    xs, tx = tree_flatten(x)
    ys, ty = tree_flatten(y)
    if tx != ty:
        raise AssertionError(f"{err_msg}: tree structures differ: {tx} vs {ty}")
    for a, b in zip(xs, ys):
        if not (_is_float(a) or _is_float(b)):
            continue
        size = max(int(np.size(a)), 1)
        np.testing.assert_allclose(_np(a), _np(b), atol=_tol_of(a, b, atol) * size,
                                   rtol=_tol_of(a, b, rtol) * size, err_msg=err_msg)


def _rand_like(rng, tree):
    """Random normal values for float leaves (float0 zeros for the others)."""
    def one(x):
        if not _is_float(x):
            return np.zeros(np.shape(x), dtypes.float0)
        v = rng.standard_normal(np.shape(x))
        if dtypes.is_complex(_dtype(x)):
            v = v + 1j * rng.standard_normal(np.shape(x))
        from . import numpy as jnp
        return jnp.asarray(v.astype(np.dtype(_dtype(x))))
    return tree_map(one, tree)


def _axpy(a, t, x):
    """x + a * t for float leaves; other leaves unchanged."""
    def one(xi, ti):
        if not _is_float(xi):
            return xi
        dt = np.dtype(_dtype(xi))
        return (_np(xi) + a * _np(ti)).astype(dt)
    return tree_map(one, x, t)


def _as_arrays(tree):
    from . import numpy as jnp
    return tree_map(lambda v: jnp.asarray(v) if isinstance(v, np.ndarray) and v.dtype != dtypes.float0 else v, tree)


def numerical_jvp(f, primals, tangents, eps=EPS):
    """Central difference (f(x + eps t) - f(x - eps t)) / (2 eps), leaves as float64 NumPy."""
    f_pos = f(*_as_arrays(_axpy(eps, tangents, primals)))
    f_neg = f(*_as_arrays(_axpy(-eps, tangents, primals)))
    return tree_map(lambda p, n: (_np(p) - _np(n)) / (2 * eps) if _is_float(p)
                                 else np.zeros(np.shape(p), dtypes.float0),
                    f_pos, f_neg)


def _inner(xs, ys):
    """Re <x, y> with x conjugated (the real inner product of complex numbers as pairs)."""
    total = 0.0
    for a, b in zip(tree_flatten(xs)[0], tree_flatten(ys)[0]):
        if _is_float(a) and _is_float(b):
            total += float(np.real(np.vdot(_np(a), _np(b))))
    return total


def _conj(tree):
    return tree_map(lambda v: np.conj(_np(v)).astype(_dtype(v)) if _is_float(v) and dtypes.is_complex(_dtype(v)) else v,
                    tree)


def check_jvp(f, f_jvp, args, atol=None, rtol=None, eps=EPS, err_msg="", rng=None):
    """f_jvp(primals, tangents) -> (out, tangent_out) agrees with f and with finite differences."""
    rng = rng if rng is not None else np.random.RandomState(0)
    tangent = _rand_like(rng, args)
    v_out, t_out = f_jvp(args, tangent)
    _check_close(v_out, f(*args), atol, rtol, f"{err_msg} primal output of jvp")
    t_num = numerical_jvp(f, args, tangent, eps)
    _check_close(t_out, t_num, atol, rtol, f"{err_msg} jvp vs finite differences")


def check_vjp(f, f_vjp, args, atol=None, rtol=None, eps=EPS, err_msg="", rng=None, f_jvp=None):
    """f_vjp(*primals) -> (out, pullback): <u, J v> equals <pullback(u), v> for random u, v, with
    J v from `f_jvp` when given (exact), else from finite differences."""
    rng = rng if rng is not None else np.random.RandomState(1)
    v_out, pullback = f_vjp(*args)
    _check_close(v_out, f(*args), atol, rtol, f"{err_msg} primal output of vjp")
    tangent = _rand_like(rng, args)
    t_out = f_jvp(args, tangent)[1] if f_jvp is not None else numerical_jvp(f, args, tangent, eps)
    cotangent = _rand_like(rng, v_out)
    # gpuxla's (and JAX's) VJP transposes without conjugating: conjugate around it to get the
    # adjoint for the complex inner product.
    ct_in = _conj(pullback(_as_arrays(_conj(cotangent))))
    ip = _inner(tangent, ct_in)
    ip_expected = _inner(t_out, cotangent)
    # An inner product sums many terms: scale the tolerance by their magnitude.
    scale = max(1.0, float(np.sqrt(_inner(t_out, t_out) * _inner(cotangent, cotangent))))
    atol, rtol = _tol(args, atol), _tol(args, rtol)
    np.testing.assert_allclose(ip, ip_expected, atol=atol * scale, rtol=rtol,
                               err_msg=f"{err_msg} vjp: <u, J v> != <J^T u, v>")


def check_grads(f, args, order, modes=("fwd", "rev"), atol=None, rtol=None, eps=None):
    """Check f's derivatives up to `order` in forward ("fwd") and/or reverse ("rev") mode.

    Raises AssertionError on a mismatch."""
    args = tuple(args)
    eps = eps or EPS
    if isinstance(modes, str):
        modes = (modes,)

    def f_jvp(f):
        return lambda primals, tangents: jvp(f, tuple(primals), tuple(tangents))

    def rec(f, args, order, msg):
        if "fwd" in modes:
            check_jvp(f, f_jvp(f), args, atol, rtol, eps, f"{msg}fwd")
            if order > 1:
                # Use the primals as tangents (float0 for integer arguments).
                t = tuple(tree_map(lambda x: x if _is_float(x) else np.zeros(np.shape(x), dtypes.float0), args))
                rec(lambda p, t: jvp(f, tuple(p), tuple(t)), (args, t), order - 1, f"{msg}fwd/")
        if "rev" in modes:
            check_vjp(f, lambda *a: vjp(f, *a), args, atol, rtol, eps, f"{msg}rev",
                      f_jvp=f_jvp(f) if "fwd" in modes else None)
            if order > 1:
                def f_vjp(*a):
                    out, pullback = vjp(f, *a)
                    return pullback(out)
                rec(f_vjp, args, order - 1, f"{msg}rev/")

    rec(f, args, order, "")
