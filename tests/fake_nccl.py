"""A NumPy stand-in for CuPy's NCCL bindings (`cupy.cuda.nccl`) over tests/fake_cupy.py's GPUs:
a world of ranks in one process, so CI runs gpuxla's NCCL engine (gpuxla/parallel/nccl.py) on
fake GPUs.

    with fake_nccl.installed(4) as backend:     # 4 fake GPUs, cupy.cuda.nccl is this module
        jax.pmap(f, axis_name="i")(x)

What it keeps from NCCL, because that is what the engine has to get right:
  * communicators: `NcclCommunicator.initAll(devices)` for one process; `get_unique_id()` and
    `NcclCommunicator(n, uid, rank)` per rank, made on the current device. In one thread, the
    ranks of a world of several must be made inside groupStart/groupEnd (NCCL would wait in the
    first for the others: here that is an error, never a hang); a rank made twice, two ranks on
    one GPU, a rank out of range are NcclErrors.
  * collectives: allReduce, allGather, reduceScatter, broadcast, send/recv on raw device pointers
    (`a.data.ptr`) with NCCL's datatype and op codes. Every pointer must lie in a live fake array
    on the communicator's GPU, with room for `count` elements. In one thread they must be grouped
    when the world has several ranks; groupEnd matches the k-th call of each rank of a world
    (same collective, count, datatype, op -- else an NcclError, as NCCL's argument checks or a
    hang would be) and runs them. Reductions go in rank order; bfloat16 is reduced in float32 and
    rounded once per step, as NCCL does.
  * `calls` logs (collective, world size, datatype, count) per executed call.
"""
import contextlib
import ctypes
import itertools
import sys

import numpy as np

import fake_cupy as fc

NCCL_INT8 = NCCL_CHAR = 0
NCCL_UINT8 = 1
NCCL_INT32 = NCCL_INT = 2
NCCL_UINT32 = 3
NCCL_INT64 = 4
NCCL_UINT64 = 5
NCCL_FLOAT16 = NCCL_HALF = 6
NCCL_FLOAT32 = NCCL_FLOAT = 7
NCCL_FLOAT64 = NCCL_DOUBLE = 8
NCCL_BFLOAT16 = 9
NCCL_SUM, NCCL_PROD, NCCL_MAX, NCCL_MIN, NCCL_AVG = range(5)
available = True


def _bf16():
    from gpuxla.compiler.cexpr import BF16
    return BF16


_DTYPES = {0: np.int8, 1: np.uint8, 2: np.int32, 3: np.uint32, 4: np.int64, 5: np.uint64, 6: np.float16,
           7: np.float32, 8: np.float64, 9: None}
_REDUCE = {NCCL_SUM: np.add, NCCL_PROD: np.multiply, NCCL_MAX: np.maximum, NCCL_MIN: np.minimum, NCCL_AVG: np.add}
calls = []


class NcclError(RuntimeError):
    # ncclResult_t (NCCL >= 2): the codes CuPy's ERROR2 names
    NAMES = {2: "NCCL_ERROR_SYSTEM_ERROR", 3: "NCCL_ERROR_INTERNAL_ERROR", 4: "NCCL_ERROR_INVALID_ARGUMENT",
             5: "NCCL_ERROR_INVALID_USAGE"}

    def __init__(self, status, msg):
        self.status = status
        super().__init__(f"{self.NAMES[status]}: {msg}")


def get_version():
    return 22703


def get_build_version():
    return 22703


_ids = itertools.count(1)


def get_unique_id():
    n = next(_ids)
    return tuple(((n >> (8 * i)) & 0xFF) - 128 if i < 8 else 0 for i in range(128))


class _World:
    def __init__(self, size):
        self.size, self.ranks = size, {}


_worlds = {}            # unique id -> _World
_group = {"depth": 0, "ops": [], "inits": []}


def groupStart():
    _group["depth"] += 1


def groupEnd():
    if _group["depth"] == 0:
        raise NcclError(5, "groupEnd without groupStart")
    _group["depth"] -= 1
    if _group["depth"]:
        return
    inits, ops = _group["inits"], _group["ops"]
    _group.update(inits=[], ops=[])
    for w in {id(w): w for w in inits}.values():
        _complete(w)
    _run(ops)


def _complete(world):
    if len(world.ranks) != world.size:
        missing = sorted(set(range(world.size)) - set(world.ranks))
        raise NcclError(4, f"ranks {missing} of a world of {world.size} never joined: in one process NCCL would "
                        "wait for them forever")


class NcclCommunicator:
    def __init__(self, ndev, commId, rank):
        if not isinstance(commId, tuple) or len(commId) != 128:
            raise TypeError("commId must be the 128-byte tuple of get_unique_id()")
        if not 0 <= rank < ndev:
            raise NcclError(4, f"rank {rank} is not in [0, {ndev})")
        w = _worlds.setdefault(commId, _World(ndev))
        if w.size != ndev:
            raise NcclError(5, f"ncclCommInitRank: nranks {ndev} differs from {w.size} of the other ranks")
        if rank in w.ranks:
            raise NcclError(5, f"rank {rank} joined twice")
        self.device = fc._gpus["current"]
        if any(c.device == self.device for c in w.ranks.values()):
            raise NcclError(5, f"Duplicate GPU detected: rank {rank} and another rank both on device {self.device}")
        self.world, self.rank = w, rank
        w.ranks[rank] = self
        if _group["depth"]:
            _group["inits"].append(w)
        elif ndev > 1 and len(w.ranks) < ndev:
            _complete(w)

    @staticmethod
    def initAll(devices):
        devs = list(range(devices)) if isinstance(devices, int) else list(devices)
        uid = get_unique_id()
        comms = []
        groupStart()
        try:
            for d in devs:
                with fc.Device(d):
                    comms.append(NcclCommunicator(len(devs), uid, len(comms)))
        finally:
            groupEnd()
        return comms

    def size(self):
        return self.world.size

    def rank_id(self):
        return self.rank

    def device_id(self):
        return self.device

    def destroy(self):
        pass

    # --- collectives: queued, run at groupEnd (or at once in a world of one) ---
    def _post(self, kind, **kw):
        if not isinstance(kw["datatype"], int) or kw["datatype"] not in _DTYPES:
            raise NcclError(4, f"{kind}: invalid datatype {kw['datatype']!r}")
        if "op" in kw and kw["op"] not in _REDUCE:
            raise NcclError(4, f"{kind}: invalid reduction operation {kw['op']!r}")
        _group["ops"].append((self, kind, kw))
        if not _group["depth"]:
            if self.world.size > 1:
                _group["ops"].clear()
                raise NcclError(5, f"{kind} outside groupStart/groupEnd on a world of {self.world.size} ranks in "
                                "one thread: NCCL would wait in it for the other ranks forever")
            ops = _group["ops"][:]
            _group["ops"].clear()
            _run(ops)

    def allReduce(self, sendbuf, recvbuf, count, datatype, op, stream):
        self._post("allReduce", send=sendbuf, recv=recvbuf, count=count, datatype=datatype, op=op, stream=stream)

    def allGather(self, sendbuf, recvbuf, count, datatype, stream):
        self._post("allGather", send=sendbuf, recv=recvbuf, count=count, datatype=datatype, stream=stream)

    def reduceScatter(self, sendbuf, recvbuf, recvcount, datatype, op, stream):
        self._post("reduceScatter", send=sendbuf, recv=recvbuf, count=recvcount, datatype=datatype, op=op,
                   stream=stream)

    def broadcast(self, sendbuf, recvbuf, count, datatype, root, stream):
        self._post("broadcast", send=sendbuf, recv=recvbuf, count=count, datatype=datatype, root=root, stream=stream)

    def send(self, sendbuf, count, datatype, peer, stream):
        self._post("send", send=sendbuf, count=count, datatype=datatype, peer=peer, stream=stream)

    def recv(self, recvbuf, count, datatype, peer, stream):
        self._post("recv", recv=recvbuf, count=count, datatype=datatype, peer=peer, stream=stream)


def _dtype(code):
    return np.dtype(_bf16()) if code == NCCL_BFLOAT16 else np.dtype(_DTYPES[code])


def _memory(comm, ptr, count, dtype, what):
    """The NumPy view of `count` elements at device pointer `ptr`, which must lie in a live fake
    array on the communicator's GPU."""
    nbytes = count * dtype.itemsize
    for x in list(fc._live.values()):
        start = x._a.__array_interface__["data"][0]
        if start <= ptr and ptr + nbytes <= start + x._a.nbytes:
            if x._dev != comm.device:
                raise NcclError(4, f"{what}: the buffer is on device {x._dev}, rank {comm.rank}'s communicator "
                                f"on device {comm.device}")
            raw = (ctypes.c_char * nbytes).from_address(ptr)
            return np.frombuffer(raw, dtype=dtype, count=count)
    raise NcclError(4, f"{what}: {nbytes} bytes at {ptr:#x} are not inside one device allocation (rank "
                    f"{comm.rank}, device {comm.device})")


def _reduce(code, parts, dtype, n):
    bf16 = dtype == _bf16()
    acc = parts[0].astype(np.float32) if bf16 else parts[0].copy()
    for p in parts[1:]:
        acc = _REDUCE[code](acc, p.astype(np.float32) if bf16 else p)
        if bf16:
            acc = acc.astype(dtype).astype(np.float32)
    if code == NCCL_AVG:
        acc = acc / n if dtype.kind == "f" or bf16 else acc // n
    return acc.astype(dtype)


def _run(ops):
    """Match the k-th call of every rank of each world, then run them."""
    by_world = {}
    for comm, kind, kw in ops:
        by_world.setdefault(id(comm.world), (comm.world, {}))[1].setdefault(comm.rank, []).append((comm, kind, kw))
    for world, per_rank in by_world.values():
        p2p = [(c, k, kw) for r in per_rank.values() for c, k, kw in r if k in ("send", "recv")]
        coll = {r: [(c, k, kw) for c, k, kw in v if k not in ("send", "recv")] for r, v in per_rank.items()}
        _point_to_point(world, p2p)
        lengths = {r: len(v) for r, v in coll.items() if v}
        if not lengths:
            continue
        if set(coll) != set(range(world.size)) or len(set(lengths.values())) != 1:
            raise NcclError(4, f"collective calls per rank {lengths} in a world of {world.size}: in one process NCCL "
                            "would wait for the missing ones forever")
        for k in range(next(iter(lengths.values()))):
            calls_k = [coll[r][k] for r in range(world.size)]
            _collective(world, calls_k)


def _collective(world, group):
    n = world.size
    _, kind, kw = group[0]
    for comm, k2, kw2 in group[1:]:
        diff = [a for a in ("count", "datatype", "op", "root") if kw.get(a) != kw2.get(a)]
        if k2 != kind or diff:
            raise NcclError(4, f"rank 0 called {kind}{kw.get('count')} but rank {comm.rank} called {k2} with a "
                            f"different {diff or 'collective'}")
    dt, count = _dtype(kw["datatype"]), kw["count"]
    sends = {"allGather": count, "reduceScatter": count * n}.get(kind, count)
    recvs = {"allGather": count * n}.get(kind, count)
    ins = [_memory(c, a["send"], sends, dt, f"{kind} sendbuff").copy() for c, _, a in group]   # (in place is allowed)
    outs = [_memory(c, a["recv"], recvs, dt, f"{kind} recvbuff") for c, _, a in group]
    calls.append((kind, n, int(kw["datatype"]), int(count)))
    if kind == "allReduce":
        r = _reduce(kw["op"], ins, dt, n)
        for o in outs:
            o[...] = r
    elif kind == "allGather":
        for o in outs:
            o[...] = np.concatenate(ins)
    elif kind == "reduceScatter":
        for q, o in enumerate(outs):
            o[...] = _reduce(kw["op"], [x[q * count:(q + 1) * count] for x in ins], dt, n)
    elif kind == "broadcast":
        for o in outs:
            o[...] = ins[kw["root"]]


def _point_to_point(world, ops):
    sends = {}
    for comm, kind, kw in ops:
        if kind == "send":
            sends.setdefault((comm.rank, kw["peer"]), []).append((comm, kw))
    for comm, kind, kw in ops:
        if kind != "recv":
            continue
        queue = sends.get((kw["peer"], comm.rank))
        if not queue:
            raise NcclError(4, f"rank {comm.rank} receives from {kw['peer']}, which sends nothing in this group")
        src, skw = queue.pop(0)
        if (skw["count"], skw["datatype"]) != (kw["count"], kw["datatype"]):
            raise NcclError(4, f"send {src.rank}->{comm.rank} of {skw['count']} elements, recv of {kw['count']}")
        dt = _dtype(kw["datatype"])
        _memory(comm, kw["recv"], kw["count"], dt, "recv")[...] = _memory(src, skw["send"], skw["count"], dt, "send")
        calls.append(("send/recv", world.size, int(kw["datatype"]), int(kw["count"])))
    left = [k for k, v in sends.items() if v]
    if left:
        raise NcclError(4, f"sends {left} have no matching recv in this group")


@contextlib.contextmanager
def installed(gpus=4, nvrtc=False, **kw):
    """fake_cupy.installed with `gpus` fake GPUs and this module as `cupy.cuda.nccl` (no NVRTC by
    default: the kernels run on cuda-interpret, and test_gpu.py checks that NVRTC compiles them)."""
    from gpuxla.parallel.nccl import NcclEngine
    fc.cuda.nccl = sys.modules[__name__]
    saved = dict(NcclEngine._local)
    NcclEngine._local.clear()
    try:
        with fc.installed(gpus=gpus, nvrtc=nvrtc, **kw) as backend:
            yield backend
    finally:
        del fc.cuda.nccl
        NcclEngine._local.clear()
        NcclEngine._local.update(saved)
        _worlds.clear()
        _group.update(depth=0, ops=[], inits=[])
        calls.clear()
