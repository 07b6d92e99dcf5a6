"""C spelling of values: the types, literals, conversions and loads/stores kernels compute with.

Every value of a generated kernel is a C expression of its *compute* type (`ctype`): 16-bit floats
compute in float32 and are rounded back after each operation (`round_low`), as NumPy rounds each
op; they are stored as their 16-bit bit patterns (`stype`). The `gx_*` functions named here are
defined in gpuxla/kernels/gx_common.cuh.
"""
import re

import numpy as np

from ..core import dtypes

F16, BF16 = np.dtype(np.float16), np.dtype(dtypes.bfloat16)
F32, F64 = np.dtype(np.float32), np.dtype(np.float64)
LOW = (F16, BF16)
BOOL = np.dtype(np.bool_)
I64 = np.dtype(np.int64)


def supported_dtype(dt):
    """Whether kernels can compute in `dt` (an op on any other dtype becomes a library call)."""
    dt = np.dtype(dt)
    return dt == BOOL or dt.kind in "iu" or dt in (F32, F64) or dt in LOW


def ctype(dt):
    """The C type values of `dt` are computed in (16-bit floats compute in float32)."""
    dt = np.dtype(dt)
    if dt == BOOL:
        return "bool"
    if dt.kind in "iu":
        return f"gx_{dt.kind}{8 * dt.itemsize}"
    if dt == F64:
        return "double"
    if dt == F32 or dt in LOW:
        return "float"
    raise NotImplementedError(f"CUDA code generation does not support dtype {dt.name}")


def stype(dt):
    """The C type values of `dt` are stored as."""
    dt = np.dtype(dt)
    return "gx_f16" if dt == F16 else "gx_bf16" if dt == BF16 else ctype(dt)


def low_suffix(dt):
    """The name of a 16-bit float format in the gx_* conversion functions."""
    return "f16" if np.dtype(dt) == F16 else "bf16"


def round_low(expr, dt):
    """Round a float32 expression to `dt` when `dt` is a 16-bit float (as NumPy rounds each op)."""
    dt = np.dtype(dt)
    if dt in LOW:
        return f"gx_{low_suffix(dt)}_to_f32(gx_f32_to_{low_suffix(dt)}({expr}))"
    return expr


def load_expr(ref, dt):
    dt = np.dtype(dt)
    return f"gx_{low_suffix(dt)}_to_f32({ref})" if dt in LOW else ref


def store_expr(value, dt):
    dt = np.dtype(dt)
    return f"gx_f32_to_{low_suffix(dt)}({value})" if dt in LOW else value


def literal(value, dt):
    """A C literal of compute type for a NumPy scalar `value` of dtype `dt`."""
    dt = np.dtype(dt)
    v = np.asarray(value).astype(dt).reshape(())
    if dt == BOOL:
        return "true" if bool(v) else "false"
    if dt.kind in "iu":
        iv, t = int(v), ctype(dt)
        if dt.itemsize == 8:
            if iv == -2 ** 63:
                return "((gx_i64)(-9223372036854775807LL - 1))"
            return f"(({t}){iv}{'ULL' if dt.kind == 'u' else 'LL'})"
        if iv == -2 ** 31:
            return f"(({t})(-2147483647 - 1))"
        return f"(({t}){iv}{'u' if dt.kind == 'u' else ''})"
    f = float(np.asarray(v, np.float64))
    dbl = dt == F64
    if np.isnan(f):
        return "gx_nan_f64()" if dbl else "gx_nan_f32()"
    if np.isinf(f):
        s = "gx_inf_f64()" if dbl else "gx_inf_f32()"
        return s if f > 0 else f"(-{s})"
    s = repr(f) if dbl else str(np.float32(f))
    if "e" not in s and "." not in s and "inf" not in s:
        s += ".0"
    s = s if dbl else s + "f"
    return f"({s})" if s.startswith("-") else s


def convert_expr(x, src, dst):
    """convert_element_type of a compute-type expression (saturating float->int, as XLA)."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return x
    if dst == BOOL:
        return f"({x} != 0)"
    if dst in LOW:
        if src == F32 or src in LOW:
            return round_low(x, dst)
        if dst == BF16:   # through float32, as XLA (and the NumPy backend) convert to bfloat16
            return round_low(f"gx_convert<float, {ctype(src)}>({x})", dst)
        return f"gx_{low_suffix(dst)}_to_f32(gx_f64_to_{low_suffix(dst)}((double){x}))"
    return f"gx_convert<{ctype(dst)}, {ctype(src)}>({x})"


def bitcast_expr(x, src, dst):
    """bitcast_convert_type of a compute-type expression between dtypes of the same width."""
    src, dst = np.dtype(src), np.dtype(dst)
    if src == dst:
        return x
    n = src.itemsize
    # To an integer bit pattern first ...
    if src in LOW:
        bits = f"((gx_u16)gx_f32_to_{low_suffix(src)}({x}))"
    elif src == F32:
        bits = f"((gx_u32)__float_as_uint({x}))"
    elif src == F64:
        bits = f"((gx_u64)__double_as_longlong({x}))"
    else:
        bits = f"((gx_u{8 * n})({x}))"
    # ... then to the destination.
    if dst in LOW:
        return f"gx_{low_suffix(dst)}_to_f32((gx_u16){bits})"
    if dst == F32:
        return f"__uint_as_float((gx_u32){bits})"
    if dst == F64:
        return f"__longlong_as_double((long long){bits})"
    if dst == BOOL:
        return f"({bits} != 0)"
    return f"(({ctype(dst)}){bits})"


# Expressions that need neither parentheses nor a let binding of their own.
ATOM = re.compile(r"^(?:[A-Za-z_]\w*|\d+|\(?-?\d+\.\d*(?:e[-+]?\d+)?f?\)?|true|false)$")


def paren(e):
    return e if ATOM.match(e) else f"({e})"
