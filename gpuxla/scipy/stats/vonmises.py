"""The von Mises distribution on the circle, as `jax.scipy.stats.vonmises` (the normaliser through
the scaled Bessel function, so large kappa stays finite)."""
import math

from ... import numpy as jnp
from ..special import i0e
from ._common import _inexact


def logpdf(x, kappa):
    x, kappa = _inexact(x, kappa)
    lp = kappa * (jnp.cos(x) - 1) - math.log(2 * math.pi) - jnp.log(i0e(kappa))
    return jnp.where(kappa > 0, lp, jnp.nan)


def pdf(x, kappa):
    return jnp.exp(logpdf(x, kappa))
