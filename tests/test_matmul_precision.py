"""jax_default_matmul_precision and dot_general's precision: which matmuls the cuda platform runs
on TF32 tensor cores (the CPU platforms always compute in full float32, as XLA:CPU does), and the
bfloat16 / float16 paths of the cuda platform's dot_general, run here with NumPy as the array module."""
import ml_dtypes
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.backends.cuda import library as C
from gpuxla.backends.cuda.library import dot_general, uses_tf32
from gpuxla.backends.cuda.runtime import Bf16Array

BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.mark.parametrize("op_precision,config,tf32", [
    (None, None, False), ("DEFAULT", None, False), ("HIGHEST", None, False), ("HIGH", None, True),
    (None, "tensorfloat32", True), (None, "high", True), (None, "bfloat16", True), (None, "fastest", True),
    (None, "float32", False), (None, "highest", False), (None, "default", False),
    ("DEFAULT", "tensorfloat32", True),      # DEFAULT defers to the configured precision
    ("HIGHEST", "tensorfloat32", False),     # a named precision wins over the config
    ("HIGH", "float32", True), ("TENSORFLOAT32", None, True), ("FLOAT32", "tensorfloat32", False),
])
def test_which_matmuls_use_tf32(op_precision, config, tf32):
    with jax.default_matmul_precision(config):
        assert uses_tf32(op_precision) is tf32


def test_precision_config_is_checked_and_restored():
    with pytest.raises(ValueError, match="jax_default_matmul_precision: 'tf32' is not a matmul precision"):
        jax.config.update("jax_default_matmul_precision", "tf32")
    with jax.default_matmul_precision("tensorfloat32"):
        assert jax.config.jax_default_matmul_precision == "tensorfloat32"
    assert jax.config.jax_default_matmul_precision is None


def test_cpu_platforms_keep_full_precision():
    # TF32 would round 1.0001 to 1.0 and give exactly 1024 (TensorFlow's example).
    x, y = jnp.full((4, 1024), 1.0001, jnp.float32), jnp.ones((1024, 4), jnp.float32)
    # The exact sum, against which any float32 summation order (BLAS builds differ) is within a
    # few 1e-6 and TF32's 1024.0 is 1e-4 off.
    want = np.full((4, 4), 1024 * np.float64(np.float32(1.0001)))
    for prec in (None, "tensorfloat32"):
        with jax.default_matmul_precision(prec):
            got = np.asarray(jax.jit(jnp.matmul)(x, y))
            np.testing.assert_allclose(got, want, rtol=3e-5)
            assert got[0, 0] > 1024.09
    np.testing.assert_allclose(np.asarray(lax.dot(x, y, precision=lax.Precision.HIGH)), want, rtol=3e-5)


DNUMS = [
    ((4, 5), (5, 3), (((1,), (0,)), ((), ()))),
    ((5, 4), (3, 5), (((0,), (1,)), ((), ()))),
    ((2, 4, 5), (2, 5, 3), (((2,), (1,)), ((0,), (0,)))),
    ((4, 2, 5), (5, 3, 2), (((2,), (0,)), ((1,), (2,)))),
    ((6,), (6,), (((0,), (0,)), ((), ()))),
]


@pytest.mark.parametrize("ls,rs,dn", DNUMS)
def test_bfloat16_dot_general_accumulates_in_float32(ls, rs, dn):
    rng = np.random.default_rng(0)
    a = rng.standard_normal(ls).astype(BF16)
    b = rng.standard_normal(rs).astype(BF16)
    (lc, rc), (lb, rb) = dn
    letters = "abcdefgh"
    la, ra = list(letters[:len(ls)]), list(letters[len(ls):len(ls) + len(rs)])
    for i, j in zip(lc + lb, rc + rb):
        ra[j] = la[i]
    out = "".join([la[i] for i in lb] + [c for i, c in enumerate(la) if i not in lc and i not in lb]
                  + [c for j, c in enumerate(ra) if j not in rc and j not in rb])
    exact = np.einsum(f"{''.join(la)},{''.join(ra)}->{out}", a.astype(np.float64), b.astype(np.float64))
    got = dot_general(np, Bf16Array(a.view(np.uint16)), Bf16Array(b.view(np.uint16)), dn)
    assert got.dtype == BF16 and got.shape == exact.shape
    # One rounding to bfloat16 at the end (float32 accumulation): within half a bfloat16 ulp.
    np.testing.assert_array_equal(got, exact.astype(np.float32).astype(BF16))
    f32 = dot_general(np, Bf16Array(a.view(np.uint16)), Bf16Array(b.view(np.uint16)), dn,
                       preferred_element_type=np.float32)
    assert f32.dtype == np.float32
    np.testing.assert_allclose(f32, exact, rtol=1e-5, atol=1e-5)


def test_float16_dot_general_accumulates_in_float32():
    # 4096 products of 1 + 2^-10 (exact in float16): a float16 accumulator would stall at 2048.
    a = np.full((1, 4096), 1 + 2 ** -10, np.float16)
    b = np.ones((4096, 1), np.float16)
    got = dot_general(np, a, b, (((1,), (0,)), ((), ())))
    assert got.dtype == np.float16
    assert got[0, 0] == np.float16(4096 * (1 + 2 ** -10))


def test_float32_to_bfloat16_rounding_matches_ml_dtypes():
    x = np.random.default_rng(1).standard_normal(200_000).astype(np.float32) * 1e3
    x[:6] = [np.nan, np.inf, -np.inf, 3.3895314e38, -0.0, 1.00390625]   # ties to even
    bits = C._f32_to_bf16(np, x)
    want = x.astype(BF16).view(np.uint16)
    np.testing.assert_array_equal(bits[1:], want[1:])
    assert np.isnan(bits[:1].view(BF16)[0])
    np.testing.assert_array_equal(C._bf16_to_f32(np, want), want.view(BF16).astype(np.float32))


def test_default_matmul_precision_is_scoped_to_the_thread():
    # JAX's `with jax.default_matmul_precision(...)` is thread-local: another thread, and the jit
    # cache key it computes, keep their own precision; config.update stays process-wide.
    import threading
    from gpuxla import config
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def scoped():
        with jax.default_matmul_precision("tensorfloat32"):
            seen["a"] = (uses_tf32(None), config.read("jax_default_matmul_precision"), config.trace_flags())
            inside.set()
            done.wait(10)
            seen["a_after_b"] = uses_tf32(None)
        seen["a_exit"] = uses_tf32(None)

    def other():
        inside.wait(10)
        seen["b"] = (uses_tf32(None), config.read("jax_default_matmul_precision"), config.trace_flags())
        done.set()

    threads = [threading.Thread(target=scoped), threading.Thread(target=other)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert seen["a"][:2] == (True, "tensorfloat32") and seen["a_after_b"] is True and seen["a_exit"] is False
    assert seen["b"][:2] == (False, None)
    assert seen["a"][2] != seen["b"][2] and seen["b"][2] == config.trace_flags()
    config.update("jax_default_matmul_precision", "tensorfloat32")          # process-wide
    try:
        assert threading_read(config) == "tensorfloat32"
        with jax.default_matmul_precision("highest"):
            assert uses_tf32(None) is False and threading_read(config) == "tensorfloat32"
    finally:
        config.update("jax_default_matmul_precision", None)


def threading_read(config):
    """The option as a fresh thread sees it."""
    import threading
    out = []
    t = threading.Thread(target=lambda: out.append(config.read("jax_default_matmul_precision")))
    t.start()
    t.join(10)
    return out[0]
