"""Set operations on 1-D views of arrays (as `jax.numpy`'s): isin, union1d, intersect1d, setdiff1d,
setxor1d and the array-API unique_* family.

All are composites of sort, compare, cumsum and nonzero(size=...). The size of a set is a value, so
without `size=` the inputs must be concrete (eager code); under jit pass `size=` (and optionally
`fill_value=`), exactly as JAX requires.

>>> import gpuxla.numpy as jnp
>>> jnp.union1d(jnp.array([3, 1]), jnp.array([2, 3]))
Array([1, 2, 3], dtype=int32)
"""
from typing import NamedTuple


from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ._sorting import _concrete_value

__all__ = ["isin", "union1d", "intersect1d", "setdiff1d", "setxor1d", "unique_all", "unique_counts",
           "unique_inverse", "unique_values"]


class _UniqueAllResult(NamedTuple):
    values: object
    indices: object
    inverse_indices: object
    counts: object


class _UniqueCountsResult(NamedTuple):
    values: object
    counts: object


class _UniqueInverseResult(NamedTuple):
    values: object
    inverse_indices: object


def _int():
    return dtypes.default_int_dtype()


def _sorted(a):
    """Flattened `a` sorted stably, the permutation that sorts it, and the mask of first entries of
    each run of equal values (NaNs form one run when equal_nan)."""
    a = jnp.ravel(jnp.asarray(a))
    perm = jnp.argsort(a, stable=True).astype(_int())
    s = jnp.take(a, perm)
    if s.shape[0] == 0:
        return s, perm, jnp.zeros((0,), bool)
    diff = s[1:] != s[:-1]
    return s, perm, jnp.concatenate([jnp.ones((1,), bool), diff])


def _sorted_nan_eq(a):
    s, perm, first = _sorted(a)
    if s.shape[0] and dtypes.is_inexact(s.dtype):
        both_nan = jnp.isnan(s[1:]) & jnp.isnan(s[:-1])
        first = first & jnp.concatenate([jnp.ones((1,), bool), ~both_nan])
    return s, perm, first


def _size(mask, size, name):
    if size is None:
        return int(_concrete_value(jnp.sum(mask), name))
    return int(size)


def _positions(mask, size):
    """Indices of the true entries of `mask`, in order, padded to `size` with 0, and the validity mask."""
    if size == 0:
        return jnp.zeros((0,), _int()), jnp.zeros((0,), bool)
    pos = jnp.nonzero(mask, size=size, fill_value=0)[0].astype(_int())
    valid = lax.iota(_int(), size) < jnp.sum(mask, dtype=_int())
    return pos, valid


def _gather_fill(vals, pos, valid, fill):
    if vals.shape[0] == 0:
        return jnp.full(pos.shape, 0 if fill is None else fill, vals.dtype)
    out = jnp.take(vals, pos)
    if fill is None:           # JAX pads with the first (smallest) element of the result
        fill = out[0] if out.shape[0] else 0
    return jnp.where(valid, out, jnp.asarray(fill, vals.dtype))


def _member(sorted_b, x):
    """x is an element of the sorted 1-D array sorted_b (elementwise)."""
    if sorted_b.shape[0] == 0:
        return jnp.zeros(x.shape, bool)
    i = jnp.clip(jnp.searchsorted(sorted_b, x), 0, sorted_b.shape[0] - 1)
    return jnp.take(sorted_b, i) == x


def isin(element, test_elements, assume_unique=False, invert=False, *, method="auto"):
    """Elementwise membership of `element` in `test_elements` (any shape; NaN is never a member)."""
    element, test = jnp.asarray(element), jnp.ravel(jnp.asarray(test_elements))
    dt = dtypes.result_type(element, test)
    element, test = element.astype(dt), test.astype(dt)
    if test.shape[0] == 0:
        out = jnp.zeros(element.shape, bool)
    else:
        out = jnp.any(jnp.expand_dims(element, -1) == test, axis=-1)
    return ~out if invert else out


def _finish(vals, mask, size, fill_value, name):
    n = _size(mask, size, name)
    pos, valid = _positions(mask, n)
    return _gather_fill(vals, pos, valid, fill_value)


def union1d(ar1, ar2, *, size=None, fill_value=None):
    """The sorted unique values found in either array."""
    a = jnp.concatenate([jnp.ravel(jnp.asarray(ar1)), jnp.ravel(jnp.asarray(ar2))])
    s, _, first = _sorted_nan_eq(a)
    return _finish(s, first, size, fill_value, "union1d")


def setdiff1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values of ar1 that are not in ar2."""
    ar1, ar2 = jnp.ravel(jnp.asarray(ar1)), jnp.ravel(jnp.asarray(ar2))
    s, _, first = _sorted_nan_eq(ar1)
    mask = first & ~_member(jnp.sort(ar2).astype(s.dtype), s)
    return _finish(s, mask, size, 0 if fill_value is None else fill_value, "setdiff1d")


def setxor1d(ar1, ar2, assume_unique=False, *, size=None, fill_value=None):
    """The sorted unique values in exactly one of the arrays."""
    ar1, ar2 = jnp.ravel(jnp.asarray(ar1)), jnp.ravel(jnp.asarray(ar2))
    s, _, first = _sorted_nan_eq(jnp.concatenate([ar1, ar2]))
    in1, in2 = _member(jnp.sort(ar1).astype(s.dtype), s), _member(jnp.sort(ar2).astype(s.dtype), s)
    return _finish(s, first & (in1 != in2), size, fill_value, "setxor1d")


def intersect1d(ar1, ar2, assume_unique=False, return_indices=False, *, size=None, fill_value=None):
    """The sorted unique values in both arrays; with return_indices, also the index of the first
    occurrence of each in ar1 and in ar2 (padded with len(ar1) and len(ar2) past the count)."""
    ar1, ar2 = jnp.ravel(jnp.asarray(ar1)), jnp.ravel(jnp.asarray(ar2))
    dt = dtypes.result_type(ar1, ar2)
    ar1, ar2 = ar1.astype(dt), ar2.astype(dt)
    s1, perm1, first1 = _sorted(ar1)
    s2, perm2, _ = _sorted(ar2)
    mask = first1 & _member(s2, s1)
    n = _size(mask, size, "intersect1d")
    pos, valid = _positions(mask, n)
    vals = _gather_fill(s1, pos, valid, fill_value)
    if not return_indices:
        return vals
    if n and s1.shape[0] and s2.shape[0]:
        i1 = jnp.where(valid, jnp.take(perm1, pos), ar1.shape[0])
        # a stable sort puts the first occurrence first among equals: searchsorted(left) finds it
        j = jnp.clip(jnp.searchsorted(s2, jnp.take(s1, pos)), 0, s2.shape[0] - 1)
        i2 = jnp.where(valid, jnp.take(perm2, j), ar2.shape[0])
    else:
        i1 = jnp.full((n,), ar1.shape[0], _int())
        i2 = jnp.full((n,), ar2.shape[0], _int())
    return vals, i1.astype(_int()), i2.astype(_int())


def _unique_parts(x, size, fill_value, equal_nan, name):
    x = jnp.asarray(x)
    s, perm, first = (_sorted_nan_eq if equal_nan else _sorted)(x)
    n = _size(first, size, name)
    pos, valid = _positions(first, n)
    values = _gather_fill(s, pos, valid, fill_value)
    m = s.shape[0]
    if m == 0:
        z = jnp.zeros((n,), _int())
        return values, z, jnp.zeros(x.shape, _int()), z
    indices = jnp.take(perm, pos)
    indices = jnp.where(valid, indices, indices[0]) if n else indices
    group = jnp.cumsum(first.astype(_int())) - 1          # the run each sorted entry belongs to
    inverse = jnp.zeros((m,), _int()).at[perm].set(group).reshape(x.shape)
    nxt = jnp.concatenate([pos[1:], jnp.full((1,), m, _int())]) if n else pos
    nxt = jnp.where(jnp.concatenate([valid[1:], jnp.zeros((1,), bool)]) if n else valid, nxt, m)
    counts = jnp.where(valid, nxt - pos, 0).astype(_int())
    return values, indices.astype(_int()), inverse, counts


def unique_all(x, /, *, size=None, fill_value=None):
    """Unique values (NaNs distinct), the first index of each, the inverse map and the counts."""
    return _UniqueAllResult(*_unique_parts(x, size, fill_value, False, "unique_all"))


def unique_counts(x, /, *, size=None, fill_value=None):
    v, _, _, c = _unique_parts(x, size, fill_value, False, "unique_counts")
    return _UniqueCountsResult(v, c)


def unique_inverse(x, /, *, size=None, fill_value=None):
    v, _, inv, _ = _unique_parts(x, size, fill_value, False, "unique_inverse")
    return _UniqueInverseResult(v, inv)


def unique_values(x, /, *, size=None, fill_value=None):
    return _unique_parts(x, size, fill_value, False, "unique_values")[0]


