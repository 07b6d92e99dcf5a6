"""gpuxla.numpy.linalg (and lax.linalg, scipy.linalg) against NumPy, finite differences and
values baked from JAX 0.10.2 (jax_enable_x64, CPU)."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.numpy import linalg as L
from gpuxla.scipy import linalg as SL
from gpuxla.test_util import check_grads

NAN, INF = np.nan, np.inf
A = np.array([[4., 1., 0.5], [1., 3., 0.2], [0.5, 0.2, 2.]])
W = np.array([[1., -2., 0.5], [0.3, 1., 2.], [-1., 0.7, 1.5]])
B = np.array([[2., 1., 0.], [-1., 3., 1.], [0.5, -2., 4.]])

# --- JAX 0.10.2 values (x64) ------------------------------------------------------------------
G_CHOL = [[0.30170540870730667, -0.023583450562251092, -0.3664763685339512], [-0.023583450562251092, 0.29615620278903815, 0.1963551989199324], [-0.3664763685339512, 0.1963551989199324, 0.5391005504317448]]
G_EIGH = [[3.1342299390927306, 0.10680814699254637, -0.458496076917851], [0.10680814699254637, 2.3758266662520504, 1.1051910333203492], [-0.458496076917851, 1.1051910333203492, 0.4899433946552154]]
G_SLOGDET = [[0.4307692307692308, 0.13846153846153847, 0.015384615384615385], [-0.12307692307692307, 0.24615384615384614, 0.13846153846153847], [0.03076923076923077, -0.06153846153846154, 0.2153846153846154]]
G_DET = [[14.0, 4.5, 0.5], [-4.0, 8.0, 4.5], [1.0, -2.0, 7.0]]
G_INV = [[-0.30035502958579885, 0.14378698224852074, -0.019408284023668607], [0.13372781065088757, -0.07976331360946746, -0.2162130177514793], [0.08426035502958579, 0.034556213017751476, -0.04710059171597634]]
G_SOLVE = ([[-0.13933560309512974, -0.10509210741920802, 0.060811725079654086], [-0.0005671734182976774, -0.00042778334091943466, 0.0002475375512061897], [0.028908657259899866, 0.021803987255348205, -0.012616913973600367]], [0.38376331360946747, 0.0015621301775147894, -0.07962130177514794])
G_SVD = [[0.8908459137862984, 0.5493426062618755, -0.013298848806087305], [-0.5737679269252933, 1.8914189100438275, 0.5857565141585914], [0.3155046559579721, -1.3374669627708962, 2.601209817354721]]
G_QR = [[0.6940361371791758, 1.16435892562574, -1.314971868939192], [1.9754893828510152, -2.4669099949431788, -0.4117682412477054], [-3.4077414779705126, -0.42610430247763587, 2.1450631457834386]]
G_PINV = [[-0.3118058071528387, 0.15668961233890577], [0.02828010972516941, 0.05085399306454122], [-0.06312302675844925, 0.1368200403705812]]
G_NORM2 = [[-0.009633775602069815, 0.04575689922891191, -0.05997814764982072], [-0.03161379111087529, 0.1501539078607354, -0.19682175601134863], [0.12228659889728716, -0.5808164746527162, 0.7613342875331321]]
HESS_LOGDET = [[-0.05964497041420119, -0.019171597633136094, -0.002130177514792898], [-0.10603550295857989, -0.03408284023668639, -0.0037869822485207087], [0.026508875739644975, 0.008520710059171597, 0.0009467455621301776]]
CHOL_NAN = [[NAN, 0.0], [NAN, NAN]]
SOLVE_SING = [-INF, INF]
DET_SING = 0.0
SLOGDET_SING = (0.0, -INF)
LU = [[[2.0, 1.0, 0.0], [-0.5, 3.5, 1.0], [0.25, -0.6428571428571428, 4.642857142857142]], [0, 1, 2], [0, 1, 2]]
QR_Q = [[-0.8728715609439694, -0.48425005502640867, 0.0599760143904067], [0.4364357804719848, -0.7198311628770941, 0.5397841295136604], [-0.2182178902359924, 0.4973378943514467, 0.8396642014656941]]
EIGH_V = [[-0.2530423616352546, -0.4819496604261799, -0.8388647614682253], [0.05343872082877621, 0.8587971746720288, -0.5095210652088138], [0.965978191438211, -0.17375827344454736, -0.1915572918876562]]
SVD_U = [[-0.07605183531578663, 0.12817897293069822, -0.988830758645549], [-0.2495684905464693, 0.9576899932179878, 0.14333682505374445], [0.9653660895595294, 0.25768202845476446, -0.04084464885368002]]


@pytest.fixture
def x64():
    with dtypes.enable_x64(True):
        yield


def close(a, b, tol=1e-10):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def rand(*shape, seed=0, dtype=np.float64):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


def spd(n, batch=(), seed=0, dtype=np.float64):
    a = rand(*batch, n, n, seed=seed)
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(dtype)


# --- values against NumPy ------------------------------------------------------------------------
@pytest.mark.parametrize("dtype,tol", [(np.float32, 2e-5), (np.float64, 1e-11)])
def test_decompositions_match_numpy(dtype, tol):
    with dtypes.enable_x64(dtype == np.float64):
        s, a, w = spd(4, (2,), dtype=dtype), rand(2, 4, 4, seed=1, dtype=dtype), rand(5, 3, seed=2, dtype=dtype)
        L_ = L.cholesky(s)
        assert L_.dtype == dtype and L_.shape == (2, 4, 4)
        close(L_, np.linalg.cholesky(s), tol)
        close(L.cholesky(s, upper=True), np.swapaxes(np.linalg.cholesky(s), -1, -2), tol)
        close(L.inv(a), np.linalg.inv(a), 50 * tol)
        close(L.det(a), np.linalg.det(a), 10 * tol)
        sign, logdet = L.slogdet(a)
        close(sign, np.linalg.slogdet(a)[0])
        close(logdet, np.linalg.slogdet(a)[1], 10 * tol)
        assert L.slogdet(a).sign.shape == (2,)
        ev, V = L.eigh(s)
        close(ev, np.linalg.eigh(s)[0], 10 * tol)
        close(V @ (ev[..., None] * jnp.swapaxes(V, -1, -2)), s, 10 * tol)          # reconstructs
        close(jnp.swapaxes(V, -1, -2) @ V, np.broadcast_to(np.eye(4), (2, 4, 4)), 10 * tol)
        close(L.eigvalsh(s), np.linalg.eigvalsh(s), 10 * tol)
        u, sv, vh = L.svd(w, full_matrices=False)
        assert (u.shape, sv.shape, vh.shape) == ((5, 3), (3,), (3, 3))
        close(sv, np.linalg.svd(w, compute_uv=False), 10 * tol)
        close((u * sv) @ vh, w, 10 * tol)
        uf, _, vhf = L.svd(w)
        assert uf.shape == (5, 5) and vhf.shape == (3, 3)
        close(uf.T @ uf, np.eye(5), 10 * tol)
        close(L.svdvals(w), np.linalg.svd(w, compute_uv=False), 10 * tol)
        q, r = L.qr(w)
        assert q.shape == (5, 3) and r.shape == (3, 3)
        close(q @ r, w, 10 * tol)
        close(r, np.triu(np.asarray(r)), 0)
        qc, rc = L.qr(w, mode="complete")
        assert qc.shape == (5, 5) and rc.shape == (5, 3)
        close(L.qr(w, mode="r"), np.linalg.qr(w, mode="r"), 10 * tol)
        close(L.pinv(w), np.linalg.pinv(w), 20 * tol)
        close(L.matrix_rank(w), 3, 0)
        close(L.cond(a[0]), np.linalg.cond(a[0]), 100 * tol)
        close(L.cond(a[0], "fro"), np.linalg.cond(a[0], "fro"), 100 * tol)


def test_solve_shapes_and_broadcasting(x64):
    a, b = rand(2, 3, 3), rand(3, seed=1)
    close(L.solve(a, b), np.linalg.solve(a, b))                    # batched a, one vector
    bm = rand(2, 3, 4, seed=2)
    close(L.solve(a, bm), np.linalg.solve(a, bm))
    close(L.solve(a[0], rand(5, 3, 2, seed=3)), np.linalg.solve(a[0], rand(5, 3, 2, seed=3)))
    with pytest.raises(ValueError, match="Invalid shapes for solve"):
        L.solve(a, rand(2, 3, seed=4))                             # JAX >= 0.5: not a batch of vectors
    with pytest.raises(ValueError, match="square"):
        L.solve(rand(3, 2), rand(3))
    assert L.solve(np.eye(2, dtype=np.int32), np.array([1, 2])).dtype == np.float64   # ints promote


def test_matrix_power_and_norms(x64):
    a = rand(3, 3)
    for n in (0, 1, 2, 5, -1, -3):
        close(L.matrix_power(a, n), np.linalg.matrix_power(a, n), 1e-9)
    with pytest.raises(TypeError, match="integer"):
        L.matrix_power(a, 1.5)
    x = rand(3, 4, seed=1)
    for ord in (None, 1, -1, 2, -2, np.inf, -np.inf, 0, 3, 0.5):
        close(L.norm(x[0], ord), np.linalg.norm(x[0], ord))
        close(L.norm(x, ord, axis=1), np.linalg.norm(x, ord, axis=1))
    for ord in (None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
        close(L.norm(x, ord), np.linalg.norm(x, ord))
        close(L.norm(x, ord, keepdims=True), np.linalg.norm(x, ord, keepdims=True))
    y = rand(2, 3, 4, seed=2)
    close(L.norm(y, axis=(0, 2)), np.linalg.norm(y, axis=(0, 2)))
    close(L.norm(y, "nuc", axis=(2, 0)), np.linalg.norm(y, "nuc", axis=(2, 0)))
    close(L.norm(y), np.linalg.norm(y))
    close(L.vector_norm(y, ord=1, axis=None), np.abs(y).sum())
    close(L.matrix_norm(y, ord=np.inf), np.linalg.norm(y, np.inf, axis=(-2, -1)))
    assert L.norm(np.arange(4)).dtype == np.float64
    with pytest.raises(ValueError, match="Invalid order"):
        L.norm(x, "bad")
    with pytest.raises(ValueError, match="Improper number of dimensions"):
        L.norm(y, 2)


def test_triangular_solve_variants(x64):
    a = rand(4, 4) + 4 * np.eye(4)
    b = rand(4, 3, seed=1)
    for lower in (True, False):
        for trans in (False, True):
            for unit in (False, True):
                t = np.tril(a) if lower else np.triu(a)
                if unit:
                    t = t - np.diag(np.diag(t)) + np.eye(4)
                op = t.T if trans else t
                got = L.triangular_solve(a, b, left_side=True, lower=lower, transpose_a=trans, unit_diagonal=unit)
                close(got, np.linalg.solve(op, b))
                got = L.triangular_solve(a, b.T, left_side=False, lower=lower, transpose_a=trans, unit_diagonal=unit)
                close(got, np.linalg.solve(op.T, b).T)
    close(SL.solve_triangular(a, b[:, 0], lower=True), np.linalg.solve(np.tril(a), b[:, 0]))
    close(SL.solve_triangular(a, b, trans="T"), np.linalg.solve(np.triu(a).T, b))
    close(lax.linalg.triangular_solve(a[None], b.T, lower=True), np.linalg.solve(np.tril(a).T, b).T[None])


def test_lu_and_scipy_linalg(x64):
    a, b = rand(4, 4), rand(4, 2, seed=1)
    lu, piv, perm = lax.linalg.lu(a)
    l, u = np.tril(np.asarray(lu), -1) + np.eye(4), np.triu(np.asarray(lu))
    close(l @ u, a[np.asarray(perm)])
    close(lax.linalg.lu_pivots_to_permutation(piv, 4), perm, 0)
    close(np.abs(np.asarray(l)).max(), 1.0, 0)                      # partial pivoting: |l| <= 1
    p_, l_, u_ = SL.lu(a)
    close(p_ @ l_ @ u_, a)
    close(SL.lu_solve(SL.lu_factor(a), b), np.linalg.solve(a, b))
    close(SL.lu_solve(SL.lu_factor(a), b[:, 0], trans=1), np.linalg.solve(a.T, b[:, 0]))
    s = spd(4)
    for lower in (True, False):
        close(SL.cho_solve(SL.cho_factor(s, lower=lower), b), np.linalg.solve(s, b))
    close(SL.cholesky(s), np.linalg.cholesky(s).T)
    close(SL.solve(s, b, assume_a="pos"), np.linalg.solve(s, b))
    close(SL.solve(a, b[:, 0]), np.linalg.solve(a, b[:, 0]))
    close(SL.block_diag(np.ones((1, 2)), 2 * np.eye(2)), [[1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 2]])
    close(SL.det(a), np.linalg.det(a))
    close(SL.eigh(s, eigvals_only=True), np.linalg.eigvalsh(s))


def test_lstsq_multidot_and_friends(x64):
    a, b = rand(6, 3), rand(6, seed=1)
    x, res, rank, sv = L.lstsq(a, b)
    xn, resn, rankn, svn = np.linalg.lstsq(a, b)
    close(x, xn)
    close(res, resn)
    assert int(rank) == rankn
    close(sv, svn)
    ms = [rand(2, 3), rand(3, 4, seed=1), rand(4, 2, seed=2)]
    close(L.multi_dot(ms), np.linalg.multi_dot(ms))
    close(L.outer(np.arange(2.), np.arange(3.)), np.outer(np.arange(2.), np.arange(3.)))
    close(L.trace(rand(2, 3, 3)), np.trace(rand(2, 3, 3), axis1=-2, axis2=-1))


# --- JAX's conventions where NumPy raises ----------------------------------------------------------
def test_failures_give_nan_inf_like_jax(x64):
    np.testing.assert_array_equal(L.cholesky(np.array([[1., 2.], [2., 1.]])), CHOL_NAN)
    good_and_bad = np.stack([spd(2), np.array([[1., 2.], [2., 1.]])])
    got = np.asarray(L.cholesky(good_and_bad))
    close(got[0], np.linalg.cholesky(spd(2)))
    assert np.isnan(got[1, 1, 1])
    sing = np.array([[1., 2.], [2., 4.]])
    got = np.asarray(L.solve(sing, np.array([1., 1.])))
    assert not np.isfinite(got).any()                             # JAX: [-inf, inf]
    assert float(L.det(sing)) == DET_SING
    sign, logdet = L.slogdet(sing)
    assert (float(sign), float(logdet)) == SLOGDET_SING


def test_errors_name_the_operation():
    with pytest.raises(ValueError, match="cholesky.*square"):
        L.cholesky(np.ones((2, 3), np.float32))
    with pytest.raises(ValueError, match="rank >= 2"):
        L.inv(np.ones(3, np.float32))
    with pytest.raises(TypeError, match="triangular_solve"):
        L.triangular_solve(np.eye(3, dtype=np.float32), np.ones((2, 2), np.float32), left_side=True)
    with pytest.raises(ValueError, match="Unsupported QR"):
        L.qr(np.eye(2, dtype=np.float32), mode="bad")


# --- JAX's values and gradients --------------------------------------------------------------------
def test_factor_values_match_jax(x64):
    lu, piv, perm = lax.linalg.lu(B)
    close(lu, LU[0])
    assert np.asarray(piv).tolist() == LU[1] and np.asarray(perm).tolist() == LU[2]
    close(L.qr(B)[0], QR_Q, 1e-12)             # same Householder signs as JAX's LAPACK
    v = np.asarray(L.eigh(A)[1])
    close(np.abs(v), np.abs(np.asarray(EIGH_V)), 1e-12)
    close(np.abs(np.asarray(L.svd(B)[0])), np.abs(np.asarray(SVD_U)), 1e-12)


def test_gradients_match_jax(x64):
    close(jax.grad(lambda a: jnp.sum(L.cholesky(a) * W))(A), G_CHOL)
    close(jax.grad(lambda a: jnp.sum(L.eigh(a)[0] * jnp.arange(1., 4.))
                   + jnp.sum(L.eigh(a)[1][:, 0] ** 3 * jnp.array([1., 2., 3.])))(A), G_EIGH, 1e-9)
    close(jax.grad(lambda a: L.slogdet(a)[1])(B), G_SLOGDET)
    close(jax.grad(L.det)(B), G_DET)
    close(jax.grad(lambda a: jnp.sum(L.inv(a) * W))(B), G_INV)
    ga, gb = jax.grad(lambda a, b: jnp.sum(L.solve(a, b) ** 2), argnums=(0, 1))(B, W[:, 0])
    close(ga, G_SOLVE[0])
    close(gb, G_SOLVE[1])
    close(jax.grad(lambda a: jnp.sum(L.svd(a, compute_uv=False) * jnp.array([3., 2., 1.])))(B), G_SVD, 1e-9)
    close(jax.grad(lambda a: jnp.sum(L.qr(a)[1] * W))(B), G_QR, 1e-9)
    close(jax.grad(lambda a: jnp.sum(L.pinv(a) * W[:2]))(B[:, :2]), G_PINV, 1e-9)
    close(jax.grad(lambda a: L.norm(a, 2))(B), G_NORM2, 1e-9)
    close(jax.hessian(lambda a: L.slogdet(a)[1])(B)[0, 1], HESS_LOGDET, 1e-9)


@pytest.mark.parametrize("name,f,args", [
    ("triangular_solve_left", lambda a, b: L.triangular_solve(a, b, left_side=True, lower=True), (B + 4 * np.eye(3), W)),
    ("triangular_solve_right_t", lambda a, b: L.triangular_solve(a, b, lower=False, transpose_a=True, unit_diagonal=True),
     (B, W[:2])),
    ("lu", lambda a: lax.linalg.lu(a)[0], (B,)),
    ("cholesky_batched", lambda a: L.cholesky(a), (spd(3, (2,)),)),
    ("eigh_vectors", lambda a: L.eigh(a)[1] * jnp.sign(L.eigh(a)[1][:1]), (A,)),
    ("svd_square_full", lambda a: L.svd(a)[0] * jnp.sign(L.svd(a)[0][:1]), (B,)),
    ("svd_wide", lambda a: L.svd(a, full_matrices=False)[2] * jnp.sign(L.svd(a, full_matrices=False)[2][:, :1]), (B[:2],)),
    ("qr_complete_square", lambda a: L.qr(a, mode="complete")[0], (B,)),
    ("lstsq", lambda a, b: L.lstsq(a, b)[0], (rand(5, 3), rand(5, seed=1))),
    ("matrix_power_neg", lambda a: L.matrix_power(a, -2), (B,)),
    ("mvn_logpdf", lambda x, c: jax.scipy.stats.multivariate_normal.logpdf(x, jnp.zeros(3), c), (W, A)),
    ("cho_solve", lambda a, b: SL.cho_solve(SL.cho_factor(a), b), (A, W)),
])
def test_check_grads(x64, name, f, args):
    check_grads(f, args, order=2, atol=1e-5, rtol=1e-5)


def test_det_gradient_at_singular_matrices_matches_jax(x64):
    # JAX 0.10.2: the adjugate, finite where det(a) inv(a) is not
    close(jax.grad(L.det)(np.array([[1., 2.], [2., 4.]])), [[4., -2.], [-2., 1.]], 1e-12)
    close(jax.grad(L.det)(np.array([[1., 2., 3.], [2., 4., 6.], [1., 0., 1.]])),
          [[4., 4., -4.], [-2., -2., 2.], [0., 0., 0.]], 1e-12)
    close(jax.grad(L.det)(np.zeros((3, 3))), np.zeros((3, 3)), 0)
    h = np.asarray(jax.hessian(L.det)(np.eye(2)))
    close(h.reshape(4, 4), [[0, 0, 0, 1], [0, 0, -1, 0], [0, -1, 0, 0], [1, 0, 0, 0]], 1e-12)


def test_unsupported_derivatives_raise(x64):
    with pytest.raises(NotImplementedError, match="svd"):
        jax.grad(lambda a: jnp.sum(L.svd(a)[0]))(rand(4, 3))
    with pytest.raises(NotImplementedError, match="qr"):
        jax.grad(lambda a: jnp.sum(L.qr(a)[0]))(rand(3, 4))
    with pytest.raises(NotImplementedError, match="lu"):
        jax.grad(lambda a: jnp.sum(lax.linalg.lu(a)[0]))(rand(3, 4))


# --- vmap, jit, low precision ---------------------------------------------------------------------
def test_vmap_and_jit(x64):
    s, a, b = spd(3, (4,)), rand(4, 3, 3, seed=1) + 3 * np.eye(3), rand(4, 3, seed=2)
    close(jax.vmap(L.cholesky)(s), np.linalg.cholesky(s))
    close(jax.vmap(L.solve)(a, b), np.linalg.solve(a, b[..., None])[..., 0])
    close(jax.vmap(L.solve, in_axes=(None, 0))(a[0], b), np.linalg.solve(a[0], b.T).T)
    close(jax.vmap(L.det, in_axes=1)(np.swapaxes(a, 0, 1)), np.linalg.det(a))
    close(jax.vmap(lambda m: L.eigh(m)[0])(s), np.linalg.eigvalsh(s))
    close(jax.vmap(jax.grad(lambda m: L.slogdet(m)[1]))(a), np.swapaxes(np.linalg.inv(a), -1, -2))
    f = jax.jit(lambda a, b: L.solve(a, b[..., None])[..., 0] + L.det(a)[..., None])
    close(f(a, b), np.linalg.solve(a, b[..., None])[..., 0] + np.linalg.det(a)[:, None])
    close(jax.jit(lambda m: L.svd(m, compute_uv=False))(a), np.linalg.svd(a, compute_uv=False))


def test_low_precision_computes_in_float32():
    s = spd(3).astype(np.float16)
    got = L.cholesky(s)
    assert got.dtype == np.float16
    close(got, np.linalg.cholesky(s.astype(np.float32)).astype(np.float16), 2e-3)
