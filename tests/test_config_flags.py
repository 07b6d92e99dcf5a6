"""JAX's options are honoured or refused, never silently ignored (issue #21): each `jax_*` option
gpuxla accepts changes what it says it changes, tested here against JAX's documented behaviour.
"""
import logging
import warnings

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import config


@pytest.fixture
def option():
    """Set options for one test; restore them after."""
    saved = {}

    def set_(name, value):
        saved.setdefault(name, config.read(name))
        config.update(name, value)
    yield set_
    for name, value in saved.items():
        config.update(name, value)


# --- jax_numpy_rank_promotion -----------------------------------------------------------------
def test_rank_promotion_allow_is_numpy_broadcasting():
    a, b = np.arange(6.0, dtype=np.float32).reshape(2, 3), np.arange(3.0, dtype=np.float32)
    assert config.read("jax_numpy_rank_promotion") == "allow"
    np.testing.assert_array_equal(np.asarray(jnp.asarray(a) + jnp.asarray(b)), a + b)


def test_rank_promotion_raise(option):
    x, v = jnp.ones((2, 3)), jnp.arange(3.0)
    f = jax.jit(lambda p, q: jnp.multiply(p, q))
    np.testing.assert_array_equal(np.asarray(f(x, v)), np.ones((2, 3)) * np.arange(3.0))
    option("jax_numpy_rank_promotion", "raise")
    msg = (r"Operands could not be broadcast together for add on shapes \(2, 3\) \(3,\) "
           r"and with the config option jax_numpy_rank_promotion='raise'")
    with pytest.raises(ValueError, match=msg):
        x + v
    with pytest.raises(ValueError, match="for multiply on shapes"):
        f(x, v)                    # jit keys its cache on the option: a retrace, which raises
    with pytest.raises(ValueError, match="for add on shapes"):
        jax.vmap(lambda r: r + jnp.ones((2, 3)))(jnp.ones((4, 3)))     # per-example ranks 1 and 2
    # What JAX does not count as rank promotion: scalars, equal ranks with size-1 axes, and where's
    # broadcasting (it promotes dtypes only).
    np.testing.assert_array_equal(np.asarray(jnp.where(x > 0, v, 0.0)), np.broadcast_to(np.arange(3.0), (2, 3)))
    assert (x + 1.0).shape == (2, 3) and (x * jnp.float32(2)).shape == (2, 3)
    np.testing.assert_array_equal(np.asarray(x + jnp.ones((1, 3))), np.full((2, 3), 2.0))
    np.testing.assert_array_equal(np.asarray(jax.vmap(lambda r: r + v)(x)), np.ones((2, 3)) + np.arange(3.0))


def test_rank_promotion_warn(option):
    option("jax_numpy_rank_promotion", "warn")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = jnp.ones((2, 3)) - jnp.ones(3)
        jnp.ones((2, 3)) - jnp.ones((2, 3))
    np.testing.assert_array_equal(np.asarray(out), np.zeros((2, 3)))
    assert len(caught) == 1, [str(w.message) for w in caught]
    assert "Following NumPy automatic rank promotion for subtract on shapes (2, 3) (3,)" in str(caught[0].message)
    assert caught[0].filename == __file__          # the warning points at the user's line


def test_rank_promotion_refuses_unknown_values():
    with pytest.raises(ValueError, match="jax_numpy_rank_promotion: 'strict' is not one of"):
        config.update("jax_numpy_rank_promotion", "strict")
    assert config.read("jax_numpy_rank_promotion") == "allow"


# --- jax_debug_nans / jax_debug_infs ------------------------------------------------------------
def test_debug_nans_names_the_eager_primitive(option):
    x = jnp.array([-1.0, 4.0])
    assert np.isnan(np.asarray(jnp.log(x))[0])          # off: NaNs flow, as in JAX
    option("jax_debug_nans", True)
    with pytest.raises(FloatingPointError, match=r"^invalid value \(nan\) encountered in log$"):
        jnp.log(x)
    with pytest.raises(FloatingPointError, match=r"encountered in sqrt"):
        jnp.sqrt(jnp.exp(x) - 2.0)                        # exp and sub are fine; sqrt makes the NaN
    with pytest.raises(FloatingPointError, match=r"encountered in log"):
        jax.grad(lambda v: jnp.sum(jnp.log(v)))(x)
    np.testing.assert_allclose(np.asarray(jnp.log(jnp.abs(x))), np.log([1.0, 4.0]))   # clean values pass
    assert np.isinf(np.asarray(jnp.ones(2) / 0.0)).all()  # infs are jax_debug_infs' business
    option("jax_debug_infs", True)
    with pytest.raises(FloatingPointError, match=r"invalid value \(inf\) encountered in div"):
        jnp.ones(2) / 0.0


def test_debug_nans_under_jit_reruns_op_by_op(option):
    @jax.jit
    def f(x):
        return jnp.sqrt(jnp.exp(x) - 2.0) * 3.0
    np.testing.assert_allclose(np.asarray(f(jnp.array([1.0, 2.0]))), 3 * np.sqrt(np.exp([1.0, 2.0]) - 2), rtol=1e-6)
    option("jax_debug_nans", True)
    np.testing.assert_allclose(np.asarray(f(jnp.array([1.0, 2.0]))), 3 * np.sqrt(np.exp([1.0, 2.0]) - 2), rtol=1e-6)
    # As JAX: the NaN is seen in jit's outputs, then the function runs without jit, op by op,
    # and the error names the primitive that made it.
    with pytest.raises(FloatingPointError, match=r"^invalid value \(nan\) encountered in sqrt$"):
        f(jnp.array([0.0, 2.0]))
    # A NaN constant has no primitive to blame: JAX's message about the de-optimized run.
    with pytest.raises(FloatingPointError, match=r"encountered in jit\(<lambda>\).*de-optimized function"):
        jax.jit(lambda x: (x, jnp.asarray(np.nan)))(jnp.ones(2))
    with pytest.raises(FloatingPointError, match=r"^invalid value \(nan\) encountered in mul$"):
        jax.jit(lambda x: x * jnp.nan)(jnp.ones(2))     # JAX too: mul makes the NaN from a NaN operand


# --- jax_platforms / JAX_PLATFORMS / jax_platform_name ------------------------------------------
def test_platform_options_are_checked(option):
    from gpuxla import backends
    running = backends.get_backend().platform
    with pytest.raises(ValueError, match=r"jax_platforms='tpu': gpuxla has no platform 'tpu'"):
        config.update("jax_platforms", "tpu")
    assert config.read("jax_platforms") is None
    host = running in ("numpy", "cpu", "cuda-interpret")
    for value, fits in (("cpu", host), ("cuda", running == "cuda"), ("gpu,cpu", True), (running, True)):
        if fits:
            option("jax_platforms", value)
        else:       # the platform runs already: a different request is refused, not ignored
            with pytest.raises(RuntimeError, match=f"jax_platforms={value!r} asks for .* already runs on"):
                config.update("jax_platforms", value)
    with pytest.raises(ValueError, match="jax_platform_name='metal'"):
        config.update("jax_platform_name", "metal")


def _fresh_process(env_extra, code):
    import os
    import subprocess
    import sys
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "GPUXLA_PLATFORM"))}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_jax_platforms_from_the_environment():
    code = "import gpuxla as jax, gpuxla.numpy as jnp; jnp.ones(2); print(jax.default_backend(), jax.devices())"
    out = _fresh_process({"JAX_PLATFORMS": "cpu"}, code)
    assert out.returncode == 0 and out.stdout.split() == ["cpu", "[CpuDevice(id=0)]"], out.stderr[-2000:]
    out = _fresh_process({"JAX_PLATFORMS": "tpu"}, code)
    assert out.returncode != 0 and "ValueError: JAX_PLATFORMS='tpu': gpuxla has no platform 'tpu'" in out.stderr


# --- jax_compilation_cache_dir ------------------------------------------------------------------
def test_compilation_cache_dir_is_the_cache_root(option, tmp_path, monkeypatch):
    from gpuxla.backends import cache
    monkeypatch.delenv("GPUXLA_DISK_CACHE", raising=False)
    option("jax_compilation_cache_dir", str(tmp_path / "jaxcache"))
    assert cache.cache_root() == tmp_path / "jaxcache"
    from gpuxla.backends.cuda import interpret
    if interpret.host_compiler() is None:
        pytest.skip("needs a host C++ compiler to write a kernel")
    interpret.clear_memory_cache()
    try:
        src = '#include "gx_common.cuh"\nextern "C" __global__ void k7(float* y) { y[threadIdx.x] = 7.0f; }\n'
        mod = interpret.compile_module(src, [("k7", ["float*"])])
        y = np.zeros(4, np.float32)
        mod.launch("k7", 1, 4, [y])
        assert y.tolist() == [7.0] * 4
        assert len(list((tmp_path / "jaxcache" / "interpret").glob("*.so"))) == 1
    finally:
        interpret.clear_memory_cache()


# --- jax_log_compiles -------------------------------------------------------------------------
def test_log_compiles(option, caplog):
    f = jax.jit(lambda x: jnp.cos(x) + 1.0)
    caplog.set_level(logging.WARNING, logger="gpuxla")
    f(jnp.ones((5, 11)))
    assert not [r for r in caplog.records if "Compiling" in r.getMessage()]       # off: DEBUG only
    option("jax_log_compiles", True)
    caplog.clear()
    f(jnp.ones((5, 12)))
    f(jnp.ones((5, 12)))              # cached: no second line
    jnp.tanh(jnp.ones((3, 5, 13)) * 2.0).block_until_ready()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "Compiling" in r.getMessage()]
    jits = [m for m in lines if m.startswith("Compiling jit(")]
    assert len(jits) == 1 and jits[0].startswith("Compiling jit(<lambda>) with global shapes and types (f32[5,12])")
    assert any(m.startswith("Compiling eager(") and "tanh" in m and "mul" in m for m in lines), lines
