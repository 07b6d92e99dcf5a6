"""The memory plan and the call path of the kernel platforms' `Executable` (backends/cuda/plan.py),
run on the `cuda` platform over tests/fake_cupy.py (generated kernels on cuda-interpret, dot_general
planned for cuBLAS, the arena a fake device array):

  * the arena layout never gives two slots the same bytes while both are live (checked on the
    layout, and by poisoning every slot's bytes the moment it dies: results stay right);
  * results are the same bits with the arena on and off (GPUXLA_ARENA=0);
  * concurrent and nested calls of one executable never share a frame;
  * a library call that hands an intermediate through to an output gives the caller a copy;
  * dot_general decided at plan time agrees with einsum.
Every result is compared with NumPy.
"""

import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.backends.cuda.plan import ALIGN, Executable, Plan

# (_session_cache: the interpret modules go to the session's temporary cache)
from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401
from thread_util import run_threads  # noqa: E402

pytestmark = needs_cxx
RNG = np.random.default_rng(0)


@pytest.fixture
def cuda(monkeypatch):
    # The plain call path (frames walked step by step): calls after the first would otherwise
    # replay a CUDA graph (tests/test_cuda_graphs.py tests that path).
    monkeypatch.setenv("GPUXLA_CUDA_GRAPHS", "0")
    with fc.installed(nvrtc=False) as backend:
        yield backend


# --- programs --------------------------------------------------------------------------------
def mlp_loss(params, x):
    w1, b1, w2, b2 = params
    h = jnp.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    return jnp.mean(jax.nn.logsumexp(logits, axis=1) - logits[:, 0])


def mlp_step(params, x):
    loss, grads = jax.value_and_grad(mlp_loss)(params, x)
    return loss, [p - 0.1 * g for p, g in zip(params, grads)]


def mlp_step_ref(params, x):
    w1, b1, w2, b2 = (p.astype(np.float64) for p in params)
    x = x.astype(np.float64)
    h = np.tanh(x @ w1 + b1)
    logits = h @ w2 + b2
    m = logits.max(1, keepdims=True)
    lse = (m + np.log(np.exp(logits - m).sum(1, keepdims=True)))[:, 0]
    d = np.exp(logits - lse[:, None])
    d[:, 0] -= 1
    d /= len(x)
    dz = (d @ w2.T) * (1 - h * h)
    grads = (x.T @ dz, dz.sum(0), h.T @ d, d.sum(0))
    return np.mean(lse - logits[:, 0]), [p - 0.1 * g for p, g in zip((w1, b1, w2, b2), grads)]


MLP_ARGS = ([RNG.standard_normal((8, 16)).astype(np.float32) * 0.3, RNG.standard_normal(16).astype(np.float32) * 0.1,
             RNG.standard_normal((16, 4)).astype(np.float32) * 0.3, RNG.standard_normal(4).astype(np.float32) * 0.1],
            RNG.standard_normal((5, 8)).astype(np.float32))


def matvecs(mat, vs):        # the unrolled loop of bench's matvec_naive, smaller
    return jnp.stack([jnp.tanh(jnp.dot(mat, vs[i])) for i in range(vs.shape[0])])


def matvecs_ref(mat, vs):
    return np.tanh(vs.astype(np.float64) @ mat.T.astype(np.float64))


MATVEC_ARGS = (RNG.standard_normal((24, 24)).astype(np.float32), RNG.standard_normal((6, 24)).astype(np.float32))


def chain(x):                # kernels between library calls (sorts) and a split reduction
    for i in range(4):
        x = jnp.sort(jnp.exp(-x * x) * (i + 1) - 0.5)
    return x[::1000] * 0.5, jnp.sum(x * x)


def chain_ref(x):
    x = x.astype(np.float64)
    for i in range(4):
        x = np.sort(np.exp(-x * x) * (i + 1) - 0.5)
    return x[::1000] * 0.5, np.sum(x * x)


CHAIN_ARGS = (RNG.standard_normal(65_536).astype(np.float32),)
PROGRAMS = {"mlp_step": (mlp_step, mlp_step_ref, MLP_ARGS), "matvecs": (matvecs, matvecs_ref, MATVEC_ARGS),
            "chain": (chain, chain_ref, CHAIN_ARGS)}


def program_of(f, args):
    return jax.jit(f).lower(*args)._entry.program()


def check(got, want, rtol=2e-5, atol=2e-6):
    got, want = jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g, np.float64), w, rtol=rtol, atol=atol)


# --- the layout ------------------------------------------------------------------------------
def _check_layout(plan, lay, batches=()):
    spans = lay.intervals(plan, batches)
    packed = {s for b in batches for s in b[1] + b[2]}
    assert spans, "no intermediate in the arena"
    for s, lo, hi, first, last in spans:
        assert lo % ALIGN == 0 or s in packed
        assert 0 <= lo < hi <= lay.nbytes and s not in plan.outputs
    for i, (s, lo, hi, f0, l0) in enumerate(spans):
        for t, lo2, hi2, f1, l1 in spans[i + 1:]:
            if lo < hi2 and lo2 < hi:                   # the same bytes ...
                assert l0 < f1 or l1 < f0, (s, t)       # ... never live at the same step
    scratch = [o for offs in lay.scratch.values() for o in offs]
    assert all(o >= max(hi for _, _, hi, _, _ in spans) for o in scratch)
    return spans


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_layout_never_shares_bytes_between_live_slots(name):
    f, _, args = PROGRAMS[name]
    plan = Plan(program_of(f, args))
    dots = {n for n, (kind, what, *_) in enumerate(plan.steps) if kind == "library" and what.prim.name == "dot_general"}
    for in_place in (set(), dots):
        lay = plan.layout(in_place)
        spans = _check_layout(plan, lay)
    if name == "chain":      # dead slots are reused: the arena is smaller than its slots together
        assert lay.nbytes < sum(hi - lo for _, lo, hi, _, _ in spans)
        assert lay.scratch, "the split reduction's scratch is in the arena"
    with fc.installed(stub=True):       # with the cuda runtime's planned (and batched) dots
        g = jax.jit(f)
        g(*jax.tree_util.tree_map(jnp.asarray, args))
        exe = next(iter(g._cache.values())).fn
        _check_layout(exe.plan, exe.layout, exe.batches)
        assert bool(exe.batches) == (name == "matvecs")


def _poisoning(exe, frame, layout=None):
    """Wrap the frame's steps so that every arena slot is overwritten with NaN bits (0xFF bytes)
    right after its last reader ran."""
    plan, layout = exe.plan, layout or exe.layout
    dies = {}
    for s, off in layout.offsets.items():
        a = plan.info.avals[s]
        dies.setdefault(plan.last_use.get(s, -1), []).append((off, off + a.size * np.dtype(a.dtype).itemsize))
    raw = frame.arena._a

    def wrap(op, n):
        def poisoned(env):
            op(env)
            for lo, hi in dies.get(n, ()):
                raw[lo:hi] = 0xFF
        return poisoned
    frame.ops = [wrap(op, n) for op, n in zip(frame.ops, frame.op_steps)]
    return frame


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_poisoned_dead_slots_leave_results_unchanged(cuda, name):
    f, ref, args = PROGRAMS[name]
    dev = jax.tree_util.tree_map(jnp.asarray, args)
    g = jax.jit(f)
    plain = jax.tree_util.tree_map(np.asarray, g(*dev))
    exe = next(iter(g._cache.values())).fn
    assert isinstance(exe, Executable) and exe.layout.offsets
    frame = _poisoning(exe, exe._new_frame())
    exe._free[0] = [frame]                  # the next call on the (fake's only) stream takes it
    got = g(*dev)
    assert exe._free[0] == [frame]
    check(got, ref(*args))
    for a, b in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(plain)):
        assert np.asarray(a).tobytes() == b.tobytes()


def test_poisoning_catches_a_layout_that_shares_live_bytes(cuda):
    # The check above can fail: every intermediate at offset 0 is such a layout.
    f, ref, args = PROGRAMS["matvecs"]
    g = jax.jit(f)
    dev = [jnp.asarray(a) for a in args]
    g(*dev)
    exe = next(iter(g._cache.values())).fn
    bad = exe.layout
    good = dict(bad.offsets)
    try:
        bad.offsets = dict.fromkeys(good, 0)
        frame = _poisoning(exe, exe._new_frame())
    finally:
        bad.offsets = good
    exe._free[0] = [frame]
    got = np.asarray(g(*dev))
    assert not np.allclose(got, ref(*args), rtol=1e-3, atol=1e-3, equal_nan=True)


# --- arena on and off, frames, threads -------------------------------------------------------
@pytest.mark.parametrize("name", list(PROGRAMS))
def test_arena_on_and_off_give_the_same_bits(cuda, monkeypatch, name):
    f, ref, args = PROGRAMS[name]
    dev = jax.tree_util.tree_map(jnp.asarray, args)
    on = jax.tree_util.tree_map(np.asarray, jax.jit(f)(*dev))
    monkeypatch.setenv("GPUXLA_ARENA", "0")
    g = jax.jit(lambda *a: f(*a))       # a new function: traced and compiled again
    off = jax.tree_util.tree_map(np.asarray, g(*dev))
    assert next(iter(g._cache.values())).fn._new_frame().arena is None
    check(on, ref(*args))
    for a, b in zip(jax.tree_util.tree_leaves(on), jax.tree_util.tree_leaves(off)):
        if name == "matvecs":   # batched into one matrix product with the arena: another summation order
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        else:
            assert a.tobytes() == b.tobytes()


def test_one_arena_per_stream_reused_by_calls(cuda, monkeypatch):
    f, ref, args = PROGRAMS["mlp_step"]
    g = jax.jit(f)
    dev = jax.tree_util.tree_map(jnp.asarray, args)
    g(*dev)
    exe = next(iter(g._cache.values())).fn
    (frame,) = exe._free[0]
    for _ in range(3):
        check(g(*dev), ref(*args), rtol=1e-4, atol=1e-5)
    assert exe._free[0] == [frame]          # the same arena, call after call
    stream = {"ptr": 7}
    monkeypatch.setattr(exe, "_stream_key", lambda: stream["ptr"])
    check(g(*dev), ref(*args), rtol=1e-4, atol=1e-5)
    assert exe._free[0] == [frame] and len(exe._free[7]) == 1 and exe._free[7][0] is not frame


def test_nested_call_of_a_running_executable_gets_its_own_frame(cuda):
    # A call made while another call of the same executable is between steps (another thread,
    # or here the same thread, from inside a step) must not use the first call's arena.
    f, ref, args = PROGRAMS["matvecs"]
    g = jax.jit(f)
    dev = [jnp.asarray(a) for a in args]
    g(*dev)
    exe = next(iter(g._cache.values())).fn
    first = exe._free[0][0]
    other = [RNG.standard_normal(a.shape).astype(np.float32) for a in args]
    inner = []
    op0 = first.ops[0]

    def reenter(env):
        op0(env)
        if not inner:
            inner.append(np.asarray(g(*[jnp.asarray(a) for a in other])))
    first.ops[0] = reenter
    check(g(*dev), ref(*args))
    check(inner[0], ref(*other))
    assert len(exe._free[0]) == 2


def test_concurrent_calls_from_threads(cuda):
    f, ref, (params, _) = PROGRAMS["mlp_step"]
    g = jax.jit(f)
    n = 6
    xs = [np.random.default_rng(10 + t).standard_normal((5, 8)).astype(np.float32) for t in range(n)]
    wants = [ref(params, x) for x in xs]
    dev = [jnp.asarray(p) for p in params]
    g(dev, jnp.asarray(xs[0]))

    def work(t):
        x = jnp.asarray(xs[t])
        for _ in range(8):
            check(g(dev, x), wants[t], rtol=1e-4, atol=1e-5)
    run_threads(work, n)
    exe = next(iter(g._cache.values())).fn
    assert 1 <= len(exe._free[0]) <= n      # frames made on demand, one per call in flight


def test_idle_arenas_go_back_when_memory_runs_out(cuda):
    # Two executables with 4 MB arenas, room for one: the second call's arena is made after the
    # first executable's idle one is given back.
    x = jnp.asarray(RNG.standard_normal(1 << 20).astype(np.float32))
    f = jax.jit(lambda v: jnp.sort(jnp.sin(v)) * 2)
    g = jax.jit(lambda v: jnp.sort(jnp.cos(v)) * 2)
    want_f, want_g = np.sort(np.sin(np.asarray(x))) * 2, np.sort(np.cos(np.asarray(x))) * 2
    np.testing.assert_allclose(np.asarray(f(x)), want_f, rtol=1e-6, atol=1e-6)
    fexe = next(iter(f._cache.values())).fn
    assert fexe.layout.nbytes >= 4 << 20 and fexe._free[0]
    pool = fc.get_default_memory_pool()
    pool.set_limit(size=pool.used_bytes() + (10 << 20))     # g's arena, sort result and output: ~12 MB
    try:
        np.testing.assert_allclose(np.asarray(g(x)), want_g, rtol=1e-6, atol=1e-6)
    finally:
        pool.set_limit(None)
    assert not fexe._free.get(0)                # f's arena went back
    np.testing.assert_allclose(np.asarray(f(x)), want_f, rtol=1e-6, atol=1e-6)     # and is made again


def test_an_intermediate_passed_through_to_an_output_is_copied(cuda):
    # cond hands its operand (sin(x), an arena slot) back unchanged: the caller must get its own
    # buffer, or the next call would overwrite the first result.
    g = jax.jit(lambda p, x: lax.cond(p, lambda y: y, lambda y: y * 2, jnp.sin(x) + 1))
    x1, x2 = RNG.standard_normal(300).astype(np.float32), RNG.standard_normal(300).astype(np.float32)
    r1 = g(jnp.asarray(True), jnp.asarray(x1))
    r2 = g(jnp.asarray(True), jnp.asarray(x2))
    np.testing.assert_allclose(np.asarray(r1), np.sin(x1) + 1, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(np.asarray(r2), np.sin(x2) + 1, rtol=1e-6, atol=1e-6)
    exe = next(iter(g._cache.values())).fn
    assert exe.layout.offsets and exe._check == [0]     # sin(x) + 1 is in the arena; the output checked


# --- dot_general decided at plan time ----------------------------------------------------------
DOTS = {
    "matmul": ((3, 4), (4, 5), (((1,), (0,)), ((), ()))),
    "transposed_operands": ((4, 3), (5, 4), (((0,), (1,)), ((), ()))),
    "batch_leading": ((2, 3, 4), (2, 4, 5), (((2,), (1,)), ((0,), (0,)))),
    "batch_middle_and_last": ((3, 2, 4), (4, 5, 2), (((2,), (0,)), ((1,), (2,)))),
    "contract_two_dims": ((2, 3, 4), (4, 3, 5), (((1, 2), (1, 0)), ((), ()))),
    "vector_vector": ((6,), (6,), (((0,), (0,)), ((), ()))),
    "matrix_vector": ((3, 6), (6,), (((1,), (0,)), ((), ()))),
    "vector_matrix": ((6,), (6, 3), (((0,), (0,)), ((), ()))),
    "outer": ((3,), (4,), (((), ()), ((), ()))),
}


def einsum_ref(a, b, dn):
    (lc, rc), (lb, rb) = dn
    letters = "abcdefghijkl"
    la, ra = list(letters[:a.ndim]), list(letters[a.ndim:a.ndim + b.ndim])
    for i, j in zip(lc + lb, rc + rb):
        ra[j] = la[i]
    out = "".join([la[i] for i in lb] + [c for i, c in enumerate(la) if i not in lc and i not in lb]
                  + [c for j, c in enumerate(ra) if j not in rc and j not in rb])
    return np.einsum(f"{''.join(la)},{''.join(ra)}->{out}", a.astype(np.complex128), b.astype(np.complex128))


@pytest.mark.parametrize("dtype", [np.float32, np.complex64])
@pytest.mark.parametrize("case", list(DOTS))
def test_planned_dot_general_against_einsum(cuda, case, dtype):
    ls, rs, dn = DOTS[case]
    a = RNG.standard_normal(ls).astype(dtype)
    b = RNG.standard_normal(rs).astype(dtype)
    if dtype == np.complex64:
        a, b = a + 1j * RNG.standard_normal(ls).astype(np.float32), b - 2j * RNG.standard_normal(rs).astype(np.float32)
    want = einsum_ref(a, b, dn)
    direct = jax.jit(lambda x, y: lax.dot_general(x, y, dn))                 # inputs to an output
    inner = jax.jit(lambda x, y: lax.dot_general(x * 2, y + 1, dn) * 0.5)    # arena to arena
    before = fc.stats["matmuls"]
    got = direct(jnp.asarray(a), jnp.asarray(b))
    # (a float outer product contracts nothing: it runs as a product of broadcasts, a loop kernel,
    # not a library call -- passes._dot_as_product, tests/test_outer_products.py)
    outer = case == "outer" and dtype == np.float32
    assert fc.stats["matmuls"] == before + (not outer)
    assert got.shape == want.shape and got.dtype == dtype
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    got2 = inner(jnp.asarray(a), jnp.asarray(b))
    np.testing.assert_allclose(np.asarray(got2), einsum_ref(a * 2, b + 1, dn) * 0.5, rtol=1e-5, atol=1e-5)
    exe = next(iter(inner._cache.values())).fn
    assert bool(exe._dots) != outer, "the dot_general was not planned"
    if case != "outer":         # (an outer product's result is the program's only value)
        assert any(s in exe.layout.offsets for *_, outs, _ in exe.plan.steps for s in outs)


# --- independent matrix-vector dots batched into one product -----------------------------------
def _chained(xp, m, vs):
    v = vs[0]
    for i in range(1, 5):
        v = xp.tanh(m @ v) + vs[i]
    return v


M = RNG.standard_normal((12, 12)).astype(np.float32)
VS = RNG.standard_normal((5, 12)).astype(np.float32)
BATCHED = {
    # name: (function, NumPy reference, batched products of how many dots, cuBLAS calls per call)
    "mat_vec": (lambda m, vs: jnp.stack([m @ (vs[i] * 2) for i in range(5)]),
                lambda m, vs: (vs * 2) @ m.T, [5], 1),
    "vec_mat": (lambda m, vs: jnp.stack([jnp.sin(vs[i]) @ m for i in range(5)]) + 1,
                lambda m, vs: np.sin(vs) @ m + 1, [5], 1),
    "transposed_mat_vec": (lambda m, vs: jnp.stack([jnp.dot(m.T, vs[i] + 1) for i in range(5)]),
                           lambda m, vs: (vs + 1) @ m, [5], 1),
    # each vector is made from the previous result: nothing to batch
    "chained": (lambda m, vs: _chained(jnp, m, vs), lambda m, vs: _chained(np, m, vs), [], 4),
    # all results are read after the last dot (by one kernel): batched
    "summed": (lambda m, vs: sum(jnp.tanh(m @ (vs[i] - 1)) for i in range(5)),
               lambda m, vs: np.tanh((vs - 1) @ m.T).sum(0), [5], 1),
    # two products of the same matrix, then one whose vector is made from their results
    "two_rounds": (lambda m, vs: (lambda a: jnp.stack([m @ a[0], m @ a[1], a[2]]))(
                       jnp.stack([m @ (vs[0] + 1), m @ (vs[1] + 1), m @ (vs[2] + 1)]) * 0.5),
                   lambda m, vs: (lambda a: np.stack([m @ a[0], m @ a[1], a[2]]))(((vs[:3] + 1) @ m.T) * 0.5),
                   [3, 2], 2),
}


# --- operands and results of the batched product as views ----------------------------------------
VIEWS = {
    # name: (function, reference, kernels launched per call, vectors read from the input, results
    #        written into the stacked output)
    "rows_in_and_stacked_out": (lambda m, vs: jnp.stack([m @ vs[i] for i in range(5)]),
                                lambda m, vs: vs @ m.T, 0, True, True),
    "transposed_rows": (lambda m, vs: jnp.stack([jnp.dot(m.T, vs[i]) for i in range(5)]),
                        lambda m, vs: vs @ m, 0, True, True),
    "rows_then_tanh": (lambda m, vs: jnp.tanh(jnp.stack([m @ vs[i] for i in range(5)])),
                       lambda m, vs: np.tanh(vs @ m.T), 1, True, False),
    # a row summed too (the sum reads the input itself); the results are added to: no stacked view
    "row_also_summed": (lambda m, vs: jnp.stack([m @ vs[i] for i in range(5)]) + jnp.sum(vs[2]),
                        lambda m, vs: vs @ m.T + vs[2].sum(), None, True, False),
    # a vector read by another kernel too: the vectors are made in the arena as before
    "vector_also_read": (lambda m, vs: (lambda ws: jnp.stack([m @ ws[i] for i in range(5)]) + ws[1, 0])(vs * 2),
                         lambda m, vs: (vs * 2) @ m.T + vs[1, 0] * 2, None, False, False),
    # not in order: no view of the input
    "rows_reversed": (lambda m, vs: jnp.stack([m @ vs[4 - i] for i in range(5)]),
                      lambda m, vs: vs[::-1] @ m.T, None, False, True),
    "rows_of_a_3d_input": (lambda m, b: jnp.stack([m @ b[1, i] for i in range(5)]),
                           lambda m, b: b[1] @ m.T, 0, True, True),
}


@pytest.mark.parametrize("name", list(VIEWS))
def test_slices_and_stacks_around_a_batched_product_are_views(cuda, name):
    f, ref, kernels, vec_view, out_view = VIEWS[name]
    vs = VS if name != "rows_of_a_3d_input" else RNG.standard_normal((2, 5, 12)).astype(np.float32)
    g = jax.jit(f)
    m, v = jnp.asarray(M), jnp.asarray(vs)
    check(g(m, v), ref(M.astype(np.float64), vs.astype(np.float64)), rtol=1e-5, atol=1e-5)
    exe = next(iter(g._cache.values())).fn
    (batch,) = exe.batches
    assert (batch[5] is not None, batch[6] is not None) == (vec_view, out_view)
    _check_layout(exe.plan, exe.layout, exe.batches) if exe.layout.offsets else None
    before = dict(fc.stats)
    check(g(m, v), ref(M.astype(np.float64), vs.astype(np.float64)), rtol=1e-5, atol=1e-5)
    assert fc.stats["matmuls"] - before["matmuls"] == 1
    if kernels is not None:
        assert fc.stats["launches"] - before["launches"] == kernels
    if exe.layout.offsets:
        frame = _poisoning(exe, exe._new_frame())
        exe._free[0] = [frame]
        check(g(m, v), ref(M.astype(np.float64), vs.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_a_donated_input_read_as_a_view_is_not_overwritten(cuda):
    # vs is read by the batched product as a view, and the output (the same shape) is written by
    # it: the output must not go into vs's buffer.
    g = jax.jit(lambda m, vs: jnp.stack([m @ vs[i] for i in range(5)]), donate_argnums=1)
    for _ in range(3):
        check(g(jnp.asarray(M), jnp.asarray(VS)), VS.astype(np.float64) @ M.T.astype(np.float64),
              rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(BATCHED))
def test_independent_matrix_vector_dots_are_one_product(cuda, name):
    f, ref, sizes, calls = BATCHED[name]
    g = jax.jit(f)
    m, vs = jnp.asarray(M), jnp.asarray(VS)
    check(g(m, vs), ref(M.astype(np.float64), VS.astype(np.float64)), rtol=1e-5, atol=1e-5)
    exe = next(iter(g._cache.values())).fn
    assert sorted(len(b[0]) for b in exe.batches) == sorted(sizes)
    _check_layout(exe.plan, exe.layout, exe.batches)
    before = fc.stats["matmuls"]
    check(g(m, vs), ref(M.astype(np.float64), VS.astype(np.float64)), rtol=1e-5, atol=1e-5)
    assert fc.stats["matmuls"] - before == calls
    frame = _poisoning(exe, exe._new_frame())     # and no batched operand is overwritten early
    exe._free[0] = [frame]
    check(g(m, vs), ref(M.astype(np.float64), VS.astype(np.float64)), rtol=1e-5, atol=1e-5)


def test_host_overhead_benchmark_runs(monkeypatch):
    import os
    import sys
    monkeypatch.setattr(sys, "path", [os.path.dirname(os.path.dirname(os.path.abspath(__file__)))] + sys.path)
    from bench import host_overhead
    rows = host_overhead.measure(number=3, repeat=1, only=["dispatch_add", "matvec"])
    by = {r["name"].split()[0]: r for r in rows}
    assert by["dispatch_add"]["launches"] == 1 and by["dispatch_add"]["allocs"] == 1
    # one CUDA-graph replay per call: the 32 dots batched into one cuBLAS call inside it
    assert by["matvec_naive"]["launches"] == 1 and by["matvec_naive"]["matmuls"] == 0
    assert by["matvec_naive"]["library"] == 0
    assert all(r["us"] > 0 for r in rows)
