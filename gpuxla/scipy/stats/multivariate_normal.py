"""The multivariate normal distribution, as `jax.scipy.stats.multivariate_normal`."""
import math

from ... import numpy as jnp
from ...numpy import linalg
from ..special import _inexact


def logpdf(x, mean, cov, allow_singular=None):
    """log N(x; mean, cov) through a Cholesky factor; x and mean broadcast over leading dims,
    cov may be a scalar, a vector (diagonal) or a matrix."""
    if allow_singular is not None:
        raise NotImplementedError("multivariate_normal.logpdf: allow_singular is not supported (as in JAX)")
    x, mean = _inexact(x, mean)
    cov = jnp.asarray(cov, x.dtype)
    d = x.shape[-1] if x.ndim else 1
    if cov.ndim < 2:
        var = jnp.broadcast_to(cov, (d,)) if cov.ndim == 0 else cov
        y = (x - mean) ** 2 / var
        return -0.5 * (d * math.log(2 * math.pi) + jnp.sum(jnp.log(var)) + jnp.sum(y, axis=-1))
    L = linalg.cholesky(cov)
    diff = x - mean
    y = linalg.solve_triangular(L, jnp.reshape(diff, (-1, d)).T, lower=True).T.reshape(diff.shape)
    return (-0.5 * jnp.sum(y * y, axis=-1) - jnp.sum(jnp.log(jnp.diagonal(L, axis1=-2, axis2=-1)), axis=-1)
            - 0.5 * d * math.log(2 * math.pi))


def pdf(x, mean, cov):
    return jnp.exp(logpdf(x, mean, cov))
