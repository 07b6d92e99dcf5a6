"""The engines that carry pmap's collectives across devices.

Every engine has one interface, which pmap (pmap.py) drives in lockstep over this process's
devices (local positions 0..n-1, in device order):

  place(i, host)         a host array as a buffer on device i
  split(buf, axis, n)    an input's slices along `axis`, one on each of the first n devices
  stack(bufs, axis)      the devices' results stacked along `axis` on the default device
                         (axis None: the one buffer given, moved there)
  replicate(buf)         one buffer per device holding `buf`'s value (an unmapped input, a constant)
  on(i)                  a context in which device i's work is issued
  executables(exe)       the stage `exe` (compiled once) as one callable per device
  collective(name, bufs, params)
                         for one collective node, the devices' operand buffers -> their results:
  psum, pmax, pmin       the elementwise sum / max / min over every device of the job, the same
                         result on each
  all_gather             every device's operand stacked (or, tiled, concatenated) along `axis`

pmean, psum_scatter, ppermute and axis_index never reach an engine: the first three are
composites of psum / all_gather (lax/collectives.py), the last a per-device input.

`HostEngine` serves the devices of one process whose buffers the host can read (the numpy, cpu and
cuda-interpret platforms, and one GPU without NCCL): it combines them with NumPy, summing in device
order, so the bits do not depend on timing. `MpiEngine` (set up by gpuxla.distributed.initialize)
first combines the local devices the same way, then the processes through MPI's Allreduce /
Allgather (mpi4py): MPI is the transport, never one of our own. A reduction over processes in
MPI's order may differ in the last bit from one process's device-order sum. On GPUs, `NcclEngine`
(nccl.py) runs every collective through NCCL (CuPy's `cupy.cuda.nccl`) on the devices' streams.
"""
import contextlib
import functools

import numpy as np

_REDUCE = {"psum": np.add, "pmax": np.maximum, "pmin": np.minimum}


class HostEngine:
    """The devices of one process, combined on the host. Simulated devices share the host's
    memory: a buffer serves every device, and one executable runs them all."""

    def __init__(self, backend):
        self.backend = backend

    def place(self, i, host):
        return self.backend.from_numpy(host)

    def split(self, buf, axis, n):
        whole = np.moveaxis(np.asarray(self.backend.to_numpy(buf)), axis, 0)
        return [self.backend.from_numpy(np.asarray(whole[i], order="C")) for i in range(n)]

    def stack(self, bufs, axis):
        if axis is None:
            return bufs[0]
        b = self.backend
        return b.from_numpy(np.stack([np.asarray(b.to_numpy(x)) for x in bufs], axis=axis))

    def replicate(self, buf, n):
        return [buf] * n

    def on(self, i):
        return contextlib.nullcontext()

    def executables(self, exe, n):
        return [exe] * n

    def _host(self, bufs):
        return [np.asarray(self.backend.to_numpy(b)) for b in bufs]

    def combine(self, name, arrays, params):
        if name in _REDUCE:
            dt = arrays[0].dtype
            return np.asarray(functools.reduce(_REDUCE[name], arrays), dtype=dt)
        if name == "all_gather":
            join = np.concatenate if params["tiled"] else np.stack
            return join(arrays, axis=params["axis"])
        raise NotImplementedError(f"pmap: no engine rule for the collective '{name}'")

    def collective(self, name, bufs, params):
        out = self.backend.from_numpy(np.asarray(self.combine(name, self._host(bufs), params), order="C"))
        return [out] * len(bufs)       # buffers are immutable: every device may share the result


def engine_for(backend, devs):
    """The engine for a pmap over `devs` (this process's devices) on `backend`."""
    from .devices import world
    if world.engine is not None:
        return world.engine.with_backend(backend, devs)
    if backend.platform == "cuda":
        from . import nccl
        if len(devs) > 1 or nccl.available():     # (one GPU without NCCL: the host engine)
            return nccl.NcclEngine.local(backend, devs)
    return HostEngine(backend)


class MpiEngine(HostEngine):
    """Several processes joined by MPI: each combines its own devices on the host, then MPI
    combines the processes (non-blocking calls polled against `timeout`, so a process that never
    arrives is a TimeoutError naming the collective, not a hang)."""

    def __init__(self, comm, timeout, backend=None):
        super().__init__(backend)
        self.comm, self.timeout = comm, timeout

    def with_backend(self, backend, devs):
        if backend.platform == "cuda":
            raise NotImplementedError("pmap on GPUs across processes joined by MPI is not supported by gpuxla: "
                                      "initialize with a coordinator_address so that NCCL joins them")
        return MpiEngine(self.comm, self.timeout, backend)

    def collective(self, name, bufs, params):
        from mpi4py import MPI
        local = np.asarray(self.combine(name, self._host(bufs), params), order="C")
        dt = local.dtype
        # MPI's datatypes cover the NumPy number types; bfloat16 and float16 travel as float32.
        wire = local.astype(np.float32) if dt.itemsize == 2 and dt.kind in "fV" else local
        if name in _REDUCE:
            out = np.empty_like(wire)
            op = {"psum": MPI.SUM, "pmax": MPI.MAX, "pmin": MPI.MIN}[name]
            wait(self.comm.Iallreduce(wire, out, op=op), self.timeout, f"pmap: the collective '{name}'")
        else:
            got = np.empty((self.comm.Get_size(),) + wire.shape, wire.dtype)
            wait(self.comm.Iallgather(wire, got), self.timeout, f"pmap: the collective '{name}'")
            out = np.concatenate(list(got), axis=params["axis"])
        out = self.backend.from_numpy(np.asarray(out.astype(dt, copy=False), order="C"))
        return [out] * len(bufs)


def wait(request, timeout, what):
    """Poll an MPI request until it completes or `timeout` seconds pass (TimeoutError)."""
    import time
    deadline = time.monotonic() + timeout
    delay = 1e-5
    while not request.Test():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not every process arrived within {timeout:g} s (a process that "
                               "never calls it, or calls a different collective?)")
        time.sleep(delay)
        delay = min(delay * 2, 1e-3)
