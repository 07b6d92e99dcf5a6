"""Several processes, one job: `gpuxla.distributed.initialize` as JAX's, over MPI.

    mpiexec -n 2 python train.py        # each process: gpuxla.distributed.initialize()

MPI (mpi4py, the `distributed` extra) is the transport: it starts the processes, tells each its
rank, and carries pmap's collectives between them (parallel/engine.py's MpiEngine). After
initialize, `jax.devices()` lists every process's devices, `jax.local_devices()` this process's,
and a pmap over the local devices has a global axis: its collectives and `axis_index` span the
processes (each process feeds and gets back its own devices' slices, as in JAX).

A coordinator address is accepted for compatibility but there is no coordinator service: the
processes must be started by an MPI launcher (mpiexec, mpirun, or srun with PMI). The job's size
and this process's rank come from MPI; `num_processes` and `process_id`, when given, must agree.
"""
from .parallel import devices as _devices
from .parallel.engine import MpiEngine, wait

__all__ = ["initialize", "shutdown", "is_initialized"]

_pending = None        # the startup barrier of a call that timed out: a retry waits on it


def initialize(coordinator_address=None, num_processes=None, process_id=None, local_device_ids=None,
               cluster_detection_method=None, initialization_timeout=300, coordinator_bind_address=None):
    """Join this process to the job (started by an MPI launcher); waits at most
    `initialization_timeout` seconds for every process to arrive (TimeoutError)."""
    global _pending
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("gpuxla.distributed.initialize needs mpi4py (pip install gpuxla[distributed]) and "
                           "processes started by an MPI launcher (mpiexec -n N python script.py)") from None
    if _devices.world.engine is not None:
        raise RuntimeError("gpuxla.distributed.initialize should only be called once.")
    comm = MPI.COMM_WORLD
    size, rank = comm.Get_size(), comm.Get_rank()
    if num_processes is not None and num_processes != size:
        raise ValueError(f"gpuxla.distributed.initialize: num_processes={num_processes}, but the MPI launcher "
                         f"started {size} process{'es' if size != 1 else ''}")
    if process_id is not None and process_id != rank:
        raise ValueError(f"gpuxla.distributed.initialize: process_id={process_id}, but this is MPI rank {rank}")
    if _pending is None:
        _pending = comm.Ibarrier()
    wait(_pending, initialization_timeout, f"gpuxla.distributed.initialize (process {rank} of {size})")
    _pending = None
    w = _devices.world
    w.process_index, w.process_count = rank, size
    w.engine = MpiEngine(comm, initialization_timeout)


def is_initialized():
    return _devices.world.engine is not None


def shutdown():
    """Leave the job: this process is alone again (MPI itself finalizes at exit)."""
    w = _devices.world
    w.process_index, w.process_count, w.engine = 0, 1, None
