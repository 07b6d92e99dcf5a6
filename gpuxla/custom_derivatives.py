"""`jax.custom_derivatives`: custom_jvp, custom_vjp and the values their rules see with
`symbolic_zeros=True` (`SymbolicZero`, `CustomVJPPrimal`). `custom_jvp_call_p`/`custom_vjp_call_p`
are gpuxla's primitives of a call to them (a library keys tables on them)."""
from .core.primitives import custom_jvp_call_p, custom_vjp_call_p
from .transforms.custom import CustomVJPPrimal, SymbolicZero, custom_jvp, custom_vjp

__all__ = ["custom_jvp", "custom_vjp", "SymbolicZero", "CustomVJPPrimal", "zero_from_primal", "custom_jvp_call_p",
           "custom_vjp_call_p"]


def zero_from_primal(x, symbolic_zeros=False):
    """A zero tangent for primal `x`: a SymbolicZero when asked, else an array of zeros."""
    from .transforms.ad import zeros_like_aval
    from .core.trace import as_node
    if symbolic_zeros:
        return SymbolicZero.from_primal_value(x)
    return zeros_like_aval(as_node(x).aval)
