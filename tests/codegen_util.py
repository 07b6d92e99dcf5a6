"""Shared by the code-generation tests: the host-compiler skip, a per-module kernel cache and the
fusion plan of a traced function."""
import pytest

from gpuxla.backends.cuda import interpret
from gpuxla.backends.cuda.plan import Plan
from gpuxla.core.trace import trace_values
from gpuxla.core.program import Program

needs_cxx = pytest.mark.skipif(interpret.host_compiler() is None,
                               reason="cuda-interpret needs a host C++ compiler (g++ or clang++); none found")


@pytest.fixture(scope="module", autouse=True)
def _session_cache(tmp_path_factory):
    """Importing this fixture into a test module points the kernel caches at a temporary folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("GPUXLA_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "gpuxla-cache"))
    yield
    mp.undo()


def plan_of(f, *args):
    """Fusion and rendering only (no compiler): the plan of f's traced program."""
    t = trace_values(f, args, what="a test")
    return Plan(Program.from_graph(t.leaves, t.outs))
