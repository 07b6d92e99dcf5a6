"""The Dirichlet distribution, as `jax.scipy.stats.dirichlet`: x has the K categories on its first
axis (K - 1 are completed by 1 - sum); points off the simplex get -inf."""
from ... import lax
from ... import numpy as jnp
from ..special import xlogy
from ._common import _inexact


def logpdf(x, alpha):
    x, alpha = jnp.asarray(x), jnp.asarray(alpha)
    if alpha.ndim != 1:
        raise ValueError(f"`alpha` must be one-dimensional; got alpha.shape={alpha.shape}")
    if x.shape[0] not in (alpha.shape[0], alpha.shape[0] - 1):
        raise ValueError("`x` must have either the same number of entries as `alpha` or one entry fewer; "
                         f"got x.shape={x.shape}, alpha.shape={alpha.shape}")
    dt = _inexact(jnp.zeros((), jnp.result_type(x, alpha)))[0].dtype
    x, alpha = x.astype(dt), alpha.astype(dt)
    if x.shape[0] != alpha.shape[0]:
        x = jnp.concatenate([x, 1 - jnp.sum(x, axis=0, keepdims=True)], axis=0)
    a = alpha.reshape(alpha.shape + (1,) * (x.ndim - 1))
    normalize = jnp.sum(lax.lgamma(alpha)) - lax.lgamma(jnp.sum(alpha))
    lp = jnp.sum(xlogy(a - 1, x), axis=0) - normalize
    on_simplex = jnp.all(x > 0, axis=0) & (jnp.abs(jnp.sum(x, axis=0) - 1) < 1e-6)
    return jnp.where(on_simplex, lp, -jnp.inf)


def pdf(x, alpha):
    return jnp.exp(logpdf(x, alpha))
