"""The negative binomial distribution, as `jax.scipy.stats.nbinom`."""
from ... import lax
from ... import numpy as jnp
from ..special import xlog1py, xlogy
from ._common import _inexact, outside


def logpmf(k, n, p, loc=0):
    k, n, p, loc = _inexact(k, n, p, loc)
    y = k - loc
    comb = lax.lgamma(n + y) - lax.lgamma(y + 1) - lax.lgamma(n)
    return outside(y >= 0, comb + xlogy(n, p) + xlog1py(y, -p))


def pmf(k, n, p, loc=0):
    return jnp.exp(logpmf(k, n, p, loc))
