"""The generalized normal distribution, as `jax.scipy.stats.gennorm` (standard form)."""
import math

from ... import lax
from ... import numpy as jnp
from ..special import gammainc
from ._common import _inexact


def logpdf(x, beta):
    x, beta = _inexact(x, beta)
    return jnp.log(beta) - math.log(2) - lax.lgamma(1 / beta) - jnp.abs(x) ** beta


def pdf(x, beta):
    return jnp.exp(logpdf(x, beta))


def cdf(x, beta):
    x, beta = _inexact(x, beta)
    return 0.5 + 0.5 * jnp.sign(x) * gammainc(1 / beta, jnp.abs(x) ** beta)
