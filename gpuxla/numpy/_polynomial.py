"""Polynomials with coefficients highest power first (as `jax.numpy`'s poly* functions): arithmetic,
calculus, fitting, roots, and vander/trim_zeros.

>>> import gpuxla.numpy as jnp
>>> jnp.polymul(jnp.array([1.0, 1.0]), jnp.array([1.0, -1.0]))
Array([ 1.,  0., -1.], dtype=float32)
"""
import operator

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ..core.graph import Array
from ._util import _inexact

__all__ = ["poly", "polyadd", "polysub", "polymul", "polydiv", "polyder", "polyint", "polyfit", "roots",
           "vander", "trim_zeros"]


def _1d(p, name):
    p = jnp.asarray(p)
    if p.ndim != 1:
        raise ValueError(f"{name}: input must be a rank-1 array, got shape {p.shape}")
    return p


def _flt(p):
    return p if dtypes.is_inexact(p.dtype) else p.astype(_inexact(p.dtype))


def _concrete(x, name):
    if isinstance(x, Array) and x.sym is not None and x._buf is None:
        from ._util import _concrete_error
        raise _concrete_error(name, x)
    return np.asarray(x._value() if isinstance(x, Array) else x)


def _trim_leading(p, name):
    v = _concrete(p, name)
    nz = np.nonzero(v)[0]
    return p[int(nz[0]):] if nz.size else p[:1]


def poly(seq_of_zeros):
    """The coefficients of the monic polynomial with the given roots (a 1-d array; a square matrix's
    eigenvalues need a general eigensolver, which gpuxla does not have)."""
    z = jnp.asarray(seq_of_zeros)
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] > 0:
        raise NotImplementedError("jnp.poly of a square matrix needs eigvals, which gpuxla does not implement")
    if z.ndim != 1:
        raise ValueError("Input must be a rank-1 array or a square 2-D array")
    z = _flt(z)
    a = jnp.ones((1,), z.dtype)
    for i in range(z.shape[0]):
        a = jnp.concatenate([a, jnp.zeros((1,), z.dtype)]) - jnp.concatenate([jnp.zeros((1,), z.dtype), a * z[i]])
    return a


def _align(a1, a2):
    a1, a2 = jnp.asarray(a1), jnp.asarray(a2)
    n = max(a1.shape[0], a2.shape[0])
    return (jnp.pad(a1, (n - a1.shape[0], 0)), jnp.pad(a2, (n - a2.shape[0], 0)))


def polyadd(a1, a2):
    a1, a2 = _align(_1d(a1, "polyadd"), _1d(a2, "polyadd"))
    return a1 + a2


def polysub(a1, a2):
    a1, a2 = _align(_1d(a1, "polysub"), _1d(a2, "polysub"))
    return a1 - a2


def polymul(a1, a2, *, trim_leading_zeros=False):
    a1, a2 = jnp.atleast_1d(jnp.asarray(a1)), jnp.atleast_1d(jnp.asarray(a2))
    if trim_leading_zeros and (a1.shape[0] > 1 or a2.shape[0] > 1):
        a1, a2 = _trim_leading(a1, "polymul"), _trim_leading(a2, "polymul")
    if a1.shape[0] == 0:
        a1 = jnp.zeros((1,), a1.dtype)
    if a2.shape[0] == 0:
        a2 = jnp.zeros((1,), a2.dtype)
    return jnp.convolve(a1, a2, mode="full")


def polydiv(u, v, *, trim_leading_zeros=False):
    """(quotient, remainder) of u / v by long division; the remainder keeps u's length (as JAX)."""
    u, v = _flt(_1d(u, "polydiv")), _flt(_1d(v, "polydiv"))
    dt = dtypes.result_type(u, v)
    u, v = u.astype(dt), v.astype(dt)
    if trim_leading_zeros:
        v = _trim_leading(v, "polydiv")
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = 1.0 / v[0]
    q = jnp.zeros((max(m - n + 1, 1),), dt)
    r = u
    for k in range(0, m - n + 1):
        d = scale * r[k]
        q = q.at[k].set(d)
        r = r.at[k:k + n + 1].add(-d * v)
    if trim_leading_zeros:
        r = _trim_leading(r, "polydiv")
    return q, r


def polyder(p, m=1):
    """The m-th derivative's coefficients."""
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of derivative must be positive")
    p = _flt(_1d(p, "polyder"))
    for _ in range(m):
        n = p.shape[0]
        if n <= 1:
            return jnp.zeros((0,), p.dtype) if n == 0 else jnp.zeros((0,), p.dtype)
        p = p[:-1] * jnp.arange(n - 1, 0, -1, dtype=p.dtype)
    return p


def polyint(p, m=1, k=None):
    """The m-th antiderivative's coefficients, with integration constants k (k[0] for the first)."""
    m = operator.index(m)
    if m < 0:
        raise ValueError(f"jnp.polyint: order of integral must be positive (got {m})")
    p = _flt(_1d(p, "polyint"))
    if m == 0:
        return p
    k = jnp.zeros((m,), p.dtype) if k is None else jnp.atleast_1d(jnp.asarray(k)).astype(p.dtype)
    if k.shape[0] == 1 and m > 1:
        k = jnp.broadcast_to(k, (m,))
    if k.shape[0] != m:
        raise ValueError(f"jnp.polyint: k must be a scalar or a rank-1 array of length 1 or m={m}")
    for i in range(m):
        n = p.shape[0]
        p = jnp.concatenate([p / jnp.arange(n, 0, -1, dtype=p.dtype), k[i:i + 1]])
    return p


def vander(x, N=None, increasing=False):
    """Columns x^(N-1), ..., x, 1 (or increasing powers)."""
    x = _1d(x, "vander")
    N = x.shape[0] if N is None else operator.index(N)
    if N < 0:
        raise ValueError("N must be nonnegative")
    powers = jnp.arange(N, dtype=x.dtype if dtypes.is_inexact(x.dtype) else dtypes.default_int_dtype())
    if not increasing:
        powers = powers[::-1]
    return jnp.power(x[:, None], powers.astype(x.dtype) if dtypes.is_inexact(x.dtype) else powers)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """Least-squares polynomial fit of degree deg (columns scaled to unit norm before solving)."""
    deg = operator.index(deg)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    x, y = _flt(jnp.asarray(x)), _flt(jnp.asarray(y))
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.shape[0] == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim not in (1, 2):
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    dt = dtypes.result_type(x, y)
    x, y = x.astype(dt), y.astype(dt)
    order = deg + 1
    if rcond is None:
        rcond = x.shape[0] * float(np.finfo(dt).eps)
    lhs = vander(x, order)
    rhs = y
    if w is not None:
        w = jnp.asarray(w).astype(dt)
        if w.ndim != 1 or w.shape[0] != y.shape[0]:
            raise TypeError("expected a 1-d weight vector of the same length as y")
        lhs = lhs * w[:, None]
        rhs = rhs * (w if rhs.ndim == 1 else w[:, None])
    scale = jnp.sqrt(jnp.sum(lhs * lhs, axis=0))
    lhs = lhs / scale
    c, resids, rank, s = jnp.linalg.lstsq(lhs, rhs, rcond)
    c = (c.T / scale).T
    if full:
        return c, resids, rank, s, jnp.asarray(rcond, dt)
    if cov:
        Vbase = jnp.linalg.inv(lhs.T @ lhs)
        Vbase = Vbase / jnp.outer(scale, scale)
        if cov == "unscaled":
            fac = jnp.asarray(1.0, dt)
        else:
            if x.shape[0] <= order:
                raise ValueError("the number of data points must exceed order to scale the covariance matrix")
            fac = resids / (x.shape[0] - order)
        if y.ndim == 1:
            return c, Vbase * fac
        return c, Vbase[:, :, None] * fac
    return c


def roots(p, *, strip_zeros=True):
    """The complex roots of the polynomial p, by Aberth-Ehrlich iteration from points on a circle
    that bounds them (gpuxla has no general eigensolver for the companion matrix). Leading zeros
    are stripped (needs concrete p); trailing zeros give exact zero roots."""
    p = _flt(_1d(p, "roots"))
    cdt = np.complex128 if p.dtype in (np.float64, np.complex128) else np.complex64
    if strip_zeros:
        v = _concrete(p, "roots")
        nz = np.nonzero(v)[0]
        if nz.size == 0:
            return jnp.zeros((0,), cdt)
        p = p[int(nz[0]):int(nz[-1]) + 1]
        n_trailing = len(v) - 1 - int(nz[-1])
    else:
        n_trailing = 0
    n = p.shape[0] - 1
    if n < 1:
        return jnp.zeros((n_trailing,), cdt)
    pc = p.astype(cdt)
    pc = pc / pc[0]
    dp = (pc[:-1] * jnp.arange(n, 0, -1).astype(cdt))
    # Cauchy's bound 1 + max|a_i| contains every root; start on a slightly rotated circle inside it
    radius = 1 + jnp.max(jnp.abs(pc[1:]))
    ang = jnp.arange(n, dtype=p.real.dtype if hasattr(p, "real") else p.dtype) * (2 * np.pi / n) + 0.4
    z0 = (radius * 0.5).astype(cdt) * (jnp.cos(ang) + 1j * jnp.sin(ang)).astype(cdt)
    eye = jnp.eye(n, dtype=bool)

    def step(_, z):
        pv, dv = jnp.polyval(pc, z), jnp.polyval(dp, z)
        ratio = pv / dv
        diff = z[:, None] - z[None, :]
        inv = jnp.where(eye, 0, 1 / jnp.where(eye, 1, diff))
        corr = ratio / (1 - ratio * jnp.sum(inv, axis=1))
        ok = jnp.isfinite(corr.real) & jnp.isfinite(corr.imag)
        return z - jnp.where(ok, corr, 0)

    z = lax.fori_loop(0, 80 if cdt == np.complex128 else 50, step, z0)
    if n_trailing:
        z = jnp.concatenate([z, jnp.zeros((n_trailing,), cdt)])
    return z


def trim_zeros(filt, trim="fb", axis=None):
    """filt without its leading ('f') and/or trailing ('b') zeros; the result's size depends on the
    values, so filt must be concrete."""
    filt = jnp.asarray(filt)
    if filt.ndim != 1 and axis is None:
        raise ValueError("trim_zeros: axis is needed for arrays of more than one dimension")
    v = _concrete(filt, "trim_zeros")
    trim = trim.lower()
    nz = np.nonzero(v)[0]
    if nz.size == 0:
        return filt[:0]
    start = int(nz[0]) if "f" in trim else 0
    stop = int(nz[-1]) + 1 if "b" in trim else v.shape[0]
    return filt[start:stop]
