"""gpuxla.sharding: `jax.sharding`'s names, for meshes of devices and shard_map.

gpuxla has no sharded arrays: every array is whole on one device (`SingleDeviceSharding`).
Work is spread over devices by pmap and by `shard_map` (parallel/shard_map.py), which splits its
arguments over a `Mesh` of devices as `PartitionSpec`s say, runs on the blocks and puts the
results together again. `device_put(x, NamedSharding(mesh, spec))` over several devices keeps
`x` whole on the default device (the values are JAX's; the placement is not).

>>> import gpuxla as jax, gpuxla.numpy as jnp
>>> jnp.ones(3).sharding
SingleDeviceSharding(device=CpuDevice(id=0), memory_kind=device)
"""
import enum
import math

import numpy as np

from .core.graph import Array, Aval

__all__ = ["AbstractMesh", "AxisType", "Mesh", "NamedSharding", "PartitionSpec", "Sharding", "SingleDeviceSharding",
           "get_abstract_mesh", "make_single_device_sharding", "make_mesh"]


class AxisType(enum.Enum):
    Auto = enum.auto()
    Explicit = enum.auto()
    Manual = enum.auto()


class PartitionSpec(tuple):
    """How each axis of an array is split over named mesh axes (None: not split). ``P('x', None)``."""

    def __new__(cls, *partitions):
        return super().__new__(cls, partitions)

    def __repr__(self):
        return f"P({', '.join(map(repr, self))}{',' if len(self) == 1 else ''})"

    def __reduce__(self):
        return (PartitionSpec, tuple(self))


class AbstractMesh:
    """A mesh's axis names, sizes and types, without devices."""

    def __init__(self, axis_sizes=(), axis_names=(), axis_types=None):
        self.axis_sizes, self.axis_names = tuple(axis_sizes), tuple(axis_names)
        self.axis_types = tuple(axis_types) if axis_types is not None else (AxisType.Auto,) * len(self.axis_names)
        self.shape = dict(zip(self.axis_names, self.axis_sizes))
        self.size = math.prod(self.axis_sizes)
        self.empty = not self.axis_names

    @property
    def are_all_axes_explicit(self):
        return bool(self.axis_types) and all(t == AxisType.Explicit for t in self.axis_types)

    def __repr__(self):
        return f"AbstractMesh({self.axis_sizes}, axis_types={self.axis_types})" if self.axis_names \
            else "AbstractMesh((), axis_types=())"

    def __eq__(self, other):
        return isinstance(other, AbstractMesh) and (self.axis_sizes, self.axis_names, self.axis_types) == \
            (other.axis_sizes, other.axis_names, other.axis_types)

    def __hash__(self):
        return hash((self.axis_sizes, self.axis_names))


class Mesh(AbstractMesh):
    """Devices arranged in named axes: what shard_map splits its arguments over. `with mesh:`
    makes it the mesh a shard_map without `mesh=` uses."""

    def __init__(self, devices, axis_names, axis_types=None):
        flat = list(np.asarray(devices, dtype=object).flat)
        devices = np.empty(np.shape(np.asarray(devices, dtype=object)), dtype=object)
        devices.flat[:] = flat
        if isinstance(axis_names, str):
            axis_names = (axis_names,)
        if devices.ndim != len(axis_names):
            raise ValueError(f"Mesh: devices of rank {devices.ndim} for {len(axis_names)} axis names {axis_names}")
        if len(set(flat)) != len(flat):
            raise ValueError(f"Mesh: devices must be distinct, got {flat}")
        super().__init__(devices.shape, axis_names, axis_types)
        self.devices = devices
        self.device_ids = np.vectorize(lambda d: d.id, otypes=[int])(devices) if devices.size else devices

    @property
    def abstract_mesh(self):
        return AbstractMesh(self.axis_sizes, self.axis_names, self.axis_types)

    def __enter__(self):
        _mesh_stack.append(self)
        return self

    def __exit__(self, *exc):
        _mesh_stack.pop()
        return False

    def __repr__(self):
        return f"Mesh({', '.join(f'{n!r}: {s}' for n, s in self.shape.items())})"

    def __eq__(self, other):
        return isinstance(other, Mesh) and super().__eq__(other) and list(self.devices.flat) == list(other.devices.flat)

    def __hash__(self):
        return hash((self.axis_sizes, self.axis_names, tuple(self.devices.flat)))


_mesh_stack = []


def current_mesh():
    """The mesh of the innermost `with mesh:`, or None."""
    return _mesh_stack[-1] if _mesh_stack else None


def make_mesh(axis_shapes, axis_names, *, devices=None, axis_types=None):
    """A Mesh of the first prod(axis_shapes) devices (or of `devices`), as `jax.make_mesh`."""
    from . import devices as _all_devices
    axis_shapes = tuple(int(s) for s in axis_shapes)
    if isinstance(axis_names, str):
        axis_names = (axis_names,)
    if len(axis_shapes) != len(axis_names):
        raise ValueError(f"make_mesh: {len(axis_shapes)} axis sizes {axis_shapes} for {len(axis_names)} axis names "
                         f"{tuple(axis_names)}")
    n = math.prod(axis_shapes)
    devs = list(devices) if devices is not None else _all_devices()
    if n > len(devs):
        raise ValueError(f"make_mesh: the mesh shape {axis_shapes} needs {n} devices, but only {len(devs)} are "
                         "available (jax_num_cpu_devices / GPUXLA_NUM_CPU_DEVICES give more on the host)")
    arr = np.empty(n, dtype=object)
    arr[:] = devs[:n]
    return Mesh(arr.reshape(axis_shapes), axis_names, axis_types)


class Sharding:
    """Where an array's elements live."""

    @property
    def device_set(self):
        return {self._device}

    is_fully_replicated = property(lambda self: True)
    is_fully_addressable = property(lambda self: True)
    memory_kind = "device"

    def shard_shape(self, global_shape):
        return tuple(global_shape)


def _default_device():
    from . import local_devices
    return local_devices()[0]


class SingleDeviceSharding(Sharding):
    def __init__(self, device=None, *, memory_kind=None):
        self._device = device if device is not None else _default_device()

    device = property(lambda self: self._device)

    def __repr__(self):
        return f"SingleDeviceSharding(device={self._device!r}, memory_kind=device)"

    def __eq__(self, other):
        return isinstance(other, SingleDeviceSharding) and other._device == self._device

    def __hash__(self):
        return hash(self._device)


class NamedSharding(Sharding):
    """An array split over `mesh`'s named axes as `spec` says (what JAX means; gpuxla keeps the
    array whole on the default device, see the module's docstring)."""

    def __init__(self, mesh, spec=PartitionSpec(), *, memory_kind=None):
        if not isinstance(mesh, AbstractMesh):
            raise TypeError(f"NamedSharding: mesh must be a Mesh or AbstractMesh, got {type(mesh).__name__}")
        spec = spec if isinstance(spec, PartitionSpec) else PartitionSpec(*spec)
        for part in spec:
            for name in (part if isinstance(part, tuple) else (part,)):
                if name is not None and name not in mesh.axis_names:
                    raise ValueError(f"NamedSharding: spec {spec} names axis {name!r}, not in the mesh's "
                                     f"axes {mesh.axis_names}")
        self.mesh, self.spec = mesh, spec
        self._device = _default_device()

    @property
    def device_set(self):
        return set(self.mesh.devices.flat) if isinstance(self.mesh, Mesh) else {self._device}

    def __repr__(self):
        return f"NamedSharding(mesh={self.mesh!r}, spec={self.spec!r})"

    def __eq__(self, other):
        return isinstance(other, NamedSharding) and (self.mesh, tuple(self.spec)) == (other.mesh, tuple(other.spec))

    def __hash__(self):
        return hash((self.mesh, tuple(self.spec)))


def get_abstract_mesh():
    """The mesh in scope: gpuxla has none, so the empty one (as JAX outside `set_mesh`)."""
    return AbstractMesh()


def make_single_device_sharding(device):
    return SingleDeviceSharding(device)


# Every gpuxla array lives whole on the one device.
Array.sharding = property(lambda self: SingleDeviceSharding(self.device))
# An abstract value's sharding (jax.typeof(x).sharding): the empty mesh, no axis split.
Aval.sharding = property(lambda self: NamedSharding(AbstractMesh(), PartitionSpec(*[None] * len(self.shape))))
