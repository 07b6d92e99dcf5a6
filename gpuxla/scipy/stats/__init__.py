"""gpuxla.scipy.stats: distributions as in `jax.scipy.stats`."""
from . import norm, multivariate_normal  # noqa: F401
# The rest of jax.scipy.stats (#21).
from . import (bernoulli, beta, betabinom, binom, cauchy, chi2, dirichlet, expon, gamma, gennorm, geom,  # noqa: E402,F401
               gumbel_l, gumbel_r, laplace, logistic, multinomial, nbinom, pareto, poisson, t, truncnorm, uniform,
               vonmises)
from ._summary import ModeResult, mode, rankdata, sem  # noqa: E402,F401
