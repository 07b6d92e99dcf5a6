"""The static roofline report (compiler/roofline.py) through the public API,
`jit(f).lower(...).compile().kernel_report()` / `.cost_analysis()`, counted by hand, and
`python -m bench --kernels`."""
import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.compiler import lower


def report(f, *args):
    return jax.jit(f).lower(*args).compile().kernel_report()


def test_a_fused_reduction_counts_each_operand_once():
    x = jnp.ones((64, 100), jnp.float32)
    (r,) = report(lambda x: jnp.sum(jnp.exp(x) * 2.0, axis=1), x)
    assert r["kind"] == "reduction"
    assert r["bytes_read"] == 64 * 100 * 4 and r["bytes_written"] == 64 * 4
    assert r["transcendentals"] == 6400                      # exp per element
    assert r["flops"] == 6400 + 6400                         # the multiply, and the sum's adds
    grid, block = r["grid"], r["block"]
    assert r["threads"] == np.prod(grid) * np.prod(block) > 0


def test_a_matrix_product_is_2mnk_flops_and_an_elementwise_epilogue_is_its_own_kernel():
    a, b = jnp.ones((8, 16), jnp.float32), jnp.ones((16, 4), jnp.float32)
    rows = report(lambda a, b: jnp.tanh(a @ b), a, b)
    dot = [r for r in rows if r["name"] == "dot_general"]
    loop = [r for r in rows if r["kind"] == "loop"]
    assert len(dot) == 1 and len(loop) == 1
    assert dot[0]["flops"] == 2 * 8 * 4 * 16
    assert dot[0]["bytes_read"] == (8 * 16 + 16 * 4) * 4 and dot[0]["bytes_written"] == 8 * 4 * 4
    assert loop[0]["transcendentals"] == 32 and loop[0]["flops"] == 0


def test_cost_analysis_sums_the_report_with_xlas_keys():
    x = jnp.ones((1000,), jnp.float32)
    c = jax.jit(lambda x: jnp.sin(x) + x * x).lower(x).compile()
    assert c.cost_analysis() == {"flops": 2000.0, "transcendentals": 1000.0, "bytes accessed": 8000.0}


def test_bench_kernels_prints_every_step(capsys):
    from bench import __main__ as bench_main
    assert bench_main.main(["--kernels", "--quick", "--only", "softmax", "--bandwidth", "1000"]) == 0
    out = capsys.readouterr().out
    assert "softmax 1024x1024: 1 step(s), 8.389 MB moved" in out
    assert "floor µs" in out and "gx_reduction_" in out
    # The CUDA kernel's figures whatever the platform: one read of each row, the GPU filled.
    (line,) = [ln for ln in out.splitlines() if ln.startswith("gx_reduction_")]
    assert line.split()[1:6] == ["block", "1024x1x128", "8.389", "1", "100"]


def test_bandwidth_estimate_counts_passes_and_fill():
    x = jax.ShapeDtypeStruct((256, 100000), jnp.float32)
    # Two passes over rows too long for registers: it moves 3 bytes for each 2 the roofline counts ...
    f = lambda x: jnp.exp(x) / jnp.sum(jnp.exp(x), 1, keepdims=True)   # noqa: E731
    (r,) = jax.jit(f).lower(x).compile(platform="numpy").kernel_report()
    assert r["passes"] == 2 and r["bytes_traffic"] == 3 * 256 * 100000 * 4
    assert r["fill"] == 1.0 and abs(r["est_bandwidth"] - 2 / 3) < 1e-12
    # ... and a launch of 4 warps keeps 4 / FILL_WARPS of the GPU busy.
    (r,) = jax.jit(lambda x: x * 2).lower(jax.ShapeDtypeStruct((128,), jnp.float32)).compile(
        platform="numpy").kernel_report()
    assert r["threads"] == 128 and r["est_bandwidth"] == 4 / lower.FILL_WARPS
