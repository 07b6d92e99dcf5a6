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
  psum_scatter           device i's block i (of `axis_size` along `scatter_dimension`) of the sum
  ppermute               device dst gets device src's operand for each (src, dst) of `perm`,
                         a device no pair sends to zeros (indices along the job's whole axis)
  all_to_all             device i gets block i of `split_axis` of every device's operand,
                         concatenated in device order along `concat_axis`

pmean and axis_index never reach an engine: the first is psum divided, the second a per-device
input. The last three give each device its own result and move only what it needs: NCCL's
reduceScatter and grouped send/recv, MPI's Ireduce_scatter_block, Isend/Irecv and Ialltoall.

`HostEngine` serves the devices of one process whose buffers the host can read (the numpy, cpu and
cuda-interpret platforms, and one GPU without NCCL): it combines them with NumPy, summing in device
order, so the bits do not depend on timing. `MpiEngine` (set up by gpuxla.distributed.initialize)
first combines the local devices the same way, then the processes through MPI's Allreduce /
Allgather (and the calls above; mpi4py): MPI is the transport, never one of our own. A reduction over processes in
MPI's order may differ in the last bit from one process's device-order sum. On GPUs, `NcclEngine`
(nccl.py) runs every collective through NCCL (CuPy's `cupy.cuda.nccl`) on the devices' streams.
"""
import contextlib
import functools

import numpy as np

_REDUCE = {"psum": np.add, "pmax": np.maximum, "pmin": np.minimum}
PER_DEVICE = ("psum_scatter", "ppermute", "all_to_all")      # a result of its own on each device


def host_per_device(name, arrays, params):
    """psum_scatter / ppermute / all_to_all over the operands of every device of the axis (in
    axis order), computed on the host: the results, one per device. The reference the other
    engines match."""
    n = len(arrays)
    if name == "psum_scatter":
        total = np.asarray(functools.reduce(np.add, arrays), dtype=arrays[0].dtype)
        return np.split(total, n, axis=params["scatter_dimension"])
    if name == "ppermute":
        outs = [np.zeros_like(a) for a in arrays]
        for src, dst in params["perm"]:
            outs[dst] = arrays[src]
        return outs
    if name == "all_to_all":
        blocks = [np.split(a, n, axis=params["split_axis"]) for a in arrays]
        return [np.concatenate([b[i] for b in blocks], axis=params["concat_axis"]) for i in range(n)]
    raise NotImplementedError(f"pmap: no engine rule for the collective '{name}'")


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
        if name in PER_DEVICE:
            outs = host_per_device(name, self._host(bufs), params)
            return [self.backend.from_numpy(np.ascontiguousarray(o)) for o in outs]
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
        if name in PER_DEVICE:
            outs = getattr(self, "_" + name)(self._host(bufs), params, f"pmap: the collective '{name}'")
            return [self.backend.from_numpy(np.ascontiguousarray(o)) for o in outs]
        local = np.asarray(self.combine(name, self._host(bufs), params), order="C")
        dt = local.dtype
        wire = _wire(local)
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


    def _psum_scatter(self, arrays, params, what):
        """The local devices' sum, then MPI's reduce-scatter over the processes: each gets the
        blocks of its own devices (the scatter axis moved first, so a process's blocks are one
        contiguous piece), which it splits among them."""
        from mpi4py import MPI
        dim, n_loc = params["scatter_dimension"], len(arrays)
        dt = arrays[0].dtype
        local = np.ascontiguousarray(np.moveaxis(np.asarray(functools.reduce(np.add, arrays), dtype=dt), dim, 0))
        wire = _wire(local)
        out = np.empty((wire.shape[0] // self.comm.Get_size(),) + wire.shape[1:], wire.dtype)
        wait(self.comm.Ireduce_scatter_block(wire, out, op=MPI.SUM), self.timeout, what)
        out = out.astype(dt, copy=False)
        return [np.moveaxis(b, 0, dim) for b in np.split(out, n_loc, axis=0)]

    def _ppermute(self, arrays, params, what):
        """One Isend / Irecv per edge that crosses processes (tagged with the destination's axis
        index), a copy for an edge inside this process: each operand moves once."""
        n_loc, rank = len(arrays), self.comm.Get_rank()
        first = rank * n_loc
        outs = [np.zeros_like(a) for a in arrays]
        reqs, keep = [], []
        for src, dst in params["perm"]:
            mine_src, mine_dst = first <= src < first + n_loc, first <= dst < first + n_loc
            if mine_src and mine_dst:
                outs[dst - first] = arrays[src - first]
            elif mine_src:
                payload = np.ascontiguousarray(arrays[src - first]).view(np.uint8)
                keep.append(payload)
                reqs.append(self.comm.Isend(payload, dest=dst // n_loc, tag=dst))
            elif mine_dst:
                got = np.empty(arrays[0].shape, arrays[0].dtype)
                outs[dst - first] = got
                reqs.append(self.comm.Irecv(got.view(np.uint8).reshape(-1), source=src // n_loc, tag=dst))
        wait_all(reqs, self.timeout, what)
        return outs

    def _all_to_all(self, arrays, params, what):
        """One Ialltoall: process p sends process q, for each of q's devices, that device's block
        from each of p's devices (as bytes); each device then concatenates its blocks in axis order."""
        split, concat, n_loc = params["split_axis"], params["concat_axis"], len(arrays)
        procs = self.comm.Get_size()
        n = procs * n_loc
        # (source device, destination) -> block; laid out as [dest process, dest device, source device]
        blocks = [np.split(a, n, axis=split) for a in arrays]
        shape, dt = blocks[0][0].shape, arrays[0].dtype
        send = np.stack([np.ascontiguousarray(blocks[s][d]).view(np.uint8).reshape(-1)
                         for d in range(n) for s in range(n_loc)])
        recv = np.empty_like(send)
        wait(self.comm.Ialltoall(send, recv), self.timeout, what)
        recv = recv.reshape(procs, n_loc, n_loc, -1)        # [source process, my device, source device]
        return [np.concatenate([recv[q, m, s].view(dt).reshape(shape) for q in range(procs) for s in range(n_loc)],
                               axis=concat) for m in range(n_loc)]


def _wire(a):
    """MPI's datatypes cover the NumPy number types; bfloat16 and float16 travel as float32."""
    return a.astype(np.float32) if a.dtype.itemsize == 2 and a.dtype.kind in "fV" else a


def wait_all(requests, timeout, what):
    for r in requests:
        wait(r, timeout, what)


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
