"""Backend selection and the few calls the core makes into a backend.

A backend turns a `Program` into a callable on buffers. `numpy` (backends/numpy/) is the reference;
`cuda` (backends/cuda/) runs generated CUDA C on a GPU; `cuda-interpret` (also backends/cuda/) runs
the same CUDA C on the CPU; `cpu` (backends/cpu/) runs the kernels rendered as C++ loops, compiled
for the host (tiered: NumPy until a program is hot); backends/cache.py holds the kernel caches the
last three share.

The platform is chosen by `GPUXLA_PLATFORM`, else by JAX's `jax_platforms` / `jax_platform_name`
options or their environment variables ("cpu" there is the native cpu platform), else `cuda` when
a usable GPU is present, else `cpu` when a host C++ compiler works, else `numpy`.
"""
import logging
import threading
import types

from .. import config
from ..core import graph
from ..core.program import Program

_backend = None
PLATFORMS = ("numpy", "cuda", "cuda-interpret", "cpu")


class Device:
    def __init__(self, platform, id=0, kind=None):
        self.platform, self.id = platform, id
        self.device_kind = kind or platform

    def __repr__(self):
        if self.platform == "cuda":
            return f"CudaDevice(id={self.id})"
        return f"CpuDevice(id={self.id})"

    def __str__(self):      # JAX: str(device) is "cpu:0" / "cuda:0"
        return f"{'cuda' if self.platform == 'cuda' else 'cpu'}:{self.id}"

    def __eq__(self, other):
        return isinstance(other, Device) and (self.platform, self.id) == (other.platform, other.id)

    def __hash__(self):
        return hash((self.platform, self.id))


def _gpu_usable():
    try:
        import cupy
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def get_backend(platform=None):
    global _backend
    if platform is None:
        if _backend is None:
            _backend = _make(default_platform())
        return _backend
    if _backend is not None and _backend.platform == platform:
        return _backend
    return _make(platform)


# JAX's platform names (jax_platforms / JAX_PLATFORMS, jax_platform_name) and gpuxla's own, each
# with the platform it selects. 'cpu' is the host platform (`_make` decides which backend runs it).
_JAX_PLATFORMS = {"cpu": "cpu", "cuda": "cuda", "gpu": "cuda", "numpy": "numpy", "cuda-interpret": "cuda-interpret"}
_HOST = ("cpu", "numpy", "cuda-interpret")       # platforms whose device is a CPU device


def _jax_platform_request():
    """(where it was set, [platform names]) from JAX's options or their environment variables, or
    None. Unknown names are refused here, naming the option."""
    read = config.read
    for where, value in (("jax_platforms", read("jax_platforms")), ("JAX_PLATFORMS", config.JAX_PLATFORMS.get()),
                         ("jax_platform_name", read("jax_platform_name")),
                         ("JAX_PLATFORM_NAME", config.JAX_PLATFORM_NAME.get())):
        if value:
            return where, _parse(where, value)
    return None


def _parse(where, value):
    names = [w.strip().lower() for w in str(value).split(",") if w.strip()]
    bad = [w for w in names if w not in _JAX_PLATFORMS]
    if bad or not names:
        raise ValueError(f"{where}={value!r}: gpuxla has no platform {bad[0] if bad else ''!r}; it knows "
                         f"{sorted(_JAX_PLATFORMS)} ('cpu' runs on the host, 'gpu' is 'cuda')")
    return [_JAX_PLATFORMS[w] for w in names]


def default_platform():
    """The platform the first array uses: GPUXLA_PLATFORM; else jax_platforms (or JAX_PLATFORMS,
    then jax_platform_name / JAX_PLATFORM_NAME), a comma-separated list whose first usable entry
    wins, as in JAX; else cuda when a usable GPU is present, else cpu when a host C++ compiler
    works (a probe compile, once per compiler binary: cpu.available), else numpy."""
    name = config.PLATFORM.get()
    if name:
        return name
    request = _jax_platform_request()
    if request is None:
        if _gpu_usable():
            return "cuda"
        from .cpu import available
        return "cpu" if available() else "numpy"
    names = request[1]
    return next((n for n in names if n != "cuda" or _gpu_usable()), names[-1])


def _serves(name, platform):
    return name == platform or (name == "cpu" and platform in _HOST)


def _check_platform_option(option, value):
    """jax_platforms / jax_platform_name choose the platform before the first array, as in JAX.
    A value that cannot take effect (the platform is already running, or GPUXLA_PLATFORM chose
    another) is refused, never ignored."""
    if not value:           # back to the default: never refused
        return
    names = _parse(option, value)
    running = _backend.platform if _backend is not None else config.PLATFORM.get()
    if not running or any(_serves(n, running) for n in names):
        return
    why = "gpuxla already runs on" if _backend is not None else "GPUXLA_PLATFORM chose"
    raise RuntimeError(f"{option}={value!r} asks for {names}, but {why} {running!r}; set {option} "
                       "(or JAX_PLATFORMS / GPUXLA_PLATFORM) before the first array is made")


config.validators["jax_platforms"] = config.validators["jax_platform_name"] = _check_platform_option

log = logging.getLogger("gpuxla")


def compile_tiered(backend, program):
    """What a call runs (a jit call, an eager graph, a loop body): `backend.compile_tiered` where
    the platform has tiers (the cpu platform runs a program on NumPy until it is hot), else the
    executable itself. Ahead-of-time compiles call `backend.compile`."""
    tiered = getattr(backend, "compile_tiered", None)
    return tiered(program) if tiered is not None else backend.compile(program)


def log_compile(what, avals, platform):
    """One line per compile, as JAX's jax_log_compiles: WARNING when the option is on, else DEBUG."""
    level = logging.WARNING if config.read("jax_log_compiles") else logging.DEBUG
    if log.isEnabledFor(level):
        log.log(level, "Compiling %s with global shapes and types (%s) for platform %s.",
                what, ", ".join(a.str_short() for a in avals), platform)


def _make(name):
    if name == "numpy":
        from .numpy import NumpyBackend
        return NumpyBackend()
    if name == "cpu":
        from .cpu import CpuBackend
        return CpuBackend()
    if name == "cuda-interpret":
        from .cuda import InterpretBackend
        return InterpretBackend()
    if name == "cuda":
        from .cuda import CudaBackend
        return CudaBackend()
    raise ValueError(f"Unknown platform {name!r} (GPUXLA_PLATFORM); choose one of {PLATFORMS}")


def from_numpy(arr):
    return get_backend().from_numpy(arr)


def to_numpy(buf):
    return get_backend().to_numpy(buf)


def synchronize(buf):
    get_backend().synchronize(buf)


# The default device as the job sees it: installed by parallel/devices.py (backends may not
# import parallel) so that, after gpuxla.distributed.initialize, process k's arrays report its own
# first device, not the backend's device 0. None: the backend's device.
default_device = None


def current_device():
    b = get_backend()
    return b.device if default_device is None else default_device(b)


_eager_cache = {}
_eager_lock = threading.Lock()      # eviction and insertion; lookups need no lock
EAGER_CACHE_SIZE = 4096


def run_pending(order, outputs):
    """Realize `outputs`: compile the pending subgraph `order` (cached by structure) and run it.

    The key is built in one pass: an input's aval, and for a computed node its primitive, params
    and input positions. Computed avals are left out: shape rules derive them from those. Params
    keep their insertion order (no sort): equal keys still mean equal graphs, and the rare
    reordered twin only costs one more compile."""
    backend = get_backend()
    pos, key, inputs = {}, [backend], []
    for i, n in enumerate(order):
        pos[n.id] = i
        if n._buf is not None:
            inputs.append(n)
            a = n.aval
            key.append((a.shape, a.dtype, a.weak_type))
        else:
            p = n.params
            key.append((n.prim, tuple(p.items()) if p else (), tuple([pos[x.id] for x in n.inputs])))
    key.append(tuple([pos[o.id] for o in outputs]))
    key = tuple(key)
    try:
        fn = _eager_cache.get(key)
    except TypeError:            # unhashable params: compile without caching
        key, fn = None, None
    if fn is None:
        from ..core.program import Program
        if log.isEnabledFor(logging.WARNING if config.read("jax_log_compiles") else logging.DEBUG):
            prims = ", ".join(dict.fromkeys(n.prim.name for n in order if n._buf is None))
            log_compile(f"eager({prims})", [n.aval for n in inputs], backend.platform)
        fn = compile_tiered(backend, _eager_program(order, inputs, outputs))
        eager_cache_stats["misses"] += 1
        if key is not None:
            with _eager_lock:
                if len(_eager_cache) >= EAGER_CACHE_SIZE:
                    del _eager_cache[next(iter(_eager_cache))]
                _eager_cache[key] = fn
    else:
        eager_cache_stats["hits"] += 1
    return fn([n._buf for n in inputs])


eager_cache_stats = {"hits": 0, "misses": 0}


def _eager_program(order, inputs, outputs):
    """The Program of a pending subgraph. Eager work skips jit's passes (its graphs are small and
    compiled once per structure), but not the execution-only expansions (passes.EXPAND): an
    outer product left to the library (vmap(grad(f)) run eagerly) is a k = 1 matmul."""
    from ..compiler import passes
    if any(n.prim in passes.EXPAND for n in order):
        new = passes.expand(outputs, inputs, start=0)
        if any(a is not b for a, b in zip(new, outputs)):
            return Program.from_graph(inputs, new)
    return Program.from_graph(inputs, outputs, order=order)


class CrossPlatform:
    """An executable for a platform other than the active one (cuda from a machine without a GPU,
    the numpy reference beside cuda). Compiling needs no device, so kernels can be inspected;
    running moves the constants, arguments and results across."""

    def __init__(self, program, target, active):
        self.program, self.target, self.active = program, target, active
        self.exe = target.compile(program)
        self._runnable = None

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.exe, name)

    def __call__(self, bufs):
        t, a, p = self.target, self.active, self.program
        if self._runnable is None:
            consts = [(s, t.from_numpy(a.to_numpy(b)), av) for s, b, av in p.consts]
            self._runnable = t.compile(Program(p.in_avals, consts, p.eqns, p.outs, p.out_avals, p.n_slots))
        outs = self._runnable([t.from_numpy(a.to_numpy(b)) for b in bufs])
        return [a.from_numpy(t.to_numpy(o)) for o in outs]


from .numpy.reference import impl_rules  # noqa: E402  (it imports Device, above)

graph.runtime = types.SimpleNamespace(from_numpy=from_numpy, to_numpy=to_numpy, synchronize=synchronize,
                                      run_pending=run_pending, device=current_device, reference_rules=impl_rules)
