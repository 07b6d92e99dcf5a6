"""Devices and transfers: devices(), device_put, device_get, block_until_ready; config scopes."""
import math

import numpy as np

from .backends import get_backend
from .core.graph import Array, from_buffer, realize
from .parallel.devices import (devices, local_devices, device_count, local_device_count,  # noqa: F401
                               process_index, process_count)
from .tree_util import tree_flatten, tree_map, tree_unflatten


def default_backend():
    """'cpu' on the NumPy (and cuda-interpret) platforms, 'gpu' on CUDA."""
    return "gpu" if get_backend().platform == "cuda" else "cpu"


def device_put(x, device=None):
    """Place arrays (pytrees too) on `device` (default: the default device); NumPy arrays and
    scalars become Arrays. On simulated host devices placing only labels the array."""
    from . import numpy as jnp
    from .parallel.devices import check_device
    if device is None:
        return tree_map(lambda v: v if isinstance(v, Array) else jnp.asarray(v), x)
    device = check_device(device)
    if device.platform == "cuda" and device != get_backend().device:
        # A buffer on another GPU would need every executable and copy to follow it there.
        raise NotImplementedError(f"device_put: placing an array on {device} is not supported by gpuxla yet; "
                                  "arrays live on the default GPU (pmap across GPUs is not built either)")

    def put(v):
        v = jnp.asarray(v)
        realize([v])
        out = from_buffer(v._buf, v.aval)
        out._device = device
        return out
    return tree_map(put, x)


def device_get(x):
    """Copy arrays (pytrees too) back to the host as NumPy arrays."""
    leaves, tree = tree_flatten(x)
    realize([v for v in leaves if isinstance(v, Array)])
    return tree_unflatten(tree, [np.asarray(v) if isinstance(v, Array) else v for v in leaves])


def block_until_ready(x):
    """Wait until every array in the pytree `x` is computed; returns `x`."""
    leaves = [v for v in tree_flatten(x)[0] if isinstance(v, Array)]
    realize(leaves)
    for v in leaves:
        v.block_until_ready()
    return x


class ShapeDtypeStruct:
    def __init__(self, shape, dtype, weak_type=False):
        self.shape, self.dtype, self.weak_type = tuple(shape), np.dtype(dtype), weak_type

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


def eval_shape(fun, *args, **kwargs):
    """Shapes and dtypes of fun's outputs, computed by tracing without running anything."""
    from .core.trace import trace_values
    from .core.graph import Aval, symbolic
    args = tree_map(lambda a: symbolic(Aval(a.shape, a.dtype, getattr(a, "weak_type", False)), "eval_shape argument")
                    if isinstance(a, ShapeDtypeStruct) else a, args)
    t = trace_values(fun, args, kwargs, what="eval_shape")
    return tree_unflatten(t.out_tree, [ShapeDtypeStruct(o.shape, o.dtype, o.weak_type) for o in t.outs])


def default_matmul_precision(precision):
    """Set `jax_default_matmul_precision` for a block in this thread, as JAX scopes it, e.g.
    ``with default_matmul_precision("tensorfloat32"):`` (TF32 matmuls on the cuda platform); other
    threads keep their precision. jit retraces for the new value."""
    from . import config
    return config.override("jax_default_matmul_precision", precision)
