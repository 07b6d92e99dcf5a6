"""gpuxla.scipy: the parts of `jax.scipy` JAX programs use most (special, stats, linalg)."""
from . import special, stats, linalg, signal  # noqa: F401
