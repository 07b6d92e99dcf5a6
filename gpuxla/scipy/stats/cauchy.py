"""The Cauchy distribution, as `jax.scipy.stats.cauchy`."""
import math

from ... import numpy as jnp
from ._common import _inexact


def logpdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    z = (x - loc) / scale
    return -math.log(math.pi) - jnp.log(scale) - jnp.log1p(z * z)


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return 0.5 + jnp.arctan((x - loc) / scale) / math.pi


def logcdf(x, loc=0, scale=1):
    return jnp.log(cdf(x, loc, scale))


def sf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return 0.5 - jnp.arctan((x - loc) / scale) / math.pi


def logsf(x, loc=0, scale=1):
    return jnp.log(sf(x, loc, scale))


def ppf(q, loc=0, scale=1):
    q, loc, scale = _inexact(q, loc, scale)
    return loc + scale * jnp.tan(math.pi * (q - 0.5))


def isf(q, loc=0, scale=1):
    q, loc, scale = _inexact(q, loc, scale)
    return loc + scale * jnp.tan(math.pi * (0.5 - q))
