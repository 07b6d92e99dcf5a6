"""`jax.interpreters.partial_eval` on gpuxla: gpuxla has no partial evaluation. flax imports the
module at import time and names `PartialVal` in annotations; it calls `PartialVal.unknown` and
`trace_to_jaxpr_nounits` only in `lazy_init` and `nn.scan`, where they raise NotImplementedError
naming them (any other name raises AttributeError through the `jax` aliases)."""

__all__ = ["PartialVal", "trace_to_jaxpr_nounits"]


def _missing(name):
    return NotImplementedError(f"jax.interpreters.partial_eval.{name} is not in gpuxla (it has no partial "
                               "evaluation of jaxprs)")


class PartialVal:
    """JAX's known-or-unknown value of partial evaluation; cannot be made on gpuxla."""

    def __init__(self, *args, **kwargs):
        raise _missing("PartialVal")

    @classmethod
    def known(cls, x):
        raise _missing("PartialVal.known")

    @classmethod
    def unknown(cls, aval):
        raise _missing("PartialVal.unknown")


def trace_to_jaxpr_nounits(*args, **kwargs):
    raise _missing("trace_to_jaxpr_nounits")
