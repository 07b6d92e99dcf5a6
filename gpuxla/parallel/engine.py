"""The engines that carry pmap's collectives across devices.

An engine gets, for one collective node, the operand buffers of this process's devices (one per
device, in device order) and returns the result buffers, one per device:

  psum, pmax, pmin     the elementwise sum / max / min over every device of the job, the same
                       result on each (summed in device order, so the bits do not depend on timing)
  all_gather           every device's operand stacked (or, tiled, concatenated) along `axis`

`HostEngine` serves the devices of one process whose buffers the host can read (the numpy, cpu and
cuda-interpret platforms, and one GPU): it combines them with NumPy. `MpiEngine` (set up by
gpuxla.distributed.initialize) first combines the local devices the same way, then the processes
through MPI's Allreduce / Allgather (mpi4py): MPI is the transport, never one of our own. A
reduction over processes in MPI's order may differ in the last bit from one process's device-order
sum.
"""
import functools

import numpy as np

_REDUCE = {"psum": np.add, "pmax": np.maximum, "pmin": np.minimum}


class HostEngine:
    """The devices of one process, combined on the host."""

    def __init__(self, backend):
        self.backend = backend

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
        out = self.backend.from_numpy(np.ascontiguousarray(self.combine(name, self._host(bufs), params)))
        return [out] * len(bufs)       # buffers are immutable: every device may share the result


def engine_for(backend, devs):
    from .devices import world
    if backend.platform == "cuda" and len(devs) > 1:
        raise NotImplementedError(f"pmap over {len(devs)} GPUs is not supported by gpuxla yet (it needs an "
                                  "executable and an NCCL communicator per device); pmap over one GPU works")
    if world.engine is not None:
        return world.engine.with_backend(backend)
    return HostEngine(backend)
