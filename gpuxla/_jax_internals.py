"""The few `jax._src.*` modules that JAX libraries import at import time, for `gpuxla.compat`.

gpuxla does not have JAX's internals. A library module that does `from jax._src import compiler`
at its top would stop the whole library's import, though the library only reaches into that
module inside one feature (chex's `restrict_backends`, flax's fp8 dot). So these modules exist,
each with only the names libraries use *at import* and that gpuxla can give honestly; any other
name raises AttributeError saying it is JAX's internal API and not in gpuxla, at the moment it is
used. Every other `jax._src` module still raises ModuleNotFoundError.

  * traceback_util: JAX's traceback filtering. gpuxla does not filter tracebacks; registering a
    file for exclusion changes nothing, which is what these calls mean for a program's results.
    `include_frame` answers from the registered files (equinox's error_if formats the others).
  * dtypes: gpuxla's `TypePromotionError`, `extended`, `prng_key`, `finfo`, `issubdtype`; an
    `ExtendedDType` base class (flax's fp8 meta dtype subclasses it at import).
  * core: `ShapedArray` (gpuxla's aval, as `jax.core.ShapedArray`).
  * checkify: gpuxla's `jax.experimental.checkify` names flax.nnx's checkify wrapper uses.
  * tree_util: `_registry` (flax.nnx asks `type(x) in _registry`): gpuxla's pytree node types.
  * state.types: `AbstractRef`, a class no gpuxla value is an instance of (gpuxla has no refs).
  * compiler, xla_bridge, dispatch, interpreters.pxla, earray, api_util: empty.
"""

__all__ = ["MODULES"]


def _traceback_util():
    exclude_paths = []

    def register_exclusion(path):
        exclude_paths.append(path)

    def api_boundary(fun=None, **kwargs):
        return fun if fun is not None else (lambda f: f)

    def include_filename(filename):
        return not any(filename.startswith(p) for p in exclude_paths)

    def include_frame(frame):
        """Whether a frame's file was not registered for exclusion (equinox formats the rest)."""
        return include_filename(frame.f_code.co_filename)

    return {"register_exclusion": register_exclusion, "api_boundary": api_boundary, "include_frame": include_frame,
            "include_filename": include_filename, "_exclude_paths": exclude_paths}


def _dtypes():
    import numpy as np
    from . import dtypes

    class ExtendedDType:
        """JAX's base of extended dtypes (flax's fp8 meta dtype subclasses it at import)."""
    return {"TypePromotionError": dtypes.TypePromotionError, "extended": dtypes.extended, "prng_key": dtypes.prng_key,
            "ExtendedDType": ExtendedDType, "DType": np.dtype, "finfo": dtypes.finfo, "issubdtype": dtypes.issubdtype}


def _core():
    from ._jax_core import ShapedArray
    return {"ShapedArray": ShapedArray}


def _tree_util():
    from . import tree_util
    return {"_registry": tree_util._registry}


def _state_types():
    class AbstractRef:
        """JAX's mutable-reference aval; gpuxla has no references, so nothing is one."""

        def __init__(self, *args, **kwargs):
            raise NotImplementedError("jax._src.state.types.AbstractRef: gpuxla has no mutable array references")
    return {"AbstractRef": AbstractRef}


def _checkify():
    import typing

    from .experimental import checkify as c
    return {"user_checks": c.user_checks, "JaxException": c.JaxException, "Error": c.Error, "checkify": c.checkify,
            "Out": typing.TypeVar("Out")}


def _empty():
    return {}


# jax._src module -> a function giving its names. Parents ("jax._src", "jax._src.state") are
# modules too, so that `import jax._src.state.types` finds its way.
MODULES = {
    "jax._src": _empty,
    "jax._src.traceback_util": _traceback_util,
    "jax._src.dtypes": _dtypes,
    "jax._src.tree_util": _tree_util,
    "jax._src.state": _empty,
    "jax._src.state.types": _state_types,
    "jax._src.compiler": _empty,
    "jax._src.xla_bridge": _empty,
    "jax._src.dispatch": _empty,
    "jax._src.core": _core,
    "jax._src.interpreters": _empty,
    "jax._src.interpreters.pxla": _empty,
    "jax._src.earray": _empty,
    "jax._src.checkify": _checkify,
    "jax._src.api_util": _empty,
}
