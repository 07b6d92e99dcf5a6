"""Backend selection and the few calls the core makes into a backend.

A backend turns a `Program` into a callable on buffers. `numpy` is the reference; `cuda` runs
generated CUDA C on a GPU; `cuda-interpret` runs the same CUDA C on the CPU. The platform is
chosen by `GPUXLA_PLATFORM`, else `cuda` when a usable GPU is present, else `numpy`.
"""
import os

import numpy as np

_backend = None
PLATFORMS = ("numpy", "cuda", "cuda-interpret")


class Device:
    def __init__(self, platform, id=0, kind=None):
        self.platform, self.id = platform, id
        self.device_kind = kind or platform

    def __repr__(self):
        if self.platform == "cuda":
            return f"CudaDevice(id={self.id})"
        return f"CpuDevice(id={self.id})"

    def __str__(self):      # JAX: str(device) is "cpu:0" / "cuda:0"
        return f"{'cuda' if self.platform == 'cuda' else 'cpu'}:{self.id}"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.platform, self.id) == (other.platform, other.id)

    def __hash__(self):
        return hash((self.platform, self.id))


def _gpu_usable():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_backend(platform=None):
    global _backend
    if platform is None:
        if _backend is None:
            name = os.environ.get("GPUXLA_PLATFORM") or ("cuda" if _gpu_usable() else "numpy")
            _backend = _make(name)
        return _backend
    if _backend is not None and _backend.platform == platform:
        return _backend
    return _make(platform)


def _make(name):
    if name == "numpy" or name == "cpu":
        from .numpy_backend import NumpyBackend
        return NumpyBackend()
    if name == "cuda-interpret":
        from .cuda_backend import InterpretBackend
        return InterpretBackend()
    if name == "cuda":
        from .cuda_backend import CudaBackend
        return CudaBackend()
    raise ValueError(f"Unknown platform {name!r} (GPUXLA_PLATFORM); choose one of {PLATFORMS}")


def from_numpy(arr):
    return get_backend().from_numpy(arr)


def to_numpy(buf):
    return get_backend().to_numpy(buf)


def synchronize(buf):
    get_backend().synchronize(buf)


def current_device():
    return get_backend().device


_eager_cache = {}


def run_pending(order, outputs):
    """Realize `outputs`: compile the pending subgraph `order` (cached by structure) and run it."""
    from ..core.program import Program, structure_key
    backend = get_backend()
    key = structure_key(order, outputs)
    inputs = [n for n in order if n._buf is not None]
    fn = _eager_cache.get(key)
    if fn is None:
        fn = backend.compile(Program.from_graph(inputs, outputs, order=order))
        _eager_cache[key] = fn
        eager_cache_stats["misses"] += 1
    else:
        eager_cache_stats["hits"] += 1
    return fn([n._buf for n in inputs])


eager_cache_stats = {"hits": 0, "misses": 0}
