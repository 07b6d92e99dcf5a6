"""The CUDA platform on a real GPU (`pytest -m gpu`; skipped without one).

Everything is compared against NumPy references (the op table's NumPy lambda, closed forms, or
finite differences through `check_grads`), never against gpuxla itself.
"""
import os

import numpy as np
import pytest

import op_table as T

pytestmark = pytest.mark.gpu


def _cuda_ready():
    try:
        from gpuxla.backends import get_backend
        return get_backend().platform == "cuda"
    except Exception:
        return False


if not _cuda_ready():
    pytest.skip("needs the cuda platform: a CUDA GPU with CuPy (GPUXLA_PLATFORM unset or 'cuda')",
                allow_module_level=True)

import gpuxla as jax  # noqa: E402
import gpuxla.numpy as jnp  # noqa: E402

# Two dtypes per op keep the run short; float32 first (the type GPU users run).
CASES = [(op, dt) for op in T.OPS if not op.x64 for dt in op.dtypes[:2]]


def _close(got, want, op, dtype):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "fc" or want.dtype == T.BF16:
        rtol, atol = T.tolerance(op, got.dtype)
        np.testing.assert_allclose(got.astype(np.float64), want.astype(np.float64), rtol=max(rtol, 1e-5),
                                   atol=max(atol, 1e-6), equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{o.name}-{np.dtype(d).name}" for o, d in CASES])
def test_op_table_on_cuda(op, dtype):
    args = T.make_args(op, dtype, np.random.default_rng(1))
    want = T.numpy_ref(op, args)
    got = T.run_gpuxla(op, args)
    for g, w in zip(got if isinstance(got, (list, tuple)) else [got], want if isinstance(want, (list, tuple)) else [want]):
        _close(g, w, op, dtype)


@pytest.mark.parametrize("op,dtype", CASES[::3], ids=[f"{o.name}-{np.dtype(d).name}" for o, d in CASES[::3]])
def test_op_table_jit_on_cuda(op, dtype):
    if op.static:
        pytest.skip("op has arguments that must stay concrete")
    args = T.make_args(op, dtype, np.random.default_rng(2))
    want = T.numpy_ref(op, args)
    got = jax.jit(lambda *a: op.fn(jnp, *a))(*T.gpuxla_args(op, args))
    for g, w in zip(got if isinstance(got, (list, tuple)) else [got], want if isinstance(want, (list, tuple)) else [want]):
        _close(g, w, op, dtype)


def _selu_np(x, alpha=1.67, lmbda=1.05):
    return lmbda * np.where(x > 0, x, alpha * np.exp(x) - alpha)


def selu(x, alpha=1.67, lmbda=1.05):
    return lmbda * jnp.where(x > 0, x, alpha * jnp.exp(x) - alpha)


def sum_logistic(x):
    return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))


def test_seed_workloads():
    x = np.random.default_rng(0).standard_normal(1_000_000).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jax.jit(selu)(jnp.asarray(x))), _selu_np(x), rtol=1e-5, atol=1e-6)
    s = 1 / (1 + np.exp(-x.astype(np.float64)))
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(sum_logistic))(jnp.asarray(x))), s * (1 - s), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.grad(sum_logistic)(jnp.arange(3.0))), [0.25, 0.19661197, 0.10499357], rtol=1e-6)
    a = np.random.default_rng(1).standard_normal((300, 300)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jnp.asarray(a) @ jnp.asarray(a).T), a.astype(np.float64) @ a.T.astype(np.float64),
                               rtol=1e-4, atol=1e-3)


def test_mlp_gradients_against_finite_differences():
    from gpuxla.test_util import check_grads
    rng = np.random.default_rng(3)
    params = [(jnp.asarray(rng.standard_normal((8, 16)).astype(np.float32) * 0.3), jnp.asarray(np.zeros(16, np.float32))),
              (jnp.asarray(rng.standard_normal((16, 4)).astype(np.float32) * 0.3), jnp.asarray(np.zeros(4, np.float32)))]
    x = jnp.asarray(rng.standard_normal((5, 8)).astype(np.float32))

    def loss(w1, b1, w2, b2):
        h = jnp.tanh(x @ w1 + b1)
        logits = h @ w2 + b2
        return jnp.mean(jax.nn.logsumexp(logits, axis=1) - logits[:, 0])
    check_grads(loss, (*params[0], *params[1]), order=1, modes=("rev",), atol=5e-2, rtol=5e-2)


def test_vmap_matches_loop():
    rng = np.random.default_rng(4)
    mat = rng.standard_normal((15, 10)).astype(np.float32)
    xs = rng.standard_normal((7, 10)).astype(np.float32)
    got = jax.vmap(lambda v: jnp.tanh(jnp.asarray(mat) @ v))(jnp.asarray(xs))
    np.testing.assert_allclose(np.asarray(got), np.tanh(xs @ mat.T), rtol=1e-5, atol=1e-5)


def test_reductions_are_deterministic():
    x = jnp.asarray(np.random.default_rng(5).standard_normal(10_000_000).astype(np.float32))
    f = jax.jit(lambda v: (jnp.sum(v), jax.nn.softmax(v.reshape(1000, 10_000), axis=-1)))
    a, b = f(x), f(x)
    assert np.asarray(a[0]).tobytes() == np.asarray(b[0]).tobytes()
    assert np.asarray(a[1]).tobytes() == np.asarray(b[1]).tobytes()
    np.testing.assert_allclose(float(a[0]), np.asarray(x, np.float64).sum(), rtol=1e-4)


def test_reduction_forms_that_fill_the_gpu():
    """#19's forms on the device: column tiles (chunked), split rows, rows in registers -- NumPy's
    values, the same bits on a second call and with every kernel's grid forced to 7 blocks."""
    rng = np.random.default_rng(6)
    m = rng.standard_normal((4096, 4096)).astype(np.float32)
    g = jax.jit(lambda m: (m.sum(0), jnp.argmax(m, 0), m.max(1), jnp.sum(m), jax.nn.softmax(m, axis=-1),
                           m.var(0)))
    x = jnp.asarray(m)
    a = g(x)
    m64 = m.astype(np.float64)
    np.testing.assert_allclose(np.asarray(a[0]), m64.sum(0), rtol=1e-4, atol=1e-3)
    np.testing.assert_array_equal(np.asarray(a[1]), m.argmax(0))
    np.testing.assert_array_equal(np.asarray(a[2]), m.max(1))
    np.testing.assert_allclose(float(a[3]), m64.sum(), rtol=1e-4, atol=1e-2)
    e = np.exp(m64 - m64.max(1, keepdims=True))
    np.testing.assert_allclose(np.asarray(a[4]), e / e.sum(1, keepdims=True), rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(np.asarray(a[5]), m64.var(0), rtol=1e-4)
    exe = g.lower(x).compile()
    assert {"tile", "split", "block"} <= {k.strategy for k in exe.kernels}
    want = [np.asarray(v).tobytes() for v in a]
    assert [np.asarray(v).tobytes() for v in g(x)] == want
    for k in exe.kernels:
        k.launch = ((7, 1, 1), k.launch[1])
    assert [np.asarray(v).tobytes() for v in exe(x)] == want


def test_transposed_operands_through_shared_tiles():
    """#19's tile-transpose loop form on the device: NumPy's bits (add and multiply are exact),
    ragged tiles, a batched transpose, the same bits with every kernel's grid forced to 7 blocks."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal((4096, 4096)).astype(np.float32)
    b = rng.standard_normal((3, 333, 1000)).astype(np.float32)
    c = rng.standard_normal((1000, 333)).astype(np.float16)
    g = jax.jit(lambda a, b, c: (a.T + 1, jnp.transpose(b, (0, 2, 1)) * 2 + b[0].T, c.T * c.T))
    args = [jnp.asarray(v) for v in (a, b, c)]
    out = g(*args)
    want = (a.T + 1, np.transpose(b, (0, 2, 1)) * 2 + b[0].T, c.T * c.T)
    for o, w in zip(out, want):
        np.testing.assert_array_equal(np.asarray(o), w)
    exe = g.lower(*args).compile()
    assert sum(k.strategy == "tile-transpose" for k in exe.kernels) >= 2, exe.kernels
    bits = [np.asarray(v).tobytes() for v in out]
    for k in exe.kernels:
        k.launch = ((7, 1, 1), k.launch[1])
    assert [np.asarray(v).tobytes() for v in exe(*args)] == bits


def test_async_results_without_explicit_sync():
    x = jnp.arange(1_000_000, dtype=jnp.float32)
    y = jax.jit(lambda v: jnp.sin(v) * 2 + 1)(x)
    # No block_until_ready: reading the value must wait for the kernel by itself.
    np.testing.assert_allclose(np.asarray(y)[:5], np.sin(np.arange(5)) * 2 + 1, rtol=1e-6)
    assert "Array(" in repr(y[:3])


@pytest.mark.skipif(os.environ.get("GPUXLA_GPU_LARGE", "1") == "0", reason="GPUXLA_GPU_LARGE=0")
def test_elementwise_beyond_2_to_31_elements():
    import cupy
    n = 2 ** 31 + 17
    if cupy.cuda.Device().mem_info[0] < 3 * n:
        pytest.skip("not enough free GPU memory for a 2^31-element test")
    x = jnp.zeros(n, dtype=jnp.uint8)
    y = jax.jit(lambda v: v + jnp.uint8(3))(x)
    assert int(y[0]) == 3 and int(y[n - 1]) == 3 and int(y[2 ** 31 + 3]) == 3
    assert int(jnp.min(y)) == 3 and int(jnp.max(y)) == 3


# --- runtime: memory, failures, precision, library calls ---------------------------------------
def test_out_of_memory_is_a_runtime_error_and_the_process_survives():
    import cupy
    pool = cupy.get_default_memory_pool()
    old = pool.get_limit()
    pool.set_limit(size=pool.used_bytes() + 64 * 2 ** 20)
    try:
        with pytest.raises(RuntimeError, match=r"RESOURCE_EXHAUSTED: Out of memory while trying to allocate "
                                               r"400,000,000 bytes .*Live gpuxla buffers hold"):
            jax.block_until_ready(jax.jit(lambda v: jnp.broadcast_to(v, (100_000_000,)) * 2)(jnp.float32(1)))
    finally:
        pool.set_limit(size=old)
    np.testing.assert_allclose(np.asarray(jnp.arange(5.0) * 2), [0, 2, 4, 6, 8])


def test_a_failing_launch_names_the_kernel():
    from gpuxla.backends import get_backend
    x = jnp.ones(1000)
    program = jax.jit(lambda v: jnp.sin(v) + 1).lower(x)._entry.program()
    exe = get_backend().compile(program)
    (k,) = exe.kernels
    k.launch = ((1, 1, 1), (4096, 1, 1))         # more threads per block than any GPU allows
    with pytest.raises(RuntimeError, match=f"CUDA kernel '{k.name}' failed .*block \\(4096, 1, 1\\)"):
        exe([x._buf])
    np.testing.assert_allclose(np.asarray(jnp.sin(x) + 1), np.sin(1.0) + 1, rtol=1e-6)


def test_tf32_only_when_asked():
    # TF32 keeps 10 mantissa bits: 1.0001 becomes 1.0 and the sum is exactly 1024.
    x, y = jnp.full((64, 1024), 1.0001, jnp.float32), jnp.ones((1024, 64), jnp.float32)
    full = float(np.float32(1.0001)) * 1024
    assert abs(float((x @ y)[0, 0]) - full) < 1e-3
    with jax.default_matmul_precision("tensorfloat32"):
        assert float(jax.jit(jnp.matmul)(x, y)[0, 0]) == 1024.0
        assert abs(float(jnp.matmul(x, y, precision="highest")[0, 0]) - full) < 1e-3
    assert float(jnp.matmul(x, y, precision="tensorfloat32")[0, 0]) == 1024.0


def test_half_precision_matmuls_accumulate_in_float32():
    import ml_dtypes
    rng = np.random.default_rng(6)
    a, b = rng.standard_normal((64, 4096)), rng.standard_normal((4096, 32))
    exact = a.astype(ml_dtypes.bfloat16).astype(np.float64) @ b.astype(ml_dtypes.bfloat16).astype(np.float64)
    got = jnp.asarray(a, jnp.bfloat16) @ jnp.asarray(b, jnp.bfloat16)
    assert got.dtype == jnp.bfloat16
    np.testing.assert_allclose(np.asarray(got, np.float64), exact, rtol=1e-2, atol=1e-1)
    got16 = jnp.asarray(a, jnp.float16) @ jnp.asarray(b, jnp.float16)
    exact16 = a.astype(np.float16).astype(np.float64) @ b.astype(np.float16).astype(np.float64)
    np.testing.assert_allclose(np.asarray(got16, np.float64), exact16, rtol=5e-3, atol=5e-2)


def test_linalg_and_fft_run_on_the_device():
    rng = np.random.default_rng(7)
    m = rng.standard_normal((6, 6))
    spd = (m @ m.T + 6 * np.eye(6)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jnp.linalg.cholesky(spd)), np.linalg.cholesky(spd), rtol=1e-4, atol=1e-5)
    w, v = jnp.linalg.eigh(spd)
    np.testing.assert_allclose(np.asarray(w), np.linalg.eigvalsh(spd), rtol=1e-4)
    np.testing.assert_allclose(np.abs(np.asarray(v).T @ spd @ np.asarray(v)), np.diag(np.linalg.eigvalsh(spd)),
                               atol=1e-3)
    np.testing.assert_allclose(np.asarray(jnp.linalg.svd(spd, compute_uv=False)), np.linalg.svd(spd, compute_uv=False),
                               rtol=1e-4)
    b = rng.standard_normal(6).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jnp.linalg.solve(spd, b)), np.linalg.solve(spd, b), rtol=1e-4, atol=1e-5)
    z = rng.standard_normal(64).astype(np.float32)
    np.testing.assert_allclose(np.asarray(jnp.fft.rfft(z)), np.fft.rfft(z), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(np.asarray(jnp.fft.irfft(jnp.fft.rfft(z))), z, rtol=1e-4, atol=1e-5)


def test_intermediates_do_not_accumulate_in_device_memory():
    import cupy
    pool = cupy.get_default_memory_pool()
    x = jnp.asarray(np.random.default_rng(8).standard_normal(4_000_000).astype(np.float32))

    def chain(v):
        for i in range(16):
            v = jnp.sort(-v * 0.5 + i)
        return v
    f = jax.jit(chain)
    jax.block_until_ready(f(x))
    base = pool.used_bytes()
    out = jax.block_until_ready(f(x))
    # 32 intermediates of 16 MB are made; only the output stays (plus the previous call's).
    assert pool.used_bytes() - base <= 2 * x.nbytes, (pool.used_bytes() - base) / x.nbytes
    assert out.shape == x.shape


def test_cuda_graph_replay_and_device_loops():
    # After the first call an executable replays a CUDA graph (copies into its static buffers, one
    # launch); a fori_loop runs on the device. Both against NumPy, and against graphs off.
    rng = np.random.default_rng(5)
    w = rng.standard_normal((64, 64)).astype(np.float32) * 0.1
    xs = [rng.standard_normal((16, 64)).astype(np.float32) for _ in range(4)]

    def step(w, x):
        h = jnp.tanh(x @ w)
        return jax.lax.fori_loop(0, 50, lambda i, u: jnp.tanh(u @ w) * 0.5 + u * 0.5, h), jnp.sum(h * h)

    def ref(w, x):
        w, x = w.astype(np.float64), x.astype(np.float64)
        u = h = np.tanh(x @ w)
        for _ in range(50):
            u = np.tanh(u @ w) * 0.5 + u * 0.5
        return u, np.sum(h * h)
    on = jax.jit(step)
    got = [jax.tree_util.tree_map(np.asarray, on(jnp.asarray(w), jnp.asarray(x))) for x in xs]
    exe = next(iter(on._cache.values())).fn
    assert exe.graph_reason is None and exe._loops
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GPUXLA_CUDA_GRAPHS", "0")
        off = jax.jit(lambda *a: step(*a))
        off(jnp.asarray(w), jnp.asarray(xs[0]))       # (compiled with graphs off)
    for x, g in zip(xs, got):
        want = ref(w, x)
        for a, b in zip(g, want):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)
        for a, b in zip(g, off(jnp.asarray(w), jnp.asarray(x))):   # (cuBLAS may pick another algorithm in a graph)
            np.testing.assert_allclose(a, np.asarray(b), rtol=1e-6, atol=1e-6)
