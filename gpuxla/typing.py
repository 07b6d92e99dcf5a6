"""gpuxla.typing: annotations for array arguments, as `jax.typing`.

    def f(x: ArrayLike, dtype: DTypeLike = None) -> Array: ...

`ArrayLike` is what gpuxla functions accept as an array: a gpuxla Array, a NumPy array or scalar,
or a Python scalar. `DTypeLike` is what they accept as a dtype.
"""
from typing import Union

import numpy as np

from .core.graph import Array

__all__ = ["ArrayLike", "DTypeLike"]

ArrayLike = Union[Array, np.ndarray, np.bool_, np.number, bool, int, float, complex]
DTypeLike = Union[str, type, np.dtype]
