"""gpuxla.sharding: the single-device part of `jax.sharding`.

gpuxla runs each process on one device, so every array has one sharding: its whole value on that
device (`SingleDeviceSharding`). `Mesh`, `NamedSharding` and `PartitionSpec` exist so that code
written for several devices runs on one: a mesh of one device, specs that split nothing. A mesh
or spec that would really split an array over several devices raises NotImplementedError.

>>> import gpuxla as jax, gpuxla.numpy as jnp
>>> jnp.ones(3).sharding
SingleDeviceSharding(device=CpuDevice(id=0), memory_kind=device)
"""
import enum
import math

import numpy as np

from .core.graph import Array, Aval

__all__ = ["AbstractMesh", "AxisType", "Mesh", "NamedSharding", "PartitionSpec", "Sharding", "SingleDeviceSharding",
           "get_abstract_mesh", "make_single_device_sharding"]


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
    """Devices arranged in named axes. gpuxla has no sharded arrays (pmap is its multi-device API), so a
    mesh spans one device and every axis has size 1."""

    def __init__(self, devices, axis_names, axis_types=None):
        devices = np.asarray(devices, dtype=object)
        if isinstance(axis_names, str):
            axis_names = (axis_names,)
        if devices.ndim != len(axis_names):
            raise ValueError(f"Mesh: devices of rank {devices.ndim} for {len(axis_names)} axis names {axis_names}")
        if devices.size != 1:
            raise NotImplementedError(f"Mesh over {devices.size} devices: gpuxla has no sharded arrays yet (use pmap)")
        super().__init__(devices.shape, axis_names, axis_types)
        self.devices = devices

    @property
    def abstract_mesh(self):
        return AbstractMesh(self.axis_sizes, self.axis_names, self.axis_types)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def __repr__(self):
        return f"Mesh({', '.join(f'{n!r}: {s}' for n, s in self.shape.items())})"


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
    from . import devices
    return devices()[0]


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
    """An array split over `mesh`'s named axes as `spec` says; on gpuxla's one-device meshes
    nothing is split."""

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
