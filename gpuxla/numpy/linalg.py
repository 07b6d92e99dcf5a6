"""gpuxla.numpy.linalg: linear algebra as in `jax.numpy.linalg`.

>>> import gpuxla.numpy as jnp
>>> jnp.linalg.solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([1.0, 1.0]))
Array([0.5 , 0.25], dtype=float32)

The factorisations (cholesky, eigh, svd, qr, lu) and triangular and square solves are the
primitives of gpuxla.lax.linalg, where their wrappers and all their rules live. Everything else
(inv, det, slogdet, pinv, norm, matrix_power, ...) is a composite of them.
"""
import collections
import operator

import numpy as np

from .. import lax
from ..core import dtypes
from ..core.extensions import check_matrix
from ..lax.linalg import _lu_parts, _solve_mat, triangular_solve
from . import _lax_numpy as jnp
from . import _util, _ufuncs, _reductions, _creation, _linalg_basic

__all__ = ["cholesky", "cond", "cross", "det", "diagonal", "eigh", "eigvalsh", "inv", "lstsq", "matmul",
           "matrix_norm", "matrix_power", "matrix_rank", "matrix_transpose", "multi_dot", "norm", "outer",
           "pinv", "qr", "slogdet", "solve", "svd", "svdvals", "tensordot", "trace", "vecdot", "vector_norm",
           "solve_triangular", "lu", "lu_factor"]

_LOW = (np.dtype(np.float16), np.dtype(dtypes.bfloat16))


def _float_array(x, name, square=False):
    # jnp's asarray first: nested lists holding Arrays are array literals here, not in lax.
    return lax.linalg._float_array(jnp.asarray(x), name, square)


def _T(x):
    return jnp.swapaxes(x, -1, -2)


def _mm(a, b):
    return _linalg_basic.matmul(a, b)


def _eye_like(x, n=None):
    n = x.shape[-1] if n is None else n
    return _creation.eye(n, dtype=x.dtype)


# --- jnp.linalg ------------------------------------------------------------------------------------
def cholesky(a, *, upper=False, symmetrize_input=True):
    """The lower Cholesky factor L with a = L L^T (upper=True: the upper factor); NaN if a is not
    positive definite."""
    L = lax.linalg.cholesky(jnp.asarray(a), symmetrize_input=symmetrize_input)
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
    lu_, piv, _ = lax.linalg.lu(a)
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
    u, sv, vh = lax.linalg.svd(a, full_matrices=False)
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


# Named results, as JAX's: namedtuples, so they are pytrees (jit, vmap and tree_map see two leaves).
SlogdetResult = collections.namedtuple("SlogdetResult", "sign logabsdet")


def slogdet(a, *, method=None):
    """(sign, log|det|) by LU factorisation."""
    a = _float_array(a, "slogdet")
    check_matrix("slogdet", a.aval)
    return SlogdetResult(*_slogdet(a))


EighResult = collections.namedtuple("EighResult", "eigenvalues eigenvectors")


def eigh(a, UPLO=None, symmetrize_input=True):
    """(eigenvalues ascending, eigenvectors as columns) of a symmetric matrix."""
    v, w = lax.linalg.eigh(jnp.asarray(a), lower=UPLO in (None, "L"), symmetrize_input=symmetrize_input)
    return EighResult(w, v)


def eigvalsh(a, UPLO="L", symmetrize_input=True):
    return eigh(a, UPLO, symmetrize_input)[0]


SVDResult = collections.namedtuple("SVDResult", "U S Vh")


def svd(a, full_matrices=True, compute_uv=True, hermitian=False, subset_by_index=None):
    """u, s, vh with a = u @ diag(s) @ vh (singular values descending)."""
    if not compute_uv:
        return lax.linalg.svd(jnp.asarray(a), full_matrices=full_matrices, compute_uv=False,
                              subset_by_index=subset_by_index)
    return SVDResult(*lax.linalg.svd(jnp.asarray(a), full_matrices=full_matrices, compute_uv=True,
                                     subset_by_index=subset_by_index))


def svdvals(x):
    return svd(x, compute_uv=False)


QRResult = collections.namedtuple("QRResult", "Q R")


def qr(a, mode="reduced"):
    """The QR decomposition; mode 'reduced', 'complete' or 'r'."""
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(f"Unsupported QR decomposition mode '{mode}'")
    q, r = lax.linalg.qr(jnp.asarray(a), full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


def _default_rtol(a):
    return max(a.shape[-2:]) * np.finfo(np.dtype(a.dtype) if a.dtype not in _LOW else np.float32).eps


def _pinv_impl(a, rtol):
    u, s, vh = lax.linalg.svd(a, full_matrices=False)
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
        reduce = {2: _reductions.max, -2: _reductions.min}.get(ord, _reductions.sum)
        out = reduce(s, axis=-1)
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
    x = triangular_solve(jnp.asarray(a), b[:, None] if vec else b, left_side=True, lower=lower,
                         transpose_a=trans in (1, 2, "T", "C"), unit_diagonal=unit_diagonal)
    return x[:, 0] if vec else x


def lu_factor(a):
    """(lu, piv) with LAPACK's row interchanges, as scipy.linalg.lu_factor."""
    lu_, piv, _ = lax.linalg.lu(jnp.asarray(a))
    return lu_, piv


def lu(a, permute_l=False):
    """(p, l, u) with a = p @ l @ u, as scipy.linalg.lu."""
    lu_, _, perm = lax.linalg.lu(jnp.asarray(a))
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


# --- non-symmetric eigenproblems and tensor solves ---------------------------------------------
EigResult = collections.namedtuple("EigResult", "eigenvalues eigenvectors")


def _eig_host(a):
    """(w, v) of the square matrices `a` by LAPACK's geev through NumPy on the host, as JAX does
    on CPU: always complex (a real matrix's eigenvalues may pair up), in JAX's complex dtype."""
    from .._api import pure_callback
    a = jnp.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"The input to eig must be a square matrix. Got shape {a.shape}.")
    if not dtypes.is_inexact(a.dtype):
        a = a.astype(dtypes.default_float_dtype())
    if a.dtype in _LOW:
        a = a.astype(np.float32)
    cdt = np.dtype(np.complex128) if a.dtype in (np.float64, np.complex128) else np.dtype(np.complex64)

    def host(x):
        w, v = np.linalg.eig(np.asarray(x))
        return w.astype(cdt), v.astype(cdt)
    from .._api import ShapeDtypeStruct
    specs = (ShapeDtypeStruct(a.shape[:-1], cdt), ShapeDtypeStruct(a.shape, cdt))
    return a, pure_callback(host, specs, a, vmap_method="expand_dims")


def _eigvals_impl(a):
    return _eig_host(a)[1][0]


def _eigvals_jvp(primals, tangents):
    # dw = diag(V^-1 dA V) for distinct eigenvalues (as JAX's rule), from a second, eigenvector
    # call: eigvals' own output carries no eigenvectors.
    (a,), (da,) = primals, tangents
    _, (w, v) = _eig_host(a)
    da = jnp.asarray(da).astype(v.dtype)
    return w, _reductions.sum(solve(v, da) * _T(v), axis=-1)


def _make_eig_fns():
    from ..transforms.ad import custom_jvp
    ev = custom_jvp(_eigvals_impl)
    ev.defjvp(_eigvals_jvp)

    def eig_impl(a):
        return _eig_host(a)[1]
    e = custom_jvp(eig_impl)

    def eig_jvp(primals, tangents):
        raise NotImplementedError(
            "jnp.linalg.eig: derivatives of non-symmetric eigenvectors are not in gpuxla (JAX computes them only "
            "with lax.linalg.eig(enable_eigvec_derivs=True)); differentiate jnp.linalg.eigvals, or use eigh for "
            "symmetric matrices")
    e.defjvp(eig_jvp)
    return ev, e


_eigvals_fn, _eig_fn = _make_eig_fns()


def eig(a):
    """Eigenvalues and right eigenvectors (unit columns) of square matrices, complex, computed on
    the host by LAPACK (jnp.linalg.eig as on JAX's CPU backend); works under jit and vmap. Not
    differentiable (JAX neither, by default); eigvals is."""
    w, v = _eig_fn(a)
    return EigResult(w, v)


def eigvals(a):
    """The complex eigenvalues of square matrices (host LAPACK, as eig); differentiable where the
    eigenvalues are distinct."""
    return _eigvals_fn(a)


def tensorinv(a, ind=2):
    """The inverse of `a` seen as a matrix of its first `ind` axes by the rest (np.linalg.tensorinv):
    shape a.shape[ind:] + a.shape[:ind]."""
    a = jnp.asarray(a)
    ind = operator.index(ind)
    if ind <= 0:
        raise ValueError(f"ind must be a positive integer, got {ind}")
    rows, cols = a.shape[:ind], a.shape[ind:]
    n, m = int(np.prod(rows, dtype=np.int64)), int(np.prod(cols, dtype=np.int64))
    if n != m:
        raise ValueError(f"tensorinv: the first {ind} axes of a (size {n}) and the rest (size {m}) must have "
                         f"the same size, got shape {a.shape}")
    return jnp.reshape(inv(jnp.reshape(a, (n, m))), cols + rows)


def tensorsolve(a, b, axes=None):
    """x with tensordot(a, x, x.ndim) == b (np.linalg.tensorsolve); `axes` of a move to the end first."""
    a, b = jnp.asarray(a), jnp.asarray(b)
    if axes is not None:
        axes = [ax % a.ndim for ax in axes]
        a = jnp.moveaxis(a, axes, list(range(a.ndim - len(axes), a.ndim)))
    out_shape = a.shape[b.ndim:]
    n = int(np.prod(b.shape, dtype=np.int64))
    m = int(np.prod(out_shape, dtype=np.int64))
    if a.shape[:b.ndim] != b.shape or n != m:
        raise ValueError(f"tensorsolve: a's leading axes {a.shape[:b.ndim]} must be b's shape {b.shape} and the "
                         f"rest {out_shape} of the same size")
    return jnp.reshape(solve(jnp.reshape(a, (n, m)), jnp.ravel(b)), out_shape)


__all__ += ["eig", "eigvals", "tensorinv", "tensorsolve"]
