"""Elementwise math: JAX's operand promotion (_promote) and the ufuncs built on it.
"""

import os
import sys
import warnings

import numpy as np

from .. import config, lax
from ..core import dtypes
from ..core.graph import Array, constant
from ._util import _as_bool, _broadcast, _full_shape, _inexact
from ._lax_numpy import asarray, full_like, ones_like, zeros_like


# --- promotion helpers ------------------------------------------------------------------------
def _promote(*args, op="op", rank_promotion=True):
    """Promote operands to their JAX result dtype and broadcast non-scalars to a common shape
    (checked against jax_numpy_rank_promotion unless `rank_promotion` is False, as JAX's
    promote_dtypes callers such as `where` are not)."""
    dt, weak = dtypes.result_type_and_weak(*args)
    xs = []
    for a in args:
        if isinstance(a, Array):
            # A strong int meeting a weak float gives a weak float (JAX's lattice): converted
            # operands take the result's weak flag.
            xs.append(a if a.dtype == dt else lax.convert_element_type(a, dt, weak_type=weak))
        elif isinstance(a, (bool, int, float, complex)) and not isinstance(a, np.generic):
            if type(a) is int and dtypes.is_int(dt):
                # JAX checks a Python int against the default int type, then wraps it into dt
                lax._check_int_range(a, dtypes.scalar_dtype_for_value(a))
            xs.append(constant(np.asarray(a).astype(dt), weak_type=True))
        else:
            xs.append(asarray(np.asarray(a), dt))
    shapes = [x.shape for x in xs]
    shape = _broadcast_shapes(op, shapes, rank_promotion)
    return [x if x.shape == shape or x.ndim == 0 else _broadcast(x, shape) for x in xs]


_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _user_stacklevel():
    """warnings.warn's stacklevel that names the first frame outside gpuxla (the user's line)."""
    f, level = sys._getframe(2), 2
    while f is not None and f.f_code.co_filename.startswith(_PACKAGE):
        f, level = f.f_back, level + 1
    return level


def _broadcast_shapes(op, shapes, rank_promotion=True):
    """The common shape of an n-ary op's operands, with JAX's errors and rank-promotion check.

    Like JAX, operands of one rank are checked as the lax op checks them (TypeError), while
    operands of different ranks are rank-promoted first, which fails with a ValueError;
    `jax_numpy_rank_promotion` ('allow' | 'warn' | 'raise') governs that promotion (scalars are
    not promoted: they meet arrays of any shape)."""
    if len({len(s) for s in shapes if s}) < 2:
        try:
            return np.broadcast_shapes(*shapes)
        except ValueError:
            raise TypeError(f"{op} got incompatible shapes for broadcasting: "
                            f"{', '.join(map(str, shapes))}.") from None
    mode = config.read("jax_numpy_rank_promotion") if rank_promotion else "allow"
    if mode == "raise":
        raise ValueError(f"Operands could not be broadcast together for {op} on shapes "
                         f"{' '.join(map(str, shapes))} and with the config option "
                         "jax_numpy_rank_promotion='raise'.")
    if mode == "warn":
        warnings.warn(f"Following NumPy automatic rank promotion for {op} on shapes "
                      f"{' '.join(map(str, shapes))}. Set the jax_numpy_rank_promotion config option "
                      "to 'allow' to disable this warning.", stacklevel=_user_stacklevel())
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"{op}: Incompatible shapes for broadcasting: shapes={list(shapes)}") from None


def _ufunc1(laxfn, name, float_only=True):
    def f(x, /):
        x = asarray(x) if not isinstance(x, Array) else x
        if float_only and not dtypes.is_inexact(x.dtype):
            x = lax.convert_element_type(x, _inexact(x.dtype), weak_type=x.weak_type)
        return laxfn(x)
    f.__name__ = name
    f.__doc__ = f"Elementwise {name}, as numpy.{name}; integer inputs are promoted to float."
    return f


def _ufunc2(laxfn, name, float_only=False):
    def f(x1, x2, /):
        a, b = _promote(x1, x2, op=name)
        if float_only and not dtypes.is_inexact(a.dtype):
            a, b = (lax.convert_element_type(v, _inexact(v.dtype), weak_type=v.weak_type) for v in (a, b))
        return laxfn(a, b)
    f.__name__ = name
    f.__doc__ = f"Elementwise {name} with NumPy broadcasting and JAX's type promotion."
    return f


# --- elementwise math -------------------------------------------------------------------------
add = _ufunc2(lambda a, b: lax.bitwise_or(a, b) if a.dtype == np.bool_ else lax.add(a, b), "add")
subtract = _ufunc2(lax.sub, "subtract")
multiply = _ufunc2(lambda a, b: lax.bitwise_and(a, b) if a.dtype == np.bool_ else lax.mul(a, b), "multiply")
true_divide = divide = _ufunc2(lax.div, "divide", float_only=True)
maximum = _ufunc2(lax.max, "maximum")
minimum = _ufunc2(lax.min, "minimum")
# lax.reduce_window treats these as monoids (identity element, fused reduction); lax sits below
# gpuxla.numpy, so it reads this mark instead of importing the functions.
for _f, _kind in ((add, "add"), (multiply, "mul"), (maximum, "max"), (minimum, "min")):
    _f.monoid = _kind
power_float = _ufunc2(lax.pow, "float_power", float_only=True)
arctan2 = _ufunc2(lax.atan2, "arctan2", float_only=True)
nextafter = _ufunc2(lax.nextafter, "nextafter", float_only=True)
equal = _ufunc2(lax.eq, "equal")
not_equal = _ufunc2(lax.ne, "not_equal")
less = _ufunc2(lax.lt, "less")
less_equal = _ufunc2(lax.le, "less_equal")
greater = _ufunc2(lax.gt, "greater")
greater_equal = _ufunc2(lax.ge, "greater_equal")
bitwise_and = _ufunc2(lax.bitwise_and, "bitwise_and")
bitwise_or = _ufunc2(lax.bitwise_or, "bitwise_or")
bitwise_xor = _ufunc2(lax.bitwise_xor, "bitwise_xor")
left_shift = _ufunc2(lax.shift_left, "left_shift")
right_shift = _ufunc2(lambda a, b: (lax.shift_right_logical if dtypes.is_unsigned(a.dtype)
                                    else lax.shift_right_arithmetic)(a, b), "right_shift")
exp, exp2, log, log1p, expm1 = (_ufunc1(f, n) for f, n in (
    (lax.exp, "exp"), (lax.exp2, "exp2"), (lax.log, "log"), (lax.log1p, "log1p"), (lax.expm1, "expm1")))
sin, cos, tan, arcsin, arccos, arctan = (_ufunc1(f, n) for f, n in (
    (lax.sin, "sin"), (lax.cos, "cos"), (lax.tan, "tan"),
    (lax.asin, "arcsin"), (lax.acos, "arccos"), (lax.atan, "arctan")))
sinh, cosh, tanh, arcsinh, arccosh, arctanh = (_ufunc1(f, n) for f, n in (
    (lax.sinh, "sinh"), (lax.cosh, "cosh"), (lax.tanh, "tanh"),
    (lax.asinh, "arcsinh"), (lax.acosh, "arccosh"), (lax.atanh, "arctanh")))
sqrt, cbrt = _ufunc1(lax.sqrt, "sqrt"), _ufunc1(lax.cbrt, "cbrt")
asin, acos, atan, asinh, acosh, atanh, atan2 = arcsin, arccos, arctan, arcsinh, arccosh, arctanh, arctan2
bitwise_not = invert = _ufunc1(lax.bitwise_not, "invert", float_only=False)
bitwise_left_shift, bitwise_right_shift, bitwise_invert = left_shift, right_shift, invert


def log2(x, /):
    x = _ufunc1(lambda v: v, "log2")(x)
    return lax.div(lax.log(x), lax.log(lax.full_like(x, 2)))


def log10(x, /):
    x = _ufunc1(lambda v: v, "log10")(x)
    return lax.div(lax.log(x), lax.log(lax.full_like(x, 10)))


def negative(x, /):
    x = asarray(x)
    if x.dtype == np.bool_:
        raise TypeError("neg does not accept dtype bool. Accepted dtypes are subtypes of integer, floating, "
                        "complexfloating. (Use ~x or jnp.logical_not for booleans.)")
    return lax.neg(x)


def positive(x, /):
    return asarray(x)


def absolute(x, /):
    x = asarray(x)
    if dtypes.is_complex(x.dtype):
        from .fft import complex_abs
        return complex_abs(x)
    return x if dtypes.is_unsigned(x.dtype) or x.dtype == np.bool_ else lax.abs(x)


abs = fabs = absolute


def sign(x, /):
    x = asarray(x)
    if x.dtype == np.bool_:
        raise TypeError("sign does not accept dtype bool. "
                        "Accepted dtypes are subtypes of integer, floating, complexfloating.")
    return lax.sign(x)


def _float_or_same(f):
    def g(x, /):
        x = asarray(x)
        return x if not dtypes.is_inexact(x.dtype) else f(x)
    return g


floor = _float_or_same(lax.floor)
ceil = _float_or_same(lax.ceil)
rint = _float_or_same(lambda x: lax.round(x, lax.RoundingMethod.TO_NEAREST_EVEN))


def trunc(x, /):
    x = asarray(x)
    return x if not dtypes.is_inexact(x.dtype) else where(lax.lt(x, 0), lax.ceil(x), lax.floor(x))


fix = trunc


def round(a, decimals=0, out=None):
    a = asarray(a)
    if a.dtype == np.bool_:
        raise ValueError("round: data type bool not inexact")
    if not dtypes.is_inexact(a.dtype):
        if decimals >= 0:
            return a
        f = 10 ** (-decimals)
        return lax.mul(lax.div(a, f), f)
    if decimals == 0:
        return lax.round(a, lax.RoundingMethod.TO_NEAREST_EVEN)
    f = asarray(10.0 ** decimals, a.dtype)
    return lax.div(lax.round(lax.mul(a, f), lax.RoundingMethod.TO_NEAREST_EVEN), f)


around = round_ = round


def square(x, /):
    x = _bool_to_int(asarray(x))
    return lax.integer_pow(x, 2)


def _bool_to_int(x):
    # JAX's integer arithmetic (square, power, floor_divide, mod, fmod) takes bools as int32.
    return lax.convert_element_type(x, np.int32, weak_type=x.weak_type) if x.dtype == np.bool_ else x


def reciprocal(x, /):
    x = asarray(x)
    x = x if dtypes.is_inexact(x.dtype) else x.astype(_inexact(x.dtype))
    return lax.div(*_promote(1, x))


def power(x1, x2, /):
    """x1 ** x2; a concrete integer exponent becomes integer_pow (exact, and cheap to differentiate)."""
    if isinstance(x2, (int, np.integer)) and not isinstance(x2, bool):
        a = _bool_to_int(asarray(x1) if not isinstance(x1, (int, float)) else _promote(x1, x2)[0])
        return lax.integer_pow(a, int(x2))      # integers to negative powers: TypeError, as JAX
    a, b = _promote(x1, x2, op="power")
    if dtypes.is_int(a.dtype):
        return _int_power(a, b)
    if a.dtype == np.bool_:
        return _int_power(lax.convert_element_type(a, np.int32), lax.convert_element_type(b, np.int32))
    return lax.pow(a, b)


def _int_power(a, b):
    a, b = _full_shape([a, b])
    # Exponentiation by squaring over the bits of b (integer exponents up to the bit width).
    acc = ones_like(a, dtype=a.dtype)   # strong, as JAX's result is
    base = a
    bits = a.dtype.itemsize * 8
    for _ in range(bits):
        acc = where(lax.bitwise_and(b, 1) == 1, acc * base, acc)
        base = base * base
        b = lax.shift_right_logical(b, lax.full_like(b, 1))
    return acc


float_power = power_float
pow = power


def floor_divide(x1, x2, /):
    a, b = map(_bool_to_int, _promote(x1, x2, op="floor_divide"))
    if dtypes.is_int(a.dtype):
        a, b = _full_shape([a, b])
        q = lax.div(a, b)
        if dtypes.is_unsigned(a.dtype):
            return q
        fix_ = lax.bitwise_and(lax.ne(lax.rem(a, b), lax.full_like(a, 0)), lax.ne(lax.sign(a), lax.sign(b)))
        return where(fix_, q - 1, q)
    if a.dtype == np.bool_:
        raise TypeError("floor_divide of booleans")
    return lax.floor(lax.div(a, b))


def _int_divisor(b):
    # JAX: an integer remainder by zero is taken as a remainder by one (so it is 0).
    return where(b == 0, ones_like(b), b) if dtypes.is_int(b.dtype) else b


def remainder(x1, x2, /):
    a, b = map(_bool_to_int, _promote(x1, x2, op="remainder"))
    a, b = _full_shape([a, b])
    b = _int_divisor(b)
    r = lax.rem(a, b)
    zero = lax.full_like(r, 0)
    fix_ = lax.bitwise_and(lax.ne(r, zero), lax.ne(lax.lt(r, zero), lax.lt(b, zero)))
    return where(fix_, r + b, r)


mod = remainder


def fmod(x1, x2, /):
    a, b = _full_shape(list(map(_bool_to_int, _promote(x1, x2, op="fmod"))))
    return lax.rem(a, _int_divisor(b))


def divmod(x1, x2, /):
    return floor_divide(x1, x2), remainder(x1, x2)


def logical_and(x1, x2, /):
    return lax.bitwise_and(*(_as_bool(v) for v in _promote(x1, x2)))


def logical_or(x1, x2, /):
    return lax.bitwise_or(*(_as_bool(v) for v in _promote(x1, x2)))


def logical_xor(x1, x2, /):
    return lax.bitwise_xor(*(_as_bool(v) for v in _promote(x1, x2)))


def logical_not(x, /):
    return lax.bitwise_not(_as_bool(asarray(x)))


def isnan(x, /):
    x = asarray(x)
    return lax.ne(x, x) if dtypes.is_inexact(x.dtype) else lax.full(x.shape, False, np.bool_)


def isinf(x, /):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return lax.full(x.shape, False, np.bool_)
    return lax.eq(lax.abs(x), lax.full_like(x, np.inf))


def isfinite(x, /):
    x = asarray(x)
    return lax.is_finite(x) if dtypes.is_inexact(x.dtype) else lax.full(x.shape, True, np.bool_)


def isposinf(x, /):
    x = asarray(x)
    return lax.eq(x, lax.full_like(x, np.inf))


def isneginf(x, /):
    x = asarray(x)
    return lax.eq(x, lax.full_like(x, -np.inf))


def signbit(x, /):
    x = asarray(x)
    if dtypes.is_int(x.dtype):
        return lax.lt(x, lax.full_like(x, 0))
    bits = lax.bitcast_convert_type(x, {2: np.int16, 4: np.int32, 8: np.int64}[x.dtype.itemsize])
    return lax.lt(bits, lax.full_like(bits, 0))


def nan_to_num(x, copy=True, nan=0.0, posinf=None, neginf=None):
    x = asarray(x)
    if not dtypes.is_inexact(x.dtype):
        return x
    info = dtypes.finfo(x.dtype)
    posinf = info.max if posinf is None else posinf
    neginf = info.min if neginf is None else neginf
    x = where(isnan(x), asarray(nan, x.dtype), x)
    x = where(isposinf(x), asarray(posinf, x.dtype), x)
    return where(isneginf(x), asarray(neginf, x.dtype), x)


def clip(x, min=None, max=None, a_min=None, a_max=None):
    x = asarray(x)
    lo = min if min is not None else a_min
    hi = max if max is not None else a_max
    if lo is not None:
        x = maximum(x, lo)
    if hi is not None:
        x = minimum(x, hi)
    return x


def where(condition, x=None, y=None, /, *, size=None, fill_value=None):
    """Elementwise choice (three arguments) or the indices of nonzero entries (one argument)."""
    if x is None and y is None:
        from ._sorting import nonzero    # here, not at the top: _sorting imports this module
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("jnp.where takes either one argument or three: where(condition, x, y)")
    c = _as_bool(asarray(condition))
    shapes = [np.shape(v) for v in (c, x, y)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: incompatible shapes for broadcasting: shapes={shapes}") from None
    a, b = _promote(x, y, op="where", rank_promotion=False)
    c, a, b = _full_shape([c, a, b]) if (c.shape != a.shape or a.shape != b.shape) else (c, a, b)
    return lax.select(c, a, b)


def select(condlist, choicelist, default=0):
    out = asarray(default)
    for c, v in reversed(list(zip(condlist, choicelist))):
        out = where(c, v, out)
    return out


def deg2rad(x, /):
    x = _ufunc1(lambda v: v, "deg2rad")(x)
    return x * (np.pi / 180)


def rad2deg(x, /):
    x = _ufunc1(lambda v: v, "rad2deg")(x)
    return x * (180 / np.pi)


radians, degrees = deg2rad, rad2deg


def hypot(x1, x2, /):
    a, b = _promote(x1, x2, op="hypot")
    if not dtypes.is_inexact(a.dtype):
        a, b = a.astype(_inexact(a.dtype)), b.astype(_inexact(b.dtype))
    a, b = lax.abs(a), lax.abs(b)
    hi, lo = maximum(a, b), minimum(a, b)
    safe = where(hi == 0, ones_like(hi), hi)
    r = lo / safe
    out = where(hi == 0, zeros_like(hi), hi * sqrt(1 + r * r))
    return where(isinf(a) | isinf(b), full_like(out, np.inf), out)     # hypot(inf, nan) = inf


def logaddexp(x1, x2, /):
    a, b = _promote(x1, x2, op="logaddexp")
    if not dtypes.is_inexact(a.dtype):
        a, b = a.astype(_inexact(a.dtype)), b.astype(_inexact(b.dtype))
    amax = lax.stop_gradient(maximum(a, b))
    amax = where(isfinite(amax), amax, 0)      # a Python 0 keeps a weak type weak
    out = amax + log(exp(a - amax) + exp(b - amax))
    both_inf = (a == b) & isinf(a)
    return where(both_inf, a, out)


def logaddexp2(x1, x2, /):
    a, b = (_ufunc1(lambda v: v, "logaddexp2")(v) for v in _promote(x1, x2, op="logaddexp2"))
    ln2 = float(np.log(2))
    return logaddexp(a * ln2, b * ln2) / ln2


def sinc(x, /):
    x = _ufunc1(lambda v: v, "sinc")(x)
    px = x * np.pi
    safe = where(x == 0, ones_like(px), px)
    return where(x == 0, ones_like(px), sin(safe) / safe)


def heaviside(x1, x2, /):
    a, b = _promote(x1, x2, op="heaviside")
    a, b = _full_shape([v.astype(_inexact(v.dtype)) for v in (a, b)])
    zero = zeros_like(a)
    return where(a < 0, zero, where(a > 0, ones_like(a), b))


def copysign(x1, x2, /):
    a, b = _promote(x1, x2, op="copysign")
    if not dtypes.is_inexact(a.dtype):
        a, b = a.astype(_inexact(a.dtype)), b.astype(_inexact(b.dtype))
    a, b = _full_shape([a, b])
    return where(signbit(b), -lax.abs(a), lax.abs(a))


def real(x, /):
    return lax.real(asarray(x))


def conj(x, /):
    return lax.conj(asarray(x))


conjugate = conj


def imag(x, /):
    return lax.imag(asarray(x))


def angle(z, deg=False):
    from .fft import angle as _angle
    return _angle(z, deg)
