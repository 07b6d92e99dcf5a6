"""FFTs and the minimal complex primitives (lax.fft, lax.real/imag/complex/conj), with their
derivative and batching rows.

complex64/complex128 exist for the FFTs' inputs and outputs and the elementwise arithmetic the
NumPy backend does on them; the primitives (core/extensions.py) split and join them:
  fft(x; fft_type, fft_lengths)   over the trailing len(fft_lengths) axes; FFT/IFFT complex->complex,
                                  RFFT real->complex (last axis n//2+1), IRFFT complex->real
  real(z), imag(z)                complex -> real
  complex(x, y)                   x + i y
  conj(z)
All five are linear, and their transposes follow JAX's convention (the bilinear pairing
Re(u v)), so gradients of real functions through complex intermediates agree with JAX's.
"""
import math

import numpy as np

from ..core import dtypes
from ..core.extensions import COMPLEX_OF, FFT, FftType, complex_p, conj_p, fft_p, imag_p, real_p
from ..transforms.ad import jvp_rules, vjp_rules
from ..transforms.batching import batch_rules, defbroadcasting, defvectorized, moveaxis
from . import _operands, asarray, broadcast_in_dim, convert_element_type, full, full_like, mul, neg, pad

# `complex` is not star-exported: gpuxla/lax/__init__.py uses the builtin of that name.
__all__ = ["FftType", "fft", "real", "imag", "conj"]


def fft(x, fft_type, fft_lengths):
    """lax.fft: an FFT over the trailing len(fft_lengths) axes. fft_type is a FftType or its name."""
    x = asarray(x)
    t = FftType[fft_type.upper()] if isinstance(fft_type, str) else FftType(fft_type)
    lengths = tuple(int(n) for n in fft_lengths)
    if t.name in ("FFT", "IFFT", "IRFFT") and not dtypes.is_complex(x.dtype):
        x = convert_element_type(x, COMPLEX_OF.get(x.dtype, dtypes.default_complex_dtype()))
    if t.name == "RFFT" and x.dtype not in COMPLEX_OF:
        if dtypes.is_complex(x.dtype):
            raise TypeError(f"fft (RFFT) takes a real operand, got {x.aval.str_short()}")
        x = convert_element_type(x, dtypes.default_float_dtype() if x.dtype.itemsize < 4 or x.dtype.kind != "f"
                                 else x.dtype)
    return fft_p.bind(x, fft_type=int(t), fft_lengths=lengths)


def real(x):
    x = asarray(x)
    return real_p.bind(x) if dtypes.is_complex(x.dtype) else x


def imag(x):
    x = asarray(x)
    return imag_p.bind(x) if dtypes.is_complex(x.dtype) else full_like(x, 0)


def conj(x):
    x = asarray(x)
    return conj_p.bind(x) if dtypes.is_complex(x.dtype) else x


def complex(x, y):
    x, y = _operands(x, y)
    if x.dtype != y.dtype:
        raise TypeError(f"lax.complex requires arguments of the same dtype, got {x.dtype.name} and {y.dtype.name}")
    return complex_p.bind(x, y)


# --- derivative rules ----------------------------------------------------------------------------
def _fft_transpose(ct, out, x, fft_type, fft_lengths):
    name = FftType(fft_type).name
    if name in ("FFT", "IFFT"):
        # the DFT matrix is symmetric, so each transform is its own transpose
        return (fft_p.bind(ct, fft_type=fft_type, fft_lengths=fft_lengths),)
    if name == "RFFT":
        # rfft = slice(FFT(x + 0j)): zero-pad, FFT, take the real part
        n = fft_lengths[-1]
        padded = pad(ct, full((), 0, ct.dtype), [(0, 0, 0)] * (ct.ndim - 1) + [(0, n - ct.shape[-1], 0)])
        return (real(fft_p.bind(padded, fft_type=int(FftType.FFT), fft_lengths=fft_lengths)),)
    # IRFFT: (conjugated) rfft of the cotangent, with the bins that stand for two conjugate bins doubled
    x_ct = fft_p.bind(ct, fft_type=int(FftType.RFFT), fft_lengths=fft_lengths)
    m = x_ct.shape[-1]
    odd = fft_lengths[-1] % 2
    w = np.concatenate([[1.0], np.full(m - 2 + odd, 2.0), np.ones(1 - odd)]) / math.prod(fft_lengths)
    w = convert_element_type(asarray(w.astype(np.float32)), x_ct.dtype)
    # conj: irfft(X) = Re(sum_k w_k X_k e^{+i...}) pairs with X through conj(rfft(ct)) under Re(u v)
    return (conj(mul(x_ct, broadcast_in_dim(w, x_ct.shape, (x_ct.ndim - 1,)))),)


def _linear_jvp(p):
    def jvp(primals, tangents, out, **params):
        if all(t is None for t in tangents):
            return None
        ts = [t if t is not None else full_like(x, 0) for t, x in zip(tangents, primals)]
        return p.bind(*ts, **params)
    return jvp


jvp_rules.update({q: _linear_jvp(q) for q in FFT})
vjp_rules.update({
    fft_p: _fft_transpose,
    real_p: lambda ct, out, z: (complex(ct, full_like(ct, 0)),),
    imag_p: lambda ct, out, z: (complex(full_like(ct, 0), neg(ct)),),
    conj_p: lambda ct, out, z: (conj(ct),),
    complex_p: lambda ct, out, x, y: (real(ct), neg(imag(ct))),
})


# --- batching rules ------------------------------------------------------------------------------
def _fft_batch(args, dims, **params):
    (x,), (d,) = args, dims
    x = moveaxis(x, d, 0)       # the transform acts on trailing axes: keep the batch axis in front
    return fft_p.bind(x, **params), 0


batch_rules[fft_p] = _fft_batch
defvectorized(real_p, imag_p, conj_p)
defbroadcasting(complex_p)
