"""The one node type (`Array`), avals, primitives and their rule tables, graph walking and
lazy realization.

Every array is a node `(prim, params, inputs, aval)`. A node holds a buffer once computed:
  * a concrete leaf: prim is None, buffer set (from `jnp.array`, `device_put`, a realized result);
  * a symbolic leaf: prim is None, no buffer, `sym` names it (jit/vmap/make_jaxpr arguments);
  * a pending node: prim set, no buffer yet; realized on demand together with its pending
    subgraph, which the active backend compiles (cached by structure) and runs.
"""
import itertools
import math
import threading
import weakref

import numpy as np

from . import dtypes
from .. import config, errors
from ..errors import ConcretizationTypeError


class Aval:
    """Shape, dtype and weak-type flag of an array (JAX's ShapedArray)."""
    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type=False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type) and self.dtype != np.bool_    # bool is never weak (JAX)
        # Every array is made through an Aval, so this is where invalid shapes and dtypes stop
        # (jnp.zeros(-1), ShapeDtypeStruct((-1,)), np.array(["a"])), whichever call made them.
        if self.shape and min(self.shape) < 0:
            raise TypeError(f"Shapes must be non-negative, got {self.shape}: negative dimensions are not allowed")
        if self.dtype.kind in "OSUMm":
            raise TypeError(f"gpuxla only supports number and bool dtypes, got dtype {self.dtype} "
                            "(object, string, bytes, datetime and timedelta arrays are not arrays gpuxla can hold)")

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return math.prod(self.shape)        # Python ints: (2**32, 2**32) must not wrap to 0

    def update(self, shape=None, dtype=None, weak_type=None):
        return Aval(self.shape if shape is None else shape, self.dtype if dtype is None else dtype,
                    self.weak_type if weak_type is None else weak_type)

    def to_tangent_aval(self):
        """The aval of this value's tangents (JAX's): float0 for an integer or bool value."""
        return self if dtypes.is_inexact(self.dtype) else Aval(self.shape, dtypes.float0)

    def key(self):
        return (self.shape, self.dtype, self.weak_type)

    def __eq__(self, other):
        return isinstance(other, Aval) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def str_short(self):
        return f"{dtypes.dtype_short_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    __repr__ = str_short

    def __str__(self):      # as JAX prints an aval: ~float32[] for a weakly-typed scalar
        return f"{'~' if self.weak_type else ''}{self.dtype.name}[{','.join(map(str, self.shape))}]"


# The cost of evaluating a primitive once inside a kernel, for fusion's recompute-or-materialise
# rule: index movement is free (it only rewrites indices), division-like ops cost a few
# arithmetic ops, transcendentals about ten.
FREE, ARITH, SLOW, TRANSCENDENTAL = 0, 1, 4, 10


class Primitive:
    """A named operation. Rules for it live in the tables below, keyed by the primitive. What the
    tables and passes need to know about it is declared with it, as traits:

      family       "unary", "binary", "ternary", "compare" or "reduce": the family whose shared
                   rules (batching, lowering, reference) it takes; None for a primitive of its own
      elementwise  an output element depends only on the operands' elements at its index
      cost         one evaluation inside a kernel (FREE, ARITH, SLOW, TRANSCENDENTAL)
      exact_low    on 16-bit float operands its float32 result is already exact in their format
                   (one of the operands, or an integer): kernels store it without rounding back
      correctly_rounded  an IEEE basic operation (the exact result rounded once), which NumPy's
                   float32 arithmetic already computes: its reference needs no float64 detour
      marker       the identity on values; it only marks a node for the transformations
      library      never fused into a kernel: it runs as a library call
      nondiff      no tangent flows through it (a zero derivative, or integer/bool operands or
                   results)
    """

    def __init__(self, name, multiple_results=False, *, family=None, elementwise=False, cost=None,
                 exact_low=False, correctly_rounded=False, marker=False, library=False, nondiff=False):
        self.name = name
        self.multiple_results = multiple_results
        self.family, self.elementwise, self.marker = family, elementwise, marker
        self.cost = cost if cost is not None else FREE if marker else ARITH
        self.exact_low, self.correctly_rounded = exact_low, correctly_rounded
        self.library, self.nondiff = library, nondiff
        # params -> description, for a primitive whose value exists only inside a transformation
        # (the collectives): its nodes count as symbolic wherever they are built, jit's inlining
        # and graph rewrites included, so nothing tries to compute them eagerly.
        self.symbolic_value = None
        PRIMITIVES[name] = self

    def bind(self, *inputs, **params):
        return bind(self, inputs, params)

    def __repr__(self):
        return self.name


PRIMITIVES = {}
# The port to the runtime, installed by gpuxla/backends/__init__.py: from_numpy(array) -> buffer,
# to_numpy(buffer), synchronize(buffer), run_pending(order, outputs) -> buffers of outputs,
# device(), and reference_rules (the NumPy reference table: constant folding computes with it).
# The core and the compiler reach a backend only through it, so they import none.
runtime = None
# Rule tables. shape_rules: (avals, **params) -> Aval (or a list of Avals for multiple results).
# The NumPy implementations live in backends/numpy/reference.py, the derivative rules in
# transforms/ad.py, the batching rules in transforms/batching.py, CUDA lowerings in compiler/.
shape_rules = {}


class _State(threading.local):
    def __init__(self):
        # Weak references to the trace_scopes entered and not left (see trace_scope): a plain set,
        # so that `not state.scopes` (jit's fast path asks on every call) is one C call, where a
        # WeakSet's length is a Python method.
        self.scopes = set()

    @property
    def trace_level(self):
        """>0 while a transformation (grad, jvp, vmap, jit tracing) runs: realized nodes then keep
        their inputs, because the transformation may still walk through them."""
        return len(self.scopes)


state = _State()
MAX_PENDING_DEPTH = config.MAX_PENDING_DEPTH.get()
_ids = itertools.count()


class Array:
    """A gpuxla array: a node of the lazy expression graph.

    >>> import gpuxla.numpy as jnp
    >>> jnp.arange(3.0) + 1
    Array([1., 2., 3.], dtype=float32)
    """
    __slots__ = ("prim", "params", "inputs", "aval", "_buf", "sym", "depth", "id", "_device", "__weakref__")
    __array_priority__ = 100

    def __init__(self, prim, params, inputs, aval, buf=None, sym=None):
        self.prim = prim
        self.params = params
        self.inputs = inputs
        self.aval = aval
        self._buf = buf
        # sym: None, or a description of the symbolic leaf this node depends on (for errors).
        self.sym = sym
        self.depth = 0
        self.id = next(_ids)
        self._device = None     # set by device_put on another device; None: the default device

    # --- basic properties -------------------------------------------------------------------
    shape = property(lambda self: self.aval.shape)
    dtype = property(lambda self: self.aval.dtype)
    weak_type = property(lambda self: self.aval.weak_type)
    ndim = property(lambda self: len(self.aval.shape))
    size = property(lambda self: self.aval.size)

    @property
    def is_concrete(self):
        return self._buf is not None

    def __len__(self):
        if not self.aval.shape:
            raise TypeError("len() of unsized object (a 0-d array)")
        return self.aval.shape[0]

    def __hash__(self):
        raise TypeError("unhashable type: 'Array'. Use a tuple or the array's .item() as a key.")

    def __setitem__(self, idx, value):
        raise TypeError("'Array' object does not support item assignment. gpuxla arrays are "
                        "immutable; instead of ``x[idx] = y``, use ``x = x.at[idx].set(y)``.")

    def __iter__(self):
        if not self.aval.shape:
            raise TypeError("iteration over a 0-d array")
        return (self._row(i) for i in range(self.aval.shape[0]))

    def _row(self, i):
        shape = self.aval.shape
        row = self
        if shape[0] != 1:
            row = bind(PRIMITIVES["slice"], (self,), dict(start_indices=(i,) + (0,) * (len(shape) - 1),
                                                          limit_indices=(i + 1,) + shape[1:], strides=None))
        return bind(PRIMITIVES["reshape"], (row,), dict(new_sizes=shape[1:]))

    # --- deletion (buffer donation) -----------------------------------------------------------
    def delete(self):
        """Free this array's buffer now; any later use raises RuntimeError (as JAX's `delete`)."""
        if self._buf is None and self.sym is not None:
            raise RuntimeError("delete() was called on a traced array")
        self._buf, self.prim, self.params, self.inputs = DELETED, None, None, ()

    def is_deleted(self):
        return self._buf is DELETED

    # --- values -----------------------------------------------------------------------------
    def _value(self):
        """The host NumPy value (realizing the pending subgraph if needed)."""
        realize([self])
        if self._buf is DELETED:
            raise deleted_error(self)
        return runtime.to_numpy(self._buf)

    def __array__(self, dtype=None, copy=None):
        if self.sym is not None and self._buf is None:
            raise errors.TracerArrayConversionError(concretization_message(
                self, f"The numpy.ndarray conversion method __array__() was called on traced array with shape "
                      f"{self.aval.str_short()}."))
        v = self._value()
        return v if dtype is None else v.astype(dtype)

    def _scalar(self, kind, conv):
        if self.sym is not None and self._buf is None:
            cls, what = {"bool": (errors.TracerBoolConversionError, "Attempted boolean conversion of"),
                         "__index__": (errors.TracerIntegerConversionError, "The __index__() method was called on"),
                         "int": (errors.TracerIntegerConversionError, "The __int__() method was called on")}.get(
                kind, (ConcretizationTypeError, f"The problem arose with the `{kind}` function applied to"))
            raise cls(concretization_message(self, f"{what} traced array with shape {self.aval.str_short()}."))
        # As JAX: float()/int()/complex() need a 0-d array, bool() and .item() any size-1 array.
        if kind == "bool" and self.aval.size != 1:
            raise ValueError("The truth value of an array with more than one element is ambiguous. "
                             "Use a.any() or a.all()")
        if kind == "item" and self.aval.size != 1:
            raise ValueError("can only convert an array of size 1 to a Python scalar")
        if kind not in ("bool", "item") and self.aval.ndim != 0:
            raise TypeError(f"Only scalar arrays can be converted to Python scalars; got arr.ndim={self.aval.ndim}")
        return conv(self._value().reshape(()))

    def __bool__(self):
        if self.aval.size == 0:
            raise ValueError("The truth value of an empty array is ambiguous. Use `array.size > 0` to check "
                             "that an array is not empty.")
        return self._scalar("bool", bool)

    def __float__(self):
        return self._scalar("float", float)

    def __int__(self):
        return self._scalar("int", int)

    def __complex__(self):
        return self._scalar("complex", complex)

    def __index__(self):
        if not np.issubdtype(self.dtype, np.integer):
            raise TypeError(f"only integer arrays can be used as an index; got dtype {self.dtype}")
        return self._scalar("__index__", int)

    def item(self):
        return self._scalar("item", lambda v: v.item())

    def tolist(self):
        return self._value().tolist()

    # --- exchange: the realised buffer's own DLPack / CUDA array interface, no copy ---------------
    def _exported(self, what):
        if self.sym is not None and self._buf is None:
            raise errors.TracerArrayConversionError(concretization_message(
                self, f"{what} was called on traced array with shape {self.aval.str_short()}."))
        realize([self])
        return self._buf

    def __dlpack__(self, *args, **kwargs):
        return self._exported("__dlpack__").__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self._exported("__dlpack_device__").__dlpack_device__()

    @property
    def __cuda_array_interface__(self):
        buf = self._exported("__cuda_array_interface__")
        try:
            return buf.__cuda_array_interface__
        except AttributeError:
            raise AttributeError(f"__cuda_array_interface__: this {self.aval.str_short()} array is not in GPU "
                                 f"memory (its buffer is a {type(buf).__name__}); only arrays of the cuda platform "
                                 f"have one") from None

    def block_until_ready(self):
        if self._buf is None:
            realize([self])
        if self._buf is DELETED:
            raise deleted_error(self)
        if type(self._buf) is not np.ndarray:     # (a host array is computed: no call, ~0.15 us)
            runtime.synchronize(self._buf)
        return self

    @property
    def device(self):
        return self._device if self._device is not None else runtime.device()

    def devices(self):
        return {self.device}

    def __repr__(self):
        if self.sym is not None and self._buf is None:
            return f"Traced<{self.aval.str_short()}>with<{self.sym}>"
        if self._buf is DELETED:
            return f"Array(<deleted>, shape={self.aval.shape}, dtype={self.aval.dtype.name})"
        v = self._value()
        body = np.array2string(v, separator=", ", prefix="Array(")
        suffix = f", dtype={v.dtype.name}"
        if v.size == 0:
            suffix = f", shape={v.shape}" + suffix
        if self.aval.weak_type:
            suffix += ", weak_type=True"
        return f"Array({body}{suffix})"

    def __str__(self):
        if self.sym is not None and self._buf is None:
            return repr(self)
        return str(self._value())

    def __format__(self, spec):
        if self.aval.ndim == 0 and (self._buf is not None or self.sym is None):
            return format(self._value().item(), spec)
        if self._buf is not None or self.sym is None:
            return format(self._value(), spec)     # NumPy's rules (a spec on an array is a TypeError)
        return format(str(self), spec)

    def __reduce__(self):
        return (_from_numpy, (self._value(), self.aval.weak_type))


def _from_numpy(value, weak_type=False):
    return constant(value, weak_type=weak_type)


def concretization_message(node, detail=""):
    return (f"Abstract tracer value encountered where concrete value is expected: "
            f"{node.aval.str_short()} derived from {node.sym}.\n{detail}\n"
            "The value of this array is not known while the function is traced (under jit or "
            "vmap). If the value depends only on a function argument that can be static, mark it "
            "with `static_argnums` / `static_argnames` in jit; for value-dependent control flow "
            "use `lax.cond`, `lax.select`/`jnp.where`, `lax.while_loop` or `lax.fori_loop`.")


# --- node construction ----------------------------------------------------------------------
def constant(value, dtype=None, weak_type=False):
    """A concrete leaf holding `value` (a NumPy array or scalar) on the current backend."""
    # A copy, as JAX makes one: mutating the caller's NumPy array later must not change the Array.
    arr = np.array(value, dtype=dtype)
    return Array(None, None, (), Aval(arr.shape, arr.dtype, weak_type), buf=runtime.from_numpy(arr))


class _Deleted:
    """The `_buf` of an Array whose buffer was donated to a jit call or `delete()`d."""

    def __repr__(self):
        return "<deleted>"


DELETED = _Deleted()


def deleted_error(x):
    return RuntimeError(f"Array has been deleted with shape={x.aval.str_short()}. (Its buffer was donated to a "
                        "jit-compiled function, `donate_argnums`/`donate_argnames`, or freed by `.delete()`.)")


def from_buffer(buf, aval):
    return Array(None, None, (), aval, buf=buf)


def symbolic(aval, name):
    """A symbolic leaf: only its aval is known (jit/vmap/make_jaxpr arguments)."""
    return Array(None, None, (), aval, sym=name)


def lineage(prim, params, inputs):
    """(sym, depth) of a new node: the first symbolic leaf it depends on (None when it can be
    computed now), and its pending depth."""
    sym = None
    depth = 0
    for x in inputs:
        if x._buf is None:
            if sym is None and x.sym is not None:
                sym = x.sym
            if x.depth >= depth:
                depth = x.depth + 1
    if sym is None and prim.symbolic_value is not None:
        sym = prim.symbolic_value(params or {})
    return sym, depth


def bind(prim, inputs, params):
    for x in inputs:
        if not isinstance(x, Array):
            raise TypeError(f"{prim.name}: inputs must be gpuxla Arrays at this level, got {type(x).__name__}")
        if x._buf is DELETED:
            raise deleted_error(x)
    aval = shape_rules[prim]([x.aval for x in inputs], **params)
    node = Array(prim, params, tuple(inputs), aval)
    node.sym, node.depth = sym, depth = lineage(prim, params, inputs)
    if prim.multiple_results:
        # Realize the projections together, never the tuple node itself: a computed tuple is not
        # a buffer a Program can take as an input.
        outs = [Array(proj_p, {"index": i}, (node,), a, sym=sym) for i, a in enumerate(aval)]
        for o in outs:
            o.depth = depth + 1
        _projections[node.id] = tuple(weakref.ref(o) for o in outs)
        weakref.finalize(node, _projections.pop, node.id, None)
        if (depth + 1 > MAX_PENDING_DEPTH or config.CHECK_INVALID) and sym is None:
            _cut(outs)
            check_invalid(prim.name, outs)
        return outs
    if (depth > MAX_PENDING_DEPTH or config.CHECK_INVALID) and sym is None:
        _cut([node])
        check_invalid(prim.name, [node])
    return node


def check_invalid(what, nodes):
    """jax_debug_nans / jax_debug_infs: JAX's FloatingPointError when a computed result holds a NaN
    (an inf). With either option on, eager ops run one by one, so `what` is the primitive that
    made the value, as in JAX."""
    for kind in config.CHECK_INVALID:
        test = np.isnan if kind == "nan" else np.isinf
        for n in nodes:
            if n._buf is not None and dtypes.is_inexact(n.dtype) and test(runtime.to_numpy(n._buf)).any():
                raise FloatingPointError(f"invalid value ({kind}) encountered in {what}")


def _cut(nodes):
    """Realize `nodes` at the pending-depth bound, keeping the values of every pending node behind
    them: nodes built later may share those, and would otherwise compute them again at every cut."""
    order = toposort(nodes, stop=_has_buffer)
    realize([n for n in order if n._buf is None and n.prim is not None and not isinstance(n.aval, tuple)])


# proj_p picks one result of a multiple-results node; its aval is a tuple of Avals.
proj_p = Primitive("proj")
shape_rules[proj_p] = lambda avals, index: avals[0][index]


# --- graph walking --------------------------------------------------------------------------
def toposort(outputs, stop=None, inputs=None):
    """Nodes reachable from `outputs`, inputs before consumers. `stop(node)` ends the walk;
    `inputs(node)` chooses the edges to follow (default: all of node.inputs)."""
    order, seen = [], set()
    stack = [(n, False) for n in reversed(outputs)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node.id in seen:
            continue
        seen.add(node.id)
        stack.append((node, True))
        if stop is None or not stop(node):
            for x in reversed(node.inputs if inputs is None else inputs(node)):
                if x.id not in seen:
                    stack.append((x, False))
    return order


def _has_buffer(node):
    return node._buf is not None


def realize(nodes):
    """Compute the buffers of `nodes` by running their pending subgraph on the backend."""
    pending = [n for n in nodes if n._buf is None]
    if not pending:
        return
    order = toposort(pending, stop=_has_buffer)
    siblings = _pending_siblings(order)
    if siblings:
        order, pending = order + siblings, pending + siblings
    for n in order:
        if n._buf is None and n.prim is None:
            raise ConcretizationTypeError(concretization_message(
                pending[0], "A concrete value was requested (printing, np.asarray, bool(), float(), .item() ...)."))
        if n._buf is DELETED:
            # A pending computation reads an array donated since it was built (eager work is lazy
            # here; JAX would have run it before the donation).
            raise deleted_error(n)
    bufs = runtime.run_pending(order, pending)
    keep = state.trace_level > 0
    for n, b in zip(pending, bufs):
        n._buf = b
        if not keep:
            # Outside transformations a realized node becomes a concrete leaf, so eager loops
            # free their intermediates.
            n.prim, n.params, n.inputs = None, None, ()
        n.depth = 0


# id of a multiple-results node -> weak references to its projections (bind makes them together;
# the entry goes with the node)
_projections = {}


def _pending_siblings(order):
    """The live, pending projections of the multiple-results nodes in `order` that `order` lacks:
    realized with the others, so a node (a scan, an SVD) runs once however its results are read,
    and a host callback inside it runs once."""
    ids, out = None, []
    for n in order:
        if n.prim is proj_p and n._buf is None:
            refs = _projections.get(n.inputs[0].id)
            if refs is None:
                continue
            if ids is None:
                ids = {m.id for m in order}
            for r in refs:
                s = r()
                if s is not None and s._buf is None and s.prim is proj_p and s.id not in ids:
                    ids.add(s.id)
                    out.append(s)
    return out


class trace_scope:
    """Marks that a transformation is running (see `_State.trace_level`). Counted while it is
    referenced, not by a counter its __exit__ lowers: an interrupt can land between a with
    block's end and the __exit__ call (Python reports the with line there, and a KeyboardInterrupt
    raised at it skips __exit__), and a counter left raised made every later jit trace as if under
    grad (uncached). An unwound with statement drops its scope, which then stops counting."""
    __slots__ = ("__weakref__",)

    def __enter__(self):
        scopes = state.scopes
        # (the reference's callback drops it from this thread's set when the scope dies unexited)
        scopes.add(weakref.ref(self, scopes.discard))

    def __exit__(self, *exc):
        state.scopes.discard(weakref.ref(self))
