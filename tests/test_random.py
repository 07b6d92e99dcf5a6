"""gpuxla.random against JAX 0.10.2, bit for bit.

* the spec's 427 reference vectors (`/work/shared/spec/jax_random_vectors.json`, copy in
  tests/data/), in both counter layouts; x64 off and on each run in one subprocess because the
  flag is process-global;
* further JAX outputs (tests/data/jax_random_extra.json: float16/bfloat16, complex, gumbel modes,
  categorical, choice, randint corner cases) and XLA CPU's float32 log/log1p/erf_inv/erf kernels;
* the fused multiply-add composite against exact rational arithmetic;
* the tutorial's seed, identities between functions, errors, vmap and jit.
"""
import hashlib
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import random
from gpuxla.core.dtypes import config

ROOT = Path(__file__).resolve().parents[1]
CLASSES = ("integer", "float-basic", "fma", "xla-cpu-math")


def _data(name):
    for p in (ROOT.parent / "shared" / "spec" / name, ROOT / "tests" / "data" / name):
        if p.exists():
            return p
    raise FileNotFoundError(name)


def _load(name):
    with open(_data(name) if name == "jax_random_vectors.json" else ROOT / "tests" / "data" / name) as f:
        return json.load(f)


class _layout:
    """Set jax_threefry_partitionable for a block (it is read at call time)."""

    def __init__(self, partitionable):
        self.value = partitionable

    def __enter__(self):
        self.old = config.read("jax_threefry_partitionable")
        config.update("jax_threefry_partitionable", self.value)

    def __exit__(self, *exc):
        config.update("jax_threefry_partitionable", self.old)


def _uint_view(a):
    return a.view({1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}[a.dtype.itemsize])


def _entry_matches(e, out):
    if out.dtype.name != e["dtype"] or list(out.shape) != e["shape"]:
        return False
    flat = out.reshape(-1)[:e["n_values_stored"]]
    if "hex" in e:
        if [int(v) for v in _uint_view(np.ascontiguousarray(flat))] != [int(h, 16) for h in e["hex"]]:
            return False
    elif [int(v) for v in flat] != e["values"]:
        return False
    return "checksum" not in e or \
        hashlib.sha256(np.ascontiguousarray(out).tobytes()).hexdigest() == e["checksum"]["sha256_le_bytes"]


def check_vectors(x64):
    """Evaluate every vector recorded with jax_enable_x64 == x64 (both layouts; the Random123
    known answers with x32). Run in a fresh process: {class: {mode: [matched, total, failed ids]}}."""
    config.update("jax_enable_x64", x64)
    env = {"jax": gpuxla, "jnp": jnp, "random": random, "np": np}
    res = {}
    for e in _load("jax_random_vectors.json")["entries"]:
        if e["config"]["jax_enable_x64"] != x64 or (x64 and e["fn"] == "threefry2x32"):
            continue
        mode = e["id"].split("/")[0]
        with _layout(e["config"]["jax_threefry_partitionable"]):
            try:
                out = np.asarray(eval(e["call"].replace("jax.extend.random.", "random."), env))
                ok = _entry_matches(e, out)
            except Exception as ex:   # reported as a failed id, with the error
                ok, e["id"] = False, f"{e['id']} ({type(ex).__name__}: {ex})"
        r = res.setdefault(e["exactness"], {}).setdefault(mode, [0, 0, []])
        r[0] += ok
        r[1] += 1
        if not ok:
            r[2].append(e["id"])
    return res


_RESULTS = {}


def _vector_results(x64):
    if x64 not in _RESULTS:
        env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        p = subprocess.run([sys.executable, __file__, "--vectors", str(int(x64))], capture_output=True, text=True,
                           env=env, cwd=ROOT, timeout=600)
        assert p.returncode == 0, p.stderr[-3000:]
        _RESULTS[x64] = json.loads(p.stdout.strip().splitlines()[-1])
    return _RESULTS[x64]


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("x64", [False, True], ids=["x32", "x64"])
def test_reference_vectors(x64, cls):
    expected = sum(1 for e in _load("jax_random_vectors.json")["entries"] if e["exactness"] == cls
                   and e["config"]["jax_enable_x64"] == x64 and not (x64 and e["fn"] == "threefry2x32"))
    res = _vector_results(x64).get(cls, {})
    print({mode: f"{ok}/{total}" for mode, (ok, total, _) in res.items()})
    assert sum(total for _, total, _ in res.values()) == expected
    assert {mode: bad for mode, (_, _, bad) in res.items() if bad} == {}


# --- more JAX outputs, and XLA CPU's kernels ---------------------------------------------------
EXTRA = _load("jax_random_extra.json")


def _decode(dtype, shape, hexbytes):
    dt = np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)
    return np.frombuffer(bytes.fromhex(hexbytes), dtype=dt).reshape(shape)


@pytest.mark.parametrize("layout", ["part", "orig"])
@pytest.mark.parametrize("call", list(EXTRA["part"]))
def test_more_jax_outputs(layout, call):
    want = _decode(*EXTRA[layout][call])
    with _layout(layout == "part"):
        got = np.asarray(eval(call, {"random": random, "jnp": jnp}))
    assert got.dtype == want.dtype and got.shape == want.shape
    assert np.ascontiguousarray(got).tobytes() == want.tobytes(), (got, want)


@pytest.mark.parametrize("fn", ["log", "log1p", "erf_inv", "erf"])
def test_xla_cpu_float32_kernels(fn):
    x, want = (np.frombuffer(bytes.fromhex(h), np.float32) for h in EXTRA["kernels"][fn])
    got = np.asarray(getattr(random, "_" + fn)(jnp.asarray(x)))
    same = (got.view(np.uint32) == want.view(np.uint32)) | (np.isnan(got) & np.isnan(want))
    assert same.all(), (x[~same], got[~same], want[~same])


# --- the fused multiply-add composite ----------------------------------------------------------
def _nearest(fr, dtype):
    """The float of `dtype` nearest the Fraction `fr`, ties to even."""
    c = dtype.type(float(fr))
    cands = [np.nextafter(c, dtype.type(-np.inf)), c, np.nextafter(c, dtype.type(np.inf))]
    return min(cands, key=lambda v: (abs(Fraction(float(v)) - fr), int(_uint_view(np.asarray(v))) & 1))


def _fma_cases(dtype, n=400, seed=0):
    rng = np.random.default_rng(seed)
    t = dtype.type
    p = np.finfo(dtype).nmant + 1
    a = rng.standard_normal(n) * np.exp2(rng.integers(-20, 20, n))
    b = rng.standard_normal(n) * np.exp2(rng.integers(-20, 20, n))
    c = rng.standard_normal(n) * np.exp2(rng.integers(-40, 40, n))
    c[: n // 4] = -(a[: n // 4] * b[: n // 4])          # cancellation
    a, b, c = a.astype(dtype), b.astype(dtype), c.astype(dtype)
    # a*b just below half an ulp of an odd c: rounding the exact sum to 2p bits first lands on the
    # midpoint and ties to even, one ulp off.
    ea, eb = np.ldexp(t(1), -(p // 2)), np.ldexp(t(1), p // 2 - p)
    hard = [(t(1 - 2.0 ** (1 - p)) * ea, t(1 + 2.0 ** (1 - p)) * eb, t(1 + 2.0 ** (1 - p)))]
    hard += [(-x, y, -z) for x, y, z in hard] + [(x * t(8), y, z * t(8)) for x, y, z in hard]
    ha, hb, hc = (np.array(v, dtype) for v in zip(*hard))
    return np.concatenate([a, ha]), np.concatenate([b, hb]), np.concatenate([c, hc]), len(hard)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fma_is_correctly_rounded(dtype):
    dtype = np.dtype(dtype)
    a, b, c, nhard = _fma_cases(dtype)
    got = np.asarray(random._fma(*(gpuxla.core.graph.constant(v) for v in (a, b, c))))
    want = np.array([_nearest(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z)), dtype)
                     for x, y, z in zip(a, b, c)], dtype)
    assert got.dtype == dtype
    bad = got != want
    assert not bad.any(), (a[bad], b[bad], c[bad], got[bad], want[bad])
    # The hard cases are the ones a float64 detour without round-to-odd gets wrong.
    naive = (a.astype(np.float64) * b + c).astype(dtype) if dtype == np.float32 else a * b + c
    assert (naive[-nhard:] != want[-nhard:]).all()


def test_gradients():
    # The exact kernels are bit manipulations; they carry the derivatives of what they compute.
    k = random.PRNGKey(5)
    f = np.asarray(random.uniform(k, (6,)), np.float64)
    np.testing.assert_allclose(gpuxla.grad(lambda hi: random.uniform(k, (6,), minval=0.5, maxval=hi).sum())(2.0),
                               f.sum(), rtol=1e-6)
    np.testing.assert_allclose(gpuxla.grad(lambda lo: random.uniform(k, (6,), minval=lo, maxval=2.0).sum())(0.5),
                               (1 - f).sum(), rtol=1e-6)
    x = np.array([-0.9, -0.3, 0.1, 0.6, 0.95], np.float32)
    erfinv = lambda v: np.asarray(random._erf_inv(jnp.asarray(v)), np.float64)  # noqa: E731
    for fn, d in [(random._erf_inv, lambda v: np.sqrt(np.pi) / 2 * np.exp(erfinv(v) ** 2)),
                  (random._erf, lambda v: 2 / np.sqrt(np.pi) * np.exp(-np.float64(v) ** 2)),
                  (random._log1p, lambda v: 1 / (1 + np.float64(v))),
                  (lambda v: random._log(v + 1.0), lambda v: 1 / (1 + np.float64(v)))]:
        got = [float(gpuxla.grad(fn)(jnp.float32(v))) for v in x]
        np.testing.assert_allclose(got, [d(v) for v in x], rtol=2e-6)


# --- seeds, the tutorial, identities -----------------------------------------------------------
# random.normal(random.PRNGKey(0), (10,)) as printed by the old tutorial (JAX < 0.5) and by JAX 0.10.2.
TUTORIAL_OLD = ("-0.3721109 0.26423115 -0.18252768 -0.7368197 -0.44030377 -0.1521442 -0.67135346 -0.5908641 "
                "0.73168886 0.5673026")
TUTORIAL_NEW = ("1.6226422 2.0252647 -0.43359444 -0.07861735 0.1760909 -0.97208923 -0.49529874 0.4943786 "
                "0.6643493 -0.9501635")


@pytest.mark.parametrize("partitionable, printed", [(False, TUTORIAL_OLD), (True, TUTORIAL_NEW)])
def test_tutorial_seed(partitionable, printed):
    with _layout(partitionable):
        for k in (random.PRNGKey(0), random.key(0)):
            x = np.asarray(random.normal(k, (10,)))
            assert x.dtype == np.float32
            assert x.tolist() == np.array(printed.split(), np.float32).tolist()
            assert " ".join(np.format_float_positional(v) for v in x) == printed


def test_default_layout_is_partitionable():
    assert config.read("jax_threefry_partitionable") is True
    np.testing.assert_array_equal(random.split(random.PRNGKey(0)), [[1797259609, 2579123966], [928981903, 3453687069]])


@pytest.mark.parametrize("seed, x32", [(0, (0, 0)), (-1, (0, 0xFFFFFFFF)), (2 ** 40 + 7, (0, 7)),
                                       (np.int8(-1), (0, 0xFFFFFFFF)), (np.uint32(2 ** 32 - 1), (0, 0xFFFFFFFF))])
def test_seed_words(seed, x32):
    np.testing.assert_array_equal(random.PRNGKey(seed), np.array(x32, np.uint32))
    np.testing.assert_array_equal(random.key_data(random.key(seed)), np.array(x32, np.uint32))


def test_identities():
    k = random.PRNGKey(42)
    with _layout(True):
        keys = np.asarray(random.split(k, 5))
        for i in range(5):
            np.testing.assert_array_equal(random.fold_in(k, i), keys[i])
        np.testing.assert_array_equal(random.bits(k, (10,)), np.asarray(random.bits(k, (1000,)))[:10])
        np.testing.assert_array_equal(np.asarray(random.bits(k, (5,))), keys[:, 0] ^ keys[:, 1])
        np.testing.assert_array_equal(np.asarray(random.uniform(k, (3, 4))).ravel(), random.uniform(k, (12,)))
    with _layout(False):
        np.testing.assert_array_equal(random.bits(k, (7,)), random.threefry_2x32(k, jnp.arange(7, dtype=jnp.uint32)))
        assert not np.array_equal(np.asarray(random.bits(k, (1000,)))[:10], random.bits(k, (10,)))
    for layout in (True, False):
        with _layout(layout):
            np.testing.assert_array_equal(random.fold_in(k, 7), random.fold_in(random.PRNGKey(42), np.int32(7)))
            np.testing.assert_array_equal(random.normal(random.key(42), (4,)), random.normal(k, (4,)))


def test_typed_keys():
    k = random.key(0)
    assert k.shape == () and str(k.dtype) == "key<fry>"
    assert repr(k) == "Array((), dtype=key<fry>) overlaying:\n[0 0]"
    ks = random.split(k, 3)
    assert isinstance(ks, random.PRNGKeyArray) and ks.shape == (3,) and len(ks) == 3
    np.testing.assert_array_equal(random.key_data(ks), random.split(random.PRNGKey(0), 3))
    np.testing.assert_array_equal(random.key_data(ks[1]), random.key_data(list(ks)[1]))
    np.testing.assert_array_equal(random.key_data(random.wrap_key_data(random.key_data(ks))), random.key_data(ks))
    assert random.key_impl(k) == "threefry2x32"
    a, b = random.split(k)
    assert isinstance(a, random.PRNGKeyArray) and random.uniform(a).shape == ()


def test_samplers_are_sane():
    k = random.PRNGKey(7)
    p = np.asarray(random.permutation(k, 3000))    # two sort rounds
    assert sorted(p.tolist()) == list(range(3000))
    r = np.asarray(random.randint(k, (4000,), -3, 9))
    assert r.min() == -3 and r.max() == 8
    u = np.asarray(random.uniform(k, (4000,), minval=2.0, maxval=2.5))
    assert (u >= 2.0).all() and (u < 2.5).all()
    t = np.asarray(random.truncated_normal(k, -0.5, 0.25, (4000,)))
    assert (t > -0.5).all() and (t < 0.25).all()
    c = np.asarray(random.choice(k, 6, (6,), replace=False, p=jnp.ones(6) / 6))
    assert sorted(c.tolist()) == list(range(6))
    assert random.normal(k, (0, 3)).shape == (0, 3) and random.choice(k, 5, (0,)).shape == (0,)
    for draw in (random.uniform(k), random.normal(k), random.bits(k), random.gumbel(k), random.randint(k, (), 0, 3)):
        assert draw.shape == () and np.asarray(draw).shape == ()


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize("call, err, match", [
    (lambda: random.normal(jnp.array([0.0, 1.0]), (2,)), TypeError, "dtype = uint32"),
    (lambda: random.normal(jnp.zeros(3, jnp.uint32), (2,)), TypeError, r"end with \(2,\)"),
    (lambda: random.normal(random.split(random.PRNGKey(0), 3), (2,)), ValueError, "single key"),
    (lambda: random.split(random.PRNGKey(0), -1), ValueError, "negative"),
    (lambda: random.split(random.PRNGKey(0), 2.0), TypeError, "integers"),
    (lambda: random.normal(random.PRNGKey(0), (-1,)), ValueError, "negative"),
    (lambda: random.fold_in(random.PRNGKey(0), 2 ** 32), OverflowError, "uint32"),
    (lambda: random.fold_in(random.PRNGKey(0), -1), OverflowError, "uint32"),
    (lambda: random.PRNGKey(1.5), TypeError, "integer"),
    (lambda: random.PRNGKey(2 ** 64), OverflowError, "int64"),
    (lambda: random.PRNGKey(jnp.array([1, 2])), TypeError, "scalar seed"),
    (lambda: random.PRNGKey(0, impl="rbg"), ValueError, "threefry2x32"),
    (lambda: random.normal(random.PRNGKey(0), (2,), jnp.int32), ValueError, "float or complex"),
    (lambda: random.uniform(random.PRNGKey(0), (2,), jnp.int32), ValueError, "float dtype"),
    (lambda: random.randint(random.PRNGKey(0), (2,), 0, 5, jnp.float32), TypeError, "integer dtypes"),
    (lambda: random.bits(random.PRNGKey(0), (2,), jnp.int32), ValueError, "unsigned"),
    (lambda: random.uniform(random.PRNGKey(0), (3,), minval=jnp.zeros(2)), ValueError, "broadcast"),
    (lambda: random.choice(random.PRNGKey(0), 5, (6,), replace=False), ValueError, "larger sample"),
    (lambda: random.choice(random.PRNGKey(0), 0, (2,)), ValueError, "greater than 0"),
    (lambda: random.choice(random.PRNGKey(0), 5, 3), TypeError, "sequence"),
    (lambda: random.permutation(random.PRNGKey(0), 2.5), TypeError, "integer or at least 1-dimensional"),
    (lambda: random.bernoulli(random.PRNGKey(0), 0.5, (3,), mode="x"), ValueError, "mode"),
    (lambda: random.gumbel(random.PRNGKey(0), (3,), mode="x"), ValueError, "mode"),
    (lambda: random.categorical(random.PRNGKey(0), jnp.zeros((3, 4)), shape=(2,)), ValueError, "broadcast"),
])
def test_errors(call, err, match):
    with pytest.raises(err, match=match):
        call()


# --- vmap and jit ------------------------------------------------------------------------------
needs_vmap = pytest.mark.skipif(not hasattr(gpuxla, "vmap"), reason="gpuxla.vmap not available")
needs_jit = pytest.mark.skipif(not hasattr(gpuxla, "jit"), reason="gpuxla.jit not available")


@needs_vmap
@pytest.mark.parametrize("partitionable", [True, False])
def test_vmap_over_keys(partitionable):
    with _layout(partitionable):
        keys = random.split(random.PRNGKey(0), 8)
        got = gpuxla.vmap(lambda k: random.normal(k, (3,)))(keys)
        np.testing.assert_array_equal(got, np.stack([np.asarray(random.normal(k, (3,))) for k in keys]))
        for f in (lambda k: random.randint(k, (4,), 0, 10), lambda k: random.permutation(k, 6),
                  lambda k: random.categorical(k, jnp.array([-1.0, 0.5, 2.0]), shape=(5,)),
                  lambda k: random.choice(k, 4, (3,), p=jnp.array([0.1, 0.2, 0.3, 0.4])),
                  lambda k: random.truncated_normal(k, -1.0, 0.5, (3,))):
            np.testing.assert_array_equal(gpuxla.vmap(f)(keys), np.stack([np.asarray(f(k)) for k in keys]))
        got = gpuxla.vmap(lambda i: random.fold_in(random.PRNGKey(1), i))(jnp.arange(4, dtype=jnp.uint32))
        want = [np.asarray(random.fold_in(random.PRNGKey(1), i)) for i in range(4)]
        np.testing.assert_array_equal(got, np.stack(want))
        got = gpuxla.vmap(random.PRNGKey)(jnp.arange(3))
        np.testing.assert_array_equal(got, [[0, 0], [0, 1], [0, 2]])
        typed = gpuxla.vmap(lambda k: random.uniform(k, (2,)))(random.split(random.key(0), 3))
        want = [np.asarray(random.uniform(k, (2,))) for k in random.split(random.PRNGKey(0), 3)]
        np.testing.assert_array_equal(typed, np.stack(want))
        assert isinstance(gpuxla.vmap(lambda k: random.split(k))(random.split(random.key(0), 3)), random.PRNGKeyArray)


@needs_jit
@pytest.mark.parametrize("partitionable", [True, False])
def test_jit(partitionable):
    with _layout(partitionable):
        k = random.PRNGKey(3)
        f = gpuxla.jit(lambda k: (random.normal(k, (5,)), random.split(k, 3), random.gumbel(k, (4,))))
        for got, want in zip(f(k), (random.normal(k, (5,)), random.split(k, 3), random.gumbel(k, (4,)))):
            np.testing.assert_array_equal(got, want)
        g = gpuxla.jit(lambda k, lo, hi: random.uniform(k, (6,), minval=lo, maxval=hi))
        np.testing.assert_array_equal(g(k, -2.0, 3.3), random.uniform(k, (6,), minval=-2.0, maxval=3.3))
        np.testing.assert_array_equal(gpuxla.jit(random.PRNGKey)(7), random.PRNGKey(7))
        np.testing.assert_array_equal(gpuxla.jit(lambda k: random.permutation(k, 20))(k), random.permutation(k, 20))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--vectors"]:
        print(json.dumps(check_vectors(sys.argv[2] == "1")))


def test_jit_retraces_when_the_layout_flag_flips():
    # The flag is read while tracing, so jit's cache must key on it.
    f = gpuxla.jit(lambda k: random.bits(k, (4,)))
    key = random.key(7)
    got, want = {}, {}
    for flag in (True, False, True):
        with _layout(flag):
            got[flag], want[flag] = np.asarray(f(key)), np.asarray(random.bits(key, (4,)))
            np.testing.assert_array_equal(got[flag], want[flag])
    assert not np.array_equal(want[True], want[False])
