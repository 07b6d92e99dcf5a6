"""gpuxla.numpy.fft: discrete Fourier transforms, as `jax.numpy.fft`.

>>> import gpuxla.numpy as jnp
>>> jnp.fft.rfft(jnp.array([1.0, 2.0, 3.0, 4.0]))
Array([10.+0.j, -2.+2.j, -2.+0.j], dtype=complex64)

The transforms are one primitive (`lax.fft`, see gpuxla/lax/fft.py, which holds its rules), plus
real/imag/complex/conj for the complex values around it; this module holds only composites.
Complex numbers are supported for the FFTs' inputs and outputs and the elementwise arithmetic
of the NumPy backend (+, -, *, /, exp, abs, where, sums...); gradients flow through complex
intermediates of real functions as in JAX (grad of a complex output is refused).
"""
import math

import numpy as np

from .. import lax
from ..core import dtypes
from ..lax.fft import conj as _conj, imag as _imag, real as _real
from . import _lax_numpy as jnp
from . import _util, _ufuncs, _reductions, _creation

__all__ = ["fft", "ifft", "rfft", "irfft", "fft2", "ifft2", "rfft2", "irfft2", "fftn", "ifftn", "rfftn", "irfftn",
           "hfft", "ihfft", "fftfreq", "rfftfreq", "fftshift", "ifftshift"]


# --- jnp.fft ----------------------------------------------------------------------------------------
def _fftn_core(a, s, axes, norm, kind, name):
    """Transform `a` over `axes` (lengths `s`, zero-padded or cropped as NumPy) with fft type
    `kind`; the axes are moved last for the primitive and back afterwards."""
    a = jnp.asarray(a)
    if axes is None:
        axes = tuple(range(a.ndim)) if s is None else tuple(range(a.ndim - len(s), a.ndim))
    axes = tuple(_util._canon_axis(ax, a.ndim, name) for ax in axes)
    if len(set(axes)) != len(axes):
        raise ValueError(f"jax.numpy.fft.{name} does not support repeated axes. Got axes {axes}.")
    if len(axes) > 3:
        # the primitive handles up to 3 axes: split into passes (FFT/IFFT are separable)
        if kind not in ("FFT", "IFFT"):
            raise NotImplementedError(f"jnp.fft.{name} over more than 3 axes")
        first = _fftn_core(a, None if s is None else s[:-3], axes[:-3], norm, kind, name)
        return _fftn_core(first, None if s is None else s[-3:], axes[-3:], norm, kind, name)
    if s is not None and len(s) != len(axes):
        raise ValueError(f"jnp.fft.{name}: shape {s} and axes {axes} must have the same length")
    if kind == "IRFFT":
        out_len = [a.shape[ax] for ax in axes]
        out_len[-1] = 2 * (a.shape[axes[-1]] - 1)
        lengths = list(s) if s is not None else out_len
        in_len = list(lengths[:-1]) + [lengths[-1] // 2 + 1]
    else:
        lengths = list(s) if s is not None else [a.shape[ax] for ax in axes]
        in_len = lengths
    if any(n < 1 for n in lengths):
        raise ValueError(f"jnp.fft.{name}: invalid number of data points {tuple(lengths)} specified")
    for ax, n in zip(axes, in_len):       # zero-pad or crop to the input lengths
        cur = a.shape[ax]
        if cur > n:
            a = lax.slice_in_dim(a, 0, n, axis=ax)
        elif cur < n:
            cfg = [(0, 0, 0)] * a.ndim
            cfg[ax] = (0, n - cur, 0)
            a = lax.pad(a, lax.full((), 0, a.dtype), cfg)
    nd = a.ndim
    rest = [i for i in range(nd) if i not in axes]
    perm = rest + list(axes)
    a = lax.transpose(a, perm)
    if kind == "RFFT" and dtypes.is_complex(a.dtype):
        raise TypeError(f"jnp.fft.{name} requires a real-valued input, got {a.dtype.name}")
    out = lax.fft(a, kind, lengths)
    total = math.prod(lengths)
    if norm not in (None, "backward", "ortho", "forward"):
        raise ValueError(f'Invalid norm value {norm}; should be "backward", "ortho" or "forward".')
    inverse = kind in ("IFFT", "IRFFT")
    if norm == "ortho":
        out = out * (math.sqrt(total) if inverse else 1 / math.sqrt(total))
    elif norm == "forward":
        out = out * (total if inverse else 1 / total)
    return lax.transpose(out, tuple(np.argsort(perm)))


def _one(kind, name):
    def f(a, n=None, axis=-1, norm=None):
        return _fftn_core(a, None if n is None else [n], [axis], norm, kind, name)
    f.__name__ = name
    f.__doc__ = f"jnp.fft.{name}: the 1-D {kind.lower()} along `axis` (NumPy's arguments)."
    return f


def _many(kind, name, default_axes):
    def f(a, s=None, axes=default_axes, norm=None):
        return _fftn_core(a, s, axes, norm, kind, name)
    f.__name__ = name
    f.__doc__ = f"jnp.fft.{name}: the {kind.lower()} over `axes` (NumPy's arguments)."
    return f


fft, ifft, rfft, irfft = (_one(k, n) for k, n in (("FFT", "fft"), ("IFFT", "ifft"), ("RFFT", "rfft"),
                                                  ("IRFFT", "irfft")))
fft2, ifft2, rfft2, irfft2 = (_many(k, n, (-2, -1)) for k, n in (("FFT", "fft2"), ("IFFT", "ifft2"),
                                                                 ("RFFT", "rfft2"), ("IRFFT", "irfft2")))
fftn, ifftn, rfftn, irfftn = (_many(k, n, None) for k, n in (("FFT", "fftn"), ("IFFT", "ifftn"),
                                                             ("RFFT", "rfftn"), ("IRFFT", "irfftn")))


def hfft(a, n=None, axis=-1, norm=None):
    """The FFT of a Hermitian-symmetric signal given by its first half: irfft(conj(a)) * n."""
    a = jnp.asarray(a)
    nn = 2 * (a.shape[axis] - 1) if n is None else n
    flip = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}[norm]
    return irfft(_conj(a), nn, axis, flip)


def ihfft(a, n=None, axis=-1, norm=None):
    flip = {None: "forward", "backward": "forward", "forward": "backward", "ortho": "ortho"}[norm]
    return _conj(rfft(a, n, axis, flip))


def fftfreq(n, d=1.0, *, dtype=None, device=None):
    """Sample frequencies [0, 1, ..., -1] / (d n) of an n-point FFT."""
    dt = dtype or dtypes.default_float_dtype()
    k = np.concatenate([np.arange(0, (n - 1) // 2 + 1), np.arange(-(n // 2), 0)]) if n else np.zeros(0)
    return jnp.asarray(k, dt) / jnp.asarray(d * n, dt)


def rfftfreq(n, d=1.0, *, dtype=None, device=None):
    dt = dtype or dtypes.default_float_dtype()
    return _creation.arange(0, n // 2 + 1, dtype=dt) / jnp.asarray(d * n, dt)


def fftshift(x, axes=None):
    x = jnp.asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else ((axes,) if isinstance(axes, int) else tuple(axes))
    return jnp.roll(x, [x.shape[ax] // 2 for ax in axes], axes)


def ifftshift(x, axes=None):
    x = jnp.asarray(x)
    axes = tuple(range(x.ndim)) if axes is None else ((axes,) if isinstance(axes, int) else tuple(axes))
    return jnp.roll(x, [-(x.shape[ax] // 2) for ax in axes], axes)


# --- complex helpers used by gpuxla.numpy (real/imag/conj/abs/angle of complex arrays) -----------
def complex_abs(z):
    """|z| for complex z; its derivative at 0 is 0, as JAX's."""
    re, im = _real(z), _imag(z)
    r2 = re * re + im * im
    nz = r2 > 0
    return _ufuncs.where(nz, lax.sqrt(_ufuncs.where(nz, r2, jnp.ones_like(r2))), jnp.zeros_like(r2))


def angle(z, deg=False):
    z = jnp.asarray(z)
    a = lax.atan2(_imag(z), _real(z)) if dtypes.is_complex(z.dtype) else lax.atan2(
        jnp.zeros_like(jnp.asarray(z, _reductions._float_dtype(z.dtype))),
        jnp.asarray(z, _reductions._float_dtype(z.dtype)))
    return a * (180 / np.pi) if deg else a
