"""The Poisson distribution, as `jax.scipy.stats.poisson` (non-integer k has probability 0, as JAX)."""
from ... import lax
from ... import numpy as jnp
from ..special import gammaincc, xlogy
from ._common import _inexact, outside


def logpmf(k, mu, loc=0):
    k, mu, loc = _inexact(k, mu, loc)
    y = k - loc
    return outside((y >= 0) & (y == jnp.round(y)), xlogy(y, mu) - lax.lgamma(y + 1) - mu)


def pmf(k, mu, loc=0):
    return jnp.exp(logpmf(k, mu, loc))


def cdf(k, mu, loc=0):
    k, mu, loc = _inexact(k, mu, loc)
    y = k - loc
    return jnp.where(y >= 0, gammaincc(jnp.floor(jnp.maximum(y, 0)) + 1, mu), 0.0)


_K_SUM = 240          # terms summed for mu < 100: beyond mu + 10 sqrt(mu) + 40 the mass is below 1e-20


def entropy(mu, loc=0):
    """The Shannon entropy -sum_k p(k) log p(k) (loc does not change it): summed directly over
    k < 240 for mu < 100, the asymptotic expansion 1/2 log(2 pi e mu) - 1/(12 mu) - 1/(24 mu^2)
    - 19/(360 mu^3) above. 0 at mu = 0, NaN for mu < 0."""
    mu, loc = _inexact(mu, loc)
    small = mu < 100
    ms = jnp.where(small & (mu > 0), mu, 1.0)
    k = jnp.arange(_K_SUM, dtype=mu.dtype)
    lp = k * jnp.log(ms)[..., None] - lax.lgamma(k + 1) - ms[..., None]
    direct = -jnp.sum(jnp.exp(lp) * lp, axis=-1)
    ml = jnp.where(small, 100.0, mu)
    asym = 0.5 * jnp.log(2 * jnp.pi * jnp.e * ml) - 1 / (12 * ml) - 1 / (24 * ml ** 2) - 19 / (360 * ml ** 3)
    out = jnp.where(small, direct, asym)
    return jnp.where(mu == 0, 0.0, jnp.where(mu < 0, jnp.nan, out))
