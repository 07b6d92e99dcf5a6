"""The beta-binomial distribution, as `jax.scipy.stats.betabinom`."""
from ... import numpy as jnp
from ..special import betaln
from ._common import _inexact, outside


def logpmf(k, n, a, b, loc=0):
    k, n, a, b, loc = _inexact(k, n, a, b, loc)
    y = k - loc
    log_comb = -jnp.log1p(n) - betaln(jnp.maximum(n - y + 1, 1e-30), jnp.maximum(y + 1, 1e-30))
    lp = log_comb + betaln(y + a, n - y + b) - betaln(a, b)
    return outside((y >= 0) & (y <= n), lp)


def pmf(k, n, a, b, loc=0):
    return jnp.exp(logpmf(k, n, a, b, loc))
