"""The breadth of gpuxla.numpy added for #21 (set ops, index tricks, windows, polynomials, statistics,
edits, bits), each checked against NumPy on real values, with grad/vmap/jit where JAX supports them."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.errors import ConcretizationTypeError

R = np.random.default_rng(0)


def close(a, b, rtol=2e-6, atol=1e-6):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=rtol, atol=atol)


def same(a, b):
    a = np.asarray(a)
    np.testing.assert_array_equal(a, b)


# --- set operations -------------------------------------------------------------------------------
X = np.array([3, 1, 2, 3, 1, 5, 8, 2], np.int32)
Y = np.array([2, 7, 1, 9, 9], np.int32)
F = np.array([0.5, -1.0, 0.5, 2.0, np.nan, 3.0], np.float32)


@pytest.mark.parametrize("name", ["union1d", "intersect1d", "setdiff1d", "setxor1d"])
@pytest.mark.parametrize("a,b", [(X, Y), (Y, X), (X.reshape(2, 4), Y), (X, X[:0])])
def test_set_ops_match_numpy(name, a, b):
    out = getattr(jnp, name)(a, b)
    ref = getattr(np, name)(a, b)
    assert out.dtype == np.int32
    same(out, ref)
    # under jit with a static size: the same values, padded
    size = len(ref) + 2
    out = jax.jit(lambda u, v: getattr(jnp, name)(u, v, size=size, fill_value=-1))(a, b)
    same(out, np.concatenate([ref, [-1, -1]]))


def test_set_ops_default_fill_and_indices():
    # JAX's padding: union/intersect/setxor repeat the smallest value, setdiff pads with 0
    same(jnp.union1d(X, Y, size=10), [1, 2, 3, 5, 7, 8, 9, 1, 1, 1])
    same(jnp.setdiff1d(X, Y, size=5), [3, 5, 8, 0, 0])
    v, i1, i2 = jnp.intersect1d(X, Y, return_indices=True)
    rv, ri1, ri2 = np.intersect1d(X, Y, return_indices=True)
    same(v, rv), same(i1, ri1), same(i2, ri2)
    v, i1, i2 = jnp.intersect1d(X, Y, return_indices=True, size=4)
    same(v, [1, 2, 1, 1]), same(i1, [1, 2, 8, 8]), same(i2, [2, 0, 5, 5])


def test_set_ops_need_size_under_jit():
    with pytest.raises(ConcretizationTypeError):
        jax.jit(jnp.union1d)(X, Y)
    with pytest.raises(ConcretizationTypeError):
        jax.jit(jnp.unique_values)(X)


def test_isin():
    e = R.integers(0, 10, (3, 4)).astype(np.int32)
    same(jnp.isin(e, Y), np.isin(e, Y))
    same(jnp.isin(e, Y, invert=True), np.isin(e, Y, invert=True))
    same(jax.jit(jnp.isin)(F, np.float32([0.5, np.nan])), np.isin(F, [0.5, np.nan]))
    same(jax.vmap(jnp.isin, in_axes=(0, None))(e, Y), np.isin(e, Y))


@pytest.mark.parametrize("x", [X, X.reshape(2, 4), F])
def test_unique_family_matches_numpy(x):
    # NumPy >= 2.3 no longer sorts unique_*; JAX does, as np.unique with NaNs kept distinct
    ref = np.unique(x, return_index=True, return_inverse=True, return_counts=True, equal_nan=False)
    ua = jnp.unique_all(x)
    same(ua.values, ref[0]), same(ua.indices, ref[1]), same(ua.counts, ref[3])
    same(ua.inverse_indices, ref[2].reshape(x.shape))
    same(jnp.unique_counts(x).counts, ref[3])
    same(jnp.unique_inverse(x).inverse_indices, ref[2].reshape(x.shape))
    same(jnp.unique_values(x), ref[0])


def test_unique_all_with_size_pads_as_jax():
    r = jax.jit(lambda v: jnp.unique_all(v, size=6))(np.array([3, 1, 2, 3, 1, 5], np.int32))
    same(r.values, [1, 2, 3, 5, 1, 1]), same(r.indices, [1, 2, 0, 5, 1, 1])
    same(r.inverse_indices, [2, 0, 1, 2, 0, 3]), same(r.counts, [2, 1, 2, 1, 0, 0])


# --- index tricks ---------------------------------------------------------------------------------
def test_r_c_grids():
    same(jnp.r_[1:4, 0, jnp.array([7, 8])], np.r_[1:4, 0, np.array([7, 8])])
    same(jnp.r_["-1,2,0", np.array([1, 2]), np.array([3, 4])], np.r_["-1,2,0", np.array([1, 2]), np.array([3, 4])])
    same(jnp.r_["0,2", np.array([1, 2]), np.array([3, 4])], np.r_["0,2", np.array([1, 2]), np.array([3, 4])])
    close(jnp.r_[0:1:5j], np.r_[0:1:5j])
    same(jnp.c_[np.array([1, 2]), np.array([3, 4])], np.c_[np.array([1, 2]), np.array([3, 4])])
    same(jnp.c_[np.ones((2, 2), np.int32), np.array([5, 6])], np.c_[np.ones((2, 2), np.int32), np.array([5, 6])])
    same(jnp.mgrid[0:3, 1:5:2], np.mgrid[0:3, 1:5:2])
    close(jnp.mgrid[0:1:3j, 0:2], np.mgrid[0:1:3j, 0:2])
    for got, want in zip(jnp.ogrid[0:3, 0:2], np.ogrid[0:3, 0:2]):
        same(got, want)
    assert jnp.s_[1:2, ::3] == np.s_[1:2, ::3] and jnp.index_exp[2] == np.index_exp[2]


def test_index_helpers():
    a = np.arange(12).reshape(3, 4)
    for got, want in zip(jnp.ix_(np.array([0, 2]), np.array([1, 3])), np.ix_([0, 2], [1, 3])):
        same(got, want)
    same(jnp.indices((2, 3)), np.indices((2, 3)))
    for got, want in zip(jnp.indices((2, 3), sparse=True), np.indices((2, 3), sparse=True)):
        same(got, want)
    for fn, args in [("tril_indices", (4, 1)), ("triu_indices", (3, -1, 5)), ("diag_indices", (3, 3))]:
        for got, want in zip(getattr(jnp, fn)(*args), getattr(np, fn)(*args)):
            same(got, want)
    for fn in ("tril_indices_from", "triu_indices_from"):
        for got, want in zip(getattr(jnp, fn)(jnp.asarray(a), 1), getattr(np, fn)(a, 1)):
            same(got, want)
    for got, want in zip(jnp.mask_indices(3, jnp.triu, 1), np.mask_indices(3, np.triu, 1)):
        same(got, want)
    same(jnp.diagflat(np.array([[1, 2], [3, 4]]), -1), np.diagflat([[1, 2], [3, 4]], -1))
    ref = np.zeros((4, 4))
    np.fill_diagonal(ref, [1.0, 2.0, 3.0])
    close(jnp.fill_diagonal(jnp.zeros((4, 4)), jnp.array([1.0, 2.0, 3.0]), inplace=False), ref)
    with pytest.raises(NotImplementedError, match="immutable"):
        jnp.fill_diagonal(jnp.zeros((2, 2)), 1.0)


def test_block():
    A, B = np.ones((2, 2)), 2 * np.ones((2, 1))
    C, D = 3 * np.ones((1, 2)), 4 * np.ones((1, 1))
    close(jnp.block([[A, B], [C, D]]), np.block([[A, B], [C, D]]))
    close(jnp.block([np.arange(3.0), 7.0]), np.block([np.arange(3.0), 7.0]))
    with pytest.raises(ValueError):
        jnp.block([[A], B])


# --- windows, Bessel ------------------------------------------------------------------------------
@pytest.mark.parametrize("M", [0, 1, 2, 7, 16])
def test_windows(M):
    for name in ("bartlett", "blackman", "hamming", "hanning"):
        out = getattr(jnp, name)(M)
        assert out.dtype == np.float32
        close(out, getattr(np, name)(M), atol=2e-6)
    close(jnp.kaiser(M, 6.5), np.kaiser(M, 6.5), rtol=1e-5, atol=1e-6)


def test_i0_values_and_grad(x64):
    x = np.array([-25.0, -3.0, 0.0, 0.5, 7.0, 19.9, 20.1, 60.0])
    close(jnp.i0(x), np.i0(x), rtol=1e-13)
    # d/dx I0 = I1 = (I0(x+h) - I0(x-h)) / 2h
    g = jax.vmap(jax.grad(jnp.i0))(x[1:-1])
    fd = (np.i0(x[1:-1] + 1e-6) - np.i0(x[1:-1] - 1e-6)) / 2e-6
    close(g, fd, rtol=1e-7, atol=1e-8)


# --- polynomials ----------------------------------------------------------------------------------
P, Q = np.array([2.0, -3.0, 0.5, 1.0]), np.array([1.0, 4.0])


def test_polynomial_arithmetic(x64):
    close(jnp.polyadd(P, Q), np.polyadd(P, Q))
    close(jnp.polysub(Q, P), np.polysub(Q, P))
    close(jnp.polymul(P, Q), np.polymul(P, Q))
    q, r = jnp.polydiv(P, Q)
    rq, rr = np.polydiv(P, Q)
    close(q, rq), close(r[-len(rr):], rr), close(r[:-len(rr)], 0 * r[:-len(rr)])
    close(jnp.polyder(P, 2), np.polyder(P, 2))
    close(jnp.polyint(P, 2, k=[1.0, -2.0]), np.polyint(P, 2, k=[1.0, -2.0]))
    close(jnp.poly(np.array([1.0, -2.0, 0.5])), np.poly([1.0, -2.0, 0.5]))
    close(jnp.vander(np.array([1.0, 2.0, 3.0]), 4), np.vander([1.0, 2.0, 3.0], 4))
    same(jnp.vander(np.array([1, 2, 3]), increasing=True), np.vander([1, 2, 3], increasing=True))
    same(jnp.trim_zeros(np.array([0, 0, 1, 2, 0, 3, 0])), np.trim_zeros(np.array([0, 0, 1, 2, 0, 3, 0])))
    same(jnp.trim_zeros(np.array([0, 1, 0]), "f"), np.trim_zeros(np.array([0, 1, 0]), "f"))


def test_polyfit_and_roots(x64):
    x = np.linspace(-1, 2, 9)
    y = 0.5 * x ** 3 - x + 2 + 0.01 * R.normal(size=9)
    close(jnp.polyfit(x, y, 3), np.polyfit(x, y, 3), rtol=1e-10)
    w = R.uniform(0.5, 2, 9)
    close(jnp.polyfit(x, y, 2, w=w), np.polyfit(x, y, 2, w=w), rtol=1e-10)
    c, cov = jnp.polyfit(x, y, 2, cov=True)
    rc, rcov = np.polyfit(x, y, 2, cov=True)
    close(cov, rcov, rtol=1e-8, atol=1e-12)
    for p in ([1.0, -3.0, 2.0], [2.0, -1.0, 3.0, 5.0, -4.0, 1.0], [1.0, 0.0, 1.0, 0.0, 0.0], [0.0, 1.0, 2.0]):
        got = np.sort_complex(np.asarray(jnp.roots(np.array(p))))
        close(got.real, np.sort_complex(np.roots(p)).real, atol=1e-9)
        close(got.imag, np.sort_complex(np.roots(p)).imag, atol=1e-9)


# --- statistics and the rest ----------------------------------------------------------------------
@pytest.mark.parametrize("kw", [{}, {"rowvar": False}, {"bias": True}, {"ddof": 2}])
def test_cov_corrcoef(kw):
    m = R.normal(size=(3, 6)).astype(np.float32)
    close(jnp.cov(m, **kw), np.cov(m, **kw), rtol=1e-5, atol=1e-6)
    if "bias" not in kw and "ddof" not in kw:
        close(jnp.corrcoef(m, **kw), np.corrcoef(m, **kw), rtol=1e-5, atol=1e-6)
    fw, aw = np.array([1, 2, 1, 3, 1, 1]), R.uniform(0.5, 2, 6)
    close(jnp.cov(m, fweights=fw, aweights=aw), np.cov(m, fweights=fw, aweights=aw), rtol=1e-5, atol=1e-6)
    close(jnp.cov(m[0], m[1]), np.cov(m[0], m[1]), rtol=1e-5, atol=1e-6)


def test_cov_grad_matches_finite_differences(x64):
    m = R.normal(size=(2, 5))
    d = R.normal(size=(2, 5))
    f = lambda a: jnp.sum(jnp.corrcoef(a) * np.array([[0.0, 1.0], [1.0, 0.0]]))
    g = np.sum(np.asarray(jax.grad(f)(m)) * d)
    fd = (float(f(m + 1e-6 * d)) - float(f(m - 1e-6 * d))) / 2e-6
    close(g, fd, rtol=1e-6)


def test_gradient_unwrap():
    f = R.normal(size=(4, 5)).astype(np.float32)
    for got, want in zip(jnp.gradient(f), np.gradient(f)):
        close(got, want, rtol=1e-5)
    x = np.array([0.0, 0.5, 1.5, 3.0, 3.2], np.float32)
    close(jnp.gradient(f, x, axis=1), np.gradient(f, x, axis=1), rtol=1e-5, atol=1e-5)
    close(jnp.gradient(f[0], 2.0), np.gradient(f[0], 2.0), rtol=1e-5)
    p = np.cumsum(R.uniform(-4, 4, 20)).astype(np.float32)
    close(jnp.unwrap(p), np.unwrap(p), rtol=1e-5, atol=1e-4)
    close(jnp.unwrap(p, period=5.0), np.unwrap(p, period=5.0), rtol=1e-5, atol=1e-4)


def test_elementwise_extras():
    a = np.array([1.0, np.nan, -2.0, np.nan, 0.0], np.float32)
    b = np.array([0.5, 3.0, np.nan, np.nan, -0.0], np.float32)
    same(jnp.fmax(a, b), np.fmax(a, b)), same(jnp.fmin(a, b), np.fmin(a, b))
    x = np.array([-2.5, -0.0, 0.75, 3.0, np.inf], np.float32)
    for got, want in zip(jnp.modf(x), np.modf(x)):
        same(got, want)
    s = np.array([1.0, -2.0, 1e-30, 1e30], np.float32)
    same(jnp.spacing(s), np.spacing(s))
    i = np.array([0, 1, 7, -8, 255, -1], np.int32)
    same(jnp.bitwise_count(i), np.bitwise_count(i))
    assert jnp.bitwise_count(i).dtype == np.uint8
    c = np.array([1 + 0j, 2j, 3.5], np.complex64)
    same(jnp.iscomplex(c), np.iscomplex(c)), same(jnp.isreal(c), np.isreal(c))
    same(jnp.isreal(np.arange(3)), np.isreal(np.arange(3)))
    n = np.array([[1.0, np.nan, 2.0], [np.nan, 3.0, 4.0]], np.float32)
    close(jnp.nancumprod(n, axis=1), np.nancumprod(n, axis=1))
    close(jnp.geomspace(1, 1000, 4), np.geomspace(1, 1000, 4), rtol=1e-6)
    close(jnp.geomspace(-2, -32, 5, endpoint=False), np.geomspace(-2, -32, 5, endpoint=False), rtol=1e-6)


def test_isdtype_and_aliases():
    assert jnp.isdtype(jnp.float32, "real floating") and not jnp.isdtype(jnp.int32, "real floating")
    assert jnp.isdtype(np.uint8, ("bool", "unsigned integer")) and jnp.isdtype(np.int16, "numeric")
    assert jnp.isdtype(np.float32, np.float32) and not jnp.isdtype(np.bool_, "numeric")
    with pytest.raises(ValueError):
        jnp.isdtype(np.float32, "floaty")
    assert jnp.bool(1).dtype == np.bool_ and jnp.single(2).dtype == np.float32 and jnp.csingle(1).dtype == np.complex64
    assert jnp.double.dtype == np.float64 and jnp.cdouble.dtype == np.complex128 and jnp.uint.dtype == np.uint64
    assert jnp.object_ is np.object_
    assert jnp.iterable([1]) and not jnp.iterable(3)
    assert jnp.get_printoptions() == np.get_printoptions()
    with jnp.printoptions(precision=2):
        assert jnp.array_str(jnp.array([1.23456])) == "[1.23]"
    assert jnp.array_repr(jnp.array([1, 2])) == repr(jnp.array([1, 2]))


def test_products_and_sorts():
    A, v = R.normal(size=(2, 3, 4)).astype(np.float32), R.normal(size=(2, 4)).astype(np.float32)
    close(jnp.matvec(A, v), np.matvec(A, v), rtol=1e-5)
    w = R.normal(size=(2, 3)).astype(np.float32)
    close(jnp.vecmat(w, A), np.vecmat(w, A), rtol=1e-5)
    keys = [np.array([1, 5, 1, 4, 3, 4, 4]), np.array([9, 4, 0, 4, 0, 2, 1])]
    same(jnp.lexsort(keys), np.lexsort(keys))
    k2 = R.integers(0, 3, (3, 5))
    same(jnp.lexsort([k2, k2[::-1]], axis=1), np.lexsort([k2, k2[::-1]], axis=1))
    c = np.array([1 + 2j, 1 - 1j, -3 + 0j, 1 + 0j], np.complex64)
    same(jnp.sort_complex(c), np.sort_complex(c))
    a = R.normal(size=(3, 8)).astype(np.float32)
    part = np.asarray(jnp.partition(a, 3, axis=1))
    srt = np.sort(a, axis=1)
    same(part[:, 3], srt[:, 3])
    assert (part[:, :3] <= part[:, 3:4]).all() and (part[:, 4:] >= part[:, 3:4]).all()
    idx = np.asarray(jnp.argpartition(a, 3, axis=1))
    same(np.take_along_axis(a, idx, 1)[:, 3], srt[:, 3])
    for got, want in zip(jnp.unstack(a, axis=1), np.unstack(a, axis=1)):
        same(got, want)


def test_edits():
    a = np.arange(12).reshape(3, 4)
    same(jnp.delete(a, 1, axis=1), np.delete(a, 1, axis=1))
    same(jnp.delete(a, [0, 2], axis=0), np.delete(a, [0, 2], axis=0))
    same(jnp.delete(a, slice(1, None, 2)), np.delete(a, slice(1, None, 2)))
    same(jnp.delete(a, np.array([True, False, True, False]), axis=1),
         np.delete(a, np.array([True, False, True, False]), axis=1))
    same(jnp.insert(np.arange(6), [1, 3, 3], np.array([10, 20, 30])), np.insert(np.arange(6), [1, 3, 3], [10, 20, 30]))
    same(jnp.insert(a, 1, np.array([7, 8, 9]), axis=1), np.insert(a, 1, [7, 8, 9], axis=1))
    same(jnp.insert(a, 2, 5, axis=0), np.insert(a, 2, 5, axis=0))
    same(jnp.insert(a, [1, 2], np.array([[7], [8], [9]]), axis=1), np.insert(a, [1, 2], [[7], [8], [9]], axis=1))
    with pytest.raises(IndexError):
        jnp.delete(a, 5, axis=0)
    ref = a.copy()
    np.place(ref, ref % 3 == 0, [-1, -2])
    same(jnp.place(a, a % 3 == 0, np.array([-1, -2]), inplace=False), ref)
    ref = a.copy()
    np.put(ref, [0, 5, 11], [100, 200])
    same(jnp.put(a, np.array([0, 5, 11]), np.array([100, 200]), inplace=False), ref)
    ref = a.copy()
    np.put(ref, [-1, 20], [7, 8], mode="clip")
    same(jnp.put(a, np.array([-1, 20]), np.array([7, 8]), mode="clip", inplace=False), ref)
    with pytest.raises(ValueError):
        jnp.put(a, [0], [1])
    same(jnp.resize(np.arange(5), (3, 4)), np.resize(np.arange(5), (3, 4)))
    ch = [np.arange(4), 10 + np.arange(4), 20 + np.arange(4)]
    same(jnp.choose(np.array([2, 0, 1, 2]), ch), np.choose([2, 0, 1, 2], ch))
    same(jnp.choose(np.array([5, -1, 1, 2]), ch, mode="wrap"), np.choose([5, -1, 1, 2], ch, mode="wrap"))
    same(jnp.choose(np.array([5, -1, 1, 2]), ch, mode="clip"), np.choose([5, -1, 1, 2], ch, mode="clip"))
    with pytest.raises(ValueError):
        jnp.choose(np.array([3]), ch)


def test_functional_helpers():
    a = R.normal(size=(2, 3, 4)).astype(np.float32)
    for axis in (0, 1, 2, -1):
        close(jnp.apply_along_axis(lambda v: jnp.sum(v ** 2) * v[::-1], axis, a),
              np.apply_along_axis(lambda v: np.sum(v ** 2) * v[::-1], axis, a), rtol=1e-5)
    close(jnp.apply_along_axis(jnp.sum, 1, a), np.apply_along_axis(np.sum, 1, a), rtol=1e-5)
    close(jnp.apply_over_axes(jnp.sum, a, [0, 2]), np.apply_over_axes(np.sum, a, [0, 2]), rtol=1e-5)
    close(jnp.fromfunction(lambda i, j: i * 10 + j, (3, 4)), np.fromfunction(lambda i, j: i * 10 + j, (3, 4)))
    x = np.linspace(-2, 2, 9).astype(np.float32)
    close(jnp.piecewise(x, [x < 0, x >= 1], [lambda v: -v, lambda v: v ** 2, 0.5]),
          np.piecewise(x, [x < 0, x >= 1], [lambda v: -v, lambda v: v ** 2, 0.5]))
    g = jax.grad(lambda v: jnp.sum(jnp.piecewise(v, [v < 0], [lambda t: t ** 2, lambda t: 3 * t])))(x)
    close(g, np.where(x < 0, 2 * x, 3.0))


def test_bits():
    b = R.integers(0, 2, (3, 11)).astype(np.int32)
    for kw in ({}, {"axis": 1}, {"axis": 0, "bitorder": "little"}):
        same(jnp.packbits(b, **kw), np.packbits(b.astype(np.uint8), **kw))
    u = R.integers(0, 256, (2, 3)).astype(np.uint8)
    for kw in ({}, {"axis": 1}, {"axis": 0, "count": 11}, {"count": -3, "bitorder": "little"}):
        same(jnp.unpackbits(u, **kw), np.unpackbits(u, **kw))
    with pytest.raises(TypeError):
        jnp.unpackbits(np.array([1.0]))


def test_from_python_data():
    buf = np.arange(4, dtype=np.float32).tobytes()
    same(jnp.frombuffer(buf, dtype=np.float32), np.arange(4, dtype=np.float32))
    same(jnp.fromstring("1 2 3", dtype=np.int32, sep=" "), [1, 2, 3])
    with pytest.raises(NotImplementedError):
        jnp.fromiter(iter([1, 2]), dtype=np.int32)


def test_jit_and_vmap_sample():
    f = jax.jit(lambda m: (jnp.cov(m), jnp.kaiser(8, 3.0), jnp.polyval(jnp.polyder(m[0]), 0.5)))
    m = R.normal(size=(2, 5)).astype(np.float32)
    c, k, p = f(m)
    close(c, np.cov(m), rtol=1e-5), close(k, np.kaiser(8, 3.0), rtol=1e-5)
    close(p, np.polyval(np.polyder(m[0]), 0.5), rtol=1e-5)
    same(jax.vmap(lambda v: jnp.setdiff1d(v, Y, size=4, fill_value=-1))(X.reshape(2, 4)),
         [[3, -1, -1, -1], [5, 8, -1, -1]])
