"""The binomial distribution, as `jax.scipy.stats.binom` (k need not be an integer, as in JAX)."""
from ... import lax
from ... import numpy as jnp
from ..special import xlog1py, xlogy
from ._common import _inexact, outside


def logpmf(k, n, p, loc=0):
    k, n, p, loc = _inexact(k, n, p, loc)
    y = k - loc
    comb = lax.lgamma(n + 1) - lax.lgamma(y + 1) - lax.lgamma(n - y + 1)
    return outside((y >= 0) & (y <= n), comb + xlogy(y, p) + xlog1py(n - y, -p))


def pmf(k, n, p, loc=0):
    return jnp.exp(logpmf(k, n, p, loc))
