"""gpuxla.experimental.checkify: user checks (`check`) made functional by `checkify`, as
`jax.experimental.checkify`.

>>> import gpuxla as jax, gpuxla.numpy as jnp
>>> from gpuxla.experimental import checkify
>>> def f(x):
...     checkify.check(x > 0, "x must be positive, got {}", x)
...     return x * 2
>>> err, out = jax.jit(checkify.checkify(f))(jnp.float32(-1.0))
>>> err.get()
'x must be positive, got -1.0 (`check` failed)'

Inside `checkify(f)`, each check adds a failure flag and its format arguments to the returned
`Error` (a pytree of arrays, so it passes through jit and vmap); `err.get()` formats the first
failure on the host. Outside `checkify`, a check on values raises at once, and one on traced values
raises ValueError, as in JAX. Jitted functions called inside `checkify` run inline (the
process-wide `jax_disable_jit` is set while it runs). Only user checks exist: the automatic nan/index/division checks
(`nan_checks`, `index_checks`, `div_checks`) raise NotImplementedError, and so does a check inside
a lax control-flow body under checkify.
"""
import threading

import numpy as np

from ..core import extensions as X
from ..core.graph import Array
from ..tree_util import register_pytree_node, tree_flatten, tree_unflatten

__all__ = ["Error", "ErrorCategory", "JaxRuntimeError", "all_checks", "automatic_checks", "check", "check_error",
           "checkify", "debug_check", "div_checks", "float_checks", "index_checks", "init_error", "nan_checks",
           "user_checks"]


class JaxRuntimeError(ValueError):
    pass


class JaxException(Exception):
    """Base of the error categories."""


ErrorCategory = type[JaxException]


class FailedCheckError(JaxException):
    pass


class NaNError(JaxException):
    pass


class OOBError(JaxException):
    pass


class DivisionByZeroError(JaxException):
    pass


user_checks = frozenset({FailedCheckError})
nan_checks = frozenset({NaNError})
index_checks = frozenset({OOBError})
div_checks = frozenset({DivisionByZeroError})
float_checks = nan_checks | div_checks
automatic_checks = float_checks | index_checks
all_checks = automatic_checks | user_checks


class Error:
    """The failures a checkified function found: one flag per check (True: failed), with the
    check's message and format arguments. A pytree: the flags and arguments are its leaves."""

    def __init__(self, flags=(), messages=(), payloads=()):
        self.flags, self.messages, self.payloads = tuple(flags), tuple(messages), tuple(payloads)

    def _first(self):
        for flag, msg, payload in zip(self.flags, self.messages, self.payloads):
            f = np.asarray(flag)
            if f.any():
                idx = np.unravel_index(int(np.argmax(f)), f.shape) if f.ndim else ()
                fmt_args, fmt_kwargs = tree_unflatten(payload[0], [np.asarray(v)[idx] for v in payload[1]])
                return msg.format(*fmt_args, **fmt_kwargs) + " (`check` failed)"
        return None

    def get(self):
        """The first failure's message, or None."""
        return self._first()

    def get_exception(self):
        msg = self._first()
        return None if msg is None else JaxRuntimeError(msg)

    def throw(self):
        """Raise JaxRuntimeError for the first failure, if any."""
        msg = self._first()
        if msg is not None:
            raise JaxRuntimeError(msg)

    def __repr__(self):
        return f"Error({self.get()!r})"


def _flatten_error(e):
    leaves = list(e.flags) + [v for p in e.payloads for v in p[1]]
    return leaves, (e.messages, tuple((p[0], len(p[1])) for p in e.payloads))


def _unflatten_error(aux, leaves):
    messages, shapes = aux
    n = len(messages)
    flags, rest, payloads = leaves[:n], list(leaves[n:]), []
    for tree, k in shapes:
        payloads.append((tree, rest[:k]))
        rest = rest[k:]
    return Error(flags, messages, payloads)


register_pytree_node(Error, _flatten_error, _unflatten_error)

init_error = Error()

_state = threading.local()


def _contexts():
    if not hasattr(_state, "stack"):
        _state.stack = []
    return _state.stack


def _traced(x):
    return isinstance(x, Array) and x.sym is not None and x._buf is None


def _record(pred, msg, fmt_args, fmt_kwargs, api):
    from .. import numpy as jnp
    stack = _contexts()
    ctx = stack[-1] if stack else None
    leaves, tree = tree_flatten((tuple(fmt_args), dict(fmt_kwargs)))
    for v in leaves:
        if not isinstance(v, (Array, np.ndarray, np.generic)):
            raise TypeError(f"Formatting arguments to checkify.check need to be PyTrees of arrays, but got {v!r} "
                            f"of type {type(v)}.")
    pred = jnp.asarray(pred)
    if ctx is None:
        if _traced(pred) or any(_traced(v) for v in leaves):
            if api == "debug_check":
                return
            raise ValueError("Cannot abstractly evaluate a checkify.check which was not functionalized. This "
                             "probably means you tried to stage (jit/scan/pmap/...) a `check` without "
                             "functionalizing it through `checkify.checkify`.")
        Error([np.logical_not(np.all(np.asarray(pred)))], [msg], [(tree, leaves)]).throw()
        return
    if len(getattr(X._effects, "stack", ())) != ctx["depth"]:
        raise NotImplementedError(f"checkify.{api} inside a lax control-flow body under checkify is not in "
                                  "gpuxla yet")
    ctx["error"] = Error(ctx["error"].flags + (jnp.logical_not(jnp.all(pred)),), ctx["error"].messages + (msg,),
                         ctx["error"].payloads + ((tree, [jnp.asarray(v) for v in leaves]),))


def check(pred, msg, *fmt_args, **fmt_kwargs):
    """Fail with `msg.format(*fmt_args, **fmt_kwargs)` where `pred` is False (see the module doc)."""
    _record(pred, msg, fmt_args, fmt_kwargs, "check")


def debug_check(pred, msg, *fmt_args, **fmt_kwargs):
    """Like check under checkify; outside it a no-op on traced values (as JAX)."""
    _record(pred, msg, fmt_args, fmt_kwargs, "debug_check")


def check_error(error):
    """Raise `error` (outside checkify), or add its failures to the enclosing checkify's."""
    stack = _contexts()
    if not stack:
        if any(_traced(f) for f in error.flags):
            raise ValueError("check_error of a traced Error outside checkify")
        error.throw()
        return
    ctx = stack[-1]
    e = ctx["error"]
    ctx["error"] = Error(e.flags + error.flags, e.messages + error.messages, e.payloads + error.payloads)


def checkify(f, errors=user_checks):
    """`f` made to return ``(error, out)``: `error` holds the failures of its checks."""
    unsupported = set(errors) - set(user_checks)
    if unsupported:
        names = ", ".join(sorted(c.__name__ for c in unsupported))
        raise NotImplementedError(f"checkify with automatic checks ({names}) is not in gpuxla yet; "
                                  "only user_checks are")

    def checked(*args, **kwargs):
        from .. import disable_jit
        ctx = {"error": Error(), "depth": len(getattr(X._effects, "stack", ()))}
        _contexts().append(ctx)
        try:
            # jitted functions inside run inline (eagerly, or inside the jit around checkify), so
            # their checks are the checkified function's own: checkify(jit(f)) works as in JAX.
            with disable_jit():
                out = f(*args, **kwargs)
        finally:
            _contexts().pop()
        return ctx["error"], out
    return checked
