"""Errors raised by gpuxla, named as JAX names them."""


class JAXTypeError(TypeError):
    pass


class ConcretizationTypeError(JAXTypeError):
    """A concrete value was needed from an abstract (traced) array.

    Raised when Python control flow, `float()`, `bool()`, printing values or `np.asarray` meet an
    array whose value is unknown at trace time (an argument of a `jit`-ted function, or the
    per-example input of a `vmap`-ped one).
    """


class TracerArrayConversionError(ConcretizationTypeError):
    pass


class TracerBoolConversionError(ConcretizationTypeError):
    pass


class TracerIntegerConversionError(ConcretizationTypeError):
    pass


class UnexpectedTracerError(Exception):
    pass


class JaxRuntimeError(RuntimeError):
    """A failure at run time that JAX reports from its runtime (a disallowed transfer, ...)."""
