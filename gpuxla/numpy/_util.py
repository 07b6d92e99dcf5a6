"""Private helpers shared by the gpuxla.numpy modules: builtins saved before the modules shadow
them, shape and axis checks, and broadcasting for promoted operands.
"""

import builtins
import operator

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.primitives import canonicalize_axis


_py_min, _py_max, _py_abs, _py_round, _py_sum, _py_all, _py_any = (
    builtins.min, builtins.max, builtins.abs, builtins.round, builtins.sum, builtins.all, builtins.any)


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"Shapes must be 1D sequences of concrete values of integer type, got {shape!r}. "
                        "Under jit, pass the shape as a static argument (static_argnums).") from None


def _concrete_error(name, v):
    from ..core.graph import concretization_message
    from ..errors import ConcretizationTypeError
    return ConcretizationTypeError(concretization_message(v, f"{name} needs concrete (static) arguments."))


def _broadcast(x, shape):
    nd = len(shape)
    if x.ndim > nd:
        raise ValueError(f"cannot broadcast array of shape {x.shape} to shape {shape}")
    return lax.broadcast_in_dim(x, shape, tuple(range(nd - x.ndim, nd)))


def _full_shape(xs):
    """Broadcast rank-0 operands too (for ops whose primitives need equal shapes)."""
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    return [x if x.shape == shape else _broadcast(x, shape) for x in xs]


def _inexact(dt):
    """The float dtype integer/bool inputs compute in (JAX): float32, float64 for 64-bit ints."""
    dt = np.dtype(dt)
    if dtypes.is_inexact(dt):
        return dt
    return dtypes.canonicalize_dtype(np.float64 if dt.itemsize == 8 else np.float32)


def _as_bool(x):
    return x if x.dtype == np.bool_ else lax.ne(x, lax.full_like(x, 0))


def _canon_axis(axis, ndim, op=None):
    return canonicalize_axis(axis, ndim, op)
