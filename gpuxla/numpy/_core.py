"""gpuxla.numpy: NumPy's API over the lax primitives, with JAX's promotion and weak types.

Every function here is a composite: it promotes and broadcasts its operands, then binds lax
primitives, so derivative and batching rules never need to know about it.
"""
import builtins
import math
import operator
import string

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.graph import Array, constant
from ..lax import asarray as _lax_asarray

_py_min, _py_max, _py_abs, _py_round, _py_sum, _py_all, _py_any = (
    builtins.min, builtins.max, builtins.abs, builtins.round, builtins.sum, builtins.all, builtins.any)

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
complex64, complex128 = _scalar_type("complex64", np.complex64), _scalar_type("complex128", np.complex128)
float_, int_, complex_ = float64, int64, complex128
generic, number, inexact, floating = np.generic, np.number, np.inexact, np.floating
integer, signedinteger, unsignedinteger, complexfloating = np.integer, np.signedinteger, np.unsignedinteger, np.complexfloating
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


# --- creation ---------------------------------------------------------------------------------
def asarray(a, dtype=None, copy=None, order=None):
    """Convert `a` (array, scalar, nested lists/tuples of them) to a gpuxla Array."""
    dtype = _dt(dtype)
    if isinstance(a, Array):
        return a if dtype is None or a.dtype == dtype else lax.convert_element_type(a, dtype)
    if isinstance(a, (list, tuple)) and _py_any(isinstance(v, Array) for v in _flat(a)):
        return stack([asarray(v, dtype) for v in a]) if len(a) else asarray(np.array(a), dtype)
    if isinstance(a, (list, tuple)) and len(a) and _py_all(isinstance(v, (int, float, bool, complex)) for v in _flat(a)):
        # A list of Python scalars takes JAX's promotion of its elements, weak types included.
        dt, weak = dtypes.result_type_and_weak(*_flat(a))
        dt = dtype or dt
        return constant(dtypes.astype_numpy(np.array(a), dt) if np.array(a).dtype != dt else np.array(a))
    return _lax_asarray(a, dtype)


def _flat(a):
    for v in a:
        if isinstance(v, (list, tuple)):
            yield from _flat(v)
        else:
            yield v


def array(object, dtype=None, copy=True, order=None, ndmin=0):
    x = asarray(object, dtype)     # a Python scalar stays weakly typed, as in JAX
    if x.ndim < ndmin:
        x = lax.reshape(x, (1,) * (ndmin - x.ndim) + x.shape)
    return x


def _shape(shape):
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    try:
        return tuple(operator.index(d) for d in shape)
    except TypeError:
        raise TypeError(f"Shapes must be 1D sequences of concrete values of integer type, got {shape!r}. "
                        "Under jit, pass the shape as a static argument (static_argnums).") from None


def full(shape, fill_value, dtype=None):
    dtype = _dt(dtype)
    v = asarray(fill_value, dtype)
    if dtype is None and isinstance(fill_value, (int, float, complex)) and not isinstance(fill_value, bool):
        v = lax.convert_element_type(v, v.dtype, weak_type=False)
    return broadcast_to(v, _shape(shape))


def zeros(shape, dtype=None):
    return lax.full(_shape(shape), 0, _dt(dtype) or dtypes.default_float_dtype())


def ones(shape, dtype=None):
    return lax.full(_shape(shape), 1, _dt(dtype) or dtypes.default_float_dtype())


def empty(shape, dtype=None):
    return zeros(shape, dtype)


def _like(fill):
    def like(a, dtype=None, shape=None):
        return full_like(a, fill, dtype, shape)
    return like


zeros_like, ones_like, empty_like = _like(0), _like(1), _like(0)


def full_like(a, fill_value, dtype=None, shape=None):
    a = asarray(a)
    return lax.full_like(a, fill_value, _dt(dtype), None if shape is None else _shape(shape))


def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop): `start + step * iota` computed in the result dtype
    (float32 for 16-bit floats), as JAX does, so values agree with JAX's to the bit."""
    for v in (start, stop, step):
        if isinstance(v, Array) and v.sym is not None and v._buf is None:
            raise _concrete_error("arange", v)
    start, stop, step = (v.item() if isinstance(v, Array) else v for v in (start, stop, step))
    dtype = _dt(dtype) or dtypes.result_type(*(v for v in (start, stop, step) if v is not None))
    if stop is None:
        start, stop = 0, start
    if step is None:
        n = _py_max(int(math.ceil(stop - start)), 0)
        r = lax.iota(dtype, n)
        return r if start == 0 else lax.add(r, lax.convert_element_type(asarray(start), dtype))
    n = _py_max(int(math.ceil((stop - start) / step)), 0)
    work = np.dtype(np.float32) if dtypes.is_float(dtype) and np.dtype(dtype).itemsize < 4 else dtype
    c = lambda v: lax.convert_element_type(asarray(v), work)  # noqa: E731
    return lax.convert_element_type(lax.add(c(start), lax.mul(c(step), lax.iota(work, n))), dtype)


def _concrete_error(name, v):
    from ..core.graph import concretization_message
    from ..errors import ConcretizationTypeError
    return ConcretizationTypeError(concretization_message(v, f"{name} needs concrete (static) arguments."))


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0):
    dtype = _dt(dtype) or dtypes.default_float_dtype()
    num = operator.index(num)
    start, stop = asarray(start, dtype), asarray(stop, dtype)
    # Array endpoints: the samples run along a new axis (last while computing, then `axis`).
    bshape = np.broadcast_shapes(start.shape, stop.shape)
    start, stop = (expand_dims(broadcast_to(v, bshape), -1) for v in (start, stop))
    div = (num - 1) if endpoint else num
    i = lax.convert_element_type(lax.iota(dtype, num), dtype)
    step = (stop - start) / _py_max(div, 1)
    out = start + i * step if num > 1 else broadcast_to(start, bshape + (num,))
    if endpoint and num > 1:
        out = where(lax.iota(np.int32, num) == num - 1, stop, out)
    out = moveaxis(lax.convert_element_type(out, dtype), -1, _canon_axis(axis, len(bshape) + 1, "linspace"))
    step = reshape(step, bshape)
    return (out, step) if retstep else out


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    return power(asarray(base, _dt(dtype) or dtypes.default_float_dtype()), linspace(start, stop, num, endpoint, dtype=dtype))


def eye(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    dtype = _dt(dtype) or dtypes.default_float_dtype()
    r = lax.broadcasted_iota(np.int32, (N, M), 0)
    c = lax.broadcasted_iota(np.int32, (N, M), 1)
    return lax.convert_element_type(lax.eq(c - r, asarray(k, np.int32)), dtype)


def identity(n, dtype=None):
    return eye(n, dtype=dtype)


def tri(N, M=None, k=0, dtype=None):
    M = N if M is None else M
    r = lax.broadcasted_iota(np.int32, (N, M), 0)
    c = lax.broadcasted_iota(np.int32, (N, M), 1)
    return lax.convert_element_type(lax.le(c, r + k), _dt(dtype) or np.float32)


def tril(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k, dtype=np.bool_)
    return where(mask, m, zeros_like(m))


def triu(m, k=0):
    m = asarray(m)
    mask = tri(m.shape[-2], m.shape[-1], k - 1, dtype=np.bool_)
    return where(mask, zeros_like(m), m)


def meshgrid(*xi, indexing="xy", sparse=False, copy=True):
    xi = [ravel(asarray(x)) for x in xi]
    n = len(xi)
    shape = [x.shape[0] for x in xi]
    if indexing == "xy" and n >= 2:
        shape[0], shape[1] = shape[1], shape[0]
    out = []
    for i, x in enumerate(xi):
        axis = i
        if indexing == "xy" and n >= 2 and i < 2:
            axis = 1 - i
        s = [1] * n
        s[axis] = x.shape[0]
        y = lax.reshape(x, s)
        out.append(y if sparse else broadcast_to(y, shape))
    return out


def diag(v, k=0):
    v = asarray(v)
    if v.ndim == 1:
        # Entry (r, c) with c - r == k holds v[r] (k >= 0) or v[c] (k < 0).
        n = v.shape[0] + _py_abs(k)
        r = lax.broadcasted_iota(np.int32, (n, n), 0)
        c = lax.broadcasted_iota(np.int32, (n, n), 1)
        padded = lax.pad(v, 0, [(0, _py_abs(k), 0)])
        vals = broadcast_to(lax.reshape(padded, (n, 1) if k >= 0 else (1, n)), (n, n))
        return where(lax.eq(c - r, asarray(k, np.int32)), vals, zeros_like(vals))
    if v.ndim == 2:
        return diagonal(v, k)
    raise ValueError(f"diag: input must be 1-D or 2-D, got shape {v.shape}")


def diagonal(a, offset=0, axis1=0, axis2=1):
    a = asarray(a)
    a = moveaxis(a, (axis1, axis2), (-2, -1))
    n, m = a.shape[-2], a.shape[-1]
    length = _py_max(0, _py_min(n + _py_min(offset, 0), m - _py_max(offset, 0)))
    i = lax.iota(np.int32, length)
    rows, cols = i - _py_min(offset, 0), i + _py_max(offset, 0)
    idx = stack([rows, cols], axis=-1)
    return lax.gather_points(a, idx, axes=(a.ndim - 2, a.ndim - 1)) if a.ndim == 2 else moveaxis(
        lax.gather_points(a, idx, axes=(a.ndim - 2, a.ndim - 1)), 0, -1)


def trace(a, offset=0, axis1=0, axis2=1, dtype=None):
    return sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


# --- promotion helpers ------------------------------------------------------------------------
def _promote(*args, op="op"):
    """Promote operands to their JAX result dtype and broadcast non-scalars to a common shape."""
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
    try:
        shape = np.broadcast_shapes(*shapes)
    except ValueError:
        raise TypeError(f"{op} got incompatible shapes for broadcasting: {', '.join(map(str, shapes))}.") from None
    return [x if x.shape == shape or x.ndim == 0 else _broadcast(x, shape) for x in xs]


def _broadcast(x, shape):
    nd = len(shape)
    if x.ndim > nd:
        raise ValueError(f"cannot broadcast array of shape {x.shape} to shape {shape}")
    return lax.broadcast_in_dim(x, shape, tuple(range(nd - x.ndim, nd)))


def _full_shape(xs):
    """Broadcast rank-0 operands too (for ops whose primitives need equal shapes)."""
    shape = np.broadcast_shapes(*(x.shape for x in xs))
    return [x if x.shape == shape else _broadcast(x, shape) for x in xs]


def _inexact(dt):
    """The float dtype integer/bool inputs compute in (JAX): float32, float64 for 64-bit ints."""
    dt = np.dtype(dt)
    if dtypes.is_inexact(dt):
        return dt
    return dtypes.canonicalize_dtype(np.float64 if dt.itemsize == 8 else np.float32)


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
right_shift = _ufunc2(lambda a, b: (lax.shift_right_logical if dtypes.is_unsigned(a.dtype) else lax.shift_right_arithmetic)(a, b), "right_shift")
exp, exp2, log, log1p, expm1 = (_ufunc1(f, n) for f, n in ((lax.exp, "exp"), (lax.exp2, "exp2"), (lax.log, "log"), (lax.log1p, "log1p"), (lax.expm1, "expm1")))
sin, cos, tan, arcsin, arccos, arctan = (_ufunc1(f, n) for f, n in ((lax.sin, "sin"), (lax.cos, "cos"), (lax.tan, "tan"), (lax.asin, "arcsin"), (lax.acos, "arccos"), (lax.atan, "arctan")))
sinh, cosh, tanh, arcsinh, arccosh, arctanh = (_ufunc1(f, n) for f, n in ((lax.sinh, "sinh"), (lax.cosh, "cosh"), (lax.tanh, "tanh"), (lax.asinh, "arcsinh"), (lax.acosh, "arccosh"), (lax.atanh, "arctanh")))
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
        raise TypeError("sign does not accept dtype bool. Accepted dtypes are subtypes of integer, floating, complexfloating.")
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
        if dtypes.is_int(a.dtype) and x2 < 0:
            raise ValueError("Integers to negative integer powers are not allowed.")
        return lax.integer_pow(a, int(x2))
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


def _as_bool(x):
    return x if x.dtype == np.bool_ else lax.ne(x, lax.full_like(x, 0))


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
        return nonzero(condition, size=size, fill_value=fill_value)
    if x is None or y is None:
        raise ValueError("jnp.where takes either one argument or three: where(condition, x, y)")
    c = _as_bool(asarray(condition))
    shapes = [np.shape(v) for v in (c, x, y)]
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        raise ValueError(f"where: incompatible shapes for broadcasting: shapes={shapes}") from None
    a, b = _promote(x, y, op="where")
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


# --- shape manipulation -----------------------------------------------------------------------
def shape(a):
    return np.shape(a) if not isinstance(a, Array) else a.shape


def ndim(a):
    return np.ndim(a) if not isinstance(a, Array) else a.ndim


def size(a, axis=None):
    s = shape(a)
    return int(np.prod(s)) if axis is None else s[axis]


def _canon_axis(axis, ndim, op="op"):
    axis = operator.index(axis)
    if not -ndim <= axis < _py_max(ndim, 1):
        raise ValueError(f"{op}: axis {axis} is out of bounds for array of dimension {ndim}")
    return axis % ndim if ndim else 0


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
            raise TypeError(f"reshape: cannot reshape array of shape {a.shape} (size {a.size}) into shape {tuple(shape)}")
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
    a = asarray(array)
    shape = _shape(shape)
    if a.shape == shape:
        return a
    try:
        if np.broadcast_shapes(a.shape, shape) != shape:
            raise ValueError
    except ValueError:
        raise ValueError(f"broadcast_to: cannot broadcast array of shape {a.shape} to shape {shape}") from None
    return _broadcast(a, shape)


def broadcast_shapes(*shapes):
    return np.broadcast_shapes(*shapes)


def broadcast_arrays(*args):
    xs = [asarray(a) for a in args]
    shape = np.broadcast_shapes(*(x.shape for x in xs))
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
            raise ValueError(f"split: array of size {n} along axis {axis} does not divide into {indices_or_sections} equal sections")
        step = n // indices_or_sections
        bounds = list(range(0, n + 1, step)) if step else [0] * (indices_or_sections + 1)
    else:
        bounds = [0] + [int(i) for i in indices_or_sections] + [n]
    return [lax.slice_in_dim(a, _py_min(s, n), _py_min(_py_max(e, s), n), axis=axis) for s, e in zip(bounds[:-1], bounds[1:])]


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


def repeat(a, repeats, axis=None, total_repeat_length=None):
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "repeat")
    if isinstance(repeats, (int, np.integer)):
        r = int(repeats)
        if total_repeat_length is not None and total_repeat_length != r * a.shape[axis]:
            return repeat(a, np.full(a.shape[axis], r), axis, total_repeat_length)
        shape = list(a.shape)
        b = lax.broadcast_in_dim(a, shape[:axis + 1] + [r] + shape[axis + 1:], tuple(i if i <= axis else i + 1 for i in range(a.ndim)))
        shape[axis] *= r
        return reshape(b, shape)
    reps = np.asarray(repeats if not isinstance(repeats, Array) else repeats._value())
    idx = np.repeat(np.arange(a.shape[axis]), reps)
    if total_repeat_length is not None:
        # JAX fills the output to exactly this length: truncated, or padded with the last value
        idx = np.concatenate([idx, np.full(_py_max(total_repeat_length - len(idx), 0), idx[-1] if len(idx) else 0)])
        idx = idx[:total_repeat_length]
    return take(a, asarray(idx.astype(np.int32)), axis=axis)


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


def pad(array, pad_width, mode="constant", constant_values=0):
    a = asarray(array)
    pw = np.broadcast_to(np.asarray(pad_width, dtype=np.int64).reshape(-1, 2) if np.ndim(pad_width) else np.asarray([[pad_width, pad_width]]), (a.ndim, 2)) if a.ndim else np.zeros((0, 2), np.int64)
    if (pw < 0).any():
        raise ValueError(f"pad: pad_width must be non-negative, got {np.asarray(pad_width).tolist()}")
    if mode != "constant":
        if mode in ("edge", "reflect", "symmetric", "wrap"):
            return _pad_indexed(a, pw, mode)
        raise NotImplementedError(f"jnp.pad: mode {mode!r} is not supported (constant, edge, reflect, symmetric, wrap are)")
    cv = np.broadcast_to(np.asarray(constant_values), (a.ndim, 2)) if np.ndim(constant_values) else None
    if cv is None:
        return lax.pad(a, asarray(constant_values, a.dtype), [(int(lo), int(hi), 0) for lo, hi in pw])
    for ax in range(a.ndim):
        cfg = [(0, 0, 0)] * a.ndim
        lo, hi = pw[ax]
        cfg[ax] = (int(lo), 0, 0)
        a = lax.pad(a, asarray(cv[ax][0], a.dtype), cfg)
        cfg[ax] = (0, int(hi), 0)
        a = lax.pad(a, asarray(cv[ax][1], a.dtype), cfg)
    return a


def _pad_indexed(a, pw, mode):
    for ax in range(a.ndim):
        n = a.shape[ax]
        lo, hi = int(pw[ax][0]), int(pw[ax][1])
        i = np.arange(-lo, n + hi)
        if mode == "edge":
            i = np.clip(i, 0, n - 1)
        elif mode == "wrap":
            i = i % n
        elif mode == "reflect":
            period = 2 * (n - 1) if n > 1 else 1
            i = np.abs(i) % period
            i = np.where(i >= n, period - i, i)
        else:
            period = 2 * n
            i = i % period
            i = np.where(i >= n, period - 1 - i, i)
        a = take(a, asarray(i.astype(np.int32)), axis=ax)
    return a


def append(arr, values, axis=None):
    if axis is None:
        return concatenate([ravel(arr), ravel(values)])
    return concatenate([arr, values], axis)


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
            r = (maximum if name == "max" else minimum if name == "min" else add if name == "sum" else multiply)(r, initial)
        return _keep(r, axes, keepdims, a.shape)
    f.__name__ = name
    return f


def _where_init(x, mask, name):
    ident = {"sum": 0, "prod": 1, "max": -np.inf if dtypes.is_inexact(x.dtype) else (np.iinfo(x.dtype).min if dtypes.is_int(x.dtype) else False),
             "min": np.inf if dtypes.is_inexact(x.dtype) else (np.iinfo(x.dtype).max if dtypes.is_int(x.dtype) else True),
             "any": False, "all": True}[name]
    return where(mask, x, lax.full(x.shape, ident, x.dtype))


sum = _reduction("sum", lax.reduce_sum, _sum_dtype)
prod = _reduction("prod", lax.reduce_prod, _sum_dtype)
max = amax = _reduction("max", lambda x, axes: lax.reduce_max(x, axes) if x.dtype != np.bool_ else lax.reduce_or(x, axes))
min = amin = _reduction("min", lambda x, axes: lax.reduce_min(x, axes) if x.dtype != np.bool_ else lax.reduce_and(x, axes))


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
        a = asarray(a)
        if axis is None:
            a, axis = ravel(a), 0
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


# --- linear algebra ---------------------------------------------------------------------------
def _dot_promote(a, b):
    a, b = asarray(a), asarray(b)
    dt = dtypes.result_type(a, b)
    return (a if a.dtype == dt else lax.convert_element_type(a, dt)), (b if b.dtype == dt else lax.convert_element_type(b, dt))


def _dot(a, b, dimension_numbers, precision=None, preferred_element_type=None):
    # jax.numpy's products name their result type (JAX prints it in jaxprs); lax.dot_general alone does not.
    pet = a.dtype if preferred_element_type is None else preferred_element_type
    return lax.dot_general(a, b, dimension_numbers, precision, pet)


def matmul(a, b, precision=None, preferred_element_type=None):
    """Matrix product with NumPy's broadcasting of batch dimensions (`a @ b`)."""
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must not be scalars, got shapes {a.shape} and {b.shape}")
    av, bv = a.ndim == 1, b.ndim == 1
    if av:
        a = lax.reshape(a, (1, a.shape[0]))
    if bv:
        b = lax.reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        raise TypeError(f"matmul: contracting dimensions differ: {a.shape} @ {b.shape} (a.shape[-1]={a.shape[-1]} "
                        f"!= b.shape[-2]={b.shape[-2]})")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nb = len(batch)
    if a.ndim > 2 or b.ndim > 2:
        # Broadcast batch dimensions where one side is missing or has size 1.
        if a.shape[:-2] != batch:
            a = broadcast_to(a, batch + a.shape[-2:]) if a.ndim - 2 != 0 else a
        if b.shape[:-2] != batch:
            b = broadcast_to(b, batch + b.shape[-2:]) if b.ndim - 2 != 0 else b
    if a.ndim == 2 and b.ndim > 2:
        out = _dot(a, b, (((1,), (nb,)), ((), ())), precision, preferred_element_type)
        out = moveaxis(out, 0, -2)
    elif b.ndim == 2 and a.ndim > 2:
        out = _dot(a, b, (((a.ndim - 1,), (0,)), ((), ())), precision, preferred_element_type)
    else:
        bd = tuple(range(nb))
        out = _dot(a, b, (((a.ndim - 1,), (b.ndim - 2,)), (bd, bd)), precision, preferred_element_type)
    if av:
        out = lax.squeeze(out, (out.ndim - 2,))
    if bv:
        out = lax.squeeze(out, (out.ndim - 1,))
    return out


def dot(a, b, precision=None, preferred_element_type=None):
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim == 1 or a.ndim == 1 or (a.ndim <= 2 and b.ndim <= 2):
        if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise TypeError(f"dot: shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim {a.ndim - 1}) != "
                            f"{b.shape[0 if b.ndim == 1 else -2]}")
        return _dot(a, b, (((a.ndim - 1,), (0 if b.ndim == 1 else b.ndim - 2,)), ((), ())), precision, preferred_element_type)
    return _dot(a, b, (((a.ndim - 1,), (b.ndim - 2,)), ((), ())), precision, preferred_element_type)


def vdot(a, b, precision=None):
    return dot(ravel(a), ravel(b), precision)


def vecdot(x1, x2, axis=-1):
    return sum(multiply(x1, x2), axis=axis)


def inner(a, b, precision=None):
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return _dot(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())), precision)


def outer(a, b, out=None):
    a, b = ravel(a), ravel(b)
    return multiply(a[:, None], b[None, :])


def tensordot(a, b, axes=2, precision=None):
    a, b = _dot_promote(a, b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = (ax_a,) if isinstance(ax_a, (int, np.integer)) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, (int, np.integer)) else tuple(ax_b)
    ax_a = tuple(_canon_axis(x, a.ndim, "tensordot") for x in ax_a)
    ax_b = tuple(_canon_axis(x, b.ndim, "tensordot") for x in ax_b)
    return _dot(a, b, ((ax_a, ax_b), ((), ())), precision)


def kron(a, b):
    a, b = asarray(a), asarray(b)
    nd = _py_max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ae = reshape(a, [d for s in a.shape for d in (s, 1)])
    be = reshape(b, [d for s in b.shape for d in (1, s)])
    return reshape(multiply(ae, be), [x * y for x, y in zip(a.shape, b.shape)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError("cross: incompatible dimensions for cross product (dimension must be 2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if a.shape[-1] == 3 else zeros_like(a0)
    b2 = b[..., 2] if b.shape[-1] == 3 else zeros_like(b0)
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a0 * b1 - a1 * b0
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return moveaxis(c, -1, axisc)


def einsum(subscripts, *operands, optimize="greedy", precision=None, preferred_element_type=None):
    """Einstein summation through dot_general and transposes (pairwise, left to right)."""
    ops = [asarray(o) for o in operands]
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    in_specs = ins.split(",")
    if len(in_specs) != len(ops):
        raise ValueError(f"einsum: {len(in_specs)} operand subscripts for {len(ops)} operands")
    in_specs = _expand_ellipsis(in_specs, ops)
    if out is None:
        counts = {}
        for s in in_specs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted({c for s in in_specs for c in s if c in _ELL}, key=lambda c: _ELL.index(c))) + \
            "".join(sorted(c for c, n in counts.items() if n == 1 and c not in _ELL))
    elif "..." in out:
        ell = sorted({c for s in in_specs for c in s if c in _ELL}, key=lambda c: _ELL.index(c))
        out = out.replace("...", "".join(ell))
    dt = dtypes.result_type(*ops)
    ops = [o if o.dtype == dt else lax.convert_element_type(o, dt) for o in ops]
    ops = [_einsum_single(o, s, out, in_specs[:i] + in_specs[i + 1:]) for i, (o, s) in enumerate(zip(ops, in_specs))]
    specs = [s for _, s in ops]
    ops = [o for o, _ in ops]
    x, xs = ops[0], specs[0]
    for k in range(1, len(ops)):
        x, xs = _einsum_pair(x, xs, ops[k], specs[k], out, specs[k + 1:], precision, preferred_element_type)
    # Final: sum leftover labels and transpose to `out`.
    drop = tuple(i for i, c in enumerate(xs) if c not in out)
    if drop:
        x = lax.reduce_sum(x, drop)
        xs = "".join(c for c in xs if c in out)
    if sorted(xs) != sorted(out):
        raise ValueError(f"einsum: output subscript labels {out!r} must appear in the inputs")
    return lax.transpose(x, tuple(xs.index(c) for c in out)) if xs != out else x


_ELL = "".join(chr(c) for c in range(0x3b1, 0x3b1 + 20))  # labels for ellipsis dimensions


def _expand_ellipsis(specs, ops):
    out = []
    for s, o in zip(specs, ops):
        if "..." in s:
            # Ellipsis dimensions take the last labels of _ELL: aligned from the right, as
            # broadcasting aligns them.
            n = o.ndim - (len(s) - 3)
            s = s.replace("...", _ELL[len(_ELL) - n:] if n > 0 else "")
        if len(s) != o.ndim:
            raise ValueError(f"einsum: subscripts {s!r} do not match operand of shape {o.shape}")
        out.append(s)
    return out


def _einsum_single(x, s, out, others):
    """Take diagonals of repeated labels and sum labels used nowhere else."""
    while len(set(s)) != len(s):
        c = next(c for c in s if s.count(c) > 1)
        i = s.index(c)
        j = s.index(c, i + 1)
        x = diagonal(x, 0, i, j)
        s = s[:i] + s[i + 1:j] + s[j + 1:] + c
    keep_elsewhere = set(out) | {c for o in others for c in o}
    drop = tuple(i for i, c in enumerate(s) if c not in keep_elsewhere)
    if drop:
        x = lax.reduce_sum(x, drop)
        s = "".join(c for c in s if c in keep_elsewhere)
    return x, s


def _einsum_pair(x, xs, y, ys, out, later, precision, pet):
    keep = set(out) | {c for s in later for c in s}
    # Size-1 broadcast labels (from ellipses) are expanded so both sides agree.
    for c in set(xs) & set(ys):
        dx, dy = x.shape[xs.index(c)], y.shape[ys.index(c)]
        if dx != dy:
            if dx == 1:
                shp = list(x.shape)
                shp[xs.index(c)] = dy
                x = broadcast_to(x, shp)
            elif dy == 1:
                shp = list(y.shape)
                shp[ys.index(c)] = dx
                y = broadcast_to(y, shp)
            else:
                raise ValueError(f"einsum: label {c!r} has sizes {dx} and {dy}")
    batch = [c for c in xs if c in ys and c in keep]
    contract = [c for c in xs if c in ys and c not in keep]
    dn = ((tuple(xs.index(c) for c in contract), tuple(ys.index(c) for c in contract)),
          (tuple(xs.index(c) for c in batch), tuple(ys.index(c) for c in batch)))
    r = _dot(x, y, dn, precision, pet)
    rs = "".join(batch) + "".join(c for c in xs if c not in ys) + "".join(c for c in ys if c not in xs)
    return r, rs


# --- sorting, searching, misc -----------------------------------------------------------------
def _no_kind(name, kind, order):
    if kind is not None:
        raise TypeError(f"'kind' argument to {name} is not supported. Use stable=True or stable=False to specify sort stability.")
    if order is not None:
        raise TypeError(f"'order' argument to {name} is not supported.")


def sort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    _no_kind("sort", kind, order)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    r = lax.sort(a, _canon_axis(axis, a.ndim, "sort"))
    return flip(r, axis) if descending else r


def argsort(a, axis=-1, kind=None, order=None, stable=True, descending=False):
    _no_kind("argsort", kind, order)
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "argsort")
    if descending:
        return flip(lax.argsort(flip(a, axis), axis), axis) * -1 + (a.shape[axis] - 1)
    return lax.argsort(a, axis)


def searchsorted(a, v, side="left", sorter=None, method="scan"):
    a, v = asarray(a), asarray(v)
    if sorter is not None:
        a = take(a, sorter)
    dt = dtypes.result_type(a, v)
    a, v = a.astype(dt), v.astype(dt)
    cmp = lax.le if side == "right" else lax.lt
    # Count the entries of `a` that sort before each value: a compare-and-sum, fusable and exact.
    vv = expand_dims(v, -1)
    return sum(cmp(*_full_shape([a, vv])), axis=-1, dtype=np.int32)


def digitize(x, bins, right=False):
    x, bins = asarray(x), asarray(bins)
    if bins.ndim != 1:
        raise ValueError("digitize: bins must be 1-D")
    side = "left" if right else "right"
    if bins.shape[0] < 2:
        return searchsorted(bins, x, side=side)
    # decreasing bins count from the other end, as NumPy
    inc = searchsorted(bins, x, side=side)
    dec = bins.shape[0] - searchsorted(flip(bins), x, side=side)
    return where(bins[-1] >= bins[0], inc, dec)


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


def _concrete_value(x, name):
    x = asarray(x)
    if x.sym is not None and x._buf is None:
        raise _concrete_error(name + " (the size of its output depends on the values; pass size=)", x)
    return np.asarray(x._value())


def nonzero(a, *, size=None, fill_value=None):
    a = asarray(a)
    if size is None:
        idx = np.nonzero(_concrete_value(a, "nonzero"))
        return tuple(asarray(i.astype(dtypes.default_int_dtype())) for i in idx)
    flat = ravel(_as_bool(a))
    n = flat.shape[0]
    # Stable order of the true entries: argsort of (not mask) keeps true positions first, in order.
    order = lax.argsort(lax.convert_element_type(lax.bitwise_not(flat), np.int32), 0)[:size] if n >= size else None
    if order is None:
        order = concatenate([lax.argsort(lax.convert_element_type(lax.bitwise_not(flat), np.int32), 0),
                             zeros(size - n, dtypes.default_int_dtype())])
    count = sum(flat)
    valid = lax.iota(dtypes.default_int_dtype(), size) < count
    coords = unravel_index(order, a.shape)
    fills = fill_value if isinstance(fill_value, tuple) else (0 if fill_value is None else fill_value,) * a.ndim
    return tuple(where(valid, c, asarray(f, c.dtype)) for c, f in zip(coords, fills))


def flatnonzero(a, *, size=None, fill_value=None):
    return nonzero(ravel(a), size=size, fill_value=fill_value)[0]


def argwhere(a, *, size=None, fill_value=None):
    a = asarray(a)
    res = nonzero(atleast_1d(a), size=size, fill_value=fill_value)
    return stack(res, -1) if res else zeros((0, 0), dtypes.default_int_dtype())


def unravel_index(indices, shape):
    indices = asarray(indices)
    out = []
    for d in reversed(shape):
        out.append(lax.rem(indices, asarray(d, indices.dtype)))
        indices = lax.div(indices, asarray(d, indices.dtype))
    return tuple(reversed(out))


def ravel_multi_index(multi_index, dims, mode="raise"):
    out = asarray(0, np.int32)
    for i, d in zip(multi_index, dims):
        out = out * d + asarray(i)
    return out


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *, size=None, fill_value=None):
    v = _concrete_value(ar, "unique") if size is None else None
    if size is None:
        res = np.unique(v, return_index=return_index, return_inverse=return_inverse, return_counts=return_counts, axis=axis)
        if isinstance(res, tuple):
            return tuple(asarray(r.astype(dtypes.canonicalize_dtype(r.dtype))) for r in res)
        return asarray(res)
    a = sort(ravel(ar))
    first = concatenate([asarray([True]), a[1:] != a[:-1]]) if a.shape[0] else a == a
    idx = nonzero(first, size=size, fill_value=-1 if fill_value is None else None)[0]
    vals = take(a, clip(idx, 0, a.shape[0] - 1))
    fill = a[0] if fill_value is None else asarray(fill_value, a.dtype)
    return where(idx >= 0, vals, fill) if fill_value is None else where(lax.iota(np.int32, size) < sum(first), vals, fill)


def bincount(x, weights=None, minlength=0, *, length=None):
    x = asarray(x)
    if length is None:
        length = _py_max(int(_concrete_value(x, "bincount").max(initial=-1)) + 1, minlength)
    w = ones(x.shape, dtypes.default_int_dtype()) if weights is None else asarray(weights)
    return zeros(length, w.dtype).at[x].add(w)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return quantile(a, 0.5, axis=axis, keepdims=keepdims)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    a = asarray(a)
    dt = _float_dtype(a.dtype)
    a = a.astype(dt)
    if axis is None:
        a2, axis_ = ravel(a), 0
    else:
        axis_ = _canon_axis(axis, a.ndim, "quantile")
        a2 = a
    s = sort(a2, axis=axis_)
    n = s.shape[axis_]
    q = asarray(q, dt)
    pos = q * (n - 1)
    lo = clip(floor(pos).astype(np.int32), 0, n - 1)
    hi = clip(lo + 1, 0, n - 1)
    frac = pos - lo.astype(dt)
    if method == "lower":
        frac = zeros_like(frac)
    elif method == "higher":
        lo, frac = clip(ceil(pos).astype(np.int32), 0, n - 1), zeros_like(frac)
    elif method == "nearest":
        lo, frac = clip(rint(pos).astype(np.int32), 0, n - 1), zeros_like(frac)
    elif method == "midpoint":
        frac = where(frac > 0, full_like(frac, 0.5), frac)
    qs = q.shape
    lo_v = take(s, ravel(lo), axis=axis_)
    hi_v = take(s, ravel(hi), axis=axis_)
    fr = reshape(ravel(frac), (-1,) + (1,) * (s.ndim - axis_ - 1))
    res = lo_v * (1 - fr) + hi_v * fr
    res = moveaxis(res, axis_, 0)
    res = reshape(res, qs + res.shape[1:])
    any_nan = any(isnan(s), axis=axis_)
    res = where(any_nan, full_like(res, np.nan), res)
    if keepdims:
        if axis is None:
            res = reshape(res, qs + (1,) * a.ndim)
        else:
            res = expand_dims(res, len(qs) + axis_)
    return res


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return quantile(a, asarray(q) / 100, axis, method=method, keepdims=keepdims)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    """quantile ignoring NaNs: each slice interpolates among its own non-NaN values (NaN where
    there are none)."""
    a = asarray(a)
    dt = _float_dtype(a.dtype)
    a = a.astype(dt)
    axis_ = None if axis is None else _canon_axis(axis, a.ndim, "nanquantile")
    x = ravel(a) if axis is None else moveaxis(a, axis_, -1)
    s = sort(x, axis=-1)                                   # NaNs sort last
    n = sum(logical_not(isnan(x)), axis=-1)                # valid values per slice
    q = asarray(q, dt)
    qb = reshape(q, q.shape + (1,) * n.ndim)
    last = (n - 1).astype(dt)
    pos = qb * last
    if method == "lower":
        lo_f, frac = floor(pos), zeros_like(pos)
    elif method == "higher":
        lo_f, frac = ceil(pos), zeros_like(pos)
    elif method == "nearest":
        lo_f, frac = rint(pos), zeros_like(pos)
    elif method in ("linear", "midpoint"):
        lo_f = floor(pos)
        frac = pos - lo_f
        if method == "midpoint":
            frac = where(frac > 0, full_like(frac, 0.5), frac)
    else:
        raise ValueError(f"nanquantile: method {method!r} is not supported")
    top = maximum(n - 1, 0)
    lo = minimum(maximum(lo_f.astype(np.int32), 0), top)
    hi = minimum(lo + 1, top)
    sb = broadcast_to(s, q.shape + s.shape)
    lo_v = take_along_axis(sb, lo[..., None], axis=-1)[..., 0]
    hi_v = take_along_axis(sb, hi[..., None], axis=-1)[..., 0]
    res = where(n == 0, full_like(pos, np.nan), lo_v + (hi_v - lo_v) * frac)
    if keepdims:
        res = reshape(res, q.shape + (1,) * a.ndim) if axis is None else expand_dims(res, q.ndim + axis_)
    return res


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False):
    return nanquantile(a, asarray(q) / 100, axis, method=method, keepdims=keepdims)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return nanquantile(a, 0.5, axis=axis, keepdims=keepdims)


def average(a, axis=None, weights=None, returned=False, keepdims=False):
    a = asarray(a)
    if weights is None:
        avg = mean(a, axis, keepdims=keepdims)
        n = asarray(a.size / _py_max(avg.size, 1), avg.dtype)
        return (avg, broadcast_to(n, avg.shape)) if returned else avg
    w = asarray(weights)
    if w.shape != a.shape:
        if axis is None or w.ndim != 1:
            raise ValueError("average: 1-D weights need an axis; otherwise weights must match a's shape")
        ax = _canon_axis(axis, a.ndim)
        w = lax.broadcast_in_dim(w, a.shape, (ax,))
    dt = _float_dtype(dtypes.result_type(a, w))
    wsum = sum(w.astype(dt), axis, keepdims=keepdims)
    avg = sum((a * w).astype(dt), axis, keepdims=keepdims) / wsum
    return (avg, wsum) if returned else avg


def _nan_reduction(fn, fill):
    def f(a, axis=None, keepdims=False, **kw):
        a = asarray(a)
        return fn(where(isnan(a), full_like(a, fill), a), axis=axis, keepdims=keepdims, **kw)
    return f


nansum = _nan_reduction(sum, 0)
nanprod = _nan_reduction(prod, 1)
nanmax = _nan_reduction(max, -np.inf)
nanmin = _nan_reduction(min, np.inf)


def nanmean(a, axis=None, keepdims=False):
    a = asarray(a)
    a = a.astype(_inexact(a.dtype))
    ok = logical_not(isnan(a))
    return nansum(a, axis=axis, keepdims=keepdims) / sum(ok, axis=axis, keepdims=keepdims)


def nanvar(a, axis=None, ddof=0, keepdims=False):
    a = asarray(a)
    a = a.astype(_inexact(a.dtype))
    ok = logical_not(isnan(a))
    m = nanmean(a, axis, keepdims=True)
    d = where(ok, a - m, zeros_like(a))
    return sum(d * d, axis=axis, keepdims=keepdims) / (sum(ok, axis=axis, keepdims=keepdims) - ddof)


def nanstd(a, axis=None, ddof=0, keepdims=False):
    return sqrt(nanvar(a, axis, ddof, keepdims))


def nanargmax(a, axis=None):
    a = asarray(a)
    return argmax(where(isnan(a), full_like(a, -np.inf), a), axis)


def nanargmin(a, axis=None):
    a = asarray(a)
    return argmin(where(isnan(a), full_like(a, np.inf), a), axis)


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
        a = concatenate([broadcast_to(asarray(prepend), a.shape[:axis] + (1,) + a.shape[axis + 1:]) if asarray(prepend).ndim == 0 else asarray(prepend), a], axis)
    if append is not None:
        a = concatenate([a, broadcast_to(asarray(append), a.shape[:axis] + (1,) + a.shape[axis + 1:]) if asarray(append).ndim == 0 else asarray(append)], axis)
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


def take(a, indices, axis=None, out=None, mode=None, unique_indices=False, indices_are_sorted=False, fill_value=None):
    """Take elements along an axis. Out-of-bounds indices give `fill_value` (NaN for inexact
    dtypes) by default, as JAX's mode="fill"; mode="clip" clamps, mode="wrap" wraps."""
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "take")
    idx = asarray(indices)
    if not dtypes.is_int(idx.dtype):
        raise TypeError(f"take: indices must be integers, got {idx.dtype}")
    n = a.shape[axis]
    if mode == "wrap":
        idx = remainder(idx, n)
    else:
        idx = where(idx < 0, idx + n, idx)
    mode = mode or "fill"
    if mode == "raise":
        raise NotImplementedError("take: mode='raise' is not supported (indices are not checked on device); use 'fill' or 'clip'")
    g = lax.gather_points(a, lax.expand_dims(idx, (idx.ndim,)), (axis,), "clip" if mode in ("clip", "wrap") else "fill",
                          _fill_value(a.dtype, fill_value))
    # gather puts the index dimensions first; move them to `axis`.
    nd_idx = idx.ndim
    perm = list(range(nd_idx, nd_idx + axis)) + list(range(nd_idx)) + list(range(nd_idx + axis, g.ndim))
    return lax.transpose(g, perm)


def _fill_value(dt, fill_value):
    if fill_value is not None:
        return np.asarray(fill_value).astype(dt).item()
    if dtypes.is_inexact(dt):
        return float("nan")
    if dt == np.bool_:
        return True
    if dtypes.is_unsigned(dt):
        return int(np.iinfo(dt).max)
    return int(np.iinfo(dt).min)


def take_along_axis(arr, indices, axis, mode=None, fill_value=None):
    a, idx = asarray(arr), asarray(indices)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _canon_axis(axis, a.ndim, "take_along_axis")
    if idx.ndim != a.ndim:
        raise ValueError(f"take_along_axis: indices (ndim {idx.ndim}) and arr (ndim {a.ndim}) must have the same ndim")
    shape = tuple(i if k == axis else np.broadcast_shapes((a.shape[k],), (i,))[0] for k, i in enumerate(idx.shape))
    idx = broadcast_to(idx, tuple(s if k == axis else shape[k] for k, s in enumerate(idx.shape)))
    a = broadcast_to(a, tuple(a.shape[k] if k == axis else shape[k] for k in range(a.ndim)))
    n = a.shape[axis]
    idx = where(idx < 0, idx + n, idx).astype(np.int32)
    full_idx = [lax.broadcasted_iota(np.int32, idx.shape, k) if k != axis else idx for k in range(a.ndim)]
    stacked = stack(full_idx, -1)
    mode = mode or "fill"
    return lax.gather_points(a, stacked, tuple(range(a.ndim)), "clip" if mode == "clip" else "fill", _fill_value(a.dtype, fill_value))


def put_along_axis(arr, indices, values, axis, inplace=False, mode=None):
    """`arr` with `values` written at `indices` along `axis` (inplace must be False, as in JAX)."""
    if inplace:
        raise ValueError("jax.numpy.put_along_axis cannot modify arrays in-place: JAX arrays are immutable; "
                         "pass inplace=False and use the returned array.")
    arr, indices = asarray(arr), asarray(indices)
    if axis is None:
        arr, axis = ravel(arr), 0
    axis = _canon_axis(axis, arr.ndim, "put_along_axis")
    if indices.ndim != arr.ndim:
        raise ValueError(f"put_along_axis: indices must have the same number of dimensions as arr ({arr.ndim}), "
                         f"got shape {indices.shape}")
    shape = tuple(indices.shape[i] if i == axis else _py_max(indices.shape[i], arr.shape[i]) if indices.shape[i] == 1
                  else indices.shape[i] for i in range(arr.ndim))
    idx = tuple(broadcast_to(indices, shape) if i == axis else
                lax.broadcasted_iota(np.int32, shape, i) for i in range(arr.ndim))
    return arr.at[idx].set(values)


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


def compress(condition, a, axis=None, size=None, fill_value=0):
    c = nonzero(condition, size=size)[0]
    return take(a, c, axis=axis)


def extract(condition, arr, *, size=None, fill_value=0):
    return compress(ravel(condition), ravel(arr), size=size, fill_value=fill_value)


def iscomplexobj(x):
    return dtypes.is_complex(asarray(x).dtype)


def isscalar(element):
    return np.isscalar(element) or (isinstance(element, Array) and element.ndim == 0)


def copy(a, order=None):
    return asarray(a)


def from_dlpack(x):
    return asarray(np.from_dlpack(x))


def histogram(*a, **k):
    raise NotImplementedError("jnp.histogram is not available in gpuxla (the issue excludes histograms)")


def can_cast(from_, to, casting="safe"):
    return np.can_cast(from_, to, casting)


def einsum_path(*a, **k):
    raise NotImplementedError("einsum_path: gpuxla contracts pairwise left to right")


def vectorize(pyfunc, *, excluded=frozenset(), signature=None):
    if signature is not None:
        raise NotImplementedError("jnp.vectorize with signature= is not supported; use gpuxla.vmap")
    from .. import vmap

    def wrapped(*args):
        arrays = broadcast_arrays(*args)
        f = pyfunc
        nd = arrays[0].ndim if arrays else 0
        for _ in range(nd):
            f = vmap(f)
        return f(*arrays)
    return wrapped
