"""The logistic distribution, as `jax.scipy.stats.logistic`."""
from ... import numpy as jnp
from ..special import expit, logit
from ._common import _inexact


def logpdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    a = jnp.abs((x - loc) / scale)
    return -a - 2 * jnp.log1p(jnp.exp(-a)) - jnp.log(scale)


def pdf(x, loc=0, scale=1):
    return jnp.exp(logpdf(x, loc, scale))


def cdf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return expit((x - loc) / scale)


def sf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return expit((loc - x) / scale)


def ppf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return loc + scale * logit(x)


def isf(x, loc=0, scale=1):
    x, loc, scale = _inexact(x, loc, scale)
    return loc - scale * logit(x)
