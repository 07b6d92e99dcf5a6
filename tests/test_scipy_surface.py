"""jax.scipy additions: linalg schur, hessenberg, sqrtm, funm, solve_sylvester, eigh_tridiagonal;
special hyp2f1, boxcox, boxcox1p; against SciPy (a test dependency) and finite differences."""
import numpy as np
import pytest
import scipy.linalg as sl
import scipy.special as ss

import gpuxla as jax
import gpuxla.numpy as jnp
import gpuxla.scipy.linalg as L
import gpuxla.scipy.special as S


def _rand(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def test_schur_and_hessenberg(x64):
    a = _rand((5, 5))
    t, z = L.schur(a)
    np.testing.assert_allclose(np.asarray(z) @ np.asarray(t) @ np.asarray(z).T, a, atol=1e-12)
    st, sz = sl.schur(a)
    np.testing.assert_allclose(np.asarray(t), st, atol=1e-12)
    tc, zc = L.schur(a, output="complex")
    assert tc.dtype == np.complex128
    np.testing.assert_allclose(np.tril(np.asarray(tc), -1), 0, atol=1e-12)
    np.testing.assert_allclose(np.asarray(zc) @ np.asarray(tc) @ np.asarray(zc).conj().T, a, atol=1e-12)
    tj, _ = jax.jit(L.schur)(a)
    np.testing.assert_allclose(np.asarray(tj), st, atol=1e-12)
    tb, zb = L.schur(np.stack([a, 2 * a]))
    np.testing.assert_allclose(np.asarray(tb[1]), sl.schur(2 * a)[0], atol=1e-12)
    h, q = L.hessenberg(a, calc_q=True)
    np.testing.assert_allclose(np.asarray(h), sl.hessenberg(a), atol=1e-12)
    np.testing.assert_allclose(np.asarray(q) @ np.asarray(h) @ np.asarray(q).T, a, atol=1e-12)
    np.testing.assert_allclose(np.tril(np.asarray(L.hessenberg(a)), -2), 0, atol=1e-12)
    with pytest.raises(NotImplementedError, match="host_callback"):
        jax.grad(lambda m: jnp.sum(L.schur(m)[0]))(a)
    with pytest.raises(ValueError, match="square"):
        L.schur(np.ones((2, 3)))


def test_sqrtm_and_funm(x64):
    a = _rand((4, 4), 1) + 4 * np.eye(4)
    r = L.sqrtm(a)
    assert r.dtype == np.complex128
    np.testing.assert_allclose(np.asarray(r) @ np.asarray(r), a, atol=1e-10)
    np.testing.assert_allclose(np.asarray(r), sl.sqrtm(a), atol=1e-10)
    neg = np.diag([-1.0, 4.0])
    np.testing.assert_allclose(np.asarray(L.sqrtm(neg)), np.diag([1j, 2.0]), atol=1e-12)
    f = L.funm(a, jnp.exp)
    np.testing.assert_allclose(np.asarray(f), sl.expm(a), rtol=1e-9)
    f2, err = L.funm(a, lambda v: jnp.sin(v) + v ** 2, disp=False)
    np.testing.assert_allclose(np.asarray(f2), sl.funm(a, lambda v: np.sin(v) + v ** 2), rtol=1e-9, atol=1e-9)
    assert 0 < float(err) <= 1
    with pytest.raises(NotImplementedError, match="blocksize"):
        L.sqrtm(a, blocksize=2)


@pytest.mark.parametrize("method", ["schur", "eigen"])
def test_solve_sylvester(method, x64):
    a, b, c = _rand((4, 4), 2), _rand((3, 3), 3) + 5 * np.eye(3), _rand((4, 3), 4)
    x = L.solve_sylvester(a, b, c, method=method)
    np.testing.assert_allclose(np.asarray(x), sl.solve_sylvester(a, b, c), rtol=1e-8, atol=1e-10)
    assert x.dtype == np.float64
    singular = L.solve_sylvester(np.eye(2), -np.eye(2), np.ones((2, 2)), method=method)
    assert np.all(np.isnan(np.asarray(singular)))
    with pytest.raises(ValueError, match="Incompatible shapes"):
        L.solve_sylvester(a, b, c.T, method=method)


def test_eigh_tridiagonal(x64):
    d, e = _rand(6, 5), _rand(5, 6)
    w, v = L.eigh_tridiagonal(d, e)
    np.testing.assert_allclose(np.asarray(w), sl.eigh_tridiagonal(d, e, eigvals_only=True), rtol=1e-10, atol=1e-12)
    t = np.diag(d) + np.diag(e, 1) + np.diag(e, -1)
    np.testing.assert_allclose(t @ np.asarray(v), np.asarray(v) * np.asarray(w), atol=1e-10)
    np.testing.assert_allclose(np.asarray(L.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 3))),
                               sl.eigh_tridiagonal(d, e, eigvals_only=True, select="i", select_range=(1, 3)),
                               rtol=1e-10)
    g = np.asarray(jax.grad(lambda dd: jnp.sum(L.eigh_tridiagonal(dd, e, eigvals_only=True) ** 3))(d))
    u = _rand(6, 7)
    h = lambda dd: np.sum(sl.eigh_tridiagonal(dd, e, eigvals_only=True) ** 3)  # noqa: E731
    np.testing.assert_allclose(np.sum(g * u), (h(d + 1e-6 * u) - h(d - 1e-6 * u)) / 2e-6, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="select='v'"):
        L.eigh_tridiagonal(d, e, select="v", select_range=(0, 1))


def test_hyp2f1_matches_scipy(x64):
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0.1, 3, 60), rng.uniform(0.1, 3, 60)
    c, x = rng.uniform(0.5, 5, 60), rng.uniform(-3, 0.97, 60)
    np.testing.assert_allclose(np.asarray(S.hyp2f1(a, b, c, x)), ss.hyp2f1(a, b, c, x), rtol=1e-10)
    # integral c - a - b near x = 1 (the connection formula cannot be used), terminating series,
    # Gauss's sum at x = 1, poles of c, a == 0:
    cases = np.array([(1.3, 1.0, 5.3, 0.9), (2.0, 1.0, 5.0, 0.95), (-2.0, 2.0, 3.0, -5.0), (-2.0, 2.0, -3.0, 0.7),
                      (1.0, 2.0, 4.0, 1.0), (1.0, 2.0, 3.0, 1.0), (1.0, 2.0, -2.0, 0.3), (0.0, 2.0, 3.0, 0.4)]).T
    np.testing.assert_allclose(np.asarray(S.hyp2f1(*cases)), ss.hyp2f1(*cases), rtol=1e-9)
    got32 = S.hyp2f1(np.float32(1.5), np.float32(0.5), np.float32(2.5), np.float32(0.3))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(float(got32), ss.hyp2f1(1.5, 0.5, 2.5, 0.3), rtol=1e-6)
    f = lambda x: S.hyp2f1(1.5, 0.7, 2.2, x)  # noqa: E731
    np.testing.assert_allclose(float(jax.grad(f)(0.3)), 1.5 * 0.7 / 2.2 * ss.hyp2f1(2.5, 1.7, 3.2, 0.3), rtol=1e-9)


def test_boxcox(x64):
    x, lm = np.array([0.5, 1.0, 2.0, 7.0]), np.array([0.0, 0.5, -1.2, 2.0])
    np.testing.assert_allclose(np.asarray(S.boxcox(x, lm)), ss.boxcox(x, lm), rtol=1e-12)
    np.testing.assert_allclose(np.asarray(S.boxcox1p(x, lm)), ss.boxcox1p(x, lm), rtol=1e-12)
    np.testing.assert_allclose(float(jax.grad(lambda v: S.boxcox(v, 0.5))(2.0)), 2.0 ** -0.5, rtol=1e-12)


def test_special_matrices_match_scipy(x64):
    a = np.array([1.0, 4.0, 12.0, 45.0, 77.0])
    np.testing.assert_array_equal(np.asarray(L.fiedler(a)), sl.fiedler(a))
    for coeffs in ([2.0, 4.0, 6.0, 8.0, 10.0], [1.0, -3.0, 2.0, 5.0], [3.0, 2.0], [1.0, 0.5, 0.2, 0.1, 0.3, 0.7]):
        np.testing.assert_allclose(np.asarray(L.fiedler_companion(np.array(coeffs))),
                                   sl.fiedler_companion(np.array(coeffs)), rtol=1e-14)
    for n in (1, 3, 6):
        np.testing.assert_allclose(np.asarray(L.invhilbert(n)), sl.invhilbert(n), rtol=1e-14)
        for kind in ("symmetric", "lower", "upper"):
            np.testing.assert_allclose(np.asarray(L.invpascal(n, kind=kind)), sl.invpascal(n, kind=kind, exact=False),
                                       rtol=1e-14)
    for k, n, mode in [([1.0, 2.0, 3.0], 5, "full"), ([1.0, 2.0, 3.0], 5, "same"), ([-1.0, 4.0, -2.0], 5, "valid"),
                       ([1.0, 2.0, 3.0, 4.0], 2, "same"), ([1.0, 2.0, 3.0], 2, "valid")]:
        np.testing.assert_array_equal(np.asarray(L.convolution_matrix(np.array(k), n, mode)),
                                      sl.convolution_matrix(np.array(k), n, mode), err_msg=str((k, n, mode)))


def test_expm_frechet_qr_multiply_rsf2csf(x64):
    a, e = _rand((4, 4), 10) / 2, _rand((4, 4), 11)
    val, lf = L.expm_frechet(a, e)
    sval, slf = sl.expm_frechet(a, e)
    np.testing.assert_allclose(np.asarray(val), sval, rtol=1e-10)
    np.testing.assert_allclose(np.asarray(lf), slf, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(np.asarray(L.expm_frechet(a, e, compute_expm=False)), slf, rtol=1e-9, atol=1e-12)
    m, c = _rand((5, 3), 12), _rand((2, 5), 13)
    got, r = L.qr_multiply(m, c)
    want, wr = sl.qr_multiply(m, c)
    # Q's column signs are LAPACK's convention on both sides, but compare sign-free products too.
    np.testing.assert_allclose(np.abs(np.asarray(got)), np.abs(want), rtol=1e-10)
    np.testing.assert_allclose(np.abs(np.asarray(r)), np.abs(wr), rtol=1e-10)
    np.testing.assert_allclose(np.asarray(got) @ np.asarray(r), c @ m, atol=1e-12)      # (c Q) R = c a
    gl, rl = L.qr_multiply(m, _rand((3, 2), 14), mode="left")
    np.testing.assert_allclose(np.asarray(gl), m @ np.linalg.solve(np.asarray(rl), _rand((3, 2), 14)), atol=1e-12)
    np.testing.assert_allclose(np.abs(np.asarray(gl)), np.abs(sl.qr_multiply(m, _rand((3, 2), 14), mode="left")[0]),
                               rtol=1e-10)
    t, z = sl.schur(_rand((4, 4), 15))
    ct, cz = L.rsf2csf(t, z)
    st, sz = sl.rsf2csf(t, z)
    np.testing.assert_allclose(np.asarray(ct), st, atol=1e-12)
    np.testing.assert_allclose(np.asarray(cz), sz, atol=1e-12)


def test_bessel_jn(x64):
    z = np.array([0.0, 1e-3, 0.5, 2.0, 10.0, -3.0, 30.0])
    got = S.bessel_jn(z, v=4)
    assert got.shape == (5, 7)
    np.testing.assert_allclose(np.asarray(got), np.stack([ss.jv(k, z) for k in range(5)]), atol=1e-10)
    g = float(jax.grad(lambda x: S.bessel_jn(x, v=1)[0])(1.3))      # J0' = -J1
    np.testing.assert_allclose(g, -ss.jv(1, 1.3), rtol=1e-9)
    with pytest.raises(ValueError, match="non-negative"):
        S.bessel_jn(z, v=-1)
    np.testing.assert_allclose(np.asarray(S.bessel_jn(z.astype(np.float32), v=2)),
                               np.stack([ss.jv(k, z) for k in range(3)]), atol=1e-6)
