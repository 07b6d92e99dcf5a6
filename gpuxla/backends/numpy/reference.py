"""The reference semantics of every primitive (JAX's lax_reference role).

`impl_rules[prim](*operands, **params)` computes one primitive on NumPy arrays. float16 and
bfloat16 compute in float32 and round the result, as the CUDA kernels do.

The rules also run on CuPy arrays: the cuda platform calls them for library equations it has no
CuPy or cuBLAS call for (backends/cuda/library.py), and NumPy hands each NumPy function called on a
CuPy array to CuPy (__array_function__). So a rule converts with `.astype`, never with
`np.asarray` or `np.array`: CuPy refuses those implicit device-to-host copies. (tests/fake_cupy.py
refuses them too, so tests/test_cuda_runtime_host.py catches a rule that breaks this.)
"""
import math

import numpy as np

from ...core import dtypes
from ...core import extensions as X
from ...core import primitives as P
from ...core.graph import PRIMITIVES, Aval, proj_p, shape_rules
from . import linalg as L

impl_rules = {}
_LOW = (np.dtype(np.float16), np.dtype(dtypes.bfloat16))


def _float_op(prim, fn):
    """Wrap NumPy function `fn` computing `prim` so 16-bit floats compute in float32 and round
    back, and float32 transcendentals compute in float64 and round once: NumPy's float32
    exp/sin/... can be an ulp off, while the float64 result rounded is the correctly rounded value
    XLA gives (exp(1) -> 2.7182817). Exact and correctly rounded primitives need no detour."""
    widen = not (prim.exact_low or prim.correctly_rounded)

    ufunc = isinstance(fn, np.ufunc)

    def impl(*xs, out=None, **params):
        # `out`: a dead operand's buffer of the result's shape and dtype the executor offers
        # (executor._reusing); used where the result can be written into it directly.
        dt = xs[0].dtype
        if dt in _LOW:
            return fn(*(x.astype(np.float32) for x in xs), **params).astype(dt)
        if dt == np.float32 and widen:
            if xs[0].size > _WIDEN_CHUNK and all(x.shape == xs[0].shape and x.flags.c_contiguous for x in xs):
                return _widened_by_chunks(fn, xs, params, out)
            return fn(*(x.astype(np.float64) for x in xs), **params).astype(dt)
        if out is not None and ufunc and dt.kind == "f":
            return fn(*xs, out=out, **params)
        r = fn(*xs, **params)
        return r.astype(dt, copy=False) if dt.kind != "b" else r
    impl.takes_out = True
    return impl


# The float64 detour of a large float32 operand runs slice by slice into the float32 result: whole,
# it held the operand and the result in float64 too (softmax's exp peaked at 5x its input).
_WIDEN_CHUNK = 1 << 16


def _widened_by_chunks(fn, xs, params, out=None):
    flat = [x.reshape(-1) for x in xs]
    # (each slice is copied to float64 before its result is written: `out` may be an operand)
    res = np.empty(flat[0].size, np.float32) if out is None else out.reshape(-1)
    for k in range(0, res.size, _WIDEN_CHUNK):
        res[k:k + _WIDEN_CHUNK] = fn(*(x[k:k + _WIDEN_CHUNK].astype(np.float64) for x in flat), **params)
    return res.reshape(xs[0].shape) if out is None else out


def _vectorize(f):
    v = np.vectorize(f, otypes=[np.float64])
    return lambda x: v(x) if x.size else np.zeros(x.shape)


def _round_away(x):
    r = np.trunc(x)
    return r + np.where(np.abs(x - r) >= 0.5, np.sign(x), 0)


def _erf_inv(y):
    # Giles' single-precision approximation refined by two Newton steps on erf.
    y = np.asarray(y, dtype=np.float64)
    w = -np.log(np.maximum((1.0 - y) * (1.0 + y), 1e-300))
    x = np.where(w < 5.0, _poly(w - 2.5, _GILES_A), _poly(np.sqrt(w) - 3.0, _GILES_B)) * y
    erf = np.vectorize(math.erf, otypes=[np.float64])
    for _ in range(2):
        ok = np.abs(y) < 1
        err = np.where(ok, erf(np.where(ok, x, 0)) - y, 0)
        x = x - err / (2 / math.sqrt(math.pi) * np.exp(-x * x))
    return np.where(y == 1, np.inf, np.where(y == -1, -np.inf, np.where(np.abs(y) > 1, np.nan, x)))


def _poly(t, coeffs):
    p = np.zeros_like(t)
    for c in coeffs:
        p = p * t + c
    return p


_GILES_A = [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087,
            -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
_GILES_B = [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773,
            -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]


def _digamma(x):
    x = np.asarray(x, dtype=np.float64)
    refl = x < 0.5
    # Reflection for x < 0.5, then recurrence up to x >= 6 and the asymptotic series.
    z = np.where(refl, 1.0 - x, x)
    res = np.zeros_like(z)
    for _ in range(6):
        small = z < 6
        res = res - np.where(small, 1.0 / np.where(small, z, 1.0), 0.0)
        z = np.where(small, z + 1.0, z)
    z2 = 1.0 / (z * z)
    res = res + np.log(z) - 0.5 / z - z2 * (1 / 12 - z2 * (1 / 120 - z2 * (1 / 252 - z2 * (1 / 240 - z2 / 132))))
    with np.errstate(all="ignore"):
        res = np.where(refl, res - np.pi / np.tan(np.pi * x), res)
    return np.where((x <= 0) & (x == np.floor(x)), np.nan, res)


def _unsigned(x):
    return x.view(np.dtype(f"u{x.dtype.itemsize}"))


def _popcount(x):
    u = _unsigned(x).astype(np.uint64)
    n = np.zeros(x.shape, np.uint64)
    for _ in range(x.dtype.itemsize * 8):
        n += u & np.uint64(1)
        u >>= np.uint64(1)
    return n.astype(x.dtype)


def _clz(x):
    bits = x.dtype.itemsize * 8
    u = _unsigned(x).astype(np.uint64)
    n = np.full(x.shape, bits, np.int64)
    for b in range(bits):
        n = np.where((u >> np.uint64(b)) & np.uint64(1), bits - 1 - b, n)
    return n.astype(x.dtype)


def _shift(kind):
    def impl(x, s):
        bits = x.dtype.itemsize * 8
        ux = _unsigned(x)
        us = _unsigned(s).astype(ux.dtype)
        big = us >= bits
        safe = np.where(big, 0, us).astype(ux.dtype)
        if kind == "left":
            out = np.where(big, 0, ux << safe).astype(ux.dtype).view(x.dtype)
        elif kind == "logical":
            out = np.where(big, 0, ux >> safe).astype(ux.dtype).view(x.dtype)
        else:
            sx = x.view(np.dtype(f"i{x.dtype.itemsize}"))
            out = np.where(big, np.where(sx < 0, -1, 0), sx >> safe.astype(sx.dtype)).astype(sx.dtype).view(x.dtype)
        return out
    return impl


def _div(x, y, out=None):
    if x.dtype.kind in "iu":
        with np.errstate(all="ignore"):
            ysafe = np.where(y == 0, 1, y)
            q = np.abs(x) // np.abs(ysafe)
            q = np.where((x < 0) != (y < 0), -q, q) if x.dtype.kind == "i" else q
            return np.where(y == 0, -1 if x.dtype.kind == "i" else np.iinfo(x.dtype).max, q).astype(x.dtype)
    return _float_divide(x, y, out=out)


_div.takes_out = True
_float_divide = _float_op(P.div_p, np.divide)


def _rem(x, y):
    if x.dtype.kind in "iu":
        ysafe = np.where(y == 0, 1, y)
        return np.where(y == 0, x, np.fmod(x, ysafe)).astype(x.dtype)
    return _float_op(P.rem_p, np.fmod)(x, y)


def _integer_pow(x, y):
    if x.dtype.kind in "iu":
        return np.power(x, y).astype(x.dtype) if y >= 0 else (1 // np.power(x, -y)).astype(x.dtype)
    return _float_op(P.integer_pow_p, lambda v: np.power(v, y) if y >= 0 else 1.0 / np.power(v, -y))(x)


_unary = {
    # sign keeps the zero's sign (sign(-0.) is -0., as in XLA)
    "neg": np.negative, "sign": lambda x: np.where(x == 0, x, np.sign(x)), "floor": np.floor, "ceil": np.ceil,
    "exp": np.exp, "exp2": np.exp2, "log": np.log, "log1p": np.log1p, "expm1": np.expm1,
    "tanh": np.tanh, "logistic": lambda x: 1.0 / (1.0 + np.exp(-x)),
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "asinh": np.arcsinh, "acosh": np.arccosh,
    "atanh": np.arctanh, "sqrt": np.sqrt, "rsqrt": lambda x: 1.0 / np.sqrt(x), "cbrt": np.cbrt,
    "abs": np.abs, "erf": _vectorize(math.erf), "erfc": _vectorize(math.erfc), "erf_inv": _erf_inv,
    # Poles (0, -1, -2, ...) give inf; NaN and -inf go to math.lgamma (nan, inf), not to floor().
    "lgamma": _vectorize(lambda v: math.inf if v <= 0 and float(v).is_integer() else math.lgamma(v)),
    "digamma": _digamma,
}
for _name, _fn in _unary.items():
    impl_rules[PRIMITIVES[_name]] = _float_op(PRIMITIVES[_name], _fn)
impl_rules[P.round_p] = lambda x, rounding_method=0: _float_op(
    P.round_p, np.rint if rounding_method else _round_away)(x)
impl_rules[P.is_finite_p] = lambda x: np.isfinite(x.astype(np.float32) if x.dtype in _LOW else x)
impl_rules[P.not_p] = lambda x: np.logical_not(x) if x.dtype == np.bool_ else np.invert(x)
impl_rules[P.population_count_p] = _popcount
impl_rules[P.clz_p] = _clz
impl_rules[P.integer_pow_p] = _integer_pow
for _p in P.GROUP.marker:
    impl_rules[_p] = lambda x: x


def _int_or_float(prim, np_fn):
    as_float = _float_op(prim, np_fn)

    def impl(x, y, out=None):
        return np_fn(x, y).astype(x.dtype) if x.dtype.kind in "iub" else as_float(x, y, out=out)
    impl.takes_out = True
    return impl


_binary = {
    "add": np.add, "sub": np.subtract, "mul": np.multiply, "pow": np.power,
    "max": np.maximum, "min": np.minimum, "atan2": np.arctan2,
}
for _name, _fn in _binary.items():
    impl_rules[PRIMITIVES[_name]] = _int_or_float(PRIMITIVES[_name], _fn)
impl_rules[P.nextafter_p] = lambda x, y: np.nextafter(x, y) if x.dtype not in _LOW else _nextafter_low(x, y)
impl_rules[P.div_p] = _div
impl_rules[P.rem_p] = _rem
impl_rules[P.and_p] = lambda x, y: np.bitwise_and(x, y).astype(x.dtype)
impl_rules[P.or_p] = lambda x, y: np.bitwise_or(x, y).astype(x.dtype)
impl_rules[P.xor_p] = lambda x, y: np.bitwise_xor(x, y).astype(x.dtype)
impl_rules[P.shift_left_p] = _shift("left")
impl_rules[P.shift_right_logical_p] = _shift("logical")
impl_rules[P.shift_right_arithmetic_p] = _shift("arithmetic")


def _ro_add(a, b):
    """a + b rounded to odd in float64: rounded to nearest, then one step toward the exact sum
    where that rounding was inexact and landed on an even significand."""
    s = np.asarray(a + b)
    bb = s - a
    err = (a - (s - bb)) + (b - bb)    # a + b - s, exactly (Knuth's two-sum)
    bits = s.view(np.int64)
    fix = (err != 0) & ((bits & 1) == 0) & np.isfinite(s)
    # One bit pattern further from zero when the exact sum is, one nearer when it is not.
    step = np.where((err > 0) == (s > 0), np.int64(1), np.int64(-1))
    return np.where(fix, bits + step, bits).view(np.float64)


def _split(a):
    t = a * 134217729.0                # 2**27 + 1: Veltkamp's split into two 26-bit halves
    hi = t - (t - a)
    return hi, a - hi


def _fma64(x, y, z):
    # Dekker's exact product p + e = x*y, then RN(th + RO(tl + e)) with th + tl = z + p exactly
    # (Boldo & Melquiond). Exact only away from the ends of the exponent range; elements there
    # take exact rational arithmetic.
    p = x * y
    (xh, xl), (yh, yl) = _split(x), _split(y)
    e = (((xh * yh - p) + xh * yl) + xl * yh) + xl * yl
    th = z + p
    bb = th - z
    tl = (z - (th - bb)) + (p - bb)
    r = th + _ro_add(tl, e)
    rest = np.isfinite(x) & np.isfinite(y) & np.isfinite(z) & (x != 0) & (y != 0)
    fast = rest & (np.abs(x) < 2.0 ** 995) & (np.abs(y) < 2.0 ** 995) & (np.abs(z) < 2.0 ** 1000) & (
        np.abs(p) > 2.0 ** -900) & (np.abs(p) < 2.0 ** 1000)
    # Where an operand is not finite or x*y is exactly zero, IEEE's answer (signed zeros included)
    # is the plain one, but for a finite x*y plus an infinite (or NaN) z, which is z.
    r = np.where(fast, r, np.where(np.isfinite(x) & np.isfinite(y) & ~np.isfinite(z), z, p + z))
    for i in np.flatnonzero(rest & ~fast):
        r[i] = _fma_exact(float(x[i]), float(y[i]), float(z[i]))
    return r


def _fma_exact(x, y, z):
    from fractions import Fraction
    v = Fraction(x) * Fraction(y) + Fraction(z)
    try:
        return float(v)                # int / int, correctly rounded
    except OverflowError:
        return math.inf if v > 0 else -math.inf


def _fma(x, y, z):
    """x*y + z rounded once. float32: the product is exact in float64, and the sum rounded to odd
    at 53 bits, then to nearest at 24, is the correctly rounded result (rounding the float64 sum
    to nearest twice is not). 16-bit floats compute in float32, as every op does."""
    dt = x.dtype
    if dt.kind == "c":
        return x * y + z
    shape = np.broadcast_shapes(x.shape, y.shape, z.shape)
    with np.errstate(all="ignore"):
        if dt != np.float64:        # the float32 product is exact in float64; scalars stay scalars
            f8 = np.float64
            r = _ro_add(x.astype(f8) * y.astype(f8), z.astype(f8)).astype(np.float32)
            return r.astype(dt).reshape(shape)      # 16-bit: rounded from float32, as the kernels do
        x, y, z = (np.broadcast_to(v, shape).ravel().astype(np.float64) for v in (x, y, z))
        return _fma64(x, y, z).reshape(shape)


impl_rules[P.fma_p] = _fma


def _nextafter_low(x, y):
    # Step one unit in the last place of the 16-bit format, through its integer bit pattern.
    bits = x.view(np.uint16).astype(np.int32)
    mag = bits & 0x7FFF
    neg = (bits & 0x8000) != 0
    up = (y.astype(np.float32) > x.astype(np.float32))
    toward_bigger_mag = up != neg
    out_mag = np.where(toward_bigger_mag, mag + 1, mag - 1)
    out = np.where(mag == 0, np.where(up, 1, 0x8001), (bits & 0x8000) | out_mag)
    out = np.where(x.astype(np.float32) == y.astype(np.float32), y.view(np.uint16), out)
    nan = np.isnan(x.astype(np.float32)) | np.isnan(y.astype(np.float32))
    return np.where(nan, (x.astype(np.float32) + y.astype(np.float32)).astype(x.dtype).view(np.uint16),
                    out).astype(np.uint16).view(x.dtype)


def _cmp(fn):
    return lambda x, y: fn(x.astype(np.float32), y.astype(np.float32)) if x.dtype in _LOW else fn(x, y)


for _name, _fn in {"eq": np.equal, "ne": np.not_equal, "lt": np.less, "le": np.less_equal,
                   "gt": np.greater, "ge": np.greater_equal}.items():
    impl_rules[PRIMITIVES[_name]] = _cmp(_fn)


def _select_n(which, *cases):
    if which.dtype == np.bool_:
        return (np.where(which, cases[1], cases[0]) if len(cases) == 2
                else np.broadcast_to(cases[0], np.broadcast_shapes(which.shape, cases[0].shape)))
    shape = np.broadcast_shapes(which.shape, *(c.shape for c in cases))
    return np.choose(np.broadcast_to(which, shape), [np.broadcast_to(c, shape) for c in cases])


impl_rules[P.select_n_p] = _select_n
impl_rules[P.convert_element_type_p] = lambda x, new_dtype, weak_type=False: dtypes.astype_numpy(x, new_dtype)
# ascontiguousarray makes 0-d arrays 1-d: reshape back.
impl_rules[P.bitcast_convert_type_p] = lambda x, new_dtype: np.ascontiguousarray(x).view(new_dtype).reshape(x.shape)


def _iota(dtype, shape, dimension):
    r = np.arange(shape[dimension], dtype=dtype)
    return np.broadcast_to(r.reshape([-1 if i == dimension else 1 for i in range(len(shape))]), shape)


impl_rules[P.iota_p] = _iota


def _broadcast_in_dim(x, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for i, d in enumerate(broadcast_dimensions):
        expanded[d] = x.shape[i]
    return np.broadcast_to(x.reshape(expanded), shape)


impl_rules[P.broadcast_in_dim_p] = _broadcast_in_dim
impl_rules[P.reshape_p] = lambda x, new_sizes: np.reshape(x, new_sizes)
impl_rules[P.transpose_p] = lambda x, permutation: np.transpose(x, permutation)
impl_rules[P.rev_p] = lambda x, dimensions: np.flip(x, dimensions) if dimensions else x
impl_rules[P.slice_p] = lambda x, start_indices, limit_indices, strides: x[tuple(
    slice(s, l, st) for s, l, st in zip(start_indices, limit_indices, strides or (1,) * x.ndim))]


def _pad(x, v, padding_config):
    shape = [max(lo, 0) + max(hi, 0) + d + max(d - 1, 0) * it for d, (lo, hi, it) in zip(x.shape, padding_config)]
    out = np.full(shape, v, dtype=x.dtype)
    out[tuple(slice(max(lo, 0), max(lo, 0) + (d - 1) * (it + 1) + 1 if d else max(lo, 0), it + 1)
              for d, (lo, hi, it) in zip(x.shape, padding_config))] = x
    crop = tuple(slice(-min(lo, 0), out.shape[i] + min(hi, 0)) for i, (lo, hi, _) in enumerate(padding_config))
    return out[crop]


impl_rules[P.pad_p] = _pad
impl_rules[P.concatenate_p] = lambda *xs, dimension: np.concatenate(xs, axis=dimension)


def _clamp_starts(shape, sizes, idx):
    return tuple(int(min(max(int(i), 0), d - s)) for i, d, s in zip(idx, shape, sizes))


impl_rules[P.dynamic_slice_p] = lambda x, *idx, slice_sizes: x[tuple(
    slice(s, s + n) for s, n in zip(_clamp_starts(x.shape, slice_sizes, idx), slice_sizes))]


def _dynamic_update_slice(x, u, *idx):
    out = x.copy()
    starts = _clamp_starts(x.shape, u.shape, idx)
    out[tuple(slice(s, s + n) for s, n in zip(starts, u.shape))] = u
    return out


impl_rules[P.dynamic_update_slice_p] = _dynamic_update_slice


def _gather(x, indices, axes, mode, fill_value=None):
    k = len(axes)
    idx = indices.reshape(-1, k).astype(np.int64)
    moved = np.moveaxis(x, axes, range(k))
    # Column by column against Python ints: no host array meets the (possibly CuPy) indices.
    inb = _in_bounds(idx, moved.shape[:k])
    if moved.size == 0 and idx.shape[0]:
        out = np.zeros_like(x, shape=(idx.shape[0],) + moved.shape[k:])
    else:
        out = moved[tuple(np.clip(idx[:, j], 0, max(d - 1, 0)) for j, d in enumerate(moved.shape[:k]))]
    if mode == "fill":
        out = np.where(inb.reshape((-1,) + (1,) * (out.ndim - 1)), out, x.dtype.type(fill_value))
    return out.reshape(indices.shape[:-1] + moved.shape[k:])


impl_rules[P.gather_p] = _gather

_scatter_ufunc = {"add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}


def _in_bounds(idx, dims):
    ok = idx[:, 0] >= 0 if dims else np.ones_like(idx, dtype=bool, shape=(idx.shape[0],))
    for j, d in enumerate(dims):
        ok = ok & (idx[:, j] >= 0) & (idx[:, j] < d)
    return ok


def _scatter(x, indices, updates, axes, mode):
    k = len(axes)
    out = x.copy()
    moved = np.moveaxis(out, axes, range(k))      # a view: writes land in `out`
    idx = indices.reshape(-1, k).astype(np.int64)
    upd = updates.reshape((idx.shape[0],) + moved.shape[k:])
    keep = _in_bounds(idx, moved.shape[:k])
    sel = tuple(idx[keep, j] for j in range(k))
    if mode == "set":
        moved[sel] = upd[keep]
    elif out.dtype in _LOW:
        f32 = moved.astype(np.float32)
        _scatter_ufunc[mode].at(f32, sel, upd[keep].astype(np.float32))
        moved[...] = f32.astype(out.dtype)
    else:
        _scatter_ufunc[mode].at(moved, sel, upd[keep])
    return out


impl_rules[P.scatter_p] = _scatter


def _reduce(fn, identity):
    def impl(x, axes):
        if x.dtype in _LOW:
            return fn(x.astype(np.float32), axis=axes, initial=identity(np.float32)).astype(x.dtype)
        return np.asarray(fn(x, axis=axes, initial=identity(x.dtype)), dtype=x.dtype)
    return impl


def _lowest(dt):
    dt = np.dtype(dt)
    return -np.inf if dt.kind == "f" else (False if dt.kind == "b" else np.iinfo(dt).min)


def _highest(dt):
    dt = np.dtype(dt)
    return np.inf if dt.kind == "f" else (True if dt.kind == "b" else np.iinfo(dt).max)


def _pairwise_sum(x, axes):
    """np.sum with pairwise summation along every summed axis.

    NumPy sums pairwise (error growing like log n) only when the summed axis is its inner loop,
    i.e. the contiguous axis; along any other axis it adds whole rows in order (error growing
    like n: 8e-6 relative for 10^5 float32 values, where XLA's tree reduction has ~4e-7). Trailing
    axes of a C-contiguous array are summed by NumPy as one inner axis; any other axis is summed
    as a tree of half + half adds of whole slabs, which stays vectorised and needs no transposed
    copy (a transpose of a 4096x4096 float32 costs ~30x the sum itself)."""
    if x.dtype.kind not in "fc" or not axes or x.size == 0:
        return _reduce(np.sum, lambda d: 0)(x, axes)
    dt = x.dtype
    v = x.astype(np.float32) if dt in _LOW else x
    axes = sorted(axes)
    rest = [a for a in axes if a < v.ndim - len(axes)]
    if not rest and v.flags.c_contiguous:
        return np.asarray(np.add.reduce(v.reshape(v.shape[:v.ndim - len(axes)] + (-1,)), axis=-1), dtype=dt)
    for a in reversed(axes):        # highest first: the lower axes keep their positions
        v = _tree_sum(v, a)
    return np.asarray(v, dtype=dt)


def _tree_sum(v, axis):
    if axis == v.ndim - 1 and v.flags.c_contiguous:
        return np.add.reduce(v, axis=-1)
    v = np.moveaxis(v, axis, 0)
    n = v.shape[0]
    if n >= 16:
        # Leaves of 8 slabs summed in order (NumPy's own pairwise sum has 8 accumulators per
        # leaf), then halves added in place in one buffer.
        m = n // 8 * 8
        buf = np.add.reduce(v[:m].reshape((m // 8, 8) + v.shape[1:]), axis=1)
        if m < n:
            buf[-1] += np.add.reduce(v[m:], axis=0)
        v, n = buf, m // 8
    else:
        v = np.array(v)
    while n > 1:
        h = n // 2
        np.add(v[:h], v[h:2 * h], out=v[:h])
        if n % 2:
            v[h - 1] += v[n - 1]
        n = h
    return v[0].copy()          # not a view that keeps the whole buffer alive


impl_rules[P.reduce_sum_p] = _pairwise_sum
impl_rules[P.reduce_prod_p] = _reduce(np.prod, lambda d: 1)
impl_rules[P.reduce_max_p] = _reduce(np.max, _lowest)
impl_rules[P.reduce_min_p] = _reduce(np.min, _highest)
impl_rules[P.reduce_and_p] = lambda x, axes: np.all(x, axis=axes) if x.dtype == np.bool_ else np.bitwise_and.reduce(
    x, axis=axes, initial=-1 if x.dtype.kind == "i" else np.iinfo(x.dtype).max).astype(x.dtype)
impl_rules[P.reduce_or_p] = lambda x, axes: np.any(x, axis=axes) if x.dtype == np.bool_ else np.bitwise_or.reduce(
    x, axis=axes, initial=0).astype(x.dtype)


def _arg(np_fn):
    def impl(x, axes, index_dtype):
        (ax,) = axes
        v = x.astype(np.float32) if x.dtype in _LOW else x
        if v.dtype.kind == "f":
            # NaN counts as the extreme value, as in JAX: the first NaN wins.
            nan = np.isnan(v)
            return np.where(np.any(nan, axis=ax), np.argmax(nan, axis=ax),
                            np_fn(np.where(nan, 0, v), axis=ax)).astype(index_dtype)
        return np_fn(v, axis=ax).astype(index_dtype)
    return impl


impl_rules[P.argmax_p] = _arg(np.argmax)
impl_rules[P.argmin_p] = _arg(np.argmin)


def _cumulative(fn):
    def impl(x, axis, reverse):
        v = np.flip(x, axis) if reverse else x
        out = fn(v.astype(np.float32) if x.dtype in _LOW else v, axis=axis)
        out = out.astype(x.dtype)
        return np.flip(out, axis) if reverse else out
    return impl


impl_rules[P.cumsum_p] = _cumulative(lambda v, axis: np.cumsum(v, axis=axis, dtype=v.dtype))
impl_rules[P.cumprod_p] = _cumulative(lambda v, axis: np.cumprod(v, axis=axis, dtype=v.dtype))
impl_rules[P.cummax_p] = _cumulative(np.maximum.accumulate)
impl_rules[P.cummin_p] = _cumulative(np.minimum.accumulate)
impl_rules[P.cumlogsumexp_p] = _cumulative(np.logaddexp.accumulate)
impl_rules[P.sort_p] = lambda x, dimension: np.sort(x, axis=dimension, kind="stable")
impl_rules[P.argsort_p] = lambda x, dimension, index_dtype: np.argsort(
    x.astype(np.float32) if x.dtype in _LOW else x, axis=dimension, kind="stable").astype(index_dtype)


def batched_matmul(xp, lhs, rhs, dimension_numbers, compute, matmul=None):
    """dot_general as one batched matmul in dtype `compute`, on array module `xp`: batch dimensions
    first, then lhs's free ones, then rhs's (dot_general's output order). The result stays in
    `compute`; the callers choose it and the output dtype (this rule, and the cuda platform's
    library.dot_general). `matmul` defaults to xp.matmul."""
    (lc, rc), (lb, rb) = dimension_numbers
    lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
    rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
    bshape = [lhs.shape[i] for i in lb]
    m = int(np.prod([lhs.shape[i] for i in lf], dtype=np.int64))
    k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
    n = int(np.prod([rhs.shape[i] for i in rf], dtype=np.int64))
    L = xp.transpose(lhs, list(lb) + lf + list(lc)).reshape(bshape + [m, k]).astype(compute, copy=False)
    R = xp.transpose(rhs, list(rb) + list(rc) + rf).reshape(bshape + [k, n]).astype(compute, copy=False)
    out = (matmul or xp.matmul)(L, R) if k else xp.zeros(bshape + [m, n], compute)
    return out.reshape(bshape + [lhs.shape[i] for i in lf] + [rhs.shape[i] for i in rf])


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    out_dtype = np.dtype(preferred_element_type or lhs.dtype)
    compute = dtypes.dot_compute_dtype(lhs.dtype, preferred_element_type)
    return batched_matmul(np, lhs, rhs, dimension_numbers, compute).astype(out_dtype, copy=False)


impl_rules[P.dot_general_p] = dot_general
impl_rules[P.custom_jvp_call_p] = lambda *xs, num_outs, **_: tuple(xs[len(xs) - num_outs:])
impl_rules[P.custom_vjp_call_p] = impl_rules[P.custom_jvp_call_p]
impl_rules[proj_p] = lambda t, index: t[index]


# --- collectives --------------------------------------------------------------------------------
def _no_value(p):
    def impl(*args, axis_name, **params):
        raise NameError(f"unbound axis name: {axis_name[0]}. A '{p.name}' over a named axis has a value only "
                        "inside the vmap that binds the name.")
    return impl


for _p in X.COLLECTIVES:
    impl_rules[_p] = _no_value(_p)


# --- FFTs and complex parts ---------------------------------------------------------------------
def _fft(x, fft_type, fft_lengths):
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    name = X.FftType(fft_type).name
    if name == "FFT":
        out = np.fft.fftn(x, axes=axes)
    elif name == "IFFT":
        out = np.fft.ifftn(x, axes=axes)
    elif name == "RFFT":
        out = np.fft.rfftn(x, axes=axes)
    else:
        out = np.fft.irfftn(x, s=fft_lengths, axes=axes)
    return out.astype(shape_rules[X.fft_p]([Aval(x.shape, x.dtype)], fft_type, fft_lengths).dtype)


impl_rules.update({
    X.fft_p: _fft,
    # (a contiguous copy, not the strided view; ascontiguousarray would make a 0-d result 1-d)
    X.real_p: lambda z: np.real(z).copy(),
    X.imag_p: lambda z: np.imag(z).copy(),
    X.conj_p: np.conj,
    X.complex_p: lambda x, y: (x + 1j * y).astype(X.COMPLEX_OF[x.dtype]),
})


# --- linear algebra (LAPACK through NumPy: linalg.py) -------------------------------------------
def _f32(fn):
    """16-bit floats compute in float32 and round back (LAPACK has no half precision)."""
    def impl(*xs, **params):
        dt = xs[0].dtype
        if dt not in _LOW:
            return fn(*xs, **params)
        out = fn(*(x.astype(np.float32) if x.dtype == dt else x for x in xs), **params)
        cast = (lambda o: o.astype(dt) if o.dtype == np.float32 else o)
        return tuple(map(cast, out)) if isinstance(out, tuple) else cast(out)
    return impl


impl_rules.update({X.cholesky_p: _f32(L.cholesky), X.triangular_solve_p: _f32(L.triangular_solve),
                   X.solve_p: _f32(L.solve), X.lu_p: _f32(L.lu), X.eigh_p: _f32(L.eigh), X.svd_p: _f32(L.svd),
                   X.qr_p: _f32(L.qr)})
