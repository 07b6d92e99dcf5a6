"""The devices of this process and of the job: what `jax.devices()` lists.

  * cuda: every GPU CuPy sees is a device (or those given to distributed.initialize as
    local_device_ids); `gpu_ordinals()` maps device positions to CUDA ordinals.
  * the host platforms (numpy, cuda-interpret, cpu): `GPUXLA_NUM_CPU_DEVICES=N`, or
    `config.update("jax_num_cpu_devices", N)`, gives N simulated devices in one process (XLA's
    forced host device count). They share the host's memory, so placing an array on one is only a
    label; pmap runs one program per device and its collectives combine their buffers.

Unlike XLA the count may change at any time: nothing is allocated per simulated device, so tests
can move between 1, 2, 4 and 8 devices in one process.

Across processes (gpuxla.distributed.initialize), `devices()` lists every process's devices,
`local_devices()` this process's own; each process has the same number, and its arrays live on
its first local device (`devices()[process_index * local_device_count]`), as in JAX.
"""
from .. import backends, config
from ..backends import Device, get_backend


class _World:
    """Filled by gpuxla.distributed.initialize: this process's index and the process count."""
    process_index = 0
    process_count = 1
    engine = None       # the cross-process engine (parallel/engine.py), when there are several
    gpu_ids = None      # initialize(local_device_ids=...): the GPUs (CUDA ordinals) this process uses


world = _World()


def _platform(name):
    active = get_backend()
    if name is None or (name == "cpu" and active.platform != "cuda"):
        return active
    return get_backend({"cpu": "numpy", "gpu": "cuda"}.get(name, name))


def _num_local(backend):
    if backend.platform == "cuda":
        return len(gpu_ordinals())
    n = config.read("jax_num_cpu_devices")
    n = config.NUM_CPU_DEVICES.get() if n is None else n
    if not isinstance(n, int) or n < 1:
        raise ValueError(f"jax_num_cpu_devices / GPUXLA_NUM_CPU_DEVICES must be a positive integer, got {n!r}")
    return n


def gpu_ordinals():
    """The CUDA ordinals of this process's GPUs, in device order: every GPU CuPy sees, or those
    given to initialize as local_device_ids."""
    if world.gpu_ids is not None:
        return list(world.gpu_ids)
    from ..backends.cuda.runtime import cupy
    return list(range(max(1, cupy().cuda.runtime.getDeviceCount())))


def _make(backend, pid, i, n_local):
    d0 = backend.device
    d = Device(d0.platform, pid * n_local + i, d0.device_kind)
    d.process_index = pid
    return d


def _default_device(backend):
    """This process's first device: the backend's own in process 0, global device
    `process_index * local_device_count` in the others (what `Array.device` reports there)."""
    if world.process_index == 0:
        return backend.device
    return _make(backend, world.process_index, 0, _num_local(backend))


backends.default_device = _default_device


def local_devices(process_index=None, backend=None):
    """This process's devices (or those of process `process_index`)."""
    if isinstance(process_index, str):      # local_devices("cpu"): a backend name, as earlier gpuxla took
        process_index, backend = None, process_index
    b = _platform(backend)
    n = _num_local(b)
    pid = world.process_index if process_index is None else process_index
    return [_make(b, pid, i, n) for i in range(n)]


def devices(backend=None):
    """Every device of the job, process by process: ``[CpuDevice(id=0), ...]``."""
    b = _platform(backend)
    n = _num_local(b)
    return [_make(b, p, i, n) for p in range(world.process_count) for i in range(n)]


def device_count(backend=None):
    return world.process_count * _num_local(_platform(backend))


def local_device_count(backend=None):
    return _num_local(_platform(backend))


def process_index(backend=None):
    return world.process_index


def process_count(backend=None):
    return world.process_count


def check_device(d, what="device_put"):
    """`d` if it is one of this process's devices, else the error JAX gives for a foreign one."""
    if not isinstance(d, Device):
        raise TypeError(f"{what}: expected a Device (from jax.devices()), got {type(d).__name__} {d!r}")
    local = local_devices()
    if d not in local:
        raise ValueError(f"{what}: {d!r} is not a device of this process; its devices are {local}")
    return d


def device_put_sharded(shards, devices):
    """One pytree per device, stacked along a new leading axis: the input pmap splits again.
    (JAX keeps each slice on its device; gpuxla keeps the stack on the default device.)"""
    from .. import numpy as jnp
    from ..tree_util import tree_map
    devices = [check_device(d, "device_put_sharded") for d in devices]
    if len(shards) != len(devices):
        raise ValueError(f"len(shards) = {len(shards)} must equal len(devices) = {len(devices)}.")
    return tree_map(lambda *xs: jnp.stack(xs), *shards)


def device_put_replicated(x, devices):
    """`x` once per device, stacked along a new leading axis."""
    from .. import numpy as jnp
    from ..tree_util import tree_map
    devices = [check_device(d, "device_put_replicated") for d in devices]
    if not devices:
        raise ValueError("`devices` argument to `device_put_replicated must be a non-empty sequence.")
    return tree_map(lambda v: jnp.broadcast_to(jnp.asarray(v), (len(devices),) + jnp.shape(v)), x)
