"""gpuxla.numpy — NumPy's API on gpuxla arrays (import as `jnp`).

>>> import gpuxla.numpy as jnp
>>> jnp.sum(jnp.arange(4.0) ** 2)
Array(14., dtype=float32)
"""
import sys as _sys

# The star imports also re-export the modules these files import (np, lax, dtypes, math, ...), as the
# single _core.py they were split from did; __all__ leaves those out. builtins and string were among
# them and are kept so that dir(gpuxla.numpy) is unchanged.
import builtins, string  # noqa: E401,F401
from ._lax_numpy import *  # noqa: F401,F403
from ._ufuncs import *  # noqa: F401,F403
from ._reductions import *  # noqa: F401,F403
from ._creation import *  # noqa: F401,F403
from ._linalg_basic import *  # noqa: F401,F403
from ._sorting import *  # noqa: F401,F403
from ._statistics import *  # noqa: F401,F403
from ._misc import *  # noqa: F401,F403
from ._histogram import *  # noqa: F401,F403
from ._extras import *  # noqa: F401,F403
from ._reductions import sum, max, min, any, all  # noqa: F401
from ._ufuncs import abs, round, pow, _promote  # noqa: F401
from ._lax_numpy import _dt, _ScalarMeta  # noqa: F401
from . import _lax_numpy, _ufuncs, _reductions, _creation, _linalg_basic, _sorting, _statistics, _misc, _histogram
from . import _extras
from ._indexing import getitem as _getitem, _AtIndexer
from ..core.graph import Array
from ..core import dtypes as _dtypes

__all__ = sorted({n for m in (_lax_numpy, _ufuncs, _reductions, _creation, _linalg_basic, _sorting, _statistics, _misc,
                            _histogram, _extras)
                  for n in dir(m) if not n.startswith("_")}
                 - {"builtins", "math", "operator", "string", "np", "lax", "dtypes", "constant"})


def _attach_methods():
    c = _sys.modules[__name__]    # this package: each method is the public function of the same name

    def binop(f, reflected=False):
        if reflected:
            return lambda self, other: f(other, self) if _operand_ok(other) else NotImplemented
        return lambda self, other: f(self, other) if _operand_ok(other) else NotImplemented

    ops = {"add": c.add, "sub": c.subtract, "mul": c.multiply, "truediv": c.divide,
           "floordiv": c.floor_divide, "mod": c.remainder, "pow": c.power, "matmul": c.matmul,
           "and": c.bitwise_and, "or": c.bitwise_or, "xor": c.bitwise_xor,
           "lshift": c.left_shift, "rshift": c.right_shift, "divmod": c.divmod}
    for name, f in ops.items():
        setattr(Array, f"__{name}__", binop(f))
        setattr(Array, f"__r{name}__", binop(f, reflected=True))
    for name, f in {"lt": c.less, "le": c.less_equal, "gt": c.greater, "ge": c.greater_equal}.items():
        setattr(Array, f"__{name}__", binop(f))

    def equality(f, sym):
        # As JAX: comparing with a list/tuple is an error (other non-arrays fall back to identity).
        def method(self, other):
            if isinstance(other, (list, tuple)):
                raise TypeError(f"unsupported operand type(s) for {sym}: 'Array' and '{type(other).__name__}'")
            return f(self, other) if _operand_ok(other) else NotImplemented
        return method
    Array.__eq__ = equality(c.equal, "==")
    Array.__ne__ = equality(c.not_equal, "!=")
    Array.__neg__ = lambda self: c.negative(self)
    Array.__pos__ = lambda self: self
    Array.__abs__ = lambda self: c.absolute(self)
    Array.__round__ = lambda self, ndigits=None: c.round(self, ndigits or 0)
    Array.__invert__ = lambda self: c.invert(self)
    Array.__getitem__ = lambda self, idx: _getitem(self, idx)
    Array.at = property(lambda self: _AtIndexer(self))
    Array.T = property(lambda self: c.transpose(self))
    Array.__array_namespace__ = lambda self, api_version=None: _sys.modules[__name__]
    Array.mT = property(lambda self: c.matrix_transpose(self))
    Array.real = property(lambda self: c.real(self))
    Array.imag = property(lambda self: c.imag(self))
    Array.itemsize = property(lambda self: self.dtype.itemsize)
    Array.nbytes = property(lambda self: self.dtype.itemsize * self.size)

    def reshape(self, *shape, order="C"):
        if len(shape) == 1 and not isinstance(shape[0], int):
            shape = shape[0]
        return c.reshape(self, shape, order)

    def transpose(self, *axes):
        if len(axes) == 1 and not isinstance(axes[0], int):
            axes = axes[0]
        return c.transpose(self, axes or None)

    def astype(self, dtype, copy=False):
        from .. import lax
        return lax.convert_element_type(self, _dt(dtype))

    Array.reshape = reshape
    Array.transpose = transpose
    Array.astype = astype
    for name in ("sum", "mean", "prod", "max", "min", "argmax", "argmin", "var", "std", "any", "all",
                 "cumsum", "cumprod", "ravel", "squeeze", "swapaxes", "dot", "clip", "round", "conj",
                 "sort", "argsort", "take", "repeat", "diagonal", "trace", "ptp", "nonzero", "copy",
                 "conjugate"):
        setattr(Array, name, getattr(c, name))
    Array.flatten = c.ravel


def _operand_ok(x):
    # Lists and tuples are not array operands of the operators (JAX raises TypeError for them).
    return isinstance(x, (Array, int, float, bool, complex)) or hasattr(x, "__array__") or isinstance(x, _np.generic)


import numpy as _np  # noqa: E402

_attach_methods()
from . import linalg, fft  # noqa: E402,F401
# The breadth of jax.numpy added for #21 (set ops, index tricks, windows, polynomials, the rest).
from ._setops import *  # noqa: E402,F401,F403
from ._index_tricks import *  # noqa: E402,F401,F403
from ._more import *  # noqa: E402,F401,F403
from ._windows import *  # noqa: E402,F401,F403
from ._polynomial import *  # noqa: E402,F401,F403
from . import _setops, _index_tricks, _more, _windows, _polynomial  # noqa: E402
__all__ = sorted(set(__all__) | {n for m in (_setops, _index_tricks, _more, _windows, _polynomial) for n in m.__all__})
