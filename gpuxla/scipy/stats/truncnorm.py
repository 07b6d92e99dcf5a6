"""The normal distribution truncated to [a, b] (in standard units), as `jax.scipy.stats.truncnorm`.
Differences of normal CDFs are taken in log space on the side of the mode where they do not cancel."""
import math

from ... import numpy as jnp
from ..special import log_ndtr
from ._common import _inexact, logdiffexp


def _log_mass(lo, hi, right):
    """log(ndtr(hi) - ndtr(lo)), mirrored to the left tail where `right`."""
    return jnp.where(right, logdiffexp(log_ndtr(-lo), log_ndtr(-hi)), logdiffexp(log_ndtr(hi), log_ndtr(lo)))


def _parts(x, a, b, loc, scale):
    x, a, b, loc, scale = _inexact(x, a, b, loc, scale)
    return (x - loc) / scale, a, b, scale, _log_mass(a, b, a > 0)


def logpdf(x, a, b, loc=0, scale=1):
    z, a, b, scale, ld = _parts(x, a, b, loc, scale)
    lp = -0.5 * z * z - 0.5 * math.log(2 * math.pi) - jnp.log(scale) - ld
    return jnp.where((z >= a) & (z <= b), lp, -jnp.inf)


def pdf(x, a, b, loc=0, scale=1):
    return jnp.exp(logpdf(x, a, b, loc, scale))


def logcdf(x, a, b, loc=0, scale=1):
    z, a, b, scale, ld = _parts(x, a, b, loc, scale)
    zc = jnp.clip(z, a, b)
    out = _log_mass(a, zc, a > 0) - ld
    return jnp.where(z <= a, -jnp.inf, jnp.where(z >= b, 0.0, out))


def cdf(x, a, b, loc=0, scale=1):
    return jnp.exp(logcdf(x, a, b, loc, scale))


def logsf(x, a, b, loc=0, scale=1):
    z, a, b, scale, ld = _parts(x, a, b, loc, scale)
    zc = jnp.clip(z, a, b)
    out = _log_mass(zc, b, zc > 0) - ld
    return jnp.where(z <= a, 0.0, jnp.where(z >= b, -jnp.inf, out))


def sf(x, a, b, loc=0, scale=1):
    return jnp.exp(logsf(x, a, b, loc, scale))
