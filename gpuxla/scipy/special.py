"""gpuxla.scipy.special: special functions, as in `jax.scipy.special`.

>>> import gpuxla.numpy as jnp
>>> from gpuxla.scipy.special import logsumexp
>>> logsumexp(jnp.array([0.0, 0.0]))
Array(0.6931472, dtype=float32)
"""
import math

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ..numpy._ufuncs import _promote
from ..numpy._util import _full_shape
from ..transforms.ad import custom_jvp

__all__ = ["betaln", "digamma", "entr", "erf", "erfc", "erfinv", "expit", "gamma", "gammaln", "gammasgn",
           "kl_div", "log_ndtr", "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri",
           "rel_entr", "sinc", "softmax", "xlog1py", "xlogy", "polygamma", "zeta"]


def _inexact(*xs):
    """Promote like JAX's promote_args_inexact (a common dtype, integers to the default float,
    Python scalars weak) and broadcast to a common shape."""
    xs = _promote(*xs, op="scipy.special")
    if not dtypes.is_inexact(xs[0].dtype):
        xs = [lax.convert_element_type(x, dtypes.default_float_dtype(), weak_type=x.weak_type) for x in xs]
    return xs if len(xs) == 1 else _full_shape(xs)


def _unary(laxfn, name, doc):
    def f(x):
        (x,) = _inexact(x)
        return laxfn(x)
    f.__name__, f.__doc__ = name, doc
    return f


erf = _unary(lax.erf, "erf", "The error function 2/sqrt(pi) * integral_0^x exp(-t^2) dt.")
erfc = _unary(lax.erfc, "erfc", "1 - erf(x), accurate for large x.")
erfinv = _unary(lax.erf_inv, "erfinv", "The inverse of erf on (-1, 1).")
expit = _unary(lax.logistic, "expit", "The logistic sigmoid 1 / (1 + exp(-x)).")
gammaln = _unary(lax.lgamma, "gammaln", "log |Gamma(x)|.")
digamma = _unary(lax.digamma, "digamma", "d/dx log Gamma(x).")


def logit(x):
    """log(x / (1 - x)), the inverse of expit."""
    (x,) = _inexact(x)
    return lax.log(lax.div(x, lax.sub(lax.full_like(x, 1), x)))


def gammasgn(x):
    """The sign of Gamma(x): +1 for x > 0, alternating between the poles for x < 0, NaN at poles."""
    (x,) = _inexact(x)
    fl = jnp.floor(x)
    sgn = jnp.where((x > 0) | (jnp.remainder(fl, 2) == 0), 1.0, -1.0).astype(x.dtype)
    return jnp.where((x <= 0) & (x == fl), jnp.nan, jnp.where(x == 0, jnp.copysign(1.0, x), sgn))


def gamma(x):
    """Gamma(x) = sign * exp(gammaln(x))."""
    (x,) = _inexact(x)
    return gammasgn(x) * lax.exp(lax.lgamma(x))


def betaln(a, b):
    """log |B(a, b)| = gammaln(a) + gammaln(b) - gammaln(a + b)."""
    a, b = _inexact(a, b)
    return lax.lgamma(a) + lax.lgamma(b) - lax.lgamma(a + b)


def multigammaln(a, d):
    """The log of the multivariate gamma function of dimension d."""
    (a,) = _inexact(a)
    d = int(d)
    c = (d * (d - 1) / 4) * math.log(math.pi)
    return c + jnp.sum(lax.lgamma(jnp.expand_dims(a, -1) - jnp.arange(d, dtype=a.dtype) / 2), axis=-1)


def zeta(x, q=None):
    """The Hurwitz zeta function sum_k (q + k)^-x (x > 1, q > 0); lax.zeta after promotion."""
    if q is None:
        raise NotImplementedError("Riemann zeta function not implemented; pass q=1 for the Riemann zeta function")
    return lax.zeta(*_inexact(x, q))


def polygamma(n, x):
    """The n-th derivative of digamma; lax.polygamma after promotion (nan for non-integer n)."""
    if isinstance(n, (int, np.integer)) and n < 0:
        raise ValueError(f"polygamma: order n must be non-negative, got {n}")
    return lax.polygamma(*_inexact(n, x))


@custom_jvp
def xlogy(x, y):
    """x * log(y), defined as 0 where x == 0 (also its value there when y == 0)."""
    x, y = _inexact(x, y)
    return jnp.where(x != 0, x * lax.log(y), jnp.zeros_like(x))


# JAX's rule: the x-derivative is log(y) even at x == 0.
xlogy.defjvp(lambda p, t: (xlogy(*p), t[0] * lax.log(_inexact(*p)[1]) + t[1] * lax.div(*_inexact(*p))))


@custom_jvp
def xlog1py(x, y):
    """x * log1p(y), defined as 0 where x == 0."""
    x, y = _inexact(x, y)
    return jnp.where(x != 0, x * lax.log1p(y), jnp.zeros_like(x))


xlog1py.defjvp(lambda p, t: (xlog1py(*p), t[0] * lax.log1p(_inexact(*p)[1])
                             + t[1] * _inexact(*p)[0] / (1 + _inexact(*p)[1])))


def entr(x):
    """-x log x for x > 0, 0 at 0, -inf for x < 0."""
    (x,) = _inexact(x)
    safe = jnp.where(x > 0, x, jnp.ones_like(x))
    return jnp.where(x > 0, -x * lax.log(safe), jnp.where(x == 0, 0.0, -jnp.inf).astype(x.dtype))


def rel_entr(x, y):
    """x log(x / y) for x, y > 0; 0 for x == 0, y >= 0; inf otherwise."""
    x, y = _inexact(x, y)
    both = (x > 0) & (y > 0)
    sx, sy = jnp.where(both, x, 1.0), jnp.where(both, y, 1.0)
    return jnp.where(both, sx * lax.log(sx / sy), jnp.where((x == 0) & (y >= 0), 0.0, jnp.inf).astype(x.dtype))


def kl_div(p, q):
    """p log(p / q) - p + q, with scipy's conventions at the boundary."""
    p, q = _inexact(p, q)
    both = (p > 0) & (q > 0)
    sp, sq = jnp.where(both, p, 1.0), jnp.where(both, q, 1.0)
    return jnp.where(both, sp * lax.log(sp / sq) - sp + sq, jnp.where((p == 0) & (q >= 0), q, jnp.inf))


def sinc(x):
    return jnp.sinc(x)


def logsumexp(a, axis=None, b=None, keepdims=False, return_sign=False, where=None):
    """log(sum(b * exp(a))) along `axis`, with the maximum subtracted for stability (and a
    stop_gradient on it, so the gradient is the softmax).

    >>> logsumexp(jnp.array([1.0, 2.0]), b=jnp.array([1.0, -1.0]), return_sign=True)
    (Array(1.5413249, dtype=float32), Array(-1., dtype=float32))
    """
    if b is None:
        (a,) = _inexact(a)
    else:
        a, b = _inexact(a, b)
        a = jnp.where(b != 0, a, -jnp.inf)
    if where is not None:
        a = jnp.where(where, a, -jnp.inf)
    m = jnp.max(a, axis=axis, keepdims=True, initial=-jnp.inf) if a.size else jnp.full(
        jnp.sum(a, axis=axis, keepdims=True).shape, -jnp.inf, a.dtype)
    m = lax.stop_gradient(jnp.where(jnp.isfinite(m), m, jnp.zeros_like(m)))
    e = lax.exp(a - m)
    if b is not None:
        e = e * b
    s = jnp.sum(e, axis=axis, keepdims=keepdims)
    sign = lax.sign(s)
    m = m if keepdims else jnp.squeeze(m, axis=axis if axis is not None else tuple(range(a.ndim)))
    out = lax.log(lax.abs(s)) + m
    if return_sign:
        return out, sign
    return out if b is None else jnp.where(sign < 0, jnp.nan, out)


def softmax(x, axis=None):
    from ..nn import softmax as _sm
    return _sm(x, axis=axis)


def log_softmax(x, axis=None):
    from ..nn import log_softmax as _lsm
    return _lsm(x, axis=axis)


_HALF_SQRT2 = 0.5 * math.sqrt(2.0)


def ndtr(x):
    """The standard normal CDF, through erf near 0 and erfc in the tails (no cancellation)."""
    (x,) = _inexact(x)
    z = x * _HALF_SQRT2
    az = lax.abs(z)
    y = jnp.where(az < _HALF_SQRT2, 1.0 + lax.erf(z), jnp.where(z > 0, 2.0 - lax.erfc(az), lax.erfc(az)))
    return 0.5 * y


def ndtri(p):
    """The inverse of ndtr: sqrt(2) * erfinv(2p - 1) (0 -> -inf, 1 -> inf, outside NaN)."""
    (p,) = _inexact(p)
    return math.sqrt(2.0) * lax.erf_inv(2.0 * p - 1.0)


def _log_ndtr_series(x, order=3):
    # log Phi(x) for x << -1: log(phi(x) / -x) + log(1 - 1/x^2 + 3/x^4 - 15/x^6 ...)
    x2 = x * x
    s, t = jnp.ones_like(x), jnp.ones_like(x)
    for n in range(1, order + 1):
        t = t * (-(2 * n - 1)) / x2
        s = s + t
    return -0.5 * x2 - lax.log(-x) - 0.5 * math.log(2 * math.pi) + lax.log(s)


def log_ndtr(x, series_order=3):
    """log of the standard normal CDF, accurate far into both tails (an asymptotic series of
    `series_order` terms below -10, or -20 in float64)."""
    f = _LOG_NDTR.get(series_order)
    if f is None:
        f = _LOG_NDTR[series_order] = custom_jvp(lambda v: _log_ndtr(v, series_order))
        # d/dx log Phi(x) = phi(x) / Phi(x), computed in log space so the tails stay finite.
        f.defjvps(lambda t, ans, v: t * lax.exp(-0.5 * _inexact(v)[0] ** 2 - 0.5 * math.log(2 * math.pi) - ans))
    return f(x)


_LOG_NDTR = {}


def _log_ndtr(x, order):
    (x,) = _inexact(x)
    lo, hi = (-20.0, 8.0) if x.dtype == np.float64 else (-10.0, 5.0)
    big = x > hi
    nd = ndtr(jnp.where(big, -x, jnp.maximum(x, lo)))
    return jnp.where(big, -nd, jnp.where(x > lo, lax.log(nd), _log_ndtr_series(jnp.minimum(x, lo), order)))


# The rest of jax.scipy.special (#21): incomplete gamma/beta, exponential integrals, Bessel I0/I1, ...
from ._special_more import *  # noqa: E402,F401,F403
from . import _special_more  # noqa: E402
__all__ += _special_more.__all__
from ._special_hyp import *  # noqa: E402,F401,F403
from . import _special_hyp  # noqa: E402
__all__ += _special_hyp.__all__
