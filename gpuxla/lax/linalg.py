"""gpuxla.lax.linalg: the linear-algebra primitives by their JAX names, and their batching rows
(every primitive already maps over leading axes).

The wrappers and the derivative rows are still defined in gpuxla/numpy/linalg.py, written with
jnp helpers; names resolve there lazily so that importing gpuxla.lax does not import
gpuxla.numpy.
"""
from ..core.extensions import LINALG
from ..transforms.batching import def_batch_leading

_NAMES = {"cholesky": "lax_cholesky", "eigh": "lax_eigh", "lu": "lax_lu", "qr": "lax_qr", "svd": "lax_svd",
          "triangular_solve": "triangular_solve", "lu_pivots_to_permutation": "lu_pivots_to_permutation"}
__all__ = sorted(_NAMES)

def_batch_leading(*LINALG)


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'gpuxla.lax.linalg' has no attribute '{name}'")
    from ..numpy import linalg
    return getattr(linalg, _NAMES[name])


def __dir__():
    return __all__
