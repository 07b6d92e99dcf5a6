"""Fusion: how many kernels the canonical programs become, and the rules behind the counts.

Every program goes through the real pipeline (`jit(f).lower(*args).compile(platform=...)`): the
jit passes, the fusion pass, the CUDA C renderer and, on cuda-interpret, the host compiler; results
are checked against the NumPy platform. Kernel counts exclude library calls (dot_general, sort, ...).
"""
from collections import Counter

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.compiler import fusion

from codegen_util import _session_cache, needs_cxx, plan_of  # noqa: E402,F401  (fixture, autouse)


def run_interpret(f, *args, expect_loop=None, expect_reduction=None, expect_library=None, max_kernels=None):
    """Compile f for cuda-interpret through jit, check the counts and the values against NumPy."""
    compiled = gpuxla.jit(f).lower(*args).compile(platform="cuda-interpret")
    kinds = Counter(k.kind for k in compiled.kernels)
    counts = (kinds["loop"], kinds["reduction"], len(compiled.library_calls))
    msg = f"loop/reduction/library = {counts}\n{compiled.cuda_source()}"
    if expect_loop is not None:
        assert kinds["loop"] == expect_loop, msg
    if expect_reduction is not None:
        assert kinds["reduction"] == expect_reduction, msg
    if expect_library is not None:
        assert len(compiled.library_calls) == expect_library, msg
    if max_kernels is not None:
        assert len(compiled.kernels) <= max_kernels, msg
    got = gpuxla.tree_util.tree_leaves(compiled(*args))
    want = gpuxla.tree_util.tree_leaves(gpuxla.jit(f).lower(*args).compile(platform="numpy")(*args))
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g, np.float64), np.asarray(w, np.float64), rtol=2e-5, atol=2e-6)
    return compiled


rng = np.random.default_rng(0)
X = rng.standard_normal((64, 130)).astype(np.float32)


def selu(x, alpha=1.67, lmbda=1.05):
    return lmbda * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)


def sum_logistic(x):
    return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))


def softmax(x):
    m = jnp.max(x, axis=-1, keepdims=True)
    e = jnp.exp(x - lax.stop_gradient(m))
    return e / jnp.sum(e, axis=-1, keepdims=True)


def layernorm(x, g, b, eps=1e-5):
    mu = jnp.mean(x, axis=-1, keepdims=True)
    var = jnp.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) * lax.rsqrt(var + eps) * g + b


# ---------------------------------------------------------------------------------------------
# The canonical programs
# ---------------------------------------------------------------------------------------------
@needs_cxx
def test_selu_is_one_loop_kernel():
    run_interpret(selu, X, expect_loop=1, expect_reduction=0, expect_library=0)


@needs_cxx
def test_sum_logistic_is_one_reduction():
    run_interpret(sum_logistic, X.reshape(-1), expect_loop=0, expect_reduction=1, expect_library=0)


@needs_cxx
def test_grad_sum_logistic_is_one_loop_kernel():
    run_interpret(gpuxla.grad(sum_logistic), X, expect_loop=1, expect_reduction=0, expect_library=0)


@needs_cxx
def test_softmax_last_axis():
    c = run_interpret(softmax, X, max_kernels=2, expect_library=0)
    assert len(c.kernels) == 1  # max, sum and the normalisation share one kernel (row-wise stages)
    assert gpuxla.nn.softmax is not None if hasattr(gpuxla, "nn") else True


@needs_cxx
def test_library_softmax_and_logsumexp():
    if not hasattr(gpuxla, "nn"):
        pytest.skip("gpuxla.nn not available")
    run_interpret(lambda x: gpuxla.nn.softmax(x, axis=-1), X, max_kernels=2, expect_library=0)
    run_interpret(lambda x: gpuxla.nn.logsumexp(x, axis=-1), X, max_kernels=2, expect_library=0)


@needs_cxx
def test_layernorm():
    g, b = rng.standard_normal(130).astype(np.float32), rng.standard_normal(130).astype(np.float32)
    c = run_interpret(layernorm, X, g, b, max_kernels=2, expect_library=0)
    assert len(c.kernels) == 1


def _threefry2x32(k0, k1, x0, x1):
    """Threefry-2x32, 20 rounds, written with uint32 lax ops (what gpuxla.random hashes with)."""
    def rotl(v, r):
        return lax.shift_left(v, jnp.uint32(r)) | lax.shift_right_logical(v, jnp.uint32(32 - r))
    ks = [k0, k1, k0 ^ k1 ^ jnp.uint32(0x1BD11BDA)]
    rots = [[13, 15, 26, 6], [17, 29, 16, 24]]
    x0, x1 = x0 + ks[0], x1 + ks[1]
    for i in range(5):
        for r in rots[i % 2]:
            x0 = x0 + x1
            x1 = rotl(x1, r) ^ x0
        x0 = x0 + ks[(i + 1) % 3]
        x1 = x1 + ks[(i + 2) % 3] + jnp.uint32(i + 1)
    return x0, x1


def _normal_by_hand(key, n):
    i = lax.iota(np.uint32, n)
    y0, y1 = _threefry2x32(key[0], key[1], jnp.zeros(n, jnp.uint32), i)
    bits = y0 ^ y1
    u = lax.bitcast_convert_type(lax.shift_right_logical(bits, jnp.uint32(9)) | jnp.uint32(0x3F800000), np.float32) - 1.0
    lo = np.nextafter(np.float32(-1), np.float32(0))
    u = jnp.maximum(lo, u * (1.0 - lo) + lo)
    return np.float32(np.sqrt(2)) * lax.erf_inv(u)


@needs_cxx
def test_threefry_normal_is_one_kernel():
    key = np.array([0, 42], np.uint32)
    c = run_interpret(lambda k: _normal_by_hand(k, 1000), key, expect_loop=1, expect_reduction=0, expect_library=0)
    assert "gx_shift_left" in c.cuda_source() and "gx_erf_inv" in c.cuda_source()


@needs_cxx
def test_random_normal_is_one_kernel():
    random = pytest.importorskip("gpuxla.random")
    key = random.PRNGKey(0)
    c = gpuxla.jit(lambda k: random.normal(k, (1000,))).lower(key).compile(platform="cuda-interpret")
    assert len(c.kernels) == 1 and not c.library_calls, c.cuda_source()
    got = np.asarray(c(key))
    want = np.asarray(random.normal(key, (1000,)))
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def mlp_layer(x, W, b):
    return jnp.maximum(x @ W + b, 0.0)


@needs_cxx
def test_mlp_layer_is_one_library_call_and_one_loop():
    W, b = rng.standard_normal((130, 48)).astype(np.float32), rng.standard_normal(48).astype(np.float32)
    run_interpret(mlp_layer, X, W, b, expect_loop=1, expect_reduction=0, expect_library=1)


@needs_cxx
def test_mlp_backward_per_layer():
    W1, b1 = rng.standard_normal((130, 48)).astype(np.float32) * 0.1, np.zeros(48, np.float32)
    W2, b2 = rng.standard_normal((48, 10)).astype(np.float32) * 0.1, np.zeros(10, np.float32)

    def loss(W1, b1, W2, b2, x):
        return jnp.sum(mlp_layer(mlp_layer(x, W1, b1), W2, b2) ** 2)
    c = run_interpret(gpuxla.grad(loss, argnums=(0, 1, 2, 3)), W1, b1, W2, b2, X)
    # Per layer: the forward matmul and two backward ones (dW, dx; the first layer needs no dx);
    # the forward relu of layer 1 feeds a matmul (one loop kernel); the backward of each layer is
    # at most two kernels -- here one: the masked cotangent and the bias gradient share a kernel.
    assert c.library_calls == ["dot_general"] * 5, c.library_calls
    assert len(c.kernels) <= 1 + 2 * 2, c.cuda_source()
    assert Counter(k.kind for k in c.kernels) == {"loop": 1, "reduction": 2}, c.plan.fusion.describe()


# ---------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------
def _kinds(plan):
    return Counter(k.kind for k in plan.kernels)


def test_expensive_shared_producer_is_materialised():
    def f(x):
        e = jnp.exp(x) * jnp.tanh(x)
        return e.sum(0), e.sum(1)
    p = plan_of(f, X)
    # e is written once, by the first reduction's pass over the rows, and read by the second.
    assert _kinds(p) == {"reduction": 2}, p.fusion.describe()
    assert [sum(1 for pa in k.params if pa.role == "out") for k in p.kernels] == [2, 1]
    assert sum("gx_exp" in k.source for k in p.kernels) == 1


def test_cheap_shared_producer_is_recomputed():
    def f(x):
        e = x * 2.0 + 1.0
        return e.sum(0), e.sum(1)
    p = plan_of(f, X)
    assert _kinds(p) == {"reduction": 2}, p.fusion.describe()
    assert all(len(k.outputs) == 1 and "gx_mul" in k.source for k in p.kernels)


def test_sibling_outputs_share_a_kernel():
    p = plan_of(lambda x: (jnp.sin(x), jnp.cos(x), x * 3), X)
    assert len(p.kernels) == 1 and len(p.kernels[0].outputs) == 3
    # ... up to MAX_OUTPUTS outputs per loop kernel
    p = plan_of(lambda x: tuple(x * k for k in range(fusion.MAX_OUTPUTS + 3)), X)
    assert len(p.kernels) == 2


def test_unrelated_outputs_do_not_share_a_kernel():
    p = plan_of(lambda x, y: (jnp.sin(x), jnp.cos(y)), X, X)
    assert len(p.kernels) == 2


def test_chained_reductions_share_a_kernel():
    # var: sum, then a sum of squares about the mean: one kernel, for rows and for columns
    for axis in (1, 0):
        p = plan_of(lambda x: jnp.var(x, axis=axis), X)
        assert len(p.kernels) == 1 and len(p.kernels[0].info["stages"]) == 2, p.fusion.describe()


def test_reduction_read_at_another_index_starts_a_kernel():
    # The row sums are needed transposed-broadcast: not the row a thread owns.
    def f(x):
        s = jnp.sum(x, axis=1)            # (64,)
        return x[:, :64] * s[None, :]     # column j uses row j's sum
    p = plan_of(f, X)
    assert _kinds(p) == {"reduction": 1, "loop": 1}, p.fusion.describe()


def test_transposed_matmul_output_folds_into_the_library_call():
    W = rng.standard_normal((130, 48)).astype(np.float32)
    p = plan_of(lambda x, w: (x @ w).T, X, W)
    assert not p.kernels and p.fusion.info.eqns[p.outputs[0]].prim.name == "dot_general"


def test_identity_outputs_make_no_kernel():
    p = plan_of(lambda x: (x, lax.stop_gradient(x)), X)
    assert not p.kernels and not p.steps


def test_describe_and_debug_print(capfd, monkeypatch):
    monkeypatch.setenv("GPUXLA_DEBUG", "2")
    p = plan_of(softmax, X)
    err = capfd.readouterr().err
    assert "fusion: 1 kernel(s), 0 library call(s)" in err and "reduction/" in err
    assert "reduce_max" in p.fusion.describe()


@needs_cxx
def test_stacked_shifts_are_split_before_kernels_explode():
    # Each level reads the previous one at two indices: inlined, level k is evaluated 2^k times.
    def stencil(x):
        for _ in range(14):
            x = jnp.pad(x[1:] + x[:-1], (0, 1)) * 0.5
        return x
    c = run_interpret(stencil, X[0])
    assert 1 < len(c.kernels) <= 5
    assert max(len(k.source.splitlines()) for k in c.kernels) < 5000


@needs_cxx
def test_a_kernel_of_no_elements_is_not_compiled():
    # Its text has no loop to declare the index in; it would never be launched anyway. (The
    # original threefry layout leaves a zero-size loop kernel in random.bits of no elements.)
    random = pytest.importorskip("gpuxla.random")
    key = random.PRNGKey(3)
    gpuxla.config.update("jax_threefry_partitionable", False)
    try:
        c = gpuxla.jit(lambda k: random.bits(k, (0, 4))).lower(key).compile(platform="cuda-interpret")
        assert np.asarray(c(key)).shape == (0, 4)
    finally:
        gpuxla.config.update("jax_threefry_partitionable", True)
