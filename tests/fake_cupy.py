"""A NumPy-backed stand-in for the parts of CuPy that gpuxla's `cuda` platform uses.

It lets CI (no GPU) run the Python glue of gpuxla/backends/cuda/ -- CudaRuntime, CudaBackend,
Executable, the library calls -- and the CuPy rules of gpuxla/numpy/linalg.py and
gpuxla/lax/fft.py on the CPU:

    with fake_cupy.installed() as backend:      # gpuxla's current backend is now a CudaBackend
        y = jnp.tanh(jnp.asarray(x)) @ w        # runs through CudaRuntime on fake device arrays

What it keeps from CuPy, because that is what the glue has to get right:
  * `ndarray` is NOT a NumPy array. NumPy functions and ufuncs called on one run NumPy on the
    wrapped data and return fake arrays (`__array_function__` / `__array_ufunc__`, which is how
    `np.sum(cupy_array)` gives a CuPy array). `np.asarray(x)` raises TypeError like CuPy's
    `__array__`, so a silent device-to-host copy is an error; `.get()` is the explicit copy.
    Mixing a fake array with a NumPy array (not 0-d) in an operation raises TypeError, as CuPy
    does. There is no bfloat16, as in CuPy.
  * memory: every array that owns memory counts its bytes in the default pool while it is alive;
    `get_default_memory_pool().set_limit(size=n)` makes an allocation past n live bytes raise
    `cuda.memory.OutOfMemoryError` (CuPy's message).
  * kernels: `cuda.function.Module().load(cubin).get_function(name)` gives a kernel callable as
    `fn(grid, block, args, shared_mem=0)`. A CUBIN cannot run here, so the kernel's CUDA C runs on
    gpuxla's cuda-interpret platform instead (kernel objects are `register_kernels`-ed first),
    on the buffers of the fake arrays, in place. `fail_next_launch(exc)` makes the next launch
    raise (a driver error by default); `fail_next_sync(exc)` the next synchronize/`.get()`.
  * several GPUs: `installed(gpus=n)` (or fake_nccl.installed) gives n fake GPUs. `cuda.Device(i)`
    is a context making GPU i current; each array records the GPU current when it was made
    (`.device`), `copy()` makes it on the current one, and a kernel launched with another GPU's
    array raises CUDA_ERROR_ILLEGAL_ADDRESS (no peer access), so per-device placement is checked.
    tests/fake_nccl.py adds `cuda.nccl`.
  * cuBLAS compute types (`_core._routines_linalg`): `matmul` rounds float32 operands to TF32
    when that compute type is in effect, and logs `(dtype name, compute type)` per call in
    `matmul_log`.
  * cuSOLVER's cholesky does not raise on a matrix that is not positive definite; it returns
    garbage (NaN here).

Stream capture and CUDA graphs (`cuda.Stream(non_blocking=True)`, `begin_capture`/`end_capture`,
`cuda.graph.Graph.launch`): while the current stream captures, kernel launches, `matmul(out=)` and
`cuda.runtime.memcpyAsync` on it are recorded, with their arguments by value (the buffers, i.e. the
addresses), and replayed in order by each `Graph.launch` (one launch in `stats`; the nodes run on
the "device" and count as nothing on the host). What cannot be captured raises CUDA's
cudaErrorStreamCaptureUnsupported (a CUDARuntimeError) and invalidates the capture, whose
`end_capture` then raises cudaErrorStreamCaptureInvalidated: allocating device memory (CuPy would
take it from its pool, and the graph would keep memory the pool hands out again), copies to or
from the host, synchronizing, and the NumPy-protocol calls the fake cannot record. The legacy
stream (`Stream.null`, ptr 0) cannot capture, as in CUDA.

Events (`cuda.Event`, `cuda.get_elapsed_time`) run on a deterministic clock: each `record`
advances it by EVENT_TICK_MS, so two marks are their distance in records apart.

Where this differs from CuPy: every NumPy function "exists" (CuPy lacks some, and gpuxla then
computes on the host); launches are synchronous; the pool caches no freed blocks.

`installed(stub=True)` leaves the device work out: launches only count, `matmul` allocates its
result (or takes `out=`) without computing it. The values are garbage, but gpuxla's own host work
is all there, which is what `python -m bench --host-overhead` times on a machine without a GPU.
`stats` counts launches, matmuls, device allocations and copies either way.
"""
import contextlib
import ctypes
import functools
import math
import sys
import threading
import types
import weakref

import numpy as np
from numpy.lib.mixins import NDArrayOperatorsMixin

nan = np.nan
_SUPPORTED_KINDS = "?biufc"     # no bfloat16 (numpy kind 'V'), objects or strings on a GPU

# launches, cuBLAS matmuls, device allocations, host-to-device / device-to-host copies
# (a graph launch counts as one launch, and in graph_launches; copies: cuda.runtime.memcpyAsync calls)
stats = {"launches": 0, "matmuls": 0, "allocs": 0, "h2d": 0, "d2h": 0, "copies": 0, "graph_launches": 0}
_stub = {"on": False}                           # installed(stub=True): no device work
matmul_log = []                                 # (dtype name, compute type) of every matmul


# ---------------------------------------------------------------------------------------------
# Errors (cupy.cuda.memory / driver / runtime)
# ---------------------------------------------------------------------------------------------
class OutOfMemoryError(MemoryError):
    def __init__(self, size, total, limit=0):
        self.size, self.total, self.limit = size, total, limit
        extra = f", limit set to: {limit:,} bytes" if limit else ""
        super().__init__(f"Out of memory allocating {size:,} bytes (allocated so far: {total:,} bytes{extra}).")


class CUDADriverError(RuntimeError):
    pass


class CUDARuntimeError(RuntimeError):
    pass


# ---------------------------------------------------------------------------------------------
# Memory pool: the live bytes of arrays that own memory
# ---------------------------------------------------------------------------------------------
DEVICE_BYTES = 16 << 30


class MemoryPool:
    def __init__(self):
        self._used = 0
        self._limit = 0
        self.frees = 0      # free_all_blocks calls (gpuxla frees the pool's cache before a retry)

    def used_bytes(self):
        return self._used

    def total_bytes(self):
        return self._used   # no cached blocks: freed memory goes straight back

    def free_all_blocks(self, stream=None):
        self.frees += 1

    def set_limit(self, size=None, fraction=None):
        self._limit = int(size or 0)

    def get_limit(self):
        return self._limit

    def _check(self, nbytes):
        if self._limit and self._used + nbytes > self._limit:
            raise OutOfMemoryError(nbytes, self._used, self._limit)

    def _reserve(self, nbytes):
        self._check(nbytes)
        self._used += nbytes

    def _release(self, nbytes):
        self._used -= nbytes


_pool = MemoryPool()


def get_default_memory_pool():
    return _pool


# ---------------------------------------------------------------------------------------------
# ndarray
# ---------------------------------------------------------------------------------------------
_F32 = np.dtype(np.float32)


def _check_dtype(dtype):
    dtype = np.dtype(dtype)
    if dtype.kind not in _SUPPORTED_KINDS:
        raise TypeError(f"Unsupported type {dtype}")   # CuPy's words; bfloat16 lands here
    return dtype


_live = weakref.WeakValueDictionary()      # id -> array owning device memory


def _wrap(a, base=None):
    """A fake array around NumPy array `a`. With `base` (the fake array whose memory `a` views),
    nothing is allocated and the view keeps its base alive; else `a` is new device memory."""
    if a.dtype.kind not in _SUPPORTED_KINDS:
        _check_dtype(a.dtype)
    x = ndarray.__new__(ndarray)
    x._a, x._base, x._owned = a, base, 0
    x._dev = base._dev if base is not None else _gpus["current"]     # the fake GPU it lives on
    if base is None:
        if _captures and _capturing() is not None:
            _refuse_in_capture("allocating device memory")
        _live[id(x)] = x             # (fake_nccl finds the array behind a device pointer here)
        stats["allocs"] += 1
        _pool._reserve(a.nbytes)
        x._owned = a.nbytes          # given back by __del__
    return x


# Leaves of argument trees that are neither fake nor host arrays (the fast path of _unwrap).
_PLAIN = frozenset([int, float, bool, complex, str, type(None), np.dtype, type, slice])


def _unwrap(x, where="argument"):
    """The NumPy data behind fake arrays, in (nested) lists, tuples and dicts. Host arrays other
    than 0-d ones are refused: CuPy does not copy them to the device implicitly."""
    t = type(x)
    if t is ndarray:
        return x._a
    if t in _PLAIN:
        return x
    if isinstance(x, ndarray):
        return x._a
    if isinstance(x, np.ndarray) and x.ndim > 0:
        raise TypeError(f"Unsupported type {type(x)} ({where}: a host array mixed with device arrays)")
    if t is tuple or t is list:
        for v in x:
            if type(v) not in _PLAIN:
                return t([_unwrap(v, where) for v in x])
        return x
    if isinstance(x, (list, tuple)):
        return type(x)(_unwrap(v, where) for v in x)
    if isinstance(x, dict):
        return {k: _unwrap(v, where) for k, v in x.items()}
    return x


def _plain(items):
    for v in items:     # (this module's `all` is NumPy's, on fake arrays)
        if type(v) not in _PLAIN:
            return False
    return True


def _fakes(x, acc):
    t = type(x)
    if t is ndarray:
        acc.append(x)
    elif t in _PLAIN:
        pass
    elif (t is tuple or t is list) and _plain(x):
        pass
    elif isinstance(x, ndarray):
        acc.append(x)
    elif isinstance(x, (list, tuple)):
        for v in x:
            _fakes(v, acc)
    elif isinstance(x, dict):
        for v in x.values():
            _fakes(v, acc)
    return acc


def _address(a):
    """The address of `a`'s first element; through ctypes where NumPy exports a writable buffer (5x
    faster than __array_interface__, and an output's address is asked for on every graph replay)."""
    try:
        return _addressof(_c_char_at(a))
    except (TypeError, ValueError, BufferError):
        return a.__array_interface__["data"][0]


_addressof, _c_char_at = ctypes.addressof, ctypes.c_char.from_buffer


def _owner(a):
    """The NumPy array (or buffer) owning `a`'s memory: NumPy points every view at it."""
    return a if a.base is None else a.base


def _result(r, inputs=()):
    """Wrap NumPy results: arrays sharing memory with an input fake array are views of it;
    NumPy scalars become 0-d arrays (CuPy's reductions return 0-d arrays)."""
    if isinstance(r, tuple):        # includes the namedtuples of np.linalg
        return tuple(_result(v, inputs) for v in r)
    if isinstance(r, list):
        return [_result(v, inputs) for v in r]
    if isinstance(r, np.generic):
        return _wrap(np.asarray(r))
    if not isinstance(r, np.ndarray):
        return r
    if inputs:
        owner = _owner(r)
        for x in inputs:
            if r is x._a:
                return x
            if owner is _owner(x._a):
                return _wrap(r, base=x)
    return _wrap(r)


def _call(fn, args, kwargs):
    if _captures and _capturing() is not None:
        _refuse_in_capture(f"{getattr(fn, '__name__', fn)} (the fake cannot record it)")
    inputs = _fakes((args, kwargs), [])
    return _result(fn(*_unwrap(args), **_unwrap(kwargs)), inputs)


# ndarray methods forwarded to NumPy's (CuPy has all of them).
_METHODS = frozenset("""
    all any argmax argmin argsort astype clip conj conjugate copy cumprod cumsum diagonal dot fill
    flatten max mean min nonzero prod ravel repeat reshape round sort squeeze std sum swapaxes
    take trace transpose var view
""".split())


class ndarray(NDArrayOperatorsMixin):
    """A device array: NumPy data that NumPy may not convert implicitly. Made by the functions
    of this module, never directly."""

    def __init__(self, *args, **kwargs):
        raise TypeError("make fake arrays with asarray / empty / zeros")

    _owned = 0                           # bytes of device memory it owns (not a view)
    _dev = 0                             # the fake GPU holding it
    device = property(lambda self: Device(self._dev))

    def __del__(self):
        if self._owned:
            _pool._release(self._owned)

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    @property
    def data(self):         # a MemoryPointer: made once (asking NumPy for the address is slow)
        d = self.__dict__.get("_data")
        if d is None:
            d = self.__dict__["_data"] = types.SimpleNamespace(ptr=_address(self._a))
        return d
    T = property(lambda self: _result(self._a.T, [self]))
    base = property(lambda self: self._base)     # the array a view is of (None: owns its memory)
    real = property(lambda self: _result(self._a.real, [self]))
    imag = property(lambda self: _result(self._a.imag, [self]))

    def __getattr__(self, name):     # (the methods of _METHODS are set on the class below)
        raise AttributeError(f"'fake_cupy.ndarray' object has no attribute {name!r}")

    # --- explicit and implicit copies to the host ---
    def get(self, stream=None, order="C", out=None):
        if _captures and _capturing() is not None:
            _refuse_in_capture("a device-to-host copy")
        _maybe_fail_sync()
        stats["d2h"] += 1
        return np.array(self._a, order=order, copy=True)

    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. "
                        "Please use `.get()` to construct a NumPy array explicitly.")

    def item(self):
        return self.get().item()

    def __bool__(self):         # CuPy allows these for one element (they synchronize and copy)
        return bool(self.get())

    def __int__(self):
        return int(self.get())

    def __float__(self):
        return float(self.get())

    def __complex__(self):
        return complex(self.get())

    # --- NumPy protocols: compute with NumPy on the unwrapped data ---
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        out = kwargs.get("out")
        r = _call(getattr(ufunc, method), inputs, kwargs)
        if out is not None:     # written in place: hand back the fake arrays given as `out`
            return out[0] if len(out) == 1 else out
        return r

    def __array_function__(self, func, types_, args, kwargs):
        return _call(func, args, kwargs)

    # --- indexing, iteration ---
    def __getitem__(self, key):
        return _result(self._a[_unwrap_index(key)], [self])

    def __setitem__(self, key, value):
        if _captures and _capturing() is not None:
            _refuse_in_capture("writing into a device array (the fake cannot record it)")
        self._a[_unwrap_index(key)] = _unwrap(value)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self):
        return f"fake_cupy.{np.array_repr(self._a)}"


def _forward(name):
    def method(self, *args, **kwargs):   # a result sharing self's memory is a view of self
        if not args and not kwargs:
            return _result(getattr(self._a, name)(), [self])
        return _result(getattr(self._a, name)(*_unwrap(args), **_unwrap(kwargs)), [self] + _fakes((args, kwargs), []))
    method.__name__ = name
    return method


for _name in _METHODS:
    setattr(ndarray, _name, _forward(_name))


def _unwrap_index(key):
    # Index arrays may be fake or host arrays (CuPy copies host index arrays to the device).
    if isinstance(key, tuple):
        return tuple(_unwrap_index(k) for k in key)
    return key._a if isinstance(key, ndarray) else key


# ---------------------------------------------------------------------------------------------
# Module functions (only what gpuxla calls)
# ---------------------------------------------------------------------------------------------
def asarray(a, dtype=None, order=None, blocking=False):
    if isinstance(a, ndarray):
        r = a._a
        if dtype is not None and np.dtype(dtype) != r.dtype:
            r = r.astype(dtype, order=order or "K")
        if order in ("C", "c") and not r.flags.c_contiguous:
            r = np.ascontiguousarray(r)     # (keeps 0-d arrays 0-d: they are contiguous)
        return _result(r, [a])
    # A host-to-device copy (np.array keeps 0-d arrays 0-d).
    if _captures and _capturing() is not None:
        _refuse_in_capture("a host-to-device copy")
    h = np.array(a, dtype=dtype, order=order or "K", copy=True)
    stats["h2d"] += 1
    return _wrap(h)


def ascontiguousarray(a, dtype=None):
    return _call(np.ascontiguousarray, (a,), {"dtype": dtype})


def asnumpy(a, stream=None, order="C", out=None, blocking=True):
    return a.get(order=order) if isinstance(a, ndarray) else np.asarray(a, order=order)


def get_array_module(*args):
    return sys.modules[__name__] if any(isinstance(a, ndarray) for a in args) else np


def empty(shape, dtype=float, order="C"):
    if type(dtype) is not type(_F32) or dtype.kind not in _SUPPORTED_KINDS:
        dtype = _check_dtype(dtype)
    _pool._check(math.prod((shape,) if isinstance(shape, int) else shape) * dtype.itemsize)  # fail before allocating
    return _wrap(np.empty(shape, dtype, order))


def zeros(shape, dtype=float, order="C"):
    e = empty(shape, dtype, order)
    e._a[...] = 0       # (empty refuses to allocate during a capture)
    return e


def _delegate(name):
    fn = getattr(np, name)

    def f(*args, **kwargs):
        return _call(fn, args, kwargs)
    f.__name__ = name
    return f


for _name in ["all", "any", "diagonal", "isfinite", "isnan", "moveaxis", "stack", "swapaxes", "transpose", "tri",
              "tril", "where"]:
    globals()[_name] = _delegate(_name)


# cuBLAS compute types (cupy/_core/_routines_linalg.pyx): one setting per precision class.
COMPUTE_TYPE_TBD, COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_PEDANTIC, COMPUTE_TYPE_FP16 = 0, 1, 2, 3
COMPUTE_TYPE_FP32, COMPUTE_TYPE_FP64, COMPUTE_TYPE_BF16, COMPUTE_TYPE_TF32 = 4, 5, 6, 7
_compute_types = {0: COMPUTE_TYPE_DEFAULT, 1: COMPUTE_TYPE_DEFAULT, 2: COMPUTE_TYPE_DEFAULT}


def _compute_type_index(dtype):
    i = _TYPE_INDEX.get(dtype)
    if i is not None:
        return i
    char = np.dtype(dtype).char
    for i, chars in enumerate(("e", "fF", "dD")):
        if char in chars:
            return i
    raise TypeError(f"dtype is not supported: {np.dtype(dtype)}")


_TYPE_INDEX = {np.dtype(c): i for i, cs in enumerate(("e", "fF", "dD")) for c in cs}


def get_compute_type(dtype):
    return _compute_types[_compute_type_index(dtype)]


def set_compute_type(dtype, compute_type):
    _compute_types[_compute_type_index(dtype)] = compute_type


def tf32_round(x):
    """float32 (or complex64) values rounded to TF32: 10 explicit mantissa bits, to nearest even.
    Infinities and NaNs stay as they are."""
    x = np.asarray(x)
    if x.dtype == np.complex64:
        return (tf32_round(x.real) + 1j * tf32_round(x.imag)).astype(np.complex64)
    u = x.astype(np.float32).view(np.uint32)
    r = (u + np.uint32(0xFFF) + ((u >> 13) & np.uint32(1))) & np.uint32(0xFFFFE000)
    return np.where(np.isfinite(x), r.view(np.float32), x).astype(np.float32)


def _matmul_shape(a, b):
    if a.ndim == 1:
        return b.shape[:-2] + b.shape[-1:]
    if b.ndim == 1:
        return a.shape[:-1]
    batch = a.shape[:-2] if a.ndim >= b.ndim else b.shape[:-2]
    if a.shape[:-2] != b.shape[:-2] and a.ndim > 2 and b.ndim > 2:
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return batch + (a.shape[-2], b.shape[-1])


def matmul(a, b, out=None):
    stats["matmuls"] += 1
    for x in (a, b, out):
        if isinstance(x, ndarray) and x._dev != _gpus["current"]:
            raise CUDADriverError(f"CUDA_ERROR_ILLEGAL_ADDRESS: matmul on device {_gpus['current']} got an "
                                  f"array on device {x._dev}")
    if _stub["on"] and out is not None:
        if _captures and _capturing() is not None:
            _capturing()["ops"].append(("matmul", None))
        return out
    A, B = _unwrap((a, b))
    dt = np.result_type(A, B)
    if _captures and out is not None and _capturing() is not None:
        # cuBLAS decides its compute type when it is called: the graph keeps the one of the capture
        if not isinstance(out, ndarray) or out.shape != _matmul_shape(A, B) or out.dtype != dt:
            raise ValueError(f"matmul: out must be a device array of shape {_matmul_shape(A, B)} and dtype {dt}")
        ct = get_compute_type(dt) if dt.char in "efdFD" else None
        _capturing()["ops"].append(("matmul", (A, B, out._a, ct, dt)))
        return out
    if _stub["on"]:
        return _wrap(np.empty(_matmul_shape(A, B), dt))
    ct = get_compute_type(dt) if dt.char in "efdFD" else None
    if out is not None:     # cuBLAS writes into `out` (CuPy checks its shape and dtype)
        if not isinstance(out, ndarray) or out.shape != _matmul_shape(A, B) or out.dtype != dt:
            raise ValueError(f"matmul: out must be a device array of shape {_matmul_shape(A, B)} and dtype {dt}")
        _run_matmul(A, B, out._a, ct, dt)
        return out
    if ct == COMPUTE_TYPE_TF32 and dt in (np.float32, np.complex64):
        A, B = tf32_round(A), tf32_round(B)
    matmul_log.append((dt.name, ct))
    return _result(np.matmul(A, B))


def _run_matmul(A, B, out, ct, dt):
    matmul_log.append((dt.name, ct))
    if ct == COMPUTE_TYPE_TF32 and dt in (np.float32, np.complex64):
        A, B = tf32_round(A), tf32_round(B)
    np.matmul(A, B, out=out)


# ---------------------------------------------------------------------------------------------
# cupy.linalg (cuSOLVER) and cupy.fft (cuFFT)
# ---------------------------------------------------------------------------------------------
def _cholesky(a):
    A = _unwrap(a)
    try:
        return _result(np.linalg.cholesky(A))
    except np.linalg.LinAlgError:
        # cuSOLVER does not raise (unless asked to): a failed factor is garbage, NaN here.
        out = np.empty_like(A)
        for i in np.ndindex(A.shape[:-2]):
            try:
                out[i] = np.linalg.cholesky(A[i])
            except np.linalg.LinAlgError:
                out[i] = np.nan
        return _wrap(out)


def _linalg(name):
    return lambda *args, **kwargs: _call(getattr(np.linalg, name), args, kwargs)


linalg = types.SimpleNamespace(cholesky=_cholesky, solve=_linalg("solve"), eigh=_linalg("eigh"),
                               svd=_linalg("svd"), qr=_linalg("qr"))


def _fft(name):
    fn = getattr(np.fft, name)

    def f(a, s=None, axes=None, norm=None):
        A = _unwrap(a)
        r = fn(A, s=s, axes=axes, norm=norm)
        if A.dtype in (np.float32, np.complex64):   # cuFFT keeps single precision
            r = r.astype(np.float32 if r.dtype.kind == "f" else np.complex64)
        return _wrap(r)
    return f


fft = types.SimpleNamespace(fftn=_fft("fftn"), ifftn=_fft("ifftn"), rfftn=_fft("rfftn"), irfftn=_fft("irfftn"))

_core = types.SimpleNamespace(_routines_linalg=types.SimpleNamespace(
    COMPUTE_TYPE_DEFAULT=COMPUTE_TYPE_DEFAULT, COMPUTE_TYPE_TF32=COMPUTE_TYPE_TF32,
    get_compute_type=get_compute_type, set_compute_type=set_compute_type))


# ---------------------------------------------------------------------------------------------
# cupy.cuda: device, stream, kernels
# ---------------------------------------------------------------------------------------------
_fail = {"launch": None, "sync": None}


def fail_next_launch(exc=None):
    """The next kernel launch raises `exc` (default: an illegal-address driver error)."""
    _fail["launch"] = exc or CUDADriverError(
        "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered")


def fail_next_sync(exc=None):
    """The next synchronize or `.get()` raises `exc`: how an asynchronous kernel fault surfaces."""
    _fail["sync"] = exc or CUDADriverError(
        "CUDA_ERROR_ILLEGAL_ADDRESS: an illegal memory access was encountered")


def _maybe_fail(what):
    exc, _fail[what] = _fail[what], None
    if exc is not None:
        raise exc


def _maybe_fail_sync():
    _maybe_fail("sync")


class Stream:
    """A CUDA stream; `with stream:` makes it the current one (per thread, as CuPy). `Stream.null`
    is the legacy default stream (ptr 0), which cannot capture."""
    _next_ptr = [0x1000]

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=None):
        if null:
            self.ptr = 0
        else:
            self.ptr = Stream._next_ptr[0]
            Stream._next_ptr[0] += 0x10

    def __enter__(self):
        _stream_stack().append(self)
        return self

    def __exit__(self, *exc):
        _stream_stack().pop()

    def synchronize(self):
        if _captures and _capturing() is not None:
            _refuse_in_capture("synchronizing")
        _maybe_fail_sync()

    def is_capturing(self):
        return self in _captures

    def begin_capture(self, mode=None):
        if self.ptr == 0:
            raise RuntimeError("cannot capture on the default (legacy) stream")
        if self in _captures:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is capturing already")
        _captures[self] = {"ops": [], "error": None}

    def end_capture(self):
        cap = _captures.pop(self, None)
        if cap is None:
            raise CUDARuntimeError("cudaErrorIllegalState: the stream is not capturing")
        ops, error = cap["ops"], cap["error"]
        if error is not None:
            raise CUDARuntimeError(f"cudaErrorStreamCaptureInvalidated: operation failed due to a previous "
                                   f"error during capture ({error})")
        g = Graph.__new__(Graph)
        g._ops = ops
        return g


Stream.null = Stream(null=True)


class Graph:
    """A captured and instantiated CUDA graph: `launch(stream=None)` replays its nodes in order."""

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("graphs are made by stream capture")

    def launch(self, stream=None):
        if _captures and _capturing() is not None:
            _refuse_in_capture("launching a graph (the fake cannot record it)")
        _maybe_fail("launch")
        stats["launches"] += 1
        stats["graph_launches"] += 1
        if _stub["on"]:
            return
        for kind, what in self._ops:
            if kind == "launch":
                name, grid, block, bufs, shared = what
                _modules[name].launch(name, grid, block, bufs, shared_mem=shared)
            elif kind == "matmul":
                _run_matmul(*what)
            else:
                _memmove(*what)


# Captures in progress: stream -> {"ops": the recorded nodes, "error": the first refused
# operation, which invalidates the capture}. An operation is captured (or refused) when the
# calling thread's current stream is capturing.
_captures = {}


def _capturing():
    """The capture of the calling thread's current stream, or None."""
    return _captures.get(get_current_stream())


def _refuse_in_capture(what):
    cap = _capturing()
    if cap is not None and cap["error"] is None:
        cap["error"] = what
    raise CUDARuntimeError(f"cudaErrorStreamCaptureUnsupported: operation not permitted when stream is "
                           f"capturing ({what})")


_local = threading.local()


def _stream_stack():
    st = getattr(_local, "streams", None)
    if st is None:
        st = _local.streams = []
    return st


def get_current_stream():
    st = _stream_stack()
    return st[-1] if st else Stream.null


def _memmove(dst, src, size):
    ctypes.memmove(dst, src, size)


def _memcpy_async(dst, src, size, kind, stream):
    """cudaMemcpyAsync on device pointers (`kind` 3, device to device)."""
    if kind != 3:
        raise CUDARuntimeError(f"cudaErrorInvalidValue: the fake copies device to device only (kind {kind})")
    stats["copies"] += 1
    for st, cap in list(_captures.items()):
        if st.ptr == stream:
            cap["ops"].append(("copy", (dst, src, size)))
            return
    if not _stub["on"]:
        _memmove(dst, src, size)


class Event:
    """A CUDA event whose clock is deterministic: each `record` advances a fake device clock by
    EVENT_TICK_MS, so the time between two marks is their distance in records, never zero."""

    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.disable_timing, self.ms = disable_timing, None

    def record(self, stream=None):
        if _captures and _capturing() is not None:
            _refuse_in_capture("recording an event (the fake cannot record it)")
        _event_clock[0] += EVENT_TICK_MS
        self.ms = _event_clock[0]

    def synchronize(self):
        _maybe_fail_sync()

    @property
    def done(self):
        return True


EVENT_TICK_MS = 0.001
_event_clock = [0.0]


def get_elapsed_time(start_event, end_event):
    """Milliseconds between two recorded events (CuPy's cudaEventElapsedTime)."""
    if start_event.ms is None or end_event.ms is None or start_event.disable_timing or end_event.disable_timing:
        raise CUDARuntimeError("cudaErrorInvalidResourceHandle: an event was not recorded, or not for timing")
    return end_event.ms - start_event.ms


class MemoryHook:
    """cupy.cuda.MemoryHook's interface: the fake refuses allocations during a capture itself."""
    name = "MemoryHook"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass


# Several fake GPUs share the host's memory; each array knows the one it was made on (the current
# device then, as in CuPy), and a kernel launched on one GPU with another's array faults.
_gpus = {"count": 1, "current": 0}


class Device:
    def __init__(self, device=None):
        self.id = _gpus["current"] if device is None else int(device)
        self.compute_capability = "90"      # what nvrtc.default_arch falls back to anyway
        self._prev = []

    def _check(self):
        if not 0 <= self.id < _gpus["count"]:
            raise CUDARuntimeError("cudaErrorInvalidDevice: invalid device ordinal")

    def use(self):
        self._check()
        _gpus["current"] = self.id

    def __enter__(self):
        self._check()
        self._prev.append(_gpus["current"])
        _gpus["current"] = self.id
        return self

    def __exit__(self, *exc):
        _gpus["current"] = self._prev.pop()

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return self.id

    @property
    def mem_info(self):
        total = _pool.get_limit() or DEVICE_BYTES
        return max(total - _pool.used_bytes(), 0), total


# kernel name -> gpuxla.backends.cuda.interpret.Module holding it
_modules = {}


def register_kernels(kernels, jobs=1, options=("-O0",)):
    """Compile gpuxla kernel objects (`.name`, `.source`, `.signature`) for the cuda-interpret
    platform, which runs them in place of their CUBINs. `jobs` > 1 builds large batches as
    several host modules in parallel; -O0 because tests run tiny arrays."""
    from gpuxla.backends.cuda.interpret import InterpretRuntime
    InterpretRuntime(_modules, options).prepare(kernels, jobs=jobs)   # fills _modules in place


# Dynamic shared memory: a launch may take DEFAULT_SHARED bytes, or up to what the function opted in
# to with driver.funcSetAttribute(ptr, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, n), at most
# MAX_SHARED (an H100's 227 KiB); past that CUDA fails the call with CUDA_ERROR_INVALID_VALUE.
DEFAULT_SHARED, MAX_SHARED = 48 * 1024, 227 * 1024
CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8
_func_attrs = {}        # function ptr -> {attribute: value}


def _func_set_attribute(ptr, attribute, value):
    if attribute == CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES and not 0 <= value <= MAX_SHARED:
        raise CUDADriverError("CUDA_ERROR_INVALID_VALUE: invalid argument")
    _func_attrs.setdefault(ptr, {})[attribute] = value


class _Function:
    def __init__(self, name):
        self.name = name
        self.ptr = id(self)

    def __call__(self, grid, block, args, shared_mem=0, stream=None):
        room = _func_attrs.get(self.ptr, {}).get(CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, DEFAULT_SHARED)
        if shared_mem > max(room, DEFAULT_SHARED):
            raise CUDADriverError(f"CUDA_ERROR_INVALID_VALUE: kernel {self.name} launched with {shared_mem} bytes "
                                  f"of dynamic shared memory, {room} allowed")
        cap = _captures.get(stream or get_current_stream()) if _captures else None
        if _stub["on"]:
            if cap is not None:
                cap["ops"].append(("launch", None))
                return
            stats["launches"] += 1
            return
        _maybe_fail("launch")
        if not isinstance(args, tuple):
            raise TypeError(f"kernel arguments must be a tuple, got {type(args).__name__}")
        bufs = []
        for i, a in enumerate(args):
            if isinstance(a, ndarray):
                if a._dev != _gpus["current"]:      # no peer access: another GPU's memory faults
                    raise CUDADriverError(f"CUDA_ERROR_ILLEGAL_ADDRESS: kernel {self.name} on device "
                                          f"{_gpus['current']} got argument {i} on device {a._dev}")
                bufs.append(a._a)    # the buffer itself: the kernel writes its outputs into it
            elif isinstance(a, np.generic):
                bufs.append(a)
            else:                    # a host array would be a host pointer on a GPU
                raise TypeError(f"Unsupported type {type(a)} (kernel {self.name}, argument {i})")
        if cap is not None:     # recorded by value: the buffers (addresses) of this call
            cap["ops"].append(("launch", (self.name, grid, block, bufs, shared_mem)))
            return
        stats["launches"] += 1
        _modules[self.name].launch(self.name, grid, block, bufs, shared_mem=shared_mem)


class Module:
    def load(self, cubin):
        if not isinstance(cubin, bytes):
            raise TypeError(f"Module.load takes bytes, got {type(cubin).__name__}")
        self.cubin = cubin
        return self

    def get_function(self, name):
        if name not in _modules and not _stub["on"]:
            raise CUDADriverError(f"CUDA_ERROR_NOT_FOUND: named symbol not found ({name!r} was not "
                                  "given to fake_cupy.register_kernels)")
        return _Function(name)


def _device_count():
    return _gpus["count"]


def _device_properties(device):
    return {"name": b"Fake CUDA device (NumPy)"}


cuda = types.SimpleNamespace(
    memory=types.SimpleNamespace(OutOfMemoryError=OutOfMemoryError),
    driver=types.SimpleNamespace(CUDADriverError=CUDADriverError, funcSetAttribute=_func_set_attribute,
                                 CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES=CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES),
    runtime=types.SimpleNamespace(CUDARuntimeError=CUDARuntimeError, getDeviceCount=lambda: _device_count(),
                                  getDeviceProperties=_device_properties, getDevice=lambda: _gpus["current"],
                                  memcpyAsync=_memcpy_async, memcpyDeviceToDevice=3),
    function=types.SimpleNamespace(Module=Module),
    Device=Device,
    Stream=Stream,
    graph=types.SimpleNamespace(Graph=Graph),
    MemoryHook=MemoryHook,
    get_current_stream=get_current_stream,
    Event=Event,
    get_elapsed_time=get_elapsed_time,
)


# ---------------------------------------------------------------------------------------------
# Installing it for gpuxla
# ---------------------------------------------------------------------------------------------
class _Patches:
    """Attributes and dict items set for a while and put back (pytest's MonkeyPatch, without
    pytest: the benchmark uses this module too)."""

    def __init__(self):
        self._undo = []

    def setattr(self, obj, name, value):
        self._undo.append(functools.partial(setattr, obj, name, getattr(obj, name)))
        setattr(obj, name, value)

    def setitem(self, d, key, value):
        old = d.get(key, _Patches)
        self._undo.append(lambda: d.pop(key, None) if old is _Patches else d.__setitem__(key, old))
        d[key] = value

    def undo(self):
        while self._undo:
            self._undo.pop()()


@contextlib.contextmanager
def installed(nvrtc=None, jobs=1, stub=False, gpus=1):
    """Run gpuxla's `cuda` platform on this fake for the duration; yields the CudaBackend.

    `import cupy` gives this module, so the runtime's `cupy()` returns it; CudaRuntime.prepare
    still makes the CUBINs (NVRTC, when installed and `nvrtc` is not False; else the kernels get
    an empty CUBIN) and then registers the kernels here; gpuxla's current backend is a new
    CudaBackend, with an empty eager cache so executables of another platform are not reused.
    `stub=True`: no device work (see the module's docstring); kernels are not compiled at all.
    Everything is put back afterwards, and the pool limit, failure hooks and compute types reset.
    """
    import gpuxla.backends as B
    from gpuxla.backends import cuda as C
    from gpuxla.backends.cuda import nvrtc as N

    use_nvrtc = not stub and (N.available() if nvrtc is None else (nvrtc and N.available()))
    real_prepare = C.CudaRuntime.prepare

    def prepare(self, kernels):
        if not use_nvrtc:
            for k in kernels:
                if getattr(k, "cubin", None) is None:
                    k.cubin = b""
        real_prepare(self, kernels)
        if not stub:
            register_kernels(kernels, jobs=jobs)

    def reset():
        _gpus.update(count=1, current=0)
        _pool.set_limit(None)
        _fail.update(launch=None, sync=None)
        _captures.clear()
        _func_attrs.clear()
        _compute_types.update({0: COMPUTE_TYPE_DEFAULT, 1: COMPUTE_TYPE_DEFAULT, 2: COMPUTE_TYPE_DEFAULT})
        _stub["on"] = False

    reset()
    mp = _Patches()
    try:
        _stub["on"] = stub
        _gpus["count"] = gpus
        mp.setitem(sys.modules, "cupy", sys.modules[__name__])
        mp.setattr(C.CudaRuntime, "prepare", prepare)
        mp.setattr(N, "_default_arch", N._default_arch)   # default_arch() asks cupy; it caches
        eager = {}
        mp.setattr(B, "_eager_cache", eager)
        backend = C.CudaBackend()
        mp.setattr(B, "_backend", backend)
        try:
            yield backend
        finally:
            eager.clear()
    finally:
        mp.undo()
        reset()
