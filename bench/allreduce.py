"""All-reduce bandwidth of pmap's psum against the same all-reduce called directly through CuPy's
NCCL bindings, on every GPU of this machine (issue #16's goal: psum >= 90% of NCCL's bus bandwidth).

    python -m bench.allreduce                   # 64 MB of float32 per GPU
    python -m bench.allreduce --mbytes 256 --repeats 50
    python -m bench.allreduce --fake 4          # tests/fake_nccl.py's 4 fake GPUs: checks the script only

Skips (exit 0, one line saying why) without CuPy, a GPU or NCCL. Both sides reduce the same
number of float32 elements per GPU in one NCCL group over all GPUs and are timed to the end of
every GPU's stream. gpuxla's call is `pmap(lambda k: psum(full(n, 1) * k, 'i')[:1])` over the
device indices: the operand is made on each GPU (no host copies), the result sliced to one
element, so what it adds to NCCL's call is pmap's dispatch, a fill kernel and the slice.
Bus bandwidth as nccl-tests reports it: bytes * 2 (N - 1) / N / time (0 for one GPU: then the
algorithm bandwidth, bytes / time, is the figure to compare).
"""
import argparse
import statistics
import sys
import time


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.allreduce")
    p.add_argument("--mbytes", type=float, default=64.0, help="megabytes (2^20) of float32 per GPU")
    p.add_argument("--repeats", type=int, default=20)
    p.add_argument("--fake", type=int, default=0, metavar="N", help="run on N fake GPUs (tests/fake_nccl.py)")
    args = p.parse_args(argv)
    if args.fake:
        import os
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
        import fake_nccl
        with fake_nccl.installed(args.fake):
            return run(args, fake=True)
    try:
        import cupy
        n = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001 - no CuPy or no driver: nothing to measure
        print(f"skipped: no GPU through CuPy ({type(e).__name__}: {e})")
        return 0
    from gpuxla.parallel import nccl
    if n < 1 or not nccl.available():
        print(f"skipped: {n} GPUs, NCCL {'available' if nccl.available() else 'not available'} through CuPy")
        return 0
    return run(args)


def run(args, fake=False):
    import numpy as np

    import gpuxla as jax
    import gpuxla.numpy as jnp
    from gpuxla import lax
    from gpuxla.backends.cuda.runtime import cupy
    from gpuxla.parallel import nccl

    cp, nc = cupy(), nccl.need()
    n = jax.local_device_count()
    count = int(args.mbytes * (1 << 20)) // 4
    if fake:
        count = min(count, 1 << 12)
    nbytes = count * 4

    def sync():
        for g in range(n):
            with cp.cuda.Device(g):
                cp.cuda.get_current_stream().synchronize()

    # NCCL directly: one communicator per GPU, the buffers made once
    comms = nc.NcclCommunicator.initAll(n)
    bufs = []
    for g in range(n):
        with cp.cuda.Device(g):
            bufs.append((cp.asarray(np.ones(count, np.float32)), cp.empty(count, np.float32)))

    def direct():
        nc.groupStart()
        for g, (c, (s, r)) in enumerate(zip(comms, bufs)):
            with cp.cuda.Device(g):
                c.allReduce(s.data.ptr, r.data.ptr, count, nc.NCCL_FLOAT32, nc.NCCL_SUM,
                            cp.cuda.get_current_stream().ptr)
        nc.groupEnd()
        sync()

    f = jax.pmap(lambda k: lax.psum(jnp.full((count,), 1.0, jnp.float32) * k, "i")[:1], axis_name="i")
    ks = jnp.arange(1.0, n + 1.0, dtype=jnp.float32)

    def through_pmap():
        out = f(ks)
        sync()
        return out

    got = np.asarray(through_pmap())
    want = n * (n + 1) / 2
    if not np.allclose(got, want):
        raise SystemExit(f"psum gave {got.ravel()[:4]}, expected {want}")
    direct()
    if not np.allclose(bufs[0][1][:4].get(), n):
        raise SystemExit("NCCL's all-reduce gave a wrong sum")

    def timed(fn):
        fn()
        ts = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            fn()
            ts.append(time.perf_counter() - t0)
        return min(ts), statistics.median(ts)

    t_nccl, t_pmap = timed(direct), timed(through_pmap)
    factor = 2 * (n - 1) / n
    print(f"{n} {'fake ' if fake else ''}GPU{'s' if n > 1 else ''}, {nbytes / (1 << 20):.1f} MiB of float32 per GPU; "
          f"fastest (median) of {args.repeats}")
    print(f"{'':>20} {'time':>20} {'algbw GB/s':>12} {'busbw GB/s':>12}")
    for name, (t_min, t_med) in (("cupy.cuda.nccl", t_nccl), ("pmap psum", t_pmap)):
        print(f"{name:>20} {t_min * 1e3:8.3f} ({t_med * 1e3:.3f}) ms {nbytes / t_min / 1e9:12.2f} "
              f"{factor * nbytes / t_min / 1e9:12.2f}")
    print(f"psum / NCCL bandwidth: {t_nccl[0] / t_pmap[0]:.1%} (fastest), {t_nccl[1] / t_pmap[1]:.1%} (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
