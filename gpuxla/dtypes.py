"""gpuxla.dtypes: dtype helpers, as `jax.dtypes`.

>>> from gpuxla import dtypes
>>> dtypes.canonicalize_dtype("float64")    # float32 unless jax_enable_x64
dtype('float32')
>>> import numpy as np
>>> dtypes.issubdtype(dtypes.bfloat16, np.floating)
True
"""
import ml_dtypes
import numpy as np

from .core import dtypes as _d

__all__ = ["TypePromotionError", "bfloat16", "canonicalize_dtype", "finfo", "float0", "iinfo", "issubdtype",
           "itemsize_bits", "result_type", "scalar_type_of", "extended", "prng_key"]

TypePromotionError = _d.TypePromotionError
bfloat16 = _d.bfloat16
float0 = _d.float0
finfo, iinfo = _d.finfo, _d.iinfo
extended, prng_key = _d.extended, _d.prng_key       # abstract scalar classes: typed keys' dtype is a prng_key


def canonicalize_dtype(dtype, allow_extended_dtype=False):
    """The dtype gpuxla computes in for `dtype`: 64-bit types become 32-bit ones unless
    `jax_enable_x64` is set."""
    return _d.canonicalize_dtype(dtype)


def issubdtype(a, b):
    """np.issubdtype that knows bfloat16/float8 are floating and int4 is an integer."""
    from .numpy import issubdtype as jnp_issubdtype
    return jnp_issubdtype(a, b)


def result_type(*args, return_weak_type_flag=False):
    """JAX's promotion of `args` (arrays, dtypes, Python scalars, which are weakly typed)."""
    if return_weak_type_flag:
        d, weak = _d.result_type_and_weak(*args)
        return (_d.result_type(*args), weak)
    return _d.result_type(*args)


def scalar_type_of(x):
    """The Python scalar type of `x`'s dtype: bool, int, float or complex."""
    dt = np.dtype(getattr(x, "dtype", None) or _d.scalar_dtype_for_value(x))
    if dt == np.bool_:
        return bool
    if _d.is_int(dt):
        return int
    if _d.is_complex(dt):
        return complex
    if _d.is_float(dt):
        return float
    raise TypeError(f"Invalid scalar value {x!r}")


def itemsize_bits(dtype):
    """Bits per element: 4 for int4, 16 for bfloat16."""
    dt = np.dtype(dtype)
    return 4 if dt in (np.dtype(ml_dtypes.int4), np.dtype(ml_dtypes.uint4)) else dt.itemsize * 8
