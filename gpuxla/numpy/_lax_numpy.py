"""The layer every gpuxla.numpy module builds on (as JAX's lax_numpy): scalar types and dtype
helpers, asarray and the *_like constructors, and shape manipulation.
"""

import os
import sys

import ml_dtypes as _ml_dtypes
import numpy as np

from .. import config, lax
from ..core import dtypes
from ..core.graph import Array, constant
from ..core.trace import iter_nested
from ..lax import asarray as _lax_asarray
from ..lax.windowed import broadcast_to_shape
from ._util import _canon_axis, _py_all, _py_any, _py_max, _py_min, _shape


ndarray = Array
pi, e, inf, nan, euler_gamma = np.pi, np.e, np.inf, np.nan, np.euler_gamma
newaxis = None


# --- dtypes -----------------------------------------------------------------------------------
class _ScalarMeta(type):
    def __call__(cls, x):
        return asarray(x, dtype=cls.dtype)

    def __eq__(cls, other):
        return cls is other or (not isinstance(other, _ScalarMeta) and _safe_dtype_eq(cls.dtype, other))

    def __hash__(cls):
        return hash(cls.dtype.type)

    def __repr__(cls):
        return f"<class 'gpuxla.numpy.{cls.__name__}'>"


def _safe_dtype_eq(d, other):
    try:
        return d == np.dtype(other)
    except TypeError:
        return False


def _scalar_type(name, dt):
    return _ScalarMeta(name, (), {"dtype": np.dtype(dt)})


bool_ = _scalar_type("bool_", np.bool_)
int8, int16, int32, int64 = (_scalar_type(f"int{b}", f"int{b}") for b in (8, 16, 32, 64))
uint8, uint16, uint32, uint64 = (_scalar_type(f"uint{b}", f"uint{b}") for b in (8, 16, 32, 64))
float16, float32, float64 = (_scalar_type(f"float{b}", f"float{b}") for b in (16, 32, 64))
bfloat16 = _scalar_type("bfloat16", dtypes.bfloat16)
# The 8-bit floats (ml_dtypes' formats, as jnp's; flax names them at import).
float8_e4m3fn, float8_e5m2, float8_e4m3fnuz, float8_e5m2fnuz = (
    _scalar_type(n, getattr(_ml_dtypes, n))
    for n in ("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz"))
complex64, complex128 = _scalar_type("complex64", np.complex64), _scalar_type("complex128", np.complex128)
float_, int_, complex_ = float64, int64, complex128
generic, number, inexact, floating = np.generic, np.number, np.inexact, np.floating
integer, signedinteger, unsignedinteger, complexfloating = (np.integer, np.signedinteger, np.unsignedinteger,
                                                            np.complexfloating)
float0 = dtypes.float0
result_type = dtypes.result_type
promote_types = dtypes.promote_types
finfo, iinfo = dtypes.finfo, dtypes.iinfo


def dtype(x):
    return np.dtype(x.dtype if hasattr(x, "dtype") and not isinstance(x, np.dtype) else x)


def issubdtype(a, b):
    return dtypes.issubdtype(getattr(a, "dtype", a) if isinstance(a, _ScalarMeta) else a,
                             getattr(b, "dtype", b) if isinstance(b, _ScalarMeta) else b)


def _dt(d):
    return None if d is None else dtypes.canonicalize_dtype(d.dtype if isinstance(d, _ScalarMeta) else d)


# --- asarray, *_like --------------------------------------------------------------------------
def asarray(a, dtype=None, copy=None, order=None):
    """Convert `a` (array, scalar, nested lists/tuples of them) to a gpuxla Array."""
    dtype = _dt(dtype)
    if isinstance(a, Array):
        return a if dtype is None or a.dtype == dtype else lax.convert_element_type(a, dtype)
    _guard_h2d(a, 2)
    if isinstance(a, (list, tuple)) and _py_any(isinstance(v, Array) for v in iter_nested(a)):
        return stack([asarray(v, dtype) for v in a]) if len(a) else asarray(np.array(a), dtype)
    if (isinstance(a, (list, tuple)) and len(a)
            and _py_all(isinstance(v, (int, float, bool, complex)) for v in iter_nested(a))):
        # A list of Python scalars takes JAX's promotion of its elements, weak types included.
        dt, weak = dtypes.result_type_and_weak(*iter_nested(a))
        dt = dtype or dt
        return constant(dtypes.astype_numpy(np.array(a), dt) if np.array(a).dtype != dt else np.array(a))
    return _lax_asarray(a, dtype)


def array(object, dtype=None, copy=True, order=None, ndmin=0):
    if not isinstance(object, Array):
        _guard_h2d(object, 2)
    x = asarray(object, dtype)     # a Python scalar stays weakly typed, as in JAX
    if x.ndim < ndmin:
        x = lax.reshape(x, (1,) * (ndmin - x.ndim) + x.shape)
    return x


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _guard_h2d(a, depth):
    """jax.transfer_guard for host data the user's own code hands to jnp.asarray / jnp.array (an
    implicit host-to-device transfer); gpuxla's internal constants are not transfers."""
    if (config.read("jax_transfer_guard_host_to_device") or config.read("jax_transfer_guard")) in (None, "allow"):
        return
    if sys._getframe(depth).f_code.co_filename.startswith(_PACKAGE):
        return
    from .._api import check_transfer
    check_transfer("host_to_device", False, f"a {type(a).__name__} of shape {np.shape(a)} given to jnp.asarray")


def _like(fill):
    def like(a, dtype=None, shape=None):
        return full_like(a, fill, dtype, shape)
    return like


zeros_like, ones_like, empty_like = _like(0), _like(1), _like(0)


def full_like(a, fill_value, dtype=None, shape=None):
    a = asarray(a)
    return lax.full_like(a, fill_value, _dt(dtype), None if shape is None else _shape(shape))


# --- shape manipulation -----------------------------------------------------------------------
def shape(a):
    return np.shape(a) if not isinstance(a, Array) else a.shape


def ndim(a):
    return np.ndim(a) if not isinstance(a, Array) else a.ndim


def size(a, axis=None):
    s = shape(a)
    return int(np.prod(s)) if axis is None else s[axis]


def reshape(a, shape=None, order="C", *, newshape=None):
    a = asarray(a)
    shape = newshape if shape is None else shape
    shape = list(_shape(shape))
    if order == "F":      # column-major: reverse the axes, reshape row-major, reverse back
        return transpose(reshape(transpose(a), shape[::-1]))
    if order not in ("C", "A"):
        raise ValueError(f"reshape: order must be 'C', 'F' or 'A', got {order!r}")
    if shape.count(-1) > 1:
        raise ValueError(f"reshape: can only specify one unknown dimension, got {tuple(shape)}")
    if -1 in shape:
        known = int(np.prod([d for d in shape if d != -1]))
        if known == 0 or a.size % known:
            raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) "
                            f"into shape {tuple(shape)}")
        shape[shape.index(-1)] = a.size // known
    return lax.reshape(a, shape)


def ravel(a, order="C"):
    a = asarray(a)
    if order == "F":
        a = transpose(a)
    elif order not in ("C", "A", "K"):
        raise ValueError(f"ravel: order must be 'C', 'F', 'A' or 'K', got {order!r}")
    return lax.reshape(a, (a.size,))


def transpose(a, axes=None):
    a = asarray(a)
    axes = tuple(reversed(range(a.ndim))) if axes is None else tuple(_canon_axis(x, a.ndim, "transpose") for x in axes)
    return lax.transpose(a, axes)


def permute_dims(a, axes=None):
    return transpose(a, axes)


def matrix_transpose(x):
    x = asarray(x)
    return swapaxes(x, -1, -2)


def swapaxes(a, axis1, axis2):
    a = asarray(a)
    perm = list(range(a.ndim))
    i, j = _canon_axis(axis1, a.ndim, "swapaxes"), _canon_axis(axis2, a.ndim, "swapaxes")
    perm[i], perm[j] = perm[j], perm[i]
    return lax.transpose(a, perm)


def moveaxis(a, source, destination):
    a = asarray(a)
    src = [_canon_axis(s, a.ndim, "moveaxis") for s in np.atleast_1d(source)]
    dst = [_canon_axis(d, a.ndim, "moveaxis") for d in np.atleast_1d(destination)]
    if len(src) != len(dst):
        raise ValueError("moveaxis: source and destination must have the same number of elements")
    order = [n for n in range(a.ndim) if n not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return lax.transpose(a, order)


def rollaxis(a, axis, start=0):
    a = asarray(a)
    axis = _canon_axis(axis, a.ndim)
    start = start % (a.ndim + 1)
    if axis < start:
        start -= 1
    return moveaxis(a, axis, start)


def expand_dims(a, axis):
    a = asarray(a)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return lax.expand_dims(a, [_canon_axis(x, a.ndim + len(axes), "expand_dims") for x in axes])


def squeeze(a, axis=None):
    a = asarray(a)
    if axis is None:
        axis = tuple(i for i, d in enumerate(a.shape) if d == 1)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return lax.squeeze(a, [_canon_axis(x, a.ndim, "squeeze") for x in axes])


def broadcast_to(array, shape):
    return broadcast_to_shape(asarray(array), _shape(shape))


def broadcast_shapes(*shapes):
    shapes = [_shape(s) for s in shapes]
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:      # JAX's wording and type
        raise ValueError(f"Incompatible shapes for broadcasting: shapes={shapes}") from None


def broadcast_arrays(*args):
    xs = [asarray(a) for a in args]
    shape = broadcast_shapes(*(x.shape for x in xs))
    return [broadcast_to(x, shape) for x in xs]


def atleast_1d(*arys):
    out = [asarray(a) if asarray(a).ndim >= 1 else reshape(a, (1,)) for a in arys]
    return out[0] if len(out) == 1 else out


def atleast_2d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        out.append(a if a.ndim >= 2 else reshape(a, (1,) * (2 - a.ndim) + a.shape))
    return out[0] if len(out) == 1 else out


def atleast_3d(*arys):
    out = []
    for a in arys:
        a = asarray(a)
        if a.ndim == 0:
            a = reshape(a, (1, 1, 1))
        elif a.ndim == 1:
            a = reshape(a, (1, a.shape[0], 1))
        elif a.ndim == 2:
            a = reshape(a, a.shape + (1,))
        out.append(a)
    return out[0] if len(out) == 1 else out


def concatenate(arrays, axis=0, dtype=None):
    if isinstance(arrays, Array):
        arrays = list(arrays)
    if not len(arrays):
        raise ValueError("Need at least one array to concatenate.")
    if axis is None:
        return concatenate([ravel(a) for a in arrays], 0, dtype)
    xs = [asarray(a) for a in arrays]
    dt = _dt(dtype) or dtypes.result_type(*xs)
    xs = [lax.convert_element_type(x, dt, weak_type=x.weak_type) if x.dtype != dt else x for x in xs]
    if _py_any(x.ndim == 0 for x in xs):
        raise ValueError("Zero-dimensional arrays cannot be concatenated.")
    axis = _canon_axis(axis, xs[0].ndim, "concatenate")
    for x in xs:
        if x.ndim != xs[0].ndim or _py_any(d != e for i, (d, e) in enumerate(zip(x.shape, xs[0].shape)) if i != axis):
            raise TypeError("Cannot concatenate arrays with shapes that differ in dimensions other than the one "
                            f"being concatenated: concatenating along dimension {axis} for shapes "
                            f"{', '.join(str(v.shape) for v in xs)}.")
    return lax.concatenate(xs, axis)


concat = concatenate


def stack(arrays, axis=0, dtype=None):
    xs = [asarray(a) for a in arrays]
    if not xs:
        raise ValueError("Need at least one array to stack.")
    if _py_any(x.shape != xs[0].shape for x in xs):
        raise ValueError(f"stack: all input arrays must have the same shape, got {[x.shape for x in xs]}")
    axis = _canon_axis(axis, xs[0].ndim + 1, "stack")
    return concatenate([expand_dims(x, axis) for x in xs], axis, dtype)


def hstack(tup, dtype=None):
    xs = [atleast_1d(a) for a in tup]
    return concatenate(xs, 0 if xs[0].ndim == 1 else 1, dtype)


def vstack(tup, dtype=None):
    return concatenate([atleast_2d(a) for a in tup], 0, dtype)


row_stack = vstack


def dstack(tup, dtype=None):
    return concatenate([atleast_3d(a) for a in tup], 2, dtype)


def column_stack(tup):
    xs = [asarray(a) for a in tup]
    return concatenate([x.reshape(-1, 1) if x.ndim < 2 else x for x in xs], 1)


def split(ary, indices_or_sections, axis=0):
    a = asarray(ary)
    axis = _canon_axis(axis, a.ndim, "split")
    n = a.shape[axis]
    if isinstance(indices_or_sections, (int, np.integer)):
        if n % indices_or_sections:
            raise ValueError(f"split: array of size {n} along axis {axis} does not divide into "
                             f"{indices_or_sections} equal sections")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return [lax.slice_in_dim(a, _py_min(s, n), _py_min(_py_max(e, s), n), axis=axis)
            for s, e in zip(bounds[:-1], bounds[1:])]


def array_split(ary, indices_or_sections, axis=0):
    a = asarray(ary)
    if isinstance(indices_or_sections, (int, np.integer)):
        n, k = a.shape[axis], int(indices_or_sections)
        sizes = [n // k + 1] * (n % k) + [n // k] * (k - n % k)
        return split(a, list(np.cumsum(sizes)[:-1]), axis)
    return split(a, indices_or_sections, axis)


def hsplit(ary, s):
    return split(ary, s, axis=1 if asarray(ary).ndim > 1 else 0)


def vsplit(ary, s):
    return split(ary, s, axis=0)


def tile(A, reps):
    a = asarray(A)
    reps = (reps,) if isinstance(reps, (int, np.integer)) else tuple(reps)
    nd = _py_max(a.ndim, len(reps))
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    reps = (1,) * (nd - len(reps)) + reps
    # Broadcast to (r0, d0, r1, d1, ...) and merge each pair.
    shape = []
    for r, d in zip(reps, a.shape):
        shape += [r, d]
    b = lax.broadcast_in_dim(a, shape, tuple(range(1, 2 * nd, 2)))
    return reshape(b, [r * d for r, d in zip(reps, a.shape)])


def flip(m, axis=None):
    m = asarray(m)
    axes = range(m.ndim) if axis is None else ((axis,) if isinstance(axis, (int, np.integer)) else axis)
    return lax.rev(m, [_canon_axis(a, m.ndim, "flip") for a in axes])


def fliplr(m):
    return flip(m, 1)


def flipud(m):
    return flip(m, 0)


def roll(a, shift, axis=None):
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), a.shape)
    shifts = (shift,) if isinstance(shift, (int, np.integer)) else tuple(shift)
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    for s, ax in zip(np.broadcast_to(shifts, len(axes)) if len(shifts) == 1 else shifts, axes):
        ax = _canon_axis(ax, a.ndim, "roll")
        n = a.shape[ax]
        if n == 0:
            continue
        s = int(s) % n
        if s:
            a = lax.concatenate([lax.slice_in_dim(a, n - s, n, axis=ax), lax.slice_in_dim(a, 0, n - s, axis=ax)], ax)
    return a


def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)
