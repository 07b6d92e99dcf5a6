"""vmap over every op of the shared op table: `vmap(f)(xs)` equals stacking `f(x)` over a Python
loop, with a random choice per op of which arguments are mapped, along which axis (negative axes
too) and where the batch axis goes in the output."""
import zlib

import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.core import dtypes
from gpuxla.tree_util import tree_flatten, tree_map

from op_table import OPS, make_args, tolerance

B = 3


def _choices(op, dtype, rng):
    """in_axes per argument (None for static or unmapped ones; at least one mapped)."""
    shapes = make_args(op, dtype, np.random.default_rng(0))
    dyn = [i for i in range(len(shapes)) if i not in op.static]
    axes = {}
    for i in dyn:
        nd = np.ndim(shapes[i])
        axes[i] = None if rng.random() < 0.3 else int(rng.integers(-(nd + 1), nd + 1))
    if dyn and all(a is None for a in axes.values()):
        axes[dyn[int(rng.integers(len(dyn)))]] = 0
    return axes


def _close(got, want, op, what):
    got_l, want_l = tree_flatten(got)[0], tree_flatten(want)[0]
    assert len(got_l) == len(want_l), what
    for g, w in zip(got_l, want_l):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape and g.dtype == w.dtype, f"{what}: got {g.dtype}{g.shape}, want {w.dtype}{w.shape}"
        if w.dtype.kind in "fc":
            rtol, atol = tolerance(op, w.dtype)
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol, atol=atol,
                                       equal_nan=True, err_msg=what)
        else:
            np.testing.assert_array_equal(g, w, err_msg=what)


CASES = [(op, dt) for op in OPS for dt in op.dtypes]


@pytest.mark.parametrize("op,dtype", CASES, ids=[f"{op.name}-{dt.name}" for op, dt in CASES])
def test_vmap_matches_loop(op, dtype):
    rng = np.random.default_rng(zlib.crc32(f"{op.name}-{dtype.name}".encode()))
    axes = _choices(op, dtype, rng)
    with dtypes.enable_x64(op.x64 or dtype == np.float64):
        examples = [make_args(op, dtype, np.random.default_rng(seed)) for seed in range(B)]
        base = examples[0]
        # Batched arguments: the examples stacked along the chosen axis; unmapped ones fixed.
        args = []
        for i, a in enumerate(base):
            ax = axes.get(i)
            if ax is None:
                args.append(a if i in op.static else jnp.asarray(a))
            else:
                args.append(jnp.asarray(np.stack([e[i] for e in examples], axis=ax)))
        dyn = [i for i in range(len(base)) if i not in op.static]

        def f(*d):
            full = list(base)
            for i, v in zip(dyn, d):
                full[i] = v
            return op.fn(jnp, *full)

        def example(b):
            return [examples[b][i] if axes.get(i) is not None else base[i] for i in range(len(base))]

        want = [op.fn(jnp, *[a if i in op.static else jnp.asarray(a) for i, a in enumerate(example(b))]) for b in range(B)]
        single = not isinstance(want[0], (tuple, list))
        out_axis = int(rng.integers(-(np.ndim(want[0]) + 1), np.ndim(want[0]) + 1)) if single else 0
        in_axes = tuple(axes.get(i) for i in dyn)
        # Ops without array arguments (creation ops) still vmap, given axis_size.
        got = jax.vmap(f, in_axes=in_axes, out_axes=out_axis, axis_size=None if dyn else B)(*[args[i] for i in dyn])
        stacked = tree_map(lambda *ws: np.stack([np.asarray(w) for w in ws], axis=out_axis), *want)
        _close(got, stacked, op, f"{op.name} in_axes={in_axes} out_axes={out_axis}")
