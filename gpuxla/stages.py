"""`jax.stages`: the ahead-of-time stages of a jitted function, `jit(f).lower(*args)` (`Lowered`)
and its `.compile()` (`Compiled`). `CompilerOptions` is the type of `compile`'s options, as in
JAX (libraries name it in annotations)."""
from .transforms.jit import Compiled, Lowered

__all__ = ["Lowered", "Compiled", "CompilerOptions"]

CompilerOptions = dict
