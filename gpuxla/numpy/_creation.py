"""Array creation: full/zeros/ones, ranges (arange, linspace), and matrix builders (eye, tri, diag).
"""

import math
import operator

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array
from ._util import _canon_axis, _concrete_error, _py_abs, _py_max, _py_min, _shape
from ._lax_numpy import asarray, broadcast_to, _dt, expand_dims, moveaxis, ravel, reshape, stack, zeros_like
from ._ufuncs import power, where
from ._reductions import sum


# --- creation ---------------------------------------------------------------------------------
def full(shape, fill_value, dtype=None):
    dtype = _dt(dtype)
    v = asarray(fill_value, dtype)
    if dtype is None and isinstance(fill_value, (int, float, complex)) and not isinstance(fill_value, bool):
        v = lax.convert_element_type(v, v.dtype, weak_type=False)
    return broadcast_to(v, _shape(shape))


def zeros(shape, dtype=None):
    return lax.full(_shape(shape), 0, _dt(dtype) or dtypes.default_float_dtype())


def ones(shape, dtype=None):
    return lax.full(_shape(shape), 1, _dt(dtype) or dtypes.default_float_dtype())


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop): `start + step * iota` computed in the result dtype
    (float32 for 16-bit floats), as JAX does, so values agree with JAX's to the bit."""
    for v in (start, stop, step):
        if isinstance(v, Array) and v.sym is not None and v._buf is None:
            raise _concrete_error("arange", v)
    start, stop, step = (v.item() if isinstance(v, Array) else v for v in (start, stop, step))
    dtype = _dt(dtype) or dtypes.result_type(*(v for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    if step is None:
        n = _py_max(int(math.ceil(stop - start)), 0)
        r = lax.iota(dtype, n)
        return r if start == 0 else lax.add(r, lax.convert_element_type(asarray(start), dtype))
    n = _py_max(int(math.ceil((stop - start) / step)), 0)
    work = np.dtype(np.float32) if dtypes.is_float(dtype) and np.dtype(dtype).itemsize < 4 else dtype
    c = lambda v: lax.convert_element_type(asarray(v), work)  # noqa: E731
    return lax.convert_element_type(lax.add(c(start), lax.mul(c(step), lax.iota(work, n))), dtype)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    dtype = _dt(dtype) or dtypes.default_float_dtype()
    num = operator.index(num)
    start, stop = asarray(start, dtype), asarray(stop, dtype)
    # Array endpoints: the samples run along a new axis (last while computing, then `axis`).
    bshape = np.broadcast_shapes(start.shape, stop.shape)
    start, stop = (expand_dims(broadcast_to(v, bshape), -1) for v in (start, stop))
    div = (num - 1) if endpoint else num
    i = lax.convert_element_type(lax.iota(dtype, num), dtype)
    step = (stop - start) / _py_max(div, 1)
    out = start + i * step if num > 1 else broadcast_to(start, bshape + (num,))
    if endpoint and num > 1:
        out = where(lax.iota(np.int32, num) == num - 1, stop, out)
    out = moveaxis(lax.convert_element_type(out, dtype), -1, _canon_axis(axis, len(bshape) + 1, "linspace"))
    step = reshape(step, bshape)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    return power(asarray(base, _dt(dtype) or dtypes.default_float_dtype()),
                 linspace(start, stop, num, endpoint, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    dtype = _dt(dtype) or dtypes.default_float_dtype()
    r = lax.broadcasted_iota(np.int32, (N, M), 0)
    c = lax.broadcasted_iota(np.int32, (N, M), 1)
    return lax.convert_element_type(lax.eq(c - r, asarray(k, np.int32)), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = lax.broadcasted_iota(np.int32, (N, M), 0)
    c = lax.broadcasted_iota(np.int32, (N, M), 1)
    return lax.convert_element_type(lax.le(c, r + k), _dt(dtype) or np.float32)


def tril(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, dtype=np.bool_)
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, dtype=np.bool_)
    return where(mask, zeros_like(m), m)


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    xi = [ravel(asarray(x)) for x in xi]
    n = len(xi)
    shape = [x.shape[0] for x in xi]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xi):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        s = [1] * n
        s[axis] = x.shape[0]
        y = lax.reshape(x, s)
        out.append(y if sparse else broadcast_to(y, shape))
    return out


def diag(v, k=0):
    v = asarray(v)
    if v.ndim == 1:
        # Entry (r, c) with c - r == k holds v[r] (k >= 0) or v[c] (k < 0).
        n = v.shape[0] + _py_abs(k)
        r = lax.broadcasted_iota(np.int32, (n, n), 0)
        c = lax.broadcasted_iota(np.int32, (n, n), 1)
        padded = lax.pad(v, 0, [(0, _py_abs(k), 0)])
        vals = broadcast_to(lax.reshape(padded, (n, 1) if k >= 0 else (1, n)), (n, n))
        return where(lax.eq(c - r, asarray(k, np.int32)), vals, zeros_like(vals))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = asarray(a)
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    length = _py_max(0, _py_min(n + _py_min(offset, 0), m - _py_max(offset, 0)))
    i = lax.iota(np.int32, length)
    rows, cols = i - _py_min(offset, 0), i + _py_max(offset, 0)
    idx = stack([rows, cols], axis=-1)
    return lax.gather_points(a, idx, axes=(a.ndim - 2, a.ndim - 1)) if a.ndim == 2 else moveaxis(
        lax.gather_points(a, idx, axes=(a.ndim - 2, a.ndim - 1)), 0, -1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)
