"""Transposes feeding a dot_general are folded into its dimension numbers (compiler/fusion.py
`_fold_transposed_operands`): no transpose kernel is launched, cuBLAS gets a transposed view.
Where the fold would reorder the result's dimensions it is not made. Run on the `cuda` platform
over tests/fake_cupy.py; every result is compared with NumPy (float64)."""
import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp

from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

pytestmark = needs_cxx
RNG = np.random.default_rng(3)
X = RNG.standard_normal((12, 7)).astype(np.float32)
Y = RNG.standard_normal((12, 9)).astype(np.float32)
B = RNG.standard_normal((3, 5, 4, 6)).astype(np.float32)

CASES = {
    # name: (function, reference, arguments, kernels launched per call)
    "x @ x.T": (lambda x: x @ x.T, lambda x: x @ x.T, (X,), 0),
    "x.T @ y": (lambda x, y: x.T @ y, lambda x, y: x.T @ y, (X, Y), 0),
    "(x.T @ y).T": (lambda x, y: (x.T @ y).T, lambda x, y: (x.T @ y).T, (X, Y), 0),
    "sin(x).T @ x": (lambda x: jnp.sin(x).T @ x, lambda x: np.sin(x).T @ x, (X,), 1),
    # a batched transpose that moves the free dims out of order: kept (and still right)
    "batched, reordered": (lambda b: jnp.einsum("abij,abik->abjk", jnp.transpose(b, (0, 1, 3, 2)).transpose(0, 1, 3, 2),
                                                b),
                           lambda b: np.einsum("abij,abik->abjk", b, b), (B,), None),
    "transposed 4-d operand": (lambda b: jax.lax.dot_general(jnp.transpose(b, (2, 0, 3, 1)), b,
                                                             (((0,), (2,)), ((1, 3), (0, 1)))),
                               lambda b: np.einsum("kaib,abkj->abij", np.transpose(b, (2, 0, 3, 1)), b), (B,), None),
}


@pytest.mark.parametrize("name", list(CASES))
def test_transposed_operands(name, monkeypatch):
    f, ref, args, kernels = CASES[name]
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")     # (kernels counted as launched one by one)
    with fc.installed(nvrtc=False):
        g = jax.jit(f)
        dev = [jnp.asarray(a) for a in args]
        g(*dev)
        before = fc.stats["launches"]
        out = g(*dev)
        want = ref(*(a.astype(np.float64) for a in args))
        np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)
        if kernels is not None:
            assert fc.stats["launches"] - before == kernels
