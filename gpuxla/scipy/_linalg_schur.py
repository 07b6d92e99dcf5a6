"""jax.scipy.linalg's Schur family: schur, hessenberg, sqrtm, funm, solve_sylvester, and the
tridiagonal eigensolver eigh_tridiagonal.

schur and hessenberg are LAPACK's gees / gehrd, which JAX also runs on the host on CPU only: here
they run on the host through SciPy (a host callback, so they work under jit and vmap) and, as in
JAX, have no derivative. sqrtm, funm and solve_sylvester build on the complex Schur form the way
JAX's do (Björck-Hammarling for sqrtm, Parlett's recurrence for funm, Bartels-Stewart or the
eigendecomposition for solve_sylvester). eigh_tridiagonal is a composite of eigh on the dense
tridiagonal matrix, so it differentiates and runs on every platform.
"""
import numpy as np

from .. import numpy as jnp
from ..core import dtypes
from ..numpy import linalg as _la

__all__ = ["schur", "hessenberg", "sqrtm", "funm", "solve_sylvester", "eigh_tridiagonal"]


def _scipy_linalg(api):
    try:
        import scipy.linalg
    except ImportError:
        raise NotImplementedError(f"jax.scipy.linalg.{api} runs LAPACK on the host through SciPy in gpuxla; "
                                  f"install scipy to use it") from None
    return scipy.linalg


def _square(a, api):
    a = jnp.asarray(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ValueError(f"{api}: expected a square matrix (or a batch of them), got shape {a.shape}")
    if not dtypes.is_inexact(a.dtype):
        a = a.astype(dtypes.default_float_dtype())
    if a.dtype in (np.float16, dtypes.bfloat16):
        a = a.astype(np.float32)
    return a


def _complex_of(dt):
    return np.dtype(np.complex128) if np.dtype(dt) in (np.float64, np.complex128) else np.dtype(np.complex64)


def _batched(fn, *xs):
    """fn over the leading batch axes of NumPy arrays (host side), stacking each of its outputs."""
    batch = xs[0].shape[:-2]
    if not batch:
        return fn(*xs)
    outs = [fn(*(x[i] for x in xs)) for i in np.ndindex(batch)]
    return tuple(np.stack([o[k] for o in outs]).reshape(batch + outs[0][k].shape) for k in range(len(outs[0])))


def _host(api, fn, specs, *args):
    from .._api import ShapeDtypeStruct
    from ..debug import _pure_callback
    specs = tuple(ShapeDtypeStruct(s, d) for s, d in specs)
    return _pure_callback(fn, specs, args, {}, "sequential", api=f"jax.scipy.linalg.{api}")


def schur(a, output="real"):
    """(T, Z) with a = Z T Z^H, T upper (quasi-)triangular (scipy.linalg.schur). output="real"
    gives the real Schur form of a real matrix (2x2 blocks for complex pairs), "complex" a
    triangular complex T."""
    if output not in ("real", "complex"):
        raise ValueError(f"schur: output must be 'real' or 'complex', got {output!r}")
    a = _square(a, "schur")
    sl = _scipy_linalg("schur")
    dt = _complex_of(a.dtype) if output == "complex" else a.dtype

    def host(x):
        return _batched(lambda m: tuple(v.astype(dt) for v in sl.schur(m, output=output)), np.asarray(x))
    return _host("schur", host, [(a.shape, dt), (a.shape, dt)], a)


def hessenberg(a, *, calc_q=False, overwrite_a=False, check_finite=True):
    """H (and Q with calc_q) with a = Q H Q^H, H upper Hessenberg (scipy.linalg.hessenberg)."""
    a = _square(a, "hessenberg")
    sl = _scipy_linalg("hessenberg")

    def host(x):
        def one(m):
            out = sl.hessenberg(m, calc_q=True)
            return tuple(v.astype(a.dtype) for v in out)
        return _batched(one, np.asarray(x))
    h, q = _host("hessenberg", host, [(a.shape, a.dtype), (a.shape, a.dtype)], a)
    return (h, q) if calc_q else h


def _sqrtm_triu(t):
    """The upper-triangular square root of the upper-triangular t (Björck-Hammarling), NumPy."""
    n = t.shape[0]
    u = np.zeros_like(t)
    d = np.sqrt(np.diag(t))
    u[np.diag_indices(n)] = d
    for j in range(n):
        for i in range(j - 1, -1, -1):
            s = u[i, i + 1:j] @ u[i + 1:j, j]
            den = d[i] + d[j]
            u[i, j] = 0.0 if t[i, j] == s else (t[i, j] - s) / den
    return u


def sqrtm(A, blocksize=1):
    """The principal matrix square root, complex (as JAX's): Z sqrt(T) Z^H from the complex Schur
    form, the triangular root by Björck and Hammarling's recurrence (scipy.linalg.sqrtm)."""
    if blocksize != 1:
        raise NotImplementedError("sqrtm: blocked version of sqrtm is not implemented (blocksize=1 only, as JAX)")
    a = _square(A, "sqrtm")
    sl = _scipy_linalg("sqrtm")
    dt = _complex_of(a.dtype)

    def host(x):
        def one(m):
            t, z = sl.schur(m.astype(dt), output="complex")
            return ((z @ _sqrtm_triu(t) @ z.conj().T).astype(dt),)
        return _batched(one, np.asarray(x))
    (out,) = _host("sqrtm", host, [(a.shape, dt)], a)
    return out


def _parlett(t, fdiag):
    """F = f(T) for upper-triangular T from f on its diagonal (Parlett's recurrence), NumPy; also
    SciPy's error estimate."""
    n = t.shape[0]
    f = np.diag(fdiag).astype(t.dtype)
    minden = np.inf
    for p in range(1, n):
        for i in range(n - p):
            j = i + p
            s = t[i, j] * (f[j, j] - f[i, i])
            k = np.arange(i + 1, j)
            s = s + t[i, k] @ f[k, j] - f[i, k] @ t[k, j]
            den = t[j, j] - t[i, i]
            if den != 0:
                s = s / den
            f[i, j] = s
            minden = min(minden, abs(den)) if den != 0 else minden
    tol = np.finfo(t.dtype).eps
    minden = minden if np.isfinite(minden) and minden > 0 else tol
    err = min(1.0, max(tol, (tol / minden) * np.linalg.norm(np.triu(t, 1), 1)))
    return f, err


def funm(A, func, disp=True):
    """f(A) for a scalar function `func` written with jnp operations (scipy.linalg.funm): the complex
    Schur form on the host, func on its diagonal (traced like any gpuxla code), Parlett's recurrence
    for the rest. Complex output, as JAX's; with disp=False, also SciPy's error estimate."""
    a = _square(A, "funm")
    if a.ndim != 2:
        raise ValueError(f"funm: expected a 2-D square matrix, got shape {a.shape}")
    t, z = schur(a, output="complex")
    fd = jnp.asarray(func(jnp.diagonal(t))).astype(t.dtype)
    rdt = np.dtype(np.float64) if t.dtype == np.complex128 else np.dtype(np.float32)

    def host(tt, ff):
        f, err = _parlett(np.asarray(tt), np.asarray(ff))
        return f.astype(t.dtype), np.asarray(err, rdt)
    f, err = _host("funm", host, [(t.shape, t.dtype), ((), rdt)], t, fd)
    out = jnp.matmul(jnp.matmul(z, f), jnp.conj(z.T))
    return out if disp else (out, err)


def solve_sylvester(A, B, C, *, method="schur", tol=1e-8):
    """X with A X + X B = C (scipy.linalg.solve_sylvester). method "schur": Bartels-Stewart on the
    host (LAPACK trsyl through SciPy); "eigen": through the eigendecompositions of A and B. As JAX:
    real for real C, and all NaN where some eigenvalue sum |a_i + b_j| < tol (no unique solution)."""
    A, B, C = (jnp.asarray(x) for x in (A, B, C))
    dt = jnp.result_type(A, B, C)
    if not dtypes.is_inexact(dt):
        dt = dtypes.default_float_dtype()
    A, B, C = (x.astype(dt) for x in (A, B, C))
    m, n = C.shape[-2:]
    if A.shape[-2:] != (m, m) or B.shape[-2:] != (n, n) or C.ndim != 2:
        raise ValueError(f"Incompatible shapes for Sylvester equation:\nA: {A.shape}\nB: {B.shape}\nC: {C.shape}")
    if method == "schur":
        sl = _scipy_linalg("solve_sylvester")

        def host(a, b, c):
            return (np.asarray(sl.solve_sylvester(np.asarray(a), np.asarray(b), np.asarray(c))).astype(dt),)
        (X,) = _host("solve_sylvester", host, [(C.shape, dt)], A, B, C)
    elif method == "eigen":
        wa, va = _la.eig(A)
        wb, vb = _la.eig(B)
        F = _la.solve(va, jnp.matmul(C.astype(wa.dtype), vb))
        X = jnp.matmul(jnp.matmul(va, F / (wa[:, None] + wb[None, :])), _la.inv(vb))
        if not np.issubdtype(dt, np.complexfloating):
            X = jnp.real(X)
    else:
        raise ValueError(f'Unrecognized method {method}. The two valid methods are either "schur" or "eigen".')
    sums = jnp.abs(_la.eigvals(A)[:, None] + _la.eigvals(B)[None, :])
    return jnp.where(jnp.any(sums < tol), jnp.full_like(X, np.nan), X)


def eigh_tridiagonal(d, e, *, eigvals_only=False, select="a", select_range=None, tol=None, key=None):
    """Eigenvalues (ascending; and eigenvectors as columns) of the symmetric tridiagonal matrix
    with diagonal `d` and off-diagonal `e` (scipy.linalg.eigh_tridiagonal): eigh of the dense
    matrix, so it is differentiable. select "a" (all) or "i" (an index range (lo, hi),
    inclusive); "v" (a value range) has a data-dependent size and is not supported."""
    d, e = jnp.asarray(d), jnp.asarray(e)
    if d.ndim != 1 or e.ndim != 1 or e.shape[0] != max(d.shape[0] - 1, 0):
        raise ValueError(f"eigh_tridiagonal: d must be (n,) and e (n-1,), got {d.shape} and {e.shape}")
    dt = jnp.result_type(d, e)
    if not dtypes.is_inexact(dt):
        dt = dtypes.default_float_dtype()
    d, e = d.astype(dt), e.astype(dt)
    if select not in ("a", "i"):
        raise NotImplementedError(f"eigh_tridiagonal: select={select!r} is not in gpuxla yet (only 'a' and 'i')")
    n = d.shape[0]
    a = jnp.diag(d) + jnp.diag(e, 1) + jnp.diag(jnp.conj(e), -1)
    w, v = _la.eigh(a)
    if select == "i":
        lo, hi = (int(s) for s in select_range)
        if not 0 <= lo <= hi < n:
            raise ValueError(f"eigh_tridiagonal: select_range {select_range} must satisfy 0 <= lo <= hi < {n}")
        w, v = w[lo:hi + 1], v[:, lo:hi + 1]
    return w if eigvals_only else (w, v)

