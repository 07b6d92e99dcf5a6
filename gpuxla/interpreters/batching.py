"""`jax.interpreters.batching` on gpuxla: the batching-rule registry of
`jax.extend.core.Primitive`s. A rule is `rule(args, dims, **params) -> (out, out_dim)` (lists of
both for a primitive with multiple results); `not_mapped` (None) marks an unbatched value. `vmap`
of a bound library primitive calls its rule; a primitive without one raises, naming it.
`axis_primitive_batchers` holds rules that also take the axis: `rule(axis_size, axis_name,
trace_type, args, dims, **params)` (trace_type is None on gpuxla)."""
from ..transforms.batching import moveaxis as _moveaxis

__all__ = ["primitive_batchers", "axis_primitive_batchers", "not_mapped", "moveaxis"]

primitive_batchers = {}
axis_primitive_batchers = {}
not_mapped = None


def moveaxis(x, src, dst):
    """x with axis `src` moved to `dst` (`jax.interpreters.batching.moveaxis`)."""
    return _moveaxis(x, src, dst)
