"""gpuxla.scipy.linalg: SciPy's linear-algebra API (as `jax.scipy.linalg`) on gpuxla.numpy.linalg.

>>> import gpuxla.numpy as jnp
>>> from gpuxla.scipy.linalg import cho_factor, cho_solve
>>> cho_solve(cho_factor(jnp.array([[4.0, 0.0], [0.0, 1.0]])), jnp.array([2.0, 3.0]))
Array([0.5, 3. ], dtype=float32)
"""
from .. import numpy as jnp
from ..numpy import linalg as _la
from ..lax import linalg as _lax_la

__all__ = ["block_diag", "cho_factor", "cho_solve", "cholesky", "det", "eigh", "inv", "lu", "lu_factor",
           "lu_solve", "pinv", "qr", "solve", "solve_triangular", "svd", "tril", "triu"]


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """The Cholesky factor; upper by default, as SciPy."""
    return _la.cholesky(a, upper=not lower)


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    return cholesky(a, lower=lower), lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """Solve a x = b given cho_factor(a)."""
    c, lower = c_and_lower
    b = jnp.asarray(b)
    vec = b.ndim == 1
    bb = b[:, None] if vec else b
    if lower:
        y = _lax_la.triangular_solve(c, bb, left_side=True, lower=True)
        x = _lax_la.triangular_solve(c, y, left_side=True, lower=True, transpose_a=True)
    else:
        y = _lax_la.triangular_solve(c, bb, left_side=True, lower=False, transpose_a=True)
        x = _lax_la.triangular_solve(c, y, left_side=True, lower=False)
    return x[:, 0] if vec else x


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, debug=None,
                     check_finite=True):
    return _la.solve_triangular(a, b, trans, lower, unit_diagonal)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, debug=False, check_finite=True,
          assume_a="gen"):
    """Solve a x = b; assume_a='pos' uses a Cholesky factorisation."""
    if assume_a == "pos":
        return cho_solve(cho_factor(a, lower=lower), b)
    if assume_a not in ("gen", "sym", "her"):
        raise ValueError(f"solve: unsupported assume_a={assume_a!r}")
    b = jnp.asarray(b)
    if b.ndim == 1:
        return _la.solve(a, b[:, None])[:, 0]
    return _la.solve(a, b)


def lu_factor(a, overwrite_a=False, check_finite=True):
    return _la.lu_factor(a)


def lu_solve(lu_and_piv, b, trans=0, overwrite_b=False, check_finite=True):
    """Solve a x = b (trans=0) or a^T x = b (trans=1, 2) given lu_factor(a)."""
    lu_, piv = lu_and_piv
    b = jnp.asarray(b)
    vec = b.ndim == 1
    bb = b[:, None] if vec else b
    m = lu_.shape[-1]
    perm = _lax_la.lu_pivots_to_permutation(piv, m)
    if trans == 0:
        y = _lax_la.triangular_solve(lu_, bb[perm], left_side=True, lower=True, unit_diagonal=True)
        x = _lax_la.triangular_solve(lu_, y, left_side=True, lower=False)
    elif trans in (1, 2):
        y = _lax_la.triangular_solve(lu_, bb, left_side=True, lower=False, transpose_a=True)
        z = _lax_la.triangular_solve(lu_, y, left_side=True, lower=True, transpose_a=True, unit_diagonal=True)
        x = jnp.zeros_like(z).at[perm].set(z)
    else:
        raise ValueError(f"lu_solve: invalid trans {trans!r}")
    return x[:, 0] if vec else x


def lu(a, permute_l=False, overwrite_a=False, check_finite=True):
    return _la.lu(a, permute_l)


def det(a, overwrite_a=False, check_finite=True):
    return _la.det(a)


def inv(a, overwrite_a=False, check_finite=True):
    return _la.inv(a)


def pinv(a, *, atol=None, rtol=None, return_rank=False, check_finite=True):
    if atol is not None or return_rank:
        raise NotImplementedError("scipy.linalg.pinv: atol and return_rank are not supported by gpuxla")
    return _la.pinv(a, rtol)


def eigh(a, b=None, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False, turbo=True,
         eigvals=None, type=1, check_finite=True):
    if b is not None or eigvals is not None:
        raise NotImplementedError("scipy.linalg.eigh: generalized problems (b) and eigvals are not supported by gpuxla")
    w, v = _la.eigh(a, UPLO="L" if lower else "U")
    return w if eigvals_only else (w, v)


def svd(a, full_matrices=True, compute_uv=True, overwrite_a=False, check_finite=True, lapack_driver="gesdd"):
    return _la.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)


def qr(a, overwrite_a=False, lwork=None, mode="full", pivoting=False, check_finite=True):
    if pivoting:
        raise NotImplementedError("scipy.linalg.qr: pivoting is not supported by gpuxla")
    if mode not in ("full", "economic", "r"):
        raise ValueError(f"qr: unsupported mode {mode!r}")
    q, r = _lax_la.qr(a, full_matrices=mode == "full")
    return (r,) if mode == "r" else (q, r)


def block_diag(*arrs):
    arrs = [jnp.atleast_2d(jnp.asarray(a)) for a in arrs]
    if not arrs:
        return jnp.zeros((1, 0))
    dt = jnp.result_type(*arrs)
    rows = sum(a.shape[0] for a in arrs)
    cols = sum(a.shape[1] for a in arrs)
    out = jnp.zeros((rows, cols), dt)
    r = c = 0
    for a in arrs:
        out = out.at[r:r + a.shape[0], c:c + a.shape[1]].set(a.astype(dt))
        r, c = r + a.shape[0], c + a.shape[1]
    return out


def tril(m, k=0):
    return jnp.tril(m, k)


def triu(m, k=0):
    return jnp.triu(m, k)


# The rest of jax.scipy.linalg (#21): special matrices, expm, polar.
from ._linalg_more import *  # noqa: E402,F401,F403
from . import _linalg_more  # noqa: E402
__all__ += _linalg_more.__all__
from ._linalg_schur import *  # noqa: E402,F401,F403
from . import _linalg_schur  # noqa: E402
__all__ += _linalg_schur.__all__
from ._linalg_extra import *  # noqa: E402,F401,F403
from . import _linalg_extra  # noqa: E402
__all__ += _linalg_extra.__all__
