"""gpuxla.core.dtypes against reference values recorded from JAX 0.10.2 (jaxlib CPU).

The tables below were produced by running real JAX once and are baked in as data; gpuxla never
imports jax. The x64 variants run in a subprocess because jax_enable_x64 is process-global.
"""
import os
import subprocess
import sys
import warnings

import ml_dtypes
import numpy as np
import pytest

from gpuxla.core import dtypes as D

NAN, INF = float("nan"), float("inf")
DT = {"b1": np.bool_, "u8": np.uint8, "u16": np.uint16, "u32": np.uint32, "u64": np.uint64,
      "i8": np.int8, "i16": np.int16, "i32": np.int32, "i64": np.int64, "bf16": ml_dtypes.bfloat16,
      "f16": np.float16, "f32": np.float32, "f64": np.float64, "c64": np.complex64, "c128": np.complex128}
WEAK = {"i*": int, "f*": float, "c*": complex}


class Arr:
    """Stands in for a gpuxla Array: only .dtype and .weak_type matter to promotion."""
    def __init__(self, dtype, weak):
        self.dtype, self.weak_type = np.dtype(dtype), weak


def short(d):
    return "b1" if d == np.bool_ else D.dtype_short_name(d)


# jnp.promote_types(row, col) from JAX 0.10.2; i*/f*/c* are the Python types int/float/complex
PROMOTE_COLS = 'b1 u8 u16 u32 u64 i8 i16 i32 i64 bf16 f16 f32 f64 c64 c128 i* f* c*'
PROMOTE_X32 = """
b1   b1   u8   u16  u32  u64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
u8   u8   u8   u16  u32  u64  i16  i16  i32  i64  bf16 f16  f32  f64  c64  c128 u8   f64  c128
u16  u16  u16  u16  u32  u64  i32  i32  i32  i64  bf16 f16  f32  f64  c64  c128 u16  f64  c128
u32  u32  u32  u32  u32  u64  i32  i32  i32  i64  bf16 f16  f32  f64  c64  c128 u32  f64  c128
u64  u64  u64  u64  u64  u64  f64  f64  f64  f64  bf16 f16  f32  f64  c64  c128 u64  f64  c128
i8   i8   i16  i32  i32  f64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i8   f64  c128
i16  i16  i16  i32  i32  f64  i16  i16  i32  i64  bf16 f16  f32  f64  c64  c128 i16  f64  c128
i32  i32  i32  i32  i32  f64  i32  i32  i32  i64  bf16 f16  f32  f64  c64  c128 i32  f64  c128
i64  i64  i64  i64  i64  f64  i64  i64  i64  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 f32  f32  f64  c64  c128 bf16 bf16 c64
f16  f16  f16  f16  f16  f16  f16  f16  f16  f16  f32  f16  f32  f64  c64  c128 f16  f16  c64
f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f64  c64  c128 f32  f32  c64
f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  c128 c128 f64  f64  c128
c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c128 c64  c128 c64  c64  c64
c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128
i*   i64  u8   u16  u32  u64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
f*   f64  f64  f64  f64  f64  f64  f64  f64  f64  bf16 f16  f32  f64  c64  c128 f64  f64  c128
c*   c128 c128 c128 c128 c128 c128 c128 c128 c128 c64  c64  c64  c128 c64  c128 c128 c128 c128
"""
PROMOTE_X64 = """
b1   b1   u8   u16  u32  u64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
u8   u8   u8   u16  u32  u64  i16  i16  i32  i64  bf16 f16  f32  f64  c64  c128 u8   f64  c128
u16  u16  u16  u16  u32  u64  i32  i32  i32  i64  bf16 f16  f32  f64  c64  c128 u16  f64  c128
u32  u32  u32  u32  u32  u64  i64  i64  i64  i64  bf16 f16  f32  f64  c64  c128 u32  f64  c128
u64  u64  u64  u64  u64  u64  f64  f64  f64  f64  bf16 f16  f32  f64  c64  c128 u64  f64  c128
i8   i8   i16  i32  i64  f64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i8   f64  c128
i16  i16  i16  i32  i64  f64  i16  i16  i32  i64  bf16 f16  f32  f64  c64  c128 i16  f64  c128
i32  i32  i32  i32  i64  f64  i32  i32  i32  i64  bf16 f16  f32  f64  c64  c128 i32  f64  c128
i64  i64  i64  i64  i64  f64  i64  i64  i64  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 bf16 f32  f32  f64  c64  c128 bf16 bf16 c64
f16  f16  f16  f16  f16  f16  f16  f16  f16  f16  f32  f16  f32  f64  c64  c128 f16  f16  c64
f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f32  f64  c64  c128 f32  f32  c64
f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  f64  c128 c128 f64  f64  c128
c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c64  c128 c64  c128 c64  c64  c64
c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128 c128
i*   i64  u8   u16  u32  u64  i8   i16  i32  i64  bf16 f16  f32  f64  c64  c128 i64  f64  c128
f*   f64  f64  f64  f64  f64  f64  f64  f64  f64  bf16 f16  f32  f64  c64  c128 f64  f64  c128
c*   c128 c128 c128 c128 c128 c128 c128 c128 c128 c64  c64  c64  c128 c64  c128 c128 c128 c128
"""
# Upper triangle of lattice_result_type(row, col) over the operands in LATTICE_*_KEYS order: entry
# m of row n is column n+m. "f32w" = (float32, weak); "/X" follows when jnp.result_type differs.
# The first column is the one-operand result. np:X = NumPy array, py:v = Python scalar,
# w:X = weakly-typed array of dtype X.
LATTICE_X32 = """
np:b1    b1       | b1    u8    u16   u32   u32   i8    i16   i32   i32   bf16  f16   f32   f32   c64   c64   b1    i32w  f32w  c64w  b1    i32w  i32w  i32w  i32w  i32w  i32w  f32w  f32w  f32w  c64w
np:u8    u8       | u8    u16   u32   u32   i16   i16   i32   i32   bf16  f16   f32   f32   c64   c64   u8    u8    f32w  c64w  u8    u8    u8    u8    u8    u8    u8    f32w  f32w  f32w  c64w
np:u16   u16      | u16   u32   u32   i32   i32   i32   i32   bf16  f16   f32   f32   c64   c64   u16   u16   f32w  c64w  u16   u16   u16   u16   u16   u16   u16   f32w  f32w  f32w  c64w
np:u32   u32      | u32   u32   i32   i32   i32   i32   bf16  f16   f32   f32   c64   c64   u32   u32   f32w  c64w  u32   u32   u32   u32   u32   u32   u32   f32w  f32w  f32w  c64w
np:u64   u32      | u32   i32   i32   i32   i32   bf16  f16   f32   f32   c64   c64   u32   u32   f32w  c64w  u32   u32   u32   u32   u32   u32   u32   f32w  f32w  f32w  c64w
np:i8    i8       | i8    i16   i32   i32   bf16  f16   f32   f32   c64   c64   i8    i8    f32w  c64w  i8    i8    i8    i8    i8    i8    i8    f32w  f32w  f32w  c64w
np:i16   i16      | i16   i32   i32   bf16  f16   f32   f32   c64   c64   i16   i16   f32w  c64w  i16   i16   i16   i16   i16   i16   i16   f32w  f32w  f32w  c64w
np:i32   i32      | i32   i32   bf16  f16   f32   f32   c64   c64   i32   i32   f32w  c64w  i32   i32   i32   i32   i32   i32   i32   f32w  f32w  f32w  c64w
np:i64   i32      | i32   bf16  f16   f32   f32   c64   c64   i32   i32   f32w  c64w  i32   i32   i32   i32   i32   i32   i32   f32w  f32w  f32w  c64w
np:bf16  bf16     | bf16  f32   f32   f32   c64   c64   bf16  bf16  bf16  c64   bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  c64
np:f16   f16      | f16   f32   f32   c64   c64   f16   f16   f16   c64   f16   f16   f16   f16   f16   f16   f16   f16   f16   f16   c64
np:f32   f32      | f32   f32   c64   c64   f32   f32   f32   c64   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   c64
np:f64   f32      | f32   c64   c64   f32   f32   f32   c64   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   c64
np:c64   c64      | c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64
np:c128  c64      | c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64
py:True  b1       | b1    i32w  f32w  c64w  b1    i32w  i32w  i32w  i32w  i32w  i32w  f32w  f32w  f32w  c64w
py:1     i32w     | i32w  f32w  c64w  i32w  i32w  i32w  i32w  i32w  i32w  i32w  bf16w/f32 f16w/f32 f32w  c64w
py:1.0   f32w     | f32w  c64w  f32w  f32w  f32w  f32w  f32w  f32w  f32w  f32w  f32w  f32w  c64w
py:1j    c64w     | c64w  c64w  c64w  c64w  c64w  c64w  c64w  c64w  c64w  c64w  c64w  c64w
w:b1     b1       | b1    u8w/u32 u16w/u32 u32w  i8w/i32 i16w/i32 i32w  bf16w/f32 f16w/f32 f32w  c64w
w:u8     u8w/u32  | u8w/u32 u16w/u32 u32w  i16w/i32 i16w/i32 i32w  bf16w/f32 f16w/f32 f32w  c64w
w:u16    u16w/u32 | u16w/u32 u32w  i32w  i32w  i32w  bf16w/f32 f16w/f32 f32w  c64w
w:u32    u32w     | u32w  i32w  i32w  i32w  bf16w/f32 f16w/f32 f32w  c64w
w:i8     i8w/i32  | i8w/i32 i16w/i32 i32w  bf16w/f32 f16w/f32 f32w  c64w
w:i16    i16w/i32 | i16w/i32 i32w  bf16w/f32 f16w/f32 f32w  c64w
w:i32    i32w     | i32w  bf16w/f32 f16w/f32 f32w  c64w
w:bf16   bf16w/f32| bf16w/f32 f32w  f32w  c64w
w:f16    f16w/f32 | f16w/f32 f32w  c64w
w:f32    f32w     | f32w  c64w
w:c64    c64w     | c64w
"""
LATTICE_X64 = """
np:b1    b1       | b1    u8    u16   u32   u64   i8    i16   i32   i64   bf16  f16   f32   f64   c64   c128  b1    i64w  f64w  c128w b1    i64w  i64w  i64w  i64w  i64w  i64w  i64w  i64w  f64w  f64w  f64w  f64w  c128w c128w
np:u8    u8       | u8    u16   u32   u64   i16   i16   i32   i64   bf16  f16   f32   f64   c64   c128  u8    u8    f64w  c128w u8    u8    u8    u8    u8    u8    u8    u8    u8    f64w  f64w  f64w  f64w  c128w c128w
np:u16   u16      | u16   u32   u64   i32   i32   i32   i64   bf16  f16   f32   f64   c64   c128  u16   u16   f64w  c128w u16   u16   u16   u16   u16   u16   u16   u16   u16   f64w  f64w  f64w  f64w  c128w c128w
np:u32   u32      | u32   u64   i64   i64   i64   i64   bf16  f16   f32   f64   c64   c128  u32   u32   f64w  c128w u32   u32   u32   u32   u32   u32   u32   u32   u32   f64w  f64w  f64w  f64w  c128w c128w
np:u64   u64      | u64   f64w  f64w  f64w  f64w  bf16  f16   f32   f64   c64   c128  u64   u64   f64w  c128w u64   u64   u64   u64   u64   u64   u64   u64   u64   f64w  f64w  f64w  f64w  c128w c128w
np:i8    i8       | i8    i16   i32   i64   bf16  f16   f32   f64   c64   c128  i8    i8    f64w  c128w i8    i8    i8    i8    i8    i8    i8    i8    i8    f64w  f64w  f64w  f64w  c128w c128w
np:i16   i16      | i16   i32   i64   bf16  f16   f32   f64   c64   c128  i16   i16   f64w  c128w i16   i16   i16   i16   i16   i16   i16   i16   i16   f64w  f64w  f64w  f64w  c128w c128w
np:i32   i32      | i32   i64   bf16  f16   f32   f64   c64   c128  i32   i32   f64w  c128w i32   i32   i32   i32   i32   i32   i32   i32   i32   f64w  f64w  f64w  f64w  c128w c128w
np:i64   i64      | i64   bf16  f16   f32   f64   c64   c128  i64   i64   f64w  c128w i64   i64   i64   i64   i64   i64   i64   i64   i64   f64w  f64w  f64w  f64w  c128w c128w
np:bf16  bf16     | bf16  f32   f32   f64   c64   c128  bf16  bf16  bf16  c64   bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  bf16  c64   c64
np:f16   f16      | f16   f32   f64   c64   c128  f16   f16   f16   c64   f16   f16   f16   f16   f16   f16   f16   f16   f16   f16   f16   f16   f16   c64   c64
np:f32   f32      | f32   f64   c64   c128  f32   f32   f32   c64   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   f32   c64   c64
np:f64   f64      | f64   c128  c128  f64   f64   f64   c128  f64   f64   f64   f64   f64   f64   f64   f64   f64   f64   f64   f64   f64   c128  c128
np:c64   c64      | c64   c128  c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64   c64
np:c128  c128     | c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128  c128
py:True  b1       | b1    i64w  f64w  c128w b1    i64w  i64w  i64w  i64w  i64w  i64w  i64w  i64w  f64w  f64w  f64w  f64w  c128w c128w
py:1     i64w     | i64w  f64w  c128w i64w  i64w  i64w  i64w  f64w  i64w  i64w  i64w  i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
py:1.0   f64w     | f64w  c128w f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  f64w  c128w c128w
py:1j    c128w    | c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w c128w
w:b1     b1       | b1    u8w/u64 u16w/u64 u32w/u64 u64w  i8w/i64 i16w/i64 i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:u8     u8w/u64  | u8w/u64 u16w/u64 u32w/u64 u64w  i16w/i64 i16w/i64 i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:u16    u16w/u64 | u16w/u64 u32w/u64 u64w  i32w/i64 i32w/i64 i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:u32    u32w/u64 | u32w/u64 u64w  i64w  i64w  i64w  i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:u64    u64w     | u64w  f64w  f64w  f64w  f64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:i8     i8w/i64  | i8w/i64 i16w/i64 i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:i16    i16w/i64 | i16w/i64 i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:i32    i32w/i64 | i32w/i64 i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:i64    i64w     | i64w  bf16w/f64 f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:bf16   bf16w/f64| bf16w/f64 f32w/f64 f32w/f64 f64w  c64w/c128 c128w
w:f16    f16w/f64 | f16w/f64 f32w/f64 f64w  c64w/c128 c128w
w:f32    f32w/f64 | f32w/f64 f64w  c64w/c128 c128w
w:f64    f64w     | f64w  c128w c128w
w:c64    c64w/c128| c64w/c128 c128w
w:c128   c128w    | c128w
"""


ASTYPE = {  # (source dtype, values) -> {target: lax.convert_element_type result}
    ('f32', (254.0, 255.0, 256.0, 257.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3000000000.0, -3000000000.0, 65520.0, 70000.0, -0.0, -128.89999389648438, 4294967040.0,)): {
        'b1': [True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, False, True, True],
        'u8': [254, 255, 255, 255, 0, 0, 255, 0, 0, 1, 2, 0, 255, 0, 255, 255, 0, 0, 255],
        'u16': [254, 255, 256, 257, 0, 0, 65535, 0, 0, 1, 2, 0, 65535, 0, 65520, 65535, 0, 0, 65535],
        'u32': [254, 255, 256, 257, 0, 0, 4294967295, 0, 0, 1, 2, 0, 3000000000, 0, 65520, 70000, 0, 0, 4294967040],
        'i8': [127, 127, 127, 127, -1, 0, 127, -128, 0, 1, 2, -2, 127, -128, 127, 127, 0, -128, 127],
        'i16': [254, 255, 256, 257, -1, 0, 32767, -32768, 0, 1, 2, -2, 32767, -32768, 32767, 32767, 0, -128, 32767],
        'i32': [254, 255, 256, 257, -1, 0, 2147483647, -2147483648, 0, 1, 2, -2, 2147483647, -2147483648, 65520, 70000, 0, -128, 2147483647],
        'u64': [254, 255, 256, 257, 0, 0, 18446744073709551615, 0, 0, 1, 2, 0, 3000000000, 0, 65520, 70000, 0, 0, 4294967040],
        'i64': [254, 255, 256, 257, -1, 0, 9223372036854775807, -9223372036854775808, 0, 1, 2, -2, 3000000000, -3000000000, 65520, 70000, 0, -128, 4294967040],
        'f16': [254.0, 255.0, 256.0, 257.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, INF, -INF, INF, INF, -0.0, -128.875, INF],
        'bf16': [254.0, 255.0, 256.0, 256.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3003121664.0, -3003121664.0, 65536.0, 70144.0, -0.0, -129.0, 4294967296.0],
    },
    ('f16', (254.0, 255.0, 256.0, 257.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, INF, -INF, INF, INF, -0.0, -128.875, INF,)): {
        'b1': [True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, False, True, True],
        'u8': [254, 255, 255, 255, 0, 0, 255, 0, 0, 1, 2, 0, 255, 0, 255, 255, 0, 0, 255],
        'i8': [127, 127, 127, 127, -1, 0, 127, -128, 0, 1, 2, -2, 127, -128, 127, 127, 0, -128, 127],
        'i16': [254, 255, 256, 257, -1, 0, 32767, -32768, 0, 1, 2, -2, 32767, -32768, 32767, 32767, 0, -128, 32767],
        'u32': [254, 255, 256, 257, 0, 0, 4294967295, 0, 0, 1, 2, 0, 4294967295, 0, 4294967295, 4294967295, 0, 0, 4294967295],
        'i32': [254, 255, 256, 257, -1, 0, 2147483647, -2147483648, 0, 1, 2, -2, 2147483647, -2147483648, 2147483647, 2147483647, 0, -128, 2147483647],
    },
    ('bf16', (254.0, 255.0, 256.0, 256.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3003121664.0, -3003121664.0, 65536.0, 70144.0, -0.0, -129.0, 4294967296.0,)): {
        'b1': [True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, False, True, True],
        'u8': [254, 255, 255, 255, 0, 0, 255, 0, 0, 1, 2, 0, 255, 0, 255, 255, 0, 0, 255],
        'i8': [127, 127, 127, 127, -1, 0, 127, -128, 0, 1, 2, -2, 127, -128, 127, 127, 0, -128, 127],
        'i16': [254, 255, 256, 256, -1, 0, 32767, -32768, 0, 1, 2, -2, 32767, -32768, 32767, 32767, 0, -129, 32767],
        'u32': [254, 255, 256, 256, 0, 0, 4294967295, 0, 0, 1, 2, 0, 3003121664, 0, 65536, 70144, 0, 0, 4294967295],
        'i32': [254, 255, 256, 256, -1, 0, 2147483647, -2147483648, 0, 1, 2, -2, 2147483647, -2147483648, 65536, 70144, 0, -129, 2147483647],
        'i64': [254, 255, 256, 256, -1, 0, 9223372036854775807, -9223372036854775808, 0, 1, 2, -2, 3003121664, -3003121664, 65536, 70144, 0, -129, 4294967296],
        'f16': [254.0, 255.0, 256.0, 256.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, INF, -INF, INF, INF, -0.0, -129.0, INF],
    },
    ('f64', (254.0, 255.0, 256.0, 257.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3000000000.0, -3000000000.0, 65520.0, 70000.0, -0.0, -128.9, 4294967040.0, 1.0039062509313226, 9.223372036854776e+18, -9.223372036854776e+18, 1.8446744073709552e+19, 1.0000001,)): {
        'b1': [True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, True, False, True, True, True, True, True, True, True],
        'u8': [254, 255, 255, 255, 0, 0, 255, 0, 0, 1, 2, 0, 255, 0, 255, 255, 0, 0, 255, 1, 255, 0, 255, 1],
        'u32': [254, 255, 256, 257, 0, 0, 4294967295, 0, 0, 1, 2, 0, 3000000000, 0, 65520, 70000, 0, 0, 4294967040, 1, 4294967295, 0, 4294967295, 1],
        'i32': [254, 255, 256, 257, -1, 0, 2147483647, -2147483648, 0, 1, 2, -2, 2147483647, -2147483648, 65520, 70000, 0, -128, 2147483647, 1, 2147483647, -2147483648, 2147483647, 1],
        'u64': [254, 255, 256, 257, 0, 0, 18446744073709551615, 0, 0, 1, 2, 0, 3000000000, 0, 65520, 70000, 0, 0, 4294967040, 1, 9223372036854775808, 0, 18446744073709551615, 1],
        'i64': [254, 255, 256, 257, -1, 0, 9223372036854775807, -9223372036854775808, 0, 1, 2, -2, 3000000000, -3000000000, 65520, 70000, 0, -128, 4294967040, 1, 9223372036854775807, -9223372036854775808, 9223372036854775807, 1],
        'f32': [254.0, 255.0, 256.0, 257.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3000000000.0, -3000000000.0, 65520.0, 70000.0, -0.0, -128.89999389648438, 4294967040.0, 1.00390625, 9.223372036854776e+18, -9.223372036854776e+18, 1.8446744073709552e+19, 1.0000001192092896],
        'bf16': [254.0, 255.0, 256.0, 256.0, -1.0, NAN, INF, -INF, -0.5, 1.5, 2.5, -2.5, 3003121664.0, -3003121664.0, 65536.0, 70144.0, -0.0, -129.0, 4294967296.0, 1.0, 9.223372036854776e+18, -9.223372036854776e+18, 1.8446744073709552e+19, 1.0],
    },
    ('i32', (-1, 0, 1, 127, 128, 255, 256, 300, -129, -32769, 65536, 2147483647, -2147483648, 16777217,)): {
        'b1': [True, False, True, True, True, True, True, True, True, True, True, True, True, True],
        'u8': [255, 0, 1, 127, 128, 255, 0, 44, 127, 255, 0, 255, 0, 1],
        'i8': [-1, 0, 1, 127, -128, -1, 0, 44, 127, -1, 0, -1, 0, 1],
        'u16': [65535, 0, 1, 127, 128, 255, 256, 300, 65407, 32767, 0, 65535, 0, 1],
        'u32': [4294967295, 0, 1, 127, 128, 255, 256, 300, 4294967167, 4294934527, 65536, 2147483647, 2147483648, 16777217],
        'f16': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32768.0, INF, INF, -INF, INF],
        'bf16': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32768.0, 65536.0, 2147483648.0, -2147483648.0, 16777216.0],
        'f32': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32769.0, 65536.0, 2147483648.0, -2147483648.0, 16777216.0],
    },
    ('u32', (4294967295, 0, 1, 127, 128, 255, 256, 300, 4294967167, 4294934527, 65536, 2147483647, 2147483648, 16777217,)): {
        'i32': [-1, 0, 1, 127, 128, 255, 256, 300, -129, -32769, 65536, 2147483647, -2147483648, 16777217],
        'i8': [-1, 0, 1, 127, -128, -1, 0, 44, 127, -1, 0, -1, 0, 1],
        'f32': [4294967296.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, 4294967040.0, 4294934528.0, 65536.0, 2147483648.0, 2147483648.0, 16777216.0],
        'bf16': [4294967296.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, 4294967296.0, 4294967296.0, 65536.0, 2147483648.0, 2147483648.0, 16777216.0],
    },
    ('i64', (-1, 0, 1, 127, 128, 255, 256, 300, -129, -32769, 65536, 2147483647, -2147483648, 16777217, 1099511627777, -9223372036854775808, 9223372036854775807,)): {
        'i32': [-1, 0, 1, 127, 128, 255, 256, 300, -129, -32769, 65536, 2147483647, -2147483648, 16777217, 1, 0, -1],
        'u32': [4294967295, 0, 1, 127, 128, 255, 256, 300, 4294967167, 4294934527, 65536, 2147483647, 2147483648, 16777217, 1, 0, 4294967295],
        'u64': [18446744073709551615, 0, 1, 127, 128, 255, 256, 300, 18446744073709551487, 18446744073709518847, 65536, 2147483647, 18446744071562067968, 16777217, 1099511627777, 9223372036854775808, 9223372036854775807],
        'f32': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32769.0, 65536.0, 2147483648.0, -2147483648.0, 16777216.0, 1099511627776.0, -9.223372036854776e+18, 9.223372036854776e+18],
        'bf16': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32768.0, 65536.0, 2147483648.0, -2147483648.0, 16777216.0, 1099511627776.0, -9.223372036854776e+18, 9.223372036854776e+18],
        'f16': [-1.0, 0.0, 1.0, 127.0, 128.0, 255.0, 256.0, 300.0, -129.0, -32768.0, INF, INF, -INF, INF, INF, -INF, INF],
    },
    ('c64', ((1.5+2j), (-1-1j), 1j, 0j, (300.70001220703125-5j), complex(NAN, 0),)): {
        'b1': [True, True, False, False, True, True],
        'f32': [1.5, -1.0, 0.0, 0.0, 300.70001220703125, NAN],
        'i32': [1, -1, 0, 0, 300, 0],
        'u8': [1, 0, 0, 0, 255, 0],
    },
}


def check_promote_table(x64):
    text = PROMOTE_X64 if x64 else PROMOTE_X32
    cols = PROMOTE_COLS.split()
    rows = [r.split() for r in text.strip().splitlines()]
    assert [r[0] for r in rows] == cols
    for r in rows:
        for c, want in zip(cols, r[1:]):
            got = D.promote_types(DT.get(r[0]) or WEAK[r[0]], DT.get(c) or WEAK[c])
            assert isinstance(got, np.dtype)
            assert short(got) == want, (r[0], c, x64)


def _operand(key):
    kind, v = key.split(":")
    if kind == "np":
        return np.zeros(1, DT[v])
    if kind == "py":
        return {"True": True, "1": 1, "1.0": 1.0, "1j": 1j}[v]
    return Arr(DT[v], True)


def _fmt(items):
    d, w = D.result_type_and_weak(*items)
    r = D.result_type(*items)
    s = short(d) + ("w" if w else "")
    return s if short(r) == short(d) else f"{s}/{short(r)}"


def check_lattice_table(x64):
    text = LATTICE_X64 if x64 else LATTICE_X32
    rows = [r.split("|") for r in text.strip().splitlines()]
    rows = [(*left.split(), right.split()) for left, right in rows]
    keys = [r[0] for r in rows]
    n_checked = 0
    for n, r in enumerate(rows):
        assert _fmt([_operand(r[0])]) == r[1], (r[0], x64)
        assert len(r[2]) == len(keys) - n
        for m, want in enumerate(r[2]):
            a, b = _operand(r[0]), _operand(keys[n + m])
            assert _fmt([a, b]) == want, (r[0], keys[n + m], x64)
            assert _fmt([b, a]) == want, (keys[n + m], r[0], x64)
            n_checked += 1
    assert n_checked == len(keys) * (len(keys) + 1) // 2


def check_x64_specifics():
    assert D.x64_enabled() and D.config.jax_enable_x64
    assert D.canonicalize_dtype(np.float64) == np.float64
    assert D.canonicalize_dtype(int) == np.int64 and D.canonicalize_dtype(float) == np.float64
    assert (D.default_float_dtype(), D.default_int_dtype(), D.default_uint_dtype(),
            D.default_complex_dtype()) == (np.float64, np.int64, np.uint64, np.complex128)
    assert D.scalar_dtype_for_value(1) == np.int64 and D.scalar_dtype_for_value(1.0) == np.float64
    # JAX quirk: uint64 x int64 meets at the weak float node, so the result comes out weak
    assert D.result_type_and_weak(np.uint64(1), np.int64(1)) == (np.float64, True)
    assert D.promote_types(np.uint32, np.int32) == np.int64
    assert D.result_type(np.int32(1), 1.0) == np.float64


def test_promote_table_x32():
    with D.enable_x64(False):
        check_promote_table(False)


def test_lattice_table_x32():
    with D.enable_x64(False):
        check_lattice_table(False)


def _run_with_env(code, **env):
    full = {**os.environ, "JAX_ENABLE_X64": "", "GPUXLA_ENABLE_X64": "", **env}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full["PYTHONPATH"] = os.pathsep.join([root, full.get("PYTHONPATH", "")])
    prog = f"import runpy; m = runpy.run_path({os.path.abspath(__file__)!r}); {code}"
    p = subprocess.run([sys.executable, "-c", prog], env=full, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout


def test_x64_tables_in_subprocess():
    out = _run_with_env("m['check_promote_table'](True); m['check_lattice_table'](True); "
                        "m['check_x64_specifics'](); print('done')", JAX_ENABLE_X64="1")
    assert out.strip() == "done"


@pytest.mark.parametrize("var,value,on", [("JAX_ENABLE_X64", "1", True), ("GPUXLA_ENABLE_X64", "true", True),
                                          ("GPUXLA_ENABLE_X64", "True", True), ("JAX_ENABLE_X64", "0", False),
                                          ("JAX_ENABLE_X64", "", False)])
def test_x64_env_vars(var, value, on):
    out = _run_with_env("from gpuxla.core import dtypes as D; print(D.config.jax_enable_x64, "
                        "D.canonicalize_dtype('float64'))", **{var: value})
    assert out.split() == [str(on), "float64" if on else "float32"]


def test_self_check_tables_can_fail():
    # the table checkers must notice a wrong entry (guards against a checker that passes vacuously)
    global PROMOTE_X32
    saved = PROMOTE_X32
    try:
        PROMOTE_X32 = saved.replace("u8   u8   u8   u16", "u8   u8   u8   u32", 1)
        with D.enable_x64(False), pytest.raises(AssertionError):
            check_promote_table(False)
    finally:
        PROMOTE_X32 = saved


# ---------------------------------------------------------------------------------------------
# named cases from the brief, readable on their own

def test_promote_types_examples():
    with D.enable_x64(False):
        assert D.promote_types(np.int8, np.uint8) == np.int16
        assert D.promote_types(np.uint64, np.int8) == np.float64
        assert D.promote_types(D.bfloat16, np.float16) == np.float32
        assert D.promote_types(np.int32, np.float16) == np.float16
        assert D.promote_types("uint8", int) == np.uint8
        assert D.promote_types("float16", float) == np.float16
        assert D.promote_types(int, float) == np.float64      # not canonicalised, as in JAX
        assert D.promote_types(np.int64, np.int32) == np.int64
        assert D.promote_types(np.uint32, np.int32) == np.int32  # x32 lattice: no int64 from 32-bit


def test_weak_types():
    with D.enable_x64(False):
        u8 = np.zeros(3, np.uint8)
        assert D.result_type_and_weak(u8, 3) == (np.uint8, False)
        assert D.result_type_and_weak(np.int32(1), 1.0) == (np.float32, True)   # weak float survives
        assert D.result_type_and_weak(1, 2.0) == (np.float32, True)
        assert D.result_type_and_weak(True, 1) == (np.int32, True)
        assert D.result_type_and_weak(True) == (np.bool_, False)
        assert D.result_type_and_weak(Arr(np.bool_, True), 1) == (np.int32, True)
        assert D.result_type_and_weak(Arr(np.bool_, True)) == (np.bool_, False)  # bool is never weak
        wf16 = Arr(np.float16, True)
        assert D.result_type_and_weak(wf16, 1) == (np.float16, True)
        assert D.result_type(wf16, 1) == np.float32 and D.result_type(wf16) == np.float32
        assert D.result_type_and_weak(wf16, np.float16(1)) == (np.float16, False)
        assert D.result_type_and_weak(Arr(np.uint8, True), 1) == (np.int32, True)
        assert D.result_type(Arr(np.uint8, True)) == np.uint32
        assert D.result_type_and_weak(np.zeros(1, D.bfloat16), 1j) == (np.complex64, False)
        assert D.result_type_and_weak(u8, 1j) == (np.complex64, True)
        # Python types count as weak, like Python scalars; None means the default float
        assert D.result_type(int, np.int8) == np.int8 and D.result_type(float, np.int8) == np.float32
        assert D.result_type(int) == np.int32 and D.result_type(None) == np.float32
        # NumPy inputs are canonicalised before the join; gpuxla arrays are not (x64 values stay x64)
        assert D.result_type_and_weak(np.uint64(1), np.int64(1)) == (np.int32, False)
        assert D.result_type_and_weak(Arr(np.int64, False), Arr(np.int32, False)) == (np.int64, False)
        assert D.result_type_and_weak(np.float64(1.0), 1) == (np.float32, False)
        with pytest.raises(ValueError):
            D.result_type()


def test_no_promotion_path():
    f8 = ml_dtypes.float8_e4m3fn
    for a, b in [(f8, np.float16), (f8, ml_dtypes.float8_e5m2), (ml_dtypes.int4, ml_dtypes.uint4),
                 (ml_dtypes.int4, np.int8)]:
        with pytest.raises(D.TypePromotionError, match="no available implicit dtype promotion"):
            D.promote_types(a, b)
    assert issubclass(D.TypePromotionError, ValueError)
    assert D.promote_types(f8, float) == f8 and D.promote_types(f8, f8) == f8
    assert D.result_type(np.zeros(1, f8), 1.0) == f8


# ---------------------------------------------------------------------------------------------
# config, canonicalisation and helpers

def test_config_update_toggles_and_restores():
    old = D.config.jax_enable_x64
    try:
        D.config.update("jax_enable_x64", True)
        assert D.config.jax_enable_x64 and D.config.read("jax_enable_x64")
        assert D.canonicalize_dtype(np.int64) == np.int64 and D.result_type(1.0) == np.float64
        D.config.update("jax_enable_x64", False)
        assert D.canonicalize_dtype(np.int64) == np.int32 and D.result_type(1.0) == np.float32
        with D.enable_x64():
            assert D.default_int_dtype() == np.int64
        assert D.default_int_dtype() == np.int32
    finally:
        D.config.update("jax_enable_x64", old)
    assert D.config.jax_threefry_partitionable is True
    assert D.config.jax_default_matmul_precision is None
    with pytest.raises(AttributeError, match="jax_no_such_flag"):
        D.config.update("jax_no_such_flag", 1)
    with pytest.raises(AttributeError, match="jax_no_such_flag"):
        D.config.jax_no_such_flag
    with pytest.raises(AttributeError):
        D.config.jax_enable_x64 = True


def test_canonicalize_x32():
    with D.enable_x64(False):
        cases = {np.float64: np.float32, np.int64: np.int32, np.uint64: np.uint32,
                 np.complex128: np.complex64, float: np.float32, int: np.int32, bool: np.bool_,
                 complex: np.complex64, "float64": np.float32, "bfloat16": D.bfloat16,
                 np.dtype("int16"): np.int16, np.uint8: np.uint8, D.bfloat16: D.bfloat16}
        for src, want in cases.items():
            got = D.canonicalize_dtype(src)
            assert isinstance(got, np.dtype) and got == want, src
        assert (D.default_float_dtype(), D.default_int_dtype(), D.default_uint_dtype(),
                D.default_complex_dtype()) == (np.float32, np.int32, np.uint32, np.complex64)
        assert [D.scalar_dtype_for_value(v) for v in (True, 3, 3.0, 3j)] == \
            [np.bool_, np.int32, np.float32, np.complex64]
        with pytest.raises(TypeError):
            D.scalar_dtype_for_value("3")

    class ScalarMeta:  # a jnp.float32-style scalar class carrying .dtype
        dtype = np.dtype(np.float16)
    assert D.canonicalize_dtype(ScalarMeta) == np.float16


def test_short_names():
    want = "f32 f64 f16 bf16 i8 i16 i32 i64 u8 u16 u32 u64 bool c64 c128 float0".split()
    dts = [np.float32, np.float64, np.float16, D.bfloat16, np.int8, np.int16, np.int32, np.int64,
           np.uint8, np.uint16, np.uint32, np.uint64, np.bool_, np.complex64, np.complex128, D.float0]
    assert [D.dtype_short_name(d) for d in dts] == want
    assert D.float0 == np.dtype([("float0", np.void, 0)]) and D.float0.itemsize == 0
    assert D.bfloat16 is ml_dtypes.bfloat16


def test_predicates():
    kinds = {"b1": "b", "u8": "u", "u64": "u", "i8": "i", "i64": "i", "bf16": "f", "f16": "f",
             "f64": "f", "c64": "c", "c128": "c"}
    for name, k in kinds.items():
        d = np.dtype(DT[name])
        assert D.is_bool(d) == (k == "b") and D.is_unsigned(d) == (k == "u")
        assert D.is_int(d) == (k in "iu") and D.is_float(d) == (k == "f")
        assert D.is_complex(d) == (k == "c") and D.is_inexact(d) == (k in "fc")
    assert D.is_float(ml_dtypes.float8_e4m3fn) and D.is_int(ml_dtypes.int4)


def test_issubdtype():
    bf = D.bfloat16
    for abstract, want in [(np.floating, True), (np.inexact, True), (np.number, True),
                           (np.generic, True), (np.integer, False), (np.complexfloating, False)]:
        assert D.issubdtype(bf, abstract) == want, abstract
    assert D.issubdtype(bf, bf) and not D.issubdtype(bf, np.float16)
    assert not D.issubdtype(np.float16, bf)
    assert D.issubdtype(ml_dtypes.int4, np.integer) and D.issubdtype(ml_dtypes.int4, np.signedinteger)
    assert D.issubdtype(ml_dtypes.uint4, np.unsignedinteger)
    assert D.issubdtype(np.float32, np.floating) and D.issubdtype(np.int8, np.integer)
    assert not D.issubdtype(np.int8, np.floating) and D.issubdtype(np.bool_, np.bool_)
    assert not D.issubdtype(np.bool_, np.integer) and D.issubdtype(np.complex64, np.inexact)


def test_finfo_iinfo():
    fi = D.finfo(D.bfloat16)
    assert float(fi.eps) == 2.0 ** -7 and float(fi.max) == 3.3895313892515355e38 and fi.bits == 16
    assert float(D.finfo(np.float16).max) == 65504.0 and float(D.finfo("float32").eps) == 2.0 ** -23
    assert (D.iinfo(np.int8).min, D.iinfo(np.uint16).max, D.iinfo(ml_dtypes.int4).min) == (-128, 65535, -8)


# ---------------------------------------------------------------------------------------------
# convert_element_type reference semantics


def _vals_equal(got, want):
    if isinstance(want, complex) or isinstance(got, complex):
        return _vals_equal(complex(got).real, complex(want).real) and _vals_equal(complex(got).imag, complex(want).imag)
    if isinstance(want, float) and want != want:
        return got != got
    if isinstance(want, float) and want == 0.0:
        return got == 0.0 and np.signbit(got) == np.signbit(want)
    return got == want and type(got) is type(want)


def test_astype_matches_jax():
    n = 0
    for (src, values), targets in ASTYPE.items():
        x = np.array(values, DT[src])
        for tgt, want in targets.items():
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no RuntimeWarning from NaN/overflow casts
                out = D.astype_numpy(x, DT[tgt])
            assert out.dtype == np.dtype(DT[tgt]) and out.shape == x.shape
            got = (out.astype(np.float32) if tgt == "bf16" else out).tolist()
            bad = [(v, g, w) for v, g, w in zip(values, got, want) if not _vals_equal(g, w)]
            assert not bad, (src, tgt, bad)
            n += 1
    assert n == sum(len(t) for t in ASTYPE.values())


def test_astype_edges():
    x = np.array([254., 255., 256., 257., -1., NAN, INF], np.float32)
    assert D.astype_numpy(x, np.uint8).tolist() == [254, 255, 255, 255, 0, 0, 255]
    assert D.astype_numpy(np.array([3e9, -3e9, NAN], np.float32), np.int32).tolist() == \
        [2147483647, -2147483648, 0]
    assert D.astype_numpy(np.array([300, -1], np.int32), np.uint8).tolist() == [44, 255]  # ints wrap
    assert D.astype_numpy(np.array([0.5j, 0j]), np.bool_).tolist() == [False, False]  # real part only
    assert D.astype_numpy(np.array([NAN, 0.0, -0.0]), bool).tolist() == [True, False, False]
    assert D.astype_numpy(np.zeros((2, 3)), D.float0).dtype == D.float0
    x = np.arange(3, dtype=np.float32)
    assert D.astype_numpy(x, np.float32) is x
    assert D.astype_numpy(np.zeros((2, 0)), np.int8).shape == (2, 0)
    assert D.astype_numpy(np.float32(2.5), np.int32).shape == ()
