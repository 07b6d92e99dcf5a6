"""The Pareto distribution, as `jax.scipy.stats.pareto`."""
from ... import numpy as jnp
from ._common import _inexact, outside


def _y(x, b, loc, scale):
    x, b, loc, scale = _inexact(x, b, loc, scale)
    return (x - loc) / scale, b, scale


def logpdf(x, b, loc=0, scale=1):
    y, b, scale = _y(x, b, loc, scale)
    return outside(y >= 1, jnp.log(b) - (b + 1) * jnp.log(jnp.maximum(y, 1)) - jnp.log(scale))


def pdf(x, b, loc=0, scale=1):
    return jnp.exp(logpdf(x, b, loc, scale))


def logsf(x, b, loc=0, scale=1):
    y, b, _ = _y(x, b, loc, scale)
    return -b * jnp.log(jnp.maximum(y, 1))


def sf(x, b, loc=0, scale=1):
    return jnp.exp(logsf(x, b, loc, scale))


def cdf(x, b, loc=0, scale=1):
    return -jnp.expm1(logsf(x, b, loc, scale))


def logcdf(x, b, loc=0, scale=1):
    return jnp.log1p(-sf(x, b, loc, scale))


def ppf(q, b, loc=0, scale=1):
    q, b, loc, scale = _inexact(q, b, loc, scale)
    out = loc + scale * jnp.exp(-jnp.log1p(-q) / b)
    return jnp.where((q < 0) | (q > 1), jnp.nan, out)
