"""The right-skewed Gumbel distribution, as `jax.scipy.stats.gumbel_r`."""
from ... import numpy as jnp
from ._common import _inexact, log1mexp_neg


def _z(x, loc, scale):
    x, loc, scale = _inexact(x, loc, scale)
    return (x - loc) / scale, scale


def logpdf(x, loc=0, scale=1):
    z, scale = _z(x, loc, scale)
    return -z - jnp.exp(-z) - jnp.log(scale)


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def logcdf(x, loc=0, scale=1):
    z, _ = _z(x, loc, scale)
    return -jnp.exp(-z)


def cdf(x, loc=0, scale=1):
    return jnp.exp(logcdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    z, _ = _z(x, loc, scale)
    return -jnp.expm1(-jnp.exp(-z))


def logsf(x, loc=0, scale=1):
    z, _ = _z(x, loc, scale)
    return log1mexp_neg(jnp.exp(-z))


def ppf(q, loc=0, scale=1):
    q, loc, scale = _inexact(q, loc, scale)
    out = loc - scale * jnp.log(-jnp.log(q))
    return jnp.where((q < 0) | (q > 1), jnp.nan, out)
