"""The primitives of the breadth families: linear algebra, FFTs and complex parts, collectives
over named axes, and structured control flow.

They are declared here, with their shape rules, so that every table (NumPy reference, CUDA
library, derivatives, batching) can key on them without importing the family that wraps them.
Their derivative and batching rows live with the family, written with lax ops (lax/linalg.py,
lax/fft.py, lax/collectives.py, lax/control_flow.py); their NumPy and CuPy rows under backends/.
They stay out of core/primitives.py because tests/test_primitive_reach.py asks the op table to
reach every primitive there, and these are reached by their own test files.
"""
import enum
import threading

import numpy as np

from . import dtypes
from .graph import Aval, Primitive, shape_rules


# --- linear algebra ---------------------------------------------------------------------------
def check_matrix(name, a, square=True, min_rank=2):
    if a.ndim < min_rank or (square and a.shape[-1] != a.shape[-2]):
        what = "square matrices" if square else "matrices"
        raise ValueError(f"{name}: expected {what} (..., n, n) with rank >= {min_rank}, got {a.str_short()}")
    if not dtypes.is_inexact(a.dtype):
        raise TypeError(f"{name}: expected a floating-point array, got {a.str_short()}")


cholesky_p = Primitive("cholesky")
triangular_solve_p = Primitive("triangular_solve")
solve_p = Primitive("linear_solve")
lu_p = Primitive("lu", multiple_results=True)
eigh_p = Primitive("eigh", multiple_results=True)
svd_p = Primitive("svd", multiple_results=True)
qr_p = Primitive("qr", multiple_results=True)
LINALG = (cholesky_p, triangular_solve_p, solve_p, lu_p, eigh_p, svd_p, qr_p)


def _cholesky_rule(avals):
    check_matrix("cholesky", avals[0])
    return avals[0].update(weak_type=False)


def _triangular_solve_rule(avals, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    a, b = avals
    check_matrix("triangular_solve", a)
    m = a.shape[-1]
    ok = b.ndim == a.ndim and b.shape[:-2] == a.shape[:-2] and (b.shape[-2] if left_side else b.shape[-1]) == m
    if not ok or a.dtype != b.dtype:
        side = "(..., m, n)" if left_side else "(..., n, m)"
        raise TypeError(f"triangular_solve: b must have shape {side} with a's batch dims and dtype for a "
                        f"{a.str_short()} (left_side={left_side}), got {b.str_short()}")
    return b.update(weak_type=False)


def _solve_rule(avals, transpose_a=False):
    a, b = avals
    check_matrix("solve", a)
    if b.ndim != a.ndim or b.shape[:-2] != a.shape[:-2] or b.shape[-2] != a.shape[-1] or a.dtype != b.dtype:
        raise TypeError(f"solve: b must be (..., n, k) with a's batch dims and dtype for a {a.str_short()}, "
                        f"got {b.str_short()}")
    return b.update(weak_type=False)


def _lu_rule(avals):
    (a,) = avals
    check_matrix("lu", a, square=False)
    m, n = a.shape[-2:]
    i32 = np.dtype(np.int32)
    return (a.update(weak_type=False), Aval(a.shape[:-2] + (min(m, n),), i32), Aval(a.shape[:-2] + (m,), i32))


def _eigh_rule(avals, lower=True, sort_eigenvalues=True):
    (a,) = avals
    check_matrix("eigh", a)
    return (a.update(weak_type=False), Aval(a.shape[:-1], a.dtype))


def _svd_rule(avals, full_matrices, compute_uv):
    (a,) = avals
    check_matrix("svd", a, square=False)
    *b, m, n = a.shape
    k = min(m, n)
    s = Aval(tuple(b) + (k,), a.dtype)
    if not compute_uv:
        return (s,)
    u = Aval(tuple(b) + (m, m if full_matrices else k), a.dtype)
    vh = Aval(tuple(b) + (n if full_matrices else k, n), a.dtype)
    return (u, s, vh)


def _qr_rule(avals, full_matrices):
    (a,) = avals
    check_matrix("qr", a, square=False)
    *b, m, n = a.shape
    k = m if full_matrices else min(m, n)
    return (Aval(tuple(b) + (m, k), a.dtype), Aval(tuple(b) + (k, n), a.dtype))


shape_rules.update({cholesky_p: _cholesky_rule, triangular_solve_p: _triangular_solve_rule, solve_p: _solve_rule,
                    lu_p: _lu_rule, eigh_p: _eigh_rule, svd_p: _svd_rule, qr_p: _qr_rule})


# --- FFTs and complex parts -------------------------------------------------------------------
# fft(x; fft_type, fft_lengths) transforms the trailing len(fft_lengths) axes: FFT/IFFT
# complex->complex, RFFT real->complex (last axis n//2+1), IRFFT complex->real. real, imag,
# complex and conj split and join the complex values around it.
class FftType(enum.IntEnum):
    FFT = 0
    IFFT = 1
    RFFT = 2
    IRFFT = 3


fft_p = Primitive("fft")
real_p = Primitive("real")
imag_p = Primitive("imag")
complex_p = Primitive("complex")
conj_p = Primitive("conj")
FFT = (fft_p, real_p, imag_p, complex_p, conj_p)

REAL_OF = {np.dtype(np.complex64): np.dtype(np.float32), np.dtype(np.complex128): np.dtype(np.float64)}
COMPLEX_OF = {v: k for k, v in REAL_OF.items()}


def _fft_rule(avals, fft_type, fft_lengths):
    (a,) = avals
    k = len(fft_lengths)
    name = FftType(fft_type).name
    if not 1 <= k <= 3 or a.ndim < k:
        raise ValueError(f"fft: fft_lengths {fft_lengths} must name 1 to 3 trailing axes of {a.str_short()}")
    if name == "RFFT":
        if a.dtype not in COMPLEX_OF or a.shape[-k:] != tuple(fft_lengths):
            raise TypeError(f"fft (RFFT): operand must be float32/float64 with trailing shape {tuple(fft_lengths)}, "
                            f"got {a.str_short()}")
        return Aval(a.shape[:-1] + (fft_lengths[-1] // 2 + 1,), COMPLEX_OF[a.dtype])
    if a.dtype not in REAL_OF:
        raise TypeError(f"fft ({name}): operand must be complex64/complex128, got {a.str_short()}")
    if name == "IRFFT":
        if a.shape[-k:-1] != tuple(fft_lengths[:-1]) or a.shape[-1] != fft_lengths[-1] // 2 + 1:
            raise TypeError(f"fft (IRFFT): operand {a.str_short()} must have trailing shape "
                            f"{tuple(fft_lengths[:-1]) + (fft_lengths[-1] // 2 + 1,)} for fft_lengths {fft_lengths}")
        return Aval(a.shape[:-1] + (fft_lengths[-1],), REAL_OF[a.dtype])
    if a.shape[-k:] != tuple(fft_lengths):
        raise TypeError(f"fft ({name}): operand {a.str_short()} must have trailing shape {tuple(fft_lengths)}")
    return Aval(a.shape, a.dtype)


def _complex_only(name):
    def rule(avals):
        (a,) = avals
        if a.dtype not in REAL_OF:
            raise TypeError(f"{name} takes a complex64/complex128 operand, got {a.str_short()}")
        return Aval(a.shape, REAL_OF[a.dtype] if name != "conj" else a.dtype, a.weak_type)
    return rule


def _complex_rule(avals):
    x, y = avals
    if x.dtype != y.dtype or x.dtype not in COMPLEX_OF:
        raise TypeError(f"complex takes two float32 or two float64 operands, got {x.str_short()}, {y.str_short()}")
    shapes = [s for s in (x.shape, y.shape) if s != ()]
    if len(shapes) == 2 and shapes[0] != shapes[1]:
        raise TypeError(f"complex got incompatible shapes {x.str_short()}, {y.str_short()}")
    return Aval(shapes[0] if shapes else (), COMPLEX_OF[x.dtype], x.weak_type and y.weak_type)


shape_rules.update({fft_p: _fft_rule, real_p: _complex_only("real"), imag_p: _complex_only("imag"),
                    conj_p: _complex_only("conj"), complex_p: _complex_rule})


# --- collectives over named vmap axes ---------------------------------------------------------
psum_p = Primitive("psum")              # param axis_name: tuple of names
pmax_p = Primitive("pmax")
pmin_p = Primitive("pmin")
all_gather_p = Primitive("all_gather")  # params axis_name (one name), axis, tiled, axis_size
axis_index_p = Primitive("axis_index")  # param axis_name (one name)
# Member i keeps block i of the sum along scatter_dimension (the tiled form: lax.psum_scatter's
# untiled one drops that length-1 axis). Params axis_name (one name), scatter_dimension, axis_size.
psum_scatter_p = Primitive("psum_scatter")
# Member src's operand becomes member dst's for each (src, dst) of perm; the others get zeros.
ppermute_p = Primitive("ppermute")      # params axis_name (one name), perm (tuple of pairs)
# Member i gets block i of split_axis from every member j, concatenated in j order along
# concat_axis (the tiled form; lax.all_to_all's untiled one moves the split axis first).
all_to_all_p = Primitive("all_to_all")  # params axis_name (one name), split_axis, concat_axis, axis_size
# vmap's rewrite batches a node of these that names the axis being rewritten even when its
# operand is unbatched; constant folding leaves them alone.
COLLECTIVES = frozenset((psum_p, pmax_p, pmin_p, all_gather_p, axis_index_p, psum_scatter_p, ppermute_p,
                         all_to_all_p))


def _gather_shape(avals, axis_name, axis, tiled, axis_size):
    (a,) = avals
    shape = list(a.shape)
    if tiled:
        shape[axis] *= axis_size
    else:
        shape.insert(axis, axis_size)
    return Aval(shape, a.dtype, a.weak_type)


for _p in (psum_p, pmax_p, pmin_p):
    shape_rules[_p] = lambda avals, axis_name: avals[0]
shape_rules[all_gather_p] = _gather_shape
shape_rules[axis_index_p] = lambda avals, axis_name: Aval((), np.int32)


def _scatter_shape(avals, axis_name, scatter_dimension, axis_size):
    (a,) = avals
    shape = list(a.shape)
    shape[scatter_dimension] //= axis_size
    return Aval(shape, a.dtype, a.weak_type)


def _all_to_all_shape(avals, axis_name, split_axis, concat_axis, axis_size):
    (a,) = avals
    shape = list(a.shape)
    shape[split_axis] //= axis_size
    shape[concat_axis] *= axis_size
    return Aval(shape, a.dtype, a.weak_type)


shape_rules[psum_scatter_p] = _scatter_shape
shape_rules[ppermute_p] = lambda avals, axis_name, perm: avals[0]
shape_rules[all_to_all_p] = _all_to_all_shape

for _p in COLLECTIVES:
    # The value depends on the other examples of the axis, so it is never concrete inside the
    # trace (and vmap's rewrite must visit it even when its operand is a constant).
    _p.symbolic_value = (lambda p: lambda params: f"the collective '{p.name}' over the vmapped axis "
                         f"{params['axis_name'][0]!r}")(_p)


# --- structured control flow ------------------------------------------------------------------
# Each holds traced bodies in its params (lax/control_flow.py's Body: leaves, captured, outs,
# out_avals); the shape rules read the bodies' output avals.
cond_p = Primitive("cond", multiple_results=True)    # inputs: index, *operands, *captured
while_p = Primitive("while", multiple_results=True)  # inputs: *carry, *cond_captured, *body_captured
scan_p = Primitive("scan", multiple_results=True)    # inputs: *carry, *xs, *captured
CONTROL_FLOW = (cond_p, while_p, scan_p)


def _scan_rule(avals, body, length, reverse, n_carry, n_xs):
    ys = body.out_avals[n_carry:]
    return tuple(avals[:n_carry]) + tuple(Aval((length,) + a.shape, a.dtype, a.weak_type) for a in ys)


shape_rules[cond_p] = lambda avals, branches, n_ops: tuple(branches[0].out_avals)
shape_rules[while_p] = lambda avals, cond_body, body, n_carry: tuple(avals[:n_carry])
shape_rules[scan_p] = _scan_rule


def cond_captured(branches):
    """The captured inputs of a cond node: every branch's captured nodes, each once, in order."""
    seen, out = set(), []
    for b in branches:
        for n in b.captured:
            if n.id not in seen:
                seen.add(n.id)
                out.append(n)
    return out


def cond_cap_positions(branches, i):
    """Positions, in a cond node's captured inputs, of branch i's captured nodes."""
    pos = {n.id: k for k, n in enumerate(cond_captured(branches))}
    return [pos[n.id] for n in branches[i].captured]


# --- host callbacks and their effects ---------------------------------------------------------
# host_callback(*args; fn, result_avals, effect, vmap_method, n_batch) calls a Python function on
# the host with the NumPy values of its inputs (gpuxla/debug.py). Its results are result_avals,
# then, for an effectful callback ("debug", "io"), one token. effect_barrier(x, *tokens) is x: a
# trace ties every token built inside it to each of its outputs with one, so that DCE keeps the
# callback and a jitted function runs it on every call (see `effect_frame`).
host_callback_p = Primitive("host_callback", multiple_results=True, library=True)
effect_barrier_p = Primitive("effect_barrier", library=True)
TOKEN = Aval((), np.bool_)


def _host_callback_rule(avals, fn, result_avals, effect, vmap_method, n_batch):
    return tuple(result_avals) + ((TOKEN,) if effect != "pure" else ())


shape_rules[host_callback_p] = _host_callback_rule
shape_rules[effect_barrier_p] = lambda avals: avals[0]

_effects = threading.local()


class effect_frame:
    """Collects the effect tokens made while a function is traced (`tokens`, in order)."""

    def __enter__(self):
        self.tokens = []
        stack = getattr(_effects, "stack", None)
        if stack is None:
            stack = _effects.stack = []
        stack.append(self)
        return self

    def __exit__(self, *exc):
        _effects.stack.pop()


def collecting_effects():
    """Whether a trace is running that collects effect tokens (jit, vmap, control-flow bodies)."""
    return bool(getattr(_effects, "stack", None))


def add_effect(token):
    """Record an effect token in the innermost trace; False when no trace is collecting."""
    stack = getattr(_effects, "stack", None)
    if not stack:
        return False
    stack[-1].tokens.append(token)
    return True


def attach_effects(outs, tokens):
    """Each output made to depend on every token (the outputs themselves unchanged)."""
    return [effect_barrier_p.bind(o, *tokens) for o in outs]
