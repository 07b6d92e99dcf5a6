"""`jax.interpreters.ad` on gpuxla: the JVP-rule registry of `jax.extend.core.Primitive`s and the
values JAX's rules take and return (`Zero`, `UndefinedPrimal`).

gpuxla differentiates a library primitive through its JVP rule, forward and backward (the VJP is
the JVP's tangent graph walked backward, as for `custom_jvp`). A rule registered only in
`primitive_transposes` is never called: binding such a primitive under `grad` raises, naming it.
"""
from ..core.graph import Aval

__all__ = ["primitive_jvps", "primitive_transposes", "Zero", "UndefinedPrimal", "is_undefined_primal",
           "instantiate_zeros", "zeros_like_aval", "defjvp"]

# prim -> rule(primals, tangents, **params) -> (primal_out, tangent_out); a zero tangent may be `Zero`.
primitive_jvps = {}
# prim -> rule(cts, *args, **params): kept for libraries that register them; gpuxla transposes the
# JVP instead, so a primitive with a transpose rule and no JVP rule raises when differentiated.
primitive_transposes = {}


class Zero:
    """A symbolic zero tangent of abstract value `aval`."""

    def __init__(self, aval):
        self.aval = aval

    @staticmethod
    def from_primal_value(x):
        from ..core.trace import aval_of
        a = aval_of(x)
        return Zero(Aval(a.shape, a.dtype))

    def __repr__(self):
        return f"Zero({self.aval})"


class UndefinedPrimal:
    """A linear input of a transpose rule (JAX's API; gpuxla never calls transpose rules)."""

    def __init__(self, aval):
        self.aval = aval

    def __repr__(self):
        return f"UndefinedPrimal({self.aval})"


def is_undefined_primal(x):
    return type(x) is UndefinedPrimal


def zeros_like_aval(aval):
    """Zeros of `aval` (float0 zeros for integer and bool avals, as gpuxla's tangents are)."""
    from ..transforms.ad import zeros_like_aval as z
    return z(Aval(aval.shape, aval.dtype, getattr(aval, "weak_type", False)))


def instantiate_zeros(t):
    """`t`, with a symbolic `Zero` made into an array of zeros."""
    return zeros_like_aval(t.aval) if type(t) is Zero else t


def defjvp(prim, *jvprules):
    """One JVP rule per operand, `rule(t_i, *primals, **params)`, their results summed (JAX's
    `ad.defjvp`); a None rule marks an operand that has no derivative."""
    def jvp(primals, tangents, **params):
        out = prim.bind(*primals, **params)
        parts = [r(t, *primals, **params) for r, t in zip(jvprules, tangents)
                 if r is not None and type(t) is not Zero]
        if not parts:
            return out, Zero.from_primal_value(out)
        total = parts[0]
        for p in parts[1:]:
            total = total + p
        return out, total
    primitive_jvps[prim] = jvp
