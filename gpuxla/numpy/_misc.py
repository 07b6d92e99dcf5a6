"""Everything else: closeness tests, convolve, frexp/gcd, diff, rot90, vectorize and small predicates.
"""
import functools as _functools
import re as _re

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array
from ._util import _canon_axis, _full_shape, _inexact, _py_max, _py_min
from ._lax_numpy import (
    asarray, broadcast_arrays, broadcast_to, concatenate, flip, ones_like, ravel, reshape,
    transpose, zeros_like)
from ._ufuncs import (
    abs, absolute, clip, equal, exp2, floor, isfinite, isnan, less_equal, log2, logical_and,
    logical_or, not_equal, _promote, remainder, where)
from ._reductions import all, _float_dtype, sum
from ._linalg_basic import matmul
from ._sorting import argsort, pad, searchsorted, take


# --- misc -------------------------------------------------------------------------------------
def interp(x, xp, fp, left=None, right=None, period=None):
    x, xp, fp = (asarray(v) for v in (x, xp, fp))
    dt = _float_dtype(dtypes.result_type(x, xp, fp))
    x, xp, fp = x.astype(dt), xp.astype(dt), fp.astype(dt)
    if period is not None:
        # NumPy: wrap into one period, sort, and extend by one point on each side
        if float(period) == 0:
            raise ValueError("period must be a non-zero value")
        period = abs(float(period))
        left = right = None
        x, xp = remainder(x, period), remainder(xp, period)
        order = argsort(xp)
        xp, fp = take(xp, order), take(fp, order)
        xp = concatenate([xp[-1:] - period, xp, xp[:1] + period])
        fp = concatenate([fp[-1:], fp, fp[:1]])
    i = clip(searchsorted(xp, x, side="right"), 1, xp.shape[0] - 1)
    x0, x1 = take(xp, i - 1), take(xp, i)
    y0, y1 = take(fp, i - 1), take(fp, i)
    dx = x1 - x0
    t = where(dx == 0, zeros_like(x), (x - x0) / where(dx == 0, ones_like(dx), dx))
    out = y0 + t * (y1 - y0)
    out = where(x < xp[0], fp[0] if left is None else asarray(left, dt), out)
    return where(x > xp[-1], fp[-1] if right is None else asarray(right, dt), out)


def polyval(p, x):
    p, x = asarray(p), asarray(x)
    y = zeros_like(x * p[0]) if p.shape[0] else zeros_like(x)
    for i in range(p.shape[0]):
        y = y * x + p[i]
    return y


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    a, b = _promote(a, b, op="isclose")
    if not dtypes.is_inexact(a.dtype):
        return equal(a, b)
    out = less_equal(absolute(a - b), atol + rtol * absolute(b))
    out = logical_or(out, equal(a, b))   # equal infinities
    if equal_nan:
        out = logical_or(out, logical_and(isnan(a), isnan(b)))
    return out


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    return all(isclose(a, b, rtol, atol, equal_nan))


def array_equal(a1, a2, equal_nan=False):
    a1, a2 = asarray(a1), asarray(a2)
    if a1.shape != a2.shape:
        return asarray(False)
    eq = equal(a1, a2)
    if equal_nan:
        eq = logical_or(eq, logical_and(isnan(a1), isnan(a2)))
    return all(eq)


def array_equiv(a1, a2):
    try:
        a1, a2 = broadcast_arrays(a1, a2)
    except ValueError:
        return asarray(False)
    return all(equal(a1, a2))


def _inexact_pair(a, v):
    a, v = asarray(a), asarray(v)
    dt = dtypes.result_type(a, v)
    dt = dt if dtypes.is_inexact(dt) else _inexact(dt)     # JAX convolves in floating point
    return a.astype(dt), v.astype(dt)


def convolve(a, v, mode="full", precision=None):
    a, v = _inexact_pair(a, v)
    return _correlate(a, flip(v), mode, conv=True)


def correlate(a, v, mode="valid", precision=None):
    a, v = _inexact_pair(a, v)
    return _correlate(a, v, mode)


def _correlate(a, v, mode, conv=False):
    """Full cross-correlation c[k] = sum_i a[i + k] v[i] over all lags, then NumPy's 'same'/'valid'
    window of it (the offsets NumPy uses, which depend on which input is shorter)."""
    if a.ndim != 1 or v.ndim != 1:
        raise ValueError("convolve/correlate take 1-D arrays")
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"mode must be 'full', 'same' or 'valid', got {mode!r}")
    n, m = a.shape[0], v.shape[0]
    if n == 0 or m == 0:
        raise ValueError("convolve/correlate: inputs cannot be empty")
    ap = pad(a, (m - 1, m - 1))
    out_n = n + m - 1
    # A windowed view as a gather of (out_n, m) indices, then one contraction.
    idx = lax.broadcasted_iota(np.int32, (out_n, m), 0) + lax.broadcasted_iota(np.int32, (out_n, m), 1)
    full = matmul(take(ap, idx), v)
    k = _py_min(n, m)
    if mode == "full":
        return full
    if mode == "valid":
        return lax.slice_in_dim(full, k - 1, k - 1 + _py_max(n, m) - k + 1)
    start = (k - 1) // 2 if conv or n >= m else k // 2
    return lax.slice_in_dim(full, start, start + _py_max(n, m))


def frexp(x, /):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        x = x.astype(_inexact(x.dtype))
    ax = lax.abs(x)
    safe = where((ax == 0) | ~isfinite(x), ones_like(x), ax)
    e = floor(log2(safe)) + 1
    m = x / exp2(e)
    # Correct rounding of log2 near powers of two.
    adj_hi = lax.abs(m) >= 1
    e = where(adj_hi, e + 1, e)
    m = where(adj_hi, m / 2, m)
    adj_lo = lax.abs(m) < 0.5
    e = where(adj_lo, e - 1, e)
    m = where(adj_lo, m * 2, m)
    zero = (ax == 0) | ~isfinite(x)
    return where(zero, x, m), where(zero, zeros_like(e), e).astype(np.int32)


def ldexp(x1, x2, /):
    x1 = asarray(x1)
    x1 = x1 if dtypes.is_inexact(x1.dtype) else x1.astype(_inexact(x1.dtype))
    return x1 * exp2(asarray(x2).astype(x1.dtype))


def gcd(x1, x2):
    a, b = _full_shape(_promote(x1, x2))
    a, b = absolute(a), absolute(b)
    for _ in range(a.dtype.itemsize * 12):
        nz = b != 0
        a, b = where(nz, b, a), where(nz, lax.rem(a, where(nz, b, ones_like(b))), b)
    return a


def lcm(x1, x2):
    a, b = _full_shape(_promote(x1, x2))
    g = gcd(a, b)
    return where(g == 0, zeros_like(g), absolute(a // where(g == 0, ones_like(g), g) * b))


def diff(a, n=1, axis=-1, prepend=None, append=None):
    a = asarray(a)
    axis = _canon_axis(axis, a.ndim, "diff")
    if prepend is not None:
        a = concatenate([broadcast_to(asarray(prepend), a.shape[:axis] + (1,) + a.shape[axis + 1:])
                         if asarray(prepend).ndim == 0 else asarray(prepend), a], axis)
    if append is not None:
        a = concatenate([a, broadcast_to(asarray(append), a.shape[:axis] + (1,) + a.shape[axis + 1:])
                            if asarray(append).ndim == 0 else asarray(append)], axis)
    for _ in range(n):
        m = a.shape[axis]
        hi, lo = lax.slice_in_dim(a, 1, m, axis=axis), lax.slice_in_dim(a, 0, m - 1, axis=axis)
        a = not_equal(hi, lo) if a.dtype == np.bool_ else hi - lo
    return a


def ediff1d(ary, to_end=None, to_begin=None):
    d = diff(ravel(ary))      # to_begin/to_end take the array's dtype (JAX)
    parts = [ravel(asarray(to_begin, d.dtype))] if to_begin is not None else []
    parts.append(d)
    if to_end is not None:
        parts.append(ravel(asarray(to_end, d.dtype)))
    return concatenate(parts) if len(parts) > 1 else parts[0]


def trapezoid(y, x=None, dx=1.0, axis=-1):
    y = asarray(y)
    axis = _canon_axis(axis, y.ndim)
    n = y.shape[axis]
    ya, yb = lax.slice_in_dim(y, 0, n - 1, axis=axis), lax.slice_in_dim(y, 1, n, axis=axis)
    d = diff(asarray(x), axis=axis if asarray(x).ndim > 1 else -1) if x is not None else dx
    if x is not None and asarray(x).ndim == 1 and y.ndim > 1:
        shp = [1] * y.ndim
        shp[axis] = n - 1
        d = reshape(d, shp)
    return sum((ya + yb) * d / 2, axis=axis)


def rot90(m, k=1, axes=(0, 1)):
    """`m` rotated by 90 degrees `k` times in the plane of `axes` (from the first towards the second)."""
    m = asarray(m)
    a0, a1 = (_canon_axis(ax, m.ndim, "rot90") for ax in axes)
    if a0 == a1:
        raise ValueError("rot90: axes must be different")
    k %= 4
    if k == 0:
        return m
    if k == 2:
        return flip(flip(m, a0), a1)
    perm = list(range(m.ndim))
    perm[a0], perm[a1] = perm[a1], perm[a0]
    return transpose(flip(m, a1), perm) if k == 1 else flip(transpose(m, perm), a1)


def iscomplexobj(x):
    return dtypes.is_complex(asarray(x).dtype)


def isscalar(element):
    return np.isscalar(element) or (isinstance(element, Array) and element.ndim == 0)


def copy(a, order=None):
    return asarray(a)


def from_dlpack(x, /, *, device=None, copy=None):
    """An Array on the buffer of `x` (any DLPack producer: NumPy, CuPy, PyTorch, another Array),
    without a copy where the memory is already the platform's: host memory on the host platforms,
    CUDA memory on the cuda platform (`copy=True` copies)."""
    from ..backends import get_backend
    from ..core.graph import Aval, from_buffer
    kind = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else 1
    if kind == 2:                                     # kDLCUDA
        if get_backend().platform != "cuda":
            raise ValueError(f"from_dlpack: the array is in CUDA memory, but gpuxla runs on the "
                             f"{get_backend().platform!r} platform; use the cuda platform or move it to the host")
        import cupy
        buf = cupy.from_dlpack(x)
        if copy:
            buf = buf.copy()
        dt = dtypes.canonicalize_dtype(buf.dtype)
        if dt != buf.dtype:
            buf = buf.astype(dt)
        return from_buffer(buf, Aval(buf.shape, dt))
    arr = np.from_dlpack(x)
    if copy:
        arr = arr.copy()
    if get_backend().platform == "cuda" or dtypes.canonicalize_dtype(arr.dtype) != arr.dtype:
        return asarray(arr)                        # to the device, or to the canonical dtype: a copy
    return from_buffer(arr, Aval(arr.shape, arr.dtype))   # the host platforms' buffers are host arrays


def can_cast(from_, to, casting="safe"):
    return np.can_cast(from_, to, casting)


def einsum_path(*a, **k):
    raise NotImplementedError("einsum_path: gpuxla contracts pairwise left to right")


_CORE_DIMS = r"\((?:\w+(?:,\w+)*)?\)"


def _parse_signature(signature):
    """'(m,n),(n)->(m)' -> ([('m', 'n'), ('n',)], [('m',)]), NumPy's generalized-ufunc signature."""
    sig = signature.replace(" ", "")
    if not _re.fullmatch(rf"{_CORE_DIMS}(?:,{_CORE_DIMS})*->{_CORE_DIMS}(?:,{_CORE_DIMS})*", sig):
        raise ValueError(f"not a valid gufunc signature: {signature}")
    ins, outs = sig.split("->")
    parse = lambda s: [tuple(_re.findall(r"\w+", c)) for c in _re.findall(_CORE_DIMS, s)]  # noqa: E731
    return parse(ins), parse(outs)


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    """`pyfunc` mapped over the leading (broadcast) axes of its arguments with nested vmaps, as
    np.vectorize. With `signature` (e.g. ``"(n),(n)->()"``) the named trailing core axes of each
    argument go to `pyfunc` whole. Positions in `excluded`, and keyword arguments, are passed
    unchanged."""
    from .. import vmap
    in_core, out_core = _parse_signature(signature) if signature is not None else (None, None)
    excluded = frozenset(excluded)
    for e in excluded:
        if not isinstance(e, int):
            raise TypeError(f"jnp.vectorize: excluded must hold argument positions (ints), got {e!r}")

    @_functools.wraps(pyfunc)
    def wrapped(*args, **kwargs):
        pos = [i for i in range(len(args)) if i not in excluded]
        arrays = [asarray(args[i]) for i in pos]
        cores = in_core if in_core is not None else [()] * len(arrays)
        if len(cores) != len(arrays):
            raise TypeError(f"wrong number of positional arguments: expected {len(cores)}, got {len(arrays)} "
                            f"(signature {signature!r})")
        sizes, batch_shapes = {}, []
        for x, core in zip(arrays, cores):
            if x.ndim < len(core):
                raise ValueError(f"input with shape {x.shape} does not have enough dimensions for all core "
                                 f"dimensions {core} of signature {signature!r}")
            for name, n in zip(core, x.shape[x.ndim - len(core):]):
                if sizes.setdefault(name, n) != n:
                    raise ValueError(f"inconsistent size for core dimension {name!r}: {n} vs {sizes[name]}")
            batch_shapes.append(x.shape[:x.ndim - len(core)])
        batch = np.broadcast_shapes(*batch_shapes) if batch_shapes else ()
        arrays = [broadcast_to(x, batch + x.shape[x.ndim - len(c):]) for x, c in zip(arrays, cores)]

        def one(*xs):
            full = list(args)
            for i, x in zip(pos, xs):
                full[i] = x
            out = pyfunc(*full, **kwargs)
            if out_core is not None:
                outs = out if len(out_core) > 1 else (out,)
                if len(out_core) > 1 and (not isinstance(out, tuple) or len(out) != len(out_core)):
                    raise ValueError(f"output must be a tuple of {len(out_core)} arrays for signature {signature!r}")
                for o, core in zip(outs, out_core):
                    shape = np.shape(o)
                    if len(shape) != len(core):
                        raise ValueError(f"output shape {shape} does not match the core dimensions {core} of "
                                         f"signature {signature!r}")
                    for name, n in zip(core, shape):
                        if sizes.setdefault(name, n) != n:
                            raise ValueError(f"inconsistent size for core dimension {name!r}: {n} vs {sizes[name]}")
            return out
        f = one
        for _ in range(len(batch)):
            f = vmap(f)
        return f(*arrays)
    return wrapped


def isrealobj(x):
    return not iscomplexobj(x)


def astype(x, dtype, /, *, copy=False, device=None):
    """x converted to `dtype` (the array API's function form of `x.astype`)."""
    return asarray(x).astype(dtype)


# Arrays print through NumPy's array2string, so NumPy's print options are gpuxla's (as in JAX).
set_printoptions, get_printoptions, printoptions = np.set_printoptions, np.get_printoptions, np.printoptions
