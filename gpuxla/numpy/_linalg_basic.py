"""Products and contractions: matmul, dot, tensordot, einsum and friends (jnp.linalg lives in linalg.py).
"""

import numpy as np

from .. import lax
from ..core import dtypes
from ._util import _canon_axis, _py_max
from ._lax_numpy import asarray, broadcast_to, moveaxis, ravel, reshape, stack, zeros_like
from ._ufuncs import multiply
from ._reductions import sum
from ._creation import diagonal


# --- linear algebra ---------------------------------------------------------------------------
def _dot_promote(a, b):
    a, b = asarray(a), asarray(b)
    dt = dtypes.result_type(a, b)
    return ((a if a.dtype == dt else lax.convert_element_type(a, dt)),
            (b if b.dtype == dt else lax.convert_element_type(b, dt)))


def _dot(a, b, dimension_numbers, precision=None, preferred_element_type=None):
    # jax.numpy's products name their result type (JAX prints it in jaxprs); lax.dot_general alone does not.
    pet = a.dtype if preferred_element_type is None else preferred_element_type
    return lax.dot_general(a, b, dimension_numbers, precision, pet)


def matmul(a, b, precision=None, preferred_element_type=None):
    """Matrix product with NumPy's broadcasting of batch dimensions (`a @ b`)."""
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: operands must not be scalars, got shapes {a.shape} and {b.shape}")
    av, bv = a.ndim == 1, b.ndim == 1
    if av:
        a = lax.reshape(a, (1, a.shape[0]))
    if bv:
        b = lax.reshape(b, (b.shape[0], 1))
    if a.shape[-1] != b.shape[-2]:
        raise TypeError(f"matmul: contracting dimensions differ: {a.shape} @ {b.shape} (a.shape[-1]={a.shape[-1]} "
                        f"!= b.shape[-2]={b.shape[-2]})")
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    nb = len(batch)
    if a.ndim > 2 or b.ndim > 2:
        # Broadcast batch dimensions where one side is missing or has size 1.
        if a.shape[:-2] != batch:
            a = broadcast_to(a, batch + a.shape[-2:]) if a.ndim - 2 != 0 else a
        if b.shape[:-2] != batch:
            b = broadcast_to(b, batch + b.shape[-2:]) if b.ndim - 2 != 0 else b
    if a.ndim == 2 and b.ndim > 2:
        out = _dot(a, b, (((1,), (nb,)), ((), ())), precision, preferred_element_type)
        out = moveaxis(out, 0, -2)
    elif b.ndim == 2 and a.ndim > 2:
        out = _dot(a, b, (((a.ndim - 1,), (0,)), ((), ())), precision, preferred_element_type)
    else:
        bd = tuple(range(nb))
        out = _dot(a, b, (((a.ndim - 1,), (b.ndim - 2,)), (bd, bd)), precision, preferred_element_type)
    if av:
        out = lax.squeeze(out, (out.ndim - 2,))
    if bv:
        out = lax.squeeze(out, (out.ndim - 1,))
    return out


def dot(a, b, precision=None, preferred_element_type=None):
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    if b.ndim == 1 or a.ndim == 1 or (a.ndim <= 2 and b.ndim <= 2):
        if a.shape[-1] != b.shape[0 if b.ndim == 1 else -2]:
            raise TypeError(f"dot: shapes {a.shape} and {b.shape} not aligned: {a.shape[-1]} (dim {a.ndim - 1}) != "
                            f"{b.shape[0 if b.ndim == 1 else -2]}")
        return _dot(a, b, (((a.ndim - 1,), (0 if b.ndim == 1 else b.ndim - 2,)), ((), ())), precision,
                    preferred_element_type)
    return _dot(a, b, (((a.ndim - 1,), (b.ndim - 2,)), ((), ())), precision, preferred_element_type)


def vdot(a, b, precision=None):
    return dot(ravel(a), ravel(b), precision)


def vecdot(x1, x2, axis=-1):
    return sum(multiply(x1, x2), axis=axis)


def inner(a, b, precision=None):
    a, b = _dot_promote(a, b)
    if a.ndim == 0 or b.ndim == 0:
        return multiply(a, b)
    return _dot(a, b, (((a.ndim - 1,), (b.ndim - 1,)), ((), ())), precision)


def outer(a, b, out=None):
    a, b = ravel(a), ravel(b)
    return multiply(a[:, None], b[None, :])


def tensordot(a, b, axes=2, precision=None):
    a, b = _dot_promote(a, b)
    if isinstance(axes, (int, np.integer)):
        ax_a, ax_b = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        ax_a, ax_b = axes
        ax_a = (ax_a,) if isinstance(ax_a, (int, np.integer)) else tuple(ax_a)
        ax_b = (ax_b,) if isinstance(ax_b, (int, np.integer)) else tuple(ax_b)
    ax_a = tuple(_canon_axis(x, a.ndim, "tensordot") for x in ax_a)
    ax_b = tuple(_canon_axis(x, b.ndim, "tensordot") for x in ax_b)
    return _dot(a, b, ((ax_a, ax_b), ((), ())), precision)


def kron(a, b):
    a, b = asarray(a), asarray(b)
    nd = _py_max(a.ndim, b.ndim)
    a = reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ae = reshape(a, [d for s in a.shape for d in (s, 1)])
    be = reshape(b, [d for s in b.shape for d in (1, s)])
    return reshape(multiply(ae, be), [x * y for x, y in zip(a.shape, b.shape)])


def cross(a, b, axisa=-1, axisb=-1, axisc=-1, axis=None):
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = moveaxis(a, axisa, -1), moveaxis(b, axisb, -1)
    if a.shape[-1] not in (2, 3) or b.shape[-1] not in (2, 3):
        raise ValueError("cross: incompatible dimensions for cross product (dimension must be 2 or 3)")
    a0, a1 = a[..., 0], a[..., 1]
    b0, b1 = b[..., 0], b[..., 1]
    a2 = a[..., 2] if a.shape[-1] == 3 else zeros_like(a0)
    b2 = b[..., 2] if b.shape[-1] == 3 else zeros_like(b0)
    if a.shape[-1] == 2 and b.shape[-1] == 2:
        return a0 * b1 - a1 * b0
    c = stack([a1 * b2 - a2 * b1, a2 * b0 - a0 * b2, a0 * b1 - a1 * b0], -1)
    return moveaxis(c, -1, axisc)


def einsum(subscripts, *operands, optimize="greedy", precision=None, preferred_element_type=None):
    """Einstein summation through dot_general and transposes (pairwise, left to right)."""
    ops = [asarray(o) for o in operands]
    subscripts = subscripts.replace(" ", "")
    if "->" in subscripts:
        ins, out = subscripts.split("->")
    else:
        ins, out = subscripts, None
    in_specs = ins.split(",")
    if len(in_specs) != len(ops):
        raise ValueError(f"einsum: {len(in_specs)} operand subscripts for {len(ops)} operands")
    in_specs = _expand_ellipsis(in_specs, ops)
    if out is None:
        counts = {}
        for s in in_specs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = "".join(sorted({c for s in in_specs for c in s if c in _ELL}, key=lambda c: _ELL.index(c))) + \
            "".join(sorted(c for c, n in counts.items() if n == 1 and c not in _ELL))
    elif "..." in out:
        ell = sorted({c for s in in_specs for c in s if c in _ELL}, key=lambda c: _ELL.index(c))
        out = out.replace("...", "".join(ell))
    dt = dtypes.result_type(*ops)
    ops = [o if o.dtype == dt else lax.convert_element_type(o, dt) for o in ops]
    ops = [_einsum_single(o, s, out, in_specs[:i] + in_specs[i + 1:]) for i, (o, s) in enumerate(zip(ops, in_specs))]
    specs = [s for _, s in ops]
    ops = [o for o, _ in ops]
    x, xs = ops[0], specs[0]
    for k in range(1, len(ops)):
        x, xs = _einsum_pair(x, xs, ops[k], specs[k], out, specs[k + 1:], precision, preferred_element_type)
    # Final: sum leftover labels and transpose to `out`.
    drop = tuple(i for i, c in enumerate(xs) if c not in out)
    if drop:
        x = lax.reduce_sum(x, drop)
        xs = "".join(c for c in xs if c in out)
    if sorted(xs) != sorted(out):
        raise ValueError(f"einsum: output subscript labels {out!r} must appear in the inputs")
    return lax.transpose(x, tuple(xs.index(c) for c in out)) if xs != out else x


_ELL = "".join(chr(c) for c in range(0x3b1, 0x3b1 + 20))  # labels for ellipsis dimensions


def _expand_ellipsis(specs, ops):
    out = []
    for s, o in zip(specs, ops):
        if "..." in s:
            # Ellipsis dimensions take the last labels of _ELL: aligned from the right, as
            # broadcasting aligns them.
            n = o.ndim - (len(s) - 3)
            s = s.replace("...", _ELL[len(_ELL) - n:] if n > 0 else "")
        if len(s) != o.ndim:
            raise ValueError(f"einsum: subscripts {s!r} do not match operand of shape {o.shape}")
        out.append(s)
    return out


def _einsum_single(x, s, out, others):
    """Take diagonals of repeated labels and sum labels used nowhere else."""
    while len(set(s)) != len(s):
        c = next(c for c in s if s.count(c) > 1)
        i = s.index(c)
        j = s.index(c, i + 1)
        x = diagonal(x, 0, i, j)
        s = s[:i] + s[i + 1:j] + s[j + 1:] + c
    keep_elsewhere = set(out) | {c for o in others for c in o}
    drop = tuple(i for i, c in enumerate(s) if c not in keep_elsewhere)
    if drop:
        x = lax.reduce_sum(x, drop)
        s = "".join(c for c in s if c in keep_elsewhere)
    return x, s


def _einsum_pair(x, xs, y, ys, out, later, precision, pet):
    keep = set(out) | {c for s in later for c in s}
    # Size-1 broadcast labels (from ellipses) are expanded so both sides agree.
    for c in set(xs) & set(ys):
        dx, dy = x.shape[xs.index(c)], y.shape[ys.index(c)]
        if dx != dy:
            if dx == 1:
                shp = list(x.shape)
                shp[xs.index(c)] = dy
                x = broadcast_to(x, shp)
            elif dy == 1:
                shp = list(y.shape)
                shp[ys.index(c)] = dx
                y = broadcast_to(y, shp)
            else:
                raise ValueError(f"einsum: label {c!r} has sizes {dx} and {dy}")
    batch = [c for c in xs if c in ys and c in keep]
    contract = [c for c in xs if c in ys and c not in keep]
    dn = ((tuple(xs.index(c) for c in contract), tuple(ys.index(c) for c in contract)),
          (tuple(xs.index(c) for c in batch), tuple(ys.index(c) for c in batch)))
    r = _dot(x, y, dn, precision, pet)
    rs = "".join(batch) + "".join(c for c in xs if c not in ys) + "".join(c for c in ys if c not in xs)
    return r, rs
