"""The `cuda` platform's runtime glue (CudaRuntime, CudaBackend, Executable, dot_general in
gpuxla/backends/cuda/) run on the CPU: CuPy is replaced by tests/fake_cupy.py (NumPy
behind a device-array type that NumPy may not convert implicitly), and the generated kernels run
on the cuda-interpret platform in place of their CUBINs. Everything is compared with NumPy
references, never with gpuxla itself. tests/test_gpu.py runs the same on a real GPU.
"""
import collections
import contextlib
import os

import numpy as np
import pytest

import fake_cupy as fc
import op_table as T

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends, lax
from gpuxla.backends.cuda import library
from gpuxla.backends.cuda.library import dot_general
from gpuxla.backends.cuda.plan import Plan
from gpuxla.backends.cuda.runtime import Bf16Array
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.core import dtypes
from gpuxla.tree_util import tree_leaves

# (_session_cache: the interpret modules and CUBINs go to the session's temporary cache)
from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

pytestmark = needs_cxx
BF16 = T.BF16


@contextlib.contextmanager
def fake_cuda(**kw):
    """gpuxla's current platform is `cuda`, on fake_cupy."""
    with fc.installed(**kw) as backend:
        yield backend


@pytest.fixture
def cuda():
    with fake_cuda() as backend:
        yield backend


def host(x):
    """A NumPy copy of a gpuxla result (through CudaBackend.to_numpy, i.e. `.get()`)."""
    return np.asarray(x)


def close(got, want, rtol=1e-5, atol=1e-6):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape, (got.shape, want.shape)
    if want.dtype.kind in "fc" or want.dtype == BF16:
        np.testing.assert_allclose(got.astype(np.complex128 if got.dtype.kind == "c" else np.float64),
                                   want.astype(np.complex128 if want.dtype.kind == "c" else np.float64),
                                   rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(got, want)


# ---------------------------------------------------------------------------------------------
# The fake itself
# ---------------------------------------------------------------------------------------------
def test_fake_arrays_refuse_implicit_host_copies():
    x = fc.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    with pytest.raises(TypeError, match="Implicit conversion to a NumPy array is not allowed"):
        np.asarray(x)
    s = np.sum(x, axis=1) + 1       # NumPy hands the call back to the fake (__array_function__)
    assert isinstance(s, fc.ndarray) and s.get().tolist() == [4.0, 13.0]
    assert isinstance(np.sum(x), fc.ndarray) and np.sum(x).shape == ()     # 0-d, as CuPy
    assert fc.asarray(np.float32(2)).shape == ()
    with pytest.raises(TypeError, match="Unsupported type"):
        x + np.ones(3, np.float32)  # CuPy does not mix host arrays into device operations
    with pytest.raises(TypeError, match="Unsupported type"):
        fc.asarray(np.zeros(3, BF16))   # no bfloat16 in CuPy


def test_fake_memory_pool_counts_live_arrays():
    pool = fc.get_default_memory_pool()
    base = pool.used_bytes()
    x = fc.zeros((1000,), np.float32)
    v = x.reshape(10, 100)[2:4]     # views own nothing
    assert pool.used_bytes() == base + 4000
    pool.set_limit(size=base + 6000)
    try:
        with pytest.raises(fc.cuda.memory.OutOfMemoryError, match="Out of memory allocating 4,000 bytes"):
            fc.empty(1000, np.float32)
        del x
        assert pool.used_bytes() == base + 4000     # the view keeps its base alive
        del v
        assert pool.used_bytes() == base
        assert fc.cuda.Device().mem_info == (6000, base + 6000)
    finally:
        pool.set_limit(None)


# ---------------------------------------------------------------------------------------------
# CudaBackend basics
# ---------------------------------------------------------------------------------------------
def test_from_numpy():
    with fc.installed() as backend:
        buf = backend.from_numpy(np.arange(3, dtype=np.float32))
        assert isinstance(buf, fc.ndarray) and buf.get().tolist() == [0, 1, 2]
        bf = backend.from_numpy(np.arange(3, dtype=np.float32).astype(BF16))
        assert isinstance(bf, Bf16Array) and backend.to_numpy(bf).dtype == BF16


def test_eager_ops_keep_device_arrays(cuda):
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    a = jnp.asarray(x)
    assert isinstance(a._buf, fc.ndarray)
    y = jnp.exp(a) / jnp.sum(jnp.exp(a), axis=1, keepdims=True)    # pending until read
    close(host(y), np.exp(x) / np.exp(x).sum(1, keepdims=True))
    assert isinstance(y._buf, fc.ndarray)
    b = jnp.asarray(x.astype(BF16)) * 2
    close(host(b), (x.astype(BF16).astype(np.float32) * 2).astype(BF16))
    assert isinstance(b._buf, Bf16Array)
    assert cuda.platform == "cuda" and str(jax.devices()[0]) == "cuda:0"


def test_jit_compiles_cubins_and_launches_them(cuda):
    from gpuxla.backends.cuda import nvrtc
    x = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    f = jax.jit(lambda v: jnp.tanh(v) * 2 + jnp.max(v, axis=0))
    exe = f.lower(x).compile()
    assert exe.kernels and all(isinstance(k.cubin, bytes) for k in exe.kernels)
    if nvrtc.available():
        assert all(k.cubin[:4] == b"\x7fELF" for k in exe.kernels)
    before = fc.stats["launches"]
    close(host(f(jnp.asarray(x))), np.tanh(x) * 2 + x.max(0))
    assert fc.stats["launches"] - before == len(exe.kernels)


# ---------------------------------------------------------------------------------------------
# The op table, eagerly and under jit
# ---------------------------------------------------------------------------------------------
def _op_cases():
    """Every op at its first dtype, plus its bfloat16 case where it has one."""
    for op in T.OPS:
        if op.x64 and not dtypes.x64_enabled():
            continue
        yield op, op.dtypes[0]
        if BF16 in op.dtypes[1:]:
            yield op, BF16


OP_CASES = list(_op_cases())
JIT_CASES = [(op, dt) for op, dt in OP_CASES[::4] if not op.static]


def _ids(cases):
    return [f"{op.name}-{dt.name}" for op, dt in cases]


def _eager(op, args):
    return [host(o) for o in tree_leaves(T.run_gpuxla(op, args))]


def _jit(op, args, calls=1, executables=None):
    f = jax.jit(lambda *a: op.fn(jnp, *a))      # a new function: jit's cache is not shared
    a = T.gpuxla_args(op, args)
    outs = [[host(o) for o in tree_leaves(f(*a))] for _ in range(calls)]
    if executables is not None:
        executables.extend(e.fn for e in f._cache.values())
    for o in outs[1:]:
        assert [x.tobytes() for x in o] == [y.tobytes() for y in outs[0]], "a later call gave other bits"
    return outs[-1]


def _args(op, dt):
    return T.make_args(op, dt, np.random.default_rng(1))


class _Collect(NumpyBackend):
    """Runs programs with NumPy and keeps the kernels the cuda platform makes of them."""

    def __init__(self):
        super().__init__()
        self.kernels = {}

    def compile(self, program):
        self.kernels.update((k.name, k) for k in Plan(program).kernels)
        return super().compile(program)


@pytest.fixture(scope="module")
def op_table_kernels():
    """The interpret platform compiles C++: one host-compiler run per eager program would take
    minutes. So every op-table program is first run on NumPy by a backend that collects the
    kernels the cuda platform makes of it (the same programs, so the same kernel names), and they
    are compiled together, one module per CPU; the runs on the fake then find them compiled."""
    col = _Collect()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backends, "_backend", col)
        mp.setattr(backends, "_eager_cache", {})
        for run, cases in ((_eager, OP_CASES), (_jit, JIT_CASES)):
            for op, dt in cases:
                try:
                    run(op, _args(op, dt))
                except Exception:  # noqa: BLE001 - the op's test reports it, on the fake
                    pass
    fc.register_kernels(list(col.kernels.values()), jobs=os.cpu_count() or 1)


def _check_op(op, got, args):
    want = [np.asarray(w) for w in tree_leaves(T.numpy_ref(op, args))]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        rtol, atol = T.tolerance(op, g.dtype)
        close(g, w, rtol=max(rtol, 1e-5), atol=max(atol, 1e-6))


@pytest.mark.parametrize("op,dt", OP_CASES, ids=_ids(OP_CASES))
def test_op_table_eager(op_table_kernels, op, dt):
    args = _args(op, dt)
    # No NVRTC here: a CUBIN per kernel would take minutes (the other tests make them when
    # NVRTC is installed).
    with fake_cuda(nvrtc=False):
        got = _eager(op, args)
    _check_op(op, got, args)


@pytest.mark.parametrize("op,dt", JIT_CASES, ids=_ids(JIT_CASES))
def test_op_table_jit(op_table_kernels, op, dt):
    args = _args(op, dt)
    with fake_cuda(nvrtc=False):
        got = _jit(op, args)
    _check_op(op, got, args)


@pytest.mark.parametrize("op,dt", JIT_CASES, ids=_ids(JIT_CASES))
def test_op_table_jit_arena_off_same_bits(op_table_kernels, op, dt, monkeypatch):
    # Intermediates in the executable's arena (the default) or each in its own allocation.
    args = _args(op, dt)
    with fake_cuda(nvrtc=False):
        on = _jit(op, args)
        monkeypatch.setenv("GPUXLA_ARENA", "0")
        off = _jit(op, args)
    _check_op(op, off, args)
    assert [a.tobytes() for a in on] == [b.tobytes() for b in off]


@pytest.mark.parametrize("op,dt", JIT_CASES, ids=_ids(JIT_CASES))
def test_op_table_jit_graphs_off_same_bits(op_table_kernels, op, dt, monkeypatch):
    # After its first call, an executable replays its steps as one CUDA graph (the default; here
    # wherever it can be captured, whether or not the estimate says it pays), or launches them
    # one by one (GPUXLA_CUDA_GRAPHS=0). Three calls each: the second and third replay.
    from gpuxla.backends.cuda import plan
    monkeypatch.setattr(plan, "GRAPH_COPY_US", 0.0)
    monkeypatch.setattr(plan, "GRAPH_COPY_BYTES_PER_US", float("inf"))
    args = _args(op, dt)
    exes = []
    with fake_cuda(nvrtc=False):
        on = _jit(op, args, calls=3, executables=exes)
        monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")
        off = _jit(op, args, calls=2)
    _check_op(op, on, args)
    assert [a.tobytes() for a in on] == [b.tobytes() for b in off]
    _graphed[op.name] = all(getattr(e, "graph_reason", "") is None for e in exes)


_graphed = {}


def test_op_table_graphs_replayed_most_programs():
    # (after the test above: the share of op-table programs it ran as graphs)
    if len(_graphed) < len(JIT_CASES):
        pytest.skip("runs after test_op_table_jit_graphs_off_same_bits, over all its cases")
    assert sum(_graphed.values()) >= len(_graphed) // 2, sorted(k for k, v in _graphed.items() if not v)


# ---------------------------------------------------------------------------------------------
# dot_general on fake device arrays, against einsum
# ---------------------------------------------------------------------------------------------
DOT_CASES = {
    "matmul": ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),
    "transposed_operands": ((4, 3), (5, 4), (((0,), (1,)), ((), ()))),
    "batch_leading": ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    "batch_middle_and_last": ((3, 2, 4), (4, 5, 2), (((2,), (0,)), ((1,), (2,)))),
    "two_batch_dims_swapped": ((2, 3, 4, 5), (3, 2, 5, 6), (((3,), (2,)), ((0, 1), (1, 0)))),
    "contract_two_dims": ((2, 3, 4), (4, 3, 5), (((1, 2), (1, 0)), ((), ()))),
    "vector_vector": ((6,), (6,), (((0,), (0,)), ((), ()))),
    "matrix_vector": ((3, 6), (6,), (((1,), (0,)), ((), ()))),
    "outer": ((3,), (4,), (((), ()), ((), ()))),
    "empty_contraction": ((3, 0), (0, 4), (((1,), (0,)), ((), ()))),
}


def einsum_ref(a, b, dn):
    """dot_general by einsum in float64 (int64 for integers): batch, lhs free, rhs free dims."""
    (lc, rc), (lb, rb) = dn
    letters = "abcdefghijkl"
    la, ra = list(letters[:a.ndim]), list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(lc + lb, rc + rb):
        ra[j] = la[i]
    out = "".join([la[i] for i in lb] + [c for i, c in enumerate(la) if i not in lc and i not in lb]
                  + [c for j, c in enumerate(ra) if j not in rc and j not in rb])
    wide = np.int64 if a.dtype.kind in "iu" else np.float64
    return np.einsum(f"{''.join(la)},{''.join(ra)}->{out}", a.astype(wide), b.astype(wide))


def _operands(ls, rs, dtype, seed=0):
    rng = np.random.default_rng(seed)
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-9, 10, ls).astype(dtype), rng.integers(-9, 10, rs).astype(dtype)
    return rng.standard_normal(ls).astype(dtype), rng.standard_normal(rs).astype(dtype)


@pytest.mark.parametrize("dtype,preferred,out_dtype,tol", [
    (np.float32, None, np.float32, 1e-5),
    (np.int32, None, np.int32, 0),
    (np.float16, None, np.float16, 1e-3),         # rounded once, from a float32 accumulation
    (np.float16, np.float32, np.float32, 1e-6),
    (np.int8, np.int32, np.int32, 0),             # products overflow int8
    (np.int32, np.float32, np.float32, 1e-6),
])
@pytest.mark.parametrize("case", list(DOT_CASES))
def test_dot_general_against_einsum(case, dtype, preferred, out_dtype, tol):
    ls, rs, dn = DOT_CASES[case]
    a, b = _operands(ls, rs, dtype)
    if dtype == np.int8:
        a, b = (np.abs(a) * 12).astype(np.int8), (np.abs(b) * 12).astype(np.int8)   # up to 108
    want = einsum_ref(a, b, dn)
    got = dot_general(fc, fc.asarray(a), fc.asarray(b), dn, preferred_element_type=preferred)
    assert isinstance(got, fc.ndarray)
    assert got.shape == want.shape and got.dtype == out_dtype, (got.shape, got.dtype)   # 0-d stays 0-d
    assert got.flags.c_contiguous
    if tol:
        np.testing.assert_allclose(got.get().astype(np.float64), want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got.get(), want.astype(out_dtype))


@pytest.mark.parametrize("case", ["matmul", "batch_middle_and_last", "contract_two_dims", "vector_vector"])
def test_dot_general_bfloat16(case):
    ls, rs, dn = DOT_CASES[case]
    a, b = _operands(ls, rs, np.float32, seed=1)
    a, b = a.astype(BF16), b.astype(BF16)
    want = einsum_ref(a.astype(np.float32), b.astype(np.float32), dn)
    bits = [Bf16Array(fc.asarray(v.view(np.uint16))) for v in (a, b)]
    got = dot_general(fc, *bits, dn)
    assert isinstance(got, Bf16Array) and isinstance(got.bits, fc.ndarray)
    # One rounding to bfloat16 at the end of a float32 accumulation.
    np.testing.assert_array_equal(got.get(), want.astype(np.float32).astype(BF16))
    f32 = dot_general(fc, *bits, dn, preferred_element_type=np.float32)
    assert isinstance(f32, fc.ndarray) and f32.dtype == np.float32 and f32.shape == want.shape
    np.testing.assert_allclose(f32.get(), want, rtol=1e-5, atol=1e-5)


def test_dot_general_float16_accumulates_in_float32():
    # 4096 products of 1 + 2^-10 (exact in float16): a float16 accumulator would stall at 2048.
    a = fc.asarray(np.full((1, 4096), 1 + 2 ** -10, np.float16))
    b = fc.asarray(np.ones((4096, 1), np.float16))
    got = dot_general(fc, a, b, (((1,), (0,)), ((), ())))
    assert got.dtype == np.float16 and got.get()[0, 0] == np.float16(4096 * (1 + 2 ** -10))


TF32_A = np.full((4, 1024), 1.0001, np.float32)     # TF32 rounds 1.0001 to 1.0: exactly 1024
TF32_B = np.ones((1024, 4), np.float32)
DN = (((1,), (0,)), ((), ()))


@pytest.mark.parametrize("precision,tf32", [(None, False), ("HIGHEST", False), ("HIGH", True),
                                            ("TENSORFLOAT32", True)])
def test_dot_general_compute_type(precision, tf32):
    del fc.matmul_log[:]
    got = dot_general(fc, fc.asarray(TF32_A), fc.asarray(TF32_B), DN, precision=precision).get()
    assert fc.matmul_log == [("float32", fc.COMPUTE_TYPE_TF32 if tf32 else fc.COMPUTE_TYPE_DEFAULT)]
    if tf32:
        np.testing.assert_array_equal(got, 1024)
    else:
        np.testing.assert_allclose(got, 1024.1024, rtol=1e-6)
    assert fc.get_compute_type(np.float32) == fc.COMPUTE_TYPE_DEFAULT      # put back


def test_dot_general_full_precision_despite_process_wide_tf32():
    # CUPY_TF32=1 makes TF32 CuPy's default; gpuxla's default precision is still full float32,
    # and the process-wide setting is put back afterwards.
    fc.set_compute_type(np.float32, fc.COMPUTE_TYPE_TF32)
    try:
        del fc.matmul_log[:]
        got = dot_general(fc, fc.asarray(TF32_A), fc.asarray(TF32_B), DN).get()
        assert fc.matmul_log == [("float32", fc.COMPUTE_TYPE_DEFAULT)]
        np.testing.assert_allclose(got, 1024.1024, rtol=1e-6)
        assert fc.get_compute_type(np.float32) == fc.COMPUTE_TYPE_TF32
    finally:
        fc.set_compute_type(np.float32, fc.COMPUTE_TYPE_DEFAULT)


def test_matmul_precision_config_on_the_platform(cuda):
    x, y = jnp.asarray(TF32_A), jnp.asarray(TF32_B)
    with jax.default_matmul_precision("tensorfloat32"):
        np.testing.assert_array_equal(host(jax.jit(lambda a, b: a @ b)(x, y)), 1024)
    np.testing.assert_allclose(host(jax.jit(lambda a, b: a @ b)(x, y)), 1024.1024, rtol=1e-6)
    np.testing.assert_array_equal(host(lax.dot(x, y, precision=lax.Precision.HIGH)), 1024)


# ---------------------------------------------------------------------------------------------
# Control flow, grad and vmap on the platform
# ---------------------------------------------------------------------------------------------
X = np.random.default_rng(5).standard_normal((4, 3)).astype(np.float32)


def _both(f, *args):
    """f eagerly and under jit (a new jit per call: nothing is shared with other tests)."""
    dev = [jnp.asarray(a) for a in args]
    return host(f(*dev)), host(jax.jit(f)(*dev))


@pytest.mark.parametrize("pred", [True, False])
def test_cond(cuda, pred):
    f = lambda p, v: lax.cond(p, lambda u: jnp.sin(u) * 2, lambda u: u - 1, v)  # noqa: E731
    for got in _both(f, np.bool_(pred), X):
        close(got, np.sin(X) * 2 if pred else X - 1)


def test_switch(cuda):
    branches = [lambda u: u + 1, lambda u: u * u, lambda u: jnp.exp(u)]
    for i, want in enumerate([X + 1, X * X, np.exp(X)]):
        for got in _both(lambda k, v: lax.switch(k, branches, v), np.int32(i), X):
            close(got, want)


def test_while_loop(cuda):
    def f(v):
        return lax.while_loop(lambda c: jnp.max(c[1]) < 100, lambda c: (c[0] + 1, c[1] * 1.5 + 1), (0, v))
    k, v = 0, X.copy()
    while v.max() < 100:
        k, v = k + 1, v * np.float32(1.5) + 1
    for got in _both(lambda v: f(v)[1], X):
        close(got, v)
    assert int(f(jnp.asarray(X))[0]) == k


def test_scan_and_fori_loop(cuda):
    def f(xs):
        carry, ys = lax.scan(lambda c, x: (c * 0.5 + x, jnp.tanh(c)), jnp.zeros(3), xs)
        _, back = lax.scan(lambda c, x: (c + x, c), jnp.zeros(3), xs, reverse=True)
        fori = lax.fori_loop(0, 5, lambda i, v: v * 2 + i, xs)
        return carry, ys, back, fori
    c, ys, back = np.zeros(3, np.float32), [], [None] * len(X)
    for x in X:
        ys.append(np.tanh(c))
        c = c * np.float32(0.5) + x
    acc = np.zeros(3, np.float32)
    for i in range(len(X) - 1, -1, -1):
        back[i], acc = acc, acc + X[i]
    fori = X.copy()
    for i in range(5):
        fori = fori * 2 + i
    xs = jnp.asarray(X)
    for got in (f(xs), jax.jit(f)(xs)):
        for g, w in zip(got, (c, np.stack(ys), np.stack(back), fori)):
            close(host(g), w)


def test_fori_loop_with_traced_bounds(cuda):
    f = jax.jit(lambda n, v: lax.fori_loop(0, n, lambda i, u: u * 0.5 + i, v))
    for n in (0, 3):
        want = X.copy()
        for i in range(n):
            want = want * np.float32(0.5) + i
        close(host(f(n, jnp.asarray(X))), want)


def mlp_loss(params, x):
    w1, b1, w2, b2 = params
    h = jnp.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - logits[:, 0])


def mlp_ref(params, x):
    """The loss and its gradient, by hand in float64."""
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
    x = x.astype(np.float64)
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    m = logits.max(1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(1, keepdims=True)))[:, 0]
    loss = np.mean(lse - logits[:, 0])
    d = np.exp(logits - lse[:, None])
    d[:, 0] -= 1
    d /= len(x)
    dz = (d @ w2.T) * (1 - h * h)
    return loss, (x.T @ dz, dz.sum(0), h.T @ d, d.sum(0))


def mlp_params(seed=3):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((8, 16)).astype(np.float32) * 0.3, rng.standard_normal(16).astype(np.float32) * 0.1,
            rng.standard_normal((16, 4)).astype(np.float32) * 0.3, rng.standard_normal(4).astype(np.float32) * 0.1)


def test_grad_of_mlp(cuda):
    params, x = mlp_params(), np.random.default_rng(4).standard_normal((5, 8)).astype(np.float32)
    want_loss, want_grads = mlp_ref(params, x)
    dev = [jnp.asarray(p) for p in params]
    for fn in (jax.value_and_grad(mlp_loss), jax.jit(jax.value_and_grad(mlp_loss))):
        loss, grads = fn(dev, jnp.asarray(x))
        close(host(loss), want_loss, rtol=1e-5)
        for g, w in zip(grads, want_grads):
            close(host(g), w, rtol=1e-4, atol=1e-5)


def test_grad_through_scan(cuda):
    # d/dw sum_t c_t with c_t = tanh(w * c_{t-1} + x_t), by hand.
    xs = np.random.default_rng(6).standard_normal(6).astype(np.float32)

    def f(w):
        return jnp.sum(lax.scan(lambda c, x: (jnp.tanh(w * c + x),) * 2, jnp.float32(0.5), jnp.asarray(xs))[1])
    w, c, dc, total = 0.7, 0.5, 0.0, 0.0
    for x in xs:
        c_new = np.tanh(w * c + x)
        dc = (1 - c_new ** 2) * (c + w * dc)
        c = c_new
        total += dc
    close(host(jax.grad(f)(jnp.float32(w))), total, rtol=1e-5)
    close(host(jax.jit(jax.grad(f))(jnp.float32(w))), total, rtol=1e-5)


def test_vmap(cuda):
    mat = np.random.default_rng(7).standard_normal((5, 3)).astype(np.float32)
    m = jnp.asarray(mat)

    def f(v, p):
        return lax.cond(p, lambda u: jnp.tanh(m @ u), lambda u: m @ u * 2, v)
    preds = np.array([True, False, True, False])
    want = np.stack([np.tanh(mat @ v) if p else mat @ v * 2 for v, p in zip(X, preds)])
    for g in (jax.vmap(f), jax.jit(jax.vmap(f))):
        close(host(g(jnp.asarray(X), jnp.asarray(preds))), want, rtol=1e-5, atol=1e-6)


def test_per_example_gradients(cuda):
    params, x = mlp_params(), np.random.default_rng(8).standard_normal((3, 8)).astype(np.float32)
    dev = [jnp.asarray(p) for p in params]
    per = jax.jit(jax.vmap(jax.grad(lambda p, xi: mlp_loss(p, xi[None])), in_axes=(None, 0)))(dev, jnp.asarray(x))
    for k, g in enumerate(per):
        want = np.stack([mlp_ref(params, x[i:i + 1])[1][k] for i in range(len(x))])
        close(host(g), want, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Device buffers stay on the device
# ---------------------------------------------------------------------------------------------
def test_mlp_training_step_stays_on_device(cuda):
    """A jitted step (matmuls, tanh, logsumexp, their gradients) makes no device-to-host copy: a
    NumPy rule that reads a device array through np.asarray would raise in the fake, and the
    runtime's host fallback would show up as `.get()` calls."""
    params, x = mlp_params(), np.random.default_rng(4).standard_normal((5, 8)).astype(np.float32)

    @jax.jit
    def step(p, xb):
        loss, grads = jax.value_and_grad(mlp_loss)(p, xb)
        return loss, [w - 0.1 * g for w, g in zip(p, grads)]
    dev, xb = [jnp.asarray(p) for p in params], jnp.asarray(x)
    step(dev, xb)                      # compiles (constants are read on the host then)
    before = dict(fc.stats)
    loss, new = step(dev, xb)
    loss2, _ = step(new, xb)
    assert fc.stats["d2h"] == before["d2h"], "a device-to-host copy inside the step"
    assert fc.stats["h2d"] == before["h2d"], "a host-to-device copy inside the step"
    assert fc.stats["launches"] > before["launches"]
    assert all(isinstance(a._buf, fc.ndarray) for a in [loss, *new])
    want_loss, grads = mlp_ref(params, x)
    close(host(loss), want_loss, rtol=1e-5)
    for n, p, g in zip(new, params, grads):
        close(host(n), p - 0.1 * g, rtol=1e-4, atol=1e-5)
    assert float(loss2) < float(loss)


def _take_np(v):
    return v[:, [2, 0, 1]]


@pytest.mark.parametrize("name,f,ref", [
    ("sort", lambda v: jnp.sort(v, axis=0), lambda v: np.sort(v, axis=0)),
    ("cumsum", lambda v: jnp.cumsum(v, axis=1), lambda v: np.cumsum(v, axis=1)),
    ("take", lambda v: jnp.take(v, jnp.asarray([2, 0, 1]), axis=1), _take_np),
    ("argsort", lambda v: jnp.argsort(v, axis=1), lambda v: np.argsort(v, axis=1).astype(np.int32)),
    ("scatter", lambda v: v.at[1].set(0.0), lambda v: np.where(np.arange(4)[:, None] == 1, 0, v)),
    ("scatter_add", lambda v: v.at[jnp.asarray([1, 1, 3])].add(1.0), lambda v: v + np.array([0, 2, 0, 1.0])[:, None]),
    ("gather_fill", lambda v: v.at[jnp.asarray([0, 7, 3])].get(mode="fill", fill_value=-1.0),
     lambda v: np.stack([v[0], np.full(3, -1.0), v[3]])),
    ("to_complex", lambda v: v.astype(jnp.complex64) * (1 + 2j), lambda v: v * np.complex64(1 + 2j)),
])
def test_library_calls_stay_on_device(cuda, name, f, ref):
    x = jnp.asarray(X)
    g = jax.jit(f)
    g(x)                                # compiles
    before = fc.stats["d2h"]
    out = g(x)
    close(host(out), ref(X))
    assert fc.stats["d2h"] == before + 1, f"{name} copied a device array to the host"   # + the read above


def test_host_fallbacks_are_counted_and_reported(cuda, monkeypatch, capsys):
    # CuPy has no bfloat16, so a bfloat16 sort runs on the host; a float32 sort stays on the device.
    monkeypatch.setenv("GPUXLA_DEBUG", "1")
    monkeypatch.setattr(library, "host_fallbacks", collections.Counter())
    close(host(jnp.sort(jnp.asarray(X), axis=0)), np.sort(X, axis=0))
    assert library.host_fallbacks == {}
    v = X.astype(BF16)
    for _ in range(2):
        close(host(jnp.sort(jnp.asarray(v), axis=0)), np.sort(v, axis=0))
    assert library.host_fallbacks == {"sort": 2}
    assert capsys.readouterr().err.count("'sort' has no device implementation") == 1   # once per primitive


def test_jit_constants(cuda):
    # Closed-over NumPy and device arrays become the executable's constants (copied once).
    host_const = np.linspace(0, 1, 12, dtype=np.float32).reshape(4, 3)
    dev_const = jnp.asarray(host_const * 3)
    f = jax.jit(lambda v: v * host_const + dev_const + 2.0)
    for _ in range(2):
        close(host(f(jnp.asarray(X))), X * host_const + host_const * 3 + 2)


# ---------------------------------------------------------------------------------------------
# bfloat16 and float16 through library calls
# ---------------------------------------------------------------------------------------------
_A = np.random.default_rng(9).standard_normal((4, 4)).astype(np.float32)
SPD = _A @ _A.T + 4 * np.eye(4, dtype=np.float32)      # symmetric positive definite

def _bf16(x):
    return np.asarray(x).astype(BF16)


def _round_bf16(x):
    return np.asarray(x, np.float32).astype(BF16)


@pytest.mark.parametrize("name,f,ref", [
    ("cholesky", lambda a: jnp.linalg.cholesky(a), lambda a: np.linalg.cholesky(a)),
    ("solve", lambda a: jnp.linalg.solve(a, jnp.ones(4, a.dtype)), lambda a: np.linalg.solve(a, np.ones(4))),
    ("inv", lambda a: jnp.linalg.inv(a), np.linalg.inv),
    ("eigvalsh", lambda a: jnp.linalg.eigh(a)[0], lambda a: np.linalg.eigh(a)[0]),
    ("qr_r_abs", lambda a: jnp.abs(jnp.linalg.qr(a)[1]), lambda a: np.abs(np.linalg.qr(a)[1])),
    ("svdvals", lambda a: jnp.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False)),
    ("det", lambda a: jnp.linalg.det(a), np.linalg.det),
])
def test_linalg_bfloat16(cuda, name, f, ref):
    a = _bf16(SPD)
    want = ref(a.astype(np.float64))
    close(host(f(jnp.asarray(a))).astype(np.float32), want, rtol=5e-2, atol=5e-2)


@pytest.mark.parametrize("name,f", [
    ("cond", lambda v: lax.cond(jnp.asarray(False), lambda u: u * 2, lambda u: u - 1, v)),
    ("while_loop", lambda v: lax.while_loop(lambda c: c[0] < 1, lambda c: (c[0] + 1, c[1] - 1), (0, v))[1]),
    ("scan_over_bf16", lambda v: lax.scan(lambda c, x: (c + x.astype(jnp.float32), x - 1), jnp.zeros(3), v)[1]),
    ("scan_bf16_carry", lambda v: lax.scan(lambda c, x: (c - 0.25, x), v[0], jnp.asarray(X))[0][None]),
])
def test_control_flow_bfloat16(cuda, name, f):
    # Every case computes v - 1 in bfloat16 (exact for these small values).
    v = np.round(X * 4).astype(BF16)
    want = v.astype(np.float32) - 1
    got = host(f(jnp.asarray(v)))
    assert got.dtype == BF16
    close(got.astype(np.float32), want[:len(got)])


@pytest.mark.parametrize("name,f,ref", [
    # (CuPy's linalg refuses float16: the runtime computes these in float32)
    ("cholesky", lambda a: jnp.linalg.cholesky(a), np.linalg.cholesky),
    ("solve", lambda a: jnp.linalg.solve(a, jnp.ones(4, a.dtype)), lambda a: np.linalg.solve(a, np.ones(4))),
    ("eigvalsh", lambda a: jnp.linalg.eigh(a)[0], lambda a: np.linalg.eigh(a)[0]),
    ("svdvals", lambda a: jnp.linalg.svd(a, compute_uv=False), lambda a: np.linalg.svd(a, compute_uv=False)),
    ("qr_r_abs", lambda a: jnp.abs(jnp.linalg.qr(a)[1]), lambda a: np.abs(np.linalg.qr(a)[1])),
    ("det", lambda a: jnp.linalg.det(a), np.linalg.det),
    ("fft_abs", lambda a: jnp.abs(jnp.fft.fft(a)), lambda a: np.abs(np.fft.fft(a))),
])
def test_float16_library_calls(cuda, name, f, ref):
    a = SPD.astype(np.float16)
    want = ref(a.astype(np.float64))
    got = host(f(jnp.asarray(a)))
    close(got.astype(np.float64), want, rtol=1e-2, atol=1e-2 * np.abs(want).max())


def test_cholesky_of_a_matrix_that_is_not_positive_definite(cuda):
    # cuSOLVER returns garbage there (the fake: NaN); gpuxla returns NaN in the lower triangle.
    a = np.stack([SPD, -SPD])
    got = host(jnp.linalg.cholesky(jnp.asarray(a)))
    close(got[0], np.linalg.cholesky(SPD.astype(np.float64)), rtol=1e-5, atol=1e-5)
    assert np.isnan(got[1][np.tril_indices(4)]).all() and (got[1][np.triu_indices(4, 1)] == 0).all()


# ---------------------------------------------------------------------------------------------
# Failures: out of memory, kernel faults
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def pool(cuda):
    # Limits are set relative to the live bytes: what would be given back when an allocation fails
    # is given back now (idle frames of executables jit keeps cached by earlier tests -- arenas,
    # CUDA graphs' static buffers -- and garbage), or the test's allocation would succeed on retry.
    import gc
    from gpuxla.backends.cuda.plan import release_idle_frames
    release_idle_frames()
    gc.collect()
    p = fc.get_default_memory_pool()
    yield p
    p.set_limit(None)


def test_out_of_memory_on_a_host_to_device_copy(pool):
    x = np.ones((100, 100), np.float32)
    pool.set_limit(size=pool.used_bytes() + 30_000)
    frees = pool.frees
    with pytest.raises(RuntimeError, match=r"RESOURCE_EXHAUSTED: Out of memory while trying to allocate 40,000 bytes "
                                           r"for a host-to-device copy of f32\[100,100\]") as e:
        jnp.asarray(x)
    assert "limit" in str(e.value) and "CuPy said: Out of memory allocating 40,000 bytes" in str(e.value)
    assert pool.frees == frees + 1        # the pool's cached blocks were freed and the copy retried
    pool.set_limit(None)
    close(host(jnp.asarray(x) + 1), x + 1)  # the process goes on


def test_out_of_memory_in_a_kernel_output_and_a_library_call(pool):
    x = jnp.asarray(np.ones((100, 100), np.float32))
    f = jax.jit(lambda v: jnp.tanh(v) + 1)
    g = jax.jit(lambda v: v @ v)
    f.lower(x).compile(), g.lower(x).compile()
    pool.set_limit(size=pool.used_bytes() + 30_000)
    with pytest.raises(RuntimeError, match=r"allocate 40,000 bytes for an output of kernel 'gx_\w+'"):
        f(x)
    with pytest.raises(RuntimeError, match=r"RESOURCE_EXHAUSTED: .* for the library call 'dot_general'"):
        g(x)
    pool.set_limit(None)
    close(host(g(x)), np.full((100, 100), 100, np.float32))


def test_kernel_launch_failure_names_the_kernel(cuda):
    x = jnp.asarray(X)
    f = jax.jit(lambda v: jnp.tanh(v) * 3)
    (k,) = f.lower(x).compile().kernels
    fc.fail_next_launch()
    with pytest.raises(RuntimeError, match=rf"CUDA kernel '{k.name}' failed \(grid \(\d+, 1, 1\), block \(\d+, 1, 1\), "
                                           r"0 bytes of shared memory; arguments f32\[4,3\], .*CUDADriverError") as e:
        f(x)
    assert isinstance(e.value.__cause__, fc.CUDADriverError)
    close(host(f(x)), np.tanh(X) * 3)       # the next launch works


def test_asynchronous_fault_is_reported_when_waiting(cuda):
    y = jax.jit(lambda v: jnp.tanh(v) * 3)(jnp.asarray(X))
    fc.fail_next_sync()
    with pytest.raises(RuntimeError, match="GPUXLA_CUDA_SYNC=1") as e:
        host(y)
    assert isinstance(e.value.__cause__, fc.CUDADriverError)
    fc.fail_next_sync()
    with pytest.raises(RuntimeError, match="GPUXLA_CUDA_SYNC=1"):
        y.block_until_ready()


def test_cuda_sync_names_the_faulting_kernel(cuda, monkeypatch):
    monkeypatch.setenv("GPUXLA_CUDA_SYNC", "1")
    f = jax.jit(lambda v: jnp.tanh(v) * 3)
    x = jnp.asarray(X)
    (k,) = f.lower(x).compile().kernels
    fc.fail_next_sync()                     # the synchronize after the launch fails
    with pytest.raises(RuntimeError, match=rf"CUDA kernel '{k.name}' failed"):
        f(x)


def test_device_kind(cuda):
    assert jax.devices()[0].device_kind == "Fake CUDA device (NumPy)"


def test_a_jitted_function_compiles_again_for_another_platform():
    f = jax.jit(lambda v: jnp.sin(v) * 2)
    close(host(f(X)), np.sin(X) * 2)                # on the default platform first
    with fake_cuda():
        out = f(jnp.asarray(X))
        assert isinstance(out._buf, fc.ndarray)    # not the other platform's executable
        close(host(out), np.sin(X) * 2)
    close(host(f(X)), np.sin(X) * 2)


# The GPU suite itself (tests/test_gpu.py), less the op table (run above on this fake) and the
# 2^31-element test: a dry run of what `pytest -m gpu` does on a device, so that suite is known to
# work before a GPU session spends device time on it.
GPU_SUITE_LEFT_OUT = {"test_op_table_on_cuda", "test_op_table_jit_on_cuda", "test_elementwise_beyond_2_to_31_elements"}


def test_the_gpu_suite_on_the_fake():
    import importlib
    import sys
    failures, ran = [], []
    with fake_cuda():
        sys.modules.pop("test_gpu", None)      # its module-level check must see the cuda platform
        try:
            G = importlib.import_module("test_gpu")
        finally:
            sys.modules.pop("test_gpu", None)
        for name in sorted(n for n in dir(G) if n.startswith("test_") and n not in GPU_SUITE_LEFT_OUT):
            try:
                getattr(G, name)()
                ran.append(name)
            except Exception as e:  # noqa: BLE001 - collected, reported together below
                failures.append(f"{name}: {type(e).__name__}: {e}")
    assert not failures, "\n".join(failures)
    assert len(ran) >= 11, ran
