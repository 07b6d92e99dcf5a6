"""NumPy (LAPACK) implementations of the linear-algebra primitives (core/extensions.py), on arrays
of any float dtype LAPACK takes; backends/numpy/reference.py registers them (16-bit floats
computing in float32) and the cuda platform runs some of them on host copies where cuSOLVER has no
batched routine. They follow JAX's CPU results where LAPACK fails: NaN for a matrix that is not
positive definite, inf/NaN for a singular solve.
"""
import numpy as np


def _per_matrix(fn, a, out_shape, dtype):
    """Apply fn matrix by matrix, NaN where LAPACK reports failure (JAX's convention)."""
    flat = a.reshape((-1,) + a.shape[-2:])
    out = np.empty((flat.shape[0],) + out_shape, dtype)
    for i, m in enumerate(flat):
        try:
            out[i] = fn(m)
        except np.linalg.LinAlgError:
            out[i] = np.nan
    return out.reshape(a.shape[:-2] + out_shape)


def _nan_lower(x):
    return np.where(np.tril(np.ones(x.shape[-2:], bool)), np.nan, 0).astype(x.dtype)


def cholesky(a):
    # A matrix that is not positive definite gives NaN in its lower triangle (JAX's CPU result).
    def one(m):
        try:
            return np.linalg.cholesky(m)
        except np.linalg.LinAlgError:
            return _nan_lower(m)
    try:
        return np.linalg.cholesky(a)
    except np.linalg.LinAlgError:
        flat = a.reshape((-1,) + a.shape[-2:])
        return np.stack([one(m) for m in flat]).reshape(a.shape) if flat.shape[0] else a.copy()


def _substitute(m, b, lower):
    """Solve m x = b for triangular m by substitution (exact IEEE behaviour on zero pivots)."""
    n = m.shape[-1]
    x = np.zeros(np.broadcast_shapes(m.shape[:-2], b.shape[:-2]) + b.shape[-2:], np.result_type(m, b))
    rows = range(n) if lower else range(n - 1, -1, -1)
    for i in rows:
        done = slice(0, i) if lower else slice(i + 1, n)
        acc = b[..., i, :] - np.einsum("...j,...jk->...k", m[..., i, done], x[..., done, :])
        x[..., i, :] = acc / m[..., i, i][..., None]
    return x


def _tri_operator(a, lower, transpose_a, unit_diagonal):
    t = np.tril(a) if lower else np.triu(a)
    if unit_diagonal:
        n = a.shape[-1]
        t = t.copy()
        t[..., np.arange(n), np.arange(n)] = 1
    if transpose_a:
        t = np.swapaxes(t, -1, -2)
    return t, lower != transpose_a


def triangular_solve(a, b, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    m, m_lower = _tri_operator(a, lower, transpose_a, unit_diagonal)
    with np.errstate(all="ignore"):
        if left_side:
            return _substitute(m, b, m_lower).astype(b.dtype)
        # x m = b  <=>  m^T x^T = b^T
        return np.swapaxes(_substitute(np.swapaxes(m, -1, -2), np.swapaxes(b, -1, -2), not m_lower),
                           -1, -2).astype(b.dtype)


def lu(a):
    *batch, m, n = a.shape
    k = min(m, n)
    w = a.reshape((-1, m, n)).copy()
    nb = w.shape[0]
    bi = np.arange(nb)
    perm = np.tile(np.arange(m, dtype=np.int32), (nb, 1))
    piv = np.zeros((nb, k), np.int32)
    with np.errstate(all="ignore"):
        for j in range(k):
            p = j + np.argmax(np.abs(w[:, j:, j]), axis=1)
            piv[:, j] = p
            w[bi, j], w[bi, p] = w[bi, p], w[bi, j].copy()
            perm[bi, j], perm[bi, p] = perm[bi, p], perm[bi, j].copy()
            d = w[:, j, j][:, None]
            # A zero pivot means the whole column below is zero: LAPACK leaves it, no 0/0.
            col = np.where(d != 0, w[:, j + 1:, j] / np.where(d != 0, d, 1), w[:, j + 1:, j])
            w[:, j + 1:, j] = col
            w[:, j + 1:, j + 1:] -= col[:, :, None] * w[:, j, None, j + 1:]
    return (w.reshape(a.shape), piv.reshape(tuple(batch) + (k,)), perm.reshape(tuple(batch) + (m,)))


def solve(a, b, transpose_a=False):
    if transpose_a:
        a = np.swapaxes(a, -1, -2)
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        # Singular: LU and substitution give JAX's inf/NaN instead of an exception.
        lu_, _, perm = lu(a)
        pb = np.take_along_axis(b, perm[..., None].astype(np.int64), axis=-2)
        with np.errstate(all="ignore"):
            y = _substitute(np.tril(lu_, -1) + np.eye(a.shape[-1], dtype=a.dtype), pb, True)
            return _substitute(np.triu(lu_), y, False).astype(b.dtype)


def eigh(a, lower=True, sort_eigenvalues=True):
    try:
        w, v = np.linalg.eigh(a, UPLO="L" if lower else "U")
    except np.linalg.LinAlgError:
        n = a.shape[-1]
        w = _per_matrix(lambda m: np.linalg.eigh(m, UPLO="L" if lower else "U")[0][None], a, (1, n), a.dtype)[..., 0, :]
        v = _per_matrix(lambda m: np.linalg.eigh(m, UPLO="L" if lower else "U")[1], a, (n, n), a.dtype)
    return v.astype(a.dtype), w.astype(a.dtype)


def svd(a, full_matrices, compute_uv):
    if not compute_uv:
        return (np.linalg.svd(a, compute_uv=False).astype(a.dtype),)
    u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
    return u.astype(a.dtype), s.astype(a.dtype), vh.astype(a.dtype)


def qr(a, full_matrices):
    q, r = np.linalg.qr(a, mode="complete" if full_matrices else "reduced")
    return q.astype(a.dtype), r.astype(a.dtype)
