"""gpuxla.scipy.signal: N-d convolution and correlation, as `jax.scipy.signal`.

The direct methods are one lax.conv_general_dilated (so they fuse, batch and differentiate like any
convolution); fftconvolve multiplies real or complex FFTs. Output windows follow SciPy: 'full' is
every overlap, 'same' is centred on in1, 'valid' needs one input at least as large as the other
in every dimension.

>>> import gpuxla.numpy as jnp
>>> from gpuxla.scipy.signal import convolve
>>> convolve(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.0, 1.0, 0.5]))
Array([0. , 1. , 2.5, 4. , 1.5], dtype=float32)
"""
import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from .special import _inexact

__all__ = ["convolve", "correlate", "convolve2d", "correlate2d", "fftconvolve"]


def _check(in1, in2, mode, name):
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    if mode not in ("full", "same", "valid"):
        raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")
    if in1.ndim != in2.ndim:
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality, got {in1.ndim} and {in2.ndim}")
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"{name}: inputs cannot be empty")
    dt = dtypes.result_type(in1, in2)
    if not dtypes.is_inexact(dt):
        dt = _inexact(jnp.zeros((), dt))[0].dtype
    return in1.astype(dt), in2.astype(dt)


def _valid_swap(in1, in2, mode, name):
    if mode != "valid":
        return in1, in2
    big1 = all(a >= b for a, b in zip(in1.shape, in2.shape))
    big2 = all(b >= a for a, b in zip(in1.shape, in2.shape))
    if not (big1 or big2):
        raise ValueError(f"{name}: for 'valid' mode, one must be at least as large as the other in every dimension")
    return (in1, in2) if big1 else (in2, in1)


def _window(full, shape1, shape2, mode):
    """SciPy's 'same' (centred on in1) or 'valid' window of a full convolution."""
    if mode == "full":
        return full
    starts, sizes = [], []
    for n1, n2, nf in zip(shape1, shape2, full.shape):
        size = n1 if mode == "same" else n1 - n2 + 1
        starts.append((nf - size) // 2)
        sizes.append(size)
    return lax.slice(full, starts, [s + z for s, z in zip(starts, sizes)])


def _full_direct(in1, in2):
    """The full N-d convolution: cross-correlation of in1, zero-padded by (k - 1) on both sides,
    with the flipped kernel."""
    nd = in1.ndim
    if nd == 0:
        return in1 * in2
    kern = jnp.flip(in2)
    if dtypes.issubdtype(in1.dtype, np.complexfloating):
        # (a + ib) * (c + id) as four real convolutions
        ar, ai, kr, ki = jnp.real(in1), jnp.imag(in1), jnp.real(kern), jnp.imag(kern)
        re = _real_conv(ar, kr) - _real_conv(ai, ki)
        im = _real_conv(ar, ki) + _real_conv(ai, kr)
        return re + 1j * im
    return _real_conv(in1, kern)


def _real_conv(x, k):
    # one batch, one channel: the default (N, C, spatial...) layouts
    pads = [(s - 1, s - 1) for s in k.shape]
    return lax.conv_general_dilated(x[None, None], k[None, None], (1,) * x.ndim, pads)[0, 0]


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """N-d convolution of in1 with in2 ('direct', 'fft' or 'auto' = direct)."""
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"convolve: got unknown method {method!r}")
    if method == "fft":
        return fftconvolve(in1, in2, mode=mode)
    in1, in2 = _check(in1, in2, mode, "convolve")
    in1, in2 = _valid_swap(in1, in2, mode, "convolve")
    return _window(_full_direct(in1, in2), in1.shape, in2.shape, mode)


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """N-d cross-correlation: convolution with in2 flipped and conjugated."""
    in1, in2 = _check(in1, in2, mode, "correlate")
    kern = jnp.flip(jnp.conj(in2)) if dtypes.issubdtype(in2.dtype, np.complexfloating) else jnp.flip(in2)
    full = _full_direct(in1, kern)
    # the 'valid' window of a full convolution is symmetric in the two shapes
    a, b = _valid_swap(in1, in2, mode, "correlate")
    return _window(full, a.shape, b.shape, mode)


def _check2d(in1, in2, boundary, fillvalue, name):
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"{name}: only boundary='fill' with fillvalue=0 is supported (as in JAX)")
    if jnp.ndim(in1) != 2 or jnp.ndim(in2) != 2:
        raise ValueError(f"{name} only supports 2-dimensional inputs.")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    _check2d(in1, in2, boundary, fillvalue, "convolve2d")
    return convolve(in1, in2, mode)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    _check2d(in1, in2, boundary, fillvalue, "correlate2d")
    if mode != "same":
        return correlate(in1, in2, mode)
    # SciPy's 2-d 'same' window starts at n2 // 2 of the full correlation (not (n2 - 1) // 2 as correlate)
    full = correlate(in1, in2, "full")
    starts = [n2 // 2 for n2 in jnp.shape(in2)]
    return lax.slice(full, starts, [s + n1 for s, n1 in zip(starts, jnp.shape(in1))])


def fftconvolve(in1, in2, mode="full", axes=None):
    """Convolution by FFT: pad both to the full size, multiply the transforms, transform back."""
    in1, in2 = _check(in1, in2, mode, "fftconvolve")
    nd = in1.ndim
    axes = tuple(range(nd)) if axes is None else tuple(a % nd for a in ((axes,) if isinstance(axes, int) else axes))
    for ax in range(nd):
        if ax not in axes and in1.shape[ax] != in2.shape[ax] and 1 not in (in1.shape[ax], in2.shape[ax]):
            raise ValueError(f"fftconvolve: incompatible shapes for in1 and in2: {in1.shape} and {in2.shape}")
    if mode == "valid":
        sub1 = tuple(in1.shape[a] for a in axes)
        sub2 = tuple(in2.shape[a] for a in axes)
        if not all(a >= b for a, b in zip(sub1, sub2)):
            if all(b >= a for a, b in zip(sub1, sub2)):
                in1, in2 = in2, in1
            else:
                raise ValueError("fftconvolve: for 'valid' mode, one must be at least as large as the other "
                                 "in every dimension")
    full = [in1.shape[a] + in2.shape[a] - 1 for a in axes]
    is_complex = dtypes.issubdtype(in1.dtype, np.complexfloating)
    if is_complex:
        sp = jnp.fft.fftn(in1, full, axes) * jnp.fft.fftn(in2, full, axes)
        out = jnp.fft.ifftn(sp, full, axes)
    else:
        sp = jnp.fft.rfftn(in1, full, axes) * jnp.fft.rfftn(in2, full, axes)
        out = jnp.fft.irfftn(sp, full, axes).astype(in1.dtype)
    if mode == "full":
        return out
    starts, stops = [0] * out.ndim, list(out.shape)
    for a in axes:
        size = in1.shape[a] if mode == "same" else in1.shape[a] - in2.shape[a] + 1
        starts[a] = (out.shape[a] - size) // 2
        stops[a] = starts[a] + size
    return lax.slice(out, starts, stops)
