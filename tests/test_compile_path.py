"""The cuda platform's compile path: an executable's kernels are one NVRTC program (one run, one
module loaded), and a warm disk-cache hit never loads NVRTC (its cache key reads the installed
wheel's version, not the library's)."""
import os
import subprocess
import sys

import numpy as np
import pytest

import fake_cupy as fc

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla.backends.cuda import nvrtc

from codegen_util import _session_cache, needs_cxx  # noqa: E402,F401

needs_nvrtc = pytest.mark.skipif(not nvrtc.available(), reason="cuda-bindings / NVRTC not installed")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SRC = '#include "gx_common.cuh"\nextern "C" __global__ void warm_k(float* y) { y[threadIdx.x] = gx_exp(2.0f); }\n'

_CHILD = """
import sys
from gpuxla.backends.cuda import nvrtc
cubin = nvrtc.compile_cubin(sys.argv[1], arch="sm_90")
loaded = [m for m in sys.modules if m.startswith("cuda.bindings")]
sys.stdout.write(",".join(map(str, (nvrtc.compile_stats["nvrtc"], nvrtc.compile_stats["disk_hits"], len(loaded), bytes(cubin[:4]).hex()))))
"""


def _child(tmp_path):
    env = {**os.environ, "GPUXLA_CACHE_DIR": str(tmp_path), "PYTHONPATH": ROOT}
    env.pop("GPUXLA_DISK_CACHE", None)
    out = subprocess.run([sys.executable, "-c", _CHILD, SRC], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().split(",")


@needs_nvrtc
def test_a_warm_disk_cache_hit_does_not_load_nvrtc(tmp_path):
    cold = _child(tmp_path)
    assert cold[:2] == ["1", "0"] and int(cold[2]) > 0 and cold[3] == "7f454c46"     # compiled: an ELF image
    warm = _child(tmp_path)
    assert warm == ["0", "1", "0", "7f454c46"]     # a disk hit, no cuda.bindings module imported


@needs_nvrtc
@needs_cxx
def test_an_executable_is_one_nvrtc_program():
    with fc.installed(nvrtc=True):
        x = np.random.default_rng(1).standard_normal((16, 32)).astype(np.float32)
        f = jax.jit(lambda v: (jnp.tanh(v) * 2 + jnp.max(v, axis=0), jnp.sum(jnp.exp(v), axis=1) + 0.5))
        before = nvrtc.compile_stats["nvrtc"] + nvrtc.compile_stats["memory_hits"] + nvrtc.compile_stats["disk_hits"]
        exe = f.lower(x).compile()
        ks = [k for k in exe.kernels if k.size]
        after = nvrtc.compile_stats["nvrtc"] + nvrtc.compile_stats["memory_hits"] + nvrtc.compile_stats["disk_hits"]
        assert len(ks) >= 2 and after - before == 1
        image = ks[0].cubin
        assert bytes(image[:4]) == b"\x7fELF" and all(k.cubin is image for k in ks)
        assert all(k.name.encode() in bytes(image) for k in ks)      # every kernel's symbol is in it
        a, b = f(jnp.asarray(x))
        np.testing.assert_allclose(np.asarray(a), np.tanh(x) * 2 + x.max(0), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(np.asarray(b), np.exp(x).sum(1) + 0.5, rtol=1e-5, atol=1e-4)


def test_nvrtc_runs_outside_the_global_lock(monkeypatch):
    """While one program is in NVRTC, a cache hit and another program's compile go on; threads
    wanting the program being built wait for that one run (NVRTC itself stubbed: a gate)."""
    import threading
    monkeypatch.setattr(nvrtc, "_memory", {})
    monkeypatch.setattr(nvrtc, "_disk", type("NoDisk", (), {"get": lambda s, k: ("miss", None),
                                                             "put": lambda s, k, v: None})())
    gate, entered, runs = threading.Event(), threading.Event(), []

    def fake_compile(source, arch, options, names, headers):
        runs.append(source)
        if "slow" in source:
            entered.set()
            assert gate.wait(30)
        return b"CUBIN" + source.encode(), {}, ""
    monkeypatch.setattr(nvrtc, "_nvrtc_compile", fake_compile)
    monkeypatch.setattr(nvrtc, "headers_state", lambda: ({}, "h"))
    nvrtc.compile_cubin("// warm", arch="sm_90")
    results = {}

    def get(name, src):
        results[name] = nvrtc.compile_cubin(src, arch="sm_90")
    slow = [threading.Thread(target=get, args=(f"slow{i}", "// slow")) for i in range(3)]
    slow[0].start()
    assert entered.wait(30)
    for t in slow[1:]:
        t.start()
    # NVRTC is busy with "slow": a hit and another program still finish (they would hang under one lock)
    for name, src in (("warm", "// warm"), ("other", "// other")):
        t = threading.Thread(target=get, args=(name, src))
        t.start()
        t.join(10)
        assert not t.is_alive(), f"compile_cubin of {name!r} waited for another program's NVRTC run"
    gate.set()
    for t in slow:
        t.join(30)
    assert bytes(results["slow0"]) == bytes(results["slow1"]) == bytes(results["slow2"]) == b"CUBIN// slow"
    assert bytes(results["other"]) == b"CUBIN// other"
    assert runs.count("// slow") == 1 and runs.count("// warm") == 1
