"""Shared test setup: this folder is importable (`from op_table import OPS`) in any pytest import
mode, the suite's platform is numpy unless GPUXLA_PLATFORM says otherwise, `x32` / `x64` switch
JAX's 64-bit mode for one test (it is process-global), and `platform` runs a test on the numpy,
cuda-interpret and (fake) cuda platforms in turn."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# The suite runs on the reference backend unless GPUXLA_PLATFORM names another (the default of a
# machine without a GPU is now `cpu`): the op table's tolerances and the bit-exact checks are the
# reference's, and on `cpu` which tier ran a call would depend on when a background build landed.
# The cpu platform has its own tests (test_cpu_platform.py, test_cpu_tiered.py, which also checks
# the default in a fresh process); `GPUXLA_PLATFORM=cpu python -m pytest` runs everything there.
os.environ.setdefault("GPUXLA_PLATFORM", "numpy")


def _x64_mode(flag):
    from gpuxla.core import dtypes
    with dtypes.enable_x64(flag):
        yield


@pytest.fixture
def x64():
    yield from _x64_mode(True)


@pytest.fixture
def x32():
    yield from _x64_mode(False)


def _platform_params():
    from gpuxla.backends.cuda import interpret
    return ["numpy", pytest.param("cuda-interpret", marks=pytest.mark.skipif(
        interpret.host_compiler() is None, reason="needs a host C++ compiler")), "fake-cuda"]


@pytest.fixture(params=_platform_params())
def platform(request, monkeypatch):
    """The test runs on this platform: a fresh backend and an empty eager cache."""
    from gpuxla import backends
    if request.param == "fake-cuda":
        import fake_cupy
        with fake_cupy.installed():
            yield request.param
        return
    from gpuxla.backends.cuda import InterpretBackend
    from gpuxla.backends.numpy import NumpyBackend
    monkeypatch.setattr(backends, "_backend", NumpyBackend() if request.param == "numpy" else InterpretBackend())
    monkeypatch.setattr(backends, "_eager_cache", {})
    yield request.param


def pytest_terminal_summary(terminalreporter):
    """The size of the house in every run's log (tinygrad's sz.py): code lines per package,
    blank lines, comments and docstring-only lines aside."""
    import io
    import tokenize
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent / "gpuxla"
    sizes = {}
    for p in root.rglob("*"):
        if p.suffix not in (".py", ".cuh", ".h") or "__pycache__" in p.parts:
            continue
        rel = p.relative_to(root).parts
        pkg = "gpuxla" if len(rel) == 1 else f"gpuxla/{rel[0]}"
        if p.suffix == ".py":
            code = set()
            for tok in tokenize.generate_tokens(io.StringIO(p.read_text()).readline):
                if tok.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                                    tokenize.DEDENT, tokenize.STRING, tokenize.ENDMARKER):
                    code.update(range(tok.start[0], tok.end[0] + 1))
            n = len(code)
        else:
            n = sum(1 for line in p.read_text().splitlines() if line.strip() and not line.strip().startswith("//"))
        sizes[pkg] = sizes.get(pkg, 0) + n
    terminalreporter.section("code lines per package")
    for pkg, n in sorted(sizes.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{pkg:<22}{n:>7}")
    terminalreporter.write_line(f"{'total':<22}{sum(sizes.values()):>7}")
