"""pmap's collectives on GPUs: NCCL through CuPy's bindings (`cupy.cuda.nccl`), one communicator
per device; NCCL moves the data, gpuxla only issues the calls.

  * One process, several GPUs: `NcclCommunicator.initAll(gpu ids)`, made once per device group.
  * Several processes (gpuxla.distributed.initialize on the cuda platform): process 0 makes the
    unique id (`get_unique_id`), the others receive it through the coordinator or MPI
    (distributed.py), and each local device joins as rank `process_index * n_local + i` with
    `NcclCommunicator(world size, uid, rank)`, a process's devices inside one group.

psum_scatter is NCCL's reduceScatter (the scatter axis moved first, so that each rank's block is
contiguous); ppermute is one send/recv pair per edge of the permutation and all_to_all one per
pair of ranks, each set in one group, moving bytes: every operand crosses once.

Each collective is one NCCL group: for each device, under that device, the call on its current
stream -- where its stage's kernels were launched, so NCCL's kernels follow them without a host
wait -- and groupEnd launches them together. One thread driving several GPUs must group the calls:
NCCL would otherwise wait inside the first for ranks that the thread has not reached.

Types. The reductions run on NCCL's own types (ncclDataType_t: int8, uint8, int32, uint32,
int64, uint64, float16, float32, float64, and bfloat16 where CuPy exposes it). Others travel in a
type NCCL has, chosen so that the result is the one NumPy gives (`_WIRE`): bool as uint8 (psum of
booleans is NumPy's logical or, NCCL's max), int16/uint16 widened to 32 bits and cast back (a sum
wraps the same either way), a complex sum as the sum of its float pairs. all_gather moves bytes
(uint8), so every dtype gathers as it is.
"""
import numpy as np

from ..backends.cuda.runtime import Bf16Array, cupy
from ..compiler.cexpr import BF16

_OPS = {"psum": "NCCL_SUM", "pmax": "NCCL_MAX", "pmin": "NCCL_MIN"}
_TYPES = {np.dtype(t): n for t, n in ((np.int8, "NCCL_INT8"), (np.uint8, "NCCL_UINT8"), (np.int32, "NCCL_INT32"),
                                      (np.uint32, "NCCL_UINT32"), (np.int64, "NCCL_INT64"),
                                      (np.uint64, "NCCL_UINT64"), (np.float16, "NCCL_FLOAT16"),
                                      (np.float32, "NCCL_FLOAT32"), (np.float64, "NCCL_FLOAT64"))}
# dtype -> (the type on the wire, the NCCL op that gives NumPy's result for psum / pmax / pmin).
_WIRE = {np.dtype(np.bool_): (np.dtype(np.uint8), {"psum": "NCCL_MAX"}),
         np.dtype(np.int16): (np.dtype(np.int32), {}), np.dtype(np.uint16): (np.dtype(np.uint32), {}),
         np.dtype(np.complex64): (np.dtype(np.float32), {}), np.dtype(np.complex128): (np.dtype(np.float64), {})}


def module():
    """cupy.cuda.nccl, or None where CuPy was built without NCCL or its library is missing."""
    cp = cupy()
    mod = getattr(cp.cuda, "nccl", None)
    if mod is None:
        try:
            import importlib
            mod = importlib.import_module("cupy.cuda.nccl")
        except ImportError:
            return None
    return mod if getattr(mod, "available", False) else None


def available():
    try:
        return module() is not None
    except RuntimeError:        # no CuPy
        return False


def need():
    mod = module()
    if mod is None:
        raise RuntimeError("pmap over several GPUs needs NCCL through CuPy (cupy.cuda.nccl): pip install "
                           "'gpuxla[cuda]' (it brings the nvidia-nccl wheel)")
    return mod


class NcclEngine:
    """The devices `gpus` (CUDA ordinals, this process's) as ranks `first .. first + len(gpus) - 1`
    of one NCCL world of `world` ranks. The engine interface of engine.py."""

    _local = {}             # gpu ids -> communicators made by initAll: one set per device group

    def __init__(self, backend, gpus, comms):
        self.backend, self.gpus, self._comms = backend, list(gpus), comms

    @classmethod
    def local(cls, backend, devs):
        """One process's devices `devs` (its Device objects) as a world of their own; the
        communicators are made at the first collective (a pmap without any needs no NCCL)."""
        from . import devices as _devices
        local, ordinals = _devices.local_devices(), _devices.gpu_ordinals()
        return cls(backend, tuple(ordinals[local.index(d)] for d in devs), None)

    @property
    def comms(self):
        if self._comms is None:
            gpus = tuple(self.gpus)
            comms = self._local.get(gpus)
            if comms is None:
                comms = self._local[gpus] = need().NcclCommunicator.initAll(list(gpus))
            self._comms = comms
        return self._comms

    @classmethod
    def join(cls, backend, uid, world, first, gpus):
        """This process's devices `gpus` as ranks first.. of the world that `uid` names."""
        nccl, cp = need(), cupy()
        comms = []
        nccl.groupStart()
        try:
            for k, g in enumerate(gpus):
                with cp.cuda.Device(g):
                    comms.append(nccl.NcclCommunicator(world, tuple(uid), first + k))
        finally:
            nccl.groupEnd()
        return cls(backend, gpus, comms)

    def with_backend(self, backend, devs):
        """The job's engine for a pmap over `devs`: all of this process's devices (the NCCL world
        spans every device of every process)."""
        if backend.platform != "cuda":
            raise NotImplementedError(f"pmap on the {backend.platform} platform after initialize on GPUs")
        if len(devs) != len(self.gpus):
            raise NotImplementedError(f"pmap across processes maps over every local device ({len(self.gpus)} GPUs), "
                                      f"not {len(devs)}: gpuxla's NCCL world spans them all")
        return self

    # --- placement -------------------------------------------------------------------------------
    def on(self, i):
        return cupy().cuda.Device(self.gpus[i])

    def place(self, i, host):
        with self.on(i):
            return self.backend.from_numpy(host)

    def replicate(self, buf, n):
        return [self._to(buf, g) for g in self.gpus[:n]]

    def _to(self, buf, gpu):
        """`buf` on GPU `gpu`: itself when it is there, else a copy (CuPy copies to the current device)."""
        from ..backends.cuda.runtime import OnDevice
        if isinstance(buf, OnDevice):
            buf = buf.buf
        if isinstance(buf, np.ndarray):
            with cupy().cuda.Device(gpu):
                return self.backend.from_numpy(buf)
        bits = buf.bits if isinstance(buf, Bf16Array) else buf
        if bits.device.id == gpu:
            return buf
        with cupy().cuda.Device(gpu):
            bits = bits.copy()
        return Bf16Array(bits) if isinstance(buf, Bf16Array) else bits

    def split(self, buf, axis, n):
        """Slices cut on the GPU holding `buf` and copied GPU to GPU (no trip through the host)."""
        from ..backends.cuda.runtime import OnDevice
        if isinstance(buf, OnDevice):
            buf = buf.buf
        if isinstance(buf, np.ndarray):
            buf = self.backend.from_numpy(buf)
        cp, bf16 = cupy(), isinstance(buf, Bf16Array)
        bits = buf.bits if bf16 else buf
        with cp.cuda.Device(bits.device.id):
            moved = cp.moveaxis(bits, axis, 0)
        out = []
        for i in range(n):
            with self.on(i):
                piece = cp.ascontiguousarray(moved[i]) if bits.device.id == self.gpus[i] else moved[i].copy()
            out.append(Bf16Array(piece) if bf16 else piece)
        return out

    def stack(self, bufs, axis):
        """On the default GPU (the current one outside pmap's device scopes)."""
        from ..backends.cuda.runtime import here
        local = [here(b) for b in bufs]
        if axis is None:
            return local[0]
        if isinstance(local[0], Bf16Array):
            return Bf16Array(cupy().stack([b.bits for b in local], axis=axis))
        return cupy().stack(local, axis=axis)

    def executables(self, exe, n):
        """One executable per device: the plan and its CUBINs are shared; each loads its modules,
        uploads its constants and allocates its arenas on the device current at its first call."""
        return [exe] + [self.backend.replica(exe) for _ in range(n - 1)]

    # --- collectives -----------------------------------------------------------------------------
    def collective(self, name, bufs, params):
        cp, comms, nccl = cupy(), self.comms, need()
        world = comms[0].size()
        if len(bufs) != len(comms):
            raise ValueError(f"pmap: the collective '{name}' got {len(bufs)} buffers for {len(comms)} devices")
        dtype = np.dtype(bufs[0].dtype)
        if name in ("ppermute", "all_to_all"):
            return getattr(self, "_" + name)(cp, nccl, comms, bufs, dtype, params)
        gather, scatter = name == "all_gather", name == "psum_scatter"
        if not gather and name not in _OPS and not scatter:
            raise NotImplementedError(f"pmap: no NCCL rule for the collective '{name}'")
        if gather:
            wire, kind, op = np.dtype(np.uint8), "NCCL_UINT8", None
        else:
            wire, kind, op = _reduction_wire(nccl, name, dtype, "psum" if scatter else name)
        sends, recvs = [], []
        for i, b in enumerate(bufs):
            with self.on(i):
                if scatter:     # the scatter axis first: rank r's block is the r-th contiguous piece
                    b = _moved(cp, b, params["scatter_dimension"], 0)
                s = _to_wire(cp, b, dtype, wire, gather)
                n_recv = s.size * world if gather else s.size // world if scatter else s.size
                sends.append(s)
                recvs.append(cp.empty(n_recv, s.dtype))
        nccl.groupStart()
        try:
            for i, (s, r, comm) in enumerate(zip(sends, recvs, comms)):
                with self.on(i):
                    stream = cp.cuda.get_current_stream().ptr
                    if gather:
                        comm.allGather(s.data.ptr, r.data.ptr, s.size, getattr(nccl, kind), stream)
                    elif scatter:
                        comm.reduceScatter(s.data.ptr, r.data.ptr, r.size, getattr(nccl, kind), op, stream)
                    else:
                        comm.allReduce(s.data.ptr, r.data.ptr, s.size, getattr(nccl, kind), op, stream)
        finally:
            nccl.groupEnd()
        outs = []
        for i, r in enumerate(recvs):
            with self.on(i):
                if scatter:
                    dim, shape = params["scatter_dimension"], list(bufs[i].shape)
                    shape.insert(0, shape.pop(dim) // world)
                    out = _from_wire(cp, r, dtype, wire, tuple(shape), None, params)
                    outs.append(_moved(cp, out, 0, dim))
                else:
                    outs.append(_from_wire(cp, r, dtype, wire, tuple(bufs[i].shape), world if gather else None,
                                           params))
        return outs

    def _ppermute(self, cp, nccl, comms, bufs, dtype, params):
        """One send/recv pair per edge of the permutation between ranks (as bytes), all in one
        group; an edge from a device to itself is a copy, a device no edge reaches gets zeros."""
        rank_of = [c.rank_id() for c in comms]
        srcs, dsts = {s_: d for s_, d in params["perm"]}, {d: s_ for s_, d in params["perm"]}
        sends, outs, p2p = [], [], []
        for i, b in enumerate(bufs):
            r = rank_of[i]
            with self.on(i):
                s = _to_wire(cp, b, dtype, None, True)
                sends.append(s)
                if dsts.get(r) == r:
                    o = s
                else:
                    o = cp.zeros(s.size, np.uint8) if r not in dsts else cp.empty(s.size, np.uint8)
                    if r in dsts:
                        p2p.append((i, "recv", o, dsts[r]))
                if r in srcs and srcs[r] != r:
                    p2p.append((i, "send", s, srcs[r]))
                outs.append(o)
        if p2p and sends[0].size:
            nccl.groupStart()
            try:
                for i, kind, buf, peer in p2p:
                    with self.on(i):
                        stream = cp.cuda.get_current_stream().ptr
                        getattr(comms[i], kind)(buf.data.ptr, buf.size, nccl.NCCL_UINT8, peer, stream)
            finally:
                nccl.groupEnd()
        return [self._bytes_to(cp, o, dtype, tuple(b.shape), i) for i, (o, b) in enumerate(zip(outs, bufs))]

    def _all_to_all(self, cp, nccl, comms, bufs, dtype, params):
        """Device r sends block p of its split axis to rank p and receives rank p's block r, each
        pair one send/recv in one group (its own block a copy); the blocks received are then
        concatenated in rank order along the concat axis."""
        split, concat = params["split_axis"], params["concat_axis"]
        world = comms[0].size()
        sends, recvs, block = [], [], None
        for i, b in enumerate(bufs):
            r = comms[i].rank_id()
            with self.on(i):
                shape = list(b.shape)
                shape[split:split + 1] = [world, shape[split] // world]
                bits = b.bits if dtype == BF16 else b
                # blocks in rank order, each contiguous: (world, ...block...) as bytes
                blocks = cp.ascontiguousarray(cp.moveaxis(bits.reshape(shape), split, 0))
                block = blocks.shape[1:]
                s = blocks.reshape(-1).view(np.uint8).reshape(world, -1)
                got = cp.empty(s.shape, np.uint8)
                got[r] = s[r]
                sends.append(s)
                recvs.append(got)
        nbytes = sends[0].shape[1]
        if world > 1 and nbytes:
            nccl.groupStart()
            try:
                for i, (s, got) in enumerate(zip(sends, recvs)):
                    r = comms[i].rank_id()
                    with self.on(i):
                        stream = cp.cuda.get_current_stream().ptr
                        for p in range(world):
                            if p != r:
                                comms[i].send(s.data.ptr + p * nbytes, nbytes, nccl.NCCL_UINT8, p, stream)
                                comms[i].recv(got.data.ptr + p * nbytes, nbytes, nccl.NCCL_UINT8, p, stream)
            finally:
                nccl.groupEnd()
        outs = []
        for i, got in enumerate(recvs):
            with self.on(i):
                parts = got.reshape(-1).view(np.uint16 if dtype == BF16 else dtype).reshape((world,) + block)
                parts = cp.moveaxis(parts, 0, concat)
                shape = list(parts.shape)
                shape[concat:concat + 2] = [shape[concat] * shape[concat + 1]]
                bits = cp.ascontiguousarray(parts).reshape(shape)
                outs.append(Bf16Array(bits) if dtype == BF16 else bits)
        return outs

    def _bytes_to(self, cp, raw, dtype, shape, i):
        with self.on(i):
            bits = raw.view(np.uint16 if dtype == BF16 else dtype).reshape(shape)
            return Bf16Array(bits) if dtype == BF16 else bits


def _reduction_wire(nccl, name, dtype, reduction):
    """(the wire dtype, its NCCL type name, the NCCL op) for the collective `name` reducing with
    `reduction` (psum / pmax / pmin) on `dtype`."""
    if dtype == BF16:
        kind = "NCCL_BFLOAT16" if hasattr(nccl, "NCCL_BFLOAT16") else "NCCL_FLOAT32"
        wire = np.dtype(np.float32) if kind == "NCCL_FLOAT32" else dtype
        return wire, kind, getattr(nccl, _OPS[reduction])
    wire, ops = _WIRE.get(dtype, (dtype, {}))
    if wire not in _TYPES:
        raise TypeError(f"pmap: the collective '{name}' on {dtype} is not supported by NCCL")
    if dtype.kind == "c" and reduction != "psum":
        raise TypeError(f"pmap: the collective '{name}' on {dtype}: NCCL has no complex max/min")
    return wire, _TYPES[wire], getattr(nccl, ops.get(reduction) or _OPS[reduction])


def _moved(cp, b, src, dst):
    """`b` with axis src moved to dst, contiguous (bfloat16's bits moved)."""
    if src == dst:
        return b
    bits = b.bits if isinstance(b, Bf16Array) else b
    bits = cp.ascontiguousarray(cp.moveaxis(bits, src, dst))
    return Bf16Array(bits) if isinstance(b, Bf16Array) else bits


def _to_wire(cp, b, dtype, wire, gather):
    """A flat contiguous buffer of `b` in the wire type (bytes for a gather)."""
    bits = b.bits if isinstance(b, Bf16Array) else b
    flat = cp.ascontiguousarray(bits).reshape(-1)
    if gather:
        return flat.view(np.uint8)
    if dtype == BF16:
        if wire == BF16:
            return flat
        return (flat.astype(np.uint32) << 16).view(np.float32)      # bfloat16 is float32's top half
    if dtype.kind == "c":
        return flat.view(wire)
    return flat if wire == dtype else flat.astype(wire)


def _from_wire(cp, r, dtype, wire, shape, world, params):
    if world is not None:                       # all_gather: the devices' bytes, in rank order
        bits = r.view(np.uint16 if dtype == BF16 else dtype).reshape((world,) + shape)
        a = params["axis"]
        bits = cp.moveaxis(bits, 0, a)
        if params["tiled"]:
            bits = bits.reshape(shape[:a] + (world * shape[a],) + shape[a + 1:])
        bits = cp.ascontiguousarray(bits)
        return Bf16Array(bits) if dtype == BF16 else bits
    if dtype == BF16:
        if wire == BF16:
            return Bf16Array(r.reshape(shape))
        u = r.view(np.uint32)                   # float32 -> bfloat16, rounded to nearest even
        return Bf16Array(((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16).reshape(shape))
    if dtype.kind == "c":
        return r.view(dtype).reshape(shape)
    return (r if wire == dtype else r.astype(dtype)).reshape(shape)
