"""`jax.interpreters` on gpuxla: the rule registries libraries fill for the primitives they define
with `jax.extend.core.Primitive` (equinox does so at import). gpuxla honours them: `ad`'s JVP
rules, `batching`'s batching rules, and `mlir.lower_fun` lowerings are what a bound primitive
runs (see gpuxla/extend/core.py). What gpuxla cannot honour raises, naming the primitive."""
from . import ad, batching, mlir, partial_eval, pxla
