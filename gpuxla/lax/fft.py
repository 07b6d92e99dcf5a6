"""FFTs and the minimal complex primitives (lax.fft, lax.real/imag/complex/conj).

complex64/complex128 exist for the FFTs' inputs and outputs and the elementwise arithmetic the
NumPy backend does on them; these primitives split and join them:
  fft(x; fft_type, fft_lengths)   over the trailing len(fft_lengths) axes; FFT/IFFT complex->complex,
                                  RFFT real->complex (last axis n//2+1), IRFFT complex->real
  real(z), imag(z)                complex -> real
  complex(x, y)                   x + i y
  conj(z)
Their shape rules and NumPy implementations live here; derivative and batching rules are
registered by gpuxla/numpy/fft.py (imported with gpuxla.numpy). All four are linear, and their
transposes follow JAX's convention (the bilinear pairing Re(u v)), so gradients of real
functions through complex intermediates agree with JAX's.
"""
import enum

import numpy as np

from ..core import dtypes
from ..core.graph import Aval, Primitive, shape_rules
from ..backends.numpy.reference import impl_rules
from ..backends.cuda.library import library_rules

# `complex` is not star-exported: gpuxla/lax/__init__.py uses the builtin of that name.
__all__ = ["FftType", "fft", "real", "imag", "conj"]


class FftType(enum.IntEnum):
    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


fft_p = Primitive("fft")
real_p = Primitive("real")
imag_p = Primitive("imag")
complex_p = Primitive("complex")
conj_p = Primitive("conj")
FFT_PRIMITIVES = (fft_p, real_p, imag_p, complex_p, conj_p)

_REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}
_COMPLEX_OF = {v: k for k, v in _REAL_OF.items()}


def _fft_rule(avals, fft_type, fft_lengths):
    (a,) = avals
    k = len(fft_lengths)
    name = FftType(fft_type).name
    if not 1 <= k <= 3 or a.ndim < k:
        raise ValueError(f"fft: fft_lengths {fft_lengths} must name 1 to 3 trailing axes of {a.str_short()}")
    if name == "RFFT":
        if a.dtype not in _COMPLEX_OF or a.shape[-k:] != tuple(fft_lengths):
            raise TypeError(f"fft (RFFT): operand must be float32/float64 with trailing shape {tuple(fft_lengths)}, "
                            f"got {a.str_short()}")
        return Aval(a.shape[:-1] + (fft_lengths[-1] // 2 + 1,), _COMPLEX_OF[a.dtype])
    if a.dtype not in _REAL_OF:
        raise TypeError(f"fft ({name}): operand must be complex64/complex128, got {a.str_short()}")
    if name == "IRFFT":
        if a.shape[-k:-1] != tuple(fft_lengths[:-1]) or a.shape[-1] != fft_lengths[-1] // 2 + 1:
            raise TypeError(f"fft (IRFFT): operand {a.str_short()} must have trailing shape "
                            f"{tuple(fft_lengths[:-1]) + (fft_lengths[-1] // 2 + 1,)} for fft_lengths {fft_lengths}")
        return Aval(a.shape[:-1] + (fft_lengths[-1],), _REAL_OF[a.dtype])
    if a.shape[-k:] != tuple(fft_lengths):
        raise TypeError(f"fft ({name}): operand {a.str_short()} must have trailing shape {tuple(fft_lengths)}")
    return Aval(a.shape, a.dtype)


def _complex_only(name):
    def rule(avals):
        (a,) = avals
        if a.dtype not in _REAL_OF:
            raise TypeError(f"{name} takes a complex64/complex128 operand, got {a.str_short()}")
        return Aval(a.shape, _REAL_OF[a.dtype] if name != "conj" else a.dtype, a.weak_type)
    return rule


def _complex_rule(avals):
    x, y = avals
    if x.dtype != y.dtype or x.dtype not in _COMPLEX_OF:
        raise TypeError(f"complex takes two float32 or two float64 operands, got {x.str_short()}, {y.str_short()}")
    shapes = [s for s in (x.shape, y.shape) if s != ()]
    if len(shapes) == 2 and shapes[0] != shapes[1]:
        raise TypeError(f"complex got incompatible shapes {x.str_short()}, {y.str_short()}")
    return Aval(shapes[0] if shapes else (), _COMPLEX_OF[x.dtype], x.weak_type and y.weak_type)


shape_rules.update({fft_p: _fft_rule, real_p: _complex_only("real"), imag_p: _complex_only("imag"),
                    conj_p: _complex_only("conj"), complex_p: _complex_rule})


def _fft_np(x, fft_type, fft_lengths):
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    name = FftType(fft_type).name
    if name == "FFT":
        out = np.fft.fftn(x, axes=axes)
    elif name == "IFFT":
        out = np.fft.ifftn(x, axes=axes)
    elif name == "RFFT":
        out = np.fft.rfftn(x, axes=axes)
    else:
        out = np.fft.irfftn(x, s=fft_lengths, axes=axes)
    return out.astype(shape_rules[fft_p]([Aval(x.shape, x.dtype)], fft_type, fft_lengths).dtype)


impl_rules.update({
    fft_p: _fft_np,
    real_p: lambda z: np.ascontiguousarray(np.real(z)),
    imag_p: lambda z: np.ascontiguousarray(np.imag(z)),
    conj_p: np.conj,
    complex_p: lambda x, y: (x + 1j * y).astype(_COMPLEX_OF[x.dtype]),
})


def _cupy_fft(x, fft_type, fft_lengths):
    import cupy
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    name = FftType(fft_type).name
    fn = {"FFT": cupy.fft.fftn, "IFFT": cupy.fft.ifftn, "RFFT": cupy.fft.rfftn}.get(name)
    return fn(x, axes=axes) if fn else cupy.fft.irfftn(x, s=fft_lengths, axes=axes)


# The cuda platform calls these as library calls (cuFFT through CuPy).
library_rules.update({fft_p: _cupy_fft,
                      real_p: lambda z: __import__("cupy").ascontiguousarray(z.real),
                      imag_p: lambda z: __import__("cupy").ascontiguousarray(z.imag),
                      conj_p: lambda z: z.conj(),
                      complex_p: lambda x, y: x + 1j * y})


# --- lax functions ---------------------------------------------------------------------------------
def _lax():
    from .. import lax
    return lax


def fft(x, fft_type, fft_lengths):
    """lax.fft: an FFT over the trailing len(fft_lengths) axes. fft_type is a FftType or its name."""
    lax = _lax()
    x = lax.asarray(x)
    t = FftType[fft_type.upper()] if isinstance(fft_type, str) else FftType(fft_type)
    lengths = tuple(int(n) for n in fft_lengths)
    if t.name in ("FFT", "IFFT", "IRFFT") and not dtypes.is_complex(x.dtype):
        x = lax.convert_element_type(x, _COMPLEX_OF.get(x.dtype, dtypes.default_complex_dtype()))
    if t.name == "RFFT" and x.dtype not in _COMPLEX_OF:
        if dtypes.is_complex(x.dtype):
            raise TypeError(f"fft (RFFT) takes a real operand, got {x.aval.str_short()}")
        x = lax.convert_element_type(x, dtypes.default_float_dtype() if x.dtype.itemsize < 4 or x.dtype.kind != "f"
                                     else x.dtype)
    return fft_p.bind(x, fft_type=int(t), fft_lengths=lengths)


def real(x):
    x = _lax().asarray(x)
    return real_p.bind(x) if dtypes.is_complex(x.dtype) else x


def imag(x):
    lax = _lax()
    x = lax.asarray(x)
    return imag_p.bind(x) if dtypes.is_complex(x.dtype) else lax.full_like(x, 0)


def conj(x):
    x = _lax().asarray(x)
    return conj_p.bind(x) if dtypes.is_complex(x.dtype) else x


def complex(x, y):
    lax = _lax()
    x, y = lax._operands(x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"lax.complex requires arguments of the same dtype, got {x.dtype.name} and {y.dtype.name}")
    return complex_p.bind(x, y)
