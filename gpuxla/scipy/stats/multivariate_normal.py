"""The multivariate normal distribution, as `jax.scipy.stats.multivariate_normal`."""
import math

from ... import numpy as jnp
from ...lax import linalg
from ..special import _inexact


def logpdf(x, mean, cov, allow_singular=None):
    """log N(x; mean, cov) through a Cholesky factor. mean may be a scalar (univariate), cov a
    scalar (isotropic) or a stack of matrices (..., n, n); x, mean and cov batch together."""
    if allow_singular is not None:
        raise NotImplementedError("allow_singular argument of multivariate_normal.logpdf")
    x, mean, cov = (jnp.asarray(v) for v in (x, mean, cov))
    dt = jnp.result_type(x, mean, cov)
    dt = dt if jnp.issubdtype(dt, jnp.inexact) else _inexact(jnp.zeros((), dt))[0].dtype
    x, mean, cov = x.astype(dt), mean.astype(dt), cov.astype(dt)
    log2pi = math.log(2 * math.pi)
    if not mean.shape:
        return -0.5 * jnp.square(x - mean) / cov - 0.5 * (log2pi + jnp.log(cov))
    n = mean.shape[-1]
    y = x - mean
    if not cov.shape:
        return -0.5 * jnp.sum(y * y, axis=-1) / cov - n / 2 * (log2pi + jnp.log(cov))
    if cov.ndim < 2 or cov.shape[-2:] != (n, n):
        raise ValueError("multivariate_normal.logpdf got incompatible shapes")
    L = linalg.cholesky(cov)
    z = linalg.triangular_solve(L, y[..., None], left_side=True, lower=True)[..., 0]
    return (-0.5 * jnp.sum(z * z, axis=-1) - n / 2 * log2pi
            - jnp.sum(jnp.log(jnp.diagonal(L, axis1=-2, axis2=-1)), axis=-1))


def pdf(x, mean, cov):
    return jnp.exp(logpdf(x, mean, cov))
