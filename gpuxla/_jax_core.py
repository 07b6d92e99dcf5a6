"""The few public names of `jax.core` that libraries test against (chex, flax's annotations):
`Tracer`, `ShapedArray`, `get_aval`. The rest of jax.core is JAX's tracing machinery, which
gpuxla does not have; `python -m gpuxla` names each missing one when it is used.

gpuxla has no tracer class: a traced value is an Array whose value does not exist yet (a jit or
vmap argument, or computed from one), and `isinstance(x, Tracer)` asks exactly that.
"""
from .core.graph import Array, Aval

__all__ = ["ShapedArray", "Tracer", "get_aval"]

ShapedArray = Aval      # ShapedArray(shape, dtype, weak_type=False)


class _TracerMeta(type):
    def __instancecheck__(cls, x):
        return isinstance(x, Array) and x.sym is not None and x._buf is None


class Tracer(metaclass=_TracerMeta):
    """Not instantiable; `isinstance(x, Tracer)` is True for a traced gpuxla Array."""

    def __new__(cls, *args, **kwargs):
        raise TypeError("jax.core.Tracer cannot be instantiated on gpuxla (there is no tracer class)")


def get_aval(x):
    """The abstract value (shape, dtype, weak type) of an array or Python scalar."""
    from .core.trace import aval_of
    return aval_of(x)
