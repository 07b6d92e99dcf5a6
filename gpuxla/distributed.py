"""Several processes, one job: `gpuxla.distributed.initialize` as JAX's.

    srun -n 4 python train.py                 # SLURM: each process calls initialize()
    mpiexec -n 2 python train.py              # Open MPI or MPICH: the same
    python train.py --coord host:1234 ...     # by hand: initialize("host:1234", 2, 0) / (..., 2, 1)

Finding the job. Arguments not given come from the launcher's variables, as JAX's cluster
detection reads them (`detect`): SLURM (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID; the coordinator
is the first node of SLURM_STEP_NODELIST, on a port derived from SLURM_JOB_ID), Open MPI
(OMPI_COMM_WORLD_RANK / _SIZE / _LOCAL_RANK; the coordinator from OMPI_MCA_orte_hnp_uri when the
launcher sets it) and MPICH's PMI (PMI_RANK, PMI_SIZE, MPI_LOCALRANKID; no coordinator).

Joining. With a coordinator address, the processes meet there (`rendezvous`): process 0 listens,
the others connect and say who they are; process 0 checks that they agree (num_processes, one
process per index, the same device count) and answers each with the job's layout and, on GPUs,
the NCCL unique id. A process that never arrives is a TimeoutError in every process that did,
naming it, after `initialization_timeout` seconds -- never a hang. Without a coordinator, the
processes must be started by an MPI launcher, and MPI (mpi4py, the `distributed` extra) carries
the same: a barrier, then the unique id.

The transport of pmap's collectives is never one of our own. On GPUs it is NCCL: each local GPU
joins the job's NCCL world as rank `process_index * local_device_count + i` (parallel/nccl.py).
On CPU processes it is MPI (parallel/engine.py's MpiEngine), so CPU processes need an MPI
launcher; the coordinator only introduces the processes.

After initialize, `jax.devices()` lists every process's devices, `jax.local_devices()` this
process's, `process_index()` / `process_count()` say where this one is, and a pmap over the local
devices has a global axis: its collectives and `axis_index` span the processes.
"""
import json
import re
import socket
import time

from . import config
from .parallel import devices as _devices
from .parallel.engine import MpiEngine, wait

__all__ = ["initialize", "shutdown", "is_initialized", "detect"]

_pending = None        # the startup barrier of an MPI initialize that timed out: a retry waits on it


def _env(name):
    return config.CLUSTER_ENV[name].get()


# --- finding the job ----------------------------------------------------------------------------
class Cluster:
    """What a launcher says: its name, the coordinator (or None), the process count and index,
    and the index of this process on its node (or None)."""

    def __init__(self, name, coordinator, num_processes, process_id, local_process_id):
        self.name, self.coordinator = name, coordinator
        self.num_processes, self.process_id, self.local_process_id = num_processes, process_id, local_process_id

    def __repr__(self):
        return (f"Cluster({self.name!r}, coordinator={self.coordinator!r}, num_processes={self.num_processes}, "
                f"process_id={self.process_id}, local_process_id={self.local_process_id})")


def _port(job_id):
    # (the top 4096 ports of the ephemeral range, chosen by the job so that jobs sharing a node
    # rarely collide: JAX's rule, so both find the same coordinator)
    return job_id % 4096 + 65536 - 4096


def _first_node(nodelist):
    """The first host of a SLURM node list: 'node[001-004,9],gpu7' -> 'node001'."""
    head = re.match(r"[^,\[]*(\[[^\]]*\])?", nodelist).group(0)
    if "[" not in head:
        return head
    prefix, ranges = head[:-1].split("[")
    return prefix + re.split("[,-]", ranges)[0]


def _slurm():
    names = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")
    if not all(_env(n) for n in names):
        return None
    coord = f"{_first_node(_env('SLURM_STEP_NODELIST'))}:{_port(int(_env('SLURM_JOB_ID')))}"
    return Cluster("slurm", coord, int(_env("SLURM_NTASKS")), int(_env("SLURM_PROCID")), int(_env("SLURM_LOCALID")))


def _ompi():
    if not (_env("OMPI_COMM_WORLD_SIZE") and _env("OMPI_COMM_WORLD_RANK")):
        return None
    coord = None
    uri = _env("OMPI_MCA_orte_hnp_uri")        # '1531576320.0;tcp://10.96.0.1,10.148.0.1:34911'
    if uri and "tcp://" in uri:
        host = uri.split("tcp://", 1)[1].split(",", 1)[0].split(":", 1)[0]
        coord = f"{host}:{_port(int(uri.split('.', 1)[0]) // 4096)}"
    local = _env("OMPI_COMM_WORLD_LOCAL_RANK")
    return Cluster("ompi", coord, int(_env("OMPI_COMM_WORLD_SIZE")), int(_env("OMPI_COMM_WORLD_RANK")),
                   int(local) if local else None)


def _pmi():
    if not (_env("PMI_SIZE") and _env("PMI_RANK")):
        return None
    local = _env("MPI_LOCALRANKID")
    return Cluster("mpich", None, int(_env("PMI_SIZE")), int(_env("PMI_RANK")), int(local) if local else None)


_DETECTORS = {"slurm": _slurm, "ompi": _ompi, "mpich": _pmi}


def detect(method=None):
    """The launcher's view of this process (a `Cluster`), or None outside a known launcher.
    `method`: one of 'slurm', 'ompi', 'mpich' to look only there, 'deactivate' to look nowhere."""
    if method == "deactivate":
        return None
    if method is not None and method not in _DETECTORS:
        raise ValueError(f"cluster_detection_method={method!r}: gpuxla knows {sorted(_DETECTORS)} and 'deactivate'")
    for name, find in _DETECTORS.items():
        if method in (None, name):
            c = find()
            if c is not None:
                return c
    return None


# --- the coordinator's rendezvous ---------------------------------------------------------------
def _split(address):
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"coordinator_address={address!r}: expected 'host:port'")
    return host.strip("[]"), int(port)


def _send(sock, msg):
    sock.sendall(json.dumps(msg).encode() + b"\n")


def _recv(sock, deadline, what):
    buf = b""
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(what)
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"{what}: the connection closed")
        buf += chunk
    return json.loads(buf)


def rendezvous(coordinator_address, num_processes, process_id, hello, timeout, bind_address=None, make_uid=None):
    """Meet the other processes at the coordinator. Every process sends `hello` (a JSON-able dict);
    process 0 gathers them all and answers every process with {"hellos": [one per process],
    "uid": make_uid() or None}, which this returns. Disagreements are ValueErrors and a process
    that never arrives a TimeoutError, raised in every process that did."""
    host, port = _split(coordinator_address)
    deadline = time.monotonic() + timeout
    me = dict(hello, process_id=process_id, num_processes=num_processes)
    where = f"gpuxla.distributed.initialize (process {process_id} of {num_processes})"
    if process_id == 0:
        return _coordinate(bind_address or f"0.0.0.0:{port}", me, deadline, timeout, where, make_uid)
    delay = 0.01
    while True:         # the coordinator may start after us: retry until the deadline
        try:
            sock = socket.create_connection((host, port), timeout=max(0.01, min(1.0, deadline - time.monotonic())))
            break
        except OSError:
            if time.monotonic() + delay > deadline:
                raise TimeoutError(f"{where}: the coordinator at {coordinator_address} (process 0) could not be "
                                   f"reached within {timeout:g} s") from None
            time.sleep(delay)
            delay = min(delay * 2, 0.25)
    with sock:
        _send(sock, me)
        try:
            # (a little past our deadline: the coordinator's, which started no later, says who is missing)
            reply = _recv(sock, deadline + 2.0, where)
        except socket.timeout:
            raise TimeoutError(f"{where}: the coordinator at {coordinator_address} did not answer within "
                               f"{timeout:g} s (waiting for the other processes)") from None
    if "error" in reply:
        raise {"timeout": TimeoutError}.get(reply.get("kind"), ValueError)(f"{where}: {reply['error']}")
    return reply


def _coordinate(bind_address, me, deadline, timeout, where, make_uid):
    host, port = _split(bind_address)
    n = me["num_processes"]
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    peers = {}          # process id -> (socket, hello)
    try:
        server.bind((host, port))
        server.listen(max(n, 1))

        def fail(kind, msg):
            for sock, _ in peers.values():
                try:
                    _send(sock, {"error": msg, "kind": kind})
                except OSError:
                    pass
            raise (TimeoutError if kind == "timeout" else ValueError)(f"{where}: {msg}")

        while len(peers) < n - 1:
            left = deadline - time.monotonic()
            if left <= 0:
                missing = sorted(set(range(1, n)) - set(peers))
                fail("timeout", f"process{'es' if len(missing) > 1 else ''} {missing} never arrived at the "
                     f"coordinator within {timeout:g} s")
            server.settimeout(left)
            try:
                sock, _ = server.accept()
            except socket.timeout:
                continue
            try:
                hello = _recv(sock, deadline, where)
            except (socket.timeout, ConnectionError, ValueError):
                sock.close()
                continue
            pid = hello.get("process_id")
            peers_n = hello.get("num_processes")
            if peers_n != n:
                peers[-1 - len(peers)] = (sock, hello)
                fail("mismatch", f"num_processes disagree: process {pid} says {peers_n}, the coordinator (process 0) "
                     f"says {n}")
            if not isinstance(pid, int) or not 0 < pid < n or pid in peers:
                peers[-1 - len(peers)] = (sock, hello)
                fail("mismatch", f"process_id {pid} is {'taken twice' if pid in peers else 'out of range'} "
                     f"(num_processes={n}, 0 is the coordinator)")
            peers[pid] = (sock, hello)
        hellos = [me] + [peers[p][1] for p in range(1, n)]
        counts = {h.get("local_devices") for h in hellos}
        if len(counts) > 1:
            fail("mismatch", "processes have different numbers of local devices: "
                 f"{[h.get('local_devices') for h in hellos]} (gpuxla needs the same number in each)")
        reply = {"hellos": hellos, "uid": make_uid() if make_uid else None}
        for sock, _ in peers.values():
            _send(sock, reply)
        return reply
    finally:
        for sock, _ in peers.values():
            sock.close()
        server.close()


# --- initialize -----------------------------------------------------------------------------------
def initialize(coordinator_address=None, num_processes=None, process_id=None, local_device_ids=None,
               cluster_detection_method=None, initialization_timeout=300, coordinator_bind_address=None):
    """Join this process to the job; waits at most `initialization_timeout` seconds for every
    process to arrive (TimeoutError). Arguments not given come from the launcher (`detect`)."""
    from .backends import get_backend
    if _devices.world.engine is not None:
        raise RuntimeError("gpuxla.distributed.initialize should only be called once.")
    cluster = None
    if coordinator_address is None or num_processes is None or process_id is None:
        cluster = detect(cluster_detection_method)
    if cluster is not None:
        coordinator_address = coordinator_address or cluster.coordinator
        num_processes = cluster.num_processes if num_processes is None else num_processes
        process_id = cluster.process_id if process_id is None else process_id
    backend = get_backend()
    if local_device_ids is not None:
        _use_gpus(backend, local_device_ids)
    if coordinator_address is None:
        return _initialize_mpi(backend, num_processes, process_id, initialization_timeout)
    if num_processes is None or process_id is None:
        raise ValueError("gpuxla.distributed.initialize: with a coordinator_address, num_processes and process_id "
                         "must be given (or come from a SLURM / Open MPI / MPICH launcher)")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"gpuxla.distributed.initialize: process_id={process_id} is not in [0, {num_processes})")
    n_local = _devices.local_device_count()
    make_uid = None
    if backend.platform == "cuda" and num_processes * n_local > 1:
        from .parallel import nccl
        make_uid = lambda: list(nccl.need().get_unique_id())      # noqa: E731
    reply = rendezvous(coordinator_address, num_processes, process_id, {"local_devices": n_local},
                       initialization_timeout, coordinator_bind_address, make_uid)
    w = _devices.world
    w.process_index, w.process_count = process_id, num_processes
    if reply["uid"] is not None:
        from .parallel.nccl import NcclEngine
        w.engine = NcclEngine.join(backend, reply["uid"], num_processes * n_local, process_id * n_local,
                                   _devices.gpu_ordinals())
    else:
        w.engine = _mpi_engine_or_refusal(cluster, num_processes, initialization_timeout)


def _use_gpus(backend, ids):
    ids = [int(i) for i in ids]
    if backend.platform != "cuda":
        raise NotImplementedError("gpuxla.distributed.initialize: local_device_ids selects GPUs; on the host "
                                  "platforms set jax_num_cpu_devices instead")
    _devices.world.gpu_ids = ids
    from .backends.cuda.runtime import cupy
    cupy().cuda.Device(ids[0]).use()        # this process computes on its first GPU


def _mpi_engine_or_refusal(cluster, num_processes, timeout):
    """MPI for CPU processes an MPI launcher started (never imported otherwise: MPI_Init would
    make a singleton job of this process)."""
    MPI = None
    if cluster is not None and cluster.name in ("ompi", "mpich"):
        try:
            from mpi4py import MPI
        except ImportError:
            pass
    if MPI is not None and MPI.COMM_WORLD.Get_size() == num_processes:
        return MpiEngine(MPI.COMM_WORLD, timeout)
    return _NoTransport()


class _NoTransport:
    """CPU processes introduced by a coordinator but not started by MPI: devices are listed, and
    a pmap across them is refused, naming what it needs."""

    def with_backend(self, backend, devs):
        raise NotImplementedError("pmap across CPU processes needs MPI to carry its collectives: start the "
                                  "processes with mpiexec (pip install 'gpuxla[distributed]'); on GPUs NCCL does")


def _initialize_mpi(backend, num_processes, process_id, timeout):
    global _pending
    try:
        from mpi4py import MPI
    except ImportError:
        raise RuntimeError("gpuxla.distributed.initialize: without a coordinator_address the processes must be started "
                           "by an MPI launcher, with mpi4py installed (pip install 'gpuxla[distributed]'; mpiexec -n N "
                           "python script.py)") from None
    comm = MPI.COMM_WORLD
    size, rank = comm.Get_size(), comm.Get_rank()
    if num_processes is not None and num_processes != size:
        raise ValueError(f"gpuxla.distributed.initialize: num_processes={num_processes}, but the MPI launcher "
                         f"started {size} process{'es' if size != 1 else ''}")
    if process_id is not None and process_id != rank:
        raise ValueError(f"gpuxla.distributed.initialize: process_id={process_id}, but this is MPI rank {rank}")
    if _pending is None:
        _pending = comm.Ibarrier()
    wait(_pending, timeout, f"gpuxla.distributed.initialize (process {rank} of {size})")
    _pending = None
    w = _devices.world
    if backend.platform == "cuda":
        from .parallel import nccl
        n_local = _devices.local_device_count()
        uid = nccl.need().get_unique_id() if rank == 0 else None
        uid = comm.bcast(uid, root=0)
        w.process_index, w.process_count = rank, size
        w.engine = nccl.NcclEngine.join(backend, uid, size * n_local, rank * n_local, _devices.gpu_ordinals())
        return
    w.process_index, w.process_count = rank, size
    w.engine = MpiEngine(comm, timeout)


def is_initialized():
    return _devices.world.engine is not None


def shutdown():
    """Leave the job: this process is alone again (MPI itself finalizes at exit)."""
    w = _devices.world
    w.process_index, w.process_count, w.engine, w.gpu_ids = 0, 1, None, None
