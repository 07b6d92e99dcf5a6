"""gpuxla.config: JAX's `jax.config` object and the one home of every GPUXLA_* variable."""
import ast
import os
import pathlib
import subprocess
import sys

import pytest

import gpuxla
import gpuxla.numpy as jnp
from gpuxla import config

PKG = pathlib.Path(gpuxla.__file__).parent


def test_config_is_jax_config():
    assert gpuxla.config is config
    assert config.read("jax_enable_x64") == config.jax_enable_x64 == config.enable_x64 == config.x64_enabled
    with pytest.raises(AttributeError, match="Unrecognized config option: jax_nonsense"):
        config.update("jax_nonsense", 1)
    with pytest.raises(AttributeError, match="config.update"):
        config.jax_enable_x64 = True
    with pytest.raises(ValueError, match="not a matmul precision"):
        config.update("jax_default_matmul_precision", "fast-ish")


def test_update_reaches_dtypes_and_jit(x32):
    f = gpuxla.jit(lambda x: x * 2)
    assert f(jnp.ones(2)).dtype == jnp.float32
    config.update("jax_enable_x64", True)
    try:
        assert jnp.arange(2.0).dtype == jnp.float64
        assert f(jnp.ones(2)).dtype == jnp.float64        # the cache keys on the option: a retrace
    finally:
        config.update("jax_enable_x64", False)


@pytest.mark.parametrize("text,level", [("", 0), ("0", 0), ("2", 2), ("true", 1), ("yes", 1), ("no", 0)])
def test_debug_level_has_one_parser(monkeypatch, text, level):
    monkeypatch.setenv("GPUXLA_DEBUG", text)
    assert config.DEBUG.get() == level


def test_env_flags_are_read_when_used(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUXLA_CACHE_DIR", str(tmp_path))
    assert config.CACHE_DIR.get() == str(tmp_path)
    monkeypatch.setenv("GPUXLA_DISK_CACHE", "off")
    assert config.DISK_CACHE.get() is False


def test_x64_from_the_environment():
    code = "import gpuxla.numpy as jnp; print(jnp.arange(2.0).dtype)"
    for var in ("JAX_ENABLE_X64", "GPUXLA_ENABLE_X64"):
        env = {k: v for k, v in os.environ.items() if k not in ("JAX_ENABLE_X64", "GPUXLA_ENABLE_X64")}
        env[var] = "1"
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == "float64", var


def _environ_reads(tree):
    """Names read through os.environ / os.getenv in a module."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            f = node.func
            env_get = (f.attr == "get" and isinstance(f.value, ast.Attribute) and f.value.attr == "environ")
            if env_get or f.attr == "getenv":
                yield node.args[0].value if node.args and isinstance(node.args[0], ast.Constant) else "?"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "environ":
            yield "?"


def test_every_environment_variable_is_read_in_config_only():
    readers = {}
    for p in PKG.rglob("*.py"):
        names = list(_environ_reads(ast.parse(p.read_text())))
        if names and p.name != "config.py":
            readers[str(p.relative_to(PKG))] = names
    # XDG_CACHE_HOME belongs to the XDG convention, not to gpuxla: read where the cache root is chosen.
    readers = {k: [n for n in v if n != "XDG_CACHE_HOME"] for k, v in readers.items()}
    assert not {k: v for k, v in readers.items() if v}, "read GPUXLA_*/CXX through gpuxla.config"
