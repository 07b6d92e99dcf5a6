"""Buffer liveness in the kernel-platform executables (cuda and cuda-interpret share `Executable`):
an intermediate buffer is dropped right after its last consumer runs (a library result), or its
bytes in the executable's arena are reused (a kernel output), so a long chain of kernels and
library calls holds two or three intermediates at a time, not all of them."""
import weakref

import numpy as np

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.cuda.interpret import InterpretRuntime
from gpuxla.backends.cuda.plan import Executable

# (_session_cache points the kernel caches at a temporary folder)
from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

pytestmark = needs_cxx


class CountingRuntime(InterpretRuntime):
    """Counts the bytes of live buffers the executable allocated (kernel outputs, library results)."""

    def __init__(self):
        super().__init__()
        self.live = self.peak = 0

    def _track(self, buf):
        self.live += buf.nbytes
        self.peak = max(self.peak, self.live)
        weakref.finalize(buf, self._drop, buf.nbytes)
        return buf

    def _drop(self, n):
        self.live -= n

    def empty(self, shape, dtype, what=None):
        return self._track(super().empty(shape, dtype))

    def library(self, eqn, args):
        out = super().library(eqn, args)
        return tuple(map(self._track, out)) if isinstance(out, tuple) else self._track(out)


def chain(x):
    # Each step is a fused elementwise kernel followed by a sort (a library call): nothing fuses
    # across the sorts, so every step leaves one kernel output and one sorted array behind.
    for i in range(8):
        x = jnp.sort(-x * 0.5 + i)
    return x


def test_intermediates_are_freed_after_their_last_use():
    x = np.random.default_rng(0).standard_normal(100_000).astype(np.float32)
    program = jax.jit(chain).lower(x)._entry.program()
    rt = CountingRuntime()
    exe = Executable(program, rt)
    assert len(exe.kernels) == 8 and exe.library_calls.count("sort") == 8, (len(exe.kernels), exe.library_calls)
    (out,) = exe([x])
    want = x.astype(np.float64)
    for i in range(8):
        want = np.sort(-want * 0.5 + i)
    np.testing.assert_allclose(out, want, rtol=1e-6, atol=1e-6)
    step = x.nbytes
    # 16 intermediates are made; at most the one being read, the one being written and the
    # output are alive together, and the arena holds two kernel outputs, not eight: a library
    # call may hand back a view of its operand (plan.Plan's liveness assumes so for all but
    # dot_general), so a kernel output lives as long as the sort result made from it.
    assert exe.layout.nbytes <= 2 * step + 512, exe.layout.nbytes / step
    assert rt.peak + exe.layout.nbytes <= 4 * step + 512, (rt.peak + exe.layout.nbytes) / step
    assert rt.live <= step        # afterwards: the output only
