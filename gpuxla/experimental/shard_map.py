"""jax.experimental.shard_map: the older spelling of `jax.shard_map` (gpuxla/parallel/shard_map.py)."""
from ..parallel.shard_map import shard_map as _shard_map

__all__ = ["shard_map"]


def shard_map(f, mesh, in_specs, out_specs, check_rep=True, auto=frozenset()):
    """`f` on each block of its arguments over `mesh` (positional mesh and specs, `check_rep`)."""
    return _shard_map(f, mesh=mesh, in_specs=in_specs, out_specs=out_specs, check_rep=check_rep, auto=auto)
