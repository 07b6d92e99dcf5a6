"""Windowed and generic reductions (lax.reduce_window, lax.reduce) and small lax helpers, as
composites.

reduce_window pads the operand with the init value (base dilation = interior padding), takes one
strided slice per window tap and folds the taps with the computation. Max/min fold with a select
that keeps the earlier tap on ties, so the gradient of max pooling goes to one element of a tied
window (the first), as JAX's select-and-scatter does, instead of being split.

>>> import gpuxla.numpy as jnp, gpuxla.lax as lax
>>> lax.reduce_window(jnp.arange(6.0), -jnp.inf, lax.max, (2,), (2,), "VALID")
Array([1., 3., 5.], dtype=float32)
"""
import itertools
import operator

import numpy as np

from ..core import dtypes
from ..core.primitives import canonicalize_axis
from .conv import _dilate, padtype_to_pads

__all__ = ["reduce_window", "reduce_window_shape_tuple", "reduce", "sort_key_val", "collapse", "broadcast_to_rank",
           "batch_matmul", "split", "unstack", "stack", "tile", "index_take", "dynamic_update_index_in_dim",
           "reduce_precision", "broadcast_like", "empty", "conv_general_dilated_patches", "conv_shape_tuple",
           "conv_transpose_shape_tuple", "reduce_xor"]


def _lax():
    from .. import lax
    return lax


def _monoid(computation):
    """'add', 'max', 'min', 'mul' for the computations JAX recognises as monoids, else None."""
    lax = _lax()
    table = {lax.add: "add", operator.add: "add", lax.max: "max", lax.min: "min", lax.mul: "mul", operator.mul: "mul"}
    try:
        kind = table.get(computation)
    except TypeError:
        return None
    return kind or getattr(computation, "monoid", None)       # jnp's add, multiply, maximum, minimum


def _identity(kind, dtype):
    if kind == "add":
        return 0
    if kind == "mul":
        return 1
    if dtypes.is_inexact(dtype):
        return -np.inf if kind == "max" else np.inf
    if dtype == np.bool_:
        return kind == "min"
    info = np.iinfo(dtype)
    return info.min if kind == "max" else info.max


def _is_identity(init, kind, dtype):
    from ..core.graph import Array
    if isinstance(init, Array):
        if init.sym is not None and not init.is_concrete:
            return False
        init = np.asarray(init)
    try:
        return bool(np.all(np.asarray(init) == _identity(kind, dtype)))
    except (TypeError, ValueError):
        return False


def _combine(kind, computation):
    lax = _lax()
    if kind == "add":
        return lax.add
    if kind == "mul":
        return lax.mul
    if kind in ("max", "min"):
        keep = lax.ge if kind == "max" else lax.le

        def pick(acc, x):
            # keep the earlier tap on ties (and NaNs, which win as in max/min)
            k = keep(acc, x)
            if dtypes.is_inexact(acc.dtype):
                k = lax.bitwise_or(k, lax.ne(acc, acc))
            return lax.select(k, acc, x)
        return pick
    return computation


def reduce_window(operand, init_value, computation, window_dimensions, window_strides=None, padding="VALID",
                  base_dilation=None, window_dilation=None):
    """Reduce every window of `operand` with `computation` (lax.add/max/min/mul or any binary
    elementwise function), starting from `init_value`. Pooling:

    >>> import gpuxla.numpy as jnp, gpuxla.lax as lax
    >>> x = jnp.arange(16.0).reshape(1, 1, 4, 4)
    >>> lax.reduce_window(x, 0.0, lax.add, (1, 1, 2, 2), (1, 1, 2, 2), "VALID") / 4  # avg pool
    Array([[[[ 2.5,  4.5],
             [10.5, 12.5]]]], dtype=float32)
    """
    lax = _lax()
    from ..core.graph import Array
    if isinstance(operand, (tuple, list)):
        raise NotImplementedError("reduce_window with several operands (variadic) is not supported by gpuxla")
    x = lax.asarray(operand)
    nd = x.ndim
    window = tuple(map(int, window_dimensions))
    strides = tuple(map(int, window_strides)) if window_strides is not None else (1,) * nd
    base = tuple(map(int, base_dilation)) if base_dilation is not None else (1,) * nd
    wdil = tuple(map(int, window_dilation)) if window_dilation is not None else (1,) * nd
    for name, v in (("window_dimensions", window), ("window_strides", strides), ("base_dilation", base),
                    ("window_dilation", wdil)):
        if len(v) != nd or any(s < 1 for s in v):
            raise ValueError(f"reduce_window: {name} must be {nd} positive integers for an operand of shape "
                             f"{x.shape}, got {v}")
    if isinstance(padding, str):
        padding = padtype_to_pads(x.shape, [_dilate(w, d) for w, d in zip(window, wdil)], strides, padding)
    padding = [tuple(map(int, p)) for p in padding]
    kind = _monoid(computation)
    init = init_value if isinstance(init_value, Array) else lax.full((), init_value, x.dtype)
    if init.dtype != x.dtype:
        init = lax.convert_element_type(init, x.dtype)
    xp = lax.pad(x, init, [(lo, hi, b - 1) for (lo, hi), b in zip(padding, base)])
    out_shape = [(s - _dilate(w, d)) // st + 1 if s >= _dilate(w, d) else 0
                 for s, w, d, st in zip(xp.shape, window, wdil, strides)]
    if any(o == 0 for o in out_shape):
        return lax.full(out_shape, 0, x.dtype) if not isinstance(init, Array) else lax.broadcast(init, out_shape)
    combine = _combine(kind, computation)
    acc = None
    for offs in itertools.product(*(range(w) for w in window)):
        start = [o * d for o, d in zip(offs, wdil)]
        limit = [s + (n - 1) * st + 1 for s, n, st in zip(start, out_shape, strides)]
        tap = lax.slice(xp, start, limit, strides)
        acc = tap if acc is None else combine(acc, tap)
    if kind is None or not _is_identity(init_value, kind, x.dtype):
        acc = combine(lax.broadcast(init, acc.shape), acc) if kind is not None else computation(init, acc)
    return acc


def reduce_window_shape_tuple(operand_shape, window_dimensions, window_strides, padding, base_dilation=None,
                              window_dilation=None):
    nd = len(operand_shape)
    base = base_dilation or (1,) * nd
    wdil = window_dilation or (1,) * nd
    padded = [_dilate(s, b) + lo + hi for s, b, (lo, hi) in zip(operand_shape, base, padding)]
    return tuple((p - _dilate(w, d)) // st + 1 if p >= _dilate(w, d) else 0
                 for p, w, d, st in zip(padded, window_dimensions, wdil, window_strides))


def reduce(operands, init_values, computation, dimensions):
    """Reduce `operands` over `dimensions` with `computation` (lax.add/max/min/mul, bitwise ops, or
    any associative binary elementwise function, folded pairwise)."""
    lax = _lax()
    if isinstance(operands, (tuple, list)):
        if len(operands) != 1:
            raise NotImplementedError("lax.reduce with several operands (variadic) is not supported by gpuxla")
        (r,) = reduce(operands[0], init_values[0], lambda a, b: computation((a,), (b,))[0], dimensions),
        return (r,)
    x = lax.asarray(operands)
    dims = tuple(sorted(int(d) % max(x.ndim, 1) for d in dimensions))
    kind = _monoid(computation)
    if kind is not None:
        fn = {"add": lax.reduce_sum, "mul": lax.reduce_prod, "max": lax.reduce_max, "min": lax.reduce_min}[kind]
        if x.dtype == np.bool_ and kind in ("max", "min"):
            fn = lax.reduce_or if kind == "max" else lax.reduce_and
        r = fn(x, dims)
        if not _is_identity(init_values, kind, x.dtype):
            r = computation(lax.broadcast(lax.asarray(init_values, x.dtype), r.shape), r)
        return r
    if computation in (lax.bitwise_and, lax.bitwise_or):
        r = (lax.reduce_and if computation is lax.bitwise_and else lax.reduce_or)(x, dims)
        return computation(r, lax.broadcast(lax.asarray(init_values, x.dtype), r.shape))
    # Generic: move the reduced axes to the front, flatten them, fold by halving.
    rest = [i for i in range(x.ndim) if i not in dims]
    y = lax.transpose(x, dims + tuple(rest))
    n = int(np.prod([x.shape[d] for d in dims], dtype=np.int64))
    y = lax.reshape(y, (n,) + tuple(x.shape[i] for i in rest))
    init = lax.broadcast(lax.asarray(init_values, x.dtype), y.shape[1:])
    if n == 0:
        return init
    while y.shape[0] > 1:
        m = y.shape[0]
        h = m // 2
        folded = computation(lax.slice_in_dim(y, 0, h), lax.slice_in_dim(y, h, 2 * h))
        y = lax.concatenate([folded, lax.slice_in_dim(y, 2 * h, m)], 0) if m % 2 else folded
    return computation(init, lax.squeeze(y, (0,)))


def reduce_xor(operand, axes):
    lax = _lax()
    return reduce(operand, lax.full((), 0, lax.asarray(operand).dtype), lax.bitwise_xor, axes)


def sort_key_val(keys, values, dimension=-1, is_stable=True):
    """Sort `keys` along `dimension` and apply the same permutation to `values`."""
    lax = _lax()
    keys, values = lax.asarray(keys), lax.asarray(values)
    dimension = dimension % max(keys.ndim, 1)
    perm = lax.argsort(keys, dimension)
    return lax._take_along_axis(keys, perm, dimension), lax._take_along_axis(values, perm, dimension)


def collapse(operand, start_dimension, stop_dimension=None):
    lax = _lax()
    x = lax.asarray(operand)
    stop = x.ndim if stop_dimension is None else stop_dimension
    start, stop = start_dimension % max(x.ndim, 1) if x.ndim else 0, stop % (x.ndim + 1) if stop < 0 else stop
    size = int(np.prod(x.shape[start:stop], dtype=np.int64))
    return lax.reshape(x, x.shape[:start] + (size,) + x.shape[stop:])


def broadcast_to_rank(x, rank):
    lax = _lax()
    x = lax.asarray(x)
    return x if x.ndim >= rank else lax.broadcast(x, (1,) * (rank - x.ndim))


def broadcast_like(arr, like_arr):
    """`arr` broadcast (NumPy's rules) to the shape of `like_arr`."""
    lax = _lax()
    shape = tuple(like_arr.shape) if isinstance(like_arr, lax.Array) else np.shape(like_arr)
    return broadcast_to_shape(lax.asarray(arr), shape)


def broadcast_to_shape(x, shape):
    """`x` broadcast (NumPy's rules) to `shape`: jnp.broadcast_to's semantics, at the lax level."""
    if x.shape == shape:
        return x
    try:
        if np.broadcast_shapes(x.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast array of shape {x.shape} to shape {shape}") from None
    return _lax().broadcast_in_dim(x, shape, tuple(range(len(shape) - x.ndim, len(shape))))


def batch_matmul(lhs, rhs, precision=None):
    lax = _lax()
    lhs, rhs = lax._operands(lhs, rhs)
    if lhs.ndim < 2 or lhs.ndim != rhs.ndim or lhs.shape[:-2] != rhs.shape[:-2]:
        raise ValueError(f"batch_matmul requires operands of equal rank >= 2 and equal batch dims, got "
                         f"{lhs.shape} and {rhs.shape}")
    b = tuple(range(lhs.ndim - 2))
    return lax.dot_general(lhs, rhs, (((lhs.ndim - 1,), (rhs.ndim - 2,)), (b, b)), precision)


def split(operand, sizes, axis=0):
    lax = _lax()
    x = lax.asarray(operand)
    axis = canonicalize_axis(axis, x.ndim, "lax.split")
    if sum(sizes) != x.shape[axis]:
        raise ValueError(f"lax.split: sizes {tuple(sizes)} must sum to the size {x.shape[axis]} of axis {axis}")
    out, off = [], 0
    for s in sizes:
        out.append(lax.slice_in_dim(x, off, off + s, axis=axis))
        off += s
    return out


def unstack(x, axis=0):
    lax = _lax()
    x = lax.asarray(x)
    axis = canonicalize_axis(axis, x.ndim, "lax.unstack")
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis]))


def stack(operands, axis=0):
    lax = _lax()
    ops = [lax.asarray(o) for o in operands]
    nd = ops[0].ndim + 1
    axis = canonicalize_axis(axis, nd, "lax.stack")
    return lax.concatenate([lax.expand_dims(o, (axis,)) for o in ops], axis)


def tile(operand, reps):
    """`operand` repeated `reps` times along each axis (numpy.tile)."""
    lax = _lax()
    x = lax.asarray(operand)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    nd = max(x.ndim, len(reps))
    dims = (1,) * (nd - x.ndim) + x.shape
    reps = (1,) * (nd - len(reps)) + reps
    # Broadcast to (r0, d0, r1, d1, ...) and merge each pair.
    b = lax.broadcast_in_dim(lax.reshape(x, dims), [n for rd in zip(reps, dims) for n in rd],
                             tuple(range(1, 2 * nd, 2)))
    return lax.reshape(b, [r * d for r, d in zip(reps, dims)])


def index_take(src, idxs, axes):
    lax = _lax()
    src = lax.asarray(src)
    idx = lax.concatenate([lax.expand_dims(lax.convert_element_type(i, np.int32), (1,)) for i in idxs], 1)
    return lax.gather_points(src, idx, axes=tuple(axes))


def dynamic_update_index_in_dim(operand, update, index, axis, *, allow_negative_indices=True):
    lax = _lax()
    x, u = lax._operands(operand, update)
    axis = canonicalize_axis(axis, x.ndim, "lax.dynamic_update_index_in_dim")
    if u.ndim == x.ndim - 1:
        u = lax.expand_dims(u, (axis,))
    i = lax.asarray(index)
    if allow_negative_indices:
        i = lax.select(lax.lt(i, lax.full_like(i, 0)), lax.add(i, lax.full_like(i, x.shape[axis])), i)
    return lax.dynamic_update_slice_in_dim(x, u, i, axis)


def reduce_precision(operand, exponent_bits, mantissa_bits):
    """Round `operand` to a float format with the given exponent and mantissa widths (the result
    keeps operand's dtype). Supported: the widths of float16, bfloat16, float32 and float64."""
    lax = _lax()
    x = lax.asarray(operand)
    fmt = {(5, 10): np.float16, (8, 7): dtypes.bfloat16, (8, 23): np.float32, (11, 52): np.float64}
    target = fmt.get((int(exponent_bits), int(mantissa_bits)))
    if target is None:
        raise NotImplementedError(f"reduce_precision to (exponent_bits={exponent_bits}, mantissa_bits="
                                  f"{mantissa_bits}) is not supported; gpuxla supports the float16, bfloat16, float32 "
                                  "and float64 formats")
    if np.dtype(target).itemsize >= x.dtype.itemsize and np.dtype(target) != np.dtype(dtypes.bfloat16):
        return x
    return lax.convert_element_type(lax.convert_element_type(x, target), x.dtype)


def empty(shape, dtype):
    return _lax().full(shape, 0, dtype)


def conv_general_dilated_patches(lhs, filter_shape, window_strides, padding, lhs_dilation=None, rhs_dilation=None,
                                 dimension_numbers=None, precision=None, preferred_element_type=None):
    """The patches conv_general_dilated would contract: output features are C * prod(filter_shape),
    ordered channel-major, as JAX's."""
    lax = _lax()
    from .conv import conv_dimension_numbers, conv_general_dilated
    lhs = lax.asarray(lhs)
    dn = conv_dimension_numbers(lhs.shape, (1, 1) + tuple(filter_shape), dimension_numbers)
    C = lhs.shape[dn.lhs_spec[1]]
    K = int(np.prod(filter_shape, dtype=np.int64))
    # one-hot kernel: output feature c*K + k picks channel c at tap k
    eye = np.eye(C * K, dtype=lhs.dtype).reshape((C * K, C) + tuple(filter_shape))
    rhs = np.transpose(eye, np.argsort(dn.rhs_spec))
    return conv_general_dilated(lhs, lax.asarray(rhs), window_strides, padding, lhs_dilation, rhs_dilation, dn,
                                precision=precision, preferred_element_type=preferred_element_type)


def conv_shape_tuple(lhs_shape, rhs_shape, strides, pads, batch_group_count=1):
    sp = [(i + lo + hi - k) // s + 1 for i, k, s, (lo, hi) in zip(lhs_shape[2:], rhs_shape[2:], strides, pads)]
    return (lhs_shape[0] // batch_group_count, rhs_shape[0]) + tuple(max(v, 0) for v in sp)


def conv_transpose_shape_tuple(lhs_shape, rhs_shape, window_strides, padding, dimension_numbers):
    from .conv import _conv_transpose_padding, conv_dimension_numbers
    dn = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    lhs_t = [lhs_shape[i] for i in dn.lhs_spec]
    rhs_t = [rhs_shape[i] for i in dn.rhs_spec]
    if isinstance(padding, str):
        padding = [_conv_transpose_padding(k, s, padding) for k, s in zip(rhs_t[2:], window_strides)]
    pads = [sum(p) for p in padding]
    out_sp = [(i - 1) * s - k + 2 + p for i, k, s, p in zip(lhs_t[2:], rhs_t[2:], window_strides, pads)]
    out_t = [lhs_t[0], rhs_t[0]] + out_sp
    return tuple(out_t[int(j)] for j in np.argsort(dn.out_spec))
