"""The rest of `jax.numpy`'s breadth, each a composite of existing jnp/lax ops (so grad, vmap and jit
need no new rules): statistics (cov, corrcoef, gradient, unwrap), elementwise extras (fmax, fmin,
modf, spacing, bitwise_count), array edits (delete, insert, place, put, resize, choose, piecewise),
partial sorts, bit packing, constructors from Python data, dtype aliases and printing helpers.

>>> import gpuxla.numpy as jnp
>>> jnp.cov(jnp.array([[0.0, 1.0, 2.0], [2.0, 1.0, 0.0]]))
Array([[ 1., -1.],
       [-1.,  1.]], dtype=float32)
"""
import builtins
import operator

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from ..core.graph import Array
from ._lax_numpy import _ScalarMeta, _scalar_type
from ._util import _canon_axis, _inexact

__all__ = ["apply_along_axis", "apply_over_axes", "argpartition", "partition", "bitwise_count", "choose",
           "corrcoef", "cov", "delete", "insert", "fmax", "fmin", "modf", "spacing", "nancumprod", "geomspace",
           "fromfunction", "gradient", "unwrap", "iscomplex", "isreal", "isdtype", "lexsort", "matvec", "vecmat",
           "packbits", "unpackbits", "piecewise", "place", "put", "resize", "sort_complex", "unstack",
           "frombuffer", "fromiter", "fromstring", "iterable", "bool", "double", "single", "cdouble", "csingle",
           "uint", "object_", "array_repr", "array_str", "get_printoptions", "printoptions"]

bool = _scalar_type("bool", np.bool_)
double, single = _scalar_type("float64", np.float64), _scalar_type("float32", np.float32)
cdouble, csingle = _scalar_type("complex128", np.complex128), _scalar_type("complex64", np.complex64)
uint = _scalar_type("uint64", np.uint64)
object_ = np.object_     # as in JAX: the NumPy type, which no jnp function accepts as a dtype
get_printoptions = np.get_printoptions
printoptions = np.printoptions


def _int():
    return dtypes.default_int_dtype()


def _float(x):
    return x if dtypes.is_inexact(x.dtype) else x.astype(_inexact(x.dtype))


# --- functional helpers -----------------------------------------------------------------------
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """func1d applied to every 1-d slice along `axis`, by vmapping over the other axes."""
    from .. import vmap
    arr = jnp.asarray(arr)
    nd = arr.ndim
    axis = _canon_axis(axis, nd, "apply_along_axis")

    def f(a):
        return func1d(a, *args, **kwargs)
    for i in range(1, nd - axis):
        f = vmap(f, in_axes=i, out_axes=-1)
    for _ in range(axis):
        f = vmap(f, in_axes=0, out_axes=0)
    return f(arr)


def apply_over_axes(func, a, axes):
    """func(a, axis) applied for each axis in turn; a result of one rank less gets the axis back."""
    a = jnp.asarray(a)
    for axis in axes:
        b = func(a, axis)
        if b.ndim == a.ndim - 1:
            b = jnp.expand_dims(b, axis)
        elif b.ndim != a.ndim:
            raise ValueError("function is not returning an array of the correct shape")
        a = b
    return a


def fromfunction(function, shape, *, dtype=float, **kwargs):
    """function applied to the index grid of `shape` (one index array per axis, as NumPy)."""
    shape = tuple(operator.index(s) for s in shape)
    dt = dtypes.canonicalize_dtype(dtype)
    return function(*jnp.indices(shape, dtype=dt), **kwargs)


def piecewise(x, condlist, funclist, *args, **kw):
    """funclist[i] (a callable or a constant) where condlist[i]; an extra last entry of funclist is
    the value where no condition holds. Every branch is evaluated on all of x, then selected."""
    x = jnp.asarray(x)
    if isinstance(condlist, (Array, np.ndarray)) and condlist.ndim == x.ndim:
        condlist = [condlist]
    condlist = [jnp.asarray(c, jnp.bool_) for c in condlist]
    nc, nf = len(condlist), len(funclist)
    if nf == nc + 1:
        condlist.append(~jnp.any(jnp.stack([jnp.broadcast_to(c, x.shape) for c in condlist]), axis=0)
                        if condlist else jnp.ones(x.shape, jnp.bool_))
    elif nf != nc:
        raise ValueError(f"with {nc} condition(s), either {nc} or {nc + 1} functions are expected; got {nf}")
    out = jnp.zeros_like(x)
    for c, f in zip(condlist, funclist):
        v = f(x, *args, **kw) if callable(f) else f
        out = jnp.where(c, jnp.asarray(v).astype(x.dtype), out)
    return out


# --- statistics -------------------------------------------------------------------------------
def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, dtype=None):
    """The covariance matrix of the variables in m (rows when rowvar) and y, with optional integer
    frequency weights and observation weights, as numpy.cov."""
    m = jnp.asarray(m)
    if m.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    x = jnp.atleast_2d(m)
    if not rowvar and x.shape[0] != 1:
        x = x.T
    if x.shape[0] == 0:
        return jnp.array([]).reshape(0, 0)
    if y is not None:
        y = jnp.atleast_2d(jnp.asarray(y))
        if not rowvar and y.shape[0] != 1:
            y = y.T
        x = jnp.concatenate([x, y], axis=0)
    dt = dtypes.canonicalize_dtype(dtype) if dtype is not None else _inexact(dtypes.result_type(x))
    x = x.astype(dt)
    if ddof is None:
        ddof = 0 if bias else 1
    w = None
    if fweights is not None:
        f = jnp.asarray(fweights)
        if f.ndim > 1:
            raise RuntimeError("cannot handle multidimensional fweights")
        if f.shape[0] != x.shape[1]:
            raise RuntimeError("incompatible numbers of samples and fweights")
        if not dtypes.issubdtype(f.dtype, np.integer):
            raise TypeError("fweights must be integer.")
        w = f.astype(dt)
    if aweights is not None:
        a = jnp.asarray(aweights)
        if a.ndim > 1:
            raise RuntimeError("cannot handle multidimensional aweights")
        if a.shape[0] != x.shape[1]:
            raise RuntimeError("incompatible numbers of samples and aweights")
        a = a.astype(dt)
        w = a if w is None else w * a
    if w is None:
        avg = jnp.mean(x, axis=1)
        w_sum = jnp.asarray(x.shape[1], dt)
        fact = w_sum - ddof
    else:
        w_sum = jnp.sum(w)
        avg = jnp.sum(x * w, axis=1) / w_sum
        if ddof == 0:
            fact = w_sum
        elif aweights is None:
            fact = w_sum - ddof
        else:
            fact = w_sum - ddof * jnp.sum(w * a) / w_sum
    xc = x - avg[:, None]
    xw = xc if w is None else xc * w
    c = jnp.matmul(xw, jnp.conj(xc).T) / fact
    return jnp.squeeze(c)


def corrcoef(x, y=None, rowvar=True, dtype=None):
    """Pearson correlation coefficients: cov normalised by the standard deviations, clipped to [-1, 1]."""
    c = cov(x, y, rowvar, dtype=dtype)
    if c.ndim == 0:
        return c / c
    d = jnp.diag(c)
    s = jnp.sqrt(d.real) if dtypes.issubdtype(d.dtype, np.complexfloating) else jnp.sqrt(d)
    c = c / s[:, None] / s[None, :]
    if dtypes.issubdtype(c.dtype, np.complexfloating):
        return jnp.clip(c.real, -1, 1) + 1j * jnp.clip(c.imag, -1, 1)
    return jnp.clip(c, -1, 1)


def gradient(f, *varargs, axis=None, edge_order=None):
    """Central differences inside, one-sided first differences at the edges (edge_order 1), with
    unit, scalar or coordinate-array spacing per axis, as numpy.gradient."""
    if edge_order is not None and edge_order != 1:
        raise NotImplementedError("jnp.gradient: only edge_order=1 is implemented")
    f = _float(jnp.asarray(f))
    axes = tuple(range(f.ndim)) if axis is None else (
        (axis,) if isinstance(axis, int) else tuple(axis))
    axes = tuple(_canon_axis(a, f.ndim, "gradient") for a in axes)
    if len(varargs) == 0:
        spacing = [1.0] * len(axes)
    elif len(varargs) == 1 and np.ndim(varargs[0]) == 0:
        spacing = list(varargs) * len(axes)
    elif len(varargs) == len(axes):
        spacing = list(varargs)
    else:
        raise TypeError("Invalid number of spacing arguments")

    def one(ax, h):
        n = f.shape[ax]
        if n < 2:
            raise ValueError("Shape of array too small to calculate a numerical gradient, "
                             "at least (edge_order + 1) elements are required.")
        sl = lambda a, b: lax.slice_in_dim(f, a, b, axis=ax)  # noqa: E731
        shape = [1] * f.ndim
        shape[ax] = -1
        if np.ndim(h) == 0:
            inner = (sl(2, n) - sl(0, n - 2)) / (2.0 * h)
            first = (sl(1, 2) - sl(0, 1)) / h
            last = (sl(n - 1, n) - sl(n - 2, n - 1)) / h
        else:
            x = _float(jnp.asarray(h)).astype(f.dtype)
            if x.shape != (n,):
                raise ValueError("when 1d, distances must match the length of the corresponding dimension")
            dx = jnp.diff(x)
            h1, h2 = dx[:-1].reshape(shape), dx[1:].reshape(shape)
            # second-order accurate on a non-uniform grid (numpy's formula)
            inner = (-(h2 / (h1 * (h1 + h2))) * sl(0, n - 2) + ((h2 - h1) / (h1 * h2)) * sl(1, n - 1)
                     + (h1 / (h2 * (h1 + h2))) * sl(2, n))
            first = (sl(1, 2) - sl(0, 1)) / dx[0]
            last = (sl(n - 1, n) - sl(n - 2, n - 1)) / dx[-1]
        return jnp.concatenate([first, inner, last], axis=ax)

    out = [one(a, h) for a, h in zip(axes, spacing)]
    return out[0] if len(out) == 1 else out


def unwrap(p, discont=None, axis=-1, period=2 * np.pi):
    """Unwrap phases: remove jumps larger than max(discont, period/2) by adding multiples of period."""
    p = _float(jnp.asarray(p))
    axis = _canon_axis(axis, p.ndim, "unwrap")
    dd = jnp.diff(p, axis=axis)
    half = period / 2
    discont = half if discont is None else jnp.maximum(discont, half)
    ddmod = jnp.remainder(dd + half, period) - half
    ddmod = jnp.where((ddmod == -half) & (dd > 0), half, ddmod)
    corr = jnp.where(jnp.abs(dd) < discont, 0, ddmod - dd)
    first = lax.slice_in_dim(p, 0, 1, axis=axis)
    rest = lax.slice_in_dim(p, 1, p.shape[axis], axis=axis) + jnp.cumsum(corr, axis=axis)
    return jnp.concatenate([first, rest.astype(p.dtype)], axis=axis)


def nancumprod(a, axis=None, dtype=None, out=None):
    a = jnp.asarray(a)
    return jnp.cumprod(jnp.where(jnp.isnan(a), jnp.ones_like(a), a), axis, dtype)


# --- elementwise ------------------------------------------------------------------------------
def fmax(x1, x2):
    """Elementwise maximum that ignores NaN (NaN only where both are NaN)."""
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    return jnp.where(jnp.isnan(x1) | (x1 < x2), x2, x1) if dtypes.is_inexact(
        dtypes.result_type(x1, x2)) else jnp.maximum(x1, x2)


def fmin(x1, x2):
    """Elementwise minimum that ignores NaN (NaN only where both are NaN)."""
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    return jnp.where(jnp.isnan(x1) | (x1 > x2), x2, x1) if dtypes.is_inexact(
        dtypes.result_type(x1, x2)) else jnp.minimum(x1, x2)


def modf(x, /, out=None):
    """(fractional part, integral part), both with the sign of x."""
    x = _float(jnp.asarray(x))
    whole = jnp.trunc(x)
    return jnp.copysign(jnp.where(jnp.isinf(x), 0, x - whole), x), whole


def spacing(x, /):
    """The distance from x to the next representable number away from zero (as numpy.spacing)."""
    x = _float(jnp.asarray(x))
    away = jnp.nextafter(x, jnp.where(x >= 0, jnp.asarray(np.inf, x.dtype), jnp.asarray(-np.inf, x.dtype)))
    return jnp.where(jnp.isinf(x), jnp.nan, away - x)


def bitwise_count(x, /):
    """The number of 1 bits in |x| (uint8 result, as NumPy and JAX)."""
    x = jnp.asarray(x)
    if not dtypes.issubdtype(x.dtype, np.integer) and x.dtype != np.bool_:
        raise TypeError(f"bitwise_count requires an integer or boolean input, got {x.dtype}")
    if x.dtype == np.bool_:
        return x.astype(np.uint8)
    if dtypes.issubdtype(x.dtype, np.signedinteger):
        x = jnp.abs(x)
    return lax.population_count(x).astype(np.uint8)


def iscomplex(x):
    x = jnp.asarray(x)
    return jnp.imag(x) != 0 if dtypes.issubdtype(x.dtype, np.complexfloating) else jnp.zeros(x.shape, jnp.bool_)


def isreal(x):
    x = jnp.asarray(x)
    return jnp.imag(x) == 0 if dtypes.issubdtype(x.dtype, np.complexfloating) else jnp.ones(x.shape, jnp.bool_)


_KINDS = {"bool": lambda d: d == np.bool_,
          "signed integer": lambda d: dtypes.issubdtype(d, np.signedinteger),
          "unsigned integer": lambda d: dtypes.issubdtype(d, np.unsignedinteger),
          "integral": lambda d: dtypes.issubdtype(d, np.integer),
          "real floating": lambda d: dtypes.issubdtype(d, np.floating),
          "complex floating": lambda d: dtypes.issubdtype(d, np.complexfloating),
          "numeric": lambda d: d != np.bool_ and dtypes.issubdtype(d, np.number)}


def isdtype(dtype, kind):
    """The array-API dtype test: kind is a dtype, a kind name ('bool', 'signed integer', 'unsigned
    integer', 'integral', 'real floating', 'complex floating', 'numeric') or a tuple of them."""
    d = np.dtype(dtype.dtype if isinstance(dtype, _ScalarMeta) else dtype)
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for k in kinds:
        if isinstance(k, str):
            if k not in _KINDS:
                raise ValueError(f"Unrecognized kind={k!r}; expected one of {sorted(_KINDS)}")
            if _KINDS[k](d):
                return True
        elif d == np.dtype(k.dtype if isinstance(k, _ScalarMeta) else k):
            return True
    return False


# --- products ---------------------------------------------------------------------------------
def matvec(x1, x2, /):
    """Batched matrix-vector product: (..., m, n) @ (..., n) -> (..., m)."""
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    return jnp.matmul(x1, x2[..., None])[..., 0]


def vecmat(x1, x2, /):
    """Batched vector-matrix product conj(x1) @ x2: (..., n), (..., n, m) -> (..., m)."""
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    return jnp.matmul(jnp.conj(x1)[..., None, :], x2)[..., 0, :]


# --- sorting ----------------------------------------------------------------------------------
def partition(a, kth, axis=-1):
    """A sort along `axis` satisfies partition's contract (kth element in place, smaller before, larger
    after); JAX returns its own arrangement of the two sides, so only that contract is promised."""
    a = jnp.asarray(a)
    axis = _canon_axis(axis, a.ndim, "partition")
    kth = operator.index(kth)
    n = a.shape[axis]
    if not -n <= kth < n:
        raise ValueError(f"kth={kth} out of bounds for axis of length {n}")
    return jnp.sort(a, axis=axis)


def argpartition(a, kth, axis=-1):
    a = jnp.asarray(a)
    axis = _canon_axis(axis, a.ndim, "argpartition")
    kth = operator.index(kth)
    n = a.shape[axis]
    if not -n <= kth < n:
        raise ValueError(f"kth={kth} out of bounds for axis of length {n}")
    return jnp.argsort(a, axis=axis, stable=True).astype(_int())


def lexsort(keys, axis=-1):
    """Indirect stable sort by several keys, the last key primary."""
    keys = [jnp.asarray(k) for k in keys] if not isinstance(keys, Array) else list(keys)
    if not keys:
        raise TypeError("need sequence of keys with len > 0 in lexsort")
    shape = keys[0].shape
    if any(k.shape != shape for k in keys):
        raise ValueError("all keys need to be the same shape")
    if not shape:
        return jnp.zeros((), _int())
    axis = _canon_axis(axis, len(shape), "lexsort")
    perm = jnp.broadcast_to(lax.broadcasted_iota(_int(), shape, axis), shape)
    for k in keys:                     # least significant first; each stable pass keeps earlier order
        kp = jnp.take_along_axis(k, perm, axis=axis)
        order = jnp.argsort(kp, axis=axis, stable=True)
        perm = jnp.take_along_axis(perm, order, axis=axis)
    return perm.astype(_int())


def sort_complex(a):
    """Sort by real part, then imaginary; the result is complex."""
    a = jnp.asarray(a)
    a = a if dtypes.issubdtype(a.dtype, np.complexfloating) else a.astype(
        np.complex128 if a.dtype in (np.float64, np.int64, np.uint64) and dtypes.x64_enabled()
        else np.complex64)
    order = lexsort([jnp.imag(a), jnp.real(a)], axis=-1)
    return jnp.take_along_axis(a, order, axis=-1)


# --- edits ------------------------------------------------------------------------------------
def _static_index_list(obj, n, name):
    """obj (int, slice, index array or boolean mask over an axis of length n) as concrete NumPy indices:
    the output's shape depends on them, so they cannot be traced values."""
    if isinstance(obj, slice):
        return np.arange(n)[obj]
    if isinstance(obj, Array) and obj.sym is not None and obj._buf is None:
        raise _concrete_error_for(name, obj)
    idx = np.asarray(obj._value() if isinstance(obj, Array) else obj)
    if idx.dtype == np.bool_:
        if idx.shape != (n,):
            raise ValueError(f"{name}: boolean index of shape {idx.shape} does not match axis of length {n}")
        return np.nonzero(idx)[0]
    if idx.size and not np.issubdtype(idx.dtype, np.integer):
        raise IndexError(f"{name}: arrays used as indices must be of integer (or boolean) type")
    return idx.astype(np.int64)


def delete(arr, obj, axis=None, *, assume_unique_indices=False):
    """arr without the entries obj (int, slice, index array or mask) along axis (flattened if None).
    The indices must be concrete: the output's size depends on them."""
    arr = jnp.asarray(arr)
    if axis is None:
        arr, axis = jnp.ravel(arr), 0
    axis = _canon_axis(axis, arr.ndim, "delete")
    n = arr.shape[axis]
    idx = _static_index_list(obj, n, "delete")
    if np.any((idx < -n) | (idx >= n)):
        raise IndexError(f"delete: index out of bounds for axis {axis} with size {n}")
    keep = np.ones(n, np.bool_)
    keep[idx % n if n else idx] = False
    return jnp.take(arr, jnp.asarray(np.nonzero(keep)[0].astype(np.int32)), axis=axis)


def insert(arr, obj, values, axis=None):
    """arr with `values` inserted before the indices obj along axis (flattened if None), as numpy.insert.
    The indices must be concrete."""
    a = jnp.asarray(arr)
    if axis is None:
        a, axis = jnp.ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "insert")
    n = a.shape[axis]
    values = jnp.asarray(values).astype(a.dtype)
    scalar_obj = not isinstance(obj, slice) and np.ndim(obj) == 0
    idx = np.atleast_1d(_static_index_list(obj, n if isinstance(obj, slice) or np.asarray(
        obj._value() if isinstance(obj, Array) else obj).dtype == np.bool_ else n + 1, "insert"))
    if np.any((idx < -n) | (idx > n)):
        raise IndexError(f"insert: index out of bounds for axis {axis} with size {n}")
    idx = np.where(idx < 0, idx + n, idx)
    shape = list(a.shape)
    if scalar_obj:
        # a scalar index inserts `values` as a block whose leading axis becomes `axis` (numpy's rule)
        v = values.reshape((1,) * (a.ndim - values.ndim) + values.shape) if values.ndim < a.ndim else values
        v = jnp.moveaxis(v, 0, axis)
        shape[axis] = v.shape[axis]
        v = jnp.broadcast_to(v, shape)
        lo = lax.slice_in_dim(a, 0, int(idx[0]), axis=axis)
        hi = lax.slice_in_dim(a, int(idx[0]), n, axis=axis)
        return jnp.concatenate([lo, v, hi], axis=axis)
    k = len(idx)
    shape[axis] = k
    v = jnp.broadcast_to(values, shape)
    # the new items go before their index, in the order given among equal indices
    order = np.argsort(idx, kind="stable")
    new_pos = idx[order] + np.arange(k)
    is_old = np.ones(n + k, np.bool_)
    is_old[new_pos] = False
    src = np.empty(n + k, np.int64)                # where each output slot comes from in concat([a, v])
    src[is_old] = np.arange(n)
    src[new_pos] = n + order
    return jnp.take(jnp.concatenate([a, v], axis=axis), jnp.asarray(src.astype(np.int32)), axis=axis)


def place(arr, mask, vals, *, inplace=True):
    """arr with the entries where mask is true replaced by vals, taken cyclically in order."""
    if inplace:
        raise ValueError("jax.numpy.place cannot modify arrays in-place, because JAX arrays are immutable. "
                         "Pass inplace=False to instead return an updated array.")
    arr = jnp.asarray(arr)
    mask = jnp.broadcast_to(jnp.asarray(mask, jnp.bool_), arr.shape)
    vals = jnp.ravel(jnp.asarray(vals, arr.dtype))
    if vals.size == 0:
        return arr
    flat, m = jnp.ravel(arr), jnp.ravel(mask)
    k = jnp.cumsum(m.astype(_int())) - 1           # the rank of each true entry among the true entries
    picked = jnp.take(vals, jnp.remainder(jnp.maximum(k, 0), vals.size))
    return jnp.where(m, picked, flat).reshape(arr.shape)


def put(a, ind, v, mode=None, *, inplace=True):
    """a with flat positions ind set to v (repeated to ind's length); mode 'clip', 'wrap' or the
    default (out-of-bounds updates dropped, as JAX's scatter)."""
    if inplace:
        raise ValueError("jax.numpy.put cannot modify arrays in-place, because JAX arrays are immutable. "
                         "Pass inplace=False to instead return an updated array.")
    a = jnp.asarray(a)
    ind = jnp.ravel(jnp.asarray(ind))
    v = jnp.ravel(jnp.asarray(v, a.dtype))
    if ind.size == 0 or v.size == 0:
        return a
    v = jnp.tile(v, -(-ind.size // v.size))[:ind.size] if v.size != ind.size else v
    n = a.size
    if mode == "clip":
        ind = jnp.clip(ind, 0, n - 1)
    elif mode == "wrap":
        ind = jnp.remainder(ind, n)
    elif mode not in (None, "fill", "drop", "raise"):
        raise ValueError(f"put: invalid mode {mode!r}")
    elif mode == "raise":
        raise NotImplementedError("The 'raise' mode to jnp.put is not supported.")
    return jnp.ravel(a).at[ind].set(v, mode="drop" if mode in (None, "fill", "drop") else None).reshape(a.shape)


def resize(a, new_shape):
    """a repeated (flat, cyclically) to fill new_shape."""
    a = jnp.ravel(jnp.asarray(a))
    new_shape = (operator.index(new_shape),) if np.ndim(new_shape) == 0 else tuple(
        operator.index(d) for d in new_shape)
    if any(d < 0 for d in new_shape):
        raise ValueError("All elements of `new_shape` must be non-negative")
    size = int(np.prod(new_shape))
    if a.size == 0 or size == 0:
        return jnp.zeros(new_shape, a.dtype)
    reps = -(-size // a.size)
    return jnp.tile(a, reps)[:size].reshape(new_shape)


def choose(a, choices, out=None, mode="raise"):
    """choices[a[i]][i] elementwise (all broadcast together); mode 'wrap' or 'clip' for bad indices.
    'raise' cannot check values on the device, so (as JAX) it needs concrete indices."""
    if out is not None:
        raise NotImplementedError("The 'out' argument to jnp.choose is not supported.")
    a = jnp.asarray(a)
    if not dtypes.issubdtype(a.dtype, np.integer):
        raise TypeError("choose: index array must be of integer dtype")
    choices = [jnp.asarray(c) for c in choices]
    n = len(choices)
    if mode == "raise":
        if a.sym is not None and a._buf is None:
            raise _concrete_error_for("choose", a)
        av = np.asarray(a._value())
        if av.size and (av.min() < 0 or av.max() >= n):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        a = jnp.remainder(a, n)
    elif mode == "clip":
        a = jnp.clip(a, 0, n - 1)
    else:
        raise ValueError(f"mode={mode!r} not understood. Must be 'raise', 'wrap', or 'clip'")
    arrs = jnp.broadcast_arrays(a, *choices)
    a, choices = arrs[0], arrs[1:]
    return jnp.take_along_axis(jnp.stack(choices, 0), a[None].astype(_int()), axis=0)[0]


def _concrete_error_for(name, v):
    from ._util import _concrete_error
    return _concrete_error(name, v)


def unstack(x, /, *, axis=0):
    x = jnp.asarray(x)
    if x.ndim == 0:
        raise ValueError("Unstack requires arrays with rank > 0, however a scalar array was passed.")
    axis = _canon_axis(axis, x.ndim, "unstack")
    return tuple(lax.index_in_dim(x, i, axis, keepdims=False) for i in range(x.shape[axis]))


# --- bits -------------------------------------------------------------------------------------
def packbits(a, axis=None, bitorder="big"):
    """Pack the truth values of a (integer or bool) into uint8, 8 per byte, zero-padded at the end."""
    a = jnp.asarray(a)
    if not (dtypes.issubdtype(a.dtype, np.integer) or a.dtype == np.bool_):
        raise TypeError("Expected an input array of integer or boolean data type")
    if bitorder not in ("little", "big"):
        raise TypeError("'order' must be either 'little' or 'big'")
    bits = (a != 0).astype(np.uint8)
    if axis is None:
        bits, axis = jnp.ravel(bits), 0
    axis = _canon_axis(axis, bits.ndim, "packbits")
    bits = jnp.moveaxis(bits, axis, -1)
    n = bits.shape[-1]
    pad = (-n) % 8
    if pad:
        bits = jnp.concatenate([bits, jnp.zeros(bits.shape[:-1] + (pad,), np.uint8)], axis=-1)
    bits = bits.reshape(bits.shape[:-1] + ((n + pad) // 8, 8))
    shifts = np.arange(8, dtype=np.uint8) if bitorder == "little" else np.arange(7, -1, -1, dtype=np.uint8)
    packed = jnp.sum(jnp.left_shift(bits, jnp.asarray(shifts)), axis=-1, dtype=np.uint8)
    return jnp.moveaxis(packed, -1, axis)


def unpackbits(a, axis=None, count=None, bitorder="big"):
    """The bits of a uint8 array as 0/1 uint8 values, 8 per byte (the first `count` kept)."""
    a = jnp.asarray(a)
    if a.dtype != np.uint8:
        raise TypeError("Expected an input array of unsigned byte data type")
    if bitorder not in ("little", "big"):
        raise TypeError("'order' must be either 'little' or 'big'")
    shifts = np.arange(8, dtype=np.uint8) if bitorder == "little" else np.arange(7, -1, -1, dtype=np.uint8)
    bits = jnp.bitwise_and(jnp.right_shift(a[..., None], jnp.asarray(shifts)), np.uint8(1))
    if axis is None:
        bits, axis = jnp.ravel(bits), 0
    else:
        axis = _canon_axis(axis, a.ndim, "unpackbits")
        bits = jnp.moveaxis(bits, -1, axis + 1)
        shape = list(a.shape)
        shape[axis] *= 8
        bits = bits.reshape(shape)
    if count is not None:
        n = bits.shape[axis]
        count = operator.index(count)
        if count < 0:
            count = builtins.max(n + count, 0)
        if count <= n:
            bits = lax.slice_in_dim(bits, 0, count, axis=axis)
        else:
            padw = [(0, 0)] * bits.ndim
            padw[axis] = (0, count - n)
            bits = jnp.pad(bits, padw)
    return bits


# --- creation from Python data ----------------------------------------------------------------
def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """num numbers spaced evenly on a log scale from start to stop (both nonzero, same sign)."""
    start, stop = jnp.asarray(start), jnp.asarray(stop)
    dt = dtypes.canonicalize_dtype(dtype) if dtype is not None else _inexact(dtypes.result_type(start, stop))
    cdt = dt if dtypes.is_inexact(dt) else _inexact(dt)
    start, stop = start.astype(cdt), stop.astype(cdt)
    sign = jnp.sign(start)
    out = sign * jnp.logspace(jnp.log10(start * sign), jnp.log10(stop * sign), num, endpoint=endpoint,
                              base=10.0, dtype=cdt, axis=axis)
    if num and not dtypes.issubdtype(cdt, np.complexfloating):
        # the end points exactly, as NumPy
        idx = [slice(None)] * out.ndim
        idx[axis] = 0
        out = out.at[tuple(idx)].set(jnp.broadcast_to(start, out[tuple(idx)].shape))
        if endpoint and num > 1:
            idx[axis] = -1
            out = out.at[tuple(idx)].set(jnp.broadcast_to(stop, out[tuple(idx)].shape))
    return out.astype(dt)


def frombuffer(buffer, dtype=float, count=-1, offset=0):
    return jnp.asarray(np.frombuffer(buffer, dtype=dtype, count=count, offset=offset))


def fromiter(*args, **kwargs):
    raise NotImplementedError("jnp.fromiter() is not implemented because it may be non-pure and thus unsafe "
                              "for use with JIT and other JAX transformations. Consider using "
                              "jnp.asarray(np.fromiter(...)) instead.")


def fromstring(string, dtype=float, count=-1, *, sep):
    return jnp.asarray(np.fromstring(string, dtype=dtype, count=count, sep=sep))


def iterable(y):
    return np.iterable(y)


# --- printing ---------------------------------------------------------------------------------
def array_repr(arr, max_line_width=None, precision=None, suppress_small=None):
    return repr(jnp.asarray(arr)) if max_line_width is None and precision is None and suppress_small is None else (
        np.array_repr(np.asarray(arr), max_line_width, precision, suppress_small).replace("array(", "Array(", 1))


def array_str(a, max_line_width=None, precision=None, suppress_small=None):
    return np.array_str(np.asarray(a), max_line_width, precision, suppress_small)
