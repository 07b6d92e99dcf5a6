"""Reductions (sum, max, mean, var, argmax, ...) and cumulative ops.
"""

import numpy as np

from .. import lax
from ..core import dtypes
from ._util import _as_bool, _canon_axis, _inexact, _py_any
from ._lax_numpy import asarray, broadcast_to, _dt, full_like, ravel, reshape, zeros_like
from ._ufuncs import add, isnan, maximum, minimum, multiply, sqrt, where


# --- reductions -------------------------------------------------------------------------------
def _axes(axis, ndim, op):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = tuple(sorted(_canon_axis(a, ndim, op) for a in axes))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: duplicate value in 'axis': {axis}")
    return out


def _keep(x, axes, keepdims, shape):
    if not keepdims:
        return x
    return lax.reshape(x, tuple(1 if i in axes else d for i, d in enumerate(shape)))


def _sum_dtype(dt):
    # JAX widens bool and small integers to the default int (unsigned stays unsigned).
    if dt == np.bool_:
        return dtypes.default_int_dtype()
    if dtypes.is_unsigned(dt) and dt.itemsize < dtypes.default_uint_dtype().itemsize:
        return dtypes.default_uint_dtype()
    if dtypes.is_int(dt) and not dtypes.is_unsigned(dt) and dt.itemsize < dtypes.default_int_dtype().itemsize:
        return dtypes.default_int_dtype()
    return dt


def _reduction(name, laxfn, dtype_rule=lambda d: d, init_where=None):
    def f(a, axis=None, dtype=None, out=None, keepdims=False, initial=None, where=None, promote_integers=True):
        a = asarray(a)
        axes = _axes(axis, a.ndim, name)
        if name in ("max", "min") and initial is None and _py_any(a.shape[i] == 0 for i in axes):
            raise ValueError(f"zero-size array to reduction operation {name} which has no identity")
        dt = _dt(dtype) or (dtype_rule(a.dtype) if promote_integers else a.dtype)
        x = a if a.dtype == dt else lax.convert_element_type(a, dt)
        if where is not None:
            x = _where_init(x, where, name)
        r = laxfn(x, axes)
        if initial is not None:
            r = (maximum if name == "max" else minimum if name == "min" else add if name == "sum"
                 else multiply)(r, initial)
        return _keep(r, axes, keepdims, a.shape)
    f.__name__ = name
    return f


def _where_init(x, mask, name):
    ident = {"sum": 0, "prod": 1,
             "max": -np.inf if dtypes.is_inexact(x.dtype)
                    else (np.iinfo(x.dtype).min if dtypes.is_int(x.dtype) else False),
             "min": np.inf if dtypes.is_inexact(x.dtype)
                    else (np.iinfo(x.dtype).max if dtypes.is_int(x.dtype) else True),
             "any": False, "all": True}[name]
    return where(mask, x, lax.full(x.shape, ident, x.dtype))


sum = _reduction("sum", lax.reduce_sum, _sum_dtype)
prod = _reduction("prod", lax.reduce_prod, _sum_dtype)
max = amax = _reduction("max", lambda x, axes: lax.reduce_max(x, axes) if x.dtype != np.bool_
                                               else lax.reduce_or(x, axes))
min = amin = _reduction("min", lambda x, axes: lax.reduce_min(x, axes) if x.dtype != np.bool_
                                               else lax.reduce_and(x, axes))


def _check_nonempty(a, axes, name):
    if _py_any(a.shape[i] == 0 for i in axes):
        raise ValueError(f"zero-size array to reduction operation {name} which has no identity")


def any(a, axis=None, out=None, keepdims=False, *, where=None):
    a = _as_bool(asarray(a))
    axes = _axes(axis, a.ndim, "any")
    if where is not None:
        a = _where_init(a, where, "any")
    return _keep(lax.reduce_or(a, axes), axes, keepdims, a.shape)


def all(a, axis=None, out=None, keepdims=False, *, where=None):
    a = _as_bool(asarray(a))
    axes = _axes(axis, a.ndim, "all")
    if where is not None:
        a = _where_init(a, where, "all")
    return _keep(lax.reduce_and(a, axes), axes, keepdims, a.shape)


def _float_dtype(dt):
    return _inexact(dt)


def mean(a, axis=None, dtype=None, out=None, keepdims=False, *, where=None):
    a = asarray(a)
    axes = _axes(axis, a.ndim, "mean")
    dt = _dt(dtype) or _float_dtype(a.dtype)
    if where is not None:
        mask = broadcast_to(asarray(where), a.shape)
        n = sum(mask, axis=axes, keepdims=keepdims, dtype=dt)
        return sum(a, axis=axes, dtype=dt, keepdims=keepdims, where=mask) / n
    n = int(np.prod([a.shape[i] for i in axes]))
    s = sum(a, axis=axes, dtype=dt, keepdims=keepdims)
    return lax.div(s, lax.full_like(s, n) if n else lax.full_like(s, np.nan))


def var(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    a = asarray(a)
    ddof = correction if correction is not None else ddof
    axes = _axes(axis, a.ndim, "var")
    dt = _dt(dtype) or _float_dtype(a.dtype)
    a = a.astype(dt) if a.dtype != dt else a
    centered = a - mean(a, axes, keepdims=True, where=where)
    sq = centered * centered
    if where is not None:
        mask = broadcast_to(asarray(where), a.shape)
        n = sum(mask, axis=axes, keepdims=keepdims, dtype=dt) - ddof
        r = sum(sq, axis=axes, keepdims=keepdims, where=mask) / n
        return where(n > 0, r, full_like(r, np.nan))
    n = int(np.prod([a.shape[i] for i in axes])) - ddof
    r = sum(sq, axis=axes, keepdims=keepdims) / asarray(n, dt)
    return r if n > 0 else full_like(r, np.nan)


def std(a, axis=None, dtype=None, out=None, ddof=0, keepdims=False, *, where=None, correction=None):
    return sqrt(var(a, axis, dtype, None, ddof, keepdims, where=where, correction=correction))


def ptp(a, axis=None, out=None, keepdims=False):
    return max(a, axis, keepdims=keepdims) - min(a, axis, keepdims=keepdims)


def count_nonzero(a, axis=None, keepdims=False):
    return sum(_as_bool(asarray(a)), axis=axis, keepdims=keepdims)


def _argreduce(laxfn, name):
    def f(a, axis=None, out=None, keepdims=False):
        a = asarray(a)
        if axis is None:
            if a.size == 0:
                raise ValueError(f"attempt to get {name} of an empty sequence")
            r = laxfn(ravel(a), 0, dtypes.default_int_dtype())
            return reshape(r, (1,) * a.ndim) if keepdims else r
        ax = _canon_axis(axis, a.ndim, name)
        if a.shape[ax] == 0:
            raise ValueError(f"attempt to get {name} of an empty sequence")
        r = laxfn(a, ax, dtypes.default_int_dtype())
        return _keep(r, (ax,), keepdims, a.shape)
    f.__name__ = name
    return f


argmax = _argreduce(lax.argmax, "argmax")
argmin = _argreduce(lax.argmin, "argmin")


def _cumulative(laxfn, name, dtype_rule):
    def f(a, axis=None, dtype=None, out=None):
        # As JAX: a Python or NumPy scalar is taken as a 1-element vector, but a 0-d Array (a
        # per-example scalar under vmap included) has no axis 0.
        scalar = np.isscalar(a)
        a = asarray(a)
        if axis is None or scalar:
            a, axis = ravel(a), 0 if axis is None else axis
        axis = _canon_axis(axis, a.ndim, name)
        dt = _dt(dtype) or dtype_rule(a.dtype)
        a = a if a.dtype == dt else lax.convert_element_type(a, dt)
        return laxfn(a, axis)
    f.__name__ = name
    return f


# Unlike sum, JAX's cumulative ops keep small integer types; only bool widens.
_cum_dtype = lambda d: dtypes.default_int_dtype() if d == np.bool_ else d  # noqa: E731
cumsum = _cumulative(lax.cumsum, "cumsum", _cum_dtype)
cumprod = _cumulative(lax.cumprod, "cumprod", _cum_dtype)
# The array-API spellings widen integers like sum does.
cumulative_sum = _cumulative(lax.cumsum, "cumulative_sum", _sum_dtype)
cumulative_prod = _cumulative(lax.cumprod, "cumulative_prod", _sum_dtype)


def nancumsum(a, axis=None, dtype=None):
    a = asarray(a)
    return cumsum(where(isnan(a), zeros_like(a), a), axis, dtype)
