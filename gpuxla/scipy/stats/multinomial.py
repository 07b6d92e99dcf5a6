"""The multinomial distribution, as `jax.scipy.stats.multinomial` (categories on the last axis)."""
from ... import lax
from ... import numpy as jnp
from ..special import xlogy
from ._common import _inexact


def logpmf(x, n, p):
    x, p = jnp.asarray(x), jnp.asarray(p)
    n = jnp.asarray(n)
    dt = _inexact(jnp.zeros((), jnp.result_type(x, n, p)))[0].dtype
    x, n, p = x.astype(dt), n.astype(dt), p.astype(dt)
    lp = lax.lgamma(n + 1) + jnp.sum(xlogy(x, p) - lax.lgamma(x + 1), axis=-1)
    return jnp.where(jnp.equal(jnp.sum(x, axis=-1), n), lp, -jnp.inf)


def pmf(x, n, p):
    return jnp.exp(logpmf(x, n, p))
