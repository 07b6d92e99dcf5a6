"""jax_enable_x64: the whole op table, the promotion grid and lattice, and JAX-printed reprs and
jaxprs with 64-bit types on. x64 is process-global and read at import, so the checks run in a
subprocess started with JAX_ENABLE_X64=1; switching it at run time (config.update) is checked
in-process and restored.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla.core import dtypes as D

TESTS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(TESTS)

# Printed by the same script under `import jax; import jax.numpy as jnp` with JAX_ENABLE_X64=1
# (JAX 0.10.2, CPU).
SCRIPT = r'''import numpy as np
import gpuxla as jax, gpuxla.numpy as jnp
print(repr(jnp.arange(3)), repr(jnp.ones(2)), repr(jnp.asarray(1.0)), repr(jnp.asarray(1)))
print(repr(jnp.array([1, 2])), repr(jnp.array(np.arange(2, dtype=np.int64))), repr(jnp.zeros(2, jnp.float32) + 1.0))
print(repr(jnp.int32(1) + 1.0), repr(jnp.sum(jnp.ones(3, jnp.int32))), repr(jnp.mean(jnp.arange(4))))
print(repr(jnp.linspace(0, 1, 3)), repr(jnp.eye(2)[0]), repr(jnp.argmax(jnp.ones(3))))
print(jax.make_jaxpr(lambda x: x * 2.0 + 1)(jnp.ones(3)))
print(jax.make_jaxpr(lambda x: x + 1)(jnp.arange(3)))
print(repr(jnp.float64(1) / 3), repr(np.float64(1) / jnp.ones(1, jnp.float32)))
print(repr(jnp.asarray(2**40)), repr(jnp.uint64(2**63) + 1))
print(repr(jnp.ones(2, jnp.float32) * np.float64(2)), repr(jnp.ones(2, jnp.int32) * np.int64(2)))
'''
JAX_OUTPUT = r'''Array([0, 1, 2], dtype=int64) Array([1., 1.], dtype=float64) Array(1., dtype=float64, weak_type=True) Array(1, dtype=int64, weak_type=True)
Array([1, 2], dtype=int64) Array([0, 1], dtype=int64) Array([1., 1.], dtype=float32)
Array(2., dtype=float64, weak_type=True) Array(3, dtype=int64) Array(1.5, dtype=float64)
Array([0. , 0.5, 1. ], dtype=float64) Array([1., 0.], dtype=float64) Array(0, dtype=int64)
{ lambda ; a:f64[3]. let
    b:f64[3] = mul a 2.0:f64[]
    c:f64[3] = add b 1.0:f64[]
  in (c,) }
{ lambda ; a:i64[3]. let b:i64[3] = add a 1:i64[] in (b,) }
Array(0.33333333, dtype=float64) Array([1.], dtype=float64)
Array(1099511627776, dtype=int64, weak_type=True) Array(9223372036854775809, dtype=uint64)
Array([2., 2.], dtype=float64) Array([2, 2], dtype=int64)
'''


def run_x64(code, x64="1"):
    env = dict(os.environ, JAX_ENABLE_X64=x64, GPUXLA_ENABLE_X64="", GPUXLA_PLATFORM="numpy",
               PYTHONPATH=os.pathsep.join([TESTS, ROOT, os.environ.get("PYTHONPATH", "")]))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]
    return r.stdout


def test_reprs_and_jaxprs_as_jax_prints_them():
    assert run_x64(SCRIPT) == JAX_OUTPUT


SWEEP = """
import numpy as np
from gpuxla.core import dtypes as D
import test_numpy_ops as T, test_promotion_ops as PR
assert D.x64_enabled()
n = 0
for op in T.OPS:
    for dt in op.dtypes:
        T.check(op, dt)
        n += 1
for r, c, w in PR.promote_cases(True):
    PR.check_add(r, c, w)
    n += 1
for a, b, w in PR.lattice_cases(True):
    if PR._constructible(a, b, True):
        PR.check_lattice(a, b, w)
        n += 1
print(n)
"""


def test_op_table_and_promotion_under_x64():
    # every op at every dtype (float32/int rows included: e.g. int32 -> float32 even with x64),
    # the x64 promotion table and lattice through jnp.add
    n = int(run_x64(SWEEP))
    assert n > 1500


def test_env_var_off_means_x32():
    out = run_x64("import gpuxla.numpy as jnp; print(jnp.arange(2).dtype, jnp.ones(1).dtype, jnp.asarray(1.5).dtype)", x64="0")
    assert out.split() == ["int32", "float32", "float32"]


def test_config_update_switches_and_restores():
    before = gpuxla.config.jax_enable_x64
    try:
        gpuxla.config.update("jax_enable_x64", True)
        assert jnp.arange(3).dtype == np.int64 and jnp.ones(2).dtype == np.float64
        assert jnp.asarray(np.float64(1.0)).dtype == np.float64
        assert (jnp.ones(2, jnp.float32) + 1.5).dtype == np.float32
        gpuxla.config.update("jax_enable_x64", False)
        assert jnp.arange(3).dtype == np.int32 and jnp.ones(2).dtype == np.float32
        assert jnp.asarray(np.float64(1.0)).dtype == np.float32
        assert jnp.asarray(np.arange(3, dtype=np.int64)).dtype == np.int32
    finally:
        gpuxla.config.update("jax_enable_x64", before)


def test_int64_values_survive_with_x64():
    with D.enable_x64(True):
        big = jnp.asarray(2 ** 40) + 1
        assert big.dtype == np.int64 and int(big) == 2 ** 40 + 1
        assert float(jnp.float64(1) / 3) == 1 / 3
    with D.enable_x64(False):
        with pytest.raises(OverflowError):
            jnp.asarray(2 ** 40)
