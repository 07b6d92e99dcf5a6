"""The Poisson distribution, as `jax.scipy.stats.poisson` (non-integer k has probability 0, as JAX)."""
from ... import lax
from ... import numpy as jnp
from ..special import gammaincc, xlogy
from ._common import _inexact, outside


def logpmf(k, mu, loc=0):
    k, mu, loc = _inexact(k, mu, loc)
    y = k - loc
    return outside((y >= 0) & (y == jnp.round(y)), xlogy(y, mu) - lax.lgamma(y + 1) - mu)


def pmf(k, mu, loc=0):
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    k, mu, loc = _inexact(k, mu, loc)
    y = k - loc
    return jnp.where(y >= 0, gammaincc(jnp.floor(jnp.maximum(y, 0)) + 1, mu), 0.0)
