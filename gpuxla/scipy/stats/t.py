"""Student's t distribution, as `jax.scipy.stats.t`."""
import math

from ... import lax
from ... import numpy as jnp
from ._common import _inexact


def logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = _inexact(x, df, loc, scale)
    z = (x - loc) / scale
    return (lax.lgamma((df + 1) / 2) - lax.lgamma(df / 2) - 0.5 * jnp.log(df * math.pi) - jnp.log(scale)
            - (df + 1) / 2 * jnp.log1p(z * z / df))


def pdf(x, df, loc=0, scale=1):
    return jnp.exp(logpdf(x, df, loc, scale))
