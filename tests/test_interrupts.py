"""An interrupt (KeyboardInterrupt, as SIGINT raises it) at any point of a call -- trace, compile,
run, realise -- leaves gpuxla usable: the next call, of the interrupted function or of a fresh one,
gives the right result, on the numpy, cuda-interpret and (fake) cuda platforms.

The interrupt is injected with sys.settrace at the k-th line gpuxla executes during a call, for k
spread over the whole call, so every stage is hit without naming any function of the stack; the
test checks that the injections did land in the tracer, the compiler and the backend."""
import os
import signal
import sys

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax


PACKAGE = os.path.dirname(jax.__file__) + os.sep
A = (np.random.default_rng(0).standard_normal((16, 16)) / 4).astype(np.float32)
X = np.linspace(-3, 3, 16, dtype=np.float32)


def make_step():
    """A new function each time (jit's trace cache is per function): a matmul loop, a reduction and
    a gradient -- a library call, loop and reduction kernels."""
    def step(a, x):
        y = lax.fori_loop(0, 5, lambda i, x: jnp.tanh(a @ x) + 0.1 * x.sum(), x)
        return y, jax.grad(lambda x: jnp.sum(jax.nn.softmax(x) * x))(x)
    return step


def step_numpy(a, x):
    a, x = a.astype(np.float64), x.astype(np.float64)
    y = x
    for _ in range(5):
        y = np.tanh(a @ y) + 0.1 * y.sum()
    s = np.exp(x - x.max())
    s /= s.sum()
    return y, s * (1 + x - np.sum(s * x))


Y, G = step_numpy(A, X)


def check(f):
    y, g = f(jnp.asarray(A), jnp.asarray(X))
    e = jnp.exp(jnp.asarray(X)) + 1.0                      # an eager op: realised on its own
    np.testing.assert_allclose(np.asarray(y), Y, rtol=2e-5, atol=2e-5)
    np.testing.assert_allclose(np.asarray(g), G, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(np.asarray(e), np.exp(X.astype(np.float64)) + 1, rtol=2e-6)


class Interrupt:
    """A tracer that raises KeyboardInterrupt at the `at`-th line executed in gpuxla (0: never)."""

    def __init__(self, at=0):
        self.at, self.lines, self.where = at, 0, None

    def __enter__(self):
        sys.settrace(self._call)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)

    def _call(self, frame, event, arg):
        return self._line if frame.f_code.co_filename.startswith(PACKAGE) else None

    def _line(self, frame, event, arg):
        if event == "line":
            self.lines += 1
            if self.lines == self.at:
                self.where = os.path.relpath(frame.f_code.co_filename, PACKAGE)
                sys.settrace(None)
                raise KeyboardInterrupt
        return self._line


# Where an interrupt landed, by gpuxla package: tracing (and the ops it calls), planning kernels,
# running and realising on a backend.
STAGE = {"core": "trace", "transforms": "trace", "lax": "trace", "numpy": "trace", "nn": "trace",
         "compiler": "compile", "backends": "run"}

@pytest.mark.skipif(sys.gettrace() is not None, reason="a debugger or coverage tool owns sys.settrace")
def test_an_interrupt_anywhere_in_a_call_leaves_gpuxla_usable(platform):
    check(jax.jit(make_step()))                  # compiled kernels are cached from here on
    with Interrupt() as count:
        check(jax.jit(make_step()))
    stages, landed = set(), 0
    for at in np.unique(np.linspace(1, count.lines, 40).astype(int)):
        f = jax.jit(make_step())                 # traced and planned again
        try:
            with Interrupt(at) as hit:
                check(f)
        except KeyboardInterrupt:
            landed += 1
            stages.add(STAGE.get(hit.where.split(os.sep)[0], "other"))
        check(f)                                 # the interrupted function, called again
        check(jax.jit(make_step()))              # and a new one
    assert landed >= 30
    assert {"trace", "run"} <= stages, stages
    if platform != "numpy":
        assert "compile" in stages, stages


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_soak_real_sigalrm_interrupts(platform):
    """A real signal at random times over many calls (a SIGALRM handler raising KeyboardInterrupt,
    as the default SIGINT handler does): every uninterrupted call afterwards is right."""
    rng = np.random.default_rng(1)
    old = signal.signal(signal.SIGALRM, _raise_interrupt)
    shared, landed = jax.jit(make_step()), 0
    try:
        for _ in range(300):
            f = jax.jit(make_step()) if rng.random() < 0.3 else shared
            try:
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-4, 0.02))
                check(f)
            except KeyboardInterrupt:
                landed += 1
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            check(f)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    assert landed > 0


def test_a_trace_scope_whose_exit_never_ran_stops_counting():
    """An interrupt between a with block's end and its __exit__ (Python reports the with line
    there) skips the exit: the scope, dropped as the stack unwinds, no longer counts as a running
    transformation, and jit caches its traces again."""
    from gpuxla.core import graph
    base = graph.state.trace_level
    scope = graph.trace_scope()
    scope.__enter__()
    assert graph.state.trace_level == base + 1
    del scope                                   # never exited
    assert graph.state.trace_level == base
    f = jax.jit(lambda x: x * 2)
    assert float(f(1.0)) == 2 and float(f(3.0)) == 6 and f._cache_size() == 1
