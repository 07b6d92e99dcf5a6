"""Transposed operands on the native `cpu` platform: the `tile-transpose` loop kernels of
compiler/lower.transpose_tiling spelled as cache blocks by render.CpuDialect.tile (each operand's
block copied into a local buffer 8 x 8 elements at a time by gx_transpose8, then the outputs
computed along the output's rows).

Every case of tests/test_transpose_tiles.py (and a few larger ones) runs on `cpu` against NumPy,
with the default blocks and with 16 x 16 ones (several blocks, ragged edges and batch indices even
on small shapes), on 1 and 2 threads, and again with the tiles switched off (the plain element
loop): the same bits each time, since every element is computed by the same expression.
"""
import re

import numpy as np

import gpuxla.numpy as jnp
from gpuxla.backends import cpu
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.compiler import lower, render
from gpuxla.compiler.cexpr import stype
from gpuxla.core import dtypes

from codegen_util import _session_cache, needs_cxx  # noqa: F401  (fixture, autouse)
from test_interpret_optable import program_of
from test_transpose_tiles import CASES, TILED, _against_numpy, _loop_kernel, _same_bits
from test_transpose_tiles import _compile as _compile_on

pytestmark = needs_cxx

MORE = [
    ("2-D, ragged, many blocks", lambda x, y: x.T + y, [(1000, 1030), (1030, 1000)], np.float32, True),
    ("batched 3-D, ragged", lambda x, y: jnp.transpose(x, (0, 2, 1)) * y, [(3, 100, 150), (3, 150, 100)],
     np.float32, True),
    ("permutation (2, 1, 0) with a broadcast row", lambda x, y: jnp.transpose(x, (2, 1, 0)) - y,
     [(70, 2, 90), (70,)], np.float32, True),
    ("a strided slice: copied element by element", lambda x: x[:, :, 0].T + 1, [(64, 48, 3)], np.float32, True),
    ("bool through a where", lambda x, y: jnp.where(x.T, y, jnp.logical_not(y)), [(40, 72), (72, 40)], np.bool_, True),
]


def _compile(cases, seed=0):
    return _compile_on(cases, seed, cpu.CpuBackend)


def _runs(exe, xs):
    """The outputs on 1 and 2 threads, which must be the same bits."""
    outs = []
    for t in (1, 2):
        exe.runtime.threads = t
        outs.append(exe(xs))
    _same_bits(outs[1], outs[0], "2 threads")
    return outs[0]


def _check(cases, monkeypatch):
    progs, inputs, exes = _compile(cases)
    outs = []
    for (name, f, shapes, dt, tiled), prog, exe, xs in zip(cases, progs, exes, inputs):
        loops = [k for k in exe.kernels if k.kind == "loop"]
        assert (TILED in [k.strategy for k in loops]) == tiled, name
        for k in loops:       # a block buffer where there are tiles, else none
            assert ("gx_tile0[" in k.source) == (k.strategy == TILED), name
        out = _runs(exe, xs)
        _against_numpy(out, NumpyBackend().compile(prog)(xs), name)
        outs.append(out)
    with monkeypatch.context() as m:      # small blocks: many per kernel, ragged ones, batch indices
        m.setattr(render, "CPU_TILE_M", 16)
        m.setattr(render, "CPU_TILE_L", 16)
        for (name, *_), exe, xs, out in zip(cases, cpu.CpuBackend().compile_many(progs), inputs, outs):
            assert all("[16][16];" in k.source for k in exe.kernels if k.strategy == TILED), name
            _same_bits(_runs(exe, xs), out, f"{name}, 16 x 16 blocks")
    monkeypatch.setattr(lower, "TRANSPOSE_TILES", False)   # the plain loop: the same bits as the blocks
    for (name, *_), exe, xs, out in zip(cases, cpu.CpuBackend().compile_many(progs), inputs, outs):
        assert not any("gx_tile" in k.source for k in exe.kernels), name
        _same_bits(_runs(exe, xs), out, f"{name}, without tiles")


def test_transposed_operands_against_numpy_with_and_without_blocks(monkeypatch):
    _check(CASES + MORE, monkeypatch)


def test_float64_blocks(monkeypatch):
    with dtypes.enable_x64(True):
        _check([("float64", lambda x, y: x.T / y, [(70, 45), (45, 70)], np.float64, True),
                ("float64 batched", lambda x: jnp.transpose(x, (0, 2, 1)) ** 2, [(2, 33, 140)], np.float64, True),
                ("int64 into float64", lambda x, y: x.T.astype(jnp.float64) * y, [(50, 41), (41, 50)], np.int64, True)],
               monkeypatch)


def test_more_transposed_operands_than_tiles(monkeypatch):
    """Past TILE_SHARED_BYTES the remaining transposed operands are read directly (lower's decision,
    which the CPU follows); the blocks of those that are tiled stay within CPU_TILE_BYTES."""
    monkeypatch.setattr(lower, "TILE_SHARED_BYTES", 2 * 32 * 33 * 4)
    _check([("three transposed operands, two tiles", lambda a, b, c: a.T - b.T * c.T, [(40, 300)] * 3, np.float32,
             True)], monkeypatch)


# ---------------------------------------------------------------------------------------------
# Structure: the C++ text, the work items
# ---------------------------------------------------------------------------------------------
def test_the_cpu_blocks_text():
    k = _loop_kernel(lambda x, y: x.T + y, (200, 100), (100, 200))
    src = render.render_cpu(k)
    bm, bl = render.cpu_tile_shape(k)
    assert (bm, bl) == (render.CPU_TILE_M, render.CPU_TILE_L)
    assert f"float gx_tile0[{bm}][{bl + render.CPU_TILE_PAD}];" in src
    # Copied 8 x 8 at a time from the operand (in0, 200 x 100: a step along the output's l axis is
    # a row of it, 100 apart), the ragged rest element by element; read back along l.
    assert re.search(r"gx_transpose8<unsigned int>\(\(const unsigned int\*\)\(in0 \+ gx_ll \* 100 \+ gx_lm\), 100, "
                     r"\(unsigned int\*\)&gx_tile0\[gx_tx\]\[gx_j\]", src)
    assert "gx_tile0[gx_tx][gx_j] = in0[gx_ll * 100 + gx_lm];" in src
    assert re.search(r"GX_SIMD\n\s*for \(int gx_j = 0; gx_j < gx_nl; \+\+gx_j\) \{\n[^}]*= gx_tile0\[gx_tx\]\[gx_j\];",
                     src)
    assert re.search(r"const gx_ix (t\d+) = gx_m \* 200 \+ gx_l;.*in1\[\1\].*out0\[\1\]", src, re.S)
    # Work items are whole blocks: gx_parallel hands chunks of CPU_GRAIN elements' worth of them.
    n_blocks = -(-200 // bm) * -(-100 // bl)
    per_chunk = max(1, render.CPU_GRAIN // (bm * bl))
    assert render.cpu_items(k) == (n_blocks, per_chunk)
    assert f"gx_parallel({n_blocks}LL, {per_chunk}LL," in src
    assert k.launch == ((-(-n_blocks // per_chunk), 1, 1), (1, 1, 1))


def test_a_strided_operand_is_copied_element_by_element():
    """gx_transpose8 reads 8 consecutive elements: an operand whose m axis has a stride (a slice of
    its minor axis) fills its buffer with the element loop instead."""
    k = _loop_kernel(lambda x: x[:, :, 0].T + 1, (64, 48, 3))
    src = render.render_cpu(k)
    assert k.strategy == TILED and "gx_transpose8" not in src
    assert "for (int gx_tx = 0; gx_tx < gx_nm; ++gx_tx) {" in src and "= in0[gx_ll * 144 + gx_lm * 3];" in src


def test_batched_blocks_and_buffer_bytes():
    f, shapes = (lambda x, y: jnp.transpose(x, (0, 2, 1)) * y), ((3, 96, 300), (3, 300, 96))
    k = _loop_kernel(f, *shapes)
    bm, bl = render.cpu_tile_shape(k)
    assert k.strategy == TILED and render.cpu_items(k)[0] == 3 * -(-300 // bm) * -(-96 // bl)
    assert "const gx_ix gx_d0 = gx_t / " in render.render_cpu(k)
    # Three transposed operands of float64: the block takes fewer rows to keep its buffers in
    # CPU_TILE_BYTES (on the thread's stack), never fewer than 8.
    with dtypes.enable_x64(True):
        k = _loop_kernel(lambda a, b, c: a.T - b.T * c.T, (300, 200), (300, 200), (300, 200), dt=np.float64)
    bm, bl = render.cpu_tile_shape(k)
    n = len(k.info["tiling"].loads)
    assert n >= 2 and bm * bl * 8 * n <= render.CPU_TILE_BYTES and bm >= 8
    src = render.render_cpu(k)
    assert src.count(f"{stype(np.float64)} gx_tile") == n and f"[{bm}][{bl}];" in src


def test_untiled_kernels_keep_the_plain_loop(monkeypatch):
    """What transpose_tiling leaves alone (the minor axis kept, short axes) prints the element loop,
    the same text with the tiles on or off."""
    for f, shapes in [(lambda x: jnp.transpose(x, (1, 0, 2)) + 1, [(40, 50, 36)]), (lambda x: x.T + 1, [(16, 100)]),
                      (lambda x, y: x * y + 1, [(64, 64), (64, 64)])]:
        k = _loop_kernel(f, *shapes)
        assert k.strategy != TILED
        src = render.render_cpu(k)
        assert "gx_tile" not in src and "for (gx_ix i = (gx_ix)gx_lo; i < (gx_ix)gx_hi; ++i)" in src
        with monkeypatch.context() as m:
            m.setattr(lower, "TRANSPOSE_TILES", False)
            assert render.render_cpu(_loop_kernel(f, *shapes)) == src


def test_built_like_the_platform():
    """Built as the platform builds (-O2, vectorised, the shuffles inlined): NumPy's bits."""
    n = 1024
    rng = np.random.default_rng(n)
    x, y = rng.standard_normal((n, n + 8)).astype(np.float32), rng.standard_normal((n + 8, n)).astype(np.float32)
    prog = program_of(lambda a, b: a.T + b, [x, y])
    exe = cpu.CpuBackend().compile(prog)
    assert [k.strategy for k in exe.kernels] == [TILED]
    (got,) = _runs(exe, [x, y])
    assert got.tobytes() == (x.T + y).tobytes()
