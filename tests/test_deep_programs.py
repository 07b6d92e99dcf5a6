"""Deep programs compile: a chain of thousands of elementwise ops under jit, on the kernel platforms
(the lowering recurses once per inlined producer, so fusion cuts chains every MAX_DEPTH links) and
on the NumPy platform."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import backends
from gpuxla.backends.cuda import InterpretBackend, interpret
from gpuxla.compiler import lower

from codegen_util import plan_of


def chain(n):
    def f(x):
        for _ in range(n):
            x = jnp.sin(x) * 1.001 + 0.1
        return x
    return f


def chain_numpy(n, x):
    x = np.asarray(x, np.float32)
    for _ in range(n):
        x = (np.sin(x) * np.float32(1.001) + np.float32(0.1)).astype(np.float32)
    return x


def test_the_fusion_plan_cuts_long_chains():
    n = 700                                   # 2100 equations in one chain
    plan = plan_of(chain(n), jnp.ones(8))
    depth = lower.MAX_DEPTH
    # A slot every MAX_DEPTH links is materialised (a kernel may store several of them: each is
    # then evaluated once and read by the next link, so the lowering's recursion stays bounded).
    cuts = plan.fusion.materialised - set(plan.outputs)
    assert len(cuts) == (3 * n - 1) // depth
    short = plan_of(chain(depth // 3 - 1), jnp.ones(8))
    assert len(short.kernels) == 1 and short.fusion.materialised == set(short.outputs)


@pytest.mark.skipif(interpret.host_compiler() is None, reason="needs a host C++ compiler")
def test_a_2000_op_chain_runs_on_cuda_interpret(monkeypatch):
    monkeypatch.setattr(backends, "_backend", InterpretBackend())
    monkeypatch.setattr(backends, "_eager_cache", {})
    x = np.linspace(-2, 2, 33, dtype=np.float32)
    got = np.asarray(jax.jit(chain(2000))(jnp.asarray(x)))
    np.testing.assert_allclose(got, chain_numpy(2000, x), rtol=2e-6, atol=2e-6)


def test_a_10000_op_chain_runs_on_numpy():
    x = np.linspace(-2, 2, 5, dtype=np.float32)
    got = np.asarray(jax.jit(chain(10_000))(jnp.asarray(x)))
    np.testing.assert_allclose(got, chain_numpy(10_000, x), rtol=2e-6, atol=2e-6)


def test_the_gradient_of_a_cut_chain_converges_in_a_few_fusion_rounds(monkeypatch):
    # Once a chain is cut, its backward kernel recomputes the forward values the forward kernels
    # also compute: each is an expensive shared producer. Materialising only the outermost one per
    # round took one link per round and ran out of rounds (grad of 400 links: 27 s to plan on
    # cuda-interpret); after PATIENT_ROUNDS all of them go at once.
    from gpuxla.compiler import fusion
    monkeypatch.setattr(fusion, "MAX_DEPTH", 64)          # cuts at 64 links instead of 512: a small program

    def f(x):
        for _ in range(60):
            x = x + 0.01 * jnp.sin(x)
        return jnp.sum(x)
    plan = plan_of(jax.grad(f), jnp.ones(8))
    assert plan.fusion.rounds <= fusion.PATIENT_ROUNDS + 4 < fusion.MAX_ROUNDS
    # No producer costing EXPENSIVE or more is left recomputed by two kernels.
    assert not plan.fusion._expensive_shared(plan.fusion.materialised, outermost=False)
