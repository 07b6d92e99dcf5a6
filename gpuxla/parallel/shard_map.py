"""shard_map: `f` on each device's block of its arguments, as `jax.shard_map`, built from pmap
and vmap.

    >>> import gpuxla as jax, gpuxla.numpy as jnp
    >>> from gpuxla.sharding import Mesh, PartitionSpec as P
    >>> mesh = Mesh(jax.devices()[:1], ("x",))
    >>> jax.shard_map(lambda a: jax.lax.psum(a, "x"), mesh=mesh, in_specs=P("x"), out_specs=P())(jnp.ones(4))
    Array([1., 1., 1., 1.], dtype=float32)

A spec names, for each dimension of an argument (or result), the mesh axis it is split over, or
None. Mesh axes map in order: the first over the devices with pmap (its collectives go through
the device engine: simulated devices, NCCL or MPI), every further one with vmap inside each
device -- the same values as devices laid out on a grid, computed on the first axis's devices.
An argument split over an axis is reshaped so that its blocks form a new dimension that the map
takes; a result split over it is the blocks put back together; a result that does not name an
axis must be the same on every block of it (replicated, as a psum's result is): this is checked
once per signature by tracing the same function with vmap at every level, whose out_axes=None
refuses a value that varies (JAX infers replication statically too).

Limits, each an error naming it: one mesh axis per dimension (P(('x', 'y'))), meshes spanning
several processes, and `axis_names` smaller than the mesh's (partial manual axes).
"""
import functools

from ..tree_util import tree_flatten, tree_unflatten
from ..sharding import Mesh, PartitionSpec

__all__ = ["shard_map"]


def _is_spec(s):
    return s is None or isinstance(s, PartitionSpec)


def _broadcast_specs(specs, tree, what, fname):
    """One PartitionSpec (or None) per leaf of `tree`, from `specs`, a pytree prefix of it."""
    leaves, treedef = tree_flatten(specs, is_leaf=_is_spec)
    try:
        subtrees = treedef.flatten_up_to(tree)
    except (ValueError, TypeError) as e:
        raise ValueError(f"shard_map applied to the function '{fname}': {what} is not a pytree prefix of the "
                         f"{'arguments' if what == 'in_specs' else 'outputs'}: {e}") from None
    out = []
    for s, sub in zip(leaves, subtrees):
        out += [PartitionSpec() if s is None else s] * len(tree_flatten(sub)[0])
    return out


def _dim_of(spec, name, what, fname):
    """The dimension `spec` splits over mesh axis `name`, or None."""
    dims = []
    for d, part in enumerate(spec):
        if isinstance(part, tuple):
            if len(part) == 1:
                part = part[0]
            else:
                raise NotImplementedError(f"shard_map applied to '{fname}': {what} {spec} splits one dimension over "
                                          f"several mesh axes {part}, which gpuxla does not support")
        if part == name:
            dims.append(d)
    if len(dims) > 1:
        raise ValueError(f"shard_map applied to '{fname}': {what} {spec} names mesh axis {name!r} more than once")
    return dims[0] if dims else None


def _levels(mesh):
    return list(zip(mesh.axis_names, mesh.axis_sizes))


def _mapped(f, levels, in_specs, out_specs, fname, devices=None):
    """`f` (on flat arguments, returning a flat tuple) mapped over the mesh axes `levels`,
    outermost first: over `devices` with pmap when given, else with vmap. `out_specs` None: a
    probe whose every result is mapped along a new leading axis (to learn the output tree)."""
    if not levels:
        return f
    (name, size), rest = levels[0], levels[1:]
    inner = _mapped(f, rest, in_specs, out_specs, fname)
    in_dims = [_dim_of(s, name, "in_specs", fname) for s in in_specs]
    out_dims = 0 if out_specs is None else tuple(_dim_of(s, name, "out_specs", fname) for s in out_specs)
    axes = tuple(in_dims)
    if devices is not None:
        from .pmap import pmap
        m = pmap(inner, axis_name=name, in_axes=axes, out_axes=out_dims, devices=devices, axis_size=size)
    else:
        from ..transforms.batching import vmap
        m = vmap(inner, in_axes=axes, out_axes=out_dims, axis_name=name, axis_size=size)

    def level(*xs):
        ys = []
        for k, (x, d) in enumerate(zip(xs, in_dims)):
            if d is None:
                ys.append(x)
                continue
            shape = tuple(x.shape)
            if d >= len(shape) or shape[d] % size:
                what = f"rank {len(shape)}" if d >= len(shape) else f"axis {d} of size {shape[d]}"
                raise ValueError(f"shard_map applied to the function '{fname}' was given argument arrays with axis "
                                 f"sizes that are not evenly divisible by the corresponding mesh axis sizes: args[{k}] "
                                 f"of shape {shape} has {what}, which mesh axis {name!r} of size {size} must evenly "
                                 f"divide (in_specs {in_specs[k]})")
            ys.append(x.reshape(shape[:d] + (size, shape[d] // size) + shape[d + 1:]))
        outs = m(*ys)
        if out_specs is None:
            return tuple(outs)
        merged = []
        for o, d in zip(outs, out_dims):
            if d is not None:        # the blocks back together along d
                sh = tuple(o.shape)
                o = o.reshape(sh[:d] + (sh[d] * sh[d + 1],) + sh[d + 2:])
            merged.append(o)
        return tuple(merged)
    level.__name__ = fname
    return level


def shard_map(f=None, /, *, out_specs, in_specs=None, mesh=None, axis_names=frozenset(), check_vma=True,
              check_rep=None, auto=frozenset()):
    """`f` on each block of its arguments over `mesh`, as `jax.shard_map` (see the module's
    docstring). `mesh` defaults to the mesh of an enclosing `with mesh:`; `check_rep` is
    jax.experimental.shard_map's name for `check_vma`."""
    if f is None:
        return functools.partial(shard_map, out_specs=out_specs, in_specs=in_specs, mesh=mesh, axis_names=axis_names,
                                 check_vma=check_vma, check_rep=check_rep, auto=auto)
    if not callable(f):
        raise TypeError(f"shard_map requires a callable for its first argument, but got {f!r}")
    check = check_vma if check_rep is None else check_rep
    fname = getattr(f, "__name__", type(f).__name__)
    runners = {}        # (mesh, argument signature) -> (the mapped function, the output tree)

    @functools.wraps(f)
    def wrapped(*args):
        from .._api import eval_shape
        from ..sharding import current_mesh
        m = mesh if mesh is not None else current_mesh()
        if m is None:
            raise ValueError(f"shard_map applied to '{fname}': no mesh given and none in scope (pass mesh=, or call "
                             "it inside `with mesh:`)")
        if not isinstance(m, Mesh):
            raise TypeError(f"shard_map requires a Mesh, got {type(m).__name__}")
        if (axis_names and set(axis_names) != set(m.axis_names)) or auto:
            raise NotImplementedError(f"shard_map applied to '{fname}': manual over only some of the mesh's axes "
                                      f"{m.axis_names} is not supported by gpuxla")
        if in_specs is None:
            raise NotImplementedError(f"shard_map applied to '{fname}': inferring in_specs from the arguments is not "
                                      "supported by gpuxla (its arrays are not sharded): give in_specs")
        flat, tree = tree_flatten(args)
        key = (id(m), tree, tuple((tuple(getattr(x, "shape", ())), str(getattr(x, "dtype", type(x)))) for x in flat))
        run = runners.get(key)
        if run is None:
            ins = _broadcast_specs(in_specs, args, "in_specs", fname)
            _check_names(ins, out_specs, m, fname)
            box = {}

            def body(*leaves):
                out_flat, box["tree"] = tree_flatten(f(*tree_unflatten(tree, list(leaves))))
                return tuple(out_flat)
            levels = _levels(m)
            eval_shape(_mapped(body, levels, ins, None, fname), *flat)       # the output tree
            outs = box["tree"].unflatten([0] * box["tree"].num_leaves)
            out_list = _broadcast_specs(out_specs, outs, "out_specs", fname)
            if check:
                # Every level a vmap: its out_axes=None refuses a result that varies along an axis
                # its out_spec does not name, before anything runs.
                try:
                    eval_shape(_mapped(body, levels, ins, out_list, fname), *flat)
                except ValueError as e:
                    if "out_axes" not in str(e):
                        raise
                    raise ValueError(f"shard_map applied to the function '{fname}' was given out_specs which require "
                                     f"replication over a mesh axis they do not name, but the output varies along it "
                                     f"({e}); name the axis in out_specs, make the value replicated (psum, "
                                     f"all_gather), or pass check_vma=False") from None
            devs = list(m.devices.reshape(m.devices.shape[0], -1)[:, 0]) if levels else None
            run = runners[key] = (_mapped(body, levels, ins, out_list, fname, devs), box["tree"], m)
        mapped, out_tree, _ = run
        return tree_unflatten(out_tree, list(mapped(*flat)))
    return wrapped


def _check_names(ins, out_specs, mesh, fname):
    outs = [s for s in tree_flatten(out_specs, is_leaf=_is_spec)[0] if s is not None]
    for s in ins + outs:
        for part in s:
            for n in (part if isinstance(part, tuple) else (part,)):
                if n is not None and n not in mesh.axis_names:
                    raise ValueError(f"shard_map applied to '{fname}': spec {s} names {n!r}, which is not an axis "
                                     f"of the mesh {mesh.axis_names}")
