"""The Laplace distribution, as `jax.scipy.stats.laplace`."""
import math

from ... import numpy as jnp
from ._common import _inexact


def logpdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return -math.log(2) - jnp.log(scale) - jnp.abs((x - loc) / scale)


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    z = (x - loc) / scale
    return jnp.where(z < 0, 0.5 * jnp.exp(jnp.minimum(z, 0)), 1 - 0.5 * jnp.exp(-jnp.maximum(z, 0)))
