"""gpuxla.scipy: the parts of `jax.scipy` JAX programs use most (special, stats, linalg)."""
from . import special, stats, linalg  # noqa: F401
from . import signal  # noqa: E402,F401  (#21)
