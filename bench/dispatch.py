"""Dispatch overhead of a cached jit call: `jit(lambda x: x + 1.0)` on a (3,) float32 array,
against `numpy.add` on the same array and, when JAX is available, a cached `jax.jit` call.

    python bench/dispatch.py                        # gpuxla and NumPy (and JAX if importable)
    python bench/dispatch.py --jax-python /tmp/jaxref/bin/python   # JAX from another interpreter

Each number is the best of `repeat` samples of `number` back-to-back calls, each call waited for
(`block_until_ready`), in microseconds per call. `measure_dispatch()` returns them as a dict for
the bench harness.
"""
import json
import subprocess
import sys
import timeit

import numpy as np


def _best(fn, number, repeat):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def measure_numpy(number=20000, repeat=7):
    a = np.ones(3, np.float32)
    return _best(lambda: np.add(a, 1.0), number, repeat)


def measure_gpuxla(number=20000, repeat=7):
    import gpuxla
    import gpuxla.numpy as gnp
    f = gpuxla.jit(lambda x: x + 1.0)
    x = gnp.ones(3, gnp.float32).block_until_ready()
    f(x).block_until_ready()
    traced = f._cache_size()
    us = _best(lambda: f(x).block_until_ready(), number, repeat)
    assert f._cache_size() == traced, "the timed calls retraced"
    return us, gpuxla.default_backend(), gpuxla.devices()[0].platform


def measure_jax(number=20000, repeat=7):
    """Cached jax.jit call (None when JAX is not importable in this interpreter)."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    f = jax.jit(lambda x: x + 1.0)
    x = jnp.ones(3, jnp.float32)
    return _best(lambda: f(x).block_until_ready(), number, repeat)


def measure_dispatch(number=20000, repeat=7, jax_python=None, with_jax=True):
    """{'gpuxla_jit_us', 'numpy_add_us', 'jax_jit_us' (None if unmeasured), 'ratio_numpy',
    'ratio_jax', 'platform'}: microseconds per cached call and gpuxla's ratio to each."""
    g_us, _, platform = measure_gpuxla(number, repeat)
    np_us = measure_numpy(number, repeat)
    jax_us = None
    if jax_python:
        out = subprocess.run([jax_python, __file__, "--jax-only", str(number), str(repeat)],
                             capture_output=True, text=True, check=False)
        if out.returncode == 0:
            jax_us = json.loads(out.stdout.strip().splitlines()[-1])["jax_jit_us"]
    elif with_jax and ("jax" in sys.modules or _importable("jax")):
        jax_us = measure_jax(number, repeat)
    return {"gpuxla_jit_us": g_us, "numpy_add_us": np_us, "jax_jit_us": jax_us,
            "ratio_numpy": g_us / np_us, "ratio_jax": None if jax_us is None else g_us / jax_us,
            "platform": platform}


def _importable(name):
    import importlib.util
    return importlib.util.find_spec(name) is not None


def main(argv):
    if argv[:1] == ["--jax-only"]:
        number, repeat = (int(argv[1]), int(argv[2])) if len(argv) >= 3 else (20000, 7)
        print(json.dumps({"jax_jit_us": measure_jax(number, repeat)}))
        return
    jax_python = argv[argv.index("--jax-python") + 1] if "--jax-python" in argv else None
    r = measure_dispatch(jax_python=jax_python)
    print(f"cached jit call, (3,) float32, platform {r['platform']}:")
    print(f"  gpuxla.jit   {r['gpuxla_jit_us']:8.2f} us")
    print(f"  numpy.add    {r['numpy_add_us']:8.2f} us   (gpuxla / numpy = {r['ratio_numpy']:.1f}x)")
    if r["jax_jit_us"] is not None:
        print(f"  jax.jit      {r['jax_jit_us']:8.2f} us   (gpuxla / jax = {r['ratio_jax']:.2f}x)")
    print(json.dumps(r))


if __name__ == "__main__":
    main(sys.argv[1:])
