"""The NumPy platform runs long chains of elementwise equations over large arrays chunk by chunk
(backends/numpy/executor.py, _Chunked). Every element must come out with the same bits as equation-by-equation
evaluation, whatever the chunk boundaries, dtypes, scalar operands or layouts."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.numpy import executor as NB
from gpuxla.backends.numpy.reference import impl_rules
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
