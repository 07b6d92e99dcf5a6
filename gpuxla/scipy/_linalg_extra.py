"""More of jax.scipy.linalg: the special matrices fiedler, fiedler_companion, invhilbert,
invpascal and convolution_matrix; expm_frechet (the JVP of expm); qr_multiply (Q from qr applied
to another matrix); rsf2csf (real to complex Schur form, on the host like schur)."""
import math
import operator

import numpy as np

from .. import numpy as jnp
from ..core import dtypes
from ..lax import linalg as _lax_la
from ._linalg_more import expm, toeplitz

__all__ = ["fiedler", "fiedler_companion", "invhilbert", "invpascal", "convolution_matrix", "expm_frechet",
           "qr_multiply", "rsf2csf"]


def fiedler(a):
    """The symmetric Fiedler matrix |a_i - a_j| (scipy.linalg.fiedler); leading axes batch."""
    a = jnp.asarray(a)
    return jnp.abs(a[..., :, None] - a[..., None, :])


def fiedler_companion(a):
    """The Fiedler companion matrix of the polynomial with coefficients `a` (highest first): a
    pentadiagonal matrix whose eigenvalues are its roots (scipy.linalg.fiedler_companion)."""
    a = jnp.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"fiedler_companion: expected a 1-D coefficient array, got shape {a.shape}")
    if not dtypes.is_inexact(a.dtype):
        a = a.astype(dtypes.default_float_dtype())
    if a.shape[0] <= 2:
        return jnp.reshape(-(a / a[0])[-1:], (1, 1)) if a.shape[0] == 2 else jnp.zeros((0,), a.dtype)
    a = a / a[0]
    n = a.shape[0] - 1
    c = jnp.zeros((n, n), a.dtype)
    c = c.at[np.arange(3, n, 2), np.arange(1, n - 2, 2)].set(1.0)
    c = c.at[np.arange(2, n, 2), np.arange(1, n - 1, 2)].set(-a[3::2])
    c = c.at[np.arange(0, n - 2, 2), np.arange(2, n, 2)].set(1.0)
    c = c.at[np.arange(0, n - 1, 2), np.arange(1, n, 2)].set(-a[2::2])
    return c.at[0, 0].set(-a[1]).at[1, 0].set(1.0)


def invhilbert(n):
    """The inverse of the n x n Hilbert matrix, from its exact integer entries (scipy.linalg.invhilbert)."""
    n = operator.index(n)
    out = np.empty((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1):
            v = ((-1) ** (i + j) * (i + j + 1) * math.comb(n + i, n - j - 1) * math.comb(n + j, n - i - 1)
                 * math.comb(i + j, i) ** 2)
            out[i, j] = out[j, i] = float(v)
    return jnp.asarray(out, dtypes.default_float_dtype())


def invpascal(n, kind="symmetric"):
    """The inverse of the Pascal matrix, from exact integer arithmetic (scipy.linalg.invpascal)."""
    n = operator.index(n)
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError("'kind' must be 'symmetric', 'lower' or 'upper'.")
    out = np.empty((n, n), np.float64)
    if kind == "symmetric":
        for i in range(n):
            for j in range(i + 1):
                v = sum(math.comb(i + k, k) * math.comb(i + k, i + k - j) for k in range(n - i))
                out[i, j] = out[j, i] = float((-1) ** (i - j) * v)
    else:
        for i in range(n):
            for j in range(n):
                out[i, j] = float((-1) ** (i - j) * math.comb(i, j)) if j <= i else 0.0
        if kind == "upper":
            out = out.T.copy()
    return jnp.asarray(out, dtypes.default_float_dtype())


def convolution_matrix(a, n, mode="full"):
    """The Toeplitz matrix A with A @ v == np.convolve(a, v, mode) for v of length n
    (scipy.linalg.convolution_matrix)."""
    n = operator.index(n)
    if n <= 0:
        raise ValueError("n must be a positive integer.")
    a = jnp.asarray(a)
    if a.ndim != 1 or a.shape[0] == 0:
        raise ValueError(f"convolution_matrix: a must be a non-empty 1-D array, got shape {a.shape}")
    if mode not in ("full", "valid", "same"):
        raise ValueError("'mode' argument must be one of ('full', 'valid', 'same')")
    az = jnp.pad(a, (0, n - 1))
    raz = jnp.pad(a[::-1], (0, n - 1))
    length = az.shape[0]
    if mode == "full":
        tb = te = 0
    elif mode == "same":
        trim = min(n, a.shape[0]) - 1
        tb, te = trim // 2, trim - trim // 2
    else:
        tb = te = min(n, a.shape[0]) - 1
    return toeplitz(az[tb:length - te], raz[length - n - tb:length - tb])


def expm_frechet(A, E, *, method=None, compute_expm=True):
    """(expm(A), L) with L the Fréchet derivative of expm at A in the direction E
    (scipy.linalg.expm_frechet): the JVP of expm, so exact to expm's own accuracy."""
    from ..transforms.ad import jvp
    A, E = jnp.asarray(A), jnp.asarray(E)
    if A.ndim != 2 or A.shape[0] != A.shape[1] or E.shape != A.shape:
        raise ValueError(f"expm_frechet: expected square A and E of its shape, got {A.shape} and {E.shape}")
    if method not in (None, "SPS", "blockEnlarge"):
        raise ValueError(f"Unknown implementation {method}")
    dt = jnp.result_type(A, E)
    if not dtypes.is_inexact(dt):
        dt = dtypes.default_float_dtype()
    val, lf = jvp(expm, (A.astype(dt),), (E.astype(dt),))
    return (val, lf) if compute_expm else lf


def qr_multiply(a, c, mode="right", pivoting=False, conjugate=False, overwrite_a=False, overwrite_c=False):
    """(c @ Q, R) for mode "right" or (Q @ c, R) for "left", with a = Q R reduced
    (scipy.linalg.qr_multiply); `conjugate` uses conj(Q). A 1-D c is a row (right) or column (left)."""
    if pivoting:
        raise NotImplementedError("qr_multiply: pivoting=True is not in gpuxla yet")
    if mode not in ("right", "left"):
        raise ValueError(f"qr_multiply: mode must be 'right' or 'left', got {mode!r}")
    a, c = jnp.asarray(a), jnp.asarray(c)
    onedim = c.ndim == 1
    if onedim:
        c = c[None, :] if mode == "right" else c[:, None]
    q, r = _lax_la.qr(a, full_matrices=False)
    m, k = q.shape[-2:]
    if conjugate:
        q = jnp.conj(q)
    if mode == "right":
        if c.shape[-1] != m:
            raise ValueError(f"qr_multiply: c has {c.shape[-1]} columns, expected {m}")
        out = jnp.matmul(c, q)
    else:
        if c.shape[-2] != k:
            raise ValueError(f"qr_multiply: c has {c.shape[-2]} rows, expected {k}")
        out = jnp.matmul(q, c)
    return (jnp.ravel(out) if onedim else out), r


def rsf2csf(T, Z, check_finite=True):
    """The complex Schur form (T, Z) from the real one (scipy.linalg.rsf2csf), on the host
    through SciPy, as schur."""
    from ._linalg_schur import _host, _scipy_linalg, _complex_of
    T, Z = jnp.asarray(T), jnp.asarray(Z)
    if T.ndim != 2 or T.shape[0] != T.shape[1] or Z.shape != T.shape:
        raise ValueError(f"rsf2csf: expected square T and Z of its shape, got {T.shape} and {Z.shape}")
    sl = _scipy_linalg("rsf2csf")
    dt = _complex_of(T.dtype)

    def host(t, z):
        return tuple(v.astype(dt) for v in sl.rsf2csf(np.asarray(t), np.asarray(z)))
    return _host("rsf2csf", host, [(T.shape, dt), (T.shape, dt)], T, Z)
