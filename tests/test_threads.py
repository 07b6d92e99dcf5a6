"""Many threads at once over eager ops, jit, grad, vmap and random, on the numpy, cuda-interpret and
(fake) cuda platforms, every result checked against the same computation run alone."""

import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends

from thread_util import run_threads as _run_threads

THREADS = 8


def run_threads(work, n=THREADS):
    _run_threads(work, n)


def test_eager_ops_while_the_cache_evicts(platform, monkeypatch):
    # A small cache makes every thread evict while the others look up and insert.
    monkeypatch.setattr(backends, "EAGER_CACHE_SIZE", 4)
    iters = 40 if platform == "numpy" else 12

    def work(t):
        for i in range(iters):
            n = 1 + (i + t) % 9
            x = np.arange(n, dtype=np.float32) + t
            got = np.asarray(jnp.sin(jnp.asarray(x)) * 2 + t)
            np.testing.assert_allclose(got, np.sin(x) * 2 + t, rtol=1e-6)
    run_threads(work)


def test_one_executable_called_from_many_threads(platform):
    # 65,536 elements: a split reduction, whose partial sums and counters live in scratch buffers.
    f = jax.jit(lambda x: jnp.sum(x * x))
    xs = [np.random.default_rng(t).standard_normal(65536).astype(np.float32) for t in range(THREADS)]
    alone = [np.asarray(f(jnp.asarray(x))) for x in xs]           # bits are deterministic
    calls = 25 if platform == "numpy" else 10

    def work(t):
        x = jnp.asarray(xs[t])
        for _ in range(calls):
            assert np.asarray(f(x)).tobytes() == alone[t].tobytes()
    run_threads(work)


def test_grad_vmap_and_random_in_threads(platform):
    def loss(w, x):
        return jnp.sum(jnp.tanh(x @ w) ** 2)
    g = jax.jit(jax.grad(loss))
    per_example = jax.vmap(jax.grad(loss), in_axes=(None, 0))
    w = jnp.asarray(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32))
    xs = [np.random.default_rng(t + 1).standard_normal((5, 4)).astype(np.float32) for t in range(THREADS)]
    want = [(np.asarray(g(w, jnp.asarray(x))), np.asarray(per_example(w, jnp.asarray(x)[:, None, :])),
             np.asarray(jax.random.normal(jax.random.PRNGKey(t), (7,)))) for t, x in enumerate(xs)]

    def work(t):
        x = jnp.asarray(xs[t])
        for _ in range(4):
            got = (np.asarray(g(w, x)), np.asarray(per_example(w, x[:, None, :])),
                   np.asarray(jax.random.normal(jax.random.PRNGKey(t), (7,))))
            for a, b in zip(got, want[t]):
                assert a.tobytes() == b.tobytes()
    run_threads(work)
