"""The chi-squared distribution, as `jax.scipy.stats.chi2`."""
import math

from ... import lax
from ... import numpy as jnp
from ..special import gammainc, gammaincc, xlogy
from ._common import _inexact, outside


def logpdf(x, df, loc=0, scale=1):
    x, df, loc, scale = _inexact(x, df, loc, scale)
    y = (x - loc) / scale
    k = df / 2
    lp = xlogy(k - 1, y) - y / 2 - lax.lgamma(k) - k * math.log(2) - jnp.log(scale)
    return outside(y >= 0, lp)


def pdf(x, df, loc=0, scale=1):
    return jnp.exp(logpdf(x, df, loc, scale))


def cdf(x, df, loc=0, scale=1):
    x, df, loc, scale = _inexact(x, df, loc, scale)
    return gammainc(df / 2, jnp.maximum((x - loc) / scale, 0) / 2)


def logcdf(x, df, loc=0, scale=1):
    return jnp.log(cdf(x, df, loc, scale))


def sf(x, df, loc=0, scale=1):
    x, df, loc, scale = _inexact(x, df, loc, scale)
    return gammaincc(df / 2, jnp.maximum((x - loc) / scale, 0) / 2)


def logsf(x, df, loc=0, scale=1):
    return jnp.log(sf(x, df, loc, scale))
