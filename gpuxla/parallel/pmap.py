"""pmap: the function compiled once for one device, run on every device, with the collectives
between the devices carried by an engine (engine.py).

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.pmap(lambda v: v / jax.lax.psum(v, 'i'), axis_name='i')(jnp.ones(1))
    Array([1.], dtype=float32)

How a call runs. `f` is traced once on per-device leaves (the mapped axis removed) with the axis
name bound, so the collectives check their names and sizes as under vmap. The traced graph is cut
at its collectives into stages: a node's level is the number of collectives on its longest path
from the leaves; stage k holds the ordinary nodes of level k, and the collectives of level k run
between stage k-1 and stage k. Each stage is optimised and compiled once, like a jit trace, into
one executable that every device runs on its own buffers. Execution is lockstep: for each level,
the engine combines the devices' operand buffers of each collective of that level, then every
device runs the stage, one after another. This is the schedule a single host thread driving
several GPUs with NCCL group calls follows too (launches are asynchronous there), and it needs no
barrier: the collective is simply the step between two stages. On several GPUs each device has
its own executable of the stage (the same CUBINs, loaded in its context) and its work is issued
under that device, the collectives going through NCCL (nccl.py). On the host platforms the
devices' programs are not run on threads of their own: NumPy's BLAS already uses every core, and
a thread per device measured 5x slower on the MLP step (bench/pmap_dp.py, 2 cores).
`axis_index` is not a collective at run time: each device gets its index as an input.

Limits, each an error naming it: a collective inside a control-flow body (lax.scan/while/cond)
cannot be cut out of that body; pmap over several GPUs needs NCCL (the `cuda` extra). The
inputs are split on the host and copied to each GPU, and the results gathered through the host
(JAX keeps them on their devices). Called under another transformation (inside jit, grad or vmap,
or on traced arrays), pmap means what it computes: it is `vmap` with the same axis name, on the
default device; the outer transformation then sees ordinary primitives.

Across processes (gpuxla.distributed.initialize) the axis spans every process's devices: each
process feeds its own devices' slices and the MPI engine joins the processes at each collective.

The mapped results are stacked on the default device (JAX keeps them sharded across the devices);
a following pmap splits them again.
"""
import functools
import threading

import numpy as np

from .. import config
from ..backends import compile_tiered, get_backend
from ..compiler import passes as _passes
from ..core import graph
from ..core.extensions import COLLECTIVES, axis_index_p
from ..core.graph import Aval, from_buffer
from ..core.program import Program
from ..core.trace import BAKE, Traced, arg_names, as_node, substitute, trace, trace_nodes
from ..transforms import batching
from ..tree_util import tree_flatten, tree_leaves
from . import devices as _devices
from .engine import engine_for

__all__ = ["pmap"]


def pmap(fun=None, axis_name=None, *, in_axes=0, out_axes=0, static_broadcasted_argnums=(), devices=None,
         backend=None, axis_size=None, donate_argnums=(), global_arg_shapes=None):
    """Map `fun` over the leading axis (or `in_axes`) of its arguments, one slice per device.

    The size of the mapped axis is the number of devices used: the first that many of
    `jax.local_devices()`, or exactly `devices`. Inside `fun`, collectives (`lax.psum`, `pmean`,
    `pmax`, `pmin`, `all_gather`, `psum_scatter`, `ppermute`, `axis_index`) over `axis_name`
    combine the devices' values. Arguments at `static_broadcasted_argnums` are Python values given
    to every device (hashable; each new value compiles again). `backend`, `donate_argnums` and
    `global_arg_shapes` are accepted for compatibility.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> jax.pmap(lambda x, k: x * k, static_broadcasted_argnums=1)(jnp.ones((1, 2)), 3)
    Array([[3., 3.]], dtype=float32)
    """
    if fun is None:
        return functools.partial(pmap, axis_name=axis_name, in_axes=in_axes, out_axes=out_axes,
                                 static_broadcasted_argnums=static_broadcasted_argnums, devices=devices)
    if not callable(fun):
        raise TypeError(f"Expected a callable value, got {fun!r}")
    return PmapFunction(fun, axis_name, in_axes, out_axes, static_broadcasted_argnums, devices, axis_size)


class PmapFunction:
    def __init__(self, fun, axis_name, in_axes, out_axes, static_argnums, devices, axis_size):
        functools.update_wrapper(self, fun)
        self._fun, self._axis_name = fun, axis_name
        if isinstance(in_axes, list):
            in_axes = tuple(in_axes)
        for spec, what in ((in_axes, "in_axes"), (out_axes, "out_axes")):
            if not all(batching._is_axis(a) for a in tree_leaves(spec)):
                raise TypeError(f"pmap {what} must be an int, None, or (nested) container with those types as "
                                f"leaves, but got {spec}.")
        self._in_axes, self._out_axes = in_axes, out_axes
        self._statics = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        if devices is not None:
            devices = [_devices.check_device(d, "pmap") for d in devices]
            if not devices:
                raise ValueError("'devices' argument to pmap must be non-empty, or None.")
        self._devices, self._axis_size = devices, axis_size
        self._fname = getattr(fun, "__name__", type(fun).__name__)
        self._cache = {}
        self._lock = threading.Lock()

    def __repr__(self):
        return f"<pmapped function {self._fname}>"

    def __call__(self, *args, **kwargs):
        fname = self._fname
        n_args = len(args)
        statics = tuple(sorted({i % n_args if -n_args <= i < 0 else i for i in self._statics}))
        if any(i >= n_args for i in statics):
            raise ValueError(f"pmapped function has static_broadcasted_argnums={self._statics} but was called with "
                             f"only {n_args} positional argument{'s' if n_args != 1 else ''}")
        static_vals = tuple((i, args[i]) for i in statics)
        try:
            hash(static_vals)
        except TypeError as e:
            raise ValueError(f"Non-hashable static arguments are not supported. An error occurred while trying to "
                             f"hash an object of type {type(static_vals)}, {static_vals!r}. The error was:\n"
                             f"TypeError: {e}\n") from None
        dyn_idx = [i for i in range(n_args) if i not in statics]
        dyn = tuple(args[i] for i in dyn_idx)
        in_axes = self._in_axes
        if isinstance(in_axes, tuple):
            if len(in_axes) != n_args:
                raise ValueError("pmap in_axes must be an int, None, or a tuple of entries corresponding to the "
                                 f"positional arguments passed to the function, but got len(in_axes)={len(in_axes)}, "
                                 f"len(args)={n_args}")
            in_axes = tuple(in_axes[i] for i in dyn_idx)
        fun = self._fun
        if statics:
            def fun(*a, **k):
                it = iter(a)
                full = [dict(static_vals)[i] if i in statics else next(it) for i in range(n_args)]
                return self._fun(*full, **k)
            fun.__name__ = fname

        flat, in_tree = tree_flatten((dyn, kwargs))
        if not flat:
            raise ValueError("pmap wrapped function must be passed at least one argument containing an array, "
                             f"got empty *args={args} and **kwargs={kwargs}")
        spec = (in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(dyn), {k: 0 for k in kwargs})
        axes = batching._prefix_flatten(spec, (dyn, kwargs), "in_axes", "pmap")
        names = [n for i, n in enumerate(arg_names(self._fun, n_args)) if i not in statics]
        nodes = [as_node(x) for x in flat]
        sizes = set()
        for k, (x, a) in enumerate(zip(nodes, axes)):
            if a is None:
                continue
            if not -x.ndim <= a < x.ndim:
                raise ValueError(f"pmap was requested to map its argument along axis {a}, which implies that its "
                                 f"rank should be at least {a + 1 if a >= 0 else -a}, but is only {x.ndim} "
                                 f"(its shape is {x.shape})")
            axes[k] = a % x.ndim
            sizes.add(x.shape[axes[k]])
        if self._axis_size is not None:
            sizes.add(int(self._axis_size))
        if not sizes:
            raise ValueError("pmap must have at least one non-None value in in_axes")
        if len(sizes) > 1:
            raise ValueError(f"pmap got inconsistent sizes for array axes to be mapped: {sorted(sizes)} "
                             f"(the mapped axes of the arguments of {fname} must all have one size)")
        n = sizes.pop()

        devs = self._devices
        if devs is not None and _devices.world.process_count > 1:
            raise NotImplementedError("pmap: devices= across several processes is not supported by gpuxla; "
                                      "leave it None to use every process's local devices")
        if devs is not None and len(devs) != n:
            raise ValueError(f"Leading axis size of input to pmapped function must equal the number of local devices "
                             f"passed to pmap. Got axis_size={n}, num_local_devices={len(devs)}.\n"
                             f"(Local devices passed to pmap: {', '.join(map(str, devs))})")
        if devs is None:
            local = _devices.local_devices()
            if n > len(local):
                raise ValueError(f"compiling computation that requires {n} logical devices, but only {len(local)} "
                                 f"devices are available (num_replicas={n})")
            devs = local[:n]

        traced = any(x._buf is None and (x.sym is not None or graph.state.trace_level) for x in nodes)
        if graph.state.trace_level or traced:
            if _devices.world.process_count > 1:
                raise NotImplementedError("pmap under jit, grad or vmap is not supported by gpuxla across several "
                                          "processes; call pmap outside the transformation")
            # Under an outer transformation: the same function as vmap over the same axis name.
            vm = batching.vmap(fun, in_axes=in_axes, out_axes=self._out_axes, axis_name=self._axis_name)
            return vm(*dyn, **kwargs)

        graph.realize([x for x in nodes if x._buf is None])
        avals = []
        for x, a in zip(nodes, axes):
            av = x.aval
            avals.append(av if a is None else av.update(shape=av.shape[:a] + av.shape[a + 1:]))
        key = (in_tree, static_vals, tuple(axes), tuple(avals), n, tuple(devs), config.trace_flags(),
               get_backend().platform, _devices.world.process_count)
        try:
            plan = self._cache.get(key)
        except TypeError:
            key, plan = None, None
        if plan is None:
            leaf_names = [f"the argument '{nm}' of {fname} traced for pmap" for nm in _leaf_names(dyn, kwargs, names)]
            plan = _Plan(fun, avals, leaf_names, in_tree, self._axis_name, n, fname, _devices.world)
            if key is not None:
                with self._lock:
                    self._cache[key] = plan
        outs, engine = plan.run(nodes, axes, devs)
        oaxes = batching._prefix_flatten(self._out_axes, plan.out_tree.unflatten(list(range(len(outs)))), "out_axes",
                                         "pmap")
        final = []
        for bufs, oa, av in zip(outs, oaxes, plan.out_avals):
            final.append(_assemble(engine, bufs, oa, av))
        return plan.out_tree.unflatten(final)


def _leaf_names(dyn, kwargs, names):
    out = []
    for nm, a in zip(names, dyn):
        k = len(tree_flatten(a)[0])
        out += [nm] if k == 1 and not isinstance(a, (tuple, list, dict)) else [f"{nm}[{i}]" for i in range(k)]
    for key in sorted(kwargs):
        out += [key] * len(tree_flatten(kwargs[key])[0])
    return out


def _assemble(engine, bufs, oa, aval):
    """The devices' results of one output as one Array on the default device: stacked along the
    output axis `oa`, or device 0's for an unmapped output (oa None)."""
    if oa is None:
        return from_buffer(engine.stack(bufs[:1], None), aval)
    nd = aval.ndim + 1
    if not -nd <= oa < nd:
        raise ValueError(f"pmap out_axes: axis {oa} is out of bounds for an output of dimension {nd}")
    oa %= nd
    return from_buffer(engine.stack(bufs, oa), aval.update(shape=aval.shape[:oa] + (len(bufs),) + aval.shape[oa:]))


# --- the per-device program, cut at its collectives -------------------------------------------
class _PmapFrame(batching.AxisFrame):
    """pmap's axis: its name and size, as vmap's, and the per-device index leaf."""
    __slots__ = ("index",)


class _Stage:
    """Ordinary nodes of one level: compiled once, run on every device."""

    def __init__(self, ins, outs, exe):
        self.ins, self.outs, self.exe = ins, outs, exe


def _bodies(params):
    for v in (params or {}).values():
        for b in (v if isinstance(v, (tuple, list)) else (v,)):
            if isinstance(b, Traced):
                yield b


def _collective_inside(node):
    """The name of a collective inside node's control-flow bodies (at any depth), or None."""
    for body in _bodies(node.params):
        for m in trace_nodes(body):
            if m.prim in COLLECTIVES:
                return m.prim.name
            inner = _collective_inside(m)
            if inner:
                return inner
    return None


class _Plan:
    """One traced signature: the stages and the collectives between them."""

    def __init__(self, fun, avals, names, in_tree, axis_name, n, fname, world):
        # Across processes the axis is global: this process's n devices come after those of the
        # processes before it.
        self.offset = world.process_index * n
        frame = _PmapFrame(axis_name, n * world.process_count)

        def in_frame(*a, **k):
            # The device's index is an input of the program, so lax.axis_index works inside loop
            # and branch bodies too (a body captures it as it captures any outer value).
            frame.index = graph.symbolic(Aval((), np.dtype(np.int32)), f"the device index of pmap({fname})")
            batching._env.frames.append(frame)
            try:
                return fun(*a, **k)
            finally:
                batching._env.frames.pop()
        in_frame.__name__ = fname
        t = trace(in_frame, avals, what="pmap", names=names, in_tree=in_tree, closed=BAKE)
        if t.captured:
            raise TypeError(f"pmap({fname}) closes over arrays of an active transformation (grad/vmap); "
                            "pass them as arguments instead")
        self.leaves, self.outs, self.out_tree = t.leaves + [frame.index], t.outs, t.out_tree
        self.out_avals = [o.aval for o in t.outs]
        self.n, self.fname = n, fname

        nodes = trace_nodes(t)
        level = {x.id: 0 for x in self.leaves}
        self.axis_index = []
        colls = {}                  # level -> collective nodes, in order
        for m in nodes:
            if m.prim is axis_index_p:
                level[m.id] = 0
                self.axis_index.append(m)
                continue
            lv = max([level.get(x.id, 0) for x in m.inputs], default=0)
            if m.prim in COLLECTIVES:
                lv += 1
                colls.setdefault(lv, []).append(m)
            else:
                inner = _collective_inside(m)
                if inner:
                    raise NotImplementedError(
                        f"pmap: the collective '{inner}' inside the body of '{m.prim.name}' is not supported by "
                        f"gpuxla's pmap (its program is cut at collectives, and a loop or branch body cannot be "
                        f"cut); move the collective out of the body, or use vmap with the axis name")
            level[m.id] = lv
        self.levels = max([0] + list(colls))
        # Which nodes a later level (or the result) reads: those a stage must hand out.
        known = {x.id for x in self.leaves} | {m.id for m in nodes}
        read_later = {o.id for o in t.outs}
        for m in nodes:
            for x in m.inputs:
                if x.id in known and (level[x.id] != level[m.id] or m.prim in COLLECTIVES):
                    read_later.add(x.id)
        self.steps = []
        for lv in range(self.levels + 1):
            members = [m for m in nodes if level[m.id] == lv and m.prim not in COLLECTIVES]
            ids = {m.id for m in members}
            outs = [m for m in members if m.id in read_later and not isinstance(m.aval, tuple)]
            ins = list({x.id: x for m in members for x in m.inputs if x.id in known and x.id not in ids}.values())
            stage = _Stage(ins, outs, _compile_stage(ins, outs, t.start, fname, lv)) if outs else None
            self.steps.append((colls.get(lv, []), stage))
        # Each device buffer is dropped after the last step that reads it.
        last = {}
        for k, (cs, stage) in enumerate(self.steps):
            last.update((c.inputs[0].id, k) for c in cs)
            last.update((x.id, k) for x in (stage.ins if stage else ()))
        outs = {o.id for o in self.outs}
        self.drop = [[i for i, k2 in last.items() if k2 == k and i not in outs] for k in range(len(self.steps))]
        self._exes = None           # per device, made at the first run (the engine knows the devices)

    def run(self, nodes, axes, devs):
        n, b = self.n, get_backend()
        engine = engine_for(b, devs)
        if self._exes is None:      # each stage as one executable per device (one shared on the host)
            self._exes = [engine.executables(stage.exe, n) if stage else None for _, stage in self.steps]
            self._consts = {}
        env = {}
        env[self.leaves[-1].id] = [engine.place(i, np.asarray(self.offset + i, np.int32)) for i in range(n)]
        for leaf, x, a in zip(self.leaves[:-1], nodes, axes):
            if a is None:
                env[leaf.id] = engine.replicate(x._buf, n)
            else:
                env[leaf.id] = engine.split(x._buf, a, n)
        for m in self.axis_index:
            env[m.id] = env[self.leaves[-1].id]
        consts = self._consts

        def value(x):
            v = env.get(x.id)
            if v is None:           # a constant the trace closed over: on every device once
                v = consts.get(x.id)
                if v is None:
                    v = consts[x.id] = engine.replicate(x._buf, n)
            return v

        for (colls, stage), exes, drop in zip(self.steps, self._exes, self.drop):
            for c in colls:
                env[c.id] = engine.collective(c.prim.name, value(c.inputs[0]), c.params)
            if stage is not None:
                per_dev = []
                for d in range(n):
                    with engine.on(d):
                        per_dev.append(exes[d]([value(x)[d] for x in stage.ins]))
                for j, o in enumerate(stage.outs):
                    env[o.id] = [per_dev[d][j] for d in range(n)]
            for i in drop:
                env.pop(i, None)
        return [value(o) for o in self.outs], engine


def _compile_stage(ins, outs, start, fname, lv):
    """The nodes between `ins` and `outs` of the pmap trace, optimised and compiled as a jit trace
    would be: once, for every device (tiered on the cpu platform, as a jit call)."""
    part = Traced(ins, outs, start)

    def body(*xs):
        return substitute(part, xs, visit=lambda m, a: _passes.make_node(m.prim, m.params, a, m.aval))
    body.__name__ = fname
    t = trace(body, [x.aval for x in ins], what="pmap", names=[f"a value of {fname} (pmap stage {lv})"] * len(ins),
              closed=BAKE)
    opt = _passes.run_passes(_passes.OPTIMIZE, t.outs, t.leaves, start=t.start)
    low = _passes.run_passes(_passes.FINAL, opt, t.leaves, start=t.start)
    return compile_tiered(get_backend(), Program.from_graph(t.leaves, low))
