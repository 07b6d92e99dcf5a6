"""gpuxla.experimental: `io_callback`, `checkify` and `shard_map`, as `jax.experimental`."""
from ..debug import _pure_callback
from . import checkify, shard_map  # noqa: F401  (jax.experimental.shard_map.shard_map)

__all__ = ["checkify", "io_callback"]


def io_callback(callback, result_shape_dtypes, *args, sharding=None, ordered=False, **kwargs):
    """Call the host function `callback`, which may have side effects, on NumPy values of `args`;
    its results must match `result_shape_dtypes`. Under jit it runs on every call, as JAX's."""
    return _pure_callback(callback, result_shape_dtypes, args, kwargs, None, effect="io",
                          api="jax.experimental.io_callback")
