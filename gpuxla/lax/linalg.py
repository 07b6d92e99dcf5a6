"""gpuxla.lax.linalg: the linear-algebra primitives by their JAX names. They are defined, with
their rules, in gpuxla/numpy/linalg.py; this module resolves names lazily so that importing
gpuxla.lax does not import gpuxla.numpy."""
_NAMES = {"cholesky": "lax_cholesky", "eigh": "lax_eigh", "lu": "lax_lu", "qr": "lax_qr", "svd": "lax_svd",
          "triangular_solve": "triangular_solve", "lu_pivots_to_permutation": "lu_pivots_to_permutation"}
__all__ = sorted(_NAMES)


def __getattr__(name):
    if name not in _NAMES:
        raise AttributeError(f"module 'gpuxla.lax.linalg' has no attribute '{name}'")
    from ..numpy import linalg
    return getattr(linalg, _NAMES[name])


def __dir__():
    return __all__
