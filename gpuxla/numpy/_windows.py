"""Window functions (bartlett, blackman, hamming, hanning, kaiser) and the modified Bessel functions
behind kaiser: i0 here, and the exponentially scaled i0e/i1e that gpuxla.scipy.special re-exports.

The Bessel functions are lax.bessel_i0e / lax.bessel_i1e (a power series for |x| <= 20, Hankel's
asymptotic expansion beyond; plain lax arithmetic, so they differentiate).

>>> import gpuxla.numpy as jnp
>>> jnp.hanning(3)
Array([0., 1., 0.], dtype=float32)
"""
import operator

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ._util import _inexact

__all__ = ["bartlett", "blackman", "hamming", "hanning", "kaiser", "i0"]

def _float(x):
    x = jnp.asarray(x)
    return x if dtypes.is_inexact(x.dtype) else x.astype(_inexact(x.dtype))


def _bessel_scaled(x, v):
    """exp(-|x|) * I_v(x) for v in {0, 1}: lax.bessel_i0e / bessel_i1e hold the implementation."""
    return lax.bessel_i0e(x) if v == 0 else lax.bessel_i1e(x)


def i0e(x):
    x = _float(x)
    return _bessel_scaled(x, 0)


def i1e(x):
    x = _float(x)
    return _bessel_scaled(x, 1)


def i0(x):
    """The modified Bessel function of the first kind, order 0."""
    x = _float(x)
    if dtypes.issubdtype(x.dtype, np.complexfloating):
        raise TypeError("i0 does not support complex input")
    return _bessel_scaled(x, 0) * jnp.exp(jnp.abs(x))


def i1(x):
    x = _float(x)
    return _bessel_scaled(x, 1) * jnp.exp(jnp.abs(x))


def _n(M, name):
    try:
        return operator.index(M)
    except TypeError:
        raise TypeError(f"{name}: M must be a concrete integer, got {M!r}") from None


def _cosine_window(M, coeffs, name):
    M = _n(M, name)
    dt = dtypes.default_float_dtype()
    if M <= 1:
        return jnp.ones((max(M, 0),), dt)
    n = jnp.arange(1 - M, M, 2, dtype=dt)
    out = jnp.zeros((M,), dt) + coeffs[0]
    for j, c in enumerate(coeffs[1:], 1):
        out = out + c * jnp.cos(j * np.pi * n / (M - 1))
    return out


def hanning(M):
    return _cosine_window(M, (0.5, 0.5), "hanning")


def hamming(M):
    return _cosine_window(M, (0.54, 0.46), "hamming")


def blackman(M):
    return _cosine_window(M, (0.42, 0.5, 0.08), "blackman")


def bartlett(M):
    M = _n(M, "bartlett")
    dt = dtypes.default_float_dtype()
    if M <= 1:
        return jnp.ones((max(M, 0),), dt)
    n = jnp.arange(1 - M, M, 2, dtype=dt)
    return jnp.where(n <= 0, 1 + n / (M - 1), 1 - n / (M - 1))


def kaiser(M, beta):
    """The Kaiser window I0(beta sqrt(1 - (2n/(M-1) - 1)^2)) / I0(beta)."""
    M = _n(M, "kaiser")
    dt = dtypes.default_float_dtype()
    if M <= 1:
        return jnp.ones((max(M, 0),), dt)
    beta = _float(beta).astype(dt)
    alpha = (M - 1) / 2.0
    n = jnp.arange(M, dtype=dt)
    r = jnp.sqrt(jnp.clip(1 - ((n - alpha) / alpha) ** 2, 0.0, None))
    # a ratio of scaled Bessels: exp(beta (r - 1)) keeps large beta finite
    return i0e(beta * r) / i0e(beta) * jnp.exp(beta * (r - 1))
