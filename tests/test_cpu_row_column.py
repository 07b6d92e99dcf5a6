"""The CPU dialect's row/column form of loop kernels (render.CpuDialect.row_column): an element
loop whose body reads `i % C` (a bias broadcast along rows) runs as rows of C with the column as
the inner, vectorised loop. Bits against NumPy (adds and max are exact, so equal bits), for rows
cut by a chunk boundary, several threads, a column broadcast (`i / C`) beside it, outer indices of
a 3-D output (`i / (k*C)`, `(i / C) % k`: functions of the row, hoisted out of the inner loop), and
rows too short for the form (the flat loop stays)."""
import numpy as np
import pytest

import gpuxla.numpy as jnp
from gpuxla.backends import cpu
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.compiler import render

from codegen_util import _session_cache, needs_cxx  # noqa: F401
from test_interpret_optable import inputs_for, program_of

pytestmark = needs_cxx


def _cases():
    rng = np.random.default_rng(5)

    def mats(r, c):
        return [rng.standard_normal((r, c)).astype(np.float32), rng.standard_normal(c).astype(np.float32),
                rng.standard_normal((r, 1)).astype(np.float32)]
    relu_bias = (lambda a, b, _: jnp.maximum(a + b, 0.0), True)
    both = (lambda a, b, c: jnp.maximum(a + b, 0.0) * c, True)          # i % C and i / C
    outer = (lambda a, b, c: a[:, :, None] * b[:, None, :] + c, True)   # per-example outer products
    vecs = [rng.standard_normal((6, 70)).astype(np.float32), rng.standard_normal((6, 96)).astype(np.float32),
            rng.standard_normal((6, 1, 1)).astype(np.float32)]
    return [(relu_bias, mats(128, 512)),
            (outer, vecs),
            (relu_bias, mats(500, 96)),     # 48000 elements: the chunk of 32768 ends inside row 341
            (both, mats(700, 130)),
            ((relu_bias[0], False), mats(4000, 10))]     # rows shorter than ROW_MIN: flat


@pytest.mark.parametrize("case", range(5))
def test_row_column_loops(case):
    (f, rows), args = _cases()[case]
    prog = program_of(f, args)
    xs = inputs_for(prog, args)
    want = NumpyBackend().compile(prog)(xs)
    runs = []
    for t in (1, 3):
        exe = cpu.CpuBackend().compile(prog)
        exe.runtime.threads = t
        runs.append(exe(xs))
    (k,) = [k for k in exe.kernels if k.kind == "loop"]
    assert ("gx_col" in k.source) == rows and (rows or render.ROW_MIN > 10)
    if rows:
        inner = k.source.split("gx_col = gx_c0")[1]
        assert "% " not in inner.replace("(gx_row) % ", "") and "i / " not in inner   # none per element
    for out in runs:
        for o, w in zip(out, want):
            assert o.tobytes() == np.asarray(w).tobytes()
