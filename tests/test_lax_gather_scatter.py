"""lax.gather / lax.scatter* with XLA's dimension numbers, against a NumPy reference of XLA's
semantics written here element by element (loop over output / update positions), across
dimension-number combinations (JAX's doc examples, windows, batching dims), modes, out-of-bounds
indices and dtypes; grads against finite differences; vmap over operand and indices."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax

GDN, SDN = lax.GatherDimensionNumbers, lax.ScatterDimensionNumbers


# --- the reference: XLA's operation semantics, one element at a time -----------------------------
def _start(x_shape, idx, bi, index_map, sizes, batching, idx_batching):
    start, oob = [0] * len(x_shape), False
    for k, d in enumerate(index_map):
        s, hi = int(idx[bi + (k,)]), x_shape[d] - sizes[d]
        oob |= not 0 <= s <= hi
        start[d] = min(max(s, 0), hi)
    for od, ib in zip(batching, idx_batching):
        start[od] = bi[ib]
    return start, oob


def ref_gather(x, idx, dn, sizes, mode, fill):
    window = [d for d in range(x.ndim) if d not in dn.collapsed_slice_dims + dn.operand_batching_dims]
    ws, bs = iter([sizes[d] for d in window]), iter(idx.shape[:-1])
    rank = len(dn.offset_dims) + idx.ndim - 1
    out_shape = tuple(next(ws) if i in dn.offset_dims else next(bs) for i in range(rank))
    out = np.empty(out_shape, x.dtype)
    for oi in np.ndindex(out_shape):
        bi = tuple(oi[i] for i in range(rank) if i not in dn.offset_dims)
        start, oob = _start(x.shape, idx, bi, dn.start_index_map, sizes, dn.operand_batching_dims,
                            dn.start_indices_batching_dims)
        for d, w in zip(window, [oi[i] for i in dn.offset_dims]):
            start[d] += w
        out[oi] = fill if mode == "fill" and oob else x[tuple(start)]
    return out


_COMBINE = {"set": lambda a, b: b, "add": np.add, "mul": np.multiply, "min": np.minimum, "max": np.maximum}


def ref_scatter(x, idx, u, dn, mode, kind):
    out = x.copy()
    window = [d for d in range(x.ndim) if d not in dn.inserted_window_dims + dn.operand_batching_dims]
    sizes = [1] * x.ndim
    for ud, od in zip(dn.update_window_dims, window):
        sizes[od] = u.shape[ud]
    scatter_dims = [d for d in range(u.ndim) if d not in dn.update_window_dims]
    for ui in np.ndindex(u.shape):
        bi = tuple(ui[d] for d in scatter_dims)
        start, oob = _start(x.shape, idx, bi, dn.scatter_dims_to_operand_dims, sizes, dn.operand_batching_dims,
                            dn.scatter_indices_batching_dims)
        if oob and mode != "clip":
            continue
        for d, ud in zip(window, dn.update_window_dims):
            start[d] += ui[ud]
        out[tuple(start)] = _COMBINE[kind](out[tuple(start)], u[ui])
    return out


# --- cases: (operand shape, indices shape (last = index vector), dimension numbers, slice sizes) --
GATHER_CASES = {
    # JAX's doc example: x[indices] on a vector.
    "take": ((5,), (6, 1), GDN((), (0,), (0,)), (1,)),
    "rows": ((4, 3), (5, 1), GDN((1,), (0,), (0,)), (1, 3)),
    "columns": ((4, 3), (2, 1), GDN((0,), (1,), (1,)), (4, 1)),
    "windows_interleaved": ((6, 7), (2, 3, 2), GDN((1, 3), (), (0, 1)), (2, 3)),
    "window_and_collapsed": ((5, 6, 4), (3, 1), GDN((0, 2), (1,), (1,)), (2, 1, 3)),
    "points_2d": ((5, 6), (4, 2), GDN((), (0, 1), (0, 1)), (1, 1)),
    "points_2d_swapped_map": ((5, 6), (4, 2), GDN((), (0, 1), (1, 0)), (1, 1)),
    "whole_operand_per_index": ((3, 2), (4, 0), GDN((1, 2), (), ()), (3, 2)),
    "batching_front": ((3, 5, 4), (3, 2, 1), GDN((2,), (1,), (1,), (0,), (0,)), (1, 1, 4)),
    "batching_middle": ((5, 3, 4), (2, 3, 1), GDN((1,), (0, 1), (0,), (), ()), (1, 1, 2)),
    "batching_operand_mid": ((5, 3, 4), (2, 3, 1), GDN((2,), (0,), (0,), (1,), (1,)), (1, 1, 2)),
    "two_batching_dims": ((2, 3, 6), (3, 2, 1), GDN((), (2,), (2,), (0, 1), (1, 0)), (1, 1, 1)),
    "scalar_batch": ((6, 5), (2,), GDN((0, 1), (), (0, 1)), (3, 2)),
}


def _indices(shape, x_shape, index_map, sizes, rng, oob):
    if not shape[-1]:
        return np.zeros(shape, np.int32)
    hi = np.array([x_shape[d] - sizes[d] for d in index_map])
    lo, top = (-3, hi + 4) if oob else (0, hi + 1)
    return rng.integers(lo, top, size=shape).astype(np.int32)


@pytest.mark.parametrize("case", sorted(GATHER_CASES))
@pytest.mark.parametrize("mode", ["clip", "fill", "promise_in_bounds"])
def test_gather_matches_xla_semantics(case, mode):
    xs, ishape, dn, sizes = GATHER_CASES[case]
    rng = np.random.default_rng(abs(hash((case, mode))) % 2**32)
    x = rng.standard_normal(xs).astype(np.float32)
    idx = _indices(ishape, xs, dn.start_index_map, sizes, rng, oob=mode != "promise_in_bounds")
    got = lax.gather(x, idx, dn, sizes, mode=mode)
    fill = np.nan if mode == "fill" else None
    want = ref_gather(x, idx, dn, sizes, "fill" if mode == "fill" else "clip", fill)
    np.testing.assert_array_equal(np.asarray(got), want)
    assert got.dtype == np.float32


@pytest.mark.parametrize("dtype,fill,default", [(np.int32, None, np.iinfo(np.int32).min),
                                                (np.uint8, None, 255), (np.bool_, None, True),
                                                (np.float16, None, np.nan), (np.int32, -7, -7),
                                                (np.float32, 2.5, 2.5)])
def test_gather_fill_values_and_dtypes(dtype, fill, default):
    xs, ishape, dn, sizes = GATHER_CASES["window_and_collapsed"]
    rng = np.random.default_rng(0)
    x = (rng.standard_normal(xs) * 10).astype(dtype)
    idx = np.array([[0], [5], [-1]], np.int32)   # in bounds, window past the end, negative
    got = np.asarray(lax.gather(x, idx, dn, sizes, mode=lax.GatherScatterMode.FILL_OR_DROP, fill_value=fill))
    np.testing.assert_array_equal(got, ref_gather(x, idx, dn, sizes, "fill", default))
    assert got.dtype == dtype


@pytest.mark.parametrize("idx_dtype", [np.int8, np.uint8, np.int16, np.uint32, np.int32])
def test_gather_index_dtypes(idx_dtype):
    x = np.arange(300, dtype=np.float32).reshape(150, 2)
    dn = GDN((1,), (0,), (0,))
    info = np.iinfo(idx_dtype)
    idx = np.array([[0], [info.max], [3], [max(info.min, -2)]]).astype(idx_dtype)
    for mode in ("clip", "fill"):
        got = np.asarray(lax.gather(x, idx, dn, (1, 2), mode=mode))
        np.testing.assert_array_equal(got, ref_gather(x, idx.astype(np.int64), dn, (1, 2), mode, np.nan))


SCATTER_CASES = {
    # JAX's doc example: x.at[indices].add(values).
    "points": ((5,), (6, 1), (6,), SDN((), (0,), (0,))),
    "rows": ((4, 3), (5, 1), (5, 3), SDN((1,), (0,), (0,))),
    "columns_window_first": ((3, 4), (2, 1), (3, 2), SDN((0,), (1,), (1,))),
    "windows": ((6, 7), (3, 2), (3, 2, 3), SDN((1, 2), (), (0, 1))),
    "window_interleaved": ((6, 7), (3, 2), (2, 3, 3), SDN((0, 2), (), (0, 1))),
    "partial_rows": ((6, 7), (4, 1), (4, 5), SDN((1,), (0,), (0,))),
    "batching": ((3, 5, 4), (3, 2, 1), (3, 2, 4), SDN((2,), (1,), (1,), (0,), (0,))),
    "batching_second": ((5, 3), (2, 3, 1), (2, 3), SDN((), (0,), (0,), (1,), (1,))),
    "whole_windows": ((3, 2), (4, 1), (4, 3, 2), SDN((1, 2), (), (0,))),
}


@pytest.mark.parametrize("case", sorted(SCATTER_CASES))
@pytest.mark.parametrize("kind", ["add", "mul", "min", "max", "set"])
@pytest.mark.parametrize("mode", ["clip", "drop"])
def test_scatter_matches_xla_semantics(case, kind, mode):
    xs, ishape, us, dn = SCATTER_CASES[case]
    rng = np.random.default_rng(abs(hash((case, kind, mode))) % 2**32)
    x = rng.standard_normal(xs).astype(np.float32)
    u = rng.standard_normal(us).astype(np.float32)
    window = [d for d in range(len(xs)) if d not in dn.inserted_window_dims + dn.operand_batching_dims]
    sizes = [1] * len(xs)
    for ud, od in zip(dn.update_window_dims, window):
        sizes[od] = us[ud]
    idx = _indices(ishape, xs, dn.scatter_dims_to_operand_dims, sizes, rng, oob=True)
    if kind == "set":
        # Which of overlapping updates wins is unspecified (XLA): drop all but the first update, or
        # (clip) write one window of values at one start from every update.
        idx = idx.reshape(-1, ishape[-1])
        idx[1:] = -10 if mode == "drop" else idx[0]
        idx = idx.reshape(ishape)
        if mode == "clip":
            first = u
            for d in range(len(us)):
                if d not in dn.update_window_dims:
                    first = first.take([0], axis=d)
            u = np.broadcast_to(first, us).copy()
    fn = {"set": lax.scatter, "add": lax.scatter_add, "mul": lax.scatter_mul, "min": lax.scatter_min,
          "max": lax.scatter_max}[kind]
    got = np.asarray(fn(x, idx, u, dn, mode=mode))
    want = ref_scatter(x, idx, u, dn, mode, kind)
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


def test_scatter_default_mode_drops_and_sub():
    x = np.arange(6, dtype=np.int32)
    dn = SDN((), (0,), (0,))
    idx = np.array([[1], [6], [-1], [1]], np.int32)
    u = np.array([5, 7, 9, 2], np.int32)
    np.testing.assert_array_equal(np.asarray(lax.scatter_add(x, idx, u, dn)), ref_scatter(x, idx, u, dn, "drop", "add"))
    np.testing.assert_array_equal(np.asarray(lax.scatter_sub(x, idx, u, dn)),
                                  ref_scatter(x, idx, -u, dn, "drop", "add"))
    np.testing.assert_array_equal(np.asarray(lax.scatter_add(x, idx, u, dn, mode="clip")),
                                  ref_scatter(x, idx, u, dn, "clip", "add"))
    assert lax.scatter_add(x, idx, u, dn).dtype == np.int32


def test_scatter_apply_applies_once_per_update():
    x = np.arange(5.0, dtype=np.float32)
    dn = SDN((), (0,), (0,))
    idx = np.array([[1], [1], [3], [7]], np.int32)
    f = lambda v: v * 2 + 1  # noqa: E731
    want = x.copy()
    for i in (1, 1, 3):
        want[i] = f(want[i])
    np.testing.assert_array_equal(np.asarray(lax.scatter_apply(x, idx, f, dn, update_shape=(4,))), want)
    want[4] = f(want[4])     # clip moves 7 onto the last element
    np.testing.assert_array_equal(np.asarray(lax.scatter_apply(x, idx, f, dn, update_shape=(4,), mode="clip")),
                                  want)
    jitted = jax.jit(lambda x, i: lax.scatter_apply(x, i, f, dn, update_shape=(4,), mode="clip"))
    np.testing.assert_array_equal(np.asarray(jitted(x, idx)), want)


# --- transformations ---------------------------------------------------------------------------
def _fd_check(f, args, argnum, rng, eps=1e-3, tol=2e-2):
    """grad of f (scalar) along a random direction against a central difference, float64."""
    g = np.asarray(jax.grad(f, argnums=argnum)(*args))
    v = rng.standard_normal(np.shape(args[argnum]))
    plus, minus = list(args), list(args)
    plus[argnum] = args[argnum] + eps * v
    minus[argnum] = args[argnum] - eps * v
    fd = (float(f(*plus)) - float(f(*minus))) / (2 * eps)
    np.testing.assert_allclose(np.sum(g * v), fd, rtol=tol, atol=tol)


@pytest.mark.parametrize("case", ["windows_interleaved", "batching_front", "window_and_collapsed"])
@pytest.mark.parametrize("mode", ["clip", "fill"])
def test_gather_grad_finite_differences(case, mode, x64):
    xs, ishape, dn, sizes = GATHER_CASES[case]
    rng = np.random.default_rng(3)
    x = rng.standard_normal(xs)
    idx = _indices(ishape, xs, dn.start_index_map, sizes, rng, oob=True)
    w = rng.standard_normal(np.shape(ref_gather(x, idx, dn, sizes, "clip", None)))
    f = lambda x: jnp.sum(jnp.nan_to_num(lax.gather(x, idx, dn, sizes, mode=mode)) * w)  # noqa: E731
    _fd_check(f, (x,), 0, rng)


@pytest.mark.parametrize("kind", ["add", "set", "mul", "max"])
@pytest.mark.parametrize("case", ["windows", "batching", "columns_window_first"])
def test_scatter_grad_finite_differences(kind, case, x64):
    xs, ishape, us, dn = SCATTER_CASES[case]
    rng = np.random.default_rng(5)
    x, u = rng.standard_normal(xs), rng.standard_normal(us)
    window = [d for d in range(len(xs)) if d not in dn.inserted_window_dims + dn.operand_batching_dims]
    sizes = [1] * len(xs)
    for ud, od in zip(dn.update_window_dims, window):
        sizes[od] = us[ud]
    idx = _indices(ishape, xs, dn.scatter_dims_to_operand_dims, sizes, rng, oob=True)
    fn = {"set": lax.scatter, "add": lax.scatter_add, "mul": lax.scatter_mul, "max": lax.scatter_max}[kind]
    w = rng.standard_normal(xs)
    f = lambda x, u: jnp.sum(fn(x, idx, u, dn) * w)  # noqa: E731
    _fd_check(f, (x, u), 0, rng)
    if kind != "set":        # set with overlapping windows: the winner is unspecified
        _fd_check(f, (x, u), 1, rng)


def test_vmap_over_operand_and_indices():
    xs, ishape, dn, sizes = GATHER_CASES["windows_interleaved"]
    rng = np.random.default_rng(7)
    xb = rng.standard_normal((3,) + xs).astype(np.float32)
    ib = np.stack([_indices(ishape, xs, dn.start_index_map, sizes, rng, oob=True) for _ in range(3)])
    g = lambda x, i: lax.gather(x, i, dn, sizes, mode="fill")  # noqa: E731
    for in_axes, args, pick in [((0, 0), (xb, ib), lambda k: (xb[k], ib[k])),
                                ((0, None), (xb, ib[0]), lambda k: (xb[k], ib[0])),
                                ((None, 0), (xb[0], ib), lambda k: (xb[0], ib[k]))]:
        got = np.asarray(jax.vmap(g, in_axes=in_axes)(*args))
        for k in range(3):
            np.testing.assert_array_equal(got[k], ref_gather(*pick(k), dn, sizes, "fill", np.nan))
    xs, ishape, us, sdn = SCATTER_CASES["windows"]
    ub = rng.standard_normal((3,) + us).astype(np.float32)
    sb = np.stack([_indices(ishape, xs, sdn.scatter_dims_to_operand_dims, (3, 3), rng, oob=True) for _ in range(3)])
    got = np.asarray(jax.vmap(lambda x, i, u: lax.scatter_add(x, i, u, sdn))(xb, sb, ub))
    for k in range(3):
        np.testing.assert_allclose(got[k], ref_scatter(xb[k], sb[k], ub[k], sdn, "drop", "add"), rtol=1e-6)


def test_jit_and_grad_of_jit_agree_with_eager():
    xs, ishape, dn, sizes = GATHER_CASES["batching_front"]
    rng = np.random.default_rng(9)
    x = rng.standard_normal(xs).astype(np.float32)
    idx = _indices(ishape, xs, dn.start_index_map, sizes, rng, oob=True)
    f = lambda x, i: jnp.sum(lax.gather(x, i, dn, sizes, mode="clip") ** 2)  # noqa: E731
    np.testing.assert_allclose(float(jax.jit(f)(x, idx)), float(f(x, idx)), rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(jax.grad(f))(x, idx)), np.asarray(jax.grad(f)(x, idx)), rtol=1e-6)


def test_runs_on_every_platform(platform):
    xs, ishape, dn, sizes = GATHER_CASES["windows_interleaved"]
    rng = np.random.default_rng(11)
    x = rng.standard_normal(xs).astype(np.float32)
    idx = _indices(ishape, xs, dn.start_index_map, sizes, rng, oob=True)
    got = jax.jit(lambda x, i: lax.gather(x, i, dn, sizes, mode="fill", fill_value=0.5))(x, idx)
    np.testing.assert_array_equal(np.asarray(got), ref_gather(x, idx, dn, sizes, "fill", 0.5))
    xs, ishape, us, sdn = SCATTER_CASES["batching"]
    x, u = rng.standard_normal(xs).astype(np.float32), rng.standard_normal(us).astype(np.float32)
    sidx = _indices(ishape, xs, sdn.scatter_dims_to_operand_dims, (1, 1, 4), rng, oob=True)
    got = jax.jit(lambda x, i, u: lax.scatter_add(x, i, u, sdn))(x, sidx, u)
    np.testing.assert_allclose(np.asarray(got), ref_scatter(x, sidx, u, sdn, "drop", "add"), rtol=1e-6)


# --- errors ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("dn,sizes,match", [
    (GDN((1,), (0,), (0, 1)), (1, 3), "start_index_map and the bound of dimension"),
    (GDN((2,), (0,), (0,)), (1, 3), "Offset dimension 0 in gather op is out of bounds"),
    (GDN((1,), (0,), (0,)), (2, 3), "can only collapse slice dims with bound 1"),
    (GDN((1,), (0,), (0,)), (1, 4), "Slice size at index 1 in gather op is out of range"),
    (GDN((1,), (0,), (0,)), (1,), "one slice size for every input dimension"),
    (GDN((), (0,), (0,)), (1, 3), "either be a offset dimension or explicitly collapsed"),
    (GDN((1,), (0,), (3,)), (1, 3), r"Invalid start_index_map; domain is \[0, 2\)"),
    (GDN((1,), (0,), (0,), (0,), (0,)), (1, 3), "must be disjoint"),
])
def test_gather_bad_dimension_numbers(dn, sizes, match):
    with pytest.raises(TypeError, match=match):
        lax.gather(np.zeros((4, 3), np.float32), np.zeros((5, 1), np.int32), dn, sizes)


def test_scatter_bad_arguments():
    x, idx = np.zeros((4, 3), np.float32), np.zeros((5, 1), np.int32)
    with pytest.raises(TypeError, match="Updates tensor must be of rank 2; got 1"):
        lax.scatter_add(x, idx, np.zeros(5, np.float32), SDN((1,), (0,), (0,)))
    with pytest.raises(TypeError, match="window dimensions of updates must not exceed"):
        lax.scatter_add(x, idx, np.zeros((5, 4), np.float32), SDN((1,), (0,), (0,)))
    with pytest.raises(TypeError, match="scatter dimensions of updates must be the same"):
        lax.scatter_add(x, idx, np.zeros((6, 3), np.float32), SDN((1,), (0,), (0,)))
    with pytest.raises(TypeError, match="updates dtype int32 must equal the operand dtype float32"):
        lax.scatter_add(x, idx, np.zeros((5, 3), np.int32), SDN((1,), (0,), (0,)))
    with pytest.raises(TypeError, match="inserted_window_dims in scatter op must be sorted"):
        lax.scatter_add(np.zeros((4, 3, 2), np.float32), np.zeros((5, 2), np.int32), np.zeros((5, 3), np.float32),
                        SDN((1,), (2, 0), (0, 2)))
    with pytest.raises(ValueError, match='Unknown gather mode "wrap"'):
        lax.scatter_add(x, idx, np.zeros((5, 3), np.float32), SDN((1,), (0,), (0,)), mode="wrap")
    assert lax.GatherScatterMode.from_any("drop") is lax.GatherScatterMode.FILL_OR_DROP
    assert lax.GatherScatterMode.from_any(None) is lax.GatherScatterMode.FILL_OR_DROP


def test_scalar_operand():
    x = np.float32(2.0)
    idx = np.zeros((3, 0), np.int32)
    np.testing.assert_array_equal(np.asarray(lax.gather(x, idx, GDN((), (), ()), ())), [2.0, 2.0, 2.0])
    u = np.array([1.0, 4.0, 0.5], np.float32)
    np.testing.assert_allclose(float(lax.scatter_add(x, idx, u, SDN((), (), ()))), 7.5)
    np.testing.assert_allclose(float(lax.scatter_mul(x, idx, u, SDN((), (), ()))), 4.0)
