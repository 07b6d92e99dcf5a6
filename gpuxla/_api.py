"""Devices and transfers: devices(), device_put, device_get, block_until_ready; config scopes."""
import contextlib
import math

import numpy as np

from .backends import current_device, get_backend
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
        def put_default(v):
            if isinstance(v, Array):
                return v
            check_transfer("host_to_device", True, f"device_put of a {type(v).__name__} of shape {np.shape(v)}")
            return jnp.asarray(v)
        return tree_map(put_default, x)
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
    if backend.platform == "cuda" and device != current_device():
        from .parallel.devices import gpu_ordinals
        gpu = gpu_ordinals()[local_devices().index(device)]

    def put(v):
        if not isinstance(v, Array):
            check_transfer("host_to_device", True, f"device_put of a {type(v).__name__} of shape {np.shape(v)}")
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
    if get_backend().platform == "cuda":       # the CPU platforms hold arrays in host memory already
        for v in leaves:
            if isinstance(v, Array):
                check_transfer("device_to_host", True, f"device_get of {v.aval.str_short()}")
    return tree_unflatten(tree, [np.asarray(v) if isinstance(v, Array) else v for v in leaves])


def block_until_ready(x):
    """Wait until every array in the pytree `x` is computed; returns `x`."""
    if type(x) is Array:        # (one array, the common case: no pytree flattening, ~0.8 us)
        return x.block_until_ready()
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


# --- custom_gradient, closure_convert, ensure_compile_time_eval -------------------------------
def custom_gradient(fun):
    """TensorFlow-style custom gradients (jax.custom_gradient): `fun(*args)` returns
    ``(value, vjp)`` where ``vjp(ct)`` gives one cotangent per argument (a tuple; a single value
    is taken as a one-tuple). A custom_vjp whose forward pass is `fun` itself.

    >>> @jax.custom_gradient
    ... def f(x):
    ...     return x ** 2, lambda g: (g * x,)
    >>> jax.grad(f)(3.0)      # the rule says g * x, not 2 * x       # doctest: +SKIP
    Array(3., dtype=float32, weak_type=True)
    """
    import functools
    from .transforms.custom import custom_vjp

    def fwd(*args):
        out = fun(*args)
        if not (isinstance(out, (tuple, list)) and len(out) == 2 and callable(out[1])):
            raise TypeError(f"custom_gradient: {getattr(fun, '__name__', 'fun')} must return a pair "
                            f"(value, vjp function), got {type(out).__name__}")
        return out[0], out[1]

    def bwd(vjp_fn, ct):
        cts = vjp_fn(ct)
        return tuple(cts) if isinstance(cts, (tuple, list)) else (cts,)

    wrapped = custom_vjp(lambda *args: fwd(*args)[0])
    wrapped.defvjp(fwd, bwd)
    return functools.wraps(fun)(lambda *args: wrapped(*args))


def closure_convert(fun, *example_args):
    """`(converted, consts)` with ``converted(*args, *consts) == fun(*args)`` (jax.closure_convert):
    the float arrays `fun` reads from outside its arguments (traced on `example_args`) become
    explicit arguments, so a custom_vjp can differentiate with respect to them. Other closed-over
    values stay baked into `converted`."""
    from .core.trace import INPUTS, aval_of, substitute, trace
    flat, in_tree = tree_flatten(example_args)
    t = trace(lambda *xs: fun(*tree_unflatten(in_tree, list(xs))), [aval_of(x) for x in flat],
              what="closure_convert", names=["an argument of closure_convert"] * len(flat), closed=INPUTS)
    hoist = [i for i, c in enumerate(t.captured) if np.issubdtype(c.dtype, np.inexact)]
    consts = [t.captured[i] for i in hoist]

    def converted(*args):
        from . import numpy as jnp
        if len(args) < len(consts):
            raise TypeError(f"closure_convert: the converted function takes the arguments and then {len(consts)} "
                            f"hoisted constants, got {len(args)} arguments")
        xs, cs = args[:len(args) - len(consts)], args[len(args) - len(consts):]
        flat_x, tree_x = tree_flatten(xs)
        if tree_x != in_tree:
            raise TypeError(f"closure_convert: arguments {tree_x} do not match the example arguments {in_tree}")
        captured = list(t.captured)
        for i, c in zip(hoist, cs):
            captured[i] = jnp.asarray(c)
        return tree_unflatten(t.out_tree, substitute(t, [jnp.asarray(x) for x in flat_x], captured))
    return converted, consts


@contextlib.contextmanager
def ensure_compile_time_eval():
    """Evaluate the block's operations on known values now, even inside jit (jax.ensure_compile_time_eval).

    gpuxla does so already: an operation whose inputs are all known is a pending node, computed when
    its value is asked for (`bool`, `int`, indexing with it), also while jit traces; one that
    depends on a traced argument raises ConcretizationTypeError when its value is asked for, as
    JAX's context does. So the block needs no other mode."""
    yield


def live_arrays(platform=None):
    """The Arrays alive in this process that hold a computed buffer (jax.live_arrays); `platform`
    must be None or the active platform's name. A scan of live objects: a debugging aid, not fast."""
    import gc
    if platform is not None and platform not in (get_backend().platform, default_backend()):
        raise ValueError(f"live_arrays: platform {platform!r} is not the active platform "
                         f"{get_backend().platform!r}")
    return [o for o in gc.get_objects() if type(o) is Array and o._buf is not None and not o.is_deleted()]


# --- transfer guards ----------------------------------------------------------------------------
def _guard(option, doc):
    @contextlib.contextmanager
    def guard(new_val):
        from . import config
        with config.override(option, new_val):
            yield
    guard.__name__ = option[4:]
    guard.__doc__ = doc
    return guard


transfer_guard = _guard("jax_transfer_guard", """Set the transfer guard level of every direction for a
    block in this thread: "allow"; "log" / "disallow" implicit transfers (explicit ones pass);
    "log_explicit" / "disallow_explicit" every transfer. gpuxla checks host-to-device transfers at
    jnp.asarray/jnp.array called from user code (implicit) and device_put (explicit), and
    device-to-host transfers at device_get (explicit) on the cuda platform; on the CPU platforms
    arrays live in host memory, so (as JAX's CPU backend) reading them is no transfer. Not
    checked: NumPy arrays and Python scalars mixed into operations, and jit arguments.""")
transfer_guard_host_to_device = _guard("jax_transfer_guard_host_to_device",
                                       "The transfer guard level of host-to-device transfers (see transfer_guard).")
transfer_guard_device_to_host = _guard("jax_transfer_guard_device_to_host",
                                       "The transfer guard level of device-to-host transfers (see transfer_guard).")
transfer_guard_device_to_device = _guard("jax_transfer_guard_device_to_device",
                                         "The transfer guard level of device-to-device transfers (see transfer_guard).")


def check_transfer(direction, explicit, what):
    """Apply the transfer guard of `direction` ("host_to_device", ...) to one transfer: raise
    JaxRuntimeError where disallowed, log a warning on the gpuxla logger where logged."""
    from . import config
    level = config.read(f"jax_transfer_guard_{direction}") or config.read("jax_transfer_guard") or "allow"
    if level == "allow" or (explicit and not level.endswith("_explicit")):
        return
    msg = f"{direction.replace('_', '-')} transfer: {what}"
    if level.startswith("disallow"):
        from .errors import JaxRuntimeError
        raise JaxRuntimeError(f"INVALID_ARGUMENT: Disallowed {msg}")
    import logging
    logging.getLogger("gpuxla").warning("%s %s", "Explicit" if explicit else "Implicit", msg)


def print_environment_info(return_string=False):
    """Versions, platform and devices, as jax.print_environment_info (for bug reports)."""
    import platform
    import sys
    import textwrap
    from . import __version__
    devs = devices()
    info = textwrap.dedent(f"""\
        gpuxla:    {__version__}
        numpy:     {np.__version__}
        python:    {sys.version.replace(chr(10), ' ')}
        device info: {get_backend().platform}-{len(devs)}, {len(local_devices())} local devices
        process_count: {process_count()}
        platform: {platform.uname()}
        """)
    if return_string:
        return info
    print(info)
