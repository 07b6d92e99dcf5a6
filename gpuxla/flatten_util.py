"""gpuxla.flatten_util: `ravel_pytree`, as `jax.flatten_util`.

>>> import gpuxla.numpy as jnp
>>> flat, unravel = ravel_pytree({'a': jnp.ones(2), 'b': jnp.zeros((), jnp.int32)})
>>> flat
Array([1., 1., 0.], dtype=float32)
>>> unravel(flat)['b']
Array(0, dtype=int32)
"""
import math

from .tree_util import tree_flatten

__all__ = ["ravel_pytree"]


def ravel_pytree(pytree):
    """(flat, unravel): the leaves raveled and concatenated into one 1-D array of their promoted
    dtype, and the function that splits such an array back into the pytree, each leaf in its own
    shape and dtype."""
    from . import numpy as jnp
    from .core import dtypes
    leaves, treedef = tree_flatten(pytree)
    leaves = [jnp.asarray(x) for x in leaves]
    shapes = [x.shape for x in leaves]
    sizes = [math.prod(s) for s in shapes]
    out_dtype = dtypes.result_type(*leaves) if leaves else dtypes.default_float_dtype()
    flat = (jnp.concatenate([jnp.ravel(x).astype(out_dtype) for x in leaves]) if leaves
            else jnp.zeros((0,), out_dtype))
    in_dtypes = [x.dtype for x in leaves]

    def unravel(arr):
        arr = jnp.asarray(arr)
        if arr.shape != flat.shape:
            raise ValueError(f"The unravel function expected an array of shape {flat.shape}, got shape {arr.shape}.")
        if arr.dtype != out_dtype:
            raise TypeError(f"The unravel function expected an array of dtype {out_dtype}, got dtype {arr.dtype}.")
        parts, start = [], 0
        for shape, size, dt in zip(shapes, sizes, in_dtypes):
            parts.append(arr[start:start + size].reshape(shape).astype(dt))
            start += size
        return treedef.unflatten(parts)
    return flat, unravel
