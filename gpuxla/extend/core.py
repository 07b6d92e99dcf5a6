"""`jax.extend.core` on gpuxla: `Primitive`, so that libraries which define their own primitives
(equinox does, at import) run on gpuxla with their rules honoured.

A library primitive is bound as a *composite* that keeps the library's rules:

  * its value is its lowering function (`mlir.lower_fun(f)`) or, without one, its `def_impl`
    function, computed with gpuxla's operations; the result is checked against its abstract
    evaluation (a mismatch raises TypeError naming the primitive);
  * under a transformation the call is wrapped in a `custom_jvp_call` node (as `jax.custom_jvp`
    is), so `grad`/`jvp` use its rule in `jax.interpreters.ad.primitive_jvps` (the VJP transposes
    it), `vmap` uses its rule in `jax.interpreters.batching.primitive_batchers`, and `jit`
    compiles the function's graph. A transformation without a rule raises, naming the primitive.

>>> import gpuxla.numpy as jnp
>>> from gpuxla.extend.core import Primitive
>>> from gpuxla.interpreters import ad
>>> cube_p = Primitive("cube")
>>> _ = cube_p.def_impl(lambda x: x * x * x)
>>> _ = cube_p.def_abstract_eval(lambda x: x)
>>> ad.primitive_jvps[cube_p] = lambda p, t: (cube_p.bind(*p), 3 * p[0] ** 2 * t[0])
>>> import gpuxla
>>> gpuxla.grad(lambda x: cube_p.bind(x))(2.0)
Array(12., dtype=float32, weak_type=True)

JAX's jaxpr classes (`Jaxpr`, `ClosedJaxpr`, `Var`, `Literal`) exist for libraries' isinstance
checks; gpuxla's graphs are not jaxprs, so no value is ever one of them and they cannot be made.
"""
import numpy as np

from .._jax_core import ShapedArray, Tracer, get_aval
from ..core import primitives as P
from ..core.graph import Aval, state
from ..core.trace import as_node
from ..interpreters import ad, batching, mlir
from ..transforms import batching as _batching, custom

__all__ = ["Primitive", "Effect", "ShapedArray", "Jaxpr", "ClosedJaxpr", "Var", "Literal", "mapped_aval",
           "unmapped_aval", "get_opaque_trace_state", "Tracer", "get_aval"]


class Primitive:
    """A library-defined primitive (JAX's `jax.extend.core.Primitive`): `def_impl`,
    `def_abstract_eval`, `bind`; its rules are looked up in `jax.interpreters.ad`/`batching`/`mlir`
    when it is bound."""
    multiple_results = False

    def __init__(self, name):
        self.name = name
        self.impl = None
        self.abstract_eval = None

    def __repr__(self):
        return self.name

    def def_impl(self, impl):
        self.impl = impl
        return impl

    def def_abstract_eval(self, abstract_eval):
        self.abstract_eval = abstract_eval
        return abstract_eval

    def def_effectful_abstract_eval(self, effectful_abstract_eval):
        def no_effects(*avals, **params):
            out, effects = effectful_abstract_eval(*avals, **params)
            if effects:
                raise NotImplementedError(f"primitive '{self.name}': effects ({effects}) are not supported by gpuxla")
            return out
        self.abstract_eval = no_effects
        return effectful_abstract_eval

    def bind(self, *args, **params):
        nodes = [as_node(a) for a in args]
        fun = _Call(self, params)
        if state.trace_level == 0:
            return fun(*nodes)          # eager, outside any transformation: nothing can ask for rules
        outs = custom._bind(P.custom_jvp_call_p, fun, nodes, (), jvp=_Jvp(self, params), remat=False,
                            batch=_Batch(self, params))
        return outs


class _Rule:
    """A primitive with its bind params: the function or rule a custom_jvp_call node carries. Equal
    when the primitive and params are (params compared by identity when unhashable), so eager
    realization and jit's cache see the same structure for the same call."""

    def __init__(self, prim, params):
        self.prim, self.params = prim, params
        try:
            self._key = (prim, tuple(sorted(params.items())))
            hash(self._key)
        except TypeError:
            self._key = (prim, id(self))
        self.__name__ = prim.name

    def __eq__(self, other):
        return type(self) is type(other) and self._key == other._key

    def __hash__(self):
        return hash(self._key)


class _Call(_Rule):
    """The primitive's value: its lower_fun function (else its impl), checked against its
    abstract evaluation."""

    def __call__(self, *args):
        prim, params = self.prim, self.params
        rule = mlir.lowering_of(prim)
        if isinstance(rule, mlir.LoweredFun):
            fun, multiple = rule.fun, rule.multiple_results
        elif prim.impl is not None:
            fun, multiple = prim.impl, prim.multiple_results
        else:
            what = "only an MLIR lowering rule, which gpuxla cannot run" if rule is not None else "no implementation"
            raise NotImplementedError(f"primitive '{prim.name}' (jax.extend.core.Primitive) has {what}; gpuxla "
                                      "runs a library primitive through def_impl or mlir.lower_fun")
        out = fun(*args, **params)
        outs = [as_node(o) for o in out] if multiple else [as_node(out)]
        self._check(args, outs)
        return outs if prim.multiple_results else outs[0]

    def _check(self, args, outs):
        prim = self.prim
        if prim.abstract_eval is None:
            return
        want = prim.abstract_eval(*[a.aval for a in args], **self.params)
        want = list(want) if prim.multiple_results else [want]
        got = [(o.shape, o.dtype) for o in outs]
        exp = [(tuple(a.shape), np.dtype(a.dtype)) for a in want]
        if got != exp:
            raise TypeError(f"primitive '{prim.name}': its implementation returned {got} where its abstract "
                            f"evaluation says {exp}")


class _Jvp(_Rule):
    """custom_jvp's rule for the call: the primitive's rule in ad.primitive_jvps."""

    def __call__(self, primals, tangents):
        rule = ad.primitive_jvps.get(self.prim)
        if rule is None:
            extra = (" (it has a transpose rule; gpuxla differentiates library primitives through their JVP rule "
                     "only)" if self.prim in ad.primitive_transposes else "")
            raise NotImplementedError(f"Differentiation rule for '{self.prim.name}' not implemented (jvp): register "
                                      f"one in jax.interpreters.ad.primitive_jvps{extra}")
        out, t_out = rule(tuple(primals), tuple(tangents), **self.params)
        if self.prim.multiple_results:
            return out, [None if type(t) is ad.Zero else t for t in t_out]
        return out, None if type(t_out) is ad.Zero else t_out


class _Batch(_Rule):
    """custom_jvp_call's batching hook: the primitive's rule in batching.primitive_batchers, on
    the call's operands; returns (outs, out_dims)."""

    def __call__(self, args, dims):
        prim, args, dims = self.prim, list(args), [batching.not_mapped if d is None else d for d in dims]
        if prim in batching.primitive_batchers:
            out, out_dims = batching.primitive_batchers[prim](args, dims, **self.params)
        elif prim in batching.axis_primitive_batchers:
            frame = _batching.rewriting_frame()
            out, out_dims = batching.axis_primitive_batchers[prim](_batching.batch_size(args, dims), frame.name, None,
                                                                   args, dims, **self.params)
        else:
            raise NotImplementedError(f"Batching rule for '{prim.name}' not implemented (vmap): register one "
                                      "in jax.interpreters.batching.primitive_batchers")
        if not self.prim.multiple_results:
            out, out_dims = [out], [out_dims]
        return [as_node(o) for o in out], list(out_dims)


# --- avals ---------------------------------------------------------------------------------------
def mapped_aval(size, axis, aval):
    """`aval` without its mapped axis `axis` (of length `size`)."""
    if axis is None:
        return aval
    if aval.shape[axis] != size:
        raise ValueError(f"mapped_aval: axis {axis} of {aval} has size {aval.shape[axis]}, not {size}")
    return Aval(aval.shape[:axis] + aval.shape[axis + 1:], aval.dtype, getattr(aval, "weak_type", False))


def unmapped_aval(size, axis, aval, explicit_mesh_axis=None):
    """`aval` with a new axis of length `size` at `axis`."""
    if axis is None:
        return aval
    return Aval(aval.shape[:axis] + (size,) + aval.shape[axis:], aval.dtype, getattr(aval, "weak_type", False))


def get_opaque_trace_state(convention=None):
    """An opaque token of the current tracing state, compared by equality (flax records it):
    gpuxla's is the depth of running transformations."""
    return ("gpuxla-trace-level", state.trace_level)


class Effect:
    """JAX's base class of effects (flax.nnx subclasses it at import). gpuxla's primitives have no
    effect objects; a library primitive's abstract evaluation that declares effects raises."""


# --- JAX's jaxpr classes: for isinstance checks only ---------------------------------------------
class _NoJaxpr:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"jax.extend.core.{type(self).__name__}: gpuxla's graphs are not JAX jaxprs; it "
                                  "cannot build or evaluate one")


class Jaxpr(_NoJaxpr):
    pass


class ClosedJaxpr(_NoJaxpr):
    pass


class Var(_NoJaxpr):
    pass


class Literal(_NoJaxpr):
    pass

