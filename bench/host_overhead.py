"""`python -m bench --host-overhead`: gpuxla's own host time per cached jit call on the `cuda`
platform, measured on any machine.

The real CudaBackend / CudaRuntime / Executable code runs over tests/fake_cupy.py with the device
work left out (`installed(stub=True)`: a launch only counts, a matmul only allocates its result),
so what is timed is the Python between the user's call and the driver: argument handling, the
walk over the plan, allocations, launch-argument tuples, library-call set-up. CuPy's own per-call
cost (a few µs per launch on a real GPU) comes on top and is not here.

Per workload: µs per cached call, as CPU time of the calling thread (best of several samples of
back-to-back calls; the median beside it, and the best wall-clock time: CPU time is what a busy
shared host disturbs least), the same for the executable alone (`exe`: the runtime, without jit's
dispatch: pytree flattening, cache key, result Arrays), and per call the kernel launches (a CUDA-graph
replay is one launch), library calls that take the general path (`CudaRuntime.library`: control flow,
sort, ...), cuBLAS matmuls (planned dot_generals, called from the host), device allocations and
device-to-device copies. The fori_loop row is one call of 1000 steps (a trip count known at trace
time runs as a scan on the device: with CUDA graphs the whole loop is in the executable's graph,
without them each iteration launches the body's kernels, with no allocation).
"""
from __future__ import annotations

import functools
import gc
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def _workloads(jax, jnp):
    """name -> (jitted function, NumPy arguments); shapes as in bench/workloads.py."""
    from . import workloads as W
    mat, vs = W._matvec_inputs((32, 256))
    x, y = W.mlp_batch(128)
    selu = functools.partial(W.selu, jnp)
    a, b = np.ones(3, np.float32), np.full(3, 2, np.float32)
    return {
        "mlp_train_step (batch 128)": (jax.jit(W.mlp_step(jax, jnp)), (W.mlp_init(), x, y)),
        "matvec_naive (32 dots)": (jax.jit(lambda m, v: jnp.stack([jnp.dot(m, v[i]) for i in range(v.shape[0])])),
                                   (mat, vs)),
        "selu (1e6)": (jax.jit(selu), (np.random.default_rng(0).standard_normal(10**6, dtype=np.float32),)),
        "dispatch_add ((3,))": (jax.jit(lambda a, b: a + b), (a, b)),
        "random.normal (1e6)": (jax.jit(lambda k: jax.random.normal(k, (10**6,))), (jax.random.PRNGKey(0),)),
        # (a trip count known at trace time: it runs as a scan; the row's µs are per call of 1000 steps)
        "fori_loop (1000 steps)": (jax.jit(lambda v: jax.lax.fori_loop(0, FORI_STEPS, _decay, v)),
                                   (np.ones(1024, np.float32),)),
    }


FORI_STEPS = 1000


def _decay(i, u):
    return u * 0.999 + 0.001


def measure(number=None, repeat=7, only=()):
    """[{name, us, us_median, launches, library, matmuls, allocs}] per workload."""
    sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
    import fake_cupy as fc
    import gpuxla as jax
    import gpuxla.numpy as jnp
    from gpuxla.backends.cuda import runtime as R

    rows = []
    counts = {"library": 0}
    real_library = R.CudaRuntime.library

    def library(self, eqn, args):
        counts["library"] += 1
        return real_library(self, eqn, args)
    R.CudaRuntime.library = library
    try:
        with fc.installed(stub=True):
            for name, (f, args) in _workloads(jax, jnp).items():
                if only and not any(p in name for p in only):
                    continue
                dev = jax.tree_util.tree_map(jnp.asarray, args)
                jax.block_until_ready(f(*dev))          # trace, compile (no CUBIN: stubbed)
                jax.block_until_ready(f(*dev))
                before, lib0 = dict(fc.stats), counts["library"]
                jax.block_until_ready(f(*dev))
                per_call = {k: fc.stats[k] - before[k] for k in ("launches", "matmuls", "allocs", "copies",
                                                                 "graph_launches")}
                per_call["library"] = counts["library"] - lib0
                n = number or _calibrate(f, dev)
                samples, wall = [], []
                gc.collect()
                for _ in range(repeat):
                    t0, w0 = time.thread_time(), time.perf_counter()
                    for _ in range(n):
                        f(*dev)
                    samples.append((time.thread_time() - t0) / n * 1e6)
                    wall.append((time.perf_counter() - w0) / n * 1e6)
                # The executable alone, on the arguments' buffers: without jit's dispatch (pytree
                # flattening, cache key, result Arrays).
                exe = next(iter(f._cache.values())).fn
                bufs = [x._buf for x in jax.tree_util.tree_leaves(dev)]
                exe_us = []
                for _ in range(repeat):
                    t0 = time.thread_time()
                    for _ in range(n):
                        exe(bufs)
                    exe_us.append((time.thread_time() - t0) / n * 1e6)
                rows.append({"name": name, "us": min(samples), "us_median": statistics.median(samples),
                             "wall_us": min(wall), "exe_us": min(exe_us), "number": n, **per_call,
                             "est_us": min(samples) + _cupy_us(per_call)})
    finally:
        R.CudaRuntime.library = real_library
    return rows


def _cupy_us(per_call):
    """An estimate of CuPy's own host µs per call, which the stubbed fake leaves out: the
    constants by which the cuda platform decides whether a CUDA-graph replay pays
    (backends/cuda/plan.py; not measured on a GPU), applied to the counts."""
    from gpuxla.backends.cuda import plan
    kernels = per_call["launches"] - per_call["graph_launches"]
    return (kernels * plan.GRAPH_LAUNCH_US + per_call["matmuls"] * plan.GRAPH_DOT_US
            + (per_call["copies"] + per_call["graph_launches"]) * plan.GRAPH_COPY_US)


def _calibrate(f, args, target_s=0.05):
    t0 = time.perf_counter()
    f(*args)
    dt = max(time.perf_counter() - t0, 1e-6)
    return max(5, min(20000, int(target_s / dt)))


def render(rows):
    head = f"{'workload':28s} {'µs/call':>9s} {'median':>9s} {'wall':>9s} {'exe':>7s} {'launches':>9s} " \
           f"{'library':>8s} {'matmuls':>8s} {'allocs':>7s} {'copies':>7s} {'graphs':>7s} {'+CuPy est':>9s}"
    lines = ["gpuxla host overhead per cached jit call (µs of CPU time), cuda platform on the fake device "
             "(device work stubbed)",
             head, "-" * len(head)]
    for r in rows:
        lines.append(f"{r['name']:28s} {r['us']:9.1f} {r['us_median']:9.1f} {r['wall_us']:9.1f} {r['exe_us']:7.1f} "
                     f"{r['launches']:9d} "
                     f"{r['library']:8d} "
                     f"{r['matmuls']:8d} {r['allocs']:7d} {r['copies']:7d} {r['graph_launches']:7d} "
                     f"{r['est_us']:9.1f}")
        if r["name"].startswith("fori_loop"):
            lines.append(f"  (that is {r['us'] / FORI_STEPS:.2f} µs per iteration)")
    lines.append("launches: kernel launches and CUDA-graph launches (`graphs`: of them, graph replays, each one "
                 "launch for all the steps); copies: device-to-device copies (a replay's inputs and outputs); "
                 "+CuPy est: µs/call plus an estimate of CuPy's own host time for those calls (5 µs a launch, "
                 "20 a cuBLAS call, 3 a copy or graph launch: backends/cuda/plan.py's GRAPH_* constants, "
                 "not measured on a GPU)")
    return "\n".join(lines)


def main(argv=None, out=None, save=True, only=()):
    rows = measure(only=only)
    print(render(rows))
    if save:
        from .harness import default_stem
        out = out or os.path.join(HERE, "results")
        os.makedirs(out, exist_ok=True)
        path = os.path.join(out, default_stem(tag="host-overhead") + ".jsonl")
        with open(path, "a") as fh:
            for r in rows:
                fh.write(json.dumps({**r, "kind": "host_overhead", "time": time.time()}) + "\n")
        print(f"results: {os.path.relpath(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
