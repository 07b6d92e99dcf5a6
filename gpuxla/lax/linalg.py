"""gpuxla.lax.linalg: the linear-algebra primitives by their JAX names, with their JVP, VJP and
batching rows (every primitive already maps over leading axes).

The primitives are declared with their shape rules in core/extensions.py; their NumPy and CuPy
(cuSOLVER) rows are in backends/numpy/linalg.py and backends/cuda/library.py. The rules are
written with lax ops only (lax sits below gpuxla.numpy), so matrix products, transposes, masks and
diagonals are the small helpers below. Derivative rules follow the standard matrix-calculus
identities (Murray 2016 for Cholesky, Giles 2008 for the rest); VJPs without a short closed form
are the transpose of the JVP, taken by running `vjp` on the (linear) JVP graph.
"""
import numpy as np

from .. import lax
from ..core import dtypes
from ..core.extensions import LINALG, check_matrix, cholesky_p, eigh_p, lu_p, qr_p, solve_p, svd_p, triangular_solve_p
from ..transforms.ad import jvp_rules, vjp_rules
from ..transforms.batching import def_batch_leading

__all__ = ["cholesky", "eigh", "lu", "lu_pivots_to_permutation", "qr", "svd", "triangular_solve"]


# --- wrappers --------------------------------------------------------------------------------------
def _float_array(x, name, square=False):
    x = lax.asarray(x)
    if not dtypes.is_inexact(x.dtype):
        x = lax.convert_element_type(x, dtypes.default_float_dtype())
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an array of rank >= 2 (..., m, n), got shape {x.shape}")
    if square:
        check_matrix(name, x.aval)
    return x


def _sym(x):
    return lax.div(lax.add(x, _T(x)), 2)


def cholesky(x, *, symmetrize_input=True):
    """Lower Cholesky factor (lax.linalg.cholesky); NaN where x is not positive definite."""
    x = _float_array(x, "cholesky", square=True)
    return cholesky_p.bind(_sym(x) if symmetrize_input else x)


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False,
                     unit_diagonal=False):
    """Solve op(a) x = b (left_side) or x op(a) = b for triangular a (lax.linalg.triangular_solve).
    Batch dimensions broadcast."""
    a, b = _float_array(a, "triangular_solve"), lax.asarray(b)
    dt = dtypes.result_type(a, b)
    a, b = lax.convert_element_type(a, dt), lax.convert_element_type(b, dt)
    if b.ndim < 2:
        raise ValueError(f"triangular_solve: b must have rank >= 2, got shape {b.shape}")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = _bcast(a, batch + a.shape[-2:]), _bcast(b, batch + b.shape[-2:])
    return triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower), transpose_a=bool(transpose_a),
                                   conjugate_a=bool(conjugate_a), unit_diagonal=bool(unit_diagonal))


def lu(x):
    """(lu, pivots, permutation) with partial pivoting (lax.linalg.lu)."""
    return tuple(lu_p.bind(_float_array(x, "lu")))


def eigh(x, *, lower=True, symmetrize_input=True, sort_eigenvalues=True, subset_by_index=None):
    """(v, w): eigenvectors (columns) and ascending eigenvalues of a symmetric x (lax.linalg.eigh)."""
    if subset_by_index is not None:
        raise NotImplementedError("eigh: subset_by_index is not supported by gpuxla")
    x = _float_array(x, "eigh", square=True)
    v, w = eigh_p.bind(_sym(x) if symmetrize_input else x, lower=bool(lower), sort_eigenvalues=True)
    return v, w


def svd(x, *, full_matrices=True, compute_uv=True, subset_by_index=None, algorithm=None):
    """(u, s, vh), or s alone with compute_uv=False (lax.linalg.svd)."""
    if subset_by_index is not None:
        raise NotImplementedError("svd: subset_by_index is not supported by gpuxla")
    outs = svd_p.bind(_float_array(x, "svd"), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(outs) if compute_uv else outs[0]


def qr(x, *, pivoting=False, full_matrices=True):
    if pivoting:
        raise NotImplementedError("qr: pivoting=True is not supported by gpuxla")
    return tuple(qr_p.bind(_float_array(x, "qr"), full_matrices=bool(full_matrices)))


def _solve_mat(a, b, transpose_a=False):
    return solve_p.bind(a, b, transpose_a=bool(transpose_a))


def lu_pivots_to_permutation(pivots, permutation_size):
    """The row permutation that LAPACK-style `pivots` (row j swapped with pivots[j], in order)
    describe, as lax.linalg.lu_pivots_to_permutation."""
    piv = lax.asarray(pivots)
    last = piv.ndim - 1
    shape = piv.shape[:-1] + (permutation_size,)
    idx = _bcast(lax.iota(piv.dtype, permutation_size), shape)
    perm = idx
    for j in range(piv.shape[-1]):
        p = lax.slice_in_dim(piv, j, j + 1, axis=last)
        a = _bcast(lax.slice_in_dim(perm, j, j + 1, axis=last), shape)
        b = _bcast(lax._take_along_axis(perm, p, last), shape)
        perm = lax.select(lax.eq(idx, j), b, lax.select(lax.eq(idx, _bcast(p, shape)), a, perm))
    return perm


# --- small helpers for the rules, on stacks of matrices (..., m, n) -------------------------------
def _bcast(x, shape):
    """x broadcast to `shape` by NumPy's rules (dimensions aligned on the right)."""
    nd = len(shape)
    return lax.broadcast_in_dim(x, shape, tuple(range(nd - x.ndim, nd)))


def _T(x):
    nd = x.ndim
    return lax.transpose(x, tuple(range(nd - 2)) + (nd - 1, nd - 2))


def _mm(a, b):
    # The product jnp.matmul makes for equal batch shapes: the result type named, as jnp does.
    bd = tuple(range(a.ndim - 2))
    return lax.dot_general(a, b, (((a.ndim - 1,), (b.ndim - 2,)), (bd, bd)), preferred_element_type=a.dtype)


def _eye(n, m, dtype):
    r, c = lax.broadcasted_iota(np.int32, (n, m), 0), lax.broadcasted_iota(np.int32, (n, m), 1)
    return lax.convert_element_type(lax.eq(r, c), dtype)


def _eye_like(x):
    return _bcast(_eye(x.shape[-2], x.shape[-1], x.dtype), x.shape)


def _tril(x, k=0):
    """x below (and on, for k=0) the k-th diagonal, zeros elsewhere; _triu keeps the rest."""
    return lax.select(_below(x, k), x, _zeros(x))


def _triu(x, k=0):
    return lax.select(_below(x, k - 1), _zeros(x), x)


def _below(x, k):
    n, m = x.shape[-2:]
    r, c = lax.broadcasted_iota(np.int32, (n, m), 0), lax.broadcasted_iota(np.int32, (n, m), 1)
    return _bcast(lax.le(c, lax.add(r, k)), x.shape)


def _diagonal(x):
    """The main diagonal of each matrix, (..., min(m, n))."""
    k = min(x.shape[-2:])
    i = lax.reshape(lax.iota(np.int32, k), (k, 1))
    d = lax.gather_points(x, lax.concatenate([i, i], 1), (x.ndim - 2, x.ndim - 1))
    # gather puts the index dimension first; the diagonal goes last
    return lax.transpose(d, tuple(range(1, d.ndim)) + (0,))


def _rows(v, n):
    """(..., k) -> (..., n, k): v repeated as every row."""
    return lax.broadcast_in_dim(v, v.shape[:-1] + (n, v.shape[-1]), tuple(range(v.ndim - 1)) + (v.ndim,))


def _cols(v, n):
    """(..., k) -> (..., k, n): v repeated as every column."""
    return lax.broadcast_in_dim(v, v.shape + (n,), tuple(range(v.ndim)))


def _zeros(x):
    return lax.full(x.shape, 0, x.dtype)


def _or_zeros(t, x):
    return _zeros(x) if t is None else t


def _diag_embed(v):
    return lax.mul(_cols(v, v.shape[-1]), _eye_like(_cols(v, v.shape[-1])))


def _transpose_jvp(jvp_fn, primals, cts, outs):
    """The VJP of a primitive whose JVP `jvp_fn(tangents) -> list of output tangents` is linear in
    the tangents: pull `cts` back through that linear graph with vjp."""
    from ..transforms import ad
    floats = [i for i, o in enumerate(outs) if dtypes.is_inexact(o.dtype)]
    zeros = [_zeros(p) for p in primals]
    _, pull = ad.vjp(lambda *ts: [jvp_fn(list(ts))[i] for i in floats], *zeros)
    return pull([_or_zeros(cts[i], outs[i]) for i in floats])


def _proj_outs(node):
    from ..core.graph import proj_p
    return [proj_p.bind(node, index=i) for i in range(len(node.aval))]


# --- derivative rules ------------------------------------------------------------------------------
def _phi(x):
    # lower triangle with the diagonal halved: the map taking L^-1 dA L^-T to L^-1 dL
    return lax.div(_tril(x), lax.add(1, _eye_like(x)))


def _cholesky_jvp(primals, tangents, L):
    (t,) = tangents
    tmp = triangular_solve(L, t, left_side=False, lower=True, transpose_a=True)
    return _mm(L, _phi(triangular_solve(L, tmp, left_side=True, lower=True)))


def _cholesky_vjp(ct, L, a):
    p = _phi(_mm(_T(L), ct))
    y = triangular_solve(L, p, left_side=True, lower=True, transpose_a=True)
    return (triangular_solve(L, y, left_side=False, lower=True),)


def _tri_mask(a, lower, unit_diagonal):
    return _tril(a, -1 if unit_diagonal else 0) if lower else _triu(a, 1 if unit_diagonal else 0)


def _op(a, transpose_a):
    return _T(a) if transpose_a else a


def _triangular_solve_jvp(primals, tangents, out, **p):
    (a, b), (ta, tb) = primals, tangents
    rhs = _or_zeros(tb, b)
    if ta is not None:
        da = _op(_tri_mask(ta, p["lower"], p["unit_diagonal"]), p["transpose_a"])
        rhs = lax.sub(rhs, _mm(da, out) if p["left_side"] else _mm(out, da))
    return triangular_solve_p.bind(a, rhs, **p)


def _triangular_solve_vjp(ct, out, a, b, **p):
    cb = triangular_solve_p.bind(a, ct, **dict(p, transpose_a=not p["transpose_a"]))
    ca_op = lax.neg(_mm(cb, _T(out)) if p["left_side"] else _mm(_T(out), cb))
    ca = _tri_mask(_op(ca_op, p["transpose_a"]), p["lower"], p["unit_diagonal"])
    return ca, cb


def _solve_jvp(primals, tangents, x, transpose_a=False):
    (a, b), (ta, tb) = primals, tangents
    rhs = _or_zeros(tb, b)
    if ta is not None:
        rhs = lax.sub(rhs, _mm(_op(ta, transpose_a), x))
    return _solve_mat(a, rhs, transpose_a)


def _solve_vjp(ct, x, a, b, transpose_a=False):
    cb = _solve_mat(a, ct, not transpose_a)
    ca = lax.neg(_mm(cb, _T(x)))
    return (_T(ca) if transpose_a else ca), cb


def _lu_parts(lu_):
    """The unit-lower factor (m, k) and the upper factor (k, n) packed in an LU result."""
    m, n = lu_.shape[-2:]
    k = min(m, n)
    last = lu_.ndim - 1
    l_part = _tril(lax.slice_in_dim(lu_, 0, k, axis=last), -1)
    l = lax.add(l_part, _bcast(_eye(m, k, lu_.dtype), l_part.shape))
    u = _triu(lax.slice_in_dim(lu_, 0, k, axis=last - 1))
    return l, u


def _lu_jvp_fn(outs):
    lu_, _, perm = outs
    l, u = _lu_parts(lu_)
    if lu_.shape[-1] != lu_.shape[-2]:
        raise NotImplementedError(f"Differentiation rule for 'lu' not implemented for non-square matrices "
                                  f"(got {lu_.aval.str_short()})")

    def jvp(ts):
        pa = lax._take_along_axis(ts[0], _cols(perm, lu_.shape[-1]), lu_.ndim - 2)
        x = triangular_solve(l, pa, left_side=True, lower=True, unit_diagonal=True)
        x = triangular_solve(u, x, left_side=False, lower=False)
        return [lax.add(_mm(l, _tril(x, -1)), _mm(_triu(x), u)), None, None]
    return jvp


def _lu_jvp(primals, tangents, out):
    return _lu_jvp_fn(_proj_outs(out))(tangents)


def _lu_vjp(ct, out, a):
    outs = _proj_outs(out)
    return _transpose_jvp(_lu_jvp_fn(outs), [a], ct, outs)


def _eigh_F(w):
    # F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (degenerate pairs give inf, as in JAX).
    n = w.shape[-1]
    diffs = lax.sub(_rows(w, n), _cols(w, n))
    eye = _eye_like(diffs)
    return lax.sub(lax.div(1, lax.add(diffs, eye)), eye)


def _eigh_jvp(primals, tangents, out, lower=True, sort_eigenvalues=True):
    v, w = _proj_outs(out)
    vt_a_v = _mm(_T(v), _mm(tangents[0], v))
    return [_mm(v, lax.mul(_eigh_F(w), vt_a_v)), _diagonal(vt_a_v)]


def _eigh_vjp(ct, out, a, lower=True, sort_eigenvalues=True):
    v, w = _proj_outs(out)
    cv, cw = ct
    inner = _zeros(v) if cv is None else lax.mul(_eigh_F(w), _mm(_T(v), cv))
    if cw is not None:
        inner = lax.add(inner, _diag_embed(cw))
    return (_mm(v, _mm(inner, _T(v))),)


def _svd_jvp_fn(a, outs, full_matrices, compute_uv):
    if compute_uv and full_matrices and a.shape[-1] != a.shape[-2]:
        raise NotImplementedError("Differentiation rule for 'svd' not implemented with full_matrices=True for "
                                  f"non-square matrices (got {a.aval.str_short()}); use full_matrices=False")
    if compute_uv:
        u, s, vh = outs
    else:
        u, s, vh = svd_p.bind(a, full_matrices=False, compute_uv=True)

    def jvp(ts):
        da = ts[0]
        v = _T(vh)
        ds_mat = _mm(_T(u), _mm(da, v))
        ds = _diagonal(ds_mat)
        if not compute_uv:
            return [ds]
        k = s.shape[-1]
        sr, sc = _rows(s, k), _cols(s, k)
        diffs = lax.mul(lax.add(sr, sc), lax.sub(sr, sc))
        dz = lax.convert_element_type(lax.eq(diffs, _zeros(diffs)), s.dtype)
        F = lax.sub(lax.div(1, lax.add(diffs, dz)), dz)
        dss, sds = lax.mul(ds_mat, sr), lax.mul(sc, ds_mat)
        du = _mm(u, lax.mul(F, lax.add(dss, _T(dss))))
        dv = _mm(v, lax.mul(F, lax.add(sds, _T(sds))))
        m, n = a.shape[-2:]
        if m > n:
            dav = _mm(da, v)
            du = lax.add(du, lax.div(lax.sub(dav, _mm(u, _mm(_T(u), dav))), _rows(s, m)))
        if n > m:
            dau = _mm(_T(da), u)
            dv = lax.add(dv, lax.div(lax.sub(dau, _mm(v, _mm(vh, dau))), _rows(s, n)))
        return [du, ds, _T(dv)]
    return jvp


def _svd_jvp(primals, tangents, out, full_matrices, compute_uv):
    return _svd_jvp_fn(primals[0], _proj_outs(out), full_matrices, compute_uv)(tangents)


def _svd_vjp(ct, out, a, full_matrices, compute_uv):
    outs = _proj_outs(out)
    return _transpose_jvp(_svd_jvp_fn(a, outs, full_matrices, compute_uv), [a], ct, outs)


def _qr_jvp_fn(a, outs, full_matrices):
    m, n = a.shape[-2:]
    if m < n or (full_matrices and m != n):
        raise NotImplementedError("Differentiation rule for 'qr' not implemented for wide matrices or "
                                  f"full_matrices=True with m != n (got {a.aval.str_short()})")
    q, r = outs

    def jvp(ts):
        dx_rinv = triangular_solve(r, ts[0], left_side=False, lower=False)
        qt = _mm(_T(q), dx_rinv)
        low = _tril(qt, -1)
        do = lax.sub(low, _T(low))
        return [lax.add(_mm(q, lax.sub(do, qt)), dx_rinv), _mm(lax.sub(qt, do), r)]
    return jvp


def _qr_jvp(primals, tangents, out, full_matrices):
    return _qr_jvp_fn(primals[0], _proj_outs(out), full_matrices)(tangents)


def _qr_vjp(ct, out, a, full_matrices):
    outs = _proj_outs(out)
    return _transpose_jvp(_qr_jvp_fn(a, outs, full_matrices), [a], ct, outs)


jvp_rules.update({cholesky_p: _cholesky_jvp, triangular_solve_p: _triangular_solve_jvp, solve_p: _solve_jvp,
                  lu_p: _lu_jvp, eigh_p: _eigh_jvp, svd_p: _svd_jvp, qr_p: _qr_jvp})
vjp_rules.update({cholesky_p: _cholesky_vjp, triangular_solve_p: _triangular_solve_vjp, solve_p: _solve_vjp,
                  lu_p: _lu_vjp, eigh_p: _eigh_vjp, svd_p: _svd_vjp, qr_p: _qr_vjp})
def_batch_leading(*LINALG)
