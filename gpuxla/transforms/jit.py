"""jit: trace once per signature, optimise the graph, compile it, cache the executable.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> @jax.jit
    ... def f(x):
    ...     return jnp.tanh(x) * 2.0
    >>> f(jnp.zeros(2))
    Array([0., 0.], dtype=float32)

A call flattens its arguments, keys the cache by (pytree structure, avals incl. weak types, static
arguments, the trace-affecting config flags and the vmap axis names bound here), and on a hit runs
the executable on the argument buffers: no Python tracing. A call with positional arguments of
the last signature again skips even the flattening and the key (`_Fast`: generated code checks
the structure and avals leaf by leaf and builds the results), the dispatch of training loops.
Donated arguments (donate_argnums/donate_argnames) are deleted after the call; the kernel
platforms may write outputs into their buffers. On a miss the function runs once on
symbolic leaves (`core.graph.symbolic`), the graph goes through the compiler passes
(`compiler.passes.OPTIMIZE`), and the backend compiles it on first execution.

Under an outer transformation (arguments that are symbolic, or nodes grad/vmap still have to walk
through) nothing is executed: the optimised graph is copied onto the arguments, so grad, vmap and
an outer jit see ordinary primitives. The cache is shared by every `jit` of the same function
with the same options, as in JAX: `jit(f)(x)` twice traces once.

`GPUXLA_DEBUG=1` prints each traced graph to stderr; `GPUXLA_DUMP=dir` writes every stage (traced,
each pass that changed the graph, lowered, program) to `dir`.
"""
import functools
import inspect
import itertools
import os
import sys
import weakref

import numpy as np

from .. import backends
from ..backends import CrossPlatform, compile_tiered, from_numpy, get_backend, log_compile
from ..compiler import passes as _passes, roofline
from ..compiler.fusion import Fusion
from .. import config
from . import batching
from ..core.graph import DELETED, Array, Aval, check_invalid, deleted_error, from_buffer, realize, state, symbolic
from ..core.jaxpr import pp_graph
from ..core.trace import BAKE, Traced, arg_names, as_node, aval_of, substitute, trace
from ..core.program import Program
from ..tree_util import _LEAF, PyTreeDef, _dispatch, _flat, _registry, _unflatten, tree_flatten

__all__ = ["jit", "Lowered", "Compiled"]

# fun -> {jit options: {signature: _Entry}}; weak so a dead function frees its executables.
_shared = weakref.WeakKeyDictionary()
_dump_ids = itertools.count()


def jit(fun=None, *, in_shardings=None, out_shardings=None, static_argnums=None, static_argnames=None,
        donate_argnums=None, donate_argnames=None, keep_unused=False, device=None, backend=None, inline=False,
        abstracted_axes=None):
    """Compile `fun`: trace it once per argument signature, optimise and compile the graph, and
    run the cached executable on later calls.

    Arguments at `static_argnums` / `static_argnames` are Python values baked into the trace (they
    must be hashable; each new value traces again). The arrays of arguments at `donate_argnums` /
    `donate_argnames` are given up by the caller: the executable may write an output of the same
    shape and dtype into a donated buffer (the cuda platforms do where the input is read for the
    last time before that output is written), and afterwards the donated Arrays are deleted (using
    one raises RuntimeError), as in JAX. `keep_unused`, `device`, `backend` and `inline` are
    accepted for compatibility; `in_shardings`/`out_shardings` only as pytrees of None or of gpuxla
    Shardings (which all name its one device), anything else raises.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.jit(lambda x, n: x ** n, static_argnums=1)(jnp.arange(3.0), 2)
    Array([0., 1., 4.], dtype=float32)
    """
    from ..sharding import Sharding
    for name, spec in (("in_shardings", in_shardings), ("out_shardings", out_shardings)):
        # gpuxla's shardings all name its one device (nothing is split): they place nothing.
        if any(leaf is not None and not isinstance(leaf, Sharding)
               for leaf in tree_flatten(spec, is_leaf=lambda v: v is None or isinstance(v, Sharding))[0]):
            raise NotImplementedError(f"jit({name}=...) is not in gpuxla yet: only None or one-device Shardings "
                                      "are accepted")
    if fun is None:
        return functools.partial(jit, static_argnums=static_argnums, static_argnames=static_argnames,
                                 donate_argnums=donate_argnums, donate_argnames=donate_argnames)
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}")
    return JitFunction(fun, static_argnums, static_argnames, donate_argnums, donate_argnames)


def _as_tuple(x, kind):
    if x is None:
        return ()
    if isinstance(x, kind):
        return (x,)
    return tuple(x)


class JitFunction:
    """What `jit(f)` returns: callable, with `.lower`, `.eval_shape`, `.clear_cache` and
    `__wrapped__` (the original function)."""

    def __init__(self, fun, static_argnums=None, static_argnames=None, donate_argnums=None, donate_argnames=None):
        functools.update_wrapper(self, fun)
        self._fun = fun
        nums = _as_tuple(static_argnums, int)
        names = _as_tuple(static_argnames, str)
        nums, names = _resolve_static(fun, nums, names)
        self._static_nums = frozenset(nums)
        self._static_names = frozenset(names)
        self._has_static = bool(nums or names)
        dnums, dnames = _resolve_donated(fun, _as_tuple(donate_argnums, int), _as_tuple(donate_argnames, str))
        if set(dnums) & self._static_nums:
            raise ValueError(f"static_argnums {sorted(self._static_nums)} and donate_argnums {sorted(dnums)} "
                             "cannot intersect.")
        if set(dnames) & self._static_names:
            raise ValueError(f"static_argnames {sorted(self._static_names)} and donate_argnames {sorted(dnames)} "
                             "cannot intersect.")
        self._donate_nums, self._donate_names = frozenset(dnums), frozenset(dnames)
        self._donate = bool(dnums or dnames)
        self._fast = None
        opts = (tuple(sorted(nums)), tuple(sorted(names)))
        try:
            self._cache = _shared.setdefault(fun, {}).setdefault(opts, {})
        except TypeError:     # not weakly referenceable (a builtin, say): a private cache
            self._cache = {}
        self._fname = getattr(fun, "__name__", type(fun).__name__)

    def __get__(self, obj, objtype=None):
        # As a method decorator: the instance becomes the first argument.
        return self if obj is None else functools.partial(self, obj)

    def __repr__(self):
        return f"<jitted function {self._fname}>"

    # --- the call ---------------------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        fast = self._fast
        # The fast path (_Fast): the last signature called again, outside any transformation, with
        # no option changed since (update() makes a new TRACE_FLAGS tuple), no scoped override in
        # this thread, no vmap frame and the same backend -- each read inline, not through
        # trace_flags()/axis_env_key()/get_backend(): three calls were 0.2 us of a ~2.5 us call.
        # (`not state.scopes`: trace_level is 0)
        if fast is not None and not kwargs and fast.flags is config.TRACE_FLAGS and fast.alive \
                and not config._local.overrides and not state.scopes and not batching._env.frames \
                and fast.backend is backends._backend:
            if not fast.donated:
                out = fast.call(args)
                if out is not _MISS:
                    return out
            else:
                outs = fast.run_donating(args)
                if outs is not None:
                    return fast.build(outs)
        if config.read("jax_disable_jit"):
            return self._fun(*args, **kwargs)
        given = (args, kwargs)
        entry, args, kwargs, leaves, ready = self._lookup(args, kwargs)
        level = state.trace_level
        if not ready or (level and entry.closure):
            if not self._realize_pending(leaves, level) or (level and entry.closure):
                outs = _effects_kept(entry, entry.inline([as_node(x) for x in leaves]))
                return _unflatten(entry.out_node, iter(outs))
        donated = self._donated_leaves(given) if self._donate and not level else ()
        outs = entry.run(leaves, donated)
        for j in donated:
            if type(leaves[j]) is Array:
                leaves[j].delete()
        if config.CHECK_INVALID:
            self._check_invalid(outs, *given)
        elif not level and not kwargs and not entry.closure:
            self._fast = entry.fast(given[0], leaves, donated, self._positional_statics(given[0]))
        return _unflatten(entry.out_node, iter(outs))

    def _positional_statics(self, args):
        """((position, value), ...) of the static arguments of a call with positional arguments
        only, as `_split` picks them."""
        if not self._static_nums:
            return ()
        n = len(args)
        return tuple((i, args[i]) for i in sorted({i % n if -n <= i < 0 else i for i in self._static_nums}) if i < n)

    def _donated_leaves(self, given):
        """Positions among the flat leaves of the arguments `donate_argnums`/`donate_argnames` name."""
        args, kwargs = given
        out, n = [], 0
        for i, a in enumerate(args):
            k = len(tree_flatten(a)[0]) if i not in self._static_nums else 0
            if i in self._donate_nums:
                out += range(n, n + k)
            n += k
        for name in sorted(kwargs):
            if name in self._static_names:
                continue
            k = len(tree_flatten(kwargs[name])[0])
            if name in self._donate_names:
                out += range(n, n + k)
            n += k
        return tuple(out)

    def _check_invalid(self, outs, args, kwargs):
        """jax_debug_nans / jax_debug_infs, as JAX: when an output holds a NaN (an inf), call the
        function again without this jit, op by op, so that the error names the primitive."""
        try:
            check_invalid(f"jit({self._fname})", outs)
        except FloatingPointError as e:
            self._fun(*args, **kwargs)
            raise FloatingPointError(
                f"{e}. Because jax_debug_nans and/or jax_debug_infs is set, the de-optimized function (the "
                "function as if the `jit` decorator were removed) was called in an attempt to get a more "
                "precise error message. However, the de-optimized function did not produce invalid values "
                "during its execution. This can result from `jit` optimizations causing the invalid value to "
                "be produced, or from nan/inf constants as outputs.") from None

    def _lookup(self, args, kwargs):
        """The cached entry for these arguments (traced on a miss), the arguments without their
        static parts, the array leaves, and whether every leaf is already computed. The key: pytree
        structure, static values, the trace-affecting config options, the bound vmap axes, and each
        leaf's shape, dtype and weak type."""
        if self._has_static or kwargs:
            args, kwargs, statics = self._split(args, kwargs)
            tree_in = (args, kwargs)
        else:
            statics, tree_in = (), args
        leaves = []
        node = _flat(tree_in, leaves)
        key = [node, statics, config.trace_flags(), batching.axis_env_key()]
        ready = True
        level = state.trace_level
        for x in leaves:
            if type(x) is Array:
                a = x.aval
                if x._buf is None or (level and x.prim is not None):
                    ready = False
                elif x._buf is DELETED:
                    raise deleted_error(x)
            else:
                a = self._aval(x)
            key += (a.shape, a.dtype, a.weak_type)
        try:
            entry = self._cache.get(tuple(key))
        except TypeError:      # a pytree node with unhashable metadata: key by its PyTreeDef
            key[0] = PyTreeDef(node)
            entry = self._cache.get(tuple(key))
        if entry is None:
            entry = self._trace(args, kwargs, statics, leaves, tuple(key))
        return entry, args, kwargs, leaves, ready

    def _aval(self, x):
        try:
            a = aval_of(x)
            if a.dtype.kind in "USOMm":       # strings, objects, datetimes
                raise TypeError
            return a
        except TypeError:
            raise TypeError(
                f"Error interpreting argument to {self._fname} as an abstract array. The problematic value is of "
                f"type {type(x)} and was passed to the function. This typically means that a jit-wrapped function "
                "was called with a non-array argument, and this argument was not marked as static using the "
                "static_argnums or static_argnames parameters of jax.jit.") from None

    @staticmethod
    def _realize_pending(leaves, level):
        """Make the arguments concrete if that is legitimate (eager pending arrays outside any
        transformation); False when the call must be inlined instead."""
        pending = []
        for x in leaves:
            if type(x) is Array and (x._buf is None or (level and x.prim is not None)):
                if level or x.sym is not None:
                    return False
                pending.append(x)
        realize(pending)
        return True

    def _split(self, args, kwargs):
        """(dynamic positional args, dynamic kwargs, hashable static values)."""
        statics = []
        dyn = args
        if self._static_nums:
            n = len(args)
            nums = {i % n if -n <= i < 0 else i for i in self._static_nums}
            dyn = tuple(a for i, a in enumerate(args) if i not in nums)
            statics = [(i, args[i]) for i in sorted(nums) if i < n]
        if kwargs and self._static_names:
            statics += sorted((k, v) for k, v in kwargs.items() if k in self._static_names)
            kwargs = {k: v for k, v in kwargs.items() if k not in self._static_names}
        statics = tuple(statics)
        try:
            hash(statics)
        except TypeError as e:
            bad = next(v for _, v in statics if not _hashable(v))
            raise ValueError(
                "Non-hashable static arguments are not supported. An error occurred while trying to hash an "
                f"object of type {type(bad)}, {bad!r}. The error was:\nTypeError: {e}\n") from None
        return dyn, kwargs, statics

    # --- tracing ----------------------------------------------------------------------------
    def _trace(self, args, kwargs, statics, leaves, key):
        fun, fname = self._fun, self._fname
        pos_statics = {k: v for k, v in statics if isinstance(k, int)}
        kw_statics = {k: v for k, v in statics if isinstance(k, str)}
        n_all = len(args) + len(pos_statics)
        names = arg_names(fun, n_all)
        dyn_pos = [i for i in range(n_all) if i not in pos_statics]
        avals = []
        for x in leaves:
            avals.append(x.aval if type(x) is Array else self._aval(x))
        # One symbolic leaf per flat argument, named after the argument it belongs to.
        owners = []
        for k, a in enumerate(args):
            owners += [f"the argument '{names[dyn_pos[k]]}'"] * len(tree_flatten(a)[0])
        for k in sorted(kwargs):
            owners += [f"the argument '{k}'"] * len(tree_flatten(kwargs[k])[0])

        def with_statics(*sargs, **skw):
            it = iter(sargs)
            return fun(*[pos_statics[i] if i in pos_statics else next(it) for i in range(n_all)], **skw, **kw_statics)
        with_statics.__name__ = fname
        t = trace(with_statics, avals, what="jit", names=[f"{o} of {fname} traced for jit" for o in owners],
                  in_tree=tree_flatten((args, kwargs))[1], closed=BAKE)
        dump = _Dump(fname, t.leaves, t.start)
        dump("traced", t.outs)
        opt = _passes.run_passes(_passes.OPTIMIZE, t.outs, t.leaves, start=t.start, on_pass=dump)
        dump("optimized", opt)
        entry = _Entry(fname, Traced(t.leaves, opt, t.start, t.in_tree, t.out_tree, t.captured), dump)
        if not t.captured:
            # A function closing over arrays of an active grad/vmap is traced per call: its graph
            # references that transformation's nodes.
            self._cache[key] = entry
        return entry

    # --- inspection -------------------------------------------------------------------------
    def _entry(self, args, kwargs):
        entry, args, kwargs, _, _ = self._lookup(args, kwargs)
        return entry, tree_flatten((args, kwargs))[1]

    def lower(self, *args, **kwargs):
        """Trace and optimise for these arguments (arrays or `ShapeDtypeStruct`s) without running:
        `.as_text()` shows the optimised graph, `.compile()` builds the executable."""
        args, kwargs = _structs_to_leaves((args, kwargs))
        entry, in_tree = self._entry(args, kwargs)
        if entry.closure:
            raise TypeError(f"jit({self._fname}).lower: the function closes over arrays of an active "
                            "transformation (grad/vmap); it cannot be lowered on its own")
        return Lowered(entry, in_tree)

    def eval_shape(self, *args, **kwargs):
        from .._api import ShapeDtypeStruct
        args, kwargs = _structs_to_leaves((args, kwargs))
        entry, _ = self._entry(args, kwargs)
        return _unflatten(entry.out_node, iter([ShapeDtypeStruct(a.shape, a.dtype, a.weak_type)
                                                for a in entry.out_avals]))

    def clear_cache(self):
        for entry in self._cache.values():
            entry.alive = False
            for f in entry._fast.values():
                if f is not None:
                    f.alive = False     # (other jit objects of the function may hold it in _fast)
        self._cache.clear()
        self._fast = None

    def _cache_size(self):
        return len(self._cache)


def _effects_kept(entry, outs):
    """Inlined outputs; past out_tree's leaves are the effect tokens of a function that returns
    nothing (a debug.print): they go to the enclosing trace, or run now outside one."""
    n = entry.out_tree.num_leaves
    if len(outs) > n:
        from ..core import extensions as X
        from ..core.graph import realize
        tokens = outs[n:]
        if not all(X.add_effect(t) for t in tokens):
            realize([t for t in tokens if t.sym is None])
    return outs


def _hashable(v):
    try:
        hash(v)
        return True
    except TypeError:
        return False


def _resolve_static(fun, nums, names):
    """Static argnums and argnames completed from each other through the signature, as JAX
    does, and checked against it."""
    try:
        sig = inspect.signature(fun)
    except (TypeError, ValueError):
        return nums, names
    params = list(sig.parameters.values())
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    var_pos = any(p.kind == p.VAR_POSITIONAL for p in params)
    var_kw = any(p.kind == p.VAR_KEYWORD for p in params)
    if not var_pos:
        for i in nums:
            if not -len(pos) <= i < len(pos):
                raise ValueError(f"Jitted function has static_argnums={nums}, but only accepts {len(pos)} "
                                 "positional arguments.")
    if not var_kw:
        bad = {n for n in names
               if n not in sig.parameters or sig.parameters[n].kind == inspect.Parameter.POSITIONAL_ONLY}
        if bad:
            raise ValueError(f"Jitted function has invalid argnames {bad} in static_argnames. Function does not "
                             "take these args.")
    nums = set(i % len(pos) if i < 0 and pos else i for i in nums)
    names = set(names)
    for i in list(nums):
        if i < len(pos) and pos[i].kind == pos[i].POSITIONAL_OR_KEYWORD:
            names.add(pos[i].name)
    for k, p in enumerate(pos):
        if p.name in names and p.kind == p.POSITIONAL_OR_KEYWORD:
            nums.add(k)
    return tuple(sorted(nums)), tuple(sorted(names))


def _resolve_donated(fun, nums, names):
    """Donated argnums and argnames completed from each other through the signature, as JAX does
    (an argument donated by position is donated when passed by name too, and the reverse)."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        return nums, names
    pos = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    nums = {i % len(pos) if i < 0 and pos else i for i in nums}
    names = set(names)
    for i in list(nums):
        if i < len(pos) and pos[i].kind == pos[i].POSITIONAL_OR_KEYWORD:
            names.add(pos[i].name)
    for k, p in enumerate(pos):
        if p.name in names:
            nums.add(k)
    return tuple(sorted(nums)), tuple(sorted(names))


def _structs_to_leaves(tree):
    """ShapeDtypeStruct arguments (for lower/eval_shape) become symbolic leaves."""
    from .._api import ShapeDtypeStruct
    leaves, t = tree_flatten(tree)
    return t.unflatten([symbolic(Aval(x.shape, x.dtype, x.weak_type), "a ShapeDtypeStruct")
                        if isinstance(x, ShapeDtypeStruct) else x for x in leaves])


class _Entry:
    """One traced signature: the optimised graph (inlined under transformations), its lowered
    form and Program (built on first use) and the executable."""

    def __init__(self, fname, traced, dump):
        self.fname, self.traced = fname, traced
        self.in_leaves, self.outs, self.start = traced.leaves, traced.outs, traced.start
        self.out_tree, self.out_node = traced.out_tree, traced.out_tree._node
        self.out_avals = [o.aval for o in self.outs]
        self.closure = traced.captured
        self._dump = dump
        self._lowered = None
        self._program = None
        self.fn = self.fn_backend = None
        self.alive = True               # False once a clear_cache dropped it
        self._fast = {}                 # (donated leaf positions, leaf types) -> _Fast, or None where none applies
        self._donating = {}             # donated positions -> (executable, its donating variant)

    def inline(self, args):
        """The optimised graph copied onto `args` (nodes), as new nodes that compute nothing yet."""
        return substitute(self.traced, args, visit=lambda n, ins: _passes.make_node(n.prim, n.params, ins, n.aval))

    def lowered(self):
        if self._lowered is None:
            self._lowered = _passes.run_passes(_passes.FINAL, self.outs, self.in_leaves, start=self.start,
                                               on_pass=self._dump)
            self._dump("lowered", self._lowered)
        return self._lowered

    def program(self):
        if self._program is None:
            self._program = Program.from_graph(self.in_leaves, self.lowered())
            self._dump.text("program", self._program.text())
        return self._program

    def compile(self, platform=None, tiered=False):
        """The executable for `platform` (default: the active one). `tiered`: the platform may
        start it on a cheaper tier (the cpu platform: NumPy until the program is hot), as calls
        do; ahead-of-time `.compile()` builds the real one."""
        target, active = get_backend(platform), get_backend()
        log_compile(f"jit({self.fname})", [x.aval for x in self.in_leaves], target.platform)
        if target is active:
            exe = compile_tiered(target, self.program()) if tiered else target.compile(self.program())
            if platform is None:
                self.fn, self.fn_backend = exe, target
            return exe
        return CrossPlatform(self.program(), target, active)

    def run(self, leaves, donated=()):
        """Execute on the arguments' buffers; outputs are new concrete Arrays. `donated`: positions
        of leaves the caller gives up (their buffers may hold outputs)."""
        # (the executable belongs to the platform it was built for: another one compiles anew)
        fn = self.fn if self.fn is not None and self.fn_backend is get_backend() else self.compile(tiered=True)
        if donated:
            fn = self.donating(fn, _exclusive(leaves, donated))
        bufs = [x._buf if type(x) is Array else _to_buffer(x, a) for x, a in zip(leaves, self.in_leaves)]
        return [from_buffer(b, a) for b, a in zip(fn(bufs), self.out_avals)]

    def donating(self, fn, positions):
        """`fn` for donated inputs at `positions`, where the platform reuses buffers (the kernel
        platforms' Executable.donating); the numpy platform only deletes the donated Arrays."""
        make = getattr(fn, "donating", None)
        if make is None or not positions:
            return fn
        got = self._donating.get(positions)
        if got is None or got[0] is not fn:
            got = self._donating[positions] = (fn, make(positions))
        return got[1]

    def fast(self, args, leaves, donated, statics=()):
        """The _Fast for calls like this one (positional arguments; `statics`: the static ones,
        (position, value)), made once per kind of leaves: a first call with NumPy arguments (no
        fast path) does not keep later calls with Arrays off it."""
        key = (donated, tuple(map(type, leaves)))
        f = self._fast.get(key, False)
        if f is False:
            f = self._fast[key] = _Fast.make(self, args, leaves, donated, statics, key)
        return f


def _exclusive(leaves, donated):
    """The donated positions whose buffer nothing else holds: an Array's own buffer (not a view),
    referenced only by that Array (not by another Array or a view's base), passed once, in C order
    (the cpu platform takes NumPy buffers in any layout as they are; an output planned as a
    reshaped view of the donated buffer would be a copy of another). The others are deleted all
    the same but not written to."""
    out = []
    for j in donated:
        x = leaves[j]
        # (references: x._buf itself and getrefcount's argument)
        if type(x) is Array and sys.getrefcount(x._buf) == 2 and getattr(x._buf, "base", None) is None \
                and getattr(getattr(x._buf, "flags", None), "c_contiguous", True) \
                and sum(y is x for y in leaves) == 1:
            out.append(j)
    return tuple(out)


class _Fast:
    """jit's fast path for one signature called with positional arguments: `call(args)` checks
    that the arguments have the traced structure and avals (every leaf a computed Array, or a
    Python float where the trace had one), runs the executable on their buffers and returns the
    result pytree of new Arrays, or _MISS (then the general path runs, with its errors). It is
    generated as straight-line Python for the structure, so a cached call costs no pytree
    flattening, no cache key, no hashing, and one Python frame of its own. With donated
    arguments, `match(args)` returns the leaves (or None) and `build(outs)` makes the result,
    around run_donating."""

    __slots__ = ("entry", "flags", "backend", "fn", "match", "build", "donated", "call", "alive", "__weakref__")

    @classmethod
    def make(cls, entry, args, leaves, donated, statics=(), key=None):
        if entry.fn is None or (donated and any(type(x) is not Array for x in leaves)):
            return None
        try:
            static_at = dict(statics)
            dyn = tuple(a for i, a in enumerate(args) if i not in static_at)
            node = _flat(dyn, [])
            if donated:
                match = _matcher(node, leaves, entry.in_leaves, collect="x", n_args=len(args), statics=statics)
                build, call = _builder(entry.out_node, entry.out_avals), None
            else:       # (match, run and build as one generated function)
                match = build = None
                target = getattr(entry.fn, "fast_target", None)
                target = entry.fn if target is None else target()
                call = _matcher(node, leaves, entry.in_leaves, n_args=len(args), statics=statics,
                                then=(target, entry.out_node, entry.out_avals))
        except _NoFastPath:
            return None
        f = cls()
        f.entry, f.flags, f.backend, f.fn = entry, config.trace_flags(), entry.fn_backend, entry.fn
        f.match, f.build, f.donated, f.call, f.alive = match, build, donated, call, True
        if call is not None and target is entry.fn and hasattr(entry.fn, "watch"):
            # (a tiered executable still on NumPy: once the native one is in, this fast path
            # retires, and the next call makes one that calls the native executable directly)
            ref = weakref.ref(f)
            entry.fn.watch(lambda: _retire(ref(), entry._fast, key))
        return f

    def run_donating(self, args):
        """The fast call with donated arguments (`match` gives the leaves): outputs go into
        donated buffers nothing else holds, and the donated Arrays are deleted."""
        xs = self.match(args)
        if xs is None:
            return None
        fn = self.entry.donating(self.fn, _exclusive(xs, self.donated))
        outs = fn([x._buf for x in xs])
        for j in self.donated:
            xs[j].delete()
        return outs


def _retire(fast, cache, key):
    if fast is not None:
        fast.alive = False
        if cache.get(key) is fast:
            del cache[key]


class _NoFastPath(Exception):
    pass


_MISS = object()     # what _Fast.call returns for arguments it does not match


def _matcher(node, leaves, in_leaves, collect="b", n_args=None, statics=(), then=None):
    """`match(args)` -> [buffer per leaf] or None (collect="b"); collect="x": the leaves. `node`:
    the structure of the dynamic arguments; `statics` ((position, value), ...) are compared by
    equality, as the cache key compares them, among `n_args` positional arguments. `then`:
    (executable, output structure, output avals): the function is `call(args)` instead, the
    executable's results on the buffers as that structure of new Arrays, or _MISS (no match)."""
    ns = {"Array": Array, "DELETED": DELETED, "MISS": _MISS}
    miss = "None" if then is None else "MISS"
    lines = []
    names = itertools.count()
    leaf = iter(range(len(leaves)))

    def const(value):
        name = f"c{next(names)}"
        ns[name] = value
        return name

    def visit(var, node):
        if node is _LEAF:
            i = next(leaf)
            x = leaves[i]
            if type(x) is Array:
                a = x.aval
                A, S, D, W = const(a), const(a.shape), const(a.dtype), const(a.weak_type)
                lines.extend([f"if type({var}) is not Array: return {miss}",
                              f"a = {var}.aval",
                              f"if a is not {A} and (a.shape != {S} or a.dtype != {D} or a.weak_type != {W}): "
                              f"return {miss}",
                              f"b = {var}._buf",
                              f"if b is None or b is DELETED: return {miss}",
                              f"B.append({'b' if collect == 'b' else var})"])
            elif type(x) is float:
                conv = const(functools.partial(_to_buffer, leaf=in_leaves[i]))
                lines.extend([f"if type({var}) is not float: return {miss}",
                              f"B.append({conv}({var}) if {collect!r} == 'b' else {var})"])
            else:
                raise _NoFastPath
            return
        typ, aux, children = node
        h = _dispatch.get(typ)
        T = const(typ)
        lines.append(f"if type({var}) is not {T}: return {miss}")
        if typ is type(None):
            return
        if typ in (tuple, list) or (typ not in _registry and issubclass(typ, tuple)):
            lines.append(f"if len({var}) != {len(children)}: return {miss}")
            items = [f"{var}[{j}]" for j in range(len(children))]
        elif typ is dict:
            lines.append(f"if len({var}) != {len(children)}: return {miss}")
            items = [f"{var}[{const(k)}]" for k in aux]
        elif h:
            ch = f"v{next(names)}"
            lines.extend([f"{ch}, x = {const(h[0])}({var})",
                          f"if not (x == {const(aux)}) or len({ch}) != {len(children)}: return {miss}"])
            items = [f"{ch}[{j}]" for j in range(len(children))]
        else:
            raise _NoFastPath
        for item, c in zip(items, children):
            v = f"v{next(names)}"
            lines.append(f"{v} = {item}")
            visit(v, c)

    if n_args is None:
        visit("args", node)
    else:                   # the positional arguments: static ones compared, the others visited
        lines.append(f"if len(args) != {n_args}: return {miss}")
        for i, v in statics:
            c = const(v)
            lines.append(f"if args[{i}] is not {c} and not (args[{i}] == {c}): return {miss}")
        dyn = [i for i in range(n_args) if i not in dict(statics)]
        for i, child in zip(dyn, node[2]):
            v = f"v{next(names)}"
            lines.append(f"{v} = args[{i}]")
            visit(v, child)
    # (a dict without a key, a custom node whose flatten or comparison fails: the general path
    # runs and reports it)
    body = "    B = []\n    try:\n" + "".join(f"        {ln}\n" for ln in lines)
    if then is None:
        src = "def match(args):\n" + body + "    except Exception:\n        return None\n    return B\n"
    else:
        fn, out_node, out_avals = then
        ns["fn"] = fn
        src = "def match(args):\n" + body + "    except Exception:\n        return MISS\n    o = fn(B)\n" + \
            f"    return {_build_expr(out_node, out_avals, ns)}\n"
    exec(compile(src, "<jit fast path>", "exec"), ns)
    return ns.pop("match")


def _builder(node, avals):
    """`build(outs)`: the result pytree of `node` with a new Array per output buffer."""
    ns = {"Array": Array}
    return eval(compile("lambda o: " + _build_expr(node, avals, ns), "<jit fast path>", "eval"), ns)


def _build_expr(node, avals, ns):
    """The expression of the result pytree of `node` with a new Array per output buffer `o[i]`
    (the names it uses added to `ns`, which has Array)."""
    names = (f"r{i}" for i in itertools.count() if f"r{i}" not in ns)
    leaf = iter(range(len(avals)))

    def const(value):
        name = next(names)
        ns[name] = value
        return name

    def expr(node):
        if node is _LEAF:
            i = next(leaf)
            return f"Array(None, None, (), {const(avals[i])}, o[{i}])"
        typ, aux, children = node
        parts = [expr(c) for c in children]
        if typ is tuple:
            return "(" + "".join(p + ", " for p in parts) + ")"
        if typ is list:
            return "[" + ", ".join(parts) + "]"
        if typ is type(None):
            return "None"
        if typ is dict:
            return "{" + ", ".join(f"{const(k)}: {p}" for k, p in zip(aux, parts)) + "}"
        return f"{const(_dispatch[typ][1])}({const(aux)}, ({''.join(p + ', ' for p in parts)}))"

    return expr(node)


def _to_buffer(x, leaf):
    # NumPy inputs are copied: the caller may mutate them after the call.
    return from_numpy(np.array(x, dtype=leaf.aval.dtype, order="C"))


class _Dump:
    """GPUXLA_DEBUG / GPUXLA_DUMP output for one trace."""

    def __init__(self, fname, in_leaves, start):
        self.debug = config.DEBUG.get() > 0
        self.dir = config.DUMP.get()
        self.fname, self.in_leaves, self.start = fname, in_leaves, start
        self.stage = 0
        self.id = next(_dump_ids) if self.dir else None

    def __call__(self, name, outs):
        if self.debug and name in ("traced", "optimized"):
            sig = ", ".join(x.aval.str_short() for x in self.in_leaves)
            print(f"gpuxla: jit({self.fname}) {name} for ({sig}):\n{pp_graph(self.in_leaves, outs)}",
                  file=sys.stderr)
        if self.dir:
            self.text(name, pp_graph(self.in_leaves, outs))

    def text(self, name, text):
        if not self.dir:
            return
        os.makedirs(self.dir, exist_ok=True)
        path = os.path.join(self.dir, f"jit_{self.fname}.{self.id:04d}.{self.stage:02d}-{name}.txt")
        self.stage += 1
        with open(path, "w") as f:
            f.write(text + "\n")


# --- ahead-of-time stages ---------------------------------------------------------------------
class Lowered:
    """`jit(f).lower(*args)`: the traced, optimised graph for one signature."""

    def __init__(self, entry, in_tree):
        self._entry, self.in_tree = entry, in_tree
        self.out_tree = entry.out_tree
        self.in_avals = [x.aval for x in entry.in_leaves]
        self.out_avals = entry.out_avals

    def as_text(self, dialect=None):
        """The graph after the compiler passes, in jaxpr-like text."""
        e = self._entry
        return pp_graph(e.in_leaves, e.lowered())

    def compile(self, platform=None):
        """Compile for `platform` (default: the active backend): `Compiled`. Built now: on the
        cpu platform the native executable, never its NumPy tier."""
        return Compiled(self._entry, self.in_tree, self._entry.compile(platform), get_backend(platform).platform)


class Compiled:
    """An executable for one signature. Called with the traced (non-static) arguments; attributes
    the backend's executable offers (kernels, CUDA source) are reachable through it."""

    def __init__(self, entry, in_tree, executable, platform=None):
        self._entry, self.in_tree, self._exe, self.platform = entry, in_tree, executable, platform
        self.out_tree = entry.out_tree

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._exe, name)

    def as_text(self):
        exe_text = getattr(self._exe, "as_text", None)
        return exe_text() if callable(exe_text) else self._entry.program().text()

    def kernel_report(self):
        """The static roofline (compiler/roofline.py): per fused kernel and library call, in order,
        the bytes it must move, its flops and transcendentals and its launch shape. The fusion is
        the kernel platforms' whatever the platform this was compiled for."""
        plan = getattr(self._exe, "plan", None)
        if plan is not None:
            fusion = plan.fusion
        else:                       # the numpy platform: its host buffers give the scalar constants
            program = self._entry.program()
            fusion = Fusion(program, {s: np.asarray(b) for s, b, a in program.consts
                                      if a.size == 1 and isinstance(b, np.ndarray)})
        return roofline.rows(fusion)

    def profile_kernels(self, *args, repeats=20, with_outputs=False, **kwargs):
        """The kernel report measured: runs on the given arguments (two warm-up runs, then
        `repeats`), step by step, and adds to each row `time_us` (the median of the runs),
        `gbs` (the bytes it must move, read plus written, over that time, in GB/s), `copy_gbs`
        (the device's copy bandwidth, counted the same way: a device-to-device copy of 256 MiB
        timed once per process) and `pct_copy` (100 * gbs / copy_gbs: how close the step comes
        to a copy). On `cuda` a step is timed by CUDA events around its launches or library call
        (device time); on `cpu` by the host clock (the step's wall time, the copy yardstick a
        NumPy copy of 64 MiB). Steps that launch nothing (an update folded into the product
        before it, a batched product's earlier members) have None there. The steps run one by
        one in a frame of their own, never as the CUDA graph calls replay. Returns the rows, in
        kernel_report()'s order; `with_outputs=True`: (rows, the last run's outputs, as a call
        returns them)."""
        leaves, tree = tree_flatten((args, kwargs))
        if tree != self.in_tree:
            raise TypeError(f"Function compiled with input pytree {self.in_tree} does not match the input pytree "
                            f"it was called with: {tree}")
        profile = getattr(self._exe, "profile", None)
        clock = getattr(getattr(self._exe, "runtime", None), "step_clock", None)
        if profile is None or clock is None or isinstance(self._exe, CrossPlatform):
            where = self.platform or get_backend().platform
            cross = " (not the active one)" if isinstance(self._exe, CrossPlatform) else ""
            raise NotImplementedError(
                f"Compiled.profile_kernels: measured kernel rows need the cuda or cpu platform, and this executable "
                f"is for the '{where}' platform{cross}; kernel_report() gives the static rows on any platform")
        bufs = self._buffers(leaves)
        outs, seconds = profile(bufs, repeats=repeats)
        rows = roofline.measured(self.kernel_report(), seconds, self._exe.runtime.copy_bandwidth())
        outs = [from_buffer(b, a) for b, a in zip(outs, self._entry.out_avals)]
        return (rows, _unflatten(self._entry.out_node, iter(outs))) if with_outputs else rows

    def cost_analysis(self):
        """XLA's keys summed over the kernel report: flops, transcendentals, bytes accessed."""
        return roofline.totals(self.kernel_report())

    def __call__(self, *args, **kwargs):
        leaves, tree = tree_flatten((args, kwargs))
        if tree != self.in_tree:
            raise TypeError(f"Function compiled with input pytree {self.in_tree} does not match the input pytree "
                            f"it was called with: {tree}")
        outs = [from_buffer(b, a) for b, a in zip(self._exe(self._buffers(leaves)), self._entry.out_avals)]
        return _unflatten(self._entry.out_node, iter(outs))

    def _buffers(self, leaves):
        """The arguments' buffers, checked against the compiled signature."""
        bufs = []
        for x, leaf in zip(leaves, self._entry.in_leaves):
            a = x.aval if isinstance(x, Array) else aval_of(x)
            if a != leaf.aval:
                raise TypeError(f"Compiled function was compiled for argument types {leaf.aval.str_short()}"
                                f"{' (weak)' if leaf.weak_type else ''} but called with {a.str_short()}"
                                f"{' (weak)' if a.weak_type else ''}")
            if isinstance(x, Array):
                if x._buf is DELETED:
                    raise deleted_error(x)
                if x._buf is None:
                    if x.sym is not None:
                        raise TypeError("A Compiled function cannot be called on traced arrays (inside jit, grad or "
                                        "vmap); call the jit-wrapped function instead")
                    realize([x])
                bufs.append(x._buf)
            else:
                bufs.append(_to_buffer(x, leaf))
        return bufs
