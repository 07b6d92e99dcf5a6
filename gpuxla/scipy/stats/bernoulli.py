"""The Bernoulli distribution, as `jax.scipy.stats.bernoulli`."""
from ... import numpy as jnp
from ..special import xlog1py, xlogy
from ._common import _inexact, outside


def logpmf(k, p, loc=0):
    k, p, loc = _inexact(k, p, loc)
    y = k - loc
    return outside((y == 0) | (y == 1), xlogy(y, p) + xlog1py(1 - y, -p))


def pmf(k, p, loc=0):
    return jnp.exp(logpmf(k, p, loc))


def cdf(k, p):
    k, p = _inexact(k, p)
    out = jnp.where(k < 0, 0.0, jnp.where(k < 1, 1 - p, 1.0))
    return jnp.where((p < 0) | (p > 1) | jnp.isnan(k), jnp.nan, out)


def ppf(q, p):
    q, p = _inexact(q, p)
    out = jnp.where(q <= 1 - p, 0.0, 1.0)
    return jnp.where((q < 0) | (q > 1) | (p < 0) | (p > 1), jnp.nan, out)
