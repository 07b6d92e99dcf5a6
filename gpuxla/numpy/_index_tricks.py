"""Index helpers (as `jax.numpy`'s): r_, c_, s_, index_exp, mgrid, ogrid, ix_, indices, the
diag/tril/triu index functions, mask_indices, fill_diagonal, diagflat and block.

Index sets that depend only on static sizes (tril_indices(n), ...) are computed once with NumPy and
enter the graph as constants, as JAX does; everything that touches array values is a jnp composite.

>>> import gpuxla.numpy as jnp
>>> jnp.r_[1:3, 0, jnp.array([7])]
Array([1, 2, 0, 7], dtype=int32)
"""
import operator

import numpy as np

from .. import numpy as jnp
from ..core import dtypes

__all__ = ["r_", "c_", "s_", "index_exp", "mgrid", "ogrid", "ix_", "indices", "diag_indices", "diag_indices_from",
           "tril_indices", "tril_indices_from", "triu_indices", "triu_indices_from", "mask_indices",
           "fill_diagonal", "diagflat", "block"]

s_ = np.s_
index_exp = np.index_exp


def _int():
    return dtypes.default_int_dtype()


def _range_of(sl, op):
    """A slice as a 1-D range: start:stop:step is arange, start:stop:Nj is linspace with N points."""
    start = 0 if sl.start is None else sl.start
    step = 1 if sl.step is None else sl.step
    if sl.stop is None:
        raise ValueError(f"{op}: a slice needs a stop value")
    if isinstance(step, complex):
        return jnp.linspace(start, sl.stop, int(abs(step)), endpoint=True)
    return jnp.arange(start, sl.stop, step)


class _Grid:
    def __init__(self, sparse, name):
        self.sparse, self.name = sparse, name

    def __getitem__(self, key):
        if isinstance(key, slice):
            return _range_of(key, self.name)
        ranges = [_range_of(k, self.name) for k in key]
        if not ranges:
            return [] if self.sparse else jnp.zeros((0,), _int())
        dt = dtypes.result_type(*ranges)
        ranges = [r.astype(dt) for r in ranges]
        if self.sparse:
            n = len(ranges)
            return [r.reshape((1,) * i + (-1,) + (1,) * (n - i - 1)) for i, r in enumerate(ranges)]
        return jnp.stack(jnp.meshgrid(*ranges, indexing="ij"), 0)


mgrid = _Grid(False, "mgrid")
ogrid = _Grid(True, "ogrid")


class _Concatenator:
    """r_ and c_: concatenate slices (as ranges), scalars and arrays along an axis; a leading string
    'axis[,ndmin[,trans1d]]' changes the axis, the minimum rank and where a 1-d item's axis goes."""

    def __init__(self, axis, ndmin, trans1d, name):
        self.axis, self.ndmin, self.trans1d, self.name = axis, ndmin, trans1d, name

    def __getitem__(self, key):
        key = key if isinstance(key, tuple) else (key,)
        axis, ndmin, trans1d = self.axis, self.ndmin, self.trans1d
        items = []
        for i, item in enumerate(key):
            if isinstance(item, str):
                if i:
                    raise ValueError(f"{self.name}: a string directive must be the first entry")
                if item in ("r", "c"):
                    raise NotImplementedError(f"{self.name}: the 'r'/'c' matrix directives are not supported "
                                              "(JAX has no matrix type)")
                try:
                    parts = [int(p) for p in item.split(",")]
                except ValueError:
                    raise ValueError(f"{self.name}: could not understand directive {item!r}") from None
                axis = parts[0]
                ndmin = parts[1] if len(parts) > 1 else ndmin
                trans1d = parts[2] if len(parts) > 2 else trans1d
                continue
            scalar = not isinstance(item, slice) and np.ndim(item) == 0
            arr = _range_of(item, self.name) if isinstance(item, slice) else jnp.asarray(item)
            if arr.ndim < ndmin:
                k2 = ndmin - arr.ndim
                arr = arr.reshape((1,) * k2 + arr.shape)
                if not scalar and trans1d != -1:
                    k1 = trans1d + k2 + 1 if trans1d < 0 else trans1d
                    axes = list(range(ndmin))
                    arr = jnp.transpose(arr, axes[:k1] + axes[k2:] + axes[k1:k2])
            items.append(arr)
        if not items:
            return jnp.zeros((0,), jnp.float32)
        return jnp.concatenate(items, axis=axis)


r_ = _Concatenator(0, 1, -1, "r_")
c_ = _Concatenator(-1, 2, 0, "c_")


def ix_(*args):
    """Open-mesh index arrays: the i-th 1-d argument reshaped to broadcast along axis i."""
    out = []
    n = len(args)
    for i, a in enumerate(args):
        a = jnp.asarray(a)
        if a.ndim != 1:
            raise ValueError(f"Arguments to jax.numpy.ix_ must be 1-dimensional, got shape {a.shape}")
        if a.dtype == np.bool_:
            raise TypeError("jax.numpy.ix_ does not support boolean arguments")
        out.append(a.reshape((1,) * i + (a.shape[0],) + (1,) * (n - i - 1)))
    return tuple(out)


def indices(dimensions, dtype=None, sparse=False):
    """The index grid of a shape: out[i][idx] == idx[i]."""
    dims = tuple(operator.index(d) for d in dimensions)
    dt = dtypes.canonicalize_dtype(dtype or _int())
    n = len(dims)
    res = [jnp.arange(d, dtype=dt).reshape((1,) * i + (d,) + (1,) * (n - i - 1)) for i, d in enumerate(dims)]
    if sparse:
        return tuple(res)
    if not res:
        return jnp.zeros((0,), dt)
    return jnp.stack([jnp.broadcast_to(r, dims) for r in res], 0)


def diag_indices(n, ndim=2):
    n, ndim = operator.index(n), operator.index(ndim)
    if n < 0:
        raise ValueError(f"n argument to diag_indices must be nonnegative, got {n}")
    if ndim < 0:
        raise ValueError(f"ndim argument to diag_indices must be nonnegative, got {ndim}")
    return (jnp.arange(n, dtype=_int()),) * ndim


def diag_indices_from(arr):
    s = np.shape(arr) if not hasattr(arr, "shape") else arr.shape
    if len(s) < 2:
        raise ValueError("input array must be at least 2-d")
    if len(set(s)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    return diag_indices(s[0], len(s))


def _np_indices(fn, *args):
    return tuple(jnp.asarray(i.astype(_int())) for i in fn(*args))


def tril_indices(n, k=0, m=None):
    return _np_indices(np.tril_indices, operator.index(n), operator.index(k), m)


def triu_indices(n, k=0, m=None):
    return _np_indices(np.triu_indices, operator.index(n), operator.index(k), m)


def _shape2(arr, name):
    s = arr.shape
    if len(s) != 2:
        raise ValueError(f"{name} requires a 2-D array, got shape {s}")
    return s


def tril_indices_from(arr, k=0):
    n, m = _shape2(arr, "tril_indices_from")
    return tril_indices(n, k, m)


def triu_indices_from(arr, k=0):
    n, m = _shape2(arr, "triu_indices_from")
    return triu_indices(n, k, m)


def mask_indices(n, mask_func, k=0, *, size=None):
    """The indices where mask_func(ones((n, n)), k) is nonzero (e.g. mask_func=jnp.triu)."""
    i, j = jnp.nonzero(mask_func(jnp.ones((n, n), _int()), k), size=size)
    return i.astype(_int()), j.astype(_int())


def fill_diagonal(a, val, wrap=False, *, inplace=True):
    """A copy of `a` (ndim >= 2, all dims equal if ndim > 2) with its main diagonal set to `val`
    (repeated cyclically). JAX arrays are immutable, so inplace=False is required."""
    if inplace:
        raise NotImplementedError("JAX arrays are immutable, must use inplace=False")
    if wrap:
        raise NotImplementedError("wrap=True is not implemented, must use wrap=False")
    a = jnp.asarray(a)
    if a.ndim < 2:
        raise ValueError("array must be at least 2-d")
    if a.ndim > 2 and len(set(a.shape)) != 1:
        raise ValueError("All dimensions of input must be of equal length")
    n = min(a.shape)
    idx = (jnp.arange(n),) * a.ndim
    v = jnp.ravel(jnp.asarray(val, a.dtype))
    if v.size == 0:
        return a
    v = jnp.tile(v, -(-n // v.size))[:n] if v.size != n else v
    return a.at[idx].set(v)


def diagflat(v, k=0):
    """A 2-D array with the flattened input on its k-th diagonal."""
    v = jnp.ravel(jnp.asarray(v))
    return jnp.diag(v, k)


def block(arrays):
    """Assemble an array from nested lists of blocks: the innermost lists join along the last axis,
    each enclosing level along the axis before."""
    def depth(x):
        if isinstance(x, tuple):
            raise TypeError("jax.numpy.block: tuples are not allowed, use lists")
        if isinstance(x, list):
            if not x:
                raise ValueError("jax.numpy.block: lists cannot be empty")
            ds = {depth(e) for e in x}
            if len(ds) != 1:
                raise ValueError("jax.numpy.block: list depths are mismatched")
            return 1 + ds.pop()
        return 0

    def max_ndim(x):
        return max(max_ndim(e) for e in x) if isinstance(x, list) else jnp.ndim(x)

    d = depth(arrays)
    nd = max(d, max_ndim(arrays))

    def build(x, level):
        if not isinstance(x, list):
            x = jnp.asarray(x)
            return x.reshape((1,) * (nd - x.ndim) + x.shape)
        return jnp.concatenate([build(e, level + 1) for e in x], axis=nd - d + level)

    if d == 0:
        return jnp.asarray(arrays)
    return build(arrays, 0)
