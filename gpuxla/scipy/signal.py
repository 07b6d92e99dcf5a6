"""gpuxla.scipy.signal: N-dimensional convolve and correlate, as `jax.scipy.signal` (and
SciPy's direct method): the full result by one `lax.conv_general_dilated`, then SciPy's 'same' or
'valid' window of it.

>>> import gpuxla.numpy as jnp
>>> convolve(jnp.array([1.0, 2.0, 3.0]), jnp.array([0.0, 1.0, 0.5]))
Array([0. , 1. , 2.5, 4. , 1.5], dtype=float32)
"""
from .. import lax
from .. import numpy as jnp
from ..core import dtypes

__all__ = ["convolve", "convolve2d", "correlate", "correlate2d"]


def _operands(name, in1, in2):
    in1, in2 = jnp.asarray(in1), jnp.asarray(in2)
    if in1.ndim != in2.ndim:
        raise ValueError(f"{name}: in1 and in2 should have the same dimensionality, got {in1.ndim} and {in2.ndim}")
    if in1.size == 0 or in2.size == 0:
        raise ValueError(f"{name}: inputs cannot be empty")
    dt = dtypes.result_type(in1, in2)
    if not dtypes.is_inexact(dt):
        dt = dtypes.default_float_dtype()        # JAX convolves integers in floating point
    if dtypes.is_complex(dt):
        raise NotImplementedError(f"jax.scipy.signal.{name} of complex arrays is not in gpuxla yet")
    return in1.astype(dt), in2.astype(dt)


def _window(full, s1, s2, mode, name):
    if mode == "full":
        return full
    if mode == "same":
        starts = [(k - 1) // 2 for k in s2]
        return lax.slice(full, starts, [st + n for st, n in zip(starts, s1)])
    if mode == "valid":
        if not (all(a >= b for a, b in zip(s1, s2)) or all(a <= b for a, b in zip(s1, s2))):
            raise ValueError(f"{name}: for 'valid' mode, one must be at least as large as the other in every "
                             f"dimension, got shapes {tuple(s1)} and {tuple(s2)}")
        starts = [min(a, b) - 1 for a, b in zip(s1, s2)]
        return lax.slice(full, starts, [st + abs(a - b) + 1 for st, a, b in zip(starts, s1, s2)])
    raise ValueError(f"{name}: mode must be 'full', 'same' or 'valid', got {mode!r}")


def _full_conv(in1, in2, precision):
    nd = in1.ndim
    if nd == 0:
        return in1 * in2
    spatial = "DHW"[-nd:] if nd <= 3 else None
    if spatial is None:
        raise NotImplementedError(f"jax.scipy.signal.convolve of {nd}-D arrays is not in gpuxla yet (up to 3-D)")
    lhs, rhs = in1[None, None], jnp.flip(in2)[None, None]
    out = lax.conv_general_dilated(lhs, rhs, (1,) * nd, [(k - 1, k - 1) for k in in2.shape],
                                   dimension_numbers=("NC" + spatial, "OI" + spatial, "NC" + spatial),
                                   precision=precision)
    return out[0, 0]


def convolve(in1, in2, mode="full", method="auto", precision=None):
    """N-d convolution, as scipy.signal.convolve (mode 'full', 'same' or 'valid')."""
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"convolve: method must be 'auto', 'direct' or 'fft', got {method!r}")
    in1, in2 = _operands("convolve", in1, in2)
    return _window(_full_conv(in1, in2, precision), in1.shape, in2.shape, mode, "convolve")


def correlate(in1, in2, mode="full", method="auto", precision=None):
    """N-d cross-correlation, as scipy.signal.correlate: convolve with in2 reversed."""
    if method not in ("auto", "direct", "fft"):
        raise ValueError(f"correlate: method must be 'auto', 'direct' or 'fft', got {method!r}")
    in1, in2 = _operands("correlate", in1, in2)
    return _window(_full_conv(in1, jnp.flip(in2), precision), in1.shape, in2.shape, mode, "correlate")


def _check_2d(name, in1, in2, boundary, fillvalue):
    if jnp.ndim(in1) != 2 or jnp.ndim(in2) != 2:
        raise ValueError(f"{name} only supports 2-D inputs")
    if boundary != "fill" or fillvalue != 0:
        raise NotImplementedError(f"jax.scipy.signal.{name}: boundary={boundary!r}, fillvalue={fillvalue!r} is "
                                  "not in gpuxla yet (only boundary='fill' with fillvalue=0)")


def convolve2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    _check_2d("convolve2d", in1, in2, boundary, fillvalue)
    return convolve(in1, in2, mode, precision=precision)


def correlate2d(in1, in2, mode="full", boundary="fill", fillvalue=0, precision=None):
    _check_2d("correlate2d", in1, in2, boundary, fillvalue)
    return correlate(in1, in2, mode, precision=precision)
