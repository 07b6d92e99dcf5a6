"""Helpers shared by the distributions of gpuxla.scipy.stats: promotion like JAX's
promote_args_inexact, and the support mask that turns a log-density into -inf outside."""
from ... import numpy as jnp
from ..special import _inexact  # noqa: F401  (re-exported for the distribution modules)


def outside(cond, logp):
    """logp where cond, -inf elsewhere."""
    return jnp.where(cond, logp, -jnp.inf)


def logdiffexp(a, b):
    """log(exp(a) - exp(b)) for a >= b, without cancellation."""
    return a + jnp.log1p(-jnp.exp(b - a))


def log1mexp_neg(u):
    """log(1 - exp(-u)) for u >= 0: log(-expm1(-u)) for small u, log1p(-exp(-u)) for large."""
    return jnp.where(u < 0.6931471805599453, jnp.log(-jnp.expm1(-u)), jnp.log1p(-jnp.exp(-u)))
