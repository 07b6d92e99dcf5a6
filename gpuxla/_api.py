"""Devices and transfers: devices(), device_put, device_get, block_until_ready; config scopes."""
import contextlib
import math

import numpy as np

from .backends import get_backend
from .core.graph import Array, from_buffer, realize
from .parallel.devices import (devices, local_devices, device_count, local_device_count,  # noqa: F401
                               process_index, process_count)
from .tree_util import tree_flatten, tree_map, tree_unflatten


def default_backend():
    """'cpu' on the NumPy (and cuda-interpret) platforms, 'gpu' on CUDA."""
    return "gpu" if get_backend().platform == "cuda" else "cpu"


def device_put(x, device=None):
    """Place arrays (pytrees too) on `device` (default: the default device); NumPy arrays and
    scalars become Arrays. On simulated host devices placing only labels the array."""
    from . import numpy as jnp
    from .parallel.devices import check_device
    if device is None:
        return tree_map(lambda v: v if isinstance(v, Array) else jnp.asarray(v), x)
    from .sharding import Sharding
    if isinstance(device, Sharding):          # gpuxla's arrays are whole on one device (sharding.py)
        ds = device.device_set
        device = next(iter(ds)) if len(ds) == 1 else None
        if device is None:
            return device_put(x)
    device = check_device(device)
    backend = get_backend()
    # On a GPU other than the default one the buffer moves there; computations on it copy it back
    # to the GPU computing (JAX would compute on its device), pmap uses it where it is.
    gpu = None
    if backend.platform == "cuda" and device != backend.device:
        from .parallel.devices import gpu_ordinals
        gpu = gpu_ordinals()[local_devices().index(device)]

    def put(v):
        v = jnp.asarray(v)
        realize([v])
        buf = v._buf
        if backend.platform == "cuda":
            buf = backend.here(buf) if gpu is None else backend.place(buf, gpu)
        out = from_buffer(buf, v.aval)
        out._device = device
        return out
    return tree_map(put, x)


def device_get(x):
    """Copy arrays (pytrees too) back to the host as NumPy arrays."""
    leaves, tree = tree_flatten(x)
    realize([v for v in leaves if isinstance(v, Array)])
    return tree_unflatten(tree, [np.asarray(v) if isinstance(v, Array) else v for v in leaves])


def block_until_ready(x):
    """Wait until every array in the pytree `x` is computed; returns `x`."""
    leaves = [v for v in tree_flatten(x)[0] if isinstance(v, Array)]
    realize(leaves)
    for v in leaves:
        v.block_until_ready()
    return x


class ShapeDtypeStruct:
    def __init__(self, shape, dtype, weak_type=False, sharding=None):
        self.shape, self.dtype, self.weak_type = tuple(shape), np.dtype(dtype), weak_type
        self.sharding = sharding        # kept, as JAX keeps it; gpuxla places nothing by it

    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))

    def __repr__(self):
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name})"

    def __eq__(self, other):
        return isinstance(other, ShapeDtypeStruct) and (self.shape, self.dtype) == (other.shape, other.dtype)

    def __hash__(self):
        return hash((self.shape, self.dtype))


@contextlib.contextmanager
def numpy_dtype_promotion(promotion):
    """JAX's dtype-promotion mode for a block: "standard" (JAX's lattice, gpuxla's only mode; equinox
    asks for it around its layers) runs the block as it is; "strict" is not in gpuxla yet."""
    if promotion not in ("standard", "strict"):
        raise ValueError(f"jax_numpy_dtype_promotion must be 'standard' or 'strict', got {promotion!r}")
    if promotion == "strict":
        raise NotImplementedError("jax.numpy_dtype_promotion('strict') is not in gpuxla yet (it promotes by JAX's "
                                  "standard lattice only)")
    yield


def eval_shape(fun, *args, **kwargs):
    """Shapes and dtypes of fun's outputs, computed by tracing without running anything."""
    from .core.trace import trace_values
    from .core.graph import Aval, symbolic
    args = tree_map(lambda a: symbolic(Aval(a.shape, a.dtype, getattr(a, "weak_type", False)), "eval_shape argument")
                    if isinstance(a, ShapeDtypeStruct) else a, args)
    t = trace_values(fun, args, kwargs, what="eval_shape")
    outs = t.outs[:t.out_tree.num_leaves]     # (past them: effect tokens of a function returning nothing)
    return tree_unflatten(t.out_tree, [ShapeDtypeStruct(o.shape, o.dtype, o.weak_type) for o in outs])


def default_matmul_precision(precision):
    """Set `jax_default_matmul_precision` for a block in this thread, as JAX scopes it, e.g.
    ``with default_matmul_precision("tensorfloat32"):`` (TF32 matmuls on the cuda platform); other
    threads keep their precision. jit retraces for the new value."""
    from . import config
    return config.override("jax_default_matmul_precision", precision)


def _config_context(option, doc):
    """A JAX config context manager, `with jax.<name>(value): ...`: the option for the block (for
    this thread where JAX scopes it to the thread, else process-wide), restored afterwards."""
    @contextlib.contextmanager
    def context(value=True):
        from . import config
        if option in config.THREAD_LOCAL:
            with config.override(option, value):
                yield
            return
        old = config.read(option)
        config.update(option, value)
        try:
            yield
        finally:
            config.update(option, old)
    context.__name__ = context.__qualname__ = option[len("jax_"):]
    context.__doc__ = doc
    return context


enable_x64 = _config_context("jax_enable_x64", "64-bit dtypes by default within the block.")
debug_nans = _config_context("jax_debug_nans", "Raise FloatingPointError where a NaN is produced, within the block.")
debug_infs = _config_context("jax_debug_infs", "Raise FloatingPointError where an inf is produced, within the block.")
log_compiles = _config_context("jax_log_compiles", "Log every compile (WARNING on the gpuxla logger) within the block.")
numpy_rank_promotion = _config_context("jax_numpy_rank_promotion",
                                       "'allow', 'warn' or 'raise' on implicit rank promotion, within the block.")
threefry_partitionable = _config_context("jax_threefry_partitionable",
                                         "The threefry counter layout random uses, within the block.")


# --- the rest of JAX's top-level API ----------------------------------------------------------
def typeof(x):
    """The abstract value of `x` (JAX's ShapedArray): shape, dtype, weak_type and sharding.

    >>> typeof(1.0)
    f32[]
    """
    from .core.trace import aval_of
    return aval_of(x)


@contextlib.contextmanager
def disable_jit(disable=True):
    """Within the block, jitted functions run their Python code eagerly (for print-debugging)."""
    from . import config
    old = config.read("jax_disable_jit")
    config.update("jax_disable_jit", bool(disable))
    try:
        yield
    finally:
        config.update("jax_disable_jit", old)


def clear_caches():
    """Drop every compiled program: each jit cache, the eager cache, and the compilers' in-memory
    kernel caches (the disk cache stays; it is checked and reused)."""
    import sys
    from .transforms import jit as _jit
    from . import backends
    for per_fun in list(_jit._shared.values()):
        for cache in per_fun.values():
            cache.clear()
    with backends._eager_lock:
        backends._eager_cache.clear()
    for name in ("gpuxla.backends.cuda.nvrtc", "gpuxla.backends.cuda.interpret"):
        mod = sys.modules.get(name)     # only compilers already in use: never import CuPy here
        if mod is not None:
            mod.clear_memory_cache()


def linear_transpose(fun, *primals, reduce_axes=()):
    """The transpose of the linear function `fun` at inputs shaped like `primals` (arrays or
    ShapeDtypeStructs): returns ``f_t(cotangent) -> tuple of input cotangents``.

    gpuxla transposes fun's derivative at zero, after checking on the traced graph that fun is
    linear in its inputs (a non-linear primitive on the path from an input raises TypeError)."""
    from . import numpy as jnp
    from .transforms.ad import vjp
    leaves, in_tree = tree_flatten(primals)
    zeros = [jnp.zeros(x.shape, x.dtype) for x in leaves]
    for x in leaves:
        if not np.issubdtype(np.dtype(x.dtype), np.inexact):
            raise TypeError(f"linear_transpose only supports float and complex inputs, got {np.dtype(x.dtype)}")
    _check_linear(fun, in_tree, leaves)
    out, pullback = vjp(lambda *xs: fun(*tree_unflatten(in_tree, xs)), *zeros)
    out_tree = tree_flatten(out)[1]

    def transposed(*cotangent):
        ct = cotangent[0] if len(cotangent) == 1 else cotangent
        if tree_flatten(ct)[1] != out_tree:
            raise TypeError(f"linear_transpose: cotangent structure {tree_flatten(ct)[1]} does not match the "
                            f"output structure {out_tree}")
        return tree_unflatten(in_tree, list(pullback(ct)))
    return transposed


# Primitives linear in every operand that depends on the inputs (with the operands named by
# position where only some may: mul and dot_general in one, select in its two branches).
_LINEAR = {"add", "sub", "neg", "reshape", "transpose", "broadcast_in_dim", "slice", "dynamic_slice", "pad",
           "concatenate", "reduce_sum", "convert_element_type", "squeeze", "expand_dims", "rev", "gather",
           "scatter", "cumsum", "real", "imag", "complex", "conj", "fft", "copy", "proj", "select_n",
           "dynamic_update_slice", "reduce_precision", "triangular_solve", "linear_solve"}
_LINEAR_IN_ONE = {"mul", "dot_general", "div", "conv_general_dilated"}


def _check_linear(fun, in_tree, leaves):
    from .core.graph import Aval, toposort
    from .core.trace import trace, LEAVE
    t = trace(lambda *xs: fun(*tree_unflatten(in_tree, xs)), [Aval(x.shape, x.dtype) for x in leaves],
              what="linear_transpose", names=["an input of linear_transpose"] * len(leaves), closed=LEAVE)
    dep = {x.id for x in t.leaves}
    for n in toposort(t.outs):
        if n.prim is None or not any(x.id in dep for x in n.inputs):
            continue
        name = n.prim.name
        k = sum(x.id in dep for x in n.inputs)
        ok = name in _LINEAR or (name in _LINEAR_IN_ONE and k == 1 and (name != "div" or n.inputs[0].id in dep))
        if name in ("select_n", "gather", "dynamic_slice", "dynamic_update_slice", "scatter") \
                and any(x.id in dep for i, x in enumerate(n.inputs) if _is_index_operand(name, i)):
            ok = False      # a predicate or an index that depends on the inputs
        if name == "scatter":
            ok = ok and n.params["mode"] in ("add", "set")
        if not ok:
            raise TypeError(f"linear_transpose: {getattr(fun, '__name__', 'fun')} is not linear in its inputs: "
                            f"the primitive '{name}' applies to them non-linearly")
        dep.add(n.id)


def _is_index_operand(name, i):
    return {"select_n": i == 0, "gather": i == 1, "scatter": i == 1, "dynamic_slice": i >= 1,
            "dynamic_update_slice": i >= 2}[name]


@contextlib.contextmanager
def named_scope(name):
    """Names the operations of a block in JAX's compiled programs (profiling); gpuxla's kernels
    are named by their contents, so this only checks the name."""
    if not isinstance(name, str):
        raise TypeError(f"named_scope name must be a string, got {name!r}")
    yield


def named_call(fun, *, name=None):
    """`fun` itself: JAX uses the name in profiles only."""
    return fun


def pure_callback(callback, result_shape_dtypes, *args, sharding=None, vmap_method=None, **kwargs):
    """Call the host function `callback` on NumPy values of `args`; see gpuxla.debug for the
    shared machinery (works eagerly and under jit, vmap and grad-free code)."""
    from .debug import _pure_callback
    return _pure_callback(callback, result_shape_dtypes, args, kwargs, vmap_method)


def process_indices(backend=None):
    """The indices of the processes (several after gpuxla.distributed.initialize)."""
    return list(range(process_count(backend)))


host_count, host_id, host_ids = process_count, process_index, process_indices
