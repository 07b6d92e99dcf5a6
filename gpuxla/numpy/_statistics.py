"""Order statistics and NaN-aware reductions: quantile, median, average, nansum, nanvar, ...
"""

import numpy as np

from .. import lax
from ..core import dtypes
from ._util import _canon_axis, _inexact, _py_max
from ._lax_numpy import asarray, broadcast_to, expand_dims, full_like, moveaxis, ravel, reshape, zeros_like
from ._ufuncs import ceil, clip, floor, isnan, logical_not, maximum, minimum, rint, sqrt, where
from ._reductions import all, any, argmax, argmin, _float_dtype, max, mean, min, prod, sum
from ._sorting import sort, take, take_along_axis


# --- order statistics, NaN-aware reductions ---------------------------------------------------
def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile(a, 0.5, axis=axis, keepdims=keepdims)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    a = asarray(a)
    dt = _float_dtype(a.dtype)
    a = a.astype(dt)
    if axis is None:
        a2, axis_ = ravel(a), 0
    else:
        axis_ = _canon_axis(axis, a.ndim, "quantile")
        a2 = a
    s = sort(a2, axis=axis_)
    n = s.shape[axis_]
    q = asarray(q, dt)
    pos = q * (n - 1)
    lo = clip(floor(pos).astype(np.int32), 0, n - 1)
    hi = clip(lo + 1, 0, n - 1)
    frac = pos - lo.astype(dt)
    if method == "lower":
        frac = zeros_like(frac)
    elif method == "higher":
        lo, frac = clip(ceil(pos).astype(np.int32), 0, n - 1), zeros_like(frac)
    elif method == "nearest":
        lo, frac = clip(rint(pos).astype(np.int32), 0, n - 1), zeros_like(frac)
    elif method == "midpoint":
        frac = where(frac > 0, full_like(frac, 0.5), frac)
    qs = q.shape
    lo_v = take(s, ravel(lo), axis=axis_)
    hi_v = take(s, ravel(hi), axis=axis_)
    fr = reshape(ravel(frac), (-1,) + (1,) * (s.ndim - axis_ - 1))
    res = lo_v * (1 - fr) + hi_v * fr
    res = moveaxis(res, axis_, 0)
    res = reshape(res, qs + res.shape[1:])
    any_nan = any(isnan(s), axis=axis_)
    res = where(any_nan, full_like(res, np.nan), res)
    if keepdims:
        if axis is None:
            res = reshape(res, qs + (1,) * a.ndim)
        else:
            res = expand_dims(res, len(qs) + axis_)
    return res


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return quantile(a, asarray(q) / 100, axis, method=method, keepdims=keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """quantile ignoring NaNs: each slice interpolates among its own non-NaN values (NaN where
    there are none)."""
    a = asarray(a)
    dt = _float_dtype(a.dtype)
    a = a.astype(dt)
    axis_ = None if axis is None else _canon_axis(axis, a.ndim, "nanquantile")
    x = ravel(a) if axis is None else moveaxis(a, axis_, -1)
    s = sort(x, axis=-1)                                   # NaNs sort last
    n = sum(logical_not(isnan(x)), axis=-1)                # valid values per slice
    q = asarray(q, dt)
    qb = reshape(q, q.shape + (1,) * n.ndim)
    last = (n - 1).astype(dt)
    pos = qb * last
    if method == "lower":
        lo_f, frac = floor(pos), zeros_like(pos)
    elif method == "higher":
        lo_f, frac = ceil(pos), zeros_like(pos)
    elif method == "nearest":
        lo_f, frac = rint(pos), zeros_like(pos)
    elif method in ("linear", "midpoint"):
        lo_f = floor(pos)
        frac = pos - lo_f
        if method == "midpoint":
            frac = where(frac > 0, full_like(frac, 0.5), frac)
    else:
        raise ValueError(f"nanquantile: method {method!r} is not supported")
    top = maximum(n - 1, 0)
    lo = minimum(maximum(lo_f.astype(np.int32), 0), top)
    hi = minimum(lo + 1, top)
    sb = broadcast_to(s, q.shape + s.shape)
    lo_v = take_along_axis(sb, lo[..., None], axis=-1)[..., 0]
    hi_v = take_along_axis(sb, hi[..., None], axis=-1)[..., 0]
    res = where(n == 0, full_like(pos, np.nan), lo_v + (hi_v - lo_v) * frac)
    if keepdims:
        res = reshape(res, q.shape + (1,) * a.ndim) if axis is None else expand_dims(res, q.ndim + axis_)
    return res


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return nanquantile(a, asarray(q) / 100, axis, method=method, keepdims=keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return nanquantile(a, 0.5, axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        n = asarray(a.size / _py_max(avg.size, 1), avg.dtype)
        return (avg, broadcast_to(n, avg.shape)) if returned else avg
    w = asarray(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: 1-D weights need an axis; otherwise weights must match a's shape")
        ax = _canon_axis(axis, a.ndim)
        w = lax.broadcast_in_dim(w, a.shape, (ax,))
    dt = _float_dtype(dtypes.result_type(a, w))
    wsum = sum(w.astype(dt), axis, keepdims=keepdims)
    avg = sum((a * w).astype(dt), axis, keepdims=keepdims) / wsum
    return (avg, wsum) if returned else avg


def _nan_reduction(fn, fill):
    def f(a, axis=None, keepdims=False, **kw):
        a = asarray(a)
        return fn(where(isnan(a), full_like(a, fill), a), axis=axis, keepdims=keepdims, **kw)
    return f


nansum = _nan_reduction(sum, 0)
nanprod = _nan_reduction(prod, 1)


def _nan_extremum(fn, fill):
    """nanmax/nanmin skip NaNs; a slice holding only NaNs gives NaN (JAX and NumPy), not the fill."""
    skip = _nan_reduction(fn, fill)

    def f(a, axis=None, keepdims=False, **kw):
        a = asarray(a)
        if not dtypes.issubdtype(a.dtype, np.inexact):      # no NaNs to skip
            return fn(a, axis=axis, keepdims=keepdims, **kw)
        out = skip(a, axis=axis, keepdims=keepdims, **kw)
        return where(all(isnan(a), axis=axis, keepdims=keepdims), full_like(out, np.nan), out)
    return f


nanmax = _nan_extremum(max, -np.inf)
nanmin = _nan_extremum(min, np.inf)


def nanmean(a, axis=None, keepdims=False):
    a = asarray(a)
    a = a.astype(_inexact(a.dtype))
    ok = logical_not(isnan(a))
    return nansum(a, axis=axis, keepdims=keepdims) / sum(ok, axis=axis, keepdims=keepdims)


def nanvar(a, axis=None, ddof=0, keepdims=False):
    a = asarray(a)
    a = a.astype(_inexact(a.dtype))
    ok = logical_not(isnan(a))
    m = nanmean(a, axis, keepdims=True)
    d = where(ok, a - m, zeros_like(a))
    return sum(d * d, axis=axis, keepdims=keepdims) / (sum(ok, axis=axis, keepdims=keepdims) - ddof)


def nanstd(a, axis=None, ddof=0, keepdims=False):
    return sqrt(nanvar(a, axis, ddof, keepdims))


def _nan_arg(fn, fill):
    """nanargmax/nanargmin skip NaNs; a slice holding only NaNs gives -1, as JAX."""
    def f(a, axis=None):
        a = asarray(a)
        if not dtypes.issubdtype(a.dtype, np.inexact):      # no NaNs to skip
            return fn(a, axis)
        nan = isnan(a)
        out = fn(where(nan, full_like(a, fill), a), axis)
        return where(all(nan, axis=axis), full_like(out, -1), out)
    return f


nanargmax = _nan_arg(argmax, -np.inf)
nanargmin = _nan_arg(argmin, np.inf)
