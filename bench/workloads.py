"""The benchmark workloads and the implementations they run on.

Every workload is written once against a JAX-like module pair `(jax, jnp)` — so the same code runs
with `gpuxla`/`gpuxla.numpy` and with real `jax`/`jax.numpy` — and once against a NumPy-like
module `xp` (NumPy, or CuPy on a GPU), hand-written where NumPy has no transformation to lean on
(the MLP backward pass, per-example gradients).

A workload's `make(size)` draws its inputs with NumPy (fixed seed) and returns a `Spec`; a backend
(`Backend`) turns a spec into `(fn, sync, check)`: inputs moved to the device once, `fn()` runs the
workload, `sync(out)` waits for the device, `check(out)` compares the answer with NumPy's.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import os
from typing import Any, Callable, Sequence

import numpy as np

from .harness import Case

# ----------------------------------------------------------------------------------------------
# Small pytree helpers (lists, tuples, dicts of arrays), so the harness needs nothing from gpuxla.
# ----------------------------------------------------------------------------------------------


def tree_map(f, tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(tree_map(f, t) for t in tree)
    if isinstance(tree, dict):
        return {k: tree_map(f, v) for k, v in tree.items()}
    return f(tree)


def tree_leaves(tree) -> list:
    if isinstance(tree, (list, tuple)):
        return [leaf for t in tree for leaf in tree_leaves(t)]
    if isinstance(tree, dict):
        return [leaf for k in tree for leaf in tree_leaves(tree[k])]
    return [tree]


# ----------------------------------------------------------------------------------------------
# Specs and workloads
# ----------------------------------------------------------------------------------------------

@dataclasses.dataclass
class Spec:
    """`args`: NumPy inputs (pytrees allowed). `jax(jax, jnp)` and `xp(xp)` return the function to
    run, or `(function, args)` when the inputs must be made by that library (a PRNG key).
    `mode="compile"` times building a *fresh* jitted function and calling it once.
    `check`: "allclose" (norm-wise relative error ≤ tol against NumPy), "normal" (mean/std of a
    standard normal sample) or None. `bytes`: see below; set for the memory-bound workloads."""
    args: tuple
    jax: Callable | None
    xp: Callable | None
    mode: str = "call"
    check: str | None = "allclose"
    tol: float = 1e-3
    bytes: int | None = None     # memory traffic a perfect implementation needs (inputs read once,
    #                              outputs written once): the bandwidth table's numerator
    _reference: Any = dataclasses.field(default=None, repr=False)

    def reference(self):
        if self._reference is None:
            fn, args = _unpack(self.xp(np), self.args)
            self._reference = fn(*args)
        return self._reference


def _unpack(made, default_args):
    return made if isinstance(made, tuple) else (made, default_args)


@dataclasses.dataclass
class Workload:
    name: str
    make: Callable[[Any], Spec]
    sizes: Sequence[Any]
    quick_sizes: Sequence[Any]
    label: Callable[[Any], str] = str
    impls: frozenset | None = None   # None: every backend that applies
    doc: str = ""

    def sizes_for(self, quick: bool):
        return self.quick_sizes if quick else self.sizes


WORKLOADS: list[Workload] = []


def workload(name, sizes, quick_sizes=None, label=str, impls=None, doc=""):
    def register(make):
        WORKLOADS.append(Workload(name, make, tuple(sizes),
                                  tuple(quick_sizes if quick_sizes is not None else sizes),
                                  label, frozenset(impls) if impls else None, doc))
        return make
    return register


def _sci(n: int) -> str:
    e = int(round(np.log10(n)))
    return f"1e{e}" if 10 ** e == n else str(n)


def _shape(s) -> str:
    return "x".join(str(d) for d in s)


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- dense linear algebra --------------------------------------------------------------------

def _matmul_spec(n, precision, tol):
    x = _rng().standard_normal((n, n), dtype=np.float32)
    # The JAX-like rows name the precision: JAX's GPU default is TF32, gpuxla's full float32.
    return Spec((x,), jax=lambda jax, jnp: (lambda x: jnp.matmul(x, x.T, precision=precision)),
                xp=lambda m: (lambda x: m.matmul(x, x.T)), tol=tol)


@workload("matmul", sizes=[3000], quick_sizes=[1000], label=lambda n: f"{n}x{n}",
          doc="x @ x.T for an n×n float32 matrix, full float32 (precision='highest'; cuBLAS on GPU)")
def _matmul(n):
    return _matmul_spec(n, "highest", 1e-3)


@workload("matmul_tf32", sizes=[3000], quick_sizes=[1000], label=lambda n: f"{n}x{n}",
          impls={"numpy", "gpuxla-jit", "jax-jit"},
          doc="x @ x.T with precision='tensorfloat32': TF32 tensor cores on a GPU (JAX's GPU default); "
              "the CPU platforms compute in full float32 whatever the precision")
def _matmul_tf32(n):
    # TF32 keeps 10 mantissa bits: ~1e-3 relative error against NumPy's float32.
    return _matmul_spec(n, "tensorfloat32", 1e-2)


# ---- elementwise ---------------------------------------------------------------------------

def selu(m, x, alpha=1.67, lmbda=1.05):
    return lmbda * m.where(x > 0, x, alpha * m.exp(x) - alpha)


@workload("selu", sizes=[10**6, 10**7], quick_sizes=[10**5, 10**6], label=_sci,
          doc="selu(x) = λ·where(x>0, x, α·exp(x)−α), float32")
def _selu(n):
    x = _rng().standard_normal(n, dtype=np.float32)
    return Spec((x,), jax=lambda jax, jnp: functools.partial(selu, jnp),
                xp=lambda xp: functools.partial(selu, xp), bytes=2 * x.nbytes)


@workload("copy", sizes=[10**6, 10**7], quick_sizes=[10**5, 10**6], label=_sci, impls={"numpy", "cupy"},
          doc="x.copy() of float32: the memory-bandwidth yardstick of the elementwise rows "
              "(device to device on a GPU)")
def _copy(n):
    x = _rng().standard_normal(n, dtype=np.float32)
    return Spec((x,), jax=None, xp=lambda xp: xp.copy, bytes=2 * x.nbytes)


# ---- grad ----------------------------------------------------------------------------------

def sum_logistic(jnp, x):
    return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))


def sum_logistic_grad_by_hand(xp, x):
    s = 1.0 / (1.0 + xp.exp(-x))
    return s * (1.0 - s)


@workload("grad_sum_logistic", sizes=[10**2, 10**5, 10**7], quick_sizes=[10**2, 10**5, 10**6],
          label=_sci, doc="grad(sum(logistic(x))); NumPy: the derivative written by hand")
def _grad_logistic(n):
    x = _rng().standard_normal(n, dtype=np.float32)
    return Spec((x,), jax=lambda jax, jnp: jax.grad(functools.partial(sum_logistic, jnp)),
                xp=lambda xp: functools.partial(sum_logistic_grad_by_hand, xp), bytes=2 * x.nbytes)


# ---- vmap: batched matrix-vector products --------------------------------------------------

def _matvec_inputs(size):
    b, n = size
    r = _rng()
    return r.standard_normal((n, n), dtype=np.float32), r.standard_normal((b, n), dtype=np.float32)


def _matvec_label(size):
    b, n = size
    return f"{b}x({n}x{n})"


@workload("matvec_naive", sizes=[(128, 1024)], quick_sizes=[(32, 256)], label=_matvec_label,
          doc="batched mat-vec as a Python loop over the batch, stacked")
def _matvec_naive(size):
    mat, vs = _matvec_inputs(size)

    def body(m):
        def f(mat, vs):
            return m.stack([m.dot(mat, vs[i]) for i in range(vs.shape[0])])
        return f
    return Spec((mat, vs), jax=lambda jax, jnp: body(jnp), xp=body)


@workload("matvec_manual", sizes=[(128, 1024)], quick_sizes=[(32, 256)], label=_matvec_label,
          doc="batched mat-vec rewritten by hand as one matmul: vs @ mat.T")
def _matvec_manual(size):
    mat, vs = _matvec_inputs(size)
    body = lambda m: (lambda mat, vs: m.matmul(vs, mat.T))  # noqa: E731
    return Spec((mat, vs), jax=lambda jax, jnp: body(jnp), xp=body)


@workload("matvec_vmap", sizes=[(128, 1024)], quick_sizes=[(32, 256)], label=_matvec_label,
          doc="vmap(mat-vec) over the batch; NumPy: the hand-batched matmul")
def _matvec_vmap(size):
    mat, vs = _matvec_inputs(size)

    def jax_fn(jax, jnp):
        def f(mat, vs):
            return jax.vmap(lambda v: jnp.dot(mat, v))(vs)
        return f
    return Spec((mat, vs), jax=jax_fn, xp=lambda xp: (lambda mat, vs: xp.matmul(vs, mat.T)))


# ---- an MLP: training step, per-example gradients, compile time -----------------------------

MLP_SIZES = (784, 512, 512, 10)
LR = 0.01


def mlp_init(sizes=MLP_SIZES, seed=0):
    r = _rng(seed)
    return [(r.standard_normal((m, n), dtype=np.float32) * np.float32(np.sqrt(2.0 / m)),
             np.zeros(n, np.float32)) for m, n in zip(sizes[:-1], sizes[1:])]


def mlp_batch(batch, sizes=MLP_SIZES, seed=1):
    r = _rng(seed)
    x = r.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[r.integers(0, sizes[-1], batch)]
    return x, y


def mlp_loss(jnp, params, x, y):
    """Mean softmax cross-entropy of a ReLU MLP; works for a batch (x: (B, 784)) and for one
    example (x: (784,)) alike, which is what per-example gradients need."""
    h = x
    for i, (w, b) in enumerate(params):
        h = jnp.dot(h, w) + b
        if i < len(params) - 1:
            h = jnp.maximum(h, 0.0)
    m = jnp.max(h, axis=-1, keepdims=True)
    logp = h - (m + jnp.log(jnp.sum(jnp.exp(h - m), axis=-1, keepdims=True)))
    return -jnp.mean(jnp.sum(y * logp, axis=-1))


def mlp_step(jax, jnp):
    loss = functools.partial(mlp_loss, jnp)

    def step(params, x, y):
        grads = jax.grad(loss)(params, x, y)
        return [(w - LR * gw, b - LR * gb) for (w, b), (gw, gb) in zip(params, grads)]
    return step


def _mlp_forward_by_hand(xp, params, x):
    hs, acts = [], [x]
    h = x
    for i, (w, b) in enumerate(params):
        h = acts[-1] @ w + b
        hs.append(h)
        if i < len(params) - 1:
            acts.append(xp.maximum(h, 0.0))
    e = xp.exp(h - h.max(axis=-1, keepdims=True))
    return hs, acts, e / e.sum(axis=-1, keepdims=True)


def mlp_step_by_hand(xp):
    def step(params, x, y):
        hs, acts, p = _mlp_forward_by_hand(xp, params, x)
        d = (p - y) / x.shape[0]          # d loss / d logits
        new = [None] * len(params)
        for i in reversed(range(len(params))):
            w, b = params[i]
            gw, gb = acts[i].T @ d, d.sum(axis=0)
            if i:
                d = (d @ w.T) * (hs[i - 1] > 0)
            new[i] = (w - LR * gw, b - LR * gb)
        return new
    return step


def per_example_grads_by_hand(xp):
    def grads(params, x, y):
        hs, acts, p = _mlp_forward_by_hand(xp, params, x)
        d = p - y                          # per-example loss: no 1/B
        out = [None] * len(params)
        for i in reversed(range(len(params))):
            w, _ = params[i]
            out[i] = (xp.einsum("bi,bj->bij", acts[i], d), d)
            if i:
                d = (d @ w.T) * (hs[i - 1] > 0)
        return out
    return grads


@workload("mlp_train_step", sizes=[128], quick_sizes=[128], label=lambda b: f"batch {b}",
          doc="SGD step of a 784-512-512-10 ReLU MLP, softmax cross-entropy; "
              "NumPy: backward pass by hand")
def _mlp_train_step(batch):
    x, y = mlp_batch(batch)
    # Updated biases are pure gradients; with TF32 matmuls (JAX's GPU default) they differ from
    # NumPy's float32 by ~2e-2 relative. A wrong gradient is off by O(1).
    return Spec((mlp_init(), x, y), jax=mlp_step, xp=mlp_step_by_hand, tol=5e-2)


@workload("per_example_grads", sizes=[128], quick_sizes=[16], label=lambda b: f"batch {b}",
          doc="vmap(grad(loss)) over examples of the 784-512-512-10 MLP; "
              "NumPy: per-example outer products by hand")
def _per_example(batch):
    x, y = mlp_batch(batch)

    def jax_fn(jax, jnp):
        return jax.vmap(jax.grad(functools.partial(mlp_loss, jnp)), in_axes=(None, 0, 0))
    return Spec((mlp_init(), x, y), jax=jax_fn, xp=per_example_grads_by_hand, tol=5e-2)


@workload("compile_mlp_step", sizes=["new jit fn"], impls={"gpuxla-jit", "jax-jit"},
          doc="jit(a new MLP-step function)(...): trace + compile + one run, every call. The "
              "cold first call is in the compile column; later calls may hit caches keyed by "
              "program structure")
def _compile(_):
    x, y = mlp_batch(128)
    return Spec((mlp_init(), x, y), jax=mlp_step, xp=None, mode="compile", check=None)


# ---- reductions: softmax and layernorm ------------------------------------------------------

def softmax(m, x):
    e = m.exp(x - m.max(x, axis=-1, keepdims=True))
    return e / m.sum(e, axis=-1, keepdims=True)


def layernorm(m, x, gamma, beta, eps=1e-5):
    mu = m.mean(x, axis=-1, keepdims=True)
    var = m.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / m.sqrt(var + eps) * gamma + beta


@workload("softmax", sizes=[(4096, 1024), (4096, 4096)], quick_sizes=[(1024, 1024)], label=_shape,
          doc="softmax over the last axis")
def _softmax(shape):
    x = _rng().standard_normal(shape, dtype=np.float32)
    return Spec((x,), jax=lambda jax, jnp: functools.partial(softmax, jnp),
                xp=lambda xp: functools.partial(softmax, xp), bytes=2 * x.nbytes)


@workload("layernorm", sizes=[(4096, 1024), (4096, 4096)], quick_sizes=[(1024, 1024)], label=_shape,
          doc="layer normalisation over the last axis with scale and shift")
def _layernorm(shape):
    r = _rng()
    x = r.standard_normal(shape, dtype=np.float32)
    g = r.standard_normal(shape[-1], dtype=np.float32)
    b = r.standard_normal(shape[-1], dtype=np.float32)
    return Spec((x, g, b), jax=lambda jax, jnp: functools.partial(layernorm, jnp),
                xp=lambda xp: functools.partial(layernorm, xp), bytes=2 * x.nbytes + g.nbytes + b.nbytes)


@workload("column_sum", sizes=[(4096, 4096)], quick_sizes=[(1024, 1024)], label=_shape,
          doc="x.sum(axis=0): few outputs, long strided columns (tiles of columns on a GPU)")
def _column_sum(shape):
    x = _rng().standard_normal(shape, dtype=np.float32)
    return Spec((x,), jax=lambda jax, jnp: (lambda x: jnp.sum(x, axis=0)),
                xp=lambda xp: (lambda x: xp.sum(x, axis=0)), bytes=x.nbytes + 4 * shape[1])


@workload("transpose_add", sizes=[(4096, 4096)], quick_sizes=[(1024, 1024)], label=_shape,
          doc="x.T + y, float32: an operand read transposed (32x33 shared tiles on a GPU)")
def _transpose_add(shape):
    r = _rng()
    x, y = r.standard_normal(shape[::-1], dtype=np.float32), r.standard_normal(shape, dtype=np.float32)
    return Spec((x, y), jax=lambda jax, jnp: (lambda x, y: x.T + y),
                xp=lambda xp: (lambda x, y: x.T + y), bytes=3 * y.nbytes)


# ---- random ---------------------------------------------------------------------------------

@workload("random_normal", sizes=[10**7], quick_sizes=[10**6], label=_sci,
          doc="random.normal(key, (n,)) float32; NumPy: Generator.standard_normal")
def _random_normal(n):
    def jax_fn(jax, jnp):
        return (lambda key: jax.random.normal(key, (n,))), (jax.random.PRNGKey(0),)

    def xp_fn(xp):
        if xp is np:
            g = np.random.default_rng(0)
            return (lambda: g.standard_normal(n, dtype=np.float32)), ()
        return (lambda: xp.random.standard_normal(n, dtype=xp.float32)), ()
    return Spec((), jax=jax_fn, xp=xp_fn, check="normal", bytes=4 * n)


# ---- dispatch overhead ----------------------------------------------------------------------

@workload("dispatch_add", sizes=[(3,)], label=lambda s: f"({s[0]},)",
          doc="a + b on (3,) arrays, result ready: the fixed cost of one cached call")
def _dispatch(shape):
    r = _rng()
    a, b = r.standard_normal(shape, dtype=np.float32), r.standard_normal(shape, dtype=np.float32)
    return Spec((a, b), jax=lambda jax, jnp: (lambda a, b: a + b), xp=lambda xp: xp.add)


# ----------------------------------------------------------------------------------------------
# Backends
# ----------------------------------------------------------------------------------------------

class Unavailable(Exception):
    """An optional comparison library is not installed: its rows are left out, not failed."""


def _version(mod, dist):
    v = getattr(mod, "__version__", None)
    if v:
        return str(v)
    try:
        from importlib import metadata
        return metadata.version(dist)
    except Exception:  # noqa: BLE001
        return None


class Backend:
    name: str = "?"
    applies_to_compile = False

    def bind(self, spec: Spec):
        raise NotImplementedError(f"{type(self).__name__} must implement bind(spec)")  # abstract

    def info(self) -> dict:
        return {}

    def check(self, spec: Spec, out) -> str | None:
        if spec.check is None:
            return None
        got = tree_map(self.to_numpy, out)
        return compare(spec, got)

    def to_numpy(self, a):
        return np.asarray(a)


def _norm(a):
    """The 2-norm by NumPy's own pairwise sum. np.linalg.norm is a BLAS dot, which wakes OpenBLAS's
    threads, and they spin for a while after it: the next rows' threads (gpuxla's worker, XLA's)
    then shared a core with them (column_sum on 2 threads 78 -> 150 us after a check)."""
    return float(np.sqrt(np.square(a).sum()))


def compare(spec: Spec, got) -> str | None:
    if spec.check == "normal":
        (a,) = tree_leaves(got)
        a = np.asarray(a, dtype=np.float64)
        mean, std = a.mean(), a.std()
        if a.dtype.kind != "f" or abs(mean) > 0.01 or abs(std - 1) > 0.01:
            return f"not standard normal: mean {mean:.4f}, std {std:.4f}"
        return None
    want = tree_leaves(spec.reference())
    got = tree_leaves(got)
    if len(want) != len(got):
        return f"{len(got)} outputs, NumPy gives {len(want)}"
    for i, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        if g.shape != w.shape:
            return f"output {i}: shape {g.shape}, NumPy gives {w.shape}"
        err = _norm(g.astype(np.float64) - w) / max(_norm(w.astype(np.float64)), 1e-30)
        if not np.isfinite(err) or err > spec.tol:
            return f"output {i}: relative error {err:.2e} > {spec.tol:g}"
    return None


class NumpyLike(Backend):
    """NumPy, or CuPy (same code, arrays on the GPU, synchronised on the null stream)."""

    def __init__(self, name, module_name):
        self.name, self.module_name, self._xp = name, module_name, None

    @property
    def xp(self):
        if self._xp is None:
            try:
                self._xp = importlib.import_module(self.module_name)
            except ImportError as exc:
                raise Unavailable(f"{self.module_name} not installed: {exc}") from exc
            if self.module_name == "cupy":
                try:
                    if self._xp.cuda.runtime.getDeviceCount() < 1:
                        raise Unavailable("cupy: no CUDA device")
                except Unavailable:
                    raise
                except Exception as exc:  # noqa: BLE001
                    raise Unavailable(f"cupy: no usable CUDA device ({exc})") from exc
        return self._xp

    def bind(self, spec):
        xp = self.xp
        if spec.xp is None:
            raise Unavailable(f"{self.name} has no implementation of this workload")
        put = (lambda a: a) if xp is np else xp.asarray
        fn, args = _unpack(spec.xp(xp), spec.args)
        args = tree_map(put, args)
        self.sync(None)
        return (lambda: fn(*args)), self.sync

    def sync(self, out):
        if self.module_name == "cupy":
            self.xp.cuda.Stream.null.synchronize()

    def to_numpy(self, a):
        return a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else np.asarray(a)

    def info(self):
        xp = self.xp
        if xp is np:
            return {"device": "cpu", "platform": "numpy", "impl_version": np.__version__}
        props = xp.cuda.runtime.getDeviceProperties(xp.cuda.Device().id)
        name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        return {"device": name, "platform": "cuda", "impl_version": _version(xp, "cupy")}


class JaxLike(Backend):
    """A `(jax, jnp)` module pair: gpuxla, or JAX itself. `jit=False` calls the functions as
    written (gpuxla: lazy graph, realised by block_until_ready; JAX: op-by-op dispatch)."""

    def __init__(self, name, loader: Callable[[], tuple], *, jit: bool, optional: bool,
                 dist: str):
        self.name, self.loader, self.jit, self.optional, self.dist = name, loader, jit, optional, dist
        self._mods = None
        self.applies_to_compile = jit

    @property
    def mods(self):
        if self._mods is None:
            try:
                self._mods = self.loader()
            except ImportError as exc:
                if self.optional:
                    raise Unavailable(f"{self.dist} not installed: {exc}") from exc
                raise
        return self._mods

    def bind(self, spec):
        jax, jnp = self.mods
        if spec.jax is None:
            raise Unavailable(f"{self.name} has no implementation of this workload")
        put = getattr(jax, "device_put", None) or jnp.asarray
        if spec.mode == "compile":
            if not self.jit:
                raise Unavailable("compile time is measured for jit only")
            _, args = _unpack(spec.jax(jax, jnp), spec.args)
            args = tree_map(put, args)
            self.sync(args)

            def fresh_compile():
                f, _ = _unpack(spec.jax(jax, jnp), ())  # a new function object: a cache miss
                return jax.jit(f)(*args)
            return fresh_compile, self.sync
        fn, args = _unpack(spec.jax(jax, jnp), spec.args)
        if self.jit:
            fn = jax.jit(fn)
        args = tree_map(put, args)
        self.sync(args)
        return (lambda: fn(*args)), self.sync

    def sync(self, out):
        jax, _ = self.mods
        bur = getattr(jax, "block_until_ready", None)
        if bur is not None:
            return bur(out)
        for leaf in tree_leaves(out):
            if hasattr(leaf, "block_until_ready"):
                leaf.block_until_ready()
            elif not isinstance(leaf, (np.ndarray, np.generic, int, float, type(None))):
                # Timing a lazy result without waiting for it would measure nothing.
                raise TypeError(f"cannot wait for a {type(leaf).__name__}: neither "
                                f"{self.name}'s block_until_ready nor the array's exists")
        return out

    def info(self):
        jax, _ = self.mods
        out = {"impl_version": _version(jax, self.dist)}
        try:
            dev = jax.devices()[0]
            out["device"] = str(getattr(dev, "device_kind", None) or dev)
            out["platform"] = str(getattr(dev, "platform", "") or os.environ.get("GPUXLA_PLATFORM", ""))
            if jax.__name__ == "gpuxla":   # its numpy and cpu platforms both have "cpu" devices, as JAX's
                out["platform"] = jax.backends.get_backend().platform
        except Exception as exc:  # noqa: BLE001
            out["device"] = f"unknown ({type(exc).__name__})"
        return out


def load_gpuxla():
    import gpuxla
    import gpuxla.numpy as gnp
    return gpuxla, gnp


def load_jax():
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # share the GPU with CuPy
    import jax
    import jax.numpy as jnp
    return jax, jnp


def gpuxla_version(as_gpuxla: str | None = None) -> str | None:
    try:
        if as_gpuxla == "jax":
            import jax
            return f"jax {jax.__version__} (standing in for gpuxla)"
        import gpuxla
        return _version(gpuxla, "gpuxla")
    except Exception:  # noqa: BLE001
        return None


def make_backends(*, jax: bool = True, cupy: bool = True, as_gpuxla: str | None = None
                  ) -> list[Backend]:
    """numpy first (the baseline), gpuxla eager and jit, then JAX and CuPy when wanted.
    `as_gpuxla="jax"` plugs JAX in as the gpuxla pair (to exercise the workloads without gpuxla)."""
    gx_loader = load_jax if as_gpuxla == "jax" else load_gpuxla
    if as_gpuxla not in (None, "jax"):
        raise ValueError(f"--as-gpuxla: only 'jax' is supported, got {as_gpuxla!r}")
    bs: list[Backend] = [
        NumpyLike("numpy", "numpy"),
        JaxLike("gpuxla", gx_loader, jit=False, optional=False, dist="gpuxla"),
        JaxLike("gpuxla-jit", gx_loader, jit=True, optional=False, dist="gpuxla"),
    ]
    if jax and as_gpuxla != "jax":
        bs.append(JaxLike("jax-jit", load_jax, jit=True, optional=True, dist="jax"))
    if cupy:
        bs.append(NumpyLike("cupy", "cupy"))
    return bs


def available(backend: Backend) -> str | None:
    """None when the backend can run, else why not (optional libraries only)."""
    try:
        if isinstance(backend, NumpyLike):
            backend.xp
        elif isinstance(backend, JaxLike) and backend.optional:
            backend.mods
    except Unavailable as exc:
        return str(exc)
    return None


def select(workloads: Sequence[Workload], only: Sequence[str] = ()) -> list[Workload]:
    pats = [p.strip().lower() for item in only for p in item.split(",") if p.strip()]
    if not pats:
        return list(workloads)
    return [w for w in workloads if any(p in w.name.lower() for p in pats)]


def make_cases(workloads: Sequence[Workload], backends: Sequence[Backend], *, quick: bool,
               impls: Sequence[str] = ()) -> list[Case]:
    """One case per (workload, size, backend). Specs (and their inputs) are made lazily, once per
    (workload, size), and shared by the backends, so every implementation sees the same data."""
    impl_pats = [p.strip().lower() for item in impls for p in item.split(",") if p.strip()]
    cases = []
    for w in workloads:
        for size in w.sizes_for(quick):
            spec_of = _lazy(functools.partial(w.make, size))
            for b in backends:
                if w.impls is not None and b.name not in w.impls:
                    continue
                if impl_pats and b.name != "numpy" and not any(p in b.name for p in impl_pats):
                    continue
                cases.append(_case(w, size, b, spec_of))
    return cases


def _lazy(f):
    cell = []

    def get():
        if not cell:
            cell.append(f())
        return cell[0]
    return get


def _case(w: Workload, size, b: Backend, spec_of) -> Case:
    def build():
        spec = spec_of()
        fn, sync = b.bind(spec)
        if spec.check is None:
            return fn, sync
        return fn, sync, lambda out: b.check(spec, out)

    def info():
        try:
            out = b.info()
        except Exception:  # noqa: BLE001
            out = {}
        return {**out, "bytes": spec_of().bytes}
    return Case(w.name, w.label(size), b.name, build, info=info)
