"""The geometric distribution (support 1, 2, ...), as `jax.scipy.stats.geom`."""
from ... import numpy as jnp
from ..special import xlog1py
from ._common import _inexact, outside


def logpmf(k, p, loc=0):
    k, p, loc = _inexact(k, p, loc)
    y = k - loc
    return outside(y >= 1, xlog1py(y - 1, -p) + jnp.log(p))


def pmf(k, p, loc=0):
    return jnp.exp(logpmf(k, p, loc))
