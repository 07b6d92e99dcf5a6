"""Summary statistics of `jax.scipy.stats`: rankdata, sem and mode, as sort-based jnp composites
(fixed shapes throughout, so they work under jit and vmap)."""
import operator
from typing import NamedTuple

from ... import lax
from ... import numpy as jnp
from ...core import dtypes
from ...numpy._util import _canon_axis


class ModeResult(NamedTuple):
    mode: object
    count: object


def _runs(s):
    """For a sorted 1-d array: the index of the first and of the last entry of each entry's run."""
    n = s.shape[0]
    idx = jnp.arange(n, dtype=dtypes.default_int_dtype())
    new = jnp.concatenate([jnp.ones((1,), bool), s[1:] != s[:-1]])
    end = jnp.concatenate([s[1:] != s[:-1], jnp.ones((1,), bool)])
    start = lax.cummax(jnp.where(new, idx, 0), axis=0)
    last = lax.cummin(jnp.where(end, idx, n - 1), axis=0, reverse=True)
    return start, last


def _rank1d(a, method):
    n = a.shape[0]
    if n == 0:
        return jnp.zeros((0,), dtypes.default_float_dtype())
    order = jnp.argsort(a, stable=True)
    s = jnp.take(a, order)
    inv = jnp.zeros((n,), dtypes.default_int_dtype()).at[order].set(jnp.arange(n, dtype=dtypes.default_int_dtype()))
    if method == "ordinal":
        return inv + 1
    start, last = _runs(s)
    if method == "dense":
        new = jnp.concatenate([jnp.ones((1,), bool), s[1:] != s[:-1]])
        return jnp.take(jnp.cumsum(new.astype(dtypes.default_int_dtype())), inv)
    if method == "min":
        return jnp.take(start, inv) + 1
    if method == "max":
        return jnp.take(last, inv) + 1
    return (jnp.take(start + last, inv).astype(dtypes.default_float_dtype()) / 2 + 1)


def rankdata(a, method="average", *, axis=None, nan_policy="propagate"):
    """Ranks from 1, ties by `method` ('average', 'min', 'max', 'dense', 'ordinal'); with
    nan_policy='propagate' a slice holding NaN ranks as all NaN."""
    if method not in ("average", "min", "max", "dense", "ordinal"):
        raise ValueError(f"unknown method '{method}'")
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"Unknown nan_policy '{nan_policy}'")
    if nan_policy != "propagate":
        raise NotImplementedError(f"rankdata: nan_policy='{nan_policy}' is not supported (as in JAX)")
    a = jnp.asarray(a)
    if axis is None:
        a = jnp.ravel(a)
        axis = 0
    axis = _canon_axis(axis, a.ndim, "rankdata")
    from ... import vmap
    moved = jnp.moveaxis(a, axis, -1)
    f = lambda v: _rank1d(v, method)  # noqa: E731
    for _ in range(moved.ndim - 1):
        f = vmap(f)
    r = f(moved).astype(dtypes.default_float_dtype())      # JAX's ranks are floats for every method
    if dtypes.is_inexact(a.dtype):
        r = jnp.where(jnp.any(jnp.isnan(moved), axis=-1, keepdims=True), jnp.nan, r)
    return jnp.moveaxis(r, -1, axis)


def sem(a, axis=0, ddof=1, nan_policy="propagate", *, keepdims=False):
    """The standard error of the mean: std(ddof) / sqrt(n)."""
    a = jnp.asarray(a)
    if axis is None:
        a, axis = jnp.ravel(a), 0
    if nan_policy == "propagate":
        n = a.shape[_canon_axis(axis, a.ndim, "sem")]
        return jnp.std(a, axis=axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(float(n))
    if nan_policy == "omit":
        n = jnp.sum(~jnp.isnan(a), axis=axis, keepdims=keepdims)
        return jnp.nanstd(a, axis=axis, ddof=ddof, keepdims=keepdims) / jnp.sqrt(n)
    raise ValueError(f"{nan_policy} is not supported")


def _mode1d(a):
    s = jnp.sort(a)
    start, last = _runs(s)
    counts = last - start + 1
    i = jnp.argmax(counts)                      # the first maximal run: the smallest most-common value
    return s[i], counts[i]


def mode(a, axis=0, nan_policy="propagate", keepdims=False):
    """The most common value along `axis` (the smallest on ties) and its count."""
    if nan_policy not in ("propagate", "omit", "raise"):
        raise ValueError(f"Illegal nan_policy value {nan_policy!r}")
    if nan_policy != "propagate":
        raise NotImplementedError(f"mode: nan_policy='{nan_policy}' is not supported")
    a = jnp.asarray(a)
    if axis is None:
        a, axis = jnp.ravel(a), 0
    axis = _canon_axis(operator.index(axis), a.ndim, "mode")
    if a.shape[axis] == 0:
        raise ValueError("mode of an empty axis is undefined")
    from ... import vmap
    moved = jnp.moveaxis(a, axis, -1)
    f = _mode1d
    for _ in range(moved.ndim - 1):
        f = vmap(f)
    m, c = f(moved)
    c = c.astype(dtypes.default_int_dtype())
    if keepdims:
        m, c = jnp.expand_dims(m, axis), jnp.expand_dims(c, axis)
    return ModeResult(m, c)
