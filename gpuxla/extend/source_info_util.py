"""`jax.extend.source_info_util` on gpuxla: `register_exclusion` (flax registers its files at
import). It only filters JAX's error tracebacks, which gpuxla does not filter: it changes nothing."""

__all__ = ["register_exclusion"]


def register_exclusion(path):
    """Accepted; gpuxla does not filter tracebacks."""
