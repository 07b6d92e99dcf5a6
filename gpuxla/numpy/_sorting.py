"""Sorting, searching and gathers: sort, searchsorted, nonzero, unique, take, and the shape
functions built on take (repeat, pad).
"""

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array
from ._util import _as_bool, _canon_axis, _concrete_error, _full_shape, _py_max
from ._lax_numpy import (
    asarray, atleast_1d, broadcast_to, concatenate, expand_dims, flip, ravel, reshape, stack)
from ._ufuncs import clip, remainder, where
from ._reductions import sum
from ._creation import ones, zeros


# --- shape manipulation built on take ---------------------------------------------------------
def repeat(a, repeats, axis=None, total_repeat_length=None):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "repeat")
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if total_repeat_length is not None and total_repeat_length != r * a.shape[axis]:
            return repeat(a, np.full(a.shape[axis], r), axis, total_repeat_length)
        shape = list(a.shape)
        b = lax.broadcast_in_dim(a, shape[:axis + 1] + [r] + shape[axis + 1:],
                                 tuple(i if i <= axis else i + 1 for i in range(a.ndim)))
        shape[axis] *= r
        return reshape(b, shape)
    reps = np.asarray(repeats if not isinstance(repeats, Array) else repeats._value())
    idx = np.repeat(np.arange(a.shape[axis]), reps)
    if total_repeat_length is not None:
        # JAX fills the output to exactly this length: truncated, or padded with the last value
        idx = np.concatenate([idx, np.full(_py_max(total_repeat_length - len(idx), 0), idx[-1] if len(idx) else 0)])
        idx = idx[:total_repeat_length]
    return take(a, asarray(idx.astype(np.int32)), axis=axis)


def pad(array, pad_width, mode="constant", constant_values=0):
    a = asarray(array)
    pw = (np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width)
                          else np.asarray([[pad_width, pad_width]]), (a.ndim, 2))
          if a.ndim else np.zeros((0, 2), np.int64))
    if (pw < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, got {np.asarray(pad_width).tolist()}")
    if mode != "constant":
        if mode in ("edge", "reflect", "symmetric", "wrap"):
            return _pad_indexed(a, pw, mode)
        raise NotImplementedError(f"jnp.pad: mode {mode!r} is not supported "
                                  "(constant, edge, reflect, symmetric, wrap are)")
    cv = np.broadcast_to(np.asarray(constant_values), (a.ndim, 2)) if np.ndim(constant_values) else None
    if cv is None:
        return lax.pad(a, asarray(constant_values, a.dtype), [(int(lo), int(hi), 0) for lo, hi in pw])
    for ax in range(a.ndim):
        cfg = [(0, 0, 0)] * a.ndim
        lo, hi = pw[ax]
        cfg[ax] = (int(lo), 0, 0)
        a = lax.pad(a, asarray(cv[ax][0], a.dtype), cfg)
        cfg[ax] = (0, int(hi), 0)
        a = lax.pad(a, asarray(cv[ax][1], a.dtype), cfg)
    return a


def _pad_indexed(a, pw, mode):
    for ax in range(a.ndim):
        n = a.shape[ax]
        lo, hi = int(pw[ax][0]), int(pw[ax][1])
        i = np.arange(-lo, n + hi)
        if mode == "edge":
            i = np.clip(i, 0, n - 1)
        elif mode == "wrap":
            i = i % n
        elif mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            i = np.abs(i) % period
            i = np.where(i >= n, period - i, i)
        else:
            period = 2 * n
            i = i % period
            i = np.where(i >= n, period - 1 - i, i)
        a = take(a, asarray(i.astype(np.int32)), axis=ax)
    return a


# --- sorting, searching, gathers --------------------------------------------------------------
def _no_kind(name, kind, order):
    if kind is not None:
        raise TypeError(f"'kind' argument to {name} is not supported. "
                        "Use stable=True or stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {name} is not supported.")


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    _no_kind("sort", kind, order)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    r = lax.sort(a, _canon_axis(axis, a.ndim, "sort"))
    return flip(r, axis) if descending else r


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    _no_kind("argsort", kind, order)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "argsort")
    if descending:
        return flip(lax.argsort(flip(a, axis), axis), axis) * -1 + (a.shape[axis] - 1)
    return lax.argsort(a, axis)


def searchsorted(a, v, side="left", sorter=None, method="scan"):
    a, v = asarray(a), asarray(v)
    if sorter is not None:
        a = take(a, sorter)
    dt = dtypes.result_type(a, v)
    a, v = a.astype(dt), v.astype(dt)
    cmp = lax.le if side == "right" else lax.lt
    # Count the entries of `a` that sort before each value: a compare-and-sum, fusable and exact.
    vv = expand_dims(v, -1)
    return sum(cmp(*_full_shape([a, vv])), axis=-1, dtype=np.int32)


def digitize(x, bins, right=False):
    x, bins = asarray(x), asarray(bins)
    if bins.ndim != 1:
        raise ValueError("digitize: bins must be 1-D")
    side = "left" if right else "right"
    if bins.shape[0] < 2:
        return searchsorted(bins, x, side=side)
    # decreasing bins count from the other end, as NumPy
    inc = searchsorted(bins, x, side=side)
    dec = bins.shape[0] - searchsorted(flip(bins), x, side=side)
    return where(bins[-1] >= bins[0], inc, dec)


def _concrete_value(x, name):
    x = asarray(x)
    if x.sym is not None and x._buf is None:
        raise _concrete_error(name + " (the size of its output depends on the values; pass size=)", x)
    return np.asarray(x._value())


def nonzero(a, *, size=None, fill_value=None):
    a = asarray(a)
    if size is None:
        idx = np.nonzero(_concrete_value(a, "nonzero"))
        return tuple(asarray(i.astype(dtypes.default_int_dtype())) for i in idx)
    flat = ravel(_as_bool(a))
    n = flat.shape[0]
    # Stable order of the true entries: argsort of (not mask) keeps true positions first, in order.
    order = lax.argsort(lax.convert_element_type(lax.bitwise_not(flat), np.int32), 0)[:size] if n >= size else None
    if order is None:
        order = concatenate([lax.argsort(lax.convert_element_type(lax.bitwise_not(flat), np.int32), 0),
                             zeros(size - n, dtypes.default_int_dtype())])
    count = sum(flat)
    valid = lax.iota(dtypes.default_int_dtype(), size) < count
    coords = unravel_index(order, a.shape)
    fills = fill_value if isinstance(fill_value, tuple) else (0 if fill_value is None else fill_value,) * a.ndim
    return tuple(where(valid, c, asarray(f, c.dtype)) for c, f in zip(coords, fills))


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    a = asarray(a)
    res = nonzero(atleast_1d(a), size=size, fill_value=fill_value)
    return stack(res, -1) if res else zeros((0, 0), dtypes.default_int_dtype())


def unravel_index(indices, shape):
    indices = asarray(indices)
    out = []
    for d in reversed(shape):
        out.append(lax.rem(indices, asarray(d, indices.dtype)))
        indices = lax.div(indices, asarray(d, indices.dtype))
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise"):
    out = asarray(0, np.int32)
    for i, d in zip(multi_index, dims):
        out = out * d + asarray(i)
    return out


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, size=None, fill_value=None):
    v = _concrete_value(ar, "unique") if size is None else None
    if size is None:
        res = np.unique(v, return_index=return_index, return_inverse=return_inverse, return_counts=return_counts,
                        axis=axis)
        if isinstance(res, tuple):
            return tuple(asarray(r.astype(dtypes.canonicalize_dtype(r.dtype))) for r in res)
        return asarray(res)
    a = sort(ravel(ar))
    first = concatenate([asarray([True]), a[1:] != a[:-1]]) if a.shape[0] else a == a
    idx = nonzero(first, size=size, fill_value=-1 if fill_value is None else None)[0]
    vals = take(a, clip(idx, 0, a.shape[0] - 1))
    fill = a[0] if fill_value is None else asarray(fill_value, a.dtype)
    return (where(idx >= 0, vals, fill) if fill_value is None
            else where(lax.iota(np.int32, size) < sum(first), vals, fill))


def bincount(x, weights=None, minlength=0, *, length=None):
    x = asarray(x)
    if length is None:
        length = _py_max(int(_concrete_value(x, "bincount").max(initial=-1)) + 1, minlength)
    w = ones(x.shape, dtypes.default_int_dtype()) if weights is None else asarray(weights)
    return zeros(length, w.dtype).at[x].add(w)


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False, fill_value=None):
    """Take elements along an axis. Out-of-bounds indices give `fill_value` (NaN for inexact
    dtypes) by default, as JAX's mode="fill"; mode="clip" clamps, mode="wrap" wraps."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "take")
    idx = asarray(indices)
    if not dtypes.is_int(idx.dtype):
        raise TypeError(f"take: indices must be integers, got {idx.dtype}")
    n = a.shape[axis]
    if mode == "wrap":
        idx = remainder(idx, n)
    else:
        idx = where(idx < 0, idx + n, idx)
    mode = mode or "fill"
    if mode == "raise":
        raise NotImplementedError("take: mode='raise' is not supported (indices are not checked on device); "
                                  "use 'fill' or 'clip'")
    g = lax.gather_points(a, lax.expand_dims(idx, (idx.ndim,)), (axis,), "clip" if mode in ("clip", "wrap") else "fill",
                          _fill_value(a.dtype, fill_value))
    # gather puts the index dimensions first; move them to `axis`.
    nd_idx = idx.ndim
    perm = list(range(nd_idx, nd_idx + axis)) + list(range(nd_idx)) + list(range(nd_idx + axis, g.ndim))
    return lax.transpose(g, perm)


def _fill_value(dt, fill_value):
    if fill_value is not None:
        return np.asarray(fill_value).astype(dt).item()
    if dtypes.is_inexact(dt):
        return float("nan")
    if dt == np.bool_:
        return True
    if dtypes.is_unsigned(dt):
        return int(np.iinfo(dt).max)
    return int(np.iinfo(dt).min)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    a, idx = asarray(arr), asarray(indices)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "take_along_axis")
    if idx.ndim != a.ndim:
        raise ValueError(f"take_along_axis: indices (ndim {idx.ndim}) and arr (ndim {a.ndim}) must have the same ndim")
    shape = tuple(i if k == axis else np.broadcast_shapes((a.shape[k],), (i,))[0] for k, i in enumerate(idx.shape))
    idx = broadcast_to(idx, tuple(s if k == axis else shape[k] for k, s in enumerate(idx.shape)))
    a = broadcast_to(a, tuple(a.shape[k] if k == axis else shape[k] for k in range(a.ndim)))
    n = a.shape[axis]
    idx = where(idx < 0, idx + n, idx).astype(np.int32)
    full_idx = [lax.broadcasted_iota(np.int32, idx.shape, k) if k != axis else idx for k in range(a.ndim)]
    stacked = stack(full_idx, -1)
    mode = mode or "fill"
    return lax.gather_points(a, stacked, tuple(range(a.ndim)), "clip" if mode == "clip" else "fill",
                             _fill_value(a.dtype, fill_value))


def put_along_axis(arr, indices, values, axis, inplace=False, mode=None):
    """`arr` with `values` written at `indices` along `axis` (inplace must be False, as in JAX)."""
    if inplace:
        raise ValueError("jax.numpy.put_along_axis cannot modify arrays in-place: JAX arrays are immutable; "
                         "pass inplace=False and use the returned array.")
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _canon_axis(axis, arr.ndim, "put_along_axis")
    if indices.ndim != arr.ndim:
        raise ValueError(f"put_along_axis: indices must have the same number of dimensions as arr ({arr.ndim}), "
                         f"got shape {indices.shape}")
    shape = tuple(indices.shape[i] if i == axis else _py_max(indices.shape[i], arr.shape[i]) if indices.shape[i] == 1
                  else indices.shape[i] for i in range(arr.ndim))
    idx = tuple(broadcast_to(indices, shape) if i == axis else
                lax.broadcasted_iota(np.int32, shape, i) for i in range(arr.ndim))
    return arr.at[idx].set(values)


def compress(condition, a, axis=None, size=None, fill_value=0):
    c = nonzero(condition, size=size)[0]
    return take(a, c, axis=axis)


def extract(condition, arr, *, size=None, fill_value=0):
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)
