"""`jax.interpreters.mlir` on gpuxla. gpuxla does not lower to MLIR; the one kind of lowering
it can run is `lower_fun(f)`, a lowering written as a JAX function of the operands: a bound
`jax.extend.core.Primitive` whose lowering was made by it computes `f` with gpuxla's operations.
Any other registered lowering (a hand-written MLIR rule) raises when its primitive is bound
under a transformation, naming the primitive."""

__all__ = ["register_lowering", "lower_fun", "LoweredFun"]

# prim -> the registered rule (LoweredFun when made by lower_fun); platform-specific ones by
# (prim, platform).
_lowerings = {}


class LoweredFun:
    """A lowering written as a function of the operands (what `lower_fun` returns)."""

    def __init__(self, fun, multiple_results):
        self.fun, self.multiple_results = fun, multiple_results

    def __call__(self, ctx, *args, **params):
        raise NotImplementedError("jax.interpreters.mlir lowering rules cannot be called on gpuxla (it has no "
                                  "MLIR); a primitive lowered with lower_fun runs its function instead")


def lower_fun(fun, multiple_results=True):
    return LoweredFun(fun, multiple_results)


def register_lowering(prim, rule, platform=None, **kwargs):
    _lowerings[prim if platform is None else (prim, platform)] = rule
    return rule


def lowering_of(prim):
    """The LoweredFun registered for `prim` (any platform), None when there is none, or the
    foreign rule (not a LoweredFun) to report."""
    rule = _lowerings.get(prim)
    if rule is None:
        rule = next((r for k, r in _lowerings.items() if isinstance(k, tuple) and k[0] is prim), None)
    return rule
