"""lax.fma is x*y + z rounded once: its NumPy reference and the kernel's gx_fma (run on the
cuda-interpret platform) against exact rational arithmetic, on random inputs, on products whose
exact value sits at or next to a halfway point (where rounding the float64 sum twice goes wrong),
at the ends of the exponent range, and on zeros, infinities and NaNs."""
import math
from fractions import Fraction

import numpy as np
import pytest

from gpuxla import lax
from gpuxla.backends.cuda import InterpretBackend
from gpuxla.backends.numpy import NumpyBackend
from gpuxla.core.trace import trace_values
from gpuxla.core.program import Program

from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

F32, F64 = np.dtype(np.float32), np.dtype(np.float64)


def _nearest(v, dt, negative_zero):
    """The Fraction v rounded to nearest-even in dt."""
    fi = np.finfo(dt)
    if abs(v) >= Fraction(float(fi.max)) + Fraction(2) ** (fi.maxexp - fi.nmant - 2):
        return dt.type(math.inf if v > 0 else -math.inf)
    if v == 0:
        return dt.type(-0.0 if negative_zero else 0.0)
    c = dt.type(float(v))      # within one unit in the last place
    cands = [k for k in (np.nextafter(c, dt.type(-np.inf)), c, np.nextafter(c, dt.type(np.inf))) if np.isfinite(k)]
    return min(cands, key=lambda k: (abs(Fraction(float(k)) - v), int(np.array(k).view(f"u{dt.itemsize}")) & 1))


def _exact(x, y, z):
    dt = x.dtype
    out = []
    for a, b, c in zip(x.tolist(), y.tolist(), z.tolist()):
        if not (math.isfinite(a) and math.isfinite(b)):
            out.append(a * b + c)      # the product is the infinity or NaN it looks like
            continue
        if not math.isfinite(c):
            out.append(c)              # a finite product never cancels it
            continue
        # an exact zero is -0 only as the sum of two negative zeros
        neg0 = a * b == 0 and math.copysign(1, a) * math.copysign(1, b) < 0 and math.copysign(1, c) < 0
        out.append(_nearest(Fraction(a) * Fraction(b) + Fraction(c), dt, neg0))
    return np.array(out, dt)


def _halfway(dt, rng, n):
    # x*y = 1 + ... + k 2**-(bits+1): exactly halfway between two floats of dt, or (with z's tiny
    # term) just off it by less than float64 can hold.
    bits = np.finfo(dt).nmant + 1
    h = bits // 2
    x = 1 + (2 * rng.integers(1, 1 << 10, n) + 1) * 2.0 ** -(h + 1)
    y = 1 + (2 * rng.integers(1, 1 << 10, n) + 1) * 2.0 ** -(bits - h)
    s = 2.0 ** rng.integers(-20, 20, n)
    sign = rng.choice([-1.0, 1.0], (3, n))
    tiny = rng.choice([0.0, 1.0, -1.0], n) * 2.0 ** -rng.integers(bits + 3, 2 * bits + 20, n).astype(float)
    z = sign[2] * rng.integers(0, 4, n) + tiny
    return (x * s * sign[0]).astype(dt), (y / s * sign[1]).astype(dt), z.astype(dt)


def _cases(dt):
    rng = np.random.default_rng(7)
    n = 3000
    fi = np.finfo(dt)
    lo, hi = (-140, 120) if dt == F32 else (-1070, 1015)
    x, y = rng.standard_normal((2, n)).astype(dt)
    edge = [0.0, -0.0, 1.0, 1 + float(fi.eps), 1 - float(fi.epsneg), 3.0, 1 / 3, float(fi.tiny), float(fi.smallest_subnormal),
            float(fi.max), 2.0 ** (fi.maxexp - 20), 2.0 ** (fi.minexp + 5), np.inf, np.nan]
    edge = np.array(edge + [-v for v in edge], dt)
    grid = np.array(np.meshgrid(edge, edge, edge)).reshape(3, -1)
    return {
        "normal": tuple(rng.standard_normal((3, n)).astype(dt)),
        "wide": tuple((rng.standard_normal((3, n)) * 2.0 ** rng.integers(lo, hi, (3, n)).astype(float)).astype(dt)),
        "cancel": (x, y, (-(x.astype(np.float64) * y)).astype(dt)),
        "halfway": _halfway(dt, rng, n),
        "edges": tuple(grid),
    }


def _same_bits(got, want):
    got, want = np.asarray(got), np.asarray(want)
    u = f"u{want.dtype.itemsize}"
    both_nan = np.isnan(got) & np.isnan(want)
    bad = np.flatnonzero((got.view(u) != want.view(u)) & ~both_nan)
    assert not bad.size, f"{bad.size} of {want.size} differ, e.g. got {got[bad[:3]]} want {want[bad[:3]]}"


def _program(dt, n):
    t = trace_values(lambda x, y, z: lax.fma(x, y, z), [np.zeros(n, dt)] * 3, what="a test")
    return Program.from_graph(t.leaves, t.outs)


@pytest.mark.parametrize("dt", [F32, F64], ids=str)
@pytest.mark.parametrize("kind", ["normal", "wide", "cancel", "halfway", "edges"])
def test_reference_is_correctly_rounded(dt, kind, x64):
    x, y, z = _cases(dt)[kind]
    with np.errstate(all="ignore"):
        want = _exact(x, y, z)
        got, = NumpyBackend().compile(_program(dt, x.size))([x, y, z])
    _same_bits(got, want)


@needs_cxx
@pytest.mark.parametrize("dt", [F32, F64], ids=str)
def test_interpret_kernel_matches_reference(dt, x64):
    x, y, z = (np.concatenate(v) for v in zip(*_cases(dt).values()))
    prog = _program(dt, x.size)
    with np.errstate(all="ignore"):
        got, = InterpretBackend().compile(prog)([x, y, z])
        want, = NumpyBackend().compile(prog)([x, y, z])
    _same_bits(got, want)
