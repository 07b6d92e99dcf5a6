"""`jax.experimental.hijax`: JAX's "high-level" types and primitives (mutable values that carry
their own abstract state through traces). gpuxla does not have them.

flax.nnx builds its opt-in hijax Variables on this module at import time: it subclasses
`HiPrimitive` and `MutableHiType`, makes three primitives, registers a type and decorates the
methods of its aval class. So those names exist here, and every *use* raises NotImplementedError
naming hijax: binding a HiPrimitive, calling a decorated aval method or property. nnx's default
Variables never reach them (hijax Variables are off unless `flax_hijax_variable` is set).
"""

__all__ = ["HiPrimitive", "MutableHiType", "HiType", "AbstractValue", "register_hitype", "aval_method",
           "aval_property", "control_flow_allowed_effects"]


def _missing(what):
    return NotImplementedError(f"jax.experimental.hijax: {what} is not in gpuxla (it has no hijax types)")


class AbstractValue:
    """JAX's base of abstract values (named in annotations)."""


class HiType(AbstractValue):
    pass


class MutableHiType(HiType):
    pass


class HiPrimitive:
    """A hijax primitive: it can be defined (subclassed and made); binding one raises."""

    def __init__(self, name):
        self.name = name

    def bind(self, *args, **params):
        raise _missing(f"binding the hijax primitive '{self.name}'")

    def __repr__(self):
        return self.name


_hitypes = {}


def register_hitype(cls, to_aval):
    """Recorded; no gpuxla value is ever of a hijax type, so it is never consulted."""
    _hitypes[cls] = to_aval


def aval_method(fun):
    """A method of a hijax aval class: calling it raises."""
    def method(*args, **kwargs):
        raise _missing(f"the aval method {getattr(fun, '__name__', 'method')}")
    return method


class aval_property(property):
    """A property of a hijax aval class: reading it raises."""

    def __init__(self, fget=None, *args, **kwargs):
        name = getattr(fget, "__name__", "property")

        def get(self):
            raise _missing(f"the aval property {name}")
        super().__init__(get)


class _EffectTypeSet:
    def __init__(self):
        self._types = set()

    def add_type(self, t):
        self._types.add(t)

    def contains(self, eff):
        return type(eff) in self._types


control_flow_allowed_effects = _EffectTypeSet()
