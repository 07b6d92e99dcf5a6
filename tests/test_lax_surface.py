"""The rest of lax's surface beyond gather/scatter: rng_bit_generator and mulhi against values
recorded from JAX 0.10.2 on CPU (tests/data/record_rng_bit_generator.py), special functions against
SciPy, approx_max_k / ragged_dot / axis_size against NumPy."""
import functools
import json
import os

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax

with open(os.path.join(os.path.dirname(__file__), "data", "jax_rng_bit_generator.json")) as _f:
    REF = json.load(_f)


def _rng_cases(wide):
    groups = {}
    for r in REF["rng_bit_generator"]:
        if (r["dtype"] == "uint64") == wide:
            groups.setdefault((r["algorithm"], tuple(r["shape"]), r["dtype"]), []).append(r)
    return sorted(groups.items())


def _check_rng(recs):
    (alg, shape, dt), rows = recs
    f = jax.jit(functools.partial(lax.rng_bit_generator, shape=shape, dtype=np.dtype(dt),
                                  algorithm=getattr(lax.RandomAlgorithm, alg)))
    for r in rows:
        nk, bits = f(np.array(r["key"], np.uint32))
        assert bits.dtype == np.dtype(dt) and bits.shape == shape
        np.testing.assert_array_equal(np.asarray(bits).ravel(), np.array(r["bits"], dt), err_msg=str((alg, shape, dt)))
        np.testing.assert_array_equal(np.asarray(nk), np.array(r["new_key"], np.uint32))


@pytest.mark.parametrize("recs", _rng_cases(False), ids=lambda g: f"{g[0][0]}-{g[0][1]}-{g[0][2]}")
def test_rng_bit_generator_matches_jax(recs):
    _check_rng(recs)


def test_rng_bit_generator_uint64_matches_jax(x64):
    for recs in _rng_cases(True):
        _check_rng(recs)


def test_rng_bit_generator_eager_vmap_and_errors():
    key = np.array([1, 2, 3, 4], np.uint32)
    rec = next(r for r in REF["rng_bit_generator"] if r["key"] == [1, 2, 3, 4] and r["shape"] == [3, 5]
               and r["dtype"] == "uint32" and r["algorithm"] == "RNG_DEFAULT")
    nk, bits = lax.rng_bit_generator(key, (3, 5))
    np.testing.assert_array_equal(np.asarray(bits).ravel(), rec["bits"])
    keys = np.stack([key, np.array(REF["rng_bit_generator"][0]["key"], np.uint32)])
    _, vb = jax.vmap(lambda k: lax.rng_bit_generator(k, (3, 5)))(keys)
    np.testing.assert_array_equal(np.asarray(vb[0]).ravel(), rec["bits"])
    with pytest.raises(TypeError, match="unsupported dtype int32"):
        lax.rng_bit_generator(key, (3,), np.int32)
    with pytest.raises(TypeError, match="key must be uint32"):
        lax.rng_bit_generator(key[:2], (3,))
    assert str(lax.RandomAlgorithm.RNG_PHILOX) == "RNG_PHILOX" and int(lax.RandomAlgorithm.RNG_THREE_FRY) == 1


@pytest.mark.parametrize("rec", REF["mulhi"], ids=lambda r: r["dtype"])
def test_mulhi_matches_jax(rec, x64):
    dt = np.dtype(rec["dtype"])
    got = lax.mulhi(np.array(rec["x"], dt), np.array(rec["y"], dt))
    assert got.dtype == dt
    np.testing.assert_array_equal(np.asarray(got), np.array(rec["hi"], dt))


# --- special functions: one implementation in lax, scipy.special and jnp call it ---------------
def _special_cases():
    import scipy.special as ss
    rng = np.random.default_rng(0)
    pos = rng.uniform(0.2, 12.0, 16)
    return {
        "zeta": (lax.zeta, ss.zeta, (rng.uniform(1.05, 8.0, 16), pos)),
        "polygamma": (lax.polygamma, lambda m, x: ss.polygamma(m.astype(int), x),
                      (rng.integers(0, 5, 16).astype(float), pos)),
        "bessel_i0e": (lax.bessel_i0e, ss.i0e, (np.concatenate([rng.uniform(-30, 30, 14), [0.0, 1e4]]),)),
        "bessel_i1e": (lax.bessel_i1e, ss.i1e, (np.concatenate([rng.uniform(-30, 30, 14), [0.0, -1e4]]),)),
        "betainc": (lax.betainc, ss.betainc, (rng.uniform(0.2, 20, 16), rng.uniform(0.2, 20, 16),
                                              rng.uniform(0, 1, 16))),
    }


@pytest.mark.parametrize("name", ["zeta", "polygamma", "bessel_i0e", "bessel_i1e", "betainc"])
def test_lax_special_matches_scipy(name, x64):
    fn, ref, args = _special_cases()[name]
    np.testing.assert_allclose(np.asarray(fn(*args)), ref(*args), rtol=1e-10, atol=1e-300)
    args32 = [a.astype(np.float32) for a in args]
    got = fn(*args32)
    assert got.dtype == np.float32
    np.testing.assert_allclose(np.asarray(got), ref(*args), rtol=2e-4)


def test_lax_special_domain_grads_and_errors(x64):
    assert np.isnan(float(lax.zeta(0.5, 1.0))) and np.isinf(float(lax.zeta(1.0, 2.0)))
    assert np.isnan(float(lax.polygamma(1.5, 2.0))) and np.isnan(float(lax.betainc(1.0, 1.0, 1.5)))
    for f, x in [(lambda q: lax.zeta(3.0, q), 2.0), (lambda x: lax.bessel_i1e(x), 3.5),
                 (lambda x: lax.betainc(2.5, 1.5, x), 0.3), (lambda x: lax.polygamma(2.0, x), 1.7)]:
        fd = (float(f(x + 1e-6)) - float(f(x - 1e-6))) / 2e-6
        np.testing.assert_allclose(float(jax.grad(f)(x)), fd, rtol=1e-6)
    with pytest.raises(TypeError, match="zeta requires floating-point arguments of one dtype"):
        lax.zeta(np.float32(2.0), np.float64(1.0))
    with pytest.raises(TypeError, match="betainc: arguments must have equal shapes"):
        lax.betainc(np.ones(2), np.ones(3), np.ones(2))
    # scipy.special broadcasts and promotes, then calls the same lax function.
    from gpuxla.scipy import special as S
    np.testing.assert_array_equal(np.asarray(S.zeta(np.array([2.0, 3.0]), 1.5)),
                                  np.asarray(lax.zeta(np.array([2.0, 3.0]), np.array([1.5, 1.5]))))


# --- axis_size, approx_max_k / approx_min_k, ragged_dot -----------------------------------------
def test_axis_size():
    assert list(np.asarray(jax.vmap(lambda v: v * lax.axis_size("i"), axis_name="i")(jnp.ones(3)))) == [3.0] * 3
    nested = jax.vmap(jax.vmap(lambda v: v * lax.axis_size(("i", "j")), axis_name="j"), axis_name="i")
    assert np.asarray(nested(jnp.ones((2, 5)))).tolist() == [[10.0] * 5] * 2
    with pytest.raises(NameError):
        lax.axis_size("nope")


@pytest.mark.parametrize("dim", [-1, 0, 1])
def test_approx_max_min_k_exact(dim):
    rng = np.random.default_rng(1)
    x = rng.permutation(60).reshape(4, 15).astype(np.float32)
    k = 3
    for fn, order in [(lax.approx_max_k, lambda a: -a), (lax.approx_min_k, lambda a: a)]:
        v, i = fn(x, k, reduction_dimension=dim, recall_target=0.9)
        want_i = np.take(np.argsort(order(x), axis=dim, kind="stable"), np.arange(k), axis=dim)
        np.testing.assert_array_equal(np.asarray(i), want_i)
        np.testing.assert_array_equal(np.asarray(v), np.take_along_axis(x, want_i, dim))
        assert i.dtype == np.int32
    with pytest.raises(NotImplementedError, match="aggregate_to_topk=False"):
        lax.approx_max_k(x, 2, aggregate_to_topk=False)
    v, i = lax.approx_max_k(np.array([1.0, np.nan, 3.0], np.float32), 2)   # NaN is largest, as JAX
    assert np.isnan(np.asarray(v)[0]) and np.asarray(i).tolist() == [1, 2]


def _ragged_ref(lhs, rhs, gs):
    out = np.zeros((lhs.shape[0], rhs.shape[2]), np.float64)
    start = 0
    for j, n in enumerate(gs):
        end = min(start + n, lhs.shape[0])
        out[start:end] = lhs[start:end] @ rhs[j]
        start = end
    return out


def test_ragged_dot(x64):
    rng = np.random.default_rng(2)
    lhs, rhs = rng.standard_normal((9, 4)), rng.standard_normal((3, 4, 5))
    for gs in ([2, 3, 4], [0, 5, 1], [9, 0, 0], [4, 4, 4]):
        np.testing.assert_allclose(np.asarray(lax.ragged_dot(lhs, rhs, np.array(gs, np.int32))),
                                   _ragged_ref(lhs, rhs, gs), rtol=1e-12, atol=1e-12)
    gs = np.array([2, 3, 4], np.int32)
    w = rng.standard_normal((9, 5))
    f = lambda a, b: jnp.sum(lax.ragged_dot(a, b, gs) * w)  # noqa: E731
    ga, gb = jax.grad(f, argnums=(0, 1))(lhs, rhs)
    va, vb = rng.standard_normal(lhs.shape), rng.standard_normal(rhs.shape)
    fd = (float(f(lhs + 1e-6 * va, rhs + 1e-6 * vb)) - float(f(lhs - 1e-6 * va, rhs - 1e-6 * vb))) / 2e-6
    np.testing.assert_allclose(np.sum(np.asarray(ga) * va) + np.sum(np.asarray(gb) * vb), fd, rtol=1e-6)
    got = lax.ragged_dot(lhs.astype(np.float32), rhs.astype(np.float32), gs, preferred_element_type=np.float32)
    assert got.dtype == np.float32
    with pytest.raises(TypeError, match="expected lhs"):
        lax.ragged_dot(lhs, rhs[0], gs)


def test_small_lax_pieces():
    x = jnp.arange(3.0)
    assert lax.add_p.bind(x, x).tolist() == [0.0, 2.0, 4.0]
    assert lax.exp_p.name == "exp" and lax.lt_p.name == "lt" and lax.stop_gradient_p.name == "stop_gradient"
    want = 2.0 * np.arange(3.0) if jax.default_backend() == "cpu" else 3.0 * np.arange(3.0)
    got = lax.platform_dependent(x, cpu=lambda v: v * 2, cuda=lambda v: v * 3)
    np.testing.assert_array_equal(np.asarray(got), want)
    np.testing.assert_array_equal(np.asarray(lax.platform_dependent(x, default=lambda v: v + 1)), [1.0, 2.0, 3.0])
    with pytest.raises(NotImplementedError, match="no branch"):
        lax.platform_dependent(x, tpu=lambda v: v)
    tan = lax.composite(lambda v, scale=1.0: lax.sin(v) / lax.cos(v) * scale, name="my.tangent")
    np.testing.assert_allclose(np.asarray(tan(x, scale=2.0)), 2 * np.tan(np.arange(3.0)), rtol=1e-6)
    np.testing.assert_allclose(float(jax.grad(lambda v: tan(v))(0.5)), 1 / np.cos(0.5) ** 2, rtol=1e-6)
    assert lax.with_sharding_constraint(x, None) is x
    np.testing.assert_array_equal(np.asarray(lax.shape_as_value((2, 3))), [2, 3])
    assert lax.dtype(1.0) == np.float32 and lax.dtype(3) == np.int32 and lax.dtype(np.float64) == np.float32
    assert lax.dtype(jnp.ones(2, jnp.int8)) == np.int8


def test_ragged_dot_general_modes(x64):
    rng = np.random.default_rng(3)
    gs = np.array([2, 0, 3], np.int32)
    spans = [(0, 2), (2, 2), (2, 5)]
    RD = lax.RaggedDotDimensionNumbers
    # 1. ragged non-contracting m with batch b: [b,m,k] x [g,b,k,n] -> [b,m,n]; rows past the groups are 0.
    lhs, rhs = rng.standard_normal((2, 6, 3)), rng.standard_normal((3, 2, 3, 4))
    want = np.zeros((2, 6, 4))
    for j, (s, e) in enumerate(spans):
        want[:, s:e] = np.einsum("bmk,bkn->bmn", lhs[:, s:e], rhs[j])
    dn = RD((((2,), (2,)), ((0,), (1,))), (1,), (0,))
    np.testing.assert_allclose(np.asarray(lax.ragged_dot_general(lhs, rhs, gs, dn)), want, rtol=1e-12, atol=1e-12)
    # 2. ragged contracting k: [b,m,k] x [b,k,n] -> [g,b,m,n], each group over its own stretch of k.
    lhs, rhs = rng.standard_normal((2, 3, 6)), rng.standard_normal((2, 6, 4))
    want = np.stack([np.einsum("bmk,bkn->bmn", lhs[:, :, s:e], rhs[:, s:e]) for s, e in spans])
    dn = RD((((2,), (1,)), ((0,), (0,))), (2,), ())
    got = lax.ragged_dot_general(lhs, rhs, gs, dn)
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-12, atol=1e-12)
    # 3. ragged batch b: the plain batched product (as JAX).
    lhs, rhs = rng.standard_normal((6, 2, 3)), rng.standard_normal((6, 3, 4))
    dn = RD((((2,), (1,)), ((0,), (0,))), (0,), ())
    np.testing.assert_allclose(np.asarray(lax.ragged_dot_general(lhs, rhs, gs, dn)),
                               np.einsum("bmk,bkn->bmn", lhs, rhs), rtol=1e-12)
    # grad of mode 2 against finite differences
    dn = RD((((1,), (0,)), ((), ())), (1,), ())
    a, b = rng.standard_normal((3, 6)), rng.standard_normal((6, 4))
    w = rng.standard_normal((3, 3, 4))
    f = lambda a: jnp.sum(lax.ragged_dot_general(a, b, gs, dn) * w)  # noqa: E731
    d = rng.standard_normal(a.shape)
    fd = (float(f(a + 1e-6 * d)) - float(f(a - 1e-6 * d))) / 2e-6
    np.testing.assert_allclose(np.sum(np.asarray(jax.grad(f)(a)) * d), fd, rtol=1e-6)
    with pytest.raises(NotImplementedError, match="group_sizes must be a 1-D"):
        lax.ragged_dot_general(a, b, np.ones((2, 3), np.int32), dn)
