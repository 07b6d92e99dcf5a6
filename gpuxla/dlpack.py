"""jax.dlpack: exchange arrays with other libraries through the DLPack protocol.

`from_dlpack` takes any object with `__dlpack__` (NumPy, CuPy, PyTorch, another Array) without a
copy where its memory is already the platform's (gpuxla.numpy.from_dlpack); an Array itself
exports `__dlpack__` / `__dlpack_device__`, so other libraries' from_dlpack take gpuxla Arrays.
"""
import numpy as np

from .core import dtypes

__all__ = ["from_dlpack", "is_supported_dtype"]

# The dtypes DLPack can describe and gpuxla can hold (JAX's list).
_SUPPORTED = {np.dtype(t) for t in (np.bool_, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16,
                                    np.uint32, np.uint64, np.float16, np.float32, np.float64, np.complex64,
                                    np.complex128)} | {np.dtype(dtypes.bfloat16)}


def from_dlpack(external_array, device=None, copy=None):
    """An Array on the memory of `external_array` (jax.dlpack.from_dlpack); `copy=True` copies."""
    from .numpy import from_dlpack as _from_dlpack
    from ._api import device_put
    out = _from_dlpack(external_array, copy=copy)
    return out if device is None else device_put(out, device)


def is_supported_dtype(dtype):
    """Whether arrays of `dtype` can go through DLPack to and from gpuxla."""
    try:
        return np.dtype(dtype) in _SUPPORTED
    except TypeError:
        return False
