"""The `numpy` platform: every primitive run by its NumPy reference rule (reference.py), equation
by equation or, for long elementwise chains over large arrays, slice by slice (executor.py)."""
from .. import Device
from .executor import NumpyExecutable


class NumpyBackend:
    platform = "numpy"

    def __init__(self):
        self.device = Device("cpu", 0)

    def from_numpy(self, arr):
        return arr

    def to_numpy(self, buf):
        return buf

    def synchronize(self, buf):
        pass

    def compile(self, program):
        return NumpyExecutable(program)
