"""Library calls on the `cuda` platform: the equations fusion leaves out of kernels (dot_general,
sort, linalg, fft, control flow, ...), run on device arrays through CuPy.

`call(runtime, cupy, eqn, args)` takes the first of these that applies:
  * cond/while/scan: their host drivers (backends/host_loops.py), on device buffers;
  * dot_general: one batched matmul in cuBLAS (cupy.matmul), in TF32 or full float32 as its
    precision asks;
  * `library_rules[prim]`: cuSOLVER and cuFFT through CuPy (the rows below);
  * the NumPy reference rule on the CuPy arrays: NumPy hands calls on them to CuPy
    (__array_function__), which covers sort, cumsum, gathers, ...;
  * the host: operands copied to the host, the NumPy rule, the result copied back. That costs two
    transfers and a synchronisation, so it is counted per primitive in `host_fallbacks`, and
    GPUXLA_DEBUG>=1 names each primitive on stderr the first time it happens.
"""
import functools
import sys
from collections import Counter

import numpy as np

from ... import config
from ..host_loops import host_rules
from ..numpy import linalg as L
from ..numpy.reference import batched_matmul, impl_rules
from ...compiler.cexpr import BF16
from ...core import extensions as X
from ...core import primitives as P
from ...core.graph import proj_p
from .runtime import Bf16Array

# Library implementations on CuPy, by primitive: cuSOLVER and cuFFT calls (a primitive not here
# runs its NumPy rule on CuPy arrays, else on the host). Filled at the end of this module.
library_rules = {}

# primitive name -> library calls that ran on the host, since the process started
host_fallbacks = Counter()


def call(rt, cp, eqn, args):
    """Run the library equation `eqn` on device arrays `args`; `rt` is the CudaRuntime."""
    if eqn.prim is proj_p:       # one result of a multiple-result call, whatever its dtype
        return args[0][eqn.params["index"]]
    loop = host_rules.get(eqn.prim)
    if loop is not None:
        # Control flow runs its compiled bodies on device buffers; only predicates are read
        # on the host.
        return loop(*args, **eqn.params)
    if eqn.prim is P.dot_general_p:
        return dot_general(cp, *args, **eqn.params)
    bf16 = any(isinstance(a, Bf16Array) for a in args)
    rule = library_rules.get(eqn.prim)
    if rule is not None and not bf16:
        # CuPy's linalg refuses float16: compute in float32, as the NumPy rules do; results are
        # cast back below.
        args = [a.astype(np.float32) if a.dtype == np.float16 else a for a in args]
        out = rule(*args, **eqn.params)
        if isinstance(out, (tuple, list)):
            return tuple(cp.asarray(o.astype(a.dtype, copy=False), order="C") for o, a in zip(out, eqn.aval))
        return cp.asarray(out.astype(eqn.aval.dtype, copy=False), order="C")
    if not bf16 and eqn.aval is not None and not isinstance(eqn.aval, (tuple, list)) and eqn.aval.dtype != BF16:
        try:
            out = impl_rules[eqn.prim](*args, **eqn.params)
            if isinstance(out, cp.ndarray):
                return cp.asarray(out.astype(eqn.aval.dtype, copy=False), order="C")
        except cp.cuda.memory.OutOfMemoryError:
            raise
        except Exception:  # noqa: BLE001 - CuPy lacks it: compute on the host below
            pass
    return _on_host(rt, eqn, args)


def _on_host(rt, eqn, args):
    name = eqn.prim.name
    host_fallbacks[name] += 1
    if host_fallbacks[name] == 1 and config.DEBUG.get() >= 1:
        print(f"[gpuxla] cuda: '{name}' has no device implementation for these operands; it runs on the host "
              "(operands copied to the host, the result back)", file=sys.stderr)
    host = [a.get() if hasattr(a, "get") else a for a in args]
    with np.errstate(all="ignore"):
        out = impl_rules[eqn.prim](*host, **eqn.params)
    if isinstance(out, tuple):
        return tuple(rt.asbuf(o) for o in out)
    return rt.asbuf(np.asarray(out, dtype=eqn.aval.dtype, order="C"))


# ---------------------------------------------------------------------------------------------
# dot_general: cuBLAS through cupy.matmul
# ---------------------------------------------------------------------------------------------
def uses_tf32(precision):
    """Whether a float32 dot_general runs on TF32 tensor cores: its own precision if it names one,
    else `jax_default_matmul_precision` (gpuxla's default is full float32)."""
    p = precision if precision not in (None, "DEFAULT") else config.read("jax_default_matmul_precision")
    return p is not None and str(p).upper() in ("HIGH", "TENSORFLOAT32", "BFLOAT16", "FASTEST")


def _matmul(xp, a, b, tf32):
    """xp.matmul with cuBLAS's compute type set for float32: TF32 or full precision, whatever the
    process-wide CuPy setting (CUPY_TF32) is; it is put back afterwards."""
    if a.dtype not in (np.float32, np.complex64) or xp is np:
        return xp.matmul(a, b)
    lin = xp._core._routines_linalg
    # (CuPy's enum values, in case a build does not export the names: DEFAULT 1, TF32 7)
    want = getattr(lin, "COMPUTE_TYPE_TF32", 7) if tf32 else getattr(lin, "COMPUTE_TYPE_DEFAULT", 1)
    old = lin.get_compute_type(a.dtype)
    if old == want:
        return xp.matmul(a, b)
    lin.set_compute_type(a.dtype, want)
    try:
        return xp.matmul(a, b)
    finally:
        lin.set_compute_type(a.dtype, old)


def _bf16_to_f32(xp, bits):
    """bfloat16 bits (uint16) -> float32, exactly: the bits are the float32's upper half."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _f32_to_bf16(xp, x):
    """float32 -> bfloat16 bits, rounding to nearest even; NaNs stay (quiet) NaNs."""
    u = x.view(np.uint32)
    r = ((u + np.uint32(0x7FFF) + ((u >> 16) & np.uint32(1))) >> 16).astype(np.uint16)
    return xp.where(xp.isnan(x), np.uint16(0x7FC0), r)


def dot_general(xp, lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """dot_general as one batched matmul (cuBLAS through CuPy). Half-precision inputs accumulate in
    float32; bfloat16 arrives as Bf16Array (its bits) and leaves as one.

    The dimension bookkeeping is the NumPy reference's (`batched_matmul`); what differs is why this
    wrapper exists: CuPy has no bfloat16, so it is converted from and to bits here; cuBLAS's compute
    type follows the precision (TF32); and the compute dtype is the one cuBLAS gets, which is not
    the reference's in three corners (float16 operands with a float64 result accumulate in float64
    here, float32 ones with a float16 result in float16, float operands with an integer result in
    the integer type). Unifying those would change one platform's results."""
    bf16 = isinstance(lhs, Bf16Array) or isinstance(rhs, Bf16Array)
    if bf16:
        lhs, rhs = (_bf16_to_f32(xp, a.bits) if isinstance(a, Bf16Array) else a for a in (lhs, rhs))
        in_dtype = BF16
    else:
        in_dtype = np.dtype(lhs.dtype)
    out_dtype = np.dtype(preferred_element_type or in_dtype)
    if in_dtype in (np.float16, BF16):
        compute = np.dtype(np.float64 if out_dtype == np.float64 else np.float32)
    elif out_dtype.kind in "fc" and in_dtype.kind in "fc":
        compute = out_dtype
    else:
        compute = out_dtype if out_dtype != BF16 else np.dtype(np.float32)
    out = batched_matmul(xp, lhs, rhs, dimension_numbers, compute,
                         lambda a, b: _matmul(xp, a, b, uses_tf32(precision)))
    if out_dtype == BF16:
        bits = _f32_to_bf16(xp, xp.asarray(out.astype(np.float32, copy=False), order="C"))
        return Bf16Array(xp.asarray(bits, order="C")) if xp is not np else bits.view(BF16)
    # (ascontiguousarray would turn a 0-d result, e.g. a vector dot product, into shape (1,))
    return xp.asarray(out.astype(out_dtype, copy=False), order="C")


class DotPlan:
    """One dot_general with everything shape-dependent decided when the executable is built: the
    operands' permutations and matrix shapes, the result's (batch, m, n) shape, the compute type.
    A call is `plan(lhs, rhs, out)`: at most a transpose and a reshape per operand (views when the
    layout allows; cuBLAS takes a transposed operand as a flag) and one `cupy.matmul` writing into
    `out`, an array of shape `out_shape` (an arena view or a fresh output)."""

    def __init__(self, eqn, lhs, rhs):
        (lc, rc), (lb, rb) = eqn.params["dimension_numbers"]
        lf = [i for i in range(lhs.ndim) if i not in lc and i not in lb]
        rf = [i for i in range(rhs.ndim) if i not in rc and i not in rb]
        batch = [lhs.shape[i] for i in lb]
        m = int(np.prod([lhs.shape[i] for i in lf], dtype=np.int64))
        k = int(np.prod([lhs.shape[i] for i in lc], dtype=np.int64))
        n = int(np.prod([rhs.shape[i] for i in rf], dtype=np.int64))
        self.lhs = _operand(lhs.shape, list(lb) + lf + list(lc), tuple(batch + [m, k]))
        self.rhs = _operand(rhs.shape, list(rb) + list(rc) + rf, tuple(batch + [k, n]))
        # Whether preparing an operand makes a view (no copy): then it can be prepared once for a
        # buffer that stays (a constant, an arena slot).
        self.lhs_view, self.rhs_view = (p is None or sh is None for p, sh in (self.lhs, self.rhs))
        self.out_shape = tuple(batch + [m, n])
        self.reshape = self.out_shape != tuple(eqn.aval.shape)
        precision = eqn.params.get("precision")
        # An explicit precision decides the compute type now; else the config does, per call.
        self.tf32 = None if precision in (None, "DEFAULT") else uses_tf32(precision)
        self.dtype = np.dtype(lhs.dtype)
        self.matmul = None      # CuPy is bound on the first call (compiling needs no GPU)

    def bind(self):
        if self.matmul is None:
            from .runtime import cupy
            cp = cupy()
            lin = cp._core._routines_linalg if self.dtype in (np.float32, np.complex64) else None
            if lin is not None:     # (CuPy's enum values, in case a build does not export the names)
                self.tf32_type = getattr(lin, "COMPUTE_TYPE_TF32", 7)
                self.full_type = getattr(lin, "COMPUTE_TYPE_DEFAULT", 1)
            self.lin, self.matmul = lin, cp.matmul
        return self

    def prep_lhs(self, x):
        return _as_matrix(x, *self.lhs)

    def prep_rhs(self, x):
        return _as_matrix(x, *self.rhs)

    def __call__(self, lhs, rhs, out):
        """The product of operands already prepared (`prep_lhs`/`prep_rhs`) into `out`. A dot that
        follows the default precision (`tf32` None) runs inside the executable's `dot_scope`,
        which sets cuBLAS's compute type once per call."""
        lin = self.lin
        if lin is None or self.tf32 is None:
            return self.matmul(lhs, rhs, out=out)
        # cuBLAS's compute type follows the dot's own precision (TF32 or full float32), whatever
        # CuPy's process-wide setting is.
        want = self.tf32_type if self.tf32 else self.full_type
        old = lin.get_compute_type(self.dtype)
        if old == want:
            return self.matmul(lhs, rhs, out=out)
        lin.set_compute_type(self.dtype, want)
        try:
            return self.matmul(lhs, rhs, out=out)
        finally:
            lin.set_compute_type(self.dtype, old)

    def prep_fn(self, which):
        """x -> the operand `which` ("lhs"/"rhs") as cuBLAS takes it, or None for x itself."""
        perm, shape = self.lhs if which == "lhs" else self.rhs
        if perm is None and shape is None:
            return None
        if perm == (1, 0) and shape is None:
            return _transposed
        return functools.partial(_as_matrix, perm=perm, shape=shape)


def dot_scope(plans):
    """(enter, leave, want) around one call of an executable running the DotPlans `plans`: cuBLAS's
    compute type for the dtypes of those that follow `jax_default_matmul_precision`, set from
    that option (read once per call: jax.default_matmul_precision may change it between calls)
    and put back afterwards; `want()`: whether that is TF32 now (a CUDA graph keeps the compute
    type of its capture); None when no plan needs it."""
    dtypes = sorted({p.dtype for p in plans if p.tf32 is None and p.bind().lin is not None}, key=str)
    if not dtypes:
        return None
    lin = plans[0].lin if plans[0].lin is not None else next(p.lin for p in plans if p.lin is not None)
    tf32_type, full_type = getattr(lin, "COMPUTE_TYPE_TF32", 7), getattr(lin, "COMPUTE_TYPE_DEFAULT", 1)
    get, set_ = lin.get_compute_type, lin.set_compute_type

    def enter():
        want = tf32_type if uses_tf32(None) else full_type
        changed = None
        for dt in dtypes:
            old = get(dt)
            if old != want:
                set_(dt, want)
                changed = (changed or []) + [(dt, old)]
        return changed

    def leave(changed):
        for dt, old in changed:
            set_(dt, old)
    return enter, leave, functools.partial(uses_tf32, None)


def _transposed(x):
    return x.T


_transposed.transpose2d = True

def _as_matrix(x, perm, shape):
    """An operand as the (batch of) matrices cuBLAS multiplies: a 2-D transpose is a strided view
    (cuBLAS takes it as a transpose flag); otherwise a transpose and a reshape (a view when the
    layout allows, else CuPy copies)."""
    if perm == (1, 0) and shape is None:
        return x.T
    if perm is not None:
        x = x.transpose(perm)
    return x if shape is None else x.reshape(shape)


def _operand(shape, perm, matrix_shape):
    """(the permutation, or None when it is the identity; the matrix shape, or None when the
    permuted operand has it already)."""
    permuted = tuple(shape[i] for i in perm)
    return (None if perm == sorted(perm) else tuple(perm)), (None if permuted == matrix_shape else matrix_shape)


def plan_dot(rt, eqn, lhs, rhs):
    """A DotPlan for dot_general `eqn` on operands of avals `lhs`, `rhs`, or None where the general
    path (dot_general above) is needed: bfloat16/float16 or integer operands, mixed or converted
    dtypes, empty dimensions."""
    dt = np.dtype(lhs.dtype)
    pref = eqn.params.get("preferred_element_type")
    if dt not in (np.float32, np.float64, np.complex64, np.complex128) or np.dtype(rhs.dtype) != dt \
            or (pref is not None and np.dtype(pref) != dt) or np.dtype(eqn.aval.dtype) != dt \
            or 0 in lhs.shape or 0 in rhs.shape:
        return None
    return DotPlan(eqn, lhs, rhs)


# ---------------------------------------------------------------------------------------------
# FFTs: cuFFT through CuPy
# ---------------------------------------------------------------------------------------------
def _fft(x, fft_type, fft_lengths):
    import cupy
    axes = tuple(range(x.ndim - len(fft_lengths), x.ndim))
    name = X.FftType(fft_type).name
    fn = {"FFT": cupy.fft.fftn, "IFFT": cupy.fft.ifftn, "RFFT": cupy.fft.rfftn}.get(name)
    return fn(x, axes=axes) if fn else cupy.fft.irfftn(x, s=fft_lengths, axes=axes)


library_rules.update({X.fft_p: _fft,
                      X.real_p: lambda z: __import__("cupy").ascontiguousarray(z.real),
                      X.imag_p: lambda z: __import__("cupy").ascontiguousarray(z.imag),
                      X.conj_p: lambda z: z.conj(),
                      X.complex_p: lambda x, y: x + 1j * y})


# ---------------------------------------------------------------------------------------------
# linear algebra: cuSOLVER through CuPy
# ---------------------------------------------------------------------------------------------
def _cupy_fallback(np_impl):
    """Run the NumPy implementation on host copies (cuSOLVER has no batched routine for it)."""
    def impl(*xs, **params):
        import cupy
        out = np_impl(*(cupy.asnumpy(x) for x in xs), **params)
        return tuple(cupy.asarray(o) for o in out) if isinstance(out, tuple) else cupy.asarray(out)
    return impl


def _cupy_cholesky(a):
    import cupy
    L = cupy.linalg.cholesky(a)
    # cuSOLVER leaves garbage instead of raising on a non-PD matrix; JAX returns NaN there.
    bad = ~cupy.all(cupy.isfinite(L), axis=(-1, -2)) | cupy.any(cupy.diagonal(L, axis1=-2, axis2=-1) <= 0, axis=-1)
    nan_lower = cupy.where(cupy.tri(a.shape[-1], dtype=bool), cupy.nan, 0).astype(a.dtype)
    return cupy.where(bad[..., None, None], nan_lower, cupy.tril(L)).astype(a.dtype)


def _cupy_solve(a, b, transpose_a=False):
    import cupy
    return cupy.linalg.solve(cupy.swapaxes(a, -1, -2) if transpose_a else a, b)


def _cupy_eigh(a, lower=True, sort_eigenvalues=True):
    import cupy
    w, v = cupy.linalg.eigh(a, UPLO="L" if lower else "U")
    return v, w


def _cupy_svd(a, full_matrices, compute_uv):
    import cupy
    if not compute_uv:
        return (cupy.linalg.svd(a, compute_uv=False),)
    return tuple(cupy.linalg.svd(a, full_matrices=full_matrices))


def _cupy_qr(a, full_matrices):
    import cupy
    if a.ndim > 2:
        return _cupy_fallback(L.qr)(a, full_matrices=full_matrices)
    return tuple(cupy.linalg.qr(a, mode="complete" if full_matrices else "reduced"))


# The cuda platform calls these for the linalg primitives (library calls, like dot_general).
library_rules.update({X.cholesky_p: _cupy_cholesky, X.solve_p: _cupy_solve, X.eigh_p: _cupy_eigh, X.svd_p: _cupy_svd,
                      X.qr_p: _cupy_qr, X.triangular_solve_p: _cupy_fallback(L.triangular_solve),
                      X.lu_p: _cupy_fallback(L.lu)})
