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
