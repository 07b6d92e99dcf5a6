"""The NumPy platform runs long chains of elementwise equations over large arrays chunk by chunk
(backends/numpy/executor.py, _Chunked). Every element must come out with the same bits as equation-by-equation
evaluation, whatever the chunk boundaries, dtypes, scalar operands or layouts."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.numpy import executor as NB
from gpuxla.backends.numpy.reference import impl_rules
from gpuxla.core.graph import PRIMITIVES
from gpuxla.core.trace import trace_values
from gpuxla.core.program import Program


def _program(f, *args):
    t = trace_values(f, args, what="a test")
    return Program.from_graph(t.leaves, t.outs)


def _both(f, *args):
    """(chunked executable, results chunked, results equation by equation)."""
    program = _program(f, *args)
    exe = NB.NumpyExecutable(program)
    plain = NB.NumpyExecutable(program)
    plain.steps = [(impl_rules[e.prim], e.params or {}, e.ins, e.out, ()) for e in program.eqns]
    bufs = [np.asarray(a) for a in args]
    return exe, exe(bufs), plain(bufs)


def chain(x, y):
    # float32 transcendentals (the float64 detour), integer bit tricks, compares, selects and a
    # scalar operand; two results read after the chain, one of them an intermediate.
    a = jnp.exp(-x * x) + 0.5
    bits = jax.lax.bitcast_convert_type(a, jnp.uint32)
    b = (bits >> 3) ^ (bits << 5)
    c = jnp.where(x > y, jnp.sin(a), jnp.log1p(jnp.abs(y)))
    d = c * b.astype(jnp.float32) * 1e-9 - y
    return d, b, c > 0


@pytest.mark.parametrize("n", [NB.CHUNK_MIN_SIZE, NB.CHUNK_MIN_SIZE + 12_345])
def test_chunked_chain_is_bit_identical(n):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    exe, got, want = _both(chain, x, y)
    chunked = [s for s in exe.steps if isinstance(s[0], NB._Chunked)]
    assert len(chunked) == 1 and len(chunked[0][0].code) >= 10, [type(s[0]).__name__ for s in exe.steps]
    assert len(chunked[0][3]) == 3                     # d, b and c > 0 leave the chain
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        assert g.tobytes() == w.tobytes()
    # and against NumPy itself for the float64-free parts
    bits = (np.exp((-x * x).astype(np.float64)).astype(np.float32) + np.float32(0.5)).view(np.uint32)
    np.testing.assert_array_equal(got[1], (bits >> 3) ^ (bits << 5))


def test_chunked_chain_on_a_transposed_2d_operand():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((700, 600)).astype(np.float32)
    y = rng.standard_normal((600, 700)).astype(np.float32)
    f = lambda a, b: chain(a, b.T)         # noqa: E731 - the transpose makes a non-contiguous operand
    exe, got, want = _both(f, x, y)
    assert any(isinstance(s[0], NB._Chunked) for s in exe.steps)
    for g, w in zip(got, want):
        assert g.shape == (700, 600) and g.tobytes() == w.tobytes()


def test_small_arrays_and_short_chains_are_not_chunked():
    x = np.ones(NB.CHUNK_MIN_SIZE - 1, np.float32)
    exe, _, _ = _both(chain, x, x)
    assert not any(isinstance(s[0], NB._Chunked) for s in exe.steps)
    big = np.ones(NB.CHUNK_MIN_SIZE, np.float32)
    exe, _, _ = _both(lambda a: jnp.sin(a) + 1.0, big)    # 2 equations: below CHUNK_MIN_RUN
    assert not any(isinstance(s[0], NB._Chunked) for s in exe.steps)


def test_random_normal_through_chunks_keeps_its_bits():
    # ~900 elementwise equations (bit-exact log1p/erf_inv) over 300k elements: the chunked run
    # must give what the same program gives equation by equation.
    key = np.asarray(jax.random.key_data(jax.random.PRNGKey(3)))
    f = lambda k: jax.random.normal(jax.random.wrap_key_data(k), (300_000,))   # noqa: E731
    exe, got, want = _both(f, key)
    assert any(isinstance(s[0], NB._Chunked) for s in exe.steps)
    assert got[0].tobytes() == want[0].tobytes()


def test_a_large_float32_transcendental_widens_slice_by_slice():
    # float32 exp/sin/... compute in float64 and round once; on a large operand the detour runs in
    # slices into the float32 result, with the same bits as the whole-array detour.
    from gpuxla.backends.numpy import reference as R
    x = np.random.default_rng(3).standard_normal(5 * R._WIDEN_CHUNK + 5).astype(np.float32) * 4
    y = np.random.default_rng(4).standard_normal(x.size).astype(np.float32)
    for prim, args, want in [("exp", (x,), np.exp(x.astype(np.float64))),
                             ("atan2", (x, y), np.arctan2(x.astype(np.float64), y.astype(np.float64))),
                             ("tanh", (x.reshape(5, -1)[:, 1:],), None)]:          # not contiguous: whole
        got = impl_rules[PRIMITIVES[prim]](*args)
        if want is None:
            want = np.tanh(args[0].astype(np.float64))
        assert got.dtype == np.float32 and got.shape == args[0].shape
        np.testing.assert_array_equal(got, want.astype(np.float32))


def test_softmax_peaks_at_its_input_size_on_the_numpy_platform(monkeypatch):
    import tracemalloc
    from gpuxla import backends
    from gpuxla.backends.numpy import reference as R
    from gpuxla.backends.numpy import NumpyBackend
    monkeypatch.setattr(backends, "_backend", NumpyBackend())
    monkeypatch.setattr(backends, "_eager_cache", {})
    x = jnp.asarray(np.random.default_rng(5).standard_normal((256, 2048)).astype(np.float32))
    f = jax.jit(lambda x: jax.nn.softmax(x, axis=-1))
    f(x)
    tracemalloc.start()
    try:
        y = np.asarray(f(x))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # One buffer for x - max, exp of it (in place) and the division (in place), and a slice's
    # float64 operand and result (it was 5x: the operand and result in float64, then 3 buffers).
    slices = 2 * 8 * R._WIDEN_CHUNK
    assert peak <= x.size * 4 + slices + 65536, (peak - slices) / (x.size * 4)
    e = np.exp(np.asarray(x, np.float64) - np.asarray(x).max(-1, keepdims=True))
    np.testing.assert_allclose(y, e / e.sum(-1, keepdims=True), rtol=2e-6, atol=1e-9)


def test_a_dead_operand_is_reused_only_where_nothing_else_sees_it():
    # exp(h) may write into h, but not when a reshape (a view) of h or the argument itself is
    # still read afterwards: the results must equal NumPy's either way.
    x = np.linspace(-2, 2, 4096, dtype=np.float32).reshape(64, 64)

    def f(x):
        h = x * 2.0
        v = h.reshape(-1)                      # a view of h's buffer, read after exp(h)
        e = jnp.exp(h)
        return e / jnp.sum(e, axis=1, keepdims=True), v[:5], jnp.exp(x) + x     # x is an argument

    program = _program(f, x)
    got = NB.NumpyExecutable(program)([x])
    h = x.astype(np.float64) * 2
    e = np.exp(h)
    np.testing.assert_allclose(got[0], e / e.sum(1, keepdims=True), rtol=1e-6)
    np.testing.assert_array_equal(got[1], (x * np.float32(2)).reshape(-1)[:5])
    np.testing.assert_allclose(got[2], np.exp(x.astype(np.float64)) + x, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(x, np.linspace(-2, 2, 4096, dtype=np.float32).reshape(64, 64))
