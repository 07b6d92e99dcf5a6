"""Run code written for JAX on gpuxla: `install_jax_aliases()` makes `import jax` (and its
submodules) import gpuxla's modules, so an unchanged script, and libraries such as optax, run on
gpuxla. `python -m gpuxla script.py [args]` does the same and runs the script.

>>> from gpuxla.compat import install_jax_aliases
>>> install_jax_aliases()
>>> import jax, jax.numpy as jnp
>>> jax.grad(lambda x: jnp.sum(x ** 2))(jnp.arange(3.0))
Array([0., 2., 4.], dtype=float32)

Each aliased module is a thin module object named as JAX names it, whose attributes are those of
the gpuxla module behind it. Nothing missing is ever silent:
  * an attribute gpuxla does not have raises AttributeError naming the JAX API
    (``jax.numpy.foo is not in gpuxla yet``), so `hasattr` probes in libraries still work;
  * a JAX submodule gpuxla does not have (``jax.experimental.pjit``, ``jax._src.*``, ``jaxlib``)
    raises ModuleNotFoundError naming it, so a library's `try: import ... except ImportError`
    fallbacks still work.
"""
import importlib
import importlib.abc
import importlib.util
import sys
import types

__all__ = ["install_jax_aliases", "uninstall_jax_aliases", "JAX_API_VERSION", "ALIASES"]

# The JAX release whose names and results gpuxla follows (the tests' reference values were
# recorded with it); `jax.__version__` reports it, so libraries take their code paths for it.
JAX_API_VERSION = "0.10.2"

# JAX module -> the gpuxla module that stands for it.
ALIASES = {
    "jax": "gpuxla",
    "jax.numpy": "gpuxla.numpy",
    "jax.numpy.linalg": "gpuxla.numpy.linalg",
    "jax.numpy.fft": "gpuxla.numpy.fft",
    "jax.lax": "gpuxla.lax",
    "jax.lax.linalg": "gpuxla.lax.linalg",
    "jax.random": "gpuxla.random",
    "jax.nn": "gpuxla.nn",
    "jax.nn.initializers": "gpuxla.nn.initializers",
    "jax.tree": "gpuxla.tree",
    "jax.tree_util": "gpuxla.tree_util",
    "jax.scipy": "gpuxla.scipy",
    "jax.scipy.special": "gpuxla.scipy.special",
    "jax.scipy.linalg": "gpuxla.scipy.linalg",
    "jax.scipy.signal": "gpuxla.scipy.signal",
    "jax.scipy.stats": "gpuxla.scipy.stats",
    "jax.scipy.stats.norm": "gpuxla.scipy.stats.norm",
    "jax.scipy.stats.multivariate_normal": "gpuxla.scipy.stats.multivariate_normal",
    "jax.typing": "gpuxla.typing",
    "jax.dtypes": "gpuxla.dtypes",
    "jax.debug": "gpuxla.debug",
    "jax.sharding": "gpuxla.sharding",
    "jax.flatten_util": "gpuxla.flatten_util",
    "jax.experimental": "gpuxla.experimental",
    "jax.experimental.checkify": "gpuxla.experimental.checkify",
    "jax.experimental.layout": "gpuxla.experimental.layout",
    "jax.experimental.hijax": "gpuxla.experimental.hijax",
    "jax.ad_checkpoint": "gpuxla.ad_checkpoint",
    "jax.test_util": "gpuxla.test_util",
    "jax.errors": "gpuxla.errors",
    "jax.dlpack": "gpuxla.dlpack",
    "jax.core": "gpuxla._jax_core",
    "jax.custom_derivatives": "gpuxla.custom_derivatives",
    "jax.stages": "gpuxla.stages",
    # What libraries that define primitives (equinox) and flax use at import: honoured registries
    # and classes (see gpuxla/extend/core.py); anything else raises when used.
    "jax.extend": "gpuxla.extend",
    "jax.extend.core": "gpuxla.extend.core",
    "jax.extend.linear_util": "gpuxla.extend.linear_util",
    "jax.extend.source_info_util": "gpuxla.extend.source_info_util",
    "jax.interpreters": "gpuxla.interpreters",
    "jax.interpreters.ad": "gpuxla.interpreters.ad",
    "jax.interpreters.batching": "gpuxla.interpreters.batching",
    "jax.interpreters.mlir": "gpuxla.interpreters.mlir",
    "jax.interpreters.partial_eval": "gpuxla.interpreters.partial_eval",
    "jax.interpreters.pxla": "gpuxla.interpreters.pxla",
    "jax.example_libraries": "gpuxla.example_libraries",
    "jax.example_libraries.stax": "gpuxla.example_libraries.stax",
    "jax.example_libraries.optimizers": "gpuxla.example_libraries.optimizers",
}

_BLOCKED_ROOTS = ("jax", "jaxlib")
# Attributes that are modules in gpuxla and stand for JAX's (jax.config is JAX's config object).
_MODULE_ATTRS = {"jax.config"}
# JAX functions that libraries only wrap or name at import time (chex wraps the collectives; flax
# probes for new_ref): here they exist, and calling one raises NotImplementedError naming it.
_RAISE_WHEN_CALLED = ("jax.lax.pswapaxes", "jax.new_ref")


def _jax_array_type():
    """`jax.Array` through the aliases: an abstract class whose instances are gpuxla's arrays and
    its typed keys (`random.key`), as in JAX, where a key array is a `jax.Array`. (gpuxla's own
    `gpuxla.Array` is the node class, which keys wrap rather than extend.)"""
    global _JAX_ARRAY
    if _JAX_ARRAY is None:
        import abc

        from .core.graph import Array as _Node
        from .random import PRNGKeyArray

        class Array(abc.ABC):
            __doc__ = _jax_array_type.__doc__
        Array.__module__ = "jax"
        Array.register(_Node)
        Array.register(PRNGKeyArray)
        _JAX_ARRAY = Array
    return _JAX_ARRAY


class Ref:
    """`jax.Ref` through the aliases: JAX's mutable array reference. gpuxla has none, so nothing is
    one (flax.nnx tests isinstance against it); `jax.new_ref` raises NotImplementedError."""
    __module__ = "jax"

    def __init__(self, *args, **kwargs):
        raise NotImplementedError("jax.Ref is not in gpuxla yet (it has no mutable array references)")


_JAX_ARRAY = None
# JAX attributes that are not the gpuxla module's attribute of the same name.
_OVERRIDES = {"jax.Array": _jax_array_type, "jax.Ref": lambda: Ref}


def _not_yet(name):
    def missing(*args, **kwargs):
        raise NotImplementedError(f"{name} is not in gpuxla yet")
    missing.__name__ = missing.__qualname__ = name.rsplit(".", 1)[1]
    missing.__module__ = name.rsplit(".", 1)[0]
    missing.__doc__ = f"{name}: not in gpuxla yet; calling it raises NotImplementedError."
    return missing


class _JaxModule(types.ModuleType):
    """`jax.X` on gpuxla: attributes come from the gpuxla module; what it lacks raises naming
    the JAX API."""

    def __init__(self, name, target):
        super().__init__(name, target.__doc__)
        self.__dict__["_gpuxla_module"] = target
        self.__path__ = []          # a package: `import jax.X.Y` asks the finder below
        # (so `from jax.X import missing` says "cannot import name ... from 'jax.X' (<gpuxla's file>)")
        self.__file__ = getattr(target, "__file__", None)
        if name == "jax":
            self.__version__ = JAX_API_VERSION
            self.__version_info__ = tuple(int(p) for p in JAX_API_VERSION.split("."))

    def __getattr__(self, attr):
        sub = f"{self.__name__}.{attr}"
        if sub in ALIASES:
            return importlib.import_module(sub)
        if sub in _OVERRIDES:
            return _OVERRIDES[sub]()
        target = self.__dict__["_gpuxla_module"]
        try:
            value = getattr(target, attr)
        except AttributeError:
            pass
        else:
            # gpuxla's own subpackages (core, compiler, backends, transforms ...) are not the JAX
            # modules of the same names (jax.core is JAX's tracer API): only aliased ones show.
            if not isinstance(value, types.ModuleType) or sub in _MODULE_ATTRS:
                return value
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(f"module {self.__name__!r} has no attribute {attr!r}")
        if self.__name__ == "jax.lax" and attr.endswith("_p"):
            # JAX's primitive objects (libraries key tables on them): gpuxla's of the same name.
            from .core.graph import PRIMITIVES
            if attr[:-2] in PRIMITIVES:
                return PRIMITIVES[attr[:-2]]
        if sub in _RAISE_WHEN_CALLED:
            return _not_yet(sub)
        raise AttributeError(f"{sub} is not in gpuxla yet (the gpuxla module {target.__name__} standing for "
                             f"{self.__name__} has no {attr!r})")

    def __dir__(self):
        subs = {a[len(self.__name__) + 1:].split(".")[0] for a in ALIASES if a.startswith(self.__name__ + ".")}
        return sorted(set(dir(self.__dict__["_gpuxla_module"])) | subs)

    def __repr__(self):
        return f"<module {self.__name__!r} (gpuxla's {self.__dict__['_gpuxla_module'].__name__})>"


class _InternalModule(types.ModuleType):
    """A `jax._src` module libraries import at import time (gpuxla/_jax_internals.py): its few
    names, and AttributeError naming JAX's internal API for the rest."""

    def __init__(self, name, names):
        super().__init__(name, f"{name}: JAX's internal module; gpuxla gives only {sorted(names) or 'no names'}")
        self.__dict__.update(names)
        self.__path__ = []

    def __getattr__(self, attr):
        sub = f"{self.__name__}.{attr}"
        if sub in _internal_modules():
            return importlib.import_module(sub)
        raise AttributeError(f"{sub} is JAX's internal API; gpuxla does not provide it (gpuxla.compat aliases)")


def _internal_modules():
    from ._jax_internals import MODULES
    return MODULES


class _Loader(importlib.abc.Loader):
    def create_module(self, spec):
        if spec.name in ALIASES:
            return _JaxModule(spec.name, importlib.import_module(ALIASES[spec.name]))
        return _InternalModule(spec.name, _internal_modules()[spec.name]())

    def exec_module(self, module):
        parent, _, child = module.__name__.rpartition(".")
        if parent and parent in sys.modules:
            setattr(sys.modules[parent], child, module)


class _Finder(importlib.abc.MetaPathFinder):
    """First on sys.meta_path: jax modules come from ALIASES; the rest of jax, and jaxlib, fail
    with a message that names them (an installed real JAX is never imported instead)."""

    def find_spec(self, name, path=None, target=None):
        root = name.split(".")[0]
        if root not in _BLOCKED_ROOTS:
            return None
        if name in ALIASES or name in _internal_modules():
            return importlib.util.spec_from_loader(name, _Loader(), is_package=True)
        if root == "jaxlib":
            what = "jaxlib is JAX's compiled runtime; gpuxla stands in for jax and has no jaxlib"
        elif name.startswith("jax._src"):
            what = f"{name} is JAX's internal module; gpuxla does not provide JAX's internals"
        else:
            what = f"{name} is not in gpuxla yet"
        raise ModuleNotFoundError(f"No module named {name!r}: {what} (gpuxla.compat aliases)", name=name)


_finder = _Finder()


def install_jax_aliases():
    """Make `import jax`, `import jax.numpy as jnp`, `from jax import lax, random, tree` ... import
    gpuxla's modules (the list is `gpuxla.compat.ALIASES`), until `uninstall_jax_aliases()`.

    Call it before anything imports jax: a real JAX already imported raises RuntimeError (the two
    cannot share arrays). Calling it again does nothing."""
    real = [n for n, m in sys.modules.items()
            if n.split(".")[0] in _BLOCKED_ROOTS and m is not None and not isinstance(m, (_JaxModule, _InternalModule))]
    if real:
        raise RuntimeError(f"install_jax_aliases: JAX is already imported ({', '.join(sorted(real)[:3])} ...); "
                           "install the aliases before importing jax or any library that uses it")
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)
    importlib.import_module("jax")


def uninstall_jax_aliases():
    """Undo install_jax_aliases: drop the finder and every aliased module from sys.modules."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in [n for n, m in sys.modules.items() if isinstance(m, (_JaxModule, _InternalModule))]:
        del sys.modules[name]
