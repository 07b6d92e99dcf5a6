"""gpuxla.scipy breadth added for #21 against SciPy: special functions, the distributions of
scipy.stats (every function JAX has), rankdata/sem/mode, scipy.signal convolutions and the
scipy.linalg special matrices, expm and polar; gradients against finite differences."""
import math
from fractions import Fraction

import numpy as np
import pytest
import scipy.linalg as sl
import scipy.signal as ssig
import scipy.special as ss
import scipy.stats as st

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.scipy import linalg as L
from gpuxla.scipy import signal as G
from gpuxla.scipy import special as S
from gpuxla.scipy import stats as T

R = np.random.default_rng(1)


def close(a, b, rtol=1e-6, atol=1e-12):
    a, b = np.asarray(a), np.asarray(b)
    dt = np.complex128 if np.iscomplexobj(a) or np.iscomplexobj(b) else np.float64
    np.testing.assert_allclose(a.astype(dt), b.astype(dt), rtol=rtol, atol=atol)


def fd_grad(f, x, h=1e-6):
    return (f(x + h) - f(x - h)) / (2 * h)


# --- special --------------------------------------------------------------------------------------
A = np.array([0.3, 1.0, 2.5, 10.0, 60.0, 0.1, 3.0, 150.0])
XG = np.array([0.2, 1.0, 3.0, 12.0, 45.0, 5.0, 0.0, 170.0])
XE = np.array([1e-3, 0.5, 1.9, 2.1, 10.0, 45.0])
SPECIAL = [
    ("gammainc", (A, XG), 1e-12), ("gammaincc", (A, XG), 1e-11),
    ("betainc", (A[:6], np.array([0.5, 2.0, 1.5, 20.0, 5.0, 0.3]), np.array([0.1, 0.5, 0.9, 0.7, 0.99, 0.01])), 1e-12),
    ("exp1", (XE,), 1e-13), ("expi", (np.array([-30.0, -2.0, -0.1, 0.1, 1.0, 5.0, 30.0, 39.0, 41.0, 80.0]),), 1e-13),
    ("expn", (np.array([0, 1, 2, 3, 5, 10]), np.array([0.5, 0.3, 1.5, 4.0, 0.9, 20.0])), 1e-9),
    ("erfcx", (np.array([-3.0, -0.5, 0.0, 0.2, 2.9, 3.1, 25.0, 1e4]),), 1e-13),
    ("i0", (np.array([-25.0, 0.0, 0.7, 19.0, 21.0, 300.0]),), 1e-13),
    ("i0e", (np.array([-25.0, 0.0, 0.7, 19.0, 21.0, 1e4]),), 1e-13),
    ("i1", (np.array([-25.0, 0.0, 0.7, 19.0, 21.0, 300.0]),), 1e-13),
    ("i1e", (np.array([-25.0, 0.0, 0.7, 19.0, 21.0, 1e4]),), 1e-13),
    ("spence", (np.array([0.0, 0.3, 0.5, 0.9, 1.0, 1.4, 1.6, 2.5, 3.5, 10.0, 100.0]),), 1e-13),
    ("beta", (np.array([2.5, 0.5, 3.0]), np.array([-1.5, 4.0, 2.0])), 1e-12),
    ("poch", (np.array([2.5, 1.0, 4.0]), np.array([3.0, 0.5, -1.5])), 1e-12),
    ("loggamma", (np.array([0.5, 3.0, 40.0]),), 1e-13),
    ("factorial", (np.array([-1.0, 0.0, 4.0, 10.0]),), 1e-12),
    ("comb", (np.array([5.0, 10.0, 3.0, 4.0]), np.array([2.0, 3.0, 5.0, -1.0])), 1e-12),
    ("hyp1f1", (np.array([0.5, 1.0, 2.0, -1.5, 3.0, 0.3, 10.0]), np.array([1.5, 2.0, 0.5, 2.5, 3.0, 4.0, 3.0]),
                np.array([0.1, -3.0, 10.0, 2.0, 50.0, -20.0, 100.0])), 1e-13),
    ("dawsn", (np.array([-30.0, -3.0, -0.1, 0.0, 1e-8, 0.19, 0.21, 0.92, 2.0, 5.0, 12.0, 1e4]),), 1e-14),
    ("owens_t", (np.array([0.0, 0.5, 1.0, 3.0, -2.0, 6.0, 0.1]), np.array([0.5, 1.0, 3.0, 0.2, 10.0, 2.0, -4.0])), 1e-13),
]


@pytest.mark.parametrize("name,args,rtol", SPECIAL, ids=[s[0] for s in SPECIAL])
def test_special_matches_scipy_float64(x64, name, args, rtol):
    out = getattr(S, name)(*args)
    assert out.dtype == np.float64
    close(out, getattr(ss, name)(*args), rtol=rtol, atol=1e-300)


def test_sici(x64):
    x = np.array([-30.0, -1.0, 1e-3, 0.5, 3.9, 4.1, 6.0, 20.0, 100.0, 1e4])
    si, ci = S.sici(x)
    rs, rc = ss.sici(x)
    close(si, rs, rtol=1e-13), close(ci, rc, rtol=1e-13)
    si0, ci0 = S.sici(0.0)
    assert float(si0) == 0.0 and float(ci0) == -np.inf
    close(jax.grad(lambda v: S.sici(v)[0])(5.0), math.sin(5.0) / 5.0, rtol=1e-12)       # through complex E1
    close(jax.grad(lambda v: S.sici(v)[1])(2.0), math.cos(2.0) / 2.0, rtol=1e-12)


def test_fresnel(x64):
    x = np.array([-30.0, -1.0, 0.0, 1e-3, 0.5, 1.9, 2.1, 3.0, 6.0, 20.0, 100.0, 1e4])
    s, c = S.fresnel(x)
    rs, rc = ss.fresnel(x)
    close(s, rs, rtol=1e-13, atol=1e-300), close(c, rc, rtol=1e-13, atol=1e-300)
    close(jax.grad(lambda v: S.fresnel(v)[0])(7.3), math.sin(math.pi * 7.3 ** 2 / 2), rtol=1e-12)


def test_fresnel_float32_large_argument():
    x = np.float32([0.5, 3.0, 100.0, 317.3])       # the phase pi x^2 / 2 is reduced before float32 rounds it
    s, c = S.fresnel(x)
    rs, rc = ss.fresnel(x.astype(np.float64))
    close(s, rs, atol=1e-7), close(c, rc, atol=1e-7)


def test_wofz():
    z = np.array([1 + 1j, 0.5 - 2j, 3 + 0j, 0.01j, 10 + 0.1j, 100 + 5j, 1e-3 + 1e-3j, 5.5 + 0.5j, -2 - 1j, 0.3 - 0.2j])
    from gpuxla.core import dtypes
    with dtypes.enable_x64(True):
        close(S.wofz(z), ss.wofz(z), rtol=1e-14)
    out = S.wofz(z.astype(np.complex64))
    assert out.dtype == np.complex64
    close(out, ss.wofz(z), rtol=1e-5, atol=1e-6)


def test_special_float32_and_domain():
    a, x = np.float32([0.5, 3.0, 100.0]), np.float32([0.2, 3.5, 110.0])
    out = S.gammainc(a, x)
    assert out.dtype == np.float32
    close(out, ss.gammainc(a, x), rtol=2e-5)
    for f in ("gammainc", "gammaincc"):
        assert np.isnan(np.asarray(getattr(S, f)(np.float32([-1.0, 1.0]), np.float32([1.0, -1.0])))).all()
    close(S.gammainc(2.0, np.inf), 1.0), close(S.gammaincc(2.0, np.inf), 0.0)
    assert np.isnan(float(S.betainc(1.0, 1.0, 1.5))) and np.isnan(float(S.spence(-1.0)))
    assert float(S.exp1(0.0)) == np.inf and np.isnan(float(S.exp1(-1.0)))
    assert float(S.expi(0.0)) == -np.inf
    close(S.comb(4.0, 2.0, repetition=True), ss.comb(4, 2, repetition=True), rtol=1e-6)
    with pytest.raises(ValueError):
        S.factorial(3, exact=True)


def test_bernoulli_numbers():
    exact = [Fraction(1), Fraction(-1, 2), Fraction(1, 6), Fraction(0), Fraction(-1, 30), Fraction(0),
             Fraction(1, 42), Fraction(0), Fraction(-1, 30), Fraction(0), Fraction(5, 66)]
    close(S.bernoulli(10), [float(f) for f in exact], rtol=1e-7)


def test_special_gradients(x64):
    # d/dx P(a, x) = x^(a-1) e^-x / Gamma(a); d/dx I_x(a, b) = x^(a-1) (1-x)^(b-1) / B(a, b)
    for a, x in [(2.5, 1.7), (0.7, 4.0), (30.0, 25.0)]:
        close(jax.grad(S.gammainc, argnums=1)(a, x), x ** (a - 1) * math.exp(-x) / math.gamma(a), rtol=1e-9)
        close(jax.grad(S.gammainc, argnums=0)(a, x), fd_grad(lambda t: ss.gammainc(t, x), a), rtol=1e-6)
    for a, b, x in [(2.5, 1.5, 0.3), (0.8, 3.0, 0.9)]:
        close(jax.grad(S.betainc, argnums=2)(a, b, x), x ** (a - 1) * (1 - x) ** (b - 1) / ss.beta(a, b), rtol=1e-9)
    close(jax.grad(S.exp1)(1.5), -math.exp(-1.5) / 1.5, rtol=1e-10)
    close(jax.grad(S.i0e)(3.0), ss.i1e(3.0) - ss.i0e(3.0), rtol=1e-10)
    close(jax.grad(S.spence)(2.5), math.log(2.5) / (1 - 2.5), rtol=1e-10)
    close(jax.grad(S.dawsn)(1.3), 1 - 2 * 1.3 * ss.dawsn(1.3), rtol=1e-12)
    close(jax.grad(S.gammainc, argnums=1)(2.5, 0.0), 0.0)           # finite at the boundary
    close(jax.grad(S.erfcx)(4.0), 2 * 4.0 * ss.erfcx(4.0) - 2 / math.sqrt(math.pi), rtol=1e-8)


def test_special_under_jit_and_vmap():
    f = jax.jit(lambda a, x: S.gammaincc(a, x) + S.i1e(x))
    a, x = np.float32([0.5, 2.0, 9.0]), np.float32([1.5, 0.5, 12.0])
    close(f(a, x), ss.gammaincc(a, x) + ss.i1e(x), rtol=2e-5)
    close(jax.vmap(S.betainc)(a, a + 1, np.float32([0.2, 0.6, 0.9])),
          ss.betainc(a, a + 1, [0.2, 0.6, 0.9]), rtol=2e-5)


# --- stats distributions --------------------------------------------------------------------------
XC = np.array([-3.0, -0.7, 0.0, 0.4, 1.3, 2.9, 7.5])       # continuous support points, some outside
QS = np.array([0.0, 0.01, 0.3, 0.5, 0.9, 0.999, 1.0])
KS = np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 5.0, 9.0])
DISTS = [
    # (our module, scipy distribution, parameters, functions, x values)
    ("beta", st.beta, (2.5, 1.5, -0.5, 4.0), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("cauchy", st.cauchy, (0.5, 2.0), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("cauchy", st.cauchy, (0.5, 2.0), ["ppf", "isf"], QS[1:-1]),
    ("chi2", st.chi2, (3.0, -0.5, 1.5), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("expon", st.expon, (-0.5, 2.0), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("expon", st.expon, (-0.5, 2.0), ["ppf"], QS),
    ("gamma", st.gamma, (2.5, -1.0, 1.5), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("gennorm", st.gennorm, (1.5,), ["logpdf", "pdf", "cdf"], XC),
    ("gumbel_l", st.gumbel_l, (0.5, 1.5), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("gumbel_l", st.gumbel_l, (0.5, 1.5), ["ppf"], QS),
    ("gumbel_r", st.gumbel_r, (0.5, 1.5), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("gumbel_r", st.gumbel_r, (0.5, 1.5), ["ppf"], QS),
    ("laplace", st.laplace, (0.5, 1.5), ["logpdf", "pdf", "cdf"], XC),
    ("logistic", st.logistic, (0.5, 1.5), ["logpdf", "pdf", "cdf", "sf"], XC),
    ("logistic", st.logistic, (0.5, 1.5), ["ppf", "isf"], QS),
    ("pareto", st.pareto, (2.5, -1.0, 1.5), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("pareto", st.pareto, (2.5, -1.0, 1.5), ["ppf"], QS),
    ("t", st.t, (3.5, 0.5, 1.5), ["logpdf", "pdf"], XC),
    ("truncnorm", st.truncnorm, (-0.5, 2.0, 0.3, 1.2), ["logpdf", "pdf", "cdf", "logcdf", "sf", "logsf"], XC),
    ("truncnorm", st.truncnorm, (3.0, 6.0), ["logpdf", "cdf", "logcdf", "sf", "logsf"], np.array([2.0, 3.2, 4.0, 7.0])),
    ("uniform", st.uniform, (-1.0, 3.0), ["logpdf", "pdf", "cdf"], XC),
    ("uniform", st.uniform, (-1.0, 3.0), ["ppf"], QS),
    ("vonmises", st.vonmises, (2.5,), ["logpdf", "pdf"], XC),
    ("vonmises", st.vonmises, (300.0,), ["logpdf"], np.array([-0.1, 0.0, 0.05])),
    ("bernoulli", st.bernoulli, (0.3,), ["logpmf", "pmf"], KS),
    ("bernoulli", st.bernoulli, (0.3,), ["cdf"], KS),
    ("binom", st.binom, (7, 0.35), ["logpmf", "pmf"], KS),
    ("betabinom", st.betabinom, (7, 2.5, 1.5), ["logpmf", "pmf"], KS),
    ("geom", st.geom, (0.35,), ["logpmf", "pmf"], KS),
    ("nbinom", st.nbinom, (3.5, 0.4), ["logpmf", "pmf"], KS),
    ("poisson", st.poisson, (2.5,), ["logpmf", "pmf", "cdf"], KS),
]


@pytest.mark.parametrize("mod,ref,params,fns,xs", DISTS, ids=[f"{d[0]}-{d[3][0]}" for d in DISTS])
def test_distribution_matches_scipy(x64, mod, ref, params, fns, xs):
    for fn in fns:
        with np.errstate(all="ignore"):
            want = getattr(ref, fn)(xs, *params)
        got = getattr(getattr(T, mod), fn)(xs, *params)
        assert got.dtype == np.float64, (mod, fn)
        close(got, want, rtol=1e-10, atol=1e-300)


def test_distributions_float32_dtype_and_jit():
    x = XC.astype(np.float32)
    for mod, fn, params in [("gamma", "logpdf", (2.0,)), ("t", "pdf", (4.0,)), ("beta", "cdf", (2.0, 3.0)),
                            ("logistic", "logpdf", ())]:
        f = getattr(getattr(T, mod), fn)
        got = jax.jit(f)(x, *params)
        assert got.dtype == np.float32
        with np.errstate(all="ignore"):
            close(got, getattr(getattr(st, mod), fn)(x, *params), rtol=3e-5, atol=1e-30)
    k = np.arange(4)
    assert T.poisson.logpmf(k, 2.0).dtype == np.float32
    # non-integer counts: probability zero for poisson, continuous for binom (as JAX)
    assert float(T.poisson.logpmf(1.5, 2.0)) == -np.inf
    close(T.binom.logpmf(1.5, 5, 0.3), -1.0052502, rtol=3e-6)      # JAX 0.10.2's float32 value
    close(T.bernoulli.ppf(np.float32([0.0, 0.5, 0.8, 1.0]), 0.3), [0.0, 0.0, 1.0, 1.0])


def test_poisson_entropy(x64):
    mu = np.array([0.01, 0.5, 1.0, 5.0, 30.0, 99.0, 100.0, 150.0, 1000.0])
    close(T.poisson.entropy(mu), st.poisson.entropy(mu), rtol=1e-9)
    assert float(T.poisson.entropy(0.0)) == 0.0 and np.isnan(float(T.poisson.entropy(-1.0)))


def test_multivariate_discrete_and_dirichlet(x64):
    x = np.array([[1.0, 2.0, 3.0], [0.0, 6.0, 0.0], [2.0, 2.0, 1.0]])
    p = np.array([0.2, 0.5, 0.3])
    close(T.multinomial.logpmf(x, 6, p), st.multinomial.logpmf(x, 6, p), rtol=1e-12, atol=1e-300)
    close(T.multinomial.pmf(x[0], 6, p), st.multinomial.pmf(x[0], 6, p), rtol=1e-12)
    alpha = np.array([1.5, 2.0, 3.5])
    pts = np.array([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]]).T
    close(T.dirichlet.logpdf(pts, alpha), st.dirichlet.logpdf(pts, alpha), rtol=1e-12)
    close(T.dirichlet.pdf(pts[:2], alpha), st.dirichlet.pdf(pts, alpha), rtol=1e-12)     # K-1 completed
    assert float(T.dirichlet.logpdf(np.array([0.5, 0.6, 0.1]), alpha)) == -np.inf


def test_distribution_parameter_gradients(x64):
    # d/dparam logpdf against central differences of SciPy's logpdf
    cases = [
        (T.gamma.logpdf, st.gamma.logpdf, (1.7,), (2.5, 0.0, 1.5)),
        (T.beta.logpdf, st.beta.logpdf, (0.35,), (2.5, 1.5)),
        (T.t.logpdf, st.t.logpdf, (0.8,), (3.5, 0.2, 1.3)),
        (T.truncnorm.logpdf, st.truncnorm.logpdf, (0.5,), (-0.5, 2.0, 0.3, 1.2)),
        (T.vonmises.logpdf, st.vonmises.logpdf, (0.4,), (2.5,)),
        (T.chi2.cdf, st.chi2.cdf, (2.2,), (3.0,)),
        (T.nbinom.logpmf, st.nbinom.logpmf, (3.0,), (3.5, 0.4)),
    ]
    for ours, ref, xs, params in cases:
        args = xs + params
        for i in range(len(xs), len(args)):
            g = jax.grad(ours, argnums=i)(*args)
            fd = fd_grad(lambda v: ref(*(args[:i] + (v,) + args[i + 1:])), args[i])
            close(g, fd, rtol=2e-6, atol=1e-9)


def test_rankdata_sem_mode():
    a = np.array([[3.0, 1.0, 3.0, 2.0, 2.0], [0.5, 0.5, 0.5, -1.0, 4.0]], np.float32)
    for method in ("average", "min", "max", "dense", "ordinal"):
        assert T.rankdata(a.astype(np.int32), method).dtype == np.float32      # floats for every method, as JAX
        close(T.rankdata(a, method), st.rankdata(a, method))
        close(T.rankdata(a, method, axis=1), st.rankdata(a, method, axis=1))
    out = T.rankdata(np.array([1.0, np.nan, 0.0]))
    assert np.isnan(np.asarray(out)).all()
    close(T.sem(a, axis=1), st.sem(a, axis=1), rtol=1e-6)
    close(T.sem(a, axis=None, ddof=0), st.sem(a, axis=None, ddof=0), rtol=1e-6)
    n = np.array([1.0, np.nan, 3.0, 4.0])
    close(T.sem(n, nan_policy="omit"), st.sem(n, nan_policy="omit"), rtol=1e-6)
    ints = np.array([[1, 2, 2, 5], [3, 3, 1, 1], [4, 0, 4, 0]])
    for axis in (0, 1):
        m, c = T.mode(ints, axis=axis)
        ref = st.mode(ints, axis=axis)
        close(m, ref.mode), close(c, ref.count)
    m, c = T.mode(ints, axis=None, keepdims=False)
    ref = st.mode(ints, axis=None)
    close(m, ref.mode), close(c, ref.count)


# --- signal ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("sh1,sh2", [((9,), (4,)), ((4,), (9,)), ((5, 6), (2, 3)), ((2, 3), (5, 6)),
                                     ((4, 5, 3), (2, 2, 2))])
def test_signal_matches_scipy(sh1, sh2):
    a, b = R.normal(size=sh1).astype(np.float32), R.normal(size=sh2).astype(np.float32)
    for mode in ("full", "same", "valid"):
        for fn in ("convolve", "correlate", "fftconvolve"):
            got = getattr(G, fn)(a, b, mode=mode)
            want = getattr(ssig, fn)(a, b, mode=mode)
            assert got.shape == want.shape and got.dtype == np.float32
            close(got, want, rtol=1e-4, atol=1e-4)
        if len(sh1) == 2:
            close(G.convolve2d(a, b, mode=mode), ssig.convolve2d(a, b, mode=mode), rtol=1e-4, atol=1e-4)
            close(G.correlate2d(a, b, mode=mode), ssig.correlate2d(a, b, mode=mode), rtol=1e-4, atol=1e-4)


def test_signal_complex_grad_errors():
    a = (R.normal(size=6) + 1j * R.normal(size=6)).astype(np.complex64)
    b = (R.normal(size=3) + 1j * R.normal(size=3)).astype(np.complex64)
    for fn in ("convolve", "correlate", "fftconvolve"):
        close(getattr(G, fn)(a, b, mode="same"), getattr(ssig, fn)(a, b, mode="same"), rtol=1e-4, atol=1e-4)
    x, k, d = R.normal(size=7), R.normal(size=3), R.normal(size=9)
    g = jax.grad(lambda v: jnp.sum(G.convolve(v, k) * d))(x.astype(np.float32))
    close(g, ssig.correlate(d, k, mode="valid"), rtol=1e-4, atol=1e-5)       # the adjoint of convolution
    with pytest.raises(ValueError):
        G.convolve(np.ones((3, 2)), np.ones((2, 3)), mode="valid")
    with pytest.raises(ValueError):
        G.convolve(np.ones(3), np.ones((2, 2)))
    with pytest.raises(NotImplementedError):
        G.convolve2d(np.ones((3, 3)), np.ones((2, 2)), boundary="wrap")


# --- linalg ---------------------------------------------------------------------------------------
def test_special_matrices(x64):
    c, r = R.normal(size=4), R.normal(size=3)
    for name, args in [("toeplitz", (c, r)), ("toeplitz", (c,)), ("hankel", (c, r)), ("hankel", (c,)),
                       ("circulant", (c,)), ("companion", (c,)), ("leslie", (c, r)), ("hadamard", (8,)),
                       ("hilbert", (5,)), ("pascal", (6,)), ("pascal", (5, "lower")), ("pascal", (5, "upper")),
                       ("helmert", (5,)), ("helmert", (4, True)), ("dft", (5,)), ("dft", (4, "sqrtn"))]:
        close(getattr(L, name)(*args), getattr(sl, name)(*args), rtol=1e-12, atol=1e-14)
    cc = (c + 1j * R.normal(size=4)).astype(np.complex128)
    close(np.asarray(L.toeplitz(cc)).imag, sl.toeplitz(cc).imag, rtol=1e-12)
    with pytest.raises(ValueError):
        L.hadamard(6)


@pytest.mark.parametrize("scale", [0.05, 1.0, 8.0, 60.0])
def test_expm_matches_scipy(x64, scale):
    a = R.normal(size=(5, 5)) * scale / 3
    ref = sl.expm(a)
    close(L.expm(a), ref, rtol=1e-11, atol=1e-13 * np.abs(ref).max())


def test_expm_float32_batched_grad():
    a = R.normal(size=(3, 4, 4)).astype(np.float32)
    close(L.expm(a), np.stack([sl.expm(m.astype(np.float64)) for m in a]), rtol=2e-5, atol=2e-5)
    close(jax.vmap(L.expm)(a), L.expm(a), rtol=1e-6)
    e = R.normal(size=(4, 4))
    g = np.asarray(jax.grad(lambda m: jnp.sum(L.expm(m) * e))(a[0]))
    d = R.normal(size=(4, 4))
    fd = (np.sum(sl.expm(a[0] + 1e-4 * d) * e) - np.sum(sl.expm(a[0] - 1e-4 * d) * e)) / 2e-4
    close(np.sum(g * d), fd, rtol=1e-3)
    close(jax.jit(L.expm)(np.zeros((2, 2), np.float32)), np.eye(2))


def test_polar(x64):
    a = R.normal(size=(4, 3))
    for side in ("right", "left"):
        u, p = L.polar(a, side)
        ru, rp = sl.polar(a, side)
        close(u, ru, rtol=1e-10, atol=1e-12), close(p, rp, rtol=1e-10, atol=1e-12)
