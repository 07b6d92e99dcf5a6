"""Devices and transfers: devices(), device_put, device_get, block_until_ready; config scopes."""
import math

import numpy as np

from .backends import get_backend
from .core.graph import Array, realize
from .tree_util import tree_flatten, tree_map, tree_unflatten


def devices(backend=None):
    """The devices of the active platform, e.g. ``[CpuDevice(id=0)]``."""
    return [get_backend(backend if backend != "cpu" else "numpy").device]


local_devices = devices


def device_count(backend=None):
    return len(devices(backend))


local_device_count = device_count


def default_backend():
    """'cpu' on the NumPy (and cuda-interpret) platforms, 'gpu' on CUDA."""
    return "gpu" if get_backend().platform == "cuda" else "cpu"


def device_put(x, device=None):
    """Place arrays (pytrees too) on the device; NumPy arrays and scalars become Arrays."""
    from . import numpy as jnp
    return tree_map(lambda v: v if isinstance(v, Array) else jnp.asarray(v), x)


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
