"""The shared op table: one lambda per op, run with `numpy` and with `gpuxla.numpy`.

    Op("add", lambda xnp, x, y: xnp.add(x, y), [(3, 4), (4,)], FLOATS)

`fn(xnp, *args)` is called with xnp = numpy for the reference and xnp = gpuxla.numpy for the
test; the numerics tests, gradient checks, vmap/jit tests and CUDA parity all iterate `OPS`.

Fields of an Op:
  shapes   one entry per argument: a shape tuple (an array of the tested dtype drawn from `rng`),
           or an argument spec: Idx(shape, lo, hi) int32 indices in [lo, hi), Mask(shape) bools,
           Const(value) a fixed NumPy value, Arr(shape, dtype, rng) a fixed-dtype array.
  dtypes   the dtypes to test the float/int/bool arguments in.
  rng      input domain: normal, positive (0.5..2), unit (-0.9..0.9), gt1 (1.1..3), nonzero
           (|x| in 0.5..2), int (-5..5), small_int (0..4), bool, distinct (a permutation, no ties).
  tol      None, or a float (rtol = atol for float32 results; 16-bit floats keep at least their
           default; float64 keeps its tight default), or a dict {result dtype: (rtol, atol)}.
  grad     differentiable in its float arguments (False for comparisons, argmax, floor, ...).
  grad_rng, grad_tol   domain and tolerance for gradient checks when they differ.
  static   positions of arguments that must stay concrete (never traced by jit/vmap/grad), e.g.
           boolean masks whose values decide the output shape.
  jax_dtype   optional (dtype) -> JAX's result dtype with x64 enabled (canonicalize it for x32),
           where NumPy's result dtype differs from JAX's.
  x64      the op needs 64-bit types enabled (e.g. it asserts int64 results).

Helpers: `make_args(op, dtype, rng)` -> list of NumPy arrays; `tolerance(op, dtype)` ->
(rtol, atol); `run_gpuxla(op, args)` calls fn with gpuxla.numpy on the arguments as Arrays
(`gpuxla_args`); `numpy_ref(op, args)` runs the reference (16-bit floats computed in float32 and
rounded, as the backends do); `lax_of(xnp)` gives gpuxla.lax or a NumPy reference of the lax
functions the table uses; `at_update(xnp, x, idx, method, v)` is `x.at[idx].<method>(v)` for
both libraries (NumPy: on a copy with `ufunc.at`).
"""
import math
from fractions import Fraction

import ml_dtypes
import numpy as np

bfloat16 = ml_dtypes.bfloat16
F32, F64, F16, BF16 = np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.float16), np.dtype(bfloat16)
FLOATS = (F32, F64, F16, BF16)
F3264 = (F32, F64)
SINTS = (np.dtype(np.int32), np.dtype(np.int8), np.dtype(np.int16))
UINTS = (np.dtype(np.uint8), np.dtype(np.uint32))
INTS = SINTS + UINTS
I32 = (np.dtype(np.int32),)
BOOL = (np.dtype(np.bool_),)
NUMERIC = FLOATS + (np.dtype(np.int32), np.dtype(np.uint8))
ALL = NUMERIC + BOOL
LOW = (F16, BF16)


def inexact(dt):
    """JAX's float type for an input of dtype `dt` (x64 spelling): ints up to 32 bits -> float32."""
    dt = np.dtype(dt)
    return dt if dt.kind == "f" or dt == BF16 else np.dtype(np.float64 if dt.itemsize == 8 else np.float32)


def keep_int(dt):
    """Cumulative ops keep integer types; bool widens to the default int."""
    return np.dtype(np.int64) if np.dtype(dt) == np.bool_ else np.dtype(dt)


class Idx:
    """int32 indices of `shape` drawn in [lo, hi)."""
    def __init__(self, shape, lo, hi, dtype=np.int32):
        self.shape, self.lo, self.hi, self.dtype = tuple(shape), lo, hi, np.dtype(dtype)

    def make(self, dtype, rng):
        return rng.integers(self.lo, self.hi, self.shape).astype(self.dtype)


class Mask:
    def __init__(self, shape):
        self.shape = tuple(shape)

    def make(self, dtype, rng):
        return rng.random(self.shape) < 0.5


class Const:
    def __init__(self, value):
        self.value = value

    def make(self, dtype, rng):
        return np.asarray(self.value)


class Arr:
    """An argument of a fixed dtype regardless of the tested one."""
    def __init__(self, shape, dtype, rng="normal"):
        self.shape, self.dtype, self.rng = tuple(shape), np.dtype(dtype), rng

    def make(self, dtype, rng):
        return _draw(self.rng, self.shape, self.dtype, rng)


class Op:
    def __init__(self, name, fn, shapes, dtypes, rng="normal", tol=None, grad=True, grad_rng=None,
                 grad_tol=None, static=(), jax_dtype=None, x64=False):
        self.name, self.fn, self.shapes, self.dtypes = name, fn, list(shapes), tuple(np.dtype(d) for d in dtypes)
        self.rng, self.tol, self.grad, self.grad_rng, self.grad_tol = rng, tol, grad, grad_rng, grad_tol
        self.static, self.jax_dtype, self.x64 = tuple(static), jax_dtype, x64

    def __repr__(self):
        return f"Op({self.name})"


def _draw(kind, shape, dtype, rng):
    dtype = np.dtype(dtype)
    if dtype == np.bool_ or kind == "bool":
        return (rng.random(shape) < 0.5).astype(dtype)
    if dtype.kind in "iu":
        lo, hi = {"positive": (1, 6), "nonzero": (1, 6), "small_int": (0, 5), "gt1": (2, 6),
                  "unit": (-1, 2)}.get(kind, (-5, 6))
        if dtype.kind == "u":
            lo = max(lo, 0)
        if kind == "distinct":
            n = int(np.prod(shape))
            v = rng.permutation(n) - (0 if dtype.kind == "u" else n // 2)
            return v.reshape(shape).astype(dtype)
        v = rng.integers(lo, hi, shape)
        if kind == "nonzero" and dtype.kind == "i":
            v = v * rng.choice([-1, 1], shape)
        return v.astype(dtype)
    if kind == "positive":
        v = rng.uniform(0.5, 2.0, shape)
    elif kind == "unit":
        v = rng.uniform(-0.9, 0.9, shape)
    elif kind == "gt1":
        v = rng.uniform(1.1, 3.0, shape)
    elif kind == "nonzero":
        v = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind in ("int", "small_int"):
        v = rng.integers(-5 if kind == "int" else 0, 6 if kind == "int" else 5, shape).astype(np.float64)
    elif kind == "distinct":
        n = int(np.prod(shape))
        v = (rng.permutation(n) - n // 2).reshape(shape) * 0.5 + 0.25
    else:
        v = rng.standard_normal(shape)
    return np.asarray(v).astype(dtype)


def make_args(op, dtype, rng=None):
    """NumPy arguments for `op` at `dtype` (specs with a fixed dtype keep theirs)."""
    rng = np.random.default_rng(0) if rng is None else rng
    return [s.make(dtype, rng) if hasattr(s, "make") else _draw(op.rng, s, dtype, rng) for s in op.shapes]


_TOL = {F64: (1e-12, 1e-12), F32: (1e-5, 1e-6), F16: (1e-2, 1e-2), BF16: (5e-2, 5e-2)}


def tolerance(op, dtype):
    """(rtol, atol) for comparing `op`'s results of `dtype` (the result's dtype) with NumPy."""
    dtype = np.dtype(dtype)
    base = _TOL.get(dtype, (0, 0))
    if isinstance(op.tol, dict):
        return op.tol.get(dtype, base)
    if op.tol is None or dtype not in (F32, F16, BF16):
        return base
    return max(base[0], op.tol), max(base[1], op.tol)


def numpy_ref(op, args):
    """The NumPy result of `op` on `args`; 16-bit float arguments compute in float32 and the float
    results round back to that format (the rounding a JAX backend does)."""
    low = next((np.dtype(a.dtype) for a in args if isinstance(a, np.ndarray) and np.dtype(a.dtype) in LOW), None)
    up = [a.astype(np.float32) if isinstance(a, np.ndarray) and np.dtype(a.dtype) in LOW else a for a in args]
    with np.errstate(all="ignore"):
        out = op.fn(np, *up)
    if low is None:
        return out
    return _map(lambda r: np.asarray(r).astype(low) if np.asarray(r).dtype == np.float32 else np.asarray(r), out)


def gpuxla_args(op, args):
    """The arguments as gpuxla Arrays (static positions stay NumPy values)."""
    import gpuxla.numpy as jnp
    return [a if i in op.static else jnp.asarray(a) for i, a in enumerate(args)]


def run_gpuxla(op, args):
    import gpuxla.numpy as jnp
    return op.fn(jnp, *gpuxla_args(op, args))


def _map(f, out):
    if isinstance(out, (list, tuple)):
        return type(out)(_map(f, o) for o in out)
    return f(out)


# --- helpers that make one lambda work with both libraries --------------------------------------
def at_update(xnp, x, idx, method, v=None, **kw):
    """`x.at[idx].<method>(v)`; on NumPy a copy updated with the matching ufunc.at (unbuffered, so
    repeated indices accumulate as in JAX; with `set` the last write wins, as NumPy does)."""
    if xnp is not np:
        ref = x.at[idx]
        return getattr(ref, method)(**kw) if method == "get" else getattr(ref, method)(v, **kw)
    if method == "get":
        return x[idx]
    out = np.array(x, copy=True)
    v = np.asarray(v).astype(out.dtype)
    if method == "set":
        out[idx] = v
    else:
        uf = {"add": np.add, "multiply": np.multiply, "min": np.minimum, "max": np.maximum}[method]
        uf.at(out, idx, v)
    return out


def _vec(f):
    def g(x, *a):
        x = np.asarray(x)
        r = np.vectorize(lambda v: f(float(v), *a), otypes=[np.float64])(x.astype(np.float64)) if x.size else np.zeros(x.shape)
        return r.astype(x.dtype)
    return g


def _round_to(v, dt):
    """The Fraction v rounded to nearest-even in float dtype dt (finite, nonzero results)."""
    c = dt.type(float(v))
    near = (np.nextafter(c, dt.type(-np.inf)), c, np.nextafter(c, dt.type(np.inf)))
    return min(near, key=lambda k: (abs(Fraction(float(k)) - v), int(np.array(k).view(f"u{dt.itemsize}")) & 1))


def _erfinv(y):
    # Newton's method on math.erf from 0: erf is concave on x > 0, so the iterates rise monotonically.
    x = 0.0
    for _ in range(60):
        x -= (math.erf(x) - y) / (2 / math.sqrt(math.pi) * math.exp(-x * x))
    return x


def _digamma(x, h=1e-5):
    return (math.lgamma(x + h) - math.lgamma(x - h)) / (2 * h)


def _bits(x, f):
    u = x.view(np.dtype(f"u{x.dtype.itemsize}"))
    return np.vectorize(lambda v: f(int(v), x.dtype.itemsize * 8), otypes=[np.int64])(u).astype(x.dtype) \
        if x.size else x.copy()


def _cum(uf):
    def f(x, axis=0, reverse=False):
        x = np.asarray(x)
        if reverse:
            return np.flip(uf.accumulate(np.flip(x, axis), axis=axis), axis)
        return uf.accumulate(x, axis=axis)
    return f


def _clamp_starts(x, starts, sizes):
    # lax.dynamic_slice: negative starts count from the end, then starts clamp so the slice fits.
    return [int(min(max(int(s) + (d if s < 0 else 0), 0), d - n)) for s, d, n in zip(starts, x.shape, sizes)]


class _NumpyLax:
    """Reference NumPy versions of the `lax` functions the table uses (lax_reference style)."""
    erf, erfc, lgamma = _vec(math.erf), _vec(math.erfc), _vec(math.lgamma)
    erf_inv, digamma = _vec(_erfinv), _vec(_digamma)
    exp2, cbrt = staticmethod(np.exp2), staticmethod(np.cbrt)
    population_count = staticmethod(lambda x: _bits(x, lambda v, n: bin(v).count("1")))
    clz = staticmethod(lambda x: _bits(x, lambda v, n: n - v.bit_length()))
    cummax, cummin = staticmethod(_cum(np.maximum)), staticmethod(_cum(np.minimum))
    cumlogsumexp, cumsum, cumprod = staticmethod(_cum(np.logaddexp)), staticmethod(_cum(np.add)), staticmethod(_cum(np.multiply))
    stop_gradient = staticmethod(lambda x: x)
    rsqrt = staticmethod(lambda x: (1 / np.sqrt(x)).astype(x.dtype))
    logistic = staticmethod(lambda x: (1 / (1 + np.exp(-x))).astype(x.dtype))
    integer_pow = staticmethod(lambda x, y: np.power(x, y).astype(x.dtype) if y >= 0 else (1 / np.power(x, -y)).astype(x.dtype))
    bitcast_convert_type = staticmethod(lambda x, dt: np.asarray(x).view(np.dtype(dt)))
    select_n = staticmethod(lambda which, *cases: np.choose(np.asarray(which).astype(np.int32), cases))
    clamp = staticmethod(lambda lo, x, hi: np.minimum(np.maximum(x, lo), hi))
    rem = staticmethod(np.fmod)
    # rounded once: exact rational arithmetic, then to nearest in the operands' format
    fma = staticmethod(lambda x, y, z: np.vectorize(lambda a, b, c: _round_to(
        Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c)), x.dtype), otypes=[x.dtype])(x, y, z))
    sort = staticmethod(lambda x, dimension=-1: np.sort(x, axis=dimension, kind="stable"))

    @staticmethod
    def round(x, rounding_method=0):
        return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(x.dtype) if rounding_method == 0 else np.round(x)

    @staticmethod
    def dynamic_slice(x, starts, sizes):
        st = _clamp_starts(x, starts, sizes)
        return x[tuple(slice(s, s + n) for s, n in zip(st, sizes))]

    @staticmethod
    def dynamic_update_slice(x, u, starts):
        st = _clamp_starts(x, starts, u.shape)
        out = np.array(x, copy=True)
        out[tuple(slice(s, s + n) for s, n in zip(st, u.shape))] = u
        return out

    @staticmethod
    def top_k(x, k):
        idx = np.argsort(-x, axis=-1, kind="stable")[..., :k]
        return np.take_along_axis(x, idx, -1), idx.astype(np.int32)

    @staticmethod
    def reduce_max(x, axes):
        return np.max(x, axis=tuple(axes))


def lax_of(xnp):
    """gpuxla.lax when running gpuxla, else the NumPy reference of the lax functions above."""
    if xnp is np:
        return _NumpyLax
    from gpuxla import lax
    return lax


def sized(xnp, name, x, size, **kw):
    """jnp.nonzero/argwhere/unique/flatnonzero with a static `size` (so jit and vmap can run them);
    on NumPy the unsized result padded with 0 or cut to `size`, which is what `size` means."""
    if xnp is not np:
        return getattr(xnp, name)(x, size=size, **kw)
    r = getattr(np, name)(x)
    pad = lambda a, ax=0: np.concatenate([a, np.zeros((size - a.shape[0],) + a.shape[1:], a.dtype)])[:size] \
        if a.shape[0] < size else a[:size]  # noqa: E731
    return tuple(pad(v) for v in r) if isinstance(r, tuple) else pad(r)


def put_along(xnp, x, idx, v, axis):
    """jnp.put_along_axis(..., inplace=False); NumPy's writes in place, so on a copy."""
    if xnp is not np:
        return xnp.put_along_axis(x, idx, v, axis, inplace=False)
    out = np.array(x, copy=True)
    np.put_along_axis(out, idx, v, axis)
    return out


def with_nans(xnp, x):
    """x with NaN wherever x > 1 (both libraries), for the nan* reductions."""
    return xnp.where(x > 1.0, xnp.nan, x)


# --- the table ------------------------------------------------------------------------------
L = lax_of
P_, U_, N_ = "positive", "unit", "nonzero"
S = [(3, 4)]                      # the default single-argument shape
SHAPES2 = [(3, 4), (4,)]          # broadcasting pair

OPS = [
    # elementwise binary arithmetic, with broadcasting, scalars and empty dims
    Op("add", lambda xnp, x, y: xnp.add(x, y), SHAPES2, NUMERIC),
    Op("add_scalar", lambda xnp, x, y: xnp.add(x, y), [(), (2, 3)], F3264),
    Op("add_size0", lambda xnp, x, y: xnp.add(x, y), [(0, 3), (1, 3)], F3264),
    Op("add_size1", lambda xnp, x, y: xnp.add(x, y), [(4, 1), (1, 5)], F3264),
    Op("add_python_scalar", lambda xnp, x: x + 1.5, S, FLOATS),
    Op("radd_int_scalar", lambda xnp, x: 2 + x, S, NUMERIC[:-1] + SINTS),
    Op("subtract", lambda xnp, x, y: xnp.subtract(x, y), SHAPES2, NUMERIC),
    Op("multiply", lambda xnp, x, y: xnp.multiply(x, y), [(2, 3, 4), (3, 1)], ALL),
    Op("divide", lambda xnp, x, y: xnp.divide(x, y), SHAPES2, FLOATS, rng=N_),
    Op("divide_int", lambda xnp, x, y: x / y, SHAPES2, I32, rng=N_, grad=False, jax_dtype=inexact),
    Op("true_divide_op", lambda xnp, x: x / 3.0, S, FLOATS),
    Op("floor_divide", lambda xnp, x, y: xnp.floor_divide(x, y), SHAPES2, (F32, F64) + SINTS, rng=N_, grad=False),
    Op("remainder", lambda xnp, x, y: xnp.remainder(x, y), SHAPES2, (F32, F64) + SINTS, rng=N_, grad=False),
    Op("mod_op", lambda xnp, x: x % 3, S, SINTS + UINTS, grad=False),
    Op("fmod", lambda xnp, x, y: xnp.fmod(x, y), SHAPES2, (F32, F64, np.int32), rng=N_, grad=False),
    Op("power", lambda xnp, x, y: xnp.power(x, y), SHAPES2, FLOATS, rng=P_),
    Op("power_int", lambda xnp, x, y: xnp.power(x, y), SHAPES2, SINTS[:1] + UINTS[:1], rng="small_int", grad=False),
    Op("pow_op_int_exponent", lambda xnp, x: x ** 3, S, FLOATS + I32),
    Op("pow_op_neg_exponent", lambda xnp, x: x ** -2, S, FLOATS, rng=P_),
    Op("float_power", lambda xnp, x, y: xnp.float_power(x, y), SHAPES2, F3264, rng=P_, jax_dtype=lambda d: d),
    Op("maximum", lambda xnp, x, y: xnp.maximum(x, y), SHAPES2, ALL),
    Op("minimum", lambda xnp, x, y: xnp.minimum(x, y), SHAPES2, ALL),
    Op("arctan2", lambda xnp, x, y: xnp.arctan2(x, y), SHAPES2, FLOATS, rng=N_),
    Op("hypot", lambda xnp, x, y: xnp.hypot(x, y), SHAPES2, F3264, rng=N_),
    Op("logaddexp", lambda xnp, x, y: xnp.logaddexp(x, y), SHAPES2, FLOATS),
    Op("logaddexp2", lambda xnp, x, y: xnp.logaddexp2(x, y), SHAPES2, F3264),
    Op("copysign", lambda xnp, x, y: xnp.copysign(x, y), SHAPES2, F3264, rng=N_),
    Op("nextafter", lambda xnp, x, y: xnp.nextafter(x, y), SHAPES2, (F32, F64, F16), grad=False, tol=0),
    Op("lax.fma", lambda xnp, x, y, z: L(xnp).fma(x, y, z), [(3, 4), (3, 4), ()], FLOATS),
    Op("heaviside", lambda xnp, x, y: xnp.heaviside(x, y), SHAPES2, F3264, grad=False),
    Op("ldexp", lambda xnp, x, e: xnp.ldexp(x, e), [(3, 4), Idx((4,), -3, 4)], F3264),
    Op("gcd", lambda xnp, x, y: xnp.gcd(x, y), SHAPES2, I32, grad=False),
    Op("lcm", lambda xnp, x, y: xnp.lcm(x, y), SHAPES2, I32, rng="positive", grad=False),
    Op("divmod_q", lambda xnp, x, y: xnp.divmod(x, y)[0], SHAPES2, (F32,) + I32, rng=N_, grad=False),
    # elementwise unary math
    Op("negative", lambda xnp, x: xnp.negative(x), S, NUMERIC[:-1] + SINTS),
    Op("neg_op", lambda xnp, x: -x, [(2, 0)], F3264),
    Op("positive", lambda xnp, x: xnp.positive(x), S, F3264),
    Op("abs", lambda xnp, x: xnp.abs(x), S, NUMERIC + BOOL, rng=N_),
    Op("sign", lambda xnp, x: xnp.sign(x), S, NUMERIC, grad=False),
    Op("floor", lambda xnp, x: xnp.floor(x), S, FLOATS + I32, grad=False),
    Op("ceil", lambda xnp, x: xnp.ceil(x), S, FLOATS + I32, grad=False),
    Op("trunc", lambda xnp, x: xnp.trunc(x), S, FLOATS, grad=False),
    Op("rint", lambda xnp, x: xnp.rint(x * 2), S, FLOATS, grad=False),
    Op("round", lambda xnp, x: xnp.round(x * 4), S, F3264 + (F16,), grad=False),
    Op("round_decimals", lambda xnp, x: xnp.round(x, 2), S, F3264, grad=False, tol=1e-5),
    Op("exp", lambda xnp, x: xnp.exp(x), S, FLOATS),
    Op("exp_int", lambda xnp, x: xnp.exp(x), S, I32, grad=False, jax_dtype=inexact),
    Op("exp2", lambda xnp, x: xnp.exp2(x), S, FLOATS),
    Op("expm1", lambda xnp, x: xnp.expm1(x), S, FLOATS),
    Op("log", lambda xnp, x: xnp.log(x), S, FLOATS, rng=P_),
    Op("log1p", lambda xnp, x: xnp.log1p(x), S, FLOATS, rng=P_),
    Op("log2", lambda xnp, x: xnp.log2(x), S, FLOATS, rng=P_),
    Op("log10", lambda xnp, x: xnp.log10(x), S, FLOATS, rng=P_),
    Op("sqrt", lambda xnp, x: xnp.sqrt(x), [(3, 4)], FLOATS, rng=P_),
    Op("sqrt_int", lambda xnp, x: xnp.sqrt(x), [(5,)], I32, rng="positive", grad=False, jax_dtype=inexact),
    Op("cbrt", lambda xnp, x: xnp.cbrt(x), S, FLOATS, rng=P_),
    Op("square", lambda xnp, x: xnp.square(x), S, NUMERIC[:-1] + I32),
    Op("reciprocal", lambda xnp, x: xnp.reciprocal(x), S, FLOATS, rng=N_),
    Op("sin", lambda xnp, x: xnp.sin(x), S, FLOATS),
    Op("cos", lambda xnp, x: xnp.cos(x), S, FLOATS),
    Op("tan", lambda xnp, x: xnp.tan(x), S, FLOATS, rng=U_),
    Op("arcsin", lambda xnp, x: xnp.arcsin(x), S, FLOATS, rng=U_),
    Op("arccos", lambda xnp, x: xnp.arccos(x), S, FLOATS, rng=U_),
    Op("arctan", lambda xnp, x: xnp.arctan(x), S, FLOATS),
    Op("sinh", lambda xnp, x: xnp.sinh(x), S, FLOATS),
    Op("cosh", lambda xnp, x: xnp.cosh(x), S, FLOATS),
    Op("tanh", lambda xnp, x: xnp.tanh(x), S, FLOATS),
    Op("arcsinh", lambda xnp, x: xnp.arcsinh(x), S, FLOATS),
    Op("arccosh", lambda xnp, x: xnp.arccosh(x), S, FLOATS, rng="gt1"),
    Op("arctanh", lambda xnp, x: xnp.arctanh(x), S, FLOATS, rng=U_),
    Op("deg2rad", lambda xnp, x: xnp.deg2rad(x), S, F3264),
    Op("rad2deg", lambda xnp, x: xnp.rad2deg(x), S, F3264),
    Op("sinc", lambda xnp, x: xnp.sinc(x), S, F3264, rng=N_),
    Op("nan_to_num", lambda xnp, x: xnp.nan_to_num(xnp.log(x)), S, F3264, grad=False),
    Op("signbit", lambda xnp, x: xnp.signbit(x), S, F3264, grad=False),
    Op("isfinite", lambda xnp, x: xnp.isfinite(xnp.log(x)), S, FLOATS, grad=False),
    Op("isnan", lambda xnp, x: xnp.isnan(xnp.log(x)), S, F3264, grad=False),
    Op("isinf", lambda xnp, x: xnp.isinf(xnp.log(x)), S, F3264, grad=False),
    Op("frexp_mantissa", lambda xnp, x: xnp.frexp(x)[0], S, F3264, rng=N_, grad=False),
    Op("clip", lambda xnp, x: xnp.clip(x, -0.5, 0.5), S, FLOATS + I32),
    Op("clip_arrays", lambda xnp, x, lo, hi: xnp.clip(x, lo, hi), [(3, 4), (4,), ()], F3264),
    # lax-only elementwise primitives (jax.nn / jax.scipy.special are composites over these)
    Op("lax.logistic", lambda xnp, x: L(xnp).logistic(x), S, FLOATS),
    Op("lax.rsqrt", lambda xnp, x: L(xnp).rsqrt(x), S, FLOATS, rng=P_),
    Op("lax.erf", lambda xnp, x: L(xnp).erf(x), S, FLOATS),
    Op("lax.erfc", lambda xnp, x: L(xnp).erfc(x), S, FLOATS),
    Op("lax.erf_inv", lambda xnp, x: L(xnp).erf_inv(x), S, F3264, rng=U_, tol=1e-4),
    Op("lax.lgamma", lambda xnp, x: L(xnp).lgamma(x), S, FLOATS, rng=P_, tol=1e-5),
    Op("lax.digamma", lambda xnp, x: L(xnp).digamma(x), S, F3264, rng=P_, tol={F32: (1e-4, 1e-4), F64: (1e-8, 1e-8)}),
    Op("lax.integer_pow", lambda xnp, x: L(xnp).integer_pow(x, 3), S, FLOATS + I32),
    Op("lax.integer_pow_neg", lambda xnp, x: L(xnp).integer_pow(x, -3), S, F3264, rng=N_),
    Op("lax.round_away", lambda xnp, x: L(xnp).round(x * 2, 0), S, F3264, grad=False),
    Op("lax.rem", lambda xnp, x, y: L(xnp).rem(x, y), [(3, 4), (3, 4)], F3264 + SINTS, rng=N_, grad=False),
    Op("lax.population_count", lambda xnp, x: L(xnp).population_count(x), S, INTS, grad=False),
    Op("lax.clz", lambda xnp, x: L(xnp).clz(x), S, INTS, grad=False),
    # grad=False: finite differences see through stop_gradient (tests/test_ad.py checks its values)
    Op("lax.stop_gradient", lambda xnp, x: L(xnp).stop_gradient(x) * x, S, F3264, grad=False),
    Op("lax.bitcast_convert_type", lambda xnp, x: L(xnp).bitcast_convert_type(x, np.int32), S, (F32,), grad=False),
    Op("lax.select_n", lambda xnp, w, x, y, z: L(xnp).select_n(w, x, y, z), [Idx((3, 4), 0, 3), (3, 4), (3, 4), (3, 4)], F3264),
    Op("lax.clamp", lambda xnp, x: L(xnp).clamp(-0.5, x, 0.5), S, F3264),
    # comparisons, logical and bitwise
    Op("equal", lambda xnp, x, y: xnp.equal(x, y), SHAPES2, ALL, rng="int", grad=False),
    Op("not_equal", lambda xnp, x, y: x != y, SHAPES2, ALL, rng="int", grad=False),
    Op("less", lambda xnp, x, y: xnp.less(x, y), SHAPES2, ALL, rng="int", grad=False),
    Op("less_equal", lambda xnp, x, y: x <= y, SHAPES2, NUMERIC, rng="int", grad=False),
    Op("greater", lambda xnp, x, y: x > y, SHAPES2, NUMERIC, rng="int", grad=False),
    Op("greater_equal", lambda xnp, x, y: xnp.greater_equal(x, y), SHAPES2, NUMERIC, rng="int", grad=False),
    Op("compare_scalar", lambda xnp, x: x > 0.5, S, FLOATS + I32, grad=False),
    Op("logical_and", lambda xnp, x, y: xnp.logical_and(x, y), SHAPES2, BOOL + I32 + (F32,), rng="int", grad=False),
    Op("logical_or", lambda xnp, x, y: xnp.logical_or(x, y), SHAPES2, BOOL + I32, rng="int", grad=False),
    Op("logical_xor", lambda xnp, x, y: xnp.logical_xor(x, y), SHAPES2, BOOL + I32, rng="int", grad=False),
    Op("logical_not", lambda xnp, x: xnp.logical_not(x), S, BOOL + I32 + (F32,), rng="int", grad=False),
    Op("bitwise_and", lambda xnp, x, y: x & y, SHAPES2, INTS + BOOL, grad=False),
    Op("bitwise_or", lambda xnp, x, y: xnp.bitwise_or(x, y), SHAPES2, INTS + BOOL, grad=False),
    Op("bitwise_xor", lambda xnp, x, y: x ^ y, SHAPES2, INTS + BOOL, grad=False),
    Op("invert", lambda xnp, x: ~x, S, INTS + BOOL, grad=False),
    Op("left_shift", lambda xnp, x, y: xnp.left_shift(x, y), SHAPES2, INTS, rng="small_int", grad=False),
    Op("right_shift", lambda xnp, x, y: xnp.right_shift(x, y), [(3, 4), Arr((4,), np.int32, "small_int")], SINTS[:1],
       grad=False),
    Op("right_shift_signed", lambda xnp, x: x >> 2, [(3, 4)], SINTS + UINTS, grad=False),
    Op("where", lambda xnp, c, x, y: xnp.where(c, x, y), [Mask((3, 4)), (3, 4), (4,)], ALL),
    Op("where_scalar", lambda xnp, c, x: xnp.where(c, x, 0.0), [Mask((3, 4)), (3, 4)], FLOATS),
    Op("select", lambda xnp, c1, c2, x, y: xnp.select([c1, c2], [x, y], 0.0), [Mask((3, 4)), Mask((3, 4)), (3, 4), (3, 4)], F3264),
    # conversion
    Op("astype_int", lambda xnp, x: (x * 3).astype(np.int32), S, F3264, grad=False),
    Op("astype_float", lambda xnp, x: x.astype(np.float32), S, INTS + BOOL, grad=False),
    # grad=False: finite differences through a float16 rounding measure the rounding, not the slope
    Op("astype_f16", lambda xnp, x: x.astype(np.float16), S, (F32,), grad=False),
    Op("astype_bool", lambda xnp, x: x.astype(np.bool_), S, (F32,) + I32, rng="int", grad=False),
    # reductions
    Op("sum", lambda xnp, x: xnp.sum(x), [(3, 4)], NUMERIC + BOOL + SINTS),
    Op("sum_axis", lambda xnp, x: xnp.sum(x, axis=1), [(2, 3, 4)], FLOATS + I32),
    Op("sum_axes_keepdims", lambda xnp, x: xnp.sum(x, axis=(0, 2), keepdims=True), [(2, 3, 4)], FLOATS),
    Op("sum_neg_axis", lambda xnp, x: x.sum(-1), [(2, 3)], F3264),
    Op("sum_size0", lambda xnp, x: xnp.sum(x, axis=0), [(0, 3)], F3264 + I32),
    Op("sum_scalar", lambda xnp, x: xnp.sum(x), [()], F3264),
    Op("prod", lambda xnp, x: xnp.prod(x, axis=0), [(3, 4)], FLOATS + I32, rng=P_),
    Op("prod_all", lambda xnp, x: xnp.prod(x), [(2, 3)], F3264, rng=N_),
    Op("max", lambda xnp, x: xnp.max(x), [(3, 4)], ALL, rng="distinct"),
    Op("max_axis", lambda xnp, x: xnp.max(x, axis=1, keepdims=True), [(3, 4)], NUMERIC, rng="distinct"),
    Op("min_axis", lambda xnp, x: xnp.min(x, axis=0), [(3, 4)], NUMERIC + BOOL, rng="distinct"),
    Op("amax_tuple_axis", lambda xnp, x: xnp.amax(x, axis=(0, 2)), [(2, 3, 4)], F3264, rng="distinct"),
    Op("ptp", lambda xnp, x: xnp.ptp(x, axis=1), [(3, 4)], F3264, rng="distinct"),
    Op("mean", lambda xnp, x: xnp.mean(x), [(3, 4)], FLOATS, tol={F16: (2e-2, 2e-2)}),
    Op("mean_axis", lambda xnp, x: xnp.mean(x, axis=0), [(3, 4)], F3264),
    Op("mean_int", lambda xnp, x: xnp.mean(x, axis=-1), [(3, 4)], I32 + BOOL, grad=False, jax_dtype=inexact),
    Op("var", lambda xnp, x: xnp.var(x, axis=1), [(3, 5)], F3264),
    Op("var_ddof", lambda xnp, x: xnp.var(x, ddof=1), [(3, 5)], F3264),
    Op("std", lambda xnp, x: xnp.std(x, axis=0, keepdims=True), [(4, 3)], F3264),
    Op("any", lambda xnp, x: xnp.any(x, axis=0), [(3, 4)], BOOL + I32, rng="small_int", grad=False),
    Op("all", lambda xnp, x: xnp.all(x), [(3, 4)], BOOL + I32 + (F32,), rng="small_int", grad=False),
    Op("all_axis", lambda xnp, x: xnp.all(x, axis=1), [(3, 2)], BOOL, grad=False),
    Op("count_nonzero", lambda xnp, x: xnp.count_nonzero(x, axis=0), [(3, 4)], I32 + BOOL, rng="small_int", grad=False),
    Op("argmax", lambda xnp, x: xnp.argmax(x), [(3, 4)], NUMERIC, rng="distinct", grad=False),
    Op("argmax_axis", lambda xnp, x: xnp.argmax(x, axis=1), [(3, 4)], F3264 + I32, rng="distinct", grad=False),
    Op("argmin_axis", lambda xnp, x: xnp.argmin(x, axis=0), [(3, 4)], F3264 + I32 + BOOL, rng="int", grad=False),
    Op("argmax_ties", lambda xnp, x: xnp.argmax(x, axis=1), [(3, 4)], I32, rng="small_int", grad=False),
    Op("cumsum", lambda xnp, x: xnp.cumsum(x, axis=1), [(3, 4)], FLOATS + I32 + BOOL, tol={F16: (2e-2, 2e-2)}, jax_dtype=keep_int),
    Op("cumsum_flat", lambda xnp, x: xnp.cumsum(x), [(2, 3)], F3264),
    Op("cumprod", lambda xnp, x: xnp.cumprod(x, axis=0), [(3, 4)], F3264 + I32, rng=P_, jax_dtype=keep_int),
    Op("lax.cummax", lambda xnp, x: L(xnp).cummax(x, 1), [(3, 4)], F3264 + I32, rng="distinct"),
    Op("lax.cummin_reverse", lambda xnp, x: L(xnp).cummin(x, 0, reverse=True), [(3, 4)], F3264, rng="distinct"),
    Op("lax.cumlogsumexp", lambda xnp, x: L(xnp).cumlogsumexp(x, 1), [(3, 4)], F3264),
    Op("lax.cumsum_reverse", lambda xnp, x: L(xnp).cumsum(x, 1, reverse=True), [(3, 4)], F3264),
    # linear algebra products
    Op("dot_vv", lambda xnp, x, y: xnp.dot(x, y), [(5,), (5,)], NUMERIC[:-1] + I32, tol={F16: (3e-2, 3e-2)}),
    Op("dot_mv", lambda xnp, x, y: xnp.dot(x, y), [(3, 5), (5,)], FLOATS, tol={F16: (3e-2, 3e-2), BF16: (1e-1, 1e-1)}),
    Op("dot_scalar", lambda xnp, x, y: xnp.dot(x, y), [(), (3, 2)], F3264),
    Op("matmul", lambda xnp, x, y: xnp.matmul(x, y), [(3, 5), (5, 2)], FLOATS + I32, tol={F16: (3e-2, 3e-2), BF16: (1e-1, 1e-1)}),
    Op("matmul_batched", lambda xnp, x, y: x @ y, [(2, 3, 4), (4, 5)], F3264),
    Op("matmul_bcast_batch", lambda xnp, x, y: x @ y, [(2, 1, 3, 4), (3, 4, 2)], F3264),
    Op("matmul_vec", lambda xnp, x, y: x @ y, [(4,), (2, 4, 3)], F3264),
    Op("inner", lambda xnp, x, y: xnp.inner(x, y), [(2, 4), (3, 4)], F3264),
    Op("outer", lambda xnp, x, y: xnp.outer(x, y), [(3,), (4,)], F3264 + I32),
    Op("vdot", lambda xnp, x, y: xnp.vdot(x, y), [(2, 3), (2, 3)], F3264),
    Op("tensordot", lambda xnp, x, y: xnp.tensordot(x, y, axes=([1, 2], [0, 1])), [(2, 3, 4), (3, 4, 5)], F3264),
    Op("tensordot_int_axes", lambda xnp, x, y: xnp.tensordot(x, y, 1), [(2, 3), (3, 4)], F3264),
    Op("einsum_matmul", lambda xnp, x, y: xnp.einsum("ij,jk->ik", x, y), [(3, 4), (4, 2)], F3264),
    Op("einsum_batch", lambda xnp, x, y: xnp.einsum("bij,bjk->bik", x, y), [(2, 3, 4), (2, 4, 5)], F3264),
    Op("einsum_trace", lambda xnp, x: xnp.einsum("ii->", x), [(3, 3)], F3264),
    Op("einsum_diag_outer", lambda xnp, x, y: xnp.einsum("i,j->ij", x, y), [(3,), (2,)], F3264),
    Op("einsum_three", lambda xnp, x, y, z: xnp.einsum("ij,jk,kl->il", x, y, z), [(2, 3), (3, 4), (4, 2)], F3264),
    Op("einsum_reduce", lambda xnp, x: xnp.einsum("ijk->j", x), [(2, 3, 4)], F3264),
    Op("einsum_ellipsis", lambda xnp, x, y: xnp.einsum("...ij,...jk->...ik", x, y), [(2, 3, 4), (2, 4, 3)], F3264),
    Op("kron", lambda xnp, x, y: xnp.kron(x, y), [(2, 2), (2, 3)], F3264),
    Op("cross", lambda xnp, x, y: xnp.cross(x, y), [(4, 3), (4, 3)], F3264),
    # shape and movement
    Op("reshape", lambda xnp, x: xnp.reshape(x, (4, 3)), S, ALL),
    Op("reshape_neg1", lambda xnp, x: x.reshape(2, -1), [(3, 4)], F3264),
    Op("reshape_size0", lambda xnp, x: x.reshape(0, 5), [(5, 0)], F3264),
    Op("ravel", lambda xnp, x: xnp.ravel(x), [(2, 3, 4)], F3264),
    Op("transpose", lambda xnp, x: xnp.transpose(x), [(2, 3, 4)], ALL),
    Op("transpose_axes", lambda xnp, x: xnp.transpose(x, (1, 2, 0)), [(2, 3, 4)], F3264),
    Op("T", lambda xnp, x: x.T, S, F3264),
    Op("swapaxes", lambda xnp, x: xnp.swapaxes(x, 0, 2), [(2, 3, 4)], F3264),
    Op("moveaxis", lambda xnp, x: xnp.moveaxis(x, 0, -1), [(2, 3, 4)], F3264),
    Op("expand_dims", lambda xnp, x: xnp.expand_dims(x, (0, 2)), S, F3264),
    Op("squeeze", lambda xnp, x: xnp.squeeze(x), [(1, 3, 1)], F3264),
    Op("squeeze_axis", lambda xnp, x: xnp.squeeze(x, axis=2), [(1, 3, 1)], F3264),
    Op("broadcast_to", lambda xnp, x: xnp.broadcast_to(x, (2, 3, 4)), [(3, 1)], ALL),
    Op("concatenate", lambda xnp, x, y: xnp.concatenate([x, y], axis=1), [(2, 3), (2, 2)], ALL),
    Op("concatenate_flat", lambda xnp, x, y: xnp.concatenate([x, y], axis=None), [(2, 3), (4,)], F3264),
    Op("stack", lambda xnp, x, y: xnp.stack([x, y], axis=1), [(2, 3), (2, 3)], F3264 + I32),
    Op("hstack", lambda xnp, x, y: xnp.hstack([x, y]), [(3,), (2,)], F3264),
    Op("vstack", lambda xnp, x, y: xnp.vstack([x, y]), [(3,), (2, 3)], F3264),
    Op("split", lambda xnp, x: xnp.split(x, 3, axis=1), [(2, 6)], F3264),
    Op("split_indices", lambda xnp, x: xnp.split(x, [1, 3]), [(5, 2)], F3264),
    Op("array_split", lambda xnp, x: xnp.array_split(x, 3), [(7,)], F3264),
    Op("tile", lambda xnp, x: xnp.tile(x, (2, 3)), [(2, 2)], F3264 + I32),
    Op("repeat", lambda xnp, x: xnp.repeat(x, 2, axis=0), [(2, 3)], F3264 + I32),
    Op("repeat_flat", lambda xnp, x: xnp.repeat(x, 3), [(2, 2)], F3264),
    Op("repeat_array", lambda xnp, x: xnp.repeat(x, np.array([1, 0, 2]), axis=1), [(2, 3)], F3264),
    Op("flip", lambda xnp, x: xnp.flip(x, axis=1), S, ALL),
    Op("flip_all", lambda xnp, x: xnp.flip(x), [(2, 3, 2)], F3264),
    Op("fliplr", lambda xnp, x: xnp.fliplr(x), S, F3264),
    Op("roll", lambda xnp, x: xnp.roll(x, 2, axis=1), S, F3264 + I32),
    Op("roll_flat", lambda xnp, x: xnp.roll(x, -3), S, F3264),
    Op("pad_constant", lambda xnp, x: xnp.pad(x, ((1, 2), (0, 1))), S, ALL),
    Op("pad_value", lambda xnp, x: xnp.pad(x, 2, constant_values=1.5), [(3,)], F3264),
    Op("pad_edge", lambda xnp, x: xnp.pad(x, ((1, 1), (2, 0)), mode="edge"), S, F3264),
    Op("pad_reflect", lambda xnp, x: xnp.pad(x, 2, mode="reflect"), [(5,)], F3264),
    Op("pad_wrap", lambda xnp, x: xnp.pad(x, ((1, 2),), mode="wrap"), [(4,)], F3264),
    Op("take", lambda xnp, x, i: xnp.take(x, i, axis=1), [(3, 4), Idx((5,), 0, 4)], ALL),
    Op("take_flat", lambda xnp, x, i: xnp.take(x, i), [(3, 4), Idx((2, 2), -12, 12)], F3264),
    Op("take_along_axis", lambda xnp, x, i: xnp.take_along_axis(x, i, axis=1), [(3, 4), Idx((3, 2), 0, 4)], F3264 + I32),
    Op("sort", lambda xnp, x: xnp.sort(x), [(3, 5)], NUMERIC, rng="distinct"),
    Op("sort_axis0_ties", lambda xnp, x: xnp.sort(x, axis=0), [(4, 3)], F3264 + I32, rng="int", grad=False),
    Op("sort_flat", lambda xnp, x: xnp.sort(x, axis=None), [(2, 3)], F3264, rng="distinct"),
    Op("argsort", lambda xnp, x: xnp.argsort(x), [(3, 5)], F3264 + I32, rng="distinct", grad=False),
    Op("argsort_stable_ties", lambda xnp, x: xnp.argsort(x, axis=0, stable=True), [(6, 2)], I32, rng="small_int", grad=False),
    Op("lax.sort", lambda xnp, x: L(xnp).sort(x, 0), [(4, 3)], F3264, rng="distinct"),
    Op("lax.top_k", lambda xnp, x: L(xnp).top_k(x, 2), [(3, 5)], F3264, rng="distinct"),
    Op("lax.top_k_ties", lambda xnp, x: L(xnp).top_k(x, 3), [(2, 6)], I32, rng="small_int", grad=False),
    Op("triu", lambda xnp, x: xnp.triu(x), [(4, 4)], F3264 + I32),
    Op("tril_k", lambda xnp, x: xnp.tril(x, -1), [(3, 4)], F3264),
    Op("diag_extract", lambda xnp, x: xnp.diag(x, 1), [(3, 4)], F3264),
    Op("diag_build", lambda xnp, x: xnp.diag(x), [(3,)], F3264 + I32),
    Op("diagonal", lambda xnp, x: xnp.diagonal(x, 0, 1, 2), [(2, 3, 3)], F3264),
    Op("trace", lambda xnp, x: xnp.trace(x), [(3, 4)], F3264 + I32),
    Op("diff", lambda xnp, x: xnp.diff(x, axis=0), [(4, 3)], F3264),
    Op("append", lambda xnp, x, y: xnp.append(x, y), [(2, 2), (3,)], F3264),
    Op("atleast_2d", lambda xnp, x: xnp.atleast_2d(x), [(3,)], F3264),
    Op("meshgrid", lambda xnp, x, y: xnp.meshgrid(x, y), [(3,), (2,)], F3264),
    Op("lax.dynamic_slice", lambda xnp, x: L(xnp).dynamic_slice(x, (1, 2), (2, 2)), S, F3264),
    Op("lax.dynamic_slice_clamped", lambda xnp, x: L(xnp).dynamic_slice(x, (5, -1), (2, 3)), S, F3264),
    Op("lax.dynamic_slice_negative", lambda xnp, x: L(xnp).dynamic_slice(x, (-2, -3), (1, 2)), S, F3264),
    Op("lax.dynamic_update_slice", lambda xnp, x, u: L(xnp).dynamic_update_slice(x, u, (1, 3)), [(3, 4), (2, 2)], F3264),
    # creation (iota, broadcasting of constants)
    Op("arange", lambda xnp: xnp.arange(2, 11, 3), [], I32, grad=False),
    Op("arange_float", lambda xnp: xnp.arange(0.0, 1.0, 0.25), [], (F32,), grad=False),
    Op("linspace", lambda xnp: xnp.linspace(0.0, 1.0, 5), [], (F32,), grad=False),
    Op("eye", lambda xnp: xnp.eye(3, 4, k=1), [], (F32,), grad=False),
    Op("tri", lambda xnp: xnp.tri(3, 4), [], (F32,), grad=False, jax_dtype=lambda d: F32),
    Op("zeros_like", lambda xnp, x: xnp.zeros_like(x) + xnp.ones_like(x) * 2, S, ALL[:-1], grad=False),
    Op("full_like", lambda xnp, x: xnp.full_like(x, 3), S, NUMERIC, grad=False),
    # indexing (in-bounds: NumPy raises on out-of-bounds indices where gpuxla clamps)
    Op("index_int", lambda xnp, x: x[1], S, ALL),
    Op("index_neg", lambda xnp, x: x[-1, -2], S, F3264),
    Op("index_slice", lambda xnp, x: x[1:, ::2], S, ALL),
    Op("index_neg_step", lambda xnp, x: x[::-1, 3:0:-2], S, F3264),
    Op("index_slice_empty", lambda xnp, x: x[2:1], S, F3264),
    Op("index_none_ellipsis", lambda xnp, x: x[None, ..., 1, None], [(2, 3, 4)], F3264),
    Op("index_ellipsis_end", lambda xnp, x: x[1, ...], [(2, 3, 4)], F3264),
    Op("index_int_array", lambda xnp, x, i: x[i], [(5, 3), Idx((4,), -5, 5)], ALL),
    Op("index_int_array_2d", lambda xnp, x, i: x[:, i], [(3, 5), Idx((2, 2), 0, 5)], F3264),
    Op("index_two_arrays", lambda xnp, x, i, j: x[i, j], [(3, 4), Idx((5,), 0, 3), Idx((5,), 0, 4)], F3264),
    Op("index_arrays_split", lambda xnp, x, i, j: x[i, :, j], [(3, 2, 4), Idx((5,), 0, 3), Idx((5,), 0, 4)], F3264),
    Op("index_array_broadcast", lambda xnp, x, i, j: x[i[:, None], j], [(3, 4), Idx((2,), 0, 3), Idx((3,), 0, 4)], F3264),
    Op("index_mixed", lambda xnp, x, i: x[1:, i, None], [(3, 4, 2), Idx((2,), 0, 4)], F3264),
    Op("index_bool_mask", lambda xnp, x, m: x[m], [(3, 4), Mask((3, 4))], F3264, static=(1,)),
    Op("index_bool_rows", lambda xnp, x, m: x[m, 1:], [(3, 4), Mask((3,))], F3264, static=(1,)),
    Op("at_set", lambda xnp, x, v: at_update(xnp, x, (1, slice(None)), "set", v), [(3, 4), (4,)], ALL),
    Op("at_set_scalar", lambda xnp, x: at_update(xnp, x, (0, 2), "set", 7.0), S, F3264),
    Op("at_add", lambda xnp, x, i, v: at_update(xnp, x, i, "add", v), [(5, 3), Idx((4,), 0, 5), (4, 3)], F3264 + I32),
    Op("at_add_repeated", lambda xnp, x, v: at_update(xnp, x, np.array([0, 2, 0]), "add", v), [(4,), (3,)], F3264),
    Op("at_multiply", lambda xnp, x, v: at_update(xnp, x, (slice(None), np.array([1, 3])), "multiply", v), [(3, 4), (3, 2)], F3264),
    Op("at_min", lambda xnp, x, v: at_update(xnp, x, np.array([1, 1, 2]), "min", v), [(4,), (3,)], F3264 + I32),
    Op("at_max", lambda xnp, x, v: at_update(xnp, x, (np.array([0, 2]), np.array([1, 3])), "max", v), [(3, 4), (2,)], F3264 + I32),
    Op("at_get", lambda xnp, x, i: at_update(xnp, x, i, "get"), [(5,), Idx((3,), 0, 5)], F3264),
    Op("at_set_slice", lambda xnp, x, v: at_update(xnp, x, (slice(None, None, 2), slice(1, 3)), "set", v), [(4, 4), (2, 2)], F3264),

    # more of gpuxla.numpy: composites of the primitives above (statistics, interpolation,
    # convolution, nan-aware reductions, aliases and array-API spellings, static-size selections)
    Op("median", lambda xnp, x: xnp.median(x, axis=1), [(3, 5)], F3264, rng="distinct"),
    Op("median_even", lambda xnp, x: xnp.median(x), [(2, 3)], F3264, rng="distinct"),
    Op("quantile", lambda xnp, x: xnp.quantile(x, 0.3, axis=0), [(5, 3)], F3264, rng="distinct"),
    Op("quantile_array_q", lambda xnp, x: xnp.quantile(x, xnp.array([0.1, 0.75])), [(7,)], F3264, rng="distinct",
       jax_dtype=lambda d: d),     # the data's float type, whatever q's (JAX)
    Op("quantile_nearest", lambda xnp, x: xnp.quantile(x, 0.4, method="nearest"), [(6,)], F3264, rng="distinct", grad=False),
    Op("percentile", lambda xnp, x: xnp.percentile(x, 40.0, axis=1, keepdims=True), [(2, 6)], F3264, rng="distinct"),
    Op("average", lambda xnp, x, w: xnp.average(x, axis=1, weights=w), [(3, 4), Arr((4,), np.float32, "positive")], F3264),
    Op("interp", lambda xnp, x, fp: xnp.interp(x, xnp.array([-1.0, 0.0, 0.5, 2.0]), fp), [(5,), (4,)], F3264),
    Op("convolve", lambda xnp, x, k: xnp.convolve(x, k), [(6,), (3,)], F3264),
    Op("convolve_same", lambda xnp, x, k: xnp.convolve(x, k, mode="same"), [(6,), (3,)], F3264),
    Op("correlate", lambda xnp, x, k: xnp.correlate(x, k, mode="full"), [(5,), (2,)], F3264),
    Op("polyval", lambda xnp, p, x: xnp.polyval(p, x), [(4,), (5,)], F3264),
    Op("trapezoid", lambda xnp, y: xnp.trapezoid(y, dx=0.5, axis=0), [(4, 3)], F3264),
    Op("vecdot", lambda xnp, x, y: xnp.vecdot(x, y), [(3, 4), (4,)], F3264),
    Op("ediff1d", lambda xnp, x: xnp.ediff1d(x, to_begin=xnp.array([7.0])), [(2, 3)], F3264),
    Op("rot90", lambda xnp, x: xnp.rot90(x), [(2, 3)], F3264 + I32),
    Op("rot90_k3_axes", lambda xnp, x: xnp.rot90(x, 3, axes=(1, 2)), [(2, 3, 4)], F3264),
    Op("put_along_axis", lambda xnp, x, v: put_along(xnp, x, np.array([[1], [0], [2]]), v, 1), [(3, 4), (3, 1)], F3264),
    Op("cumulative_sum", lambda xnp, x: xnp.cumulative_sum(x, axis=1), [(3, 4)], F3264 + I32),
    Op("searchsorted", lambda xnp, a, v: xnp.searchsorted(a, v), [Const(np.array([-1.0, 0.0, 0.5, 2.0])), (6,)], F3264, grad=False,
       jax_dtype=lambda d: np.dtype(np.int32)),
    Op("searchsorted_right", lambda xnp, v: xnp.searchsorted(xnp.array([0, 1, 1, 3]), v, side="right"), [(6,)], I32, rng="int", grad=False,
       jax_dtype=lambda d: np.dtype(np.int32)),
    Op("digitize", lambda xnp, x: xnp.digitize(x, xnp.array([-0.5, 0.0, 0.5])), [(3, 4)], F3264, grad=False,
       jax_dtype=lambda d: np.dtype(np.int32)),
    Op("isclose", lambda xnp, x, y: xnp.isclose(x, x + y * 1e-6), [(3, 4), (4,)], F3264, grad=False),
    Op("nonzero_sized", lambda xnp, x: sized(xnp, "nonzero", x, 8), [(3, 4)], I32, rng="small_int", grad=False),
    Op("argwhere_sized", lambda xnp, x: sized(xnp, "argwhere", x, 5), [(3, 3)], I32 + BOOL, rng="small_int", grad=False),
    Op("unique_sized", lambda xnp, x: sized(xnp, "unique", x, 10), [(8,)], I32, rng="small_int", grad=False),
    Op("flatnonzero_sized", lambda xnp, x: sized(xnp, "flatnonzero", x, 6), [(2, 4)], I32, rng="small_int", grad=False),
    Op("bincount", lambda xnp, i: xnp.bincount(i, minlength=6) if xnp is np else xnp.bincount(i, length=6),
       [Idx((10,), 0, 6)], I32, grad=False),
    Op("bincount_weights", lambda xnp, i, w: xnp.bincount(i, w, minlength=5) if xnp is np else xnp.bincount(i, w, length=5),
       [Idx((7,), 0, 5), (7,)], F3264, jax_dtype=lambda d: d),
    Op("matrix_transpose", lambda xnp, x: xnp.matrix_transpose(x), [(2, 3, 4)], F3264),
    Op("permute_dims", lambda xnp, x: xnp.permute_dims(x, (2, 0, 1)), [(2, 3, 4)], F3264),
    Op("rollaxis", lambda xnp, x: xnp.rollaxis(x, 2), [(2, 3, 4)], F3264),
    Op("flipud", lambda xnp, x: xnp.flipud(x), [(3, 2)], F3264),
    Op("hsplit", lambda xnp, x: xnp.hsplit(x, 2), [(3, 4)], F3264),
    Op("vsplit", lambda xnp, x: xnp.vsplit(x, [1]), [(3, 4)], F3264),
    Op("column_stack", lambda xnp, x, y: xnp.column_stack([x, y]), [(3,), (3, 2)], F3264),
    Op("dstack", lambda xnp, x, y: xnp.dstack([x, y]), [(2, 3), (2, 3)], F3264),
    Op("atleast_1d_3d", lambda xnp, x, y: (xnp.atleast_1d(x), xnp.atleast_3d(y)), [(), (4,)], F3264),
    Op("broadcast_arrays", lambda xnp, x, y: xnp.broadcast_arrays(x, y), [(3, 1), (4,)], F3264),
    Op("concat", lambda xnp, x, y: xnp.concat([x, y], axis=-1), [(2, 2), (2, 3)], F3264),
    Op("logspace", lambda xnp: xnp.logspace(0.0, 2.0, 5), [], (F32,), grad=False, tol=1e-5),
    Op("identity", lambda xnp: xnp.identity(3, dtype=np.int32), [], I32, grad=False),
    Op("angle_real", lambda xnp, x: xnp.angle(x), [(5,)], F3264, rng=N_, grad=False),
    Op("isneginf_isposinf", lambda xnp, x: (xnp.isneginf(xnp.log(x)), xnp.isposinf(1 / x)), [(5,)], F3264, rng="small_int", grad=False),
    Op("nanmax", lambda xnp, x: xnp.nanmax(with_nans(xnp, x), axis=0), [(4, 3)], F3264, rng="distinct"),
    Op("nanmin", lambda xnp, x: xnp.nanmin(with_nans(xnp, x)), [(4, 3)], F3264, rng="distinct"),
    Op("nansum", lambda xnp, x: xnp.nansum(with_nans(xnp, x), axis=1), [(3, 4)], F3264),
    Op("nanprod", lambda xnp, x: xnp.nanprod(with_nans(xnp, x)), [(2, 3)], F3264, rng=U_),
    Op("nanmean", lambda xnp, x: xnp.nanmean(with_nans(xnp, x), axis=0), [(5, 3)], F3264, rng=U_),
    Op("nanvar_nanstd", lambda xnp, x: (xnp.nanvar(x, axis=1), xnp.nanstd(with_nans(xnp, x))), [(3, 5)], F3264, rng=U_),
    Op("nanargmax_nanargmin", lambda xnp, x: (xnp.nanargmax(with_nans(xnp, x)), xnp.nanargmin(with_nans(xnp, x), axis=0)),
       [(3, 4)], F3264, rng="distinct", grad=False),
    Op("nancumsum", lambda xnp, x: xnp.nancumsum(with_nans(xnp, x), axis=1), [(3, 4)], F3264),
    Op("nanmedian", lambda xnp, x: xnp.nanmedian(with_nans(xnp, x), axis=1), [(3, 5)], F3264, rng="distinct"),
    Op("nanquantile", lambda xnp, x: xnp.nanquantile(with_nans(xnp, x), 0.25), [(7,)], F3264, rng="distinct"),
    Op("array_api_trig", lambda xnp, x: (xnp.acos(x), xnp.asin(x), xnp.atan(x), xnp.acosh(2 + x * x), xnp.asinh(x),
                                         xnp.atanh(x), xnp.atan2(x, 0.5)), [(4,)], F3264, rng=U_),
    Op("aliases_math", lambda xnp, x, y: (xnp.absolute(x), xnp.fabs(x), xnp.around(x, 1), xnp.true_divide(x, y),
                                          xnp.mod(x, y), xnp.conj(x), xnp.degrees(x), xnp.radians(x), xnp.amin(x, 0)),
       [(3, 4), (4,)], F3264, rng=N_, grad=False),
    Op("aliases_bits", lambda xnp, x, y: (xnp.invert(x), xnp.bitwise_not(x), xnp.bitwise_invert(x), xnp.bitwise_and(x, y),
                                          xnp.bitwise_xor(x, y), xnp.bitwise_left_shift(x, 2), xnp.bitwise_right_shift(x, 1)),
       [(3, 4), (4,)], I32 + UINTS[:1], grad=False),
    Op("aliases_compare", lambda xnp, x, y: (xnp.greater(x, y), xnp.less_equal(x, y), xnp.not_equal(x, y)),
       [(3, 4), (4,)], F3264 + I32, rng="int", grad=False),
    Op("ravel_unravel_index", lambda xnp, i, j: (xnp.ravel_multi_index((i, j), (3, 4)), xnp.unravel_index(i * 4 + j, (3, 4))),
       [Idx((5,), 0, 3), Idx((5,), 0, 4)], I32, grad=False, jax_dtype=lambda d: d),
]
from op_table_breadth import OPS_BREADTH as _B; OPS += _B  # noqa: E402,E702  (gpuxla.nn, scipy, linalg, fft, conv rows)
