"""The host drivers of structured control flow (cond, while, scan), for every platform.

A control-flow node holds traced bodies (lax/control_flow.py's Body). Its driver compiles each
body as a Program on the active backend, once per platform, and runs it on that platform's
buffers; only branch indices and loop predicates are read on the host. So loops on the cuda
platform drive compiled kernels on device arrays, and on the numpy platform NumPy rules.

`host_rules[prim](*buffers, **params)` returns the node's results; each backend looks here before
its own rules.
"""
import numpy as np

from ..core import extensions as X


def body_executable(body):
    """A body compiled for the active backend (once per platform)."""
    from . import compile_tiered, get_backend
    be = get_backend()
    exe = body.executables.get(be.platform)
    if exe is None:
        # (tiered where the platform has tiers: a loop's first iterations never wait for a compile)
        exe = body.executables[be.platform] = compile_tiered(be, body.program())
    return exe


def run_body(body, bufs):
    """Execute a body on buffers of the active backend (leaves then captured)."""
    return body_executable(body)(list(bufs))


def _host(buf):
    return buf.get() if hasattr(buf, "get") else buf


def _xp(buf):
    try:
        import cupy
        return cupy.get_array_module(buf)
    except Exception:
        return np


def _cond(index, *args, branches, n_ops):
    i = int(np.clip(int(np.asarray(_host(index))), 0, len(branches) - 1))
    ops, caps = args[:n_ops], args[n_ops:]
    mine = [caps[k] for k in X.cond_cap_positions(branches, i)]
    return tuple(run_body(branches[i], list(ops) + mine))


def _while(*args, cond_body, body, n_carry):
    carry = list(args[:n_carry])
    nc = len(cond_body.captured)
    ccaps, bcaps = list(args[n_carry:n_carry + nc]), list(args[n_carry + nc:])
    while bool(np.asarray(_host(run_body(cond_body, carry + ccaps)[0]))):
        carry = list(run_body(body, carry + bcaps))
    return tuple(carry)


def _scan(*args, body, length, reverse, n_carry, n_xs):
    carry = list(args[:n_carry])
    xs, caps = args[n_carry:n_carry + n_xs], list(args[n_carry + n_xs:])
    ys = []
    for i in (range(length - 1, -1, -1) if reverse else range(length)):
        out = run_body(body, carry + [x[i] for x in xs] + caps)
        carry, y = list(out[:n_carry]), out[n_carry:]
        ys.append(y)
    if reverse:
        ys.reverse()
    stacked = []
    for k, a in enumerate(body.out_avals[n_carry:]):
        if ys and hasattr(ys[0][k], "stack"):      # the cuda platform's bfloat16 arrays stack themselves
            stacked.append(ys[0][k].stack([y[k] for y in ys]))
        elif ys:
            xp = _xp(ys[0][k])
            stacked.append(xp.ascontiguousarray(xp.stack([xp.asarray(y[k]) for y in ys])))
        else:
            stacked.append(np.zeros((0,) + a.shape, a.dtype))
    return tuple(carry) + tuple(stacked)


host_rules = {X.cond_p: _cond, X.while_p: _while, X.scan_p: _scan}
