"""gpuxla.numpy.linalg: linear algebra as in `jax.numpy.linalg`, plus the `lax.linalg` primitives.

>>> import gpuxla.numpy as jnp
>>> jnp.linalg.solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([1.0, 1.0]))
Array([0.5 , 0.25], dtype=float32)

Primitives (all act on the last two axes and batch over the leading ones):
  cholesky(a) -> L                      lower factor of a symmetric positive definite a (NaN if not)
  triangular_solve(a, b)                op(a) x = b or x op(a) = b for triangular a
  solve(a, b)                           a x = b (or a^T x = b) for square a, b (..., n, k)
  lu(a) -> (lu, pivots, permutation)    partial pivoting, LAPACK's getrf conventions
  eigh(a) -> (v, w)                     symmetric eigendecomposition, ascending eigenvalues
  svd(a) -> (u, s, vh) or (s,)
  qr(a) -> (q, r)
They are declared with their shape rules in core/extensions.py; their NumPy and CuPy (cuSOLVER)
rows are in backends/numpy/linalg.py and backends/cuda/library.py, their batching rows in
lax/linalg.py. Their lax-level wrappers and JVP/VJP rows are still here: they are written with
jnp helpers (tril, eye, matmul, take_along_axis), not yet with lax ops.
Everything else (inv, det, slogdet, pinv, norm, matrix_power, ...) is a composite.
Derivative rules follow the standard matrix-calculus identities (Murray 2016 for Cholesky,
Giles 2008 for the rest); VJPs without a short closed form are the transpose of the JVP, taken by
running `vjp` on the (linear) JVP graph.
"""
import builtins
import operator

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.extensions import check_matrix, cholesky_p, eigh_p, lu_p, qr_p, solve_p, svd_p, triangular_solve_p
from ..transforms.ad import jvp_rules, vjp_rules
from . import _lax_numpy as jnp
from . import _util, _ufuncs, _reductions, _creation, _linalg_basic, _sorting

__all__ = ["cholesky", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq", "matmul",
           "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
           "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
           "solve_triangular", "lu", "lu_factor"]

_LOW = (np.dtype(np.float16), np.dtype(dtypes.bfloat16))
_pymin = builtins.min


# --- lax-level wrappers (gpuxla.lax.linalg) --------------------------------------------------------
def _float_array(x, name, square=False):
    x = jnp.asarray(x)
    if not dtypes.is_inexact(x.dtype):
        x = x.astype(dtypes.default_float_dtype())
    if x.ndim < 2:
        raise ValueError(f"{name}: expected an array of rank >= 2 (..., m, n), got shape {x.shape}")
    if square:
        check_matrix(name, x.aval)
    return x


def _sym(x):
    return (x + jnp.swapaxes(x, -1, -2)) / 2


def lax_cholesky(x, *, symmetrize_input=True):
    """Lower Cholesky factor (lax.linalg.cholesky); NaN where x is not positive definite."""
    x = _float_array(x, "cholesky", square=True)
    return cholesky_p.bind(_sym(x) if symmetrize_input else x)


def triangular_solve(a, b, *, left_side=False, lower=False, transpose_a=False, conjugate_a=False,
                     unit_diagonal=False):
    """Solve op(a) x = b (left_side) or x op(a) = b for triangular a (lax.linalg.triangular_solve).
    Batch dimensions broadcast."""
    a, b = _float_array(a, "triangular_solve"), jnp.asarray(b)
    dt = dtypes.result_type(a, b)
    a, b = a.astype(dt), b.astype(dt)
    if b.ndim < 2:
        raise ValueError(f"triangular_solve: b must have rank >= 2, got shape {b.shape}")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a, b = jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(b, batch + b.shape[-2:])
    return triangular_solve_p.bind(a, b, left_side=bool(left_side), lower=bool(lower), transpose_a=bool(transpose_a),
                                   conjugate_a=bool(conjugate_a), unit_diagonal=bool(unit_diagonal))


def lax_lu(x):
    """(lu, pivots, permutation) with partial pivoting (lax.linalg.lu)."""
    return tuple(lu_p.bind(_float_array(x, "lu")))


def lax_eigh(x, *, lower=True, symmetrize_input=True, sort_eigenvalues=True, subset_by_index=None):
    """(v, w): eigenvectors (columns) and ascending eigenvalues of a symmetric x (lax.linalg.eigh)."""
    if subset_by_index is not None:
        raise NotImplementedError("eigh: subset_by_index is not supported by gpuxla")
    x = _float_array(x, "eigh", square=True)
    v, w = eigh_p.bind(_sym(x) if symmetrize_input else x, lower=bool(lower), sort_eigenvalues=True)
    return v, w


def lax_svd(x, *, full_matrices=True, compute_uv=True, subset_by_index=None, algorithm=None):
    """(u, s, vh), or s alone with compute_uv=False (lax.linalg.svd)."""
    if subset_by_index is not None:
        raise NotImplementedError("svd: subset_by_index is not supported by gpuxla")
    outs = svd_p.bind(_float_array(x, "svd"), full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    return tuple(outs) if compute_uv else outs[0]


def lax_qr(x, *, pivoting=False, full_matrices=True):
    if pivoting:
        raise NotImplementedError("qr: pivoting=True is not supported by gpuxla")
    return tuple(qr_p.bind(_float_array(x, "qr"), full_matrices=bool(full_matrices)))


def _solve_mat(a, b, transpose_a=False):
    return solve_p.bind(a, b, transpose_a=bool(transpose_a))


# --- small helpers for the rules -------------------------------------------------------------------
def _T(x):
    return jnp.swapaxes(x, -1, -2)


def _mm(a, b):
    return _linalg_basic.matmul(a, b)


def _eye_like(x, n=None):
    n = x.shape[-1] if n is None else n
    return _creation.eye(n, dtype=x.dtype)


def _zeros(x):
    return lax.full(x.shape, 0, x.dtype)


def _or_zeros(t, x):
    return _zeros(x) if t is None else t


def _diag_embed(v):
    return v[..., :, None] * _creation.eye(v.shape[-1], dtype=v.dtype)


def _transpose_jvp(jvp_fn, primals, cts, outs):
    """The VJP of a primitive whose JVP `jvp_fn(tangents) -> list of output tangents` is linear in
    the tangents: pull `cts` back through that linear graph with vjp."""
    from ..transforms import ad
    floats = [i for i, o in enumerate(outs) if dtypes.is_inexact(o.dtype)]
    zeros = [_zeros(p) for p in primals]
    _, pull = ad.vjp(lambda *ts: [jvp_fn(list(ts))[i] for i in floats], *zeros)
    return pull([_or_zeros(cts[i], outs[i]) for i in floats])


# --- derivative rules ------------------------------------------------------------------------------
def _phi(x):
    # lower triangle with the diagonal halved: the map taking L^-1 dA L^-T to L^-1 dL
    return _creation.tril(x) / (1 + _eye_like(x))


def _cholesky_jvp(primals, tangents, L):
    (t,) = tangents
    tmp = triangular_solve(L, t, left_side=False, lower=True, transpose_a=True)
    return _mm(L, _phi(triangular_solve(L, tmp, left_side=True, lower=True)))


def _cholesky_vjp(ct, L, a):
    p = _phi(_mm(_T(L), ct))
    y = triangular_solve(L, p, left_side=True, lower=True, transpose_a=True)
    return (triangular_solve(L, y, left_side=False, lower=True),)


def _tri_mask(a, lower, unit_diagonal):
    m = _creation.tril(a, -1 if unit_diagonal else 0) if lower else _creation.triu(a, 1 if unit_diagonal else 0)
    return m


def _op(a, transpose_a):
    return _T(a) if transpose_a else a


def _triangular_solve_jvp(primals, tangents, out, **p):
    (a, b), (ta, tb) = primals, tangents
    rhs = _or_zeros(tb, b)
    if ta is not None:
        da = _op(_tri_mask(ta, p["lower"], p["unit_diagonal"]), p["transpose_a"])
        rhs = rhs - (_mm(da, out) if p["left_side"] else _mm(out, da))
    return triangular_solve_p.bind(a, rhs, **p)


def _triangular_solve_vjp(ct, out, a, b, **p):
    cb = triangular_solve_p.bind(a, ct, **dict(p, transpose_a=not p["transpose_a"]))
    ca_op = -(_mm(cb, _T(out)) if p["left_side"] else _mm(_T(out), cb))
    ca = _tri_mask(_op(ca_op, p["transpose_a"]), p["lower"], p["unit_diagonal"])
    return ca, cb


def _solve_jvp(primals, tangents, x, transpose_a=False):
    (a, b), (ta, tb) = primals, tangents
    rhs = _or_zeros(tb, b)
    if ta is not None:
        rhs = rhs - _mm(_op(ta, transpose_a), x)
    return _solve_mat(a, rhs, transpose_a)


def _solve_vjp(ct, x, a, b, transpose_a=False):
    cb = _solve_mat(a, ct, not transpose_a)
    ca = -_mm(cb, _T(x))
    return (_T(ca) if transpose_a else ca), cb


def _lu_parts(lu_):
    m, n = lu_.shape[-2:]
    k = _pymin(m, n)
    l = _creation.tril(lu_[..., :, :k], -1) + _creation.eye(m, k, dtype=lu_.dtype)
    u = _creation.triu(lu_[..., :k, :])
    return l, u


def _lu_jvp_fn(outs):
    lu_, _, perm = outs
    l, u = _lu_parts(lu_)
    if lu_.shape[-1] != lu_.shape[-2]:
        raise NotImplementedError(f"Differentiation rule for 'lu' not implemented for non-square matrices "
                                  f"(got {lu_.aval.str_short()})")

    def jvp(ts):
        pa = _sorting.take_along_axis(ts[0], jnp.broadcast_to(perm[..., None], perm.shape + (lu_.shape[-1],)), axis=-2)
        x = triangular_solve(l, pa, left_side=True, lower=True, unit_diagonal=True)
        x = triangular_solve(u, x, left_side=False, lower=False)
        return [_mm(l, _creation.tril(x, -1)) + _mm(_creation.triu(x), u), None, None]
    return jvp


def _proj_outs(node):
    from ..core.graph import proj_p
    return [proj_p.bind(node, index=i) for i in range(len(node.aval))]


def _lu_jvp(primals, tangents, out):
    return _lu_jvp_fn(_proj_outs(out))(tangents)


def _lu_vjp(ct, out, a):
    outs = _proj_outs(out)
    return _transpose_jvp(_lu_jvp_fn(outs), [a], ct, outs)


def _eigh_F(w):
    # F_ij = 1 / (w_j - w_i) off the diagonal, 0 on it (degenerate pairs give inf, as in JAX).
    eye = _eye_like(w, w.shape[-1])
    return 1 / (w[..., None, :] - w[..., :, None] + eye) - eye


def _eigh_jvp(primals, tangents, out, lower=True, sort_eigenvalues=True):
    v, w = _proj_outs(out)
    vt_a_v = _mm(_T(v), _mm(tangents[0], v))
    return [_mm(v, _eigh_F(w) * vt_a_v), _creation.diagonal(vt_a_v, axis1=-2, axis2=-1)]


def _eigh_vjp(ct, out, a, lower=True, sort_eigenvalues=True):
    v, w = _proj_outs(out)
    cv, cw = ct
    inner = _zeros(v) if cv is None else _eigh_F(w) * _mm(_T(v), cv)
    if cw is not None:
        inner = inner + _diag_embed(cw)
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
        ds = _creation.diagonal(ds_mat, axis1=-2, axis2=-1)
        if not compute_uv:
            return [ds]
        sr, sc = s[..., None, :], s[..., :, None]
        diffs = (sr + sc) * (sr - sc)
        dz = (diffs == 0).astype(s.dtype)
        F = 1 / (diffs + dz) - dz
        dss, sds = ds_mat * sr, sc * ds_mat
        du = _mm(u, F * (dss + _T(dss)))
        dv = _mm(v, F * (sds + _T(sds)))
        m, n = a.shape[-2:]
        if m > n:
            dav = _mm(da, v)
            du = du + (dav - _mm(u, _mm(_T(u), dav))) / sr
        if n > m:
            dau = _mm(_T(da), u)
            dv = dv + (dau - _mm(v, _mm(vh, dau))) / sr
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
        low = _creation.tril(qt, -1)
        do = low - _T(low)
        return [_mm(q, do - qt) + dx_rinv, _mm(qt - do, r)]
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


# --- jnp.linalg ------------------------------------------------------------------------------------
def cholesky(a, *, upper=False, symmetrize_input=True):
    """The lower Cholesky factor L with a = L L^T (upper=True: the upper factor); NaN if a is not
    positive definite."""
    L = lax_cholesky(a, symmetrize_input=symmetrize_input)
    return _T(L) if upper else L


def solve(a, b):
    """x with a @ x = b; b may be a vector (..., n) or a stack of matrices (..., n, k)."""
    a = _float_array(a, "solve")
    b = jnp.asarray(b)
    dt = dtypes.result_type(a, b)
    dt = dt if dtypes.is_inexact(dt) else dtypes.default_float_dtype()
    a, b = a.astype(dt), b.astype(dt)
    check_matrix("solve", a.aval)
    if b.ndim > 1 and a.ndim == b.ndim + 1 and a.shape[-1] == b.shape[-1] and a.shape[-1] != b.shape[-2]:
        raise ValueError(f"Invalid shapes for solve: {a.shape}, {b.shape}. Prior to JAX v0.5.0, this would have been "
                         "treated as a batched 1-dimensional solve. To recover this behavior, use "
                         "solve(a, b[..., None]).squeeze(-1).")
    vec = b.ndim == 1      # as NumPy 2 and JAX >= 0.5: only a 1-D b is a vector
    if vec:
        b = b[..., None]
    if b.shape[-2] != a.shape[-1]:
        raise ValueError(f"solve: a {a.shape} and b {b.shape[:-1] if vec else b.shape} do not match "
                         f"(b's {'last' if vec else 'second-to-last'} dimension must be {a.shape[-1]})")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    x = _solve_mat(jnp.broadcast_to(a, batch + a.shape[-2:]), jnp.broadcast_to(b, batch + b.shape[-2:]))
    return x[..., 0] if vec else x


def inv(a):
    """The inverse of square a (a stack of them): solve(a, I)."""
    a = _float_array(a, "inv")
    check_matrix("inv", a.aval)
    return _solve_mat(a, jnp.broadcast_to(_eye_like(a), a.shape))


def _lu_det_parts(a):
    lu_, piv, _ = lax_lu(a)
    d = _creation.diagonal(lu_, axis1=-2, axis2=-1)
    swaps = _reductions.sum((piv != _creation.arange(piv.shape[-1], dtype=piv.dtype)).astype(np.int32), axis=-1)
    parity = _ufuncs.where(swaps % 2 == 1, -1.0, 1.0).astype(a.dtype)
    return d, parity


def _slogdet_impl(a):
    d, parity = _lu_det_parts(a)
    sign = parity * _reductions.prod(_ufuncs.sign(d), axis=-1)
    logabs = _reductions.sum(_ufuncs.log(_ufuncs.abs(d)), axis=-1)
    # a zero pivot: sign 0, log|det| = -inf (as NumPy and JAX)
    return sign, _ufuncs.where(sign == 0, -jnp.inf, logabs)


def _trace_solve(a, t):
    return _creation.trace(solve(a, t), axis1=-2, axis2=-1)


def _adjugate(a, d):
    """adj(a), the derivative of det: det(a) inv(a) where that is finite, else (a singular a) from
    the SVD, adj(U S V^T) = det(U) det(V) V diag(prod_{j != i} s_j) U^T. The SVD branch is
    first-order only (stop_gradient): its own derivative is singular where singular values repeat."""
    adj_inv = d[..., None, None] * inv(a)
    ok = _reductions.all(_ufuncs.isfinite(adj_inv), axis=(-2, -1), keepdims=True)
    u, sv, vh = lax_svd(a, full_matrices=False)
    n = sv.shape[-1]
    left = jnp.concatenate([jnp.ones_like(sv[..., :1]), _reductions.cumprod(sv[..., :-1], axis=-1)], axis=-1)
    right = jnp.concatenate([jnp.flip(_reductions.cumprod(jnp.flip(sv[..., 1:], -1), axis=-1), -1),
                             jnp.ones_like(sv[..., :1])], axis=-1) if n > 1 else jnp.ones_like(sv)
    others = left * right
    sign = _lu_det_sign(u) * _lu_det_sign(vh)
    adj_svd = sign[..., None, None] * _mm(_T(vh) * others[..., None, :], _T(u))
    return _ufuncs.where(ok, adj_inv, lax.stop_gradient(adj_svd))


def _lu_det_sign(q):
    # det of an orthogonal matrix (+-1) through its LU factorisation
    d, parity = _lu_det_parts(q)
    return parity * _reductions.prod(_ufuncs.sign(d), axis=-1)


def _make_det_fns():
    from ..transforms.ad import custom_jvp

    @custom_jvp
    def det_(a):
        d, parity = _lu_det_parts(a)
        return parity * _reductions.prod(d, axis=-1)

    # d det = tr(adj(a) da), finite for singular a too (JAX uses a cofactor solve)
    det_.defjvps(lambda t, ans, a: _reductions.sum(_T(_adjugate(a, ans)) * t, axis=(-2, -1)))

    @custom_jvp
    def slogdet_(a):
        return _slogdet_impl(a)

    @slogdet_.defjvp
    def _(primals, tangents):
        (a,), (t,) = primals, tangents
        sign, logabs = slogdet_(a)
        return (sign, logabs), (jnp.zeros_like(sign), _trace_solve(a, t))
    return det_, slogdet_


_det, _slogdet = _make_det_fns()


def det(a):
    """The determinant, by LU factorisation."""
    a = _float_array(a, "det")
    check_matrix("det", a.aval)
    return _det(a)


class SlogdetResult(tuple):
    """(sign, logabsdet), also readable by name as in JAX."""
    sign = property(operator.itemgetter(0))
    logabsdet = property(operator.itemgetter(1))

    def __new__(cls, sign, logabsdet):
        return tuple.__new__(cls, (sign, logabsdet))


def slogdet(a, *, method=None):
    """(sign, log|det|) by LU factorisation."""
    a = _float_array(a, "slogdet")
    check_matrix("slogdet", a.aval)
    return SlogdetResult(*_slogdet(a))


class EighResult(tuple):
    eigenvalues = property(operator.itemgetter(0))
    eigenvectors = property(operator.itemgetter(1))

    def __new__(cls, w, v):
        return tuple.__new__(cls, (w, v))


def eigh(a, UPLO=None, symmetrize_input=True):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix."""
    v, w = lax_eigh(a, lower=UPLO in (None, "L"), symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", symmetrize_input=True):
    return eigh(a, UPLO, symmetrize_input)[0]


class SVDResult(tuple):
    U = property(operator.itemgetter(0))
    S = property(operator.itemgetter(1))
    Vh = property(operator.itemgetter(2))

    def __new__(cls, u, s, vh):
        return tuple.__new__(cls, (u, s, vh))


def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """u, s, vh with a = u @ diag(s) @ vh (singular values descending)."""
    if not compute_uv:
        return lax_svd(a, full_matrices=full_matrices, compute_uv=False, subset_by_index=subset_by_index)
    return SVDResult(*lax_svd(a, full_matrices=full_matrices, compute_uv=True, subset_by_index=subset_by_index))


def svdvals(x):
    return svd(x, compute_uv=False)


class QRResult(tuple):
    Q = property(operator.itemgetter(0))
    R = property(operator.itemgetter(1))

    def __new__(cls, q, r):
        return tuple.__new__(cls, (q, r))


def qr(a, mode="reduced"):
    """The QR decomposition; mode 'reduced', 'complete' or 'r'."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = lax_qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def _default_rtol(a):
    return max(a.shape[-2:]) * np.finfo(np.dtype(a.dtype) if a.dtype not in _LOW else np.float32).eps


def _pinv_impl(a, rtol):
    u, s, vh = lax_svd(a, full_matrices=False)
    cutoff = jnp.asarray(rtol, s.dtype)[..., None] * _reductions.max(s, axis=-1, keepdims=True)
    sinv = _ufuncs.where(s > cutoff, 1 / _ufuncs.where(s > cutoff, s, 1), 0).astype(s.dtype)
    return _mm(_T(vh) * sinv[..., None, :], _T(u))


_PINV = {}


def pinv(a, rtol=None, hermitian=False, *, rcond=None):
    """The Moore-Penrose pseudo-inverse by SVD; singular values below rtol * max(s) count as zero.
    Its derivative is the Golub-Pereyra formula (as JAX), not the SVD's."""
    a = _float_array(a, "pinv")
    rtol = rcond if rcond is not None else rtol
    rtol = _default_rtol(a) if rtol is None else float(rtol)
    f = _PINV.get(rtol)
    if f is None:
        from ..transforms.ad import custom_jvp
        f = _PINV[rtol] = custom_jvp(lambda x: _pinv_impl(x, rtol))

        def jvp(primals, tangents):
            (x,), (t,) = primals, tangents
            p = f(x)
            m, n = x.shape[-2:]
            pt = _mm(p, t)
            dp = -_mm(pt, p) + _mm(_mm(p, _T(p)), _mm(_T(t), _eye_like(x, m) - _mm(x, p))) \
                + _mm(_mm(_eye_like(x, n) - _mm(p, x), _T(t)), _mm(_T(p), p))
            return p, dp
        f.defjvp(jvp)
    return f(a)


def matrix_power(a, n):
    """a @ a @ ... (n times) by repeated squaring; negative n uses inv(a)."""
    a = jnp.asarray(a)
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError(f"matrix_power: exponent must be an integer, got {n!r}") from None
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"matrix_power: expected square matrices (..., n, n), got shape {a.shape}")
    if n == 0:
        return jnp.broadcast_to(_creation.eye(a.shape[-1], dtype=a.dtype), a.shape)
    if n < 0:
        a, n = inv(a), -n
    result, base = None, a
    while n:
        if n & 1:
            result = base if result is None else _mm(result, base)
        n >>= 1
        if n:
            base = _mm(base, base)
    return result


def _as_float(x):
    x = jnp.asarray(x)
    return x if dtypes.is_inexact(x.dtype) else x.astype(dtypes.default_float_dtype())


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    x = _as_float(x)
    if axis is None:
        r = vector_norm(jnp.ravel(x), axis=0, ord=ord)
        return jnp.reshape(r, (1,) * x.ndim) if keepdims else r
    ax = axis
    a = _ufuncs.abs(x)
    if ord is None or ord == 2:
        return _ufuncs.sqrt(_reductions.sum(x * x, axis=ax, keepdims=keepdims))
    if ord == np.inf:
        return _reductions.max(a, axis=ax, keepdims=keepdims)
    if ord == -np.inf:
        return _reductions.min(a, axis=ax, keepdims=keepdims)
    if ord == 0:
        return _reductions.sum((x != 0).astype(x.dtype), axis=ax, keepdims=keepdims)
    if ord == 1:
        return _reductions.sum(a, axis=ax, keepdims=keepdims)
    if isinstance(ord, str):
        raise ValueError(f"Invalid order '{ord}' for vector norm.")
    p = jnp.asarray(ord, x.dtype)
    return _reductions.sum(a ** p, axis=ax, keepdims=keepdims) ** (1 / p)


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    return norm(x, ord=ord, axis=(-2, -1), keepdims=keepdims)


def norm(x, ord=None, axis=None, keepdims=False):
    """Vector or matrix norm, as numpy.linalg.norm (ord None/'fro'/'nuc'/inf/-inf/0/1/-1/2/-2/p)."""
    x = _as_float(x)
    if axis is None:
        if ord is None:
            r = _ufuncs.sqrt(_reductions.sum(x * x))
            return jnp.reshape(r, (1,) * x.ndim) if keepdims else r
        if x.ndim not in (1, 2):
            raise ValueError("Improper number of dimensions to norm.")
        axis = tuple(range(x.ndim))
    axis = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    axis = tuple(_util._canon_axis(a, x.ndim, "norm") for a in axis)
    if len(axis) == 1:
        return vector_norm(x, axis=axis[0], keepdims=keepdims, ord=ord)
    if len(axis) != 2:
        raise ValueError(f"Improper number of axes for norm: axis={axis}")
    r, c = axis
    if ord is None or ord == "fro":
        return _ufuncs.sqrt(_reductions.sum(x * x, axis=axis, keepdims=keepdims))
    if ord in (1, -1):
        red = _reductions.max if ord == 1 else _reductions.min
        out = red(_reductions.sum(_ufuncs.abs(x), axis=r, keepdims=True), axis=c, keepdims=True)
    elif ord in (np.inf, -np.inf):
        red = _reductions.max if ord == np.inf else _reductions.min
        out = red(_reductions.sum(_ufuncs.abs(x), axis=c, keepdims=True), axis=r, keepdims=True)
    elif ord in (2, -2, "nuc"):
        y = jnp.moveaxis(x, (r, c), (-2, -1))
        s = svd(y, compute_uv=False)
        out = _reductions.max(s, axis=-1) if ord == 2 else _reductions.min(s, axis=-1) if ord == -2 else _reductions.sum(s, axis=-1)
        if keepdims:
            out = jnp.expand_dims(out, tuple(sorted(axis)))
        return out
    else:
        raise ValueError(f"Invalid order '{ord}' for matrix norm.")
    return out if keepdims else jnp.squeeze(out, axis)


def matrix_rank(M, rtol=None, *, tol=None):
    M = _float_array(M, "matrix_rank")
    s = svd(M, compute_uv=False)
    if tol is None:
        rtol = _default_rtol(M) if rtol is None else rtol
        tol = _reductions.max(s, axis=-1, keepdims=True) * jnp.asarray(rtol, s.dtype)
    else:
        tol = jnp.asarray(tol, s.dtype)[..., None]
    return _reductions.sum((s > tol).astype(np.int32), axis=-1)


def cond(x, p=None):
    """The condition number; p None/2/-2 by SVD, other orders as norm(x) * norm(inv(x))."""
    x = _float_array(x, "cond")
    if p in (None, 2, -2):
        s = svd(x, compute_uv=False)
        return s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
    return norm(x, p, axis=(-2, -1)) * norm(inv(x), p, axis=(-2, -1))


def lstsq(a, b, rcond=None, *, numpy_resid=False):
    """Least-squares solution of a x = b by the pseudo-inverse: (x, residuals, rank, s)."""
    a = _float_array(a, "lstsq")
    b = jnp.asarray(b).astype(a.dtype)
    vec = b.ndim == 1
    b2 = b[:, None] if vec else b
    m, n = a.shape
    s = svd(a, compute_uv=False)
    rtol = (max(m, n) * np.finfo(np.float32 if a.dtype in _LOW else a.dtype).eps) if rcond is None else rcond
    x = _mm(pinv(a, rtol), b2)
    rank = matrix_rank(a, rtol)
    resid = _reductions.sum((b2 - _mm(a, x)) ** 2, axis=0)
    if numpy_resid and (int(rank) < n or m <= n):
        resid = jnp.asarray([], a.dtype)
    return (x[:, 0] if vec else x), (resid[0:1] if vec and resid.size else resid), rank, s


def multi_dot(arrays, *, precision=None):
    arrays = [jnp.asarray(x) for x in arrays]
    if len(arrays) < 2:
        raise ValueError("multi_dot: expecting at least two arrays")
    out = arrays[0]
    for x in arrays[1:]:
        out = _linalg_basic.matmul(out, x, precision=precision)
    return out


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False, debug=None, check_finite=True):
    """scipy.linalg.solve_triangular: b may be a vector (n,) or (..., n, k)."""
    b = jnp.asarray(b)
    vec = b.ndim == 1
    x = triangular_solve(a, b[:, None] if vec else b, left_side=True, lower=lower,
                         transpose_a=trans in (1, 2, "T", "C"), unit_diagonal=unit_diagonal)
    return x[:, 0] if vec else x


def lu_factor(a):
    """(lu, piv) with LAPACK's row interchanges, as scipy.linalg.lu_factor."""
    lu_, piv, _ = lax_lu(a)
    return lu_, piv


def lu(a, permute_l=False):
    """(p, l, u) with a = p @ l @ u, as scipy.linalg.lu."""
    lu_, _, perm = lax_lu(a)
    l, u = _lu_parts(lu_)
    m = lu_.shape[-2]
    p = jnp.swapaxes(_creation.eye(m, dtype=lu_.dtype)[perm], -1, -2)
    return (_mm(p, l), u) if permute_l else (p, l, u)


def matmul(x1, x2, /, *, precision=None, preferred_element_type=None):
    return _linalg_basic.matmul(x1, x2, precision=precision, preferred_element_type=preferred_element_type)


def matrix_transpose(x, /):
    return jnp.matrix_transpose(x)


def outer(x1, x2, /):
    x1, x2 = jnp.asarray(x1), jnp.asarray(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError(f"linalg.outer takes 1-dimensional arrays, got shapes {x1.shape} and {x2.shape}")
    return _linalg_basic.outer(x1, x2)


def cross(x1, x2, /, *, axis=-1):
    return _linalg_basic.cross(x1, x2, axis=axis)


def trace(x, /, *, offset=0, dtype=None):
    return _creation.trace(x, offset, axis1=-2, axis2=-1, dtype=dtype)


def diagonal(x, /, *, offset=0):
    return _creation.diagonal(x, offset, axis1=-2, axis2=-1)


def vecdot(x1, x2, /, *, axis=-1, precision=None, preferred_element_type=None):
    return _linalg_basic.vecdot(x1, x2, axis=axis)


def tensordot(x1, x2, /, *, axes=2, precision=None, preferred_element_type=None):
    return _linalg_basic.tensordot(x1, x2, axes=axes)


def lu_pivots_to_permutation(pivots, permutation_size):
    """The row permutation that LAPACK-style `pivots` (row j swapped with pivots[j], in order)
    describe, as lax.linalg.lu_pivots_to_permutation."""
    piv = jnp.asarray(pivots)
    k = piv.shape[-1]
    idx = _creation.arange(permutation_size, dtype=piv.dtype)
    perm = jnp.broadcast_to(idx, piv.shape[:-1] + (permutation_size,))
    for j in range(k):
        p = piv[..., j:j + 1]
        a = perm[..., j:j + 1]
        b = _sorting.take_along_axis(perm, p, axis=-1)
        perm = _ufuncs.where(idx == j, b, _ufuncs.where(idx == p, a, perm))
    return perm
