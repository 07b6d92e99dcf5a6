"""gpuxla.scipy.stats: distributions as in `jax.scipy.stats`."""
from . import norm, multivariate_normal  # noqa: F401
