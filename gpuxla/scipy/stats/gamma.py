"""The gamma distribution, as `jax.scipy.stats.gamma`."""
from ... import lax
from ... import numpy as jnp
from ..special import gammainc, gammaincc, xlogy
from ._common import _inexact, outside


def logpdf(x, a, loc=0, scale=1):
    x, a, loc, scale = _inexact(x, a, loc, scale)
    y = (x - loc) / scale
    return outside(y >= 0, xlogy(a - 1, y) - y - lax.lgamma(a) - jnp.log(scale))


def pdf(x, a, loc=0, scale=1):
    return jnp.exp(logpdf(x, a, loc, scale))


def cdf(x, a, loc=0, scale=1):
    x, a, loc, scale = _inexact(x, a, loc, scale)
    return gammainc(a, jnp.maximum((x - loc) / scale, 0))


def logcdf(x, a, loc=0, scale=1):
    return jnp.log(cdf(x, a, loc, scale))


def sf(x, a, loc=0, scale=1):
    x, a, loc, scale = _inexact(x, a, loc, scale)
    return gammaincc(a, jnp.maximum((x - loc) / scale, 0))


def logsf(x, a, loc=0, scale=1):
    return jnp.log(sf(x, a, loc, scale))
