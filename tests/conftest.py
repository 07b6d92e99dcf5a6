"""Shared test setup: this folder is importable (`from op_table import OPS`) in any pytest import
mode, and `x32` / `x64` switch JAX's 64-bit mode for one test (it is process-global)."""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))


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
