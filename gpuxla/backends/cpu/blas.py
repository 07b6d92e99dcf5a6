"""`C = alpha * A @ B + C` in one BLAS call, through the OpenBLAS that NumPy itself links (ctypes).

NumPy's matmul has no alpha or beta, so an SGD update `w - lr * (a.T @ d)` costs a product
written to memory, then a kernel reading it back with w (784x512 float32, one thread: 703 us of
product + 171 us of kernel). As one gemm with alpha = -lr and beta = 1 on a copy of w it is
807 us, 689 in place (a donated w). The cpu platform's executables use `updater` for that
(backends/cuda/plan.py, Executable._dot_updates); where no cblas gemm is found here -- another
BLAS, another platform, a symbol renamed -- `available()` is False and the product and the kernel
run as before: the fold is an optimisation, never a dependency. gpuxla needs nothing but NumPy
at run time, so the library is the one NumPy loaded (same threads, OPENBLAS_NUM_THREADS, as its
matmul), found by its path in this process's memory map, else beside NumPy's wheel.
"""
import ctypes
import glob
import os
import threading

import numpy as np

from ... import config

# Candidate entries, in order: (symbol, integer type). NumPy >= 2 wheels ship scipy-openblas,
# 64-bit integers and a prefixed, suffixed name; older wheels and distribution builds the plain
# CBLAS name with 32-bit integers. A probe product (`_works`) rejects a wrong guess.
_NAMES = {np.dtype(np.float32): [("scipy_cblas_sgemm64_", ctypes.c_int64), ("cblas_sgemm64_", ctypes.c_int64),
                                 ("cblas_sgemm", ctypes.c_int)],
          np.dtype(np.float64): [("scipy_cblas_dgemm64_", ctypes.c_int64), ("cblas_dgemm64_", ctypes.c_int64),
                                 ("cblas_dgemm", ctypes.c_int)]}
_SCALAR = {np.dtype(np.float32): ctypes.c_float, np.dtype(np.float64): ctypes.c_double}
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112      # (CBLAS's enum values)

_lock = threading.Lock()
_fns = None         # dtype -> gemm entry (found once per process); {} when there is none


def _libraries():
    """Paths of the BLAS libraries NumPy may have loaded: those mapped into this process whose name
    says BLAS (Linux), then the ones in NumPy's wheel folder."""
    paths = []
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1] if line.count(" ") >= 5 else ""
                name = os.path.basename(p).lower()
                if p.startswith("/") and "blas" in name and ".so" in name and p not in paths:
                    paths.append(p)
    except OSError:
        pass
    here = os.path.dirname(np.__file__)
    for p in sorted(glob.glob(os.path.join(here, os.pardir, "numpy.libs", "*blas*"))):
        p = os.path.realpath(p)
        if p not in paths:
            paths.append(p)
    return paths


def _find():
    fns = {}
    for path in _libraries():
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for dt, names in _NAMES.items():
            if dt in fns:
                continue
            for name, integer in names:
                fn = getattr(lib, name, None)
                if fn is None:
                    continue
                scalar = _SCALAR[dt]
                fn.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int, integer, integer, integer, scalar,
                               ctypes.c_void_p, integer, ctypes.c_void_p, integer, scalar, ctypes.c_void_p, integer]
                fn.restype = None
                if _works(fn, dt):
                    fns[dt] = fn
                    break
    return fns


def _works(fn, dt):
    """A 3x2 @ 2x4 product of small integers (exact in any order) against NumPy's: a symbol with the
    wrong integer width or calling convention fails here, once, instead of in a program."""
    a = np.arange(6, dtype=dt).reshape(3, 2) - 2
    b = np.arange(8, dtype=dt).reshape(2, 4) - 3
    c = np.arange(12, dtype=dt).reshape(3, 4)
    want = c - 2 * (a @ b)
    try:
        _call(fn, -2.0, a, b, 1.0, c)
    except Exception:  # noqa: BLE001 - an entry that cannot be called is no entry
        return False
    return bool(np.array_equal(c, want))


def _functions():
    global _fns
    if _fns is None:
        with _lock:
            if _fns is None:
                _fns = _find() if config.CPU_GEMM_UPDATE.get() else {}
    return _fns


def available(dtype):
    """Whether `gemm_update` runs for this dtype (float32, float64) in this process."""
    return np.dtype(dtype) in _functions()


def _matrix(x):
    """(trans flag, leading dimension, array) for a 2-D operand: a row-major matrix or the transpose
    of one is passed as it is (BLAS reads the transpose by a flag), anything else is copied."""
    if x.flags.c_contiguous:
        return NO_TRANS, max(1, x.shape[1]), x
    if x.flags.f_contiguous:
        return TRANS, max(1, x.shape[0]), x
    x = np.ascontiguousarray(x)
    return NO_TRANS, max(1, x.shape[1]), x


def _call(fn, alpha, a, b, beta, c):
    (m, k), n = a.shape, b.shape[1]
    if b.shape[0] != k or c.shape != (m, n) or not c.flags.c_contiguous or not a.dtype == b.dtype == c.dtype:
        # (BLAS would read and write out of bounds: a bug of the caller, never memory corruption)
        raise ValueError(f"gemm update: shapes {a.shape} @ {b.shape} into {c.shape} ({a.dtype}, {b.dtype}, "
                         f"{c.dtype}{'' if c.flags.c_contiguous else ', not C-contiguous'}) do not fit")
    ta, lda, a = _matrix(a)
    tb, ldb, b = _matrix(b)
    fn(ROW_MAJOR, ta, tb, m, n, k, alpha, a.ctypes.data, lda, b.ctypes.data, ldb, beta, c.ctypes.data, max(1, n))


def updater(dtype):
    """`update(alpha, a, b, c)`: c += alpha * (a @ b) in place, for a (m, k), b (k, n), c (m, n)
    C-contiguous of this dtype; None where this process has no gemm for it. Accumulation order
    is the BLAS's, as for NumPy's matmul."""
    fn = _functions().get(np.dtype(dtype))
    if fn is None:
        return None

    def update(alpha, a, b, c):
        _call(fn, alpha, a, b, 1.0, c)
    return update
