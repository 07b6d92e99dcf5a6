"""What a user installs, tested as a user gets it: the wheel built from the tracked files of this
tree, installed into a fresh virtual environment that holds only the declared dependencies, and
run from a folder outside the source tree on the numpy and cuda-interpret platforms and on the
default one (cpu, where a host compiler works). Also: the
sdist carries what its tests need, and the packaging metadata has one home (pyproject.toml)."""
import json
import os
import shutil
import subprocess
import sys
import tarfile
import textwrap
import venv
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

# A program that touches every layer a user reaches: jnp, grad, vmap, jit, random, the compiler
# (a fused kernel on cuda-interpret) and the kernel headers shipped as package data.
PROGRAM = textwrap.dedent("""
    import json, sys
    import numpy as np
    import gpuxla as jax
    import gpuxla.core, gpuxla.numpy as jnp
    from gpuxla.backends import cache, get_backend

    def sum_logistic(x):
        return jnp.sum(1.0 / (1.0 + jnp.exp(-x)))

    x = jnp.arange(4.0)
    out = {
        "file": gpuxla.__file__,
        "kernels": str(cache.kernels_dir()),
        "version": jax.__version__,
        "platform": jax.default_backend(),
        "grad": np.asarray(jax.jit(jax.grad(sum_logistic))(x)).tolist(),
        "vmap": np.asarray(jax.vmap(lambda r: jnp.dot(r, r))(jnp.ones((3, 2)))).tolist(),
        "normal_shape": list(jax.random.normal(jax.random.PRNGKey(0), (5,)).shape),
        "backend": get_backend().platform,
    }
    from importlib.metadata import version
    out["dist_version"] = version("gpuxla")
    json.dump(out, sys.stdout)
""")


def _tracked_files():
    """The files a clean clone has: `git ls-files` in a checkout, else everything but caches
    (the tests also run from an unpacked sdist, which has no .git)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        r = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        return [p for p in r.stdout.decode().split("\0") if p and (ROOT / p).is_file()]
    skip = {".venv", "build", "dist", "__pycache__", ".pytest_cache", ".git"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts) and not p.name.endswith(".egg-info")]


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory):
    """A copy of the tracked files: building in the checkout would reuse a stale build/ folder
    (setuptools never cleans it, so deleted modules would still ship)."""
    dst = tmp_path_factory.mktemp("clone")
    for rel in _tracked_files():
        (dst / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dst / rel)
    return dst


def _build(tree, what, out):
    # The PEP 517 hooks of the backend pyproject.toml names, called as a frontend would.
    code = f"from setuptools import build_meta as b; print(b.build_{what}({str(out)!r}))"
    r = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    return out / r.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def wheel(clean_tree, tmp_path_factory):
    return _build(clean_tree, "wheel", tmp_path_factory.mktemp("wheel"))


def _clean_env(**extra):
    """The environment without PYTHONPATH and friends (they would show the fresh environment this
    source tree) and without gpuxla's own settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GPUXLA_", "PIP_"))}
    return {**env, **extra}


def _requirement_names(requires):
    return {r.split(";")[0].split("[")[0].split(">")[0].split("<")[0].split("=")[0].strip().lower().replace("_", "-")
            for r in requires}


@pytest.fixture(scope="module")
def fresh_env(wheel, tmp_path_factory):
    """A new venv that sees only the wheel and its declared runtime dependencies."""
    base = tmp_path_factory.mktemp("env")
    env_dir = base / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    # The declared dependencies come from this environment, linked one by one (no download, and
    # nothing else of this environment leaks in: not pytest, not the editable gpuxla).
    deps = base / "deps"
    deps.mkdir()
    with zipfile.ZipFile(wheel) as z:
        meta = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    required = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    runtime = _requirement_names(r for r in required if "extra ==" not in r)
    assert runtime == {"numpy", "ml-dtypes"}, runtime
    import ml_dtypes
    import numpy
    for mod in (numpy, ml_dtypes):
        pkg = Path(mod.__file__).parent
        for p in pkg.parent.iterdir():
            if p.name == pkg.name or p.name == pkg.name + ".libs" or (
                    p.name.endswith(".dist-info") and p.name.lower().startswith(pkg.name.lower() + "-")):
                (deps / p.name).symlink_to(p)
    (site / "_gpuxla_test_deps.pth").write_text(str(deps) + "\n")
    r = subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "--no-deps", "--no-index",
                        "--disable-pip-version-check", str(wheel)], capture_output=True, text=True, env=_clean_env())
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    return py, site


def test_wheel_holds_every_package_and_the_kernel_headers(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    pkg_dirs = {p.parent.relative_to(ROOT).as_posix() for p in (ROOT / "gpuxla").rglob("*.py")
                if "__pycache__" not in p.parts}
    for d in sorted(pkg_dirs):
        assert f"{d}/__init__.py" in names, f"{d} is not a package in the wheel"
    for p in (ROOT / "gpuxla" / "kernels").iterdir():
        if p.suffix in (".cuh", ".h"):
            assert f"gpuxla/kernels/{p.name}" in names
    assert "gpuxla/py.typed" in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.parametrize("platform", ["numpy", "cuda-interpret", "default"])
def test_installed_wheel_runs_outside_the_source_tree(fresh_env, tmp_path, platform):
    has_cxx = any(shutil.which(c) for c in (os.environ.get("CXX") or "g++", "clang++"))
    if platform == "cuda-interpret" and not has_cxx:
        pytest.skip("cuda-interpret needs a host C++ compiler")
    py, site = fresh_env
    chosen = {} if platform == "default" else {"GPUXLA_PLATFORM": platform}
    env = _clean_env(**chosen, GPUXLA_CACHE_DIR=str(tmp_path / "cache"))
    r = subprocess.run([py, "-c", PROGRAM], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout)
    assert Path(out["file"]).is_relative_to(site), out["file"]
    assert Path(out["kernels"]).is_relative_to(site), out["kernels"]
    import numpy as np
    x = np.arange(4.0)
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(out["grad"], s * (1 - s), rtol=1e-6)
    assert out["vmap"] == [2.0, 2.0, 2.0]
    assert out["normal_shape"] == [5]
    # (no GPU here: the default is the native cpu platform, numpy without a compiler)
    assert out["backend"] == (platform if platform != "default" else "cpu" if has_cxx else "numpy")
    import gpuxla
    assert out["version"] == out["dist_version"] == gpuxla.__version__


def test_sdist_carries_what_its_tests_need(clean_tree, tmp_path):
    sdist = _build(clean_tree, "sdist", tmp_path)
    with tarfile.open(sdist) as t:
        names = {n.split("/", 1)[1] for n in t.getnames() if "/" in n}
    tracked = _tracked_files()
    needed = [p for p in tracked if p.startswith(("gpuxla/", "tests/")) or
              (p.startswith("bench/") and not p.startswith("bench/results/"))]
    missing = [p for p in needed if p not in names]
    assert not missing, missing[:20]
    assert {"pyproject.toml", "README.md", "LICENSE"} <= names


def test_metadata_has_one_home():
    assert not (ROOT / "setup.py").exists() and not (ROOT / "setup.cfg").exists()
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    project = meta["project"]
    assert project["dynamic"] == ["version"] and "version" not in project
    assert meta["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "gpuxla.__version__"}
    assert project["license"] == "Apache-2.0" and (ROOT / "LICENSE").read_text().lstrip().startswith("Apache License")
    extras = project["optional-dependencies"]
    assert extras["cuda"] == ["gpuxla[cuda13]"]
    assert any(r.startswith("cupy-cuda13x") for r in extras["cuda13"])
    assert any(r.startswith("cupy-cuda12x") for r in extras["cuda12"])
    for python in ("3.10", "3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in project["classifiers"]


def test_readme_links_resolve_inside_the_repository():
    import re
    text = (ROOT / "README.md").read_text()
    anchors = {re.sub(r"[^a-z0-9 -]", "", h.strip().lower()).replace(" ", "-")
               for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if target.startswith(("http://", "https://")):
            continue
        if target.startswith("#"):
            assert target[1:] in anchors, f"README links to a missing section {target}"
            continue
        path = (ROOT / target.split("#")[0]).resolve()
        assert path.is_relative_to(ROOT) and path.exists(), f"README link {target} does not resolve in the repository"
