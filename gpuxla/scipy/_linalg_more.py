"""More of `jax.scipy.linalg`: the special matrices (toeplitz, hankel, circulant, companion, hadamard,
hilbert, pascal, leslie, helmert, dft), the matrix exponential and the polar decomposition.

Matrices built from array entries are gathers of those entries (so they batch and differentiate);
those that depend only on a static size are NumPy constants. expm is Pade-13 scaling and squaring,
all matmuls and one solve, with the squarings run a fixed number of times under a select, so grad,
vmap and jit need nothing special.

>>> import gpuxla.numpy as jnp
>>> from gpuxla.scipy.linalg import expm
>>> expm(jnp.zeros((2, 2)))
Array([[1., 0.],
       [0., 1.]], dtype=float32)
"""
import math
import operator

import numpy as np

from .. import lax
from .. import numpy as jnp
from ..core import dtypes
from .special import _inexact

__all__ = ["toeplitz", "hankel", "circulant", "companion", "hadamard", "hilbert", "pascal", "leslie", "helmert",
           "dft", "expm", "polar"]


def _idx(n, m, f):
    i = np.arange(n)[:, None]
    j = np.arange(m)[None, :]
    return jnp.asarray(f(i, j).astype(np.int32))


def toeplitz(c, r=None):
    """The Toeplitz matrix with first column c and first row r (r defaults to conj(c); r[0] is ignored).
    Leading axes of c and r batch."""
    c = jnp.asarray(c)
    r = jnp.conj(c) if r is None else jnp.asarray(r)
    c, r = jnp.atleast_1d(c), jnp.atleast_1d(r)
    dt = dtypes.result_type(c, r)
    c, r = c.astype(dt), r.astype(dt)
    batch = np.broadcast_shapes(c.shape[:-1], r.shape[:-1])
    c, r = jnp.broadcast_to(c, batch + c.shape[-1:]), jnp.broadcast_to(r, batch + r.shape[-1:])
    n, m = c.shape[-1], r.shape[-1]
    vals = jnp.concatenate([jnp.flip(c, -1), r[..., 1:]], axis=-1)
    return jnp.take(vals, _idx(n, m, lambda i, j: n - 1 - i + j), axis=-1)


def hankel(c, r=None):
    """The Hankel matrix with first column c and last row r (zeros by default; r[0] is ignored)."""
    c = jnp.ravel(jnp.asarray(c))
    r = jnp.zeros_like(c) if r is None else jnp.ravel(jnp.asarray(r))
    dt = dtypes.result_type(c, r)
    n, m = c.shape[0], r.shape[0]
    vals = jnp.concatenate([c.astype(dt), r[1:].astype(dt)])
    return jnp.take(vals, _idx(n, m, lambda i, j: i + j))


def circulant(c):
    """The circulant matrix whose first column is c (leading axes batch)."""
    c = jnp.atleast_1d(jnp.asarray(c))
    n = c.shape[-1]
    return jnp.take(c, _idx(n, n, lambda i, j: (i - j) % n), axis=-1)


def companion(a):
    """The companion matrix of the polynomial with coefficients a (highest first, a[0] != 0)."""
    a = jnp.asarray(a)
    if a.ndim != 1:
        raise ValueError("Incorrect shape for `a`.  `a` must be one-dimensional.")
    if a.shape[0] < 2:
        raise ValueError("The length of `a` must be at least 2.")
    a = _inexact(a)[0]
    n = a.shape[0] - 1
    first = -a[1:] / a[0]
    return jnp.concatenate([first[None, :], jnp.eye(n - 1, n, dtype=a.dtype)], axis=0)


def hadamard(n, dtype=int):
    """Sylvester's Hadamard matrix of order n (a power of 2)."""
    n = operator.index(n)
    if n < 1 or n & (n - 1):
        raise ValueError("n must be an positive a power of 2 integer")
    h = np.ones((1, 1), np.int64)
    while h.shape[0] < n:
        h = np.block([[h, h], [h, -h]])
    return jnp.asarray(h.astype(dtypes.canonicalize_dtype(dtype)))


def hilbert(n):
    """The Hilbert matrix 1 / (i + j + 1)."""
    n = operator.index(n)
    dt = dtypes.default_float_dtype()
    i = jnp.arange(n, dtype=dt)
    return 1.0 / (i[:, None] + i[None, :] + 1)


def pascal(n, kind="symmetric", exact=True):
    """The Pascal matrix: 'symmetric' C(i + j, i), 'lower' C(i, j), 'upper' its transpose."""
    n = operator.index(n)
    if kind not in ("symmetric", "lower", "upper"):
        raise ValueError("kind must be 'symmetric', 'lower', or 'upper'")
    lower = np.zeros((n, n), np.float64)
    for i in range(n):
        for j in range(i + 1):
            lower[i, j] = math.comb(i, j)
    out = lower if kind == "lower" else lower.T if kind == "upper" else lower @ lower.T
    dt = dtypes.default_int_dtype() if exact and out.max(initial=0) < 2 ** 31 else dtypes.default_float_dtype()
    return jnp.asarray(out.astype(dt))


def leslie(f, s):
    """The Leslie matrix: fecundities f on the first row, survival s on the subdiagonal."""
    f, s = jnp.atleast_1d(jnp.asarray(f)), jnp.atleast_1d(jnp.asarray(s))
    if f.ndim != 1 or s.ndim != 1:
        raise ValueError("Incorrect shape for f or s: both must be one-dimensional")
    n = f.shape[0]
    if s.shape[0] != n - 1:
        raise ValueError("Incorrect lengths for f and s.  The length of s must be one less than the length of f.")
    dt = dtypes.result_type(f, s)
    sub = jnp.concatenate([jnp.diag(s.astype(dt)), jnp.zeros((n - 1, 1), dt)], axis=1) if n > 1 else jnp.zeros(
        (0, n), dt)
    return jnp.concatenate([f.astype(dt)[None, :], sub], axis=0)


def helmert(n, full=False):
    """The Helmert matrix of order n (rows orthonormal); without full, the first row is dropped."""
    n = operator.index(n)
    h = np.tril(np.ones((n, n)), -1) - np.diag(np.arange(n))
    d = np.arange(n) * np.arange(1, n + 1)
    h[0] = 1
    d[0] = n
    out = h / np.sqrt(d)[:, np.newaxis]
    return jnp.asarray(out if full else out[1:], dtypes.default_float_dtype())


def dft(n, scale=None):
    """The n x n discrete Fourier transform matrix exp(-2 pi i j k / n), scaled by None, 'n' or 'sqrtn'."""
    n = operator.index(n)
    if scale not in (None, "n", "sqrtn"):
        raise ValueError(f"scale must be None, 'n', or 'sqrtn', not {scale!r}.")
    jk = np.outer(np.arange(n), np.arange(n)) % max(n, 1)
    m = np.exp(-2j * np.pi * jk / max(n, 1))
    if scale == "n":
        m = m / n
    elif scale == "sqrtn":
        m = m / math.sqrt(n)
    cdt = np.complex128 if dtypes.default_float_dtype() == np.float64 else np.complex64
    return jnp.asarray(m.astype(cdt))


# Pade(13, 13) coefficients and the 1-norm bound below which it is accurate to double precision
# (Higham, "The scaling and squaring method for the matrix exponential revisited", 2005).
_B13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
        10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def expm(A, *, upper_triangular=False, max_squarings=16):
    """The matrix exponential by scaling and squaring with a [13/13] Pade approximant: A / 2^s has
    1-norm below theta_13, its exponential is (V - U)^-1 (V + U), squared s times (s <= max_squarings).
    Leading axes batch."""
    A = jnp.asarray(A)
    if A.ndim < 2 or A.shape[-1] != A.shape[-2]:
        raise ValueError(f"expected A to be a (batched) square matrix, got shape {A.shape}")
    (A,) = _inexact(A)
    n = A.shape[-1]
    norm = jnp.max(jnp.sum(jnp.abs(A), axis=-2), axis=-1)
    s = jnp.ceil(jnp.log2(jnp.maximum(norm, 1e-30) / _THETA13))
    s = lax.stop_gradient(jnp.clip(jnp.where(jnp.isfinite(s), s, 0), 0, max_squarings))
    A = A / (2.0 ** s)[..., None, None].astype(A.dtype)
    eye = jnp.broadcast_to(jnp.eye(n, dtype=A.dtype), A.shape)
    A2 = A @ A
    A4 = A2 @ A2
    A6 = A4 @ A2
    b = _B13
    U = A @ (A6 @ (b[13] * A6 + b[11] * A4 + b[9] * A2) + b[7] * A6 + b[5] * A4 + b[3] * A2 + b[1] * eye)
    V = A6 @ (b[12] * A6 + b[10] * A4 + b[8] * A2) + b[6] * A6 + b[4] * A4 + b[2] * A2 + b[0] * eye
    R = jnp.linalg.solve(V - U, V + U)
    si = s[..., None, None]

    def square(i, r):
        return jnp.where(i < si, r @ r, r)
    return lax.fori_loop(0, max_squarings, square, R)


def polar(a, side="right", *, method="svd", eps=None, max_iterations=None):
    """The polar decomposition a = u p (side='right') or p u (side='left'), from the SVD."""
    if method != "svd":
        raise NotImplementedError(f"polar: method={method!r} is not supported by gpuxla (use 'svd')")
    if side not in ("right", "left"):
        raise ValueError(f"side must be either 'right' or 'left', got {side!r}")
    a = jnp.asarray(a)
    if a.ndim != 2:
        raise ValueError("The input `a` must be a 2-D array.")
    u_svd, s, vh = jnp.linalg.svd(a, full_matrices=False)
    u = u_svd @ vh
    if side == "right":
        p = (jnp.conj(vh.T) * s) @ vh
    else:
        p = (u_svd * s) @ jnp.conj(u_svd.T)
    return u, p
