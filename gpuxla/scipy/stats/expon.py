"""The exponential distribution, as `jax.scipy.stats.expon`."""
from ... import numpy as jnp
from ._common import _inexact, outside


def _y(x, loc, scale):
    x, loc, scale = _inexact(x, loc, scale)
    return (x - loc) / scale, scale


def logpdf(x, loc=0, scale=1):
    y, scale = _y(x, loc, scale)
    return outside(y >= 0, -y - jnp.log(scale))


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    y, _ = _y(x, loc, scale)
    return jnp.where(y >= 0, -jnp.expm1(-jnp.maximum(y, 0)), 0.0)


def logcdf(x, loc=0, scale=1):
    return jnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    y, _ = _y(x, loc, scale)
    return jnp.exp(-jnp.maximum(y, 0))


def logsf(x, loc=0, scale=1):
    y, _ = _y(x, loc, scale)
    return -jnp.maximum(y, 0)


def ppf(q, loc=0, scale=1):
    q, loc, scale = _inexact(q, loc, scale)
    out = loc - scale * jnp.log1p(-q)
    return jnp.where((q < 0) | (q > 1), jnp.nan, out)
