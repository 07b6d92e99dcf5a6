"""The normal distribution, as `jax.scipy.stats.norm`.

>>> from gpuxla.scipy.stats import norm
>>> norm.cdf(0.0)
Array(0.5, dtype=float32, weak_type=True)
"""
import math

from ... import lax
from ..special import _inexact, log_ndtr, ndtr, ndtri

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def logpdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    z = lax.div(lax.sub(x, loc), scale)
    return lax.neg(lax.add(lax.add(lax.mul(lax.mul(z, z), 0.5), _LOG_SQRT_2PI), lax.log(scale)))


def pdf(x, loc=0, scale=1):
    return lax.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return ndtr(lax.div(lax.sub(x, loc), scale))


def logcdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return log_ndtr(lax.div(lax.sub(x, loc), scale))


def sf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return ndtr(lax.div(lax.sub(loc, x), scale))


def logsf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return log_ndtr(lax.div(lax.sub(loc, x), scale))


def ppf(q, loc=0, scale=1):
    q, loc, scale = _inexact(q, loc, scale)
    return lax.add(lax.mul(ndtri(q), scale), loc)


def isf(q, loc=0, scale=1):
    return ppf(lax.sub(1.0, _inexact(q)[0]), loc, scale)
