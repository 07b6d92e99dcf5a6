"""Dtypes, the x64 switch and JAX's type-promotion lattice.

NumPy/ml_dtypes and gpuxla.config only: everything else in gpuxla imports from here, never the
reverse.

>>> promote_types(np.int8, np.uint8)
dtype('int16')
>>> result_type_and_weak(np.zeros(2, np.uint8), 3)  # a Python int adopts the array's width
(dtype('uint8'), False)
>>> dtype_short_name(bfloat16)
'bf16'
"""
from __future__ import annotations

import contextlib
import functools

import ml_dtypes
import numpy as np

from .. import config

# ---------------------------------------------------------------------------------------------
# x64: the options live in gpuxla.config; x64 is read on every canonicalisation, from its plain
# module global.


def x64_enabled() -> bool:
    return config.x64


@contextlib.contextmanager
def enable_x64(flag: bool = True):
    """Temporarily set jax_enable_x64 (process-global: not thread-safe, meant for tests)."""
    old = config.x64
    config.update("jax_enable_x64", flag)
    try:
        yield
    finally:
        config.update("jax_enable_x64", old)


# ---------------------------------------------------------------------------------------------
# dtype objects

bfloat16 = ml_dtypes.bfloat16
float0 = np.dtype([("float0", np.void, 0)])  # the tangent dtype of integer inputs, as in JAX

_d = np.dtype
b1, u1, u2, u4, u8 = _d(bool), _d(np.uint8), _d(np.uint16), _d(np.uint32), _d(np.uint64)
i1, i2, i4, i8 = _d(np.int8), _d(np.int16), _d(np.int32), _d(np.int64)
bf, f2, f4, f8 = _d(bfloat16), _d(np.float16), _d(np.float32), _d(np.float64)
c4, c8 = _d(np.complex64), _d(np.complex128)
_FP8 = [_d(getattr(ml_dtypes, n)) for n in (
    "float8_e4m3fn", "float8_e5m2", "float8_e4m3b11fnuz", "float8_e4m3fnuz", "float8_e5m2fnuz",
    "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn") if hasattr(ml_dtypes, n)]
_INT4 = [_d(ml_dtypes.int4)], [_d(ml_dtypes.uint4)]
# floats NumPy does not know are floats: np.issubdtype(bfloat16, np.floating) is False
_CUSTOM_FLOATS = frozenset([bf, *_FP8])

_X32 = {i8: i4, u8: u4, f8: f4, c8: c4}

_SHORT = {f4: "f32", f8: "f64", f2: "f16", bf: "bf16", i1: "i8", i2: "i16", i4: "i32", i8: "i64",
          u1: "u8", u2: "u16", u4: "u32", u8: "u64", b1: "bool", c4: "c64", c8: "c128",
          float0: "float0", _INT4[0][0]: "i4", _INT4[1][0]: "u4"}


def dtype_short_name(dtype) -> str:
    d = np.dtype(dtype)
    return _SHORT.get(d) or d.name


def _to_dtype(dtype) -> np.dtype:
    if isinstance(dtype, np.dtype):
        return dtype
    try:
        return np.dtype(dtype)
    except TypeError:
        inner = getattr(dtype, "dtype", None)  # e.g. a jnp.float32-style scalar class
        if inner is not None and inner is not dtype:
            return _to_dtype(inner)
        raise TypeError(f"Cannot interpret {dtype!r} as a data type") from None


@functools.lru_cache(maxsize=None)
def _canon(d: np.dtype, x64: bool) -> np.dtype:
    return d if x64 else _X32.get(d, d)


def canonicalize_dtype(dtype) -> np.dtype:
    """Map 64-bit types to their 32-bit counterparts unless x64 is on."""
    return _canon(_to_dtype(dtype), config.x64)


def default_float_dtype(): return f8 if config.x64 else f4
def default_int_dtype(): return i8 if config.x64 else i4
def default_uint_dtype(): return u8 if config.x64 else u4
def default_complex_dtype(): return c8 if config.x64 else c4


def scalar_dtype_for_value(x) -> np.dtype:
    """The dtype a Python scalar literal materialises to (weakly typed, except bool)."""
    t = type(x)
    if t is bool or t is np.bool_:
        return b1
    if t is int:
        return default_int_dtype()
    if t is float:
        return default_float_dtype()
    if t is complex:
        return default_complex_dtype()
    if isinstance(x, np.generic):
        return canonicalize_dtype(x.dtype)
    raise TypeError(f"scalar_dtype_for_value: not a Python scalar: {x!r}")


# ---------------------------------------------------------------------------------------------
# predicates

def is_bool(d): return np.dtype(d) == b1
def is_unsigned(d): return np.dtype(d).kind == "u" or np.dtype(d) in _INT4[1]
def is_int(d): return np.dtype(d).kind in "iu" or np.dtype(d) in (*_INT4[0], *_INT4[1])
def is_complex(d): return np.dtype(d).kind == "c"
def is_float(d): d = np.dtype(d); return d.kind == "f" or d in _CUSTOM_FLOATS  # noqa: E702  (one-line predicate rows)
def is_inexact(d): return is_float(d) or is_complex(d)


def dot_compute_dtype(lhs, preferred=None) -> np.dtype:
    """The dtype dot_general's reference multiplies and accumulates in, for operands of dtype `lhs`
    and a result of dtype `preferred` (None: lhs): float32 for 16-bit floats on either side, the
    result's for float results and integer operands, else the operands' (bool stays bool: logical
    and/or). The NumPy reference and the compiler's outer-product rewrite share it, so both
    round the same products."""
    lhs = np.dtype(lhs)
    out = np.dtype(preferred or lhs)
    if lhs in (f2, bf) or out in (f2, bf):
        return f4
    return out if out.kind in "fc" or lhs.kind in "iu" else lhs


_ABSTRACT = (np.generic, np.number, np.inexact, np.floating, np.integer, np.signedinteger,
             np.unsignedinteger, np.complexfloating)


class extended(np.generic):
    """JAX's abstract scalar class of extended dtypes (never instantiated): `issubdtype(d, extended)`."""


class prng_key(extended):
    """JAX's abstract scalar class of typed-key dtypes: `issubdtype(key.dtype, prng_key)`."""


def issubdtype(a, b) -> bool:
    """np.issubdtype that also files bfloat16/float8 under np.floating and int4 under np.integer,
    and typed-key dtypes (whose `.type` is `prng_key`) under `extended`."""
    if isinstance(b, type) and issubclass(b, extended) or isinstance(getattr(a, "type", None), type) \
            and issubclass(a.type, extended):
        at = a if isinstance(a, type) else getattr(a, "type", None)
        bt = b if isinstance(b, type) else getattr(b, "type", None)
        return isinstance(at, type) and isinstance(bt, type) and issubclass(at, bt)
    if isinstance(b, type) and b in _ABSTRACT:
        ad = _to_dtype(a)
        if ad in _CUSTOM_FLOATS:
            return b in (np.generic, np.number, np.inexact, np.floating)
        if ad in _INT4[0] or ad in _INT4[1]:
            kind = np.signedinteger if ad in _INT4[0] else np.unsignedinteger
            return b in (np.generic, np.number, np.integer, kind)
        return np.issubdtype(ad, b)
    ad, bd = _to_dtype(a), _to_dtype(b)
    if ad in _CUSTOM_FLOATS or bd in _CUSTOM_FLOATS:
        return ad == bd
    return np.issubdtype(ad, bd)


def finfo(dtype):
    return ml_dtypes.finfo(_to_dtype(dtype))  # ml_dtypes.finfo defers to np.finfo for builtins


def iinfo(dtype):
    return ml_dtypes.iinfo(_to_dtype(dtype))


# ---------------------------------------------------------------------------------------------
# The promotion lattice. Nodes are np.dtypes (strong) and the Python types int/float/complex
# (weak: Python scalars, or arrays carrying weak_type). The join of two nodes is their least upper
# bound; there is deliberately no path between e.g. float8 and float16, so that raises.

class TypePromotionError(ValueError):
    pass


def _upper_bounds(x64: bool):
    lat = {b1: [int], int: [u1, i1, *_INT4[0], *_INT4[1]],
           u1: [i2, u2], u2: [i4, u4], u4: [i8, u8] if x64 else [i4, u8], u8: [float],
           i1: [i2], i2: [i4], i4: [i8], i8: [float],
           float: [bf, f2, complex, *_FP8], bf: [f4], f2: [f4], f4: [f8, c4], f8: [c8],
           complex: [c4], c4: [c8], c8: []}
    # float8 and int4 sit just above the weak node and below nothing: they only mix with scalars
    for n in (*_FP8, *_INT4[0], *_INT4[1]):
        lat[n] = []
    ub = {}
    def up(n):
        if n not in ub:
            ub[n] = frozenset({n}.union(*(up(m) for m in lat[n])))
        return ub[n]
    for n in lat:
        up(n)
    return ub


# Without x64, uint32 x int32 joins to int32: no 64-bit type may arise from 32-bit inputs.
_UPPER = {False: _upper_bounds(False), True: _upper_bounds(True)}


def _name(n):
    return n.__name__ if isinstance(n, type) else str(n)


@functools.lru_cache(maxsize=None)
def _join(nodes: frozenset, x64: bool):
    ub = _UPPER[x64]
    try:
        common = frozenset.intersection(*(ub[n] for n in nodes))
    except KeyError:
        bad = next(n for n in nodes if n not in ub)
        raise TypePromotionError(f"dtype={_name(bad)} is not a valid dtype for type promotion") from None
    least = (common & nodes) or [c for c in common if ub[c] == common]
    if len(least) != 1:
        names = tuple(sorted(_name(n) for n in nodes))
        raise TypePromotionError(
            f"Input dtypes {names} have no available implicit dtype promotion path "
            "(float8 and int4 types mix only with Python scalars). "
            "Convert explicitly, e.g. x.astype('float32').")
    return next(iter(least))


def _node(x):
    if x is int or x is float or x is complex:
        return x
    return _to_dtype(x)


def promote_types(a, b) -> np.dtype:
    """jnp.promote_types: the lattice join of two dtypes; Python int/float/complex act as weak.

    Not canonicalised: promote_types(int64, int32) is int64 even without x64.
    """
    return np.dtype(_join(frozenset((_node(a), _node(b))), config.x64))


def _weak_node(d: np.dtype):
    if d in _CUSTOM_FLOATS:
        return float
    return {"i": int, "u": int, "f": float, "c": complex}.get(d.kind, d)  # weak bool is just bool


_PY_TYPES = {int: "i", float: "f", complex: "c"}


def _dtype_and_weak(x):
    """(dtype, weak) of one operand. Python scalars/types and NumPy values are canonicalised;
    gpuxla arrays (anything with .weak_type) keep their dtype: an x64 value stays x64."""
    t = type(x)
    if t in _PY_TYPES:
        return _canon(np.dtype(t), config.x64), True
    if t is bool:
        return b1, False
    if t is type:
        if x in _PY_TYPES:
            return _canon(np.dtype(x), config.x64), True
    elif t is not np.dtype:
        wt = getattr(x, "weak_type", None)
        if wt is not None:
            return _to_dtype(x.dtype), bool(wt)
        if x is None:
            return default_float_dtype(), False
        d = getattr(x, "dtype", None)
        if isinstance(d, np.dtype):
            return _canon(d, config.x64), False
    return _canon(_to_dtype(x), config.x64), False


@functools.lru_cache(maxsize=4096)
def _lattice_result(key, x64):
    dts = {d for d, _ in key}
    all_weak = all(w for _, w in key)
    if len(key) == 1:
        d, weak = key[0]
    elif len(dts) == 1 and not all_weak:
        d, weak = key[0][0], False
    elif all_weak:
        # join the concrete dtypes, so e.g. weak float16 + 1 stays (weak) float16
        d, weak = np.dtype(_join(frozenset(dts), x64)), True
    else:
        n = _join(frozenset(_weak_node(d) if w else d for d, w in key), x64)
        weak = isinstance(n, type)  # not `n in (int, float, complex)`: dtype('c16') == complex
        d = _canon(np.dtype(n), x64) if weak else n
    return d, weak and d != b1


def result_type_and_weak(*items):
    """The (dtype, weak_type) an operation mixing `items` computes in (JAX's promote_dtypes).

    A weak result keeps its concrete dtype here: weak float16 + 1 -> (float16, True).
    """
    if not items:
        raise ValueError("at least one array or dtype is required")
    return _lattice_result(tuple(_dtype_and_weak(x) for x in items), config.x64)


lattice_result_type = result_type_and_weak


def result_type(*items) -> np.dtype:
    """jnp.result_type: like result_type_and_weak, but a weak result becomes its kind's default."""
    d, weak = result_type_and_weak(*items)
    if weak:
        kind = "f" if d in _CUSTOM_FLOATS else d.kind
        d = {"i": default_int_dtype, "u": default_uint_dtype, "f": default_float_dtype,
             "c": default_complex_dtype}[kind]()
    return d


# ---------------------------------------------------------------------------------------------
# convert_element_type reference semantics (XLA on CPU): float->int saturates and NaN -> 0;
# complex->real keeps the real part; anything->bool is `!= 0`; int->int wraps.

def astype_numpy(x, dtype) -> np.ndarray:
    if not hasattr(x, "dtype"):       # (CuPy arrays stay on the device: the cuda platform runs this too)
        x = np.asarray(x)
    to = _to_dtype(dtype)
    frm = x.dtype
    if frm == to:
        return x
    if to == float0:
        return np.zeros(x.shape, float0)
    if is_complex(frm) and not is_complex(to):
        x = x.real
        frm = x.dtype
    if to == b1:
        return x != 0
    if to == bf and frm != f4:
        # XLA converts to bfloat16 through float32 (two roundings: float64 1.0039062509313226 ->
        # 1.00390625 -> 1.0). ml_dtypes rounds once since 0.7, so never hand it another source.
        x, frm = x.astype(np.float32), f4
    with np.errstate(all="ignore"):
        if is_float(frm) and is_int(to):
            t = np.trunc(x.astype(np.float64) if frm.itemsize < 4 or frm in _CUSTOM_FLOATS else x)
            info = ml_dtypes.iinfo(to)
            hi, lo = float(info.max) + 1.0, float(info.min)  # powers of two: exact in any float
            over, under = t >= hi, ~(t >= lo)  # NaN lands in `under`; fixed below
            nan = np.isnan(t)
            out = np.where(over | under, 0, t).astype(to)
            out = np.where(over, to.type(info.max), out)
            out = np.where(under & ~nan, to.type(info.min), out)
            return out.astype(to, copy=False)
        return x.astype(to)
