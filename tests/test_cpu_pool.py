"""The cpu platform's worker pool (gpuxla/kernels/gx_pool.h, backends/cpu/runtime.py `pool_entry`):
every chunk of a job runs exactly once, on the caller and at most threads - 1 workers; a call from
inside a chunk, or from another thread while a job runs, runs its chunks itself; kernel modules run
on it and give the same bits as one thread; a forked child starts its own pool; GPUXLA_CPU_POOL=0
runs the kernels on OpenMP's threads with the same results."""
import ctypes
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import gpuxla.numpy as jnp
from gpuxla.backends import cpu
from gpuxla.backends.cpu import runtime as cpu_rt

from codegen_util import _session_cache, needs_cxx  # noqa: F401
from test_interpret_optable import inputs_for, program_of

pytestmark = needs_cxx
ROOT = Path(__file__).resolve().parents[1]
CHUNK = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_longlong, ctypes.c_longlong)


def _run():
    assert cpu_rt.pool_entry() is not None
    fn = cpu_rt._pool[1].gx_pool_run
    fn.argtypes = [ctypes.c_longlong, ctypes.c_longlong, ctypes.c_int, CHUNK, ctypes.c_void_p]
    fn.restype = None
    return fn


@pytest.mark.parametrize("n, grain, threads", [(1000, 7, 2), (1000, 1000, 2), (64, 1, 3), (5, 2, 1), (0, 4, 2)])
def test_every_chunk_runs_once(n, grain, threads):
    run, seen, lock = _run(), [], threading.Lock()

    def chunk(ctx, lo, hi):
        with lock:
            seen.append((lo, hi, threading.get_ident()))
    cb = CHUNK(chunk)
    run(n, grain, threads, cb, None)
    want = [(lo, min(lo + grain, n)) for lo in range(0, n, grain)]
    assert sorted((lo, hi) for lo, hi, _ in seen) == want
    assert len({t for *_, t in seen}) <= max(1, threads)
    if threads > 1 and len(want) > 1:
        assert cpu_rt.pool_workers() >= 1


def test_a_call_from_a_chunk_runs_its_chunks_itself():
    run, seen, lock = _run(), [], threading.Lock()

    def inner(ctx, lo, hi):
        with lock:
            seen.append(("inner", lo, hi, threading.get_ident()))
    inner_cb = CHUNK(inner)

    def outer(ctx, lo, hi):
        me = threading.get_ident()
        run(6, 2, 2, inner_cb, None)            # (the pool is busy with this job)
        with lock:
            mine = [s for s in seen if s[0] == "inner" and s[3] == me]
            seen.append(("outer", lo, hi, me))
        assert len(mine) % 3 == 0               # all three inner chunks, on this thread
    outer_cb = CHUNK(outer)
    run(8, 1, 2, outer_cb, None)
    assert sorted(s[1] for s in seen if s[0] == "outer") == list(range(8))
    assert len([s for s in seen if s[0] == "inner"]) == 8 * 3


def test_calls_from_threads_at_once():
    run, errors = _run(), []
    sums = {}

    def worker(k):
        total, lock = [0], threading.Lock()

        def chunk(ctx, lo, hi):
            with lock:
                total[0] += sum(range(lo, hi))
        cb = CHUNK(chunk)
        for _ in range(20):
            total[0] = 0
            run(500 + k, 13, 2, cb, None)
            if total[0] != sum(range(500 + k)):
                errors.append((k, total[0]))
        sums[k] = total[0]
    ts = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=120)
    assert not errors and len(sums) == 4


def _work(x):
    return jnp.sum(jnp.tanh(x) * 2.0, axis=1), jnp.exp(x * 0.5) - 1.0, jnp.max(x)


def test_kernels_run_on_the_pool_with_one_threads_bits():
    x = np.random.default_rng(0).standard_normal((64, 4096)).astype(np.float32)
    prog = program_of(_work, [x])
    xs = inputs_for(prog, [x])
    runs = {}
    for t in (1, 2, 3):
        exe = cpu.CpuBackend().compile(prog)
        exe.runtime.threads = t
        runs[t] = [o.tobytes() for o in exe(xs)]
    assert runs[1] == runs[2] == runs[3]
    assert cpu_rt.pool_workers() >= 1
    np.testing.assert_allclose(np.frombuffer(runs[2][0], np.float32), (np.tanh(x.astype(np.float64)) * 2).sum(1),
                               rtol=1e-5, atol=5e-4)
    np.testing.assert_allclose(np.frombuffer(runs[2][1], np.float32).reshape(x.shape), np.expm1(x * 0.5),
                               rtol=1e-5, atol=1e-6)


_CHILD = """
import os, sys, numpy as np
os.environ["GPUXLA_CPU_TIERED"] = "0"
import gpuxla, gpuxla.numpy as jnp
from gpuxla.backends.cpu import runtime as cpu_rt
f = gpuxla.jit(lambda x: jnp.exp(x) * 2.0 + jnp.sum(x))
x = np.linspace(0, 1, 200_000, dtype=np.float32)
want = np.exp(x) * 2.0 + x.astype(np.float64).sum()
np.testing.assert_allclose(np.asarray(f(x)), want, rtol=1e-5)
print("pool", cpu_rt.pool_entry() is not None, cpu_rt.pool_workers() >= 1, flush=True)
if sys.argv[1] == "fork":
    pid = os.fork()
    if pid == 0:            # the child: the parent's workers are gone, its own pool starts
        ok = np.allclose(np.asarray(f(x)), want, rtol=1e-5)
        os._exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)
"""


@pytest.mark.parametrize("mode", ["fork", "no-pool"])
def test_a_forked_child_and_the_openmp_fallback(mode, tmp_path):
    env = dict(os.environ, GPUXLA_PLATFORM="cpu", GPUXLA_CPU_THREADS="2", GPUXLA_CACHE_DIR=str(tmp_path),
               PYTHONPATH=str(ROOT))
    if mode == "no-pool":
        env["GPUXLA_CPU_POOL"] = "0"
    r = subprocess.run([sys.executable, "-c", _CHILD, mode], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    if mode == "fork":
        assert "pool True True" in r.stdout and "child 0" in r.stdout, r.stdout
    else:
        assert "pool False False" in r.stdout, r.stdout
