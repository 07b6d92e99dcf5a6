"""The Dockerfile, checked without a Docker engine: its base image matches CuPy's CUDA major
version, its install line uses the extras the README documents and pyproject.toml defines, and its
default command is the benchmark (needing no network at run time)."""
import json
import os
import re

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def instructions(text):
    """[(INSTRUCTION, arguments)] with line continuations joined and comments dropped."""
    out, buf = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue  # comment inside a continued instruction
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        word, _, rest = buf.strip().partition(" ")
        out.append((word.upper(), rest.strip()))
        buf = ""
    assert not buf, "Dockerfile ends inside a continued line"
    return out


def extras_of(command):
    """Extras named in `pip install ".[a,b]"` (quoted or not)."""
    m = re.search(r"pip install\b[^\n]*?[\"']?\.\[([A-Za-z0-9_,\- ]+)\][\"']?", command)
    return None if m is None else {e.strip() for e in m.group(1).split(",") if e.strip()}


@pytest.fixture(scope="module")
def docker():
    return instructions(read("Dockerfile"))


@pytest.fixture(scope="module")
def project():
    return tomllib.loads(read("pyproject.toml"))["project"]


def readme_docker_section():
    text = read("README.md")
    m = re.search(r"^## Benchmarks\b.*", text, flags=re.M | re.S)
    assert m, "README.md has no '## Benchmarks' section"
    bench = m.group(0)
    m = re.search(r"^### Docker\b(.*?)(?=^## |^### |\Z)", bench, flags=re.M | re.S)
    assert m, "README.md's Benchmarks section has no '### Docker' subsection"
    return m.group(1)


def defined_extras(project):
    return set(project["optional-dependencies"])


def test_base_image_matches_cupy_cuda_major(docker, project):
    froms = [args for ins, args in docker if ins == "FROM"]
    assert len(froms) == 1, froms
    m = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.(\d+)-runtime-ubuntu(\d\d\.\d\d)", froms[0])
    assert m, f"expected an nvidia/cuda:X.Y.Z-runtime-ubuntuNN.NN base, got {froms[0]}"
    cuda = " ".join(project["optional-dependencies"]["cuda13"])
    cupy = re.search(r"cupy-cuda(\d+)x", cuda)
    assert cupy, f"pyproject.toml's cuda extra names no cupy-cudaNNx wheel: {cuda!r}"
    assert m.group(1) == cupy.group(1), (
        f"base image CUDA {m.group(1)} but CuPy wheel cupy-cuda{cupy.group(1)}x")


def test_install_line_uses_the_documented_extras(docker, project):
    installs = [extras_of(args) for ins, args in docker if ins == "RUN" and extras_of(args)]
    assert len(installs) == 1, f"expected one `pip install .[extras]` line, got {installs}"
    image_extras = installs[0]
    documented = extras_of(readme_docker_section())
    assert documented, "README's Docker subsection shows no `pip install \".[...]\"` line"
    assert image_extras == documented, (image_extras, documented)
    assert {"cuda", "bench"} <= image_extras
    assert image_extras <= defined_extras(project), (
        f"extras {image_extras - defined_extras(project)} are not in pyproject.toml")


def test_default_command_is_the_benchmark(docker):
    cmds = [args for ins, args in docker if ins == "CMD"]
    assert len(cmds) == 1
    assert json.loads(cmds[-1]) == ["python", "-m", "bench"]  # exec form
    assert not [a for ins, a in docker if ins == "ENTRYPOINT"]


def test_nothing_is_fetched_at_run_time(docker):
    run_time = " ".join(args for ins, args in docker if ins in ("CMD", "ENTRYPOINT"))
    for word in ("pip", "apt", "curl", "wget", "git"):
        assert word not in run_time.split(), f"{word} in the run-time command"
    env = " ".join(args for ins, args in docker if ins == "ENV")
    assert "PIP_NO_INDEX=1" in env


def test_python_in_image_satisfies_python_requires(docker, project):
    ubuntu = re.search(r"ubuntu(\d\d)\.(\d\d)", [a for i, a in docker if i == "FROM"][0])
    system_python = {"22": (3, 10), "24": (3, 12)}[ubuntu.group(1)]
    need = re.search(r">=\s*(\d+)\.(\d+)", project["requires-python"])
    assert system_python >= (int(need.group(1)), int(need.group(2)))


def test_readme_documents_docker_run_with_gpus():
    section = readme_docker_section()
    assert re.search(r"docker run\b[^\n]*--gpus all", section)
    assert "docker build" in section


def test_dockerignore_keeps_the_context_small():
    ignored = {line.strip() for line in read(".dockerignore").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv"} <= ignored


def test_parser_handles_continuations_and_comments():
    ins = instructions("# c\nFROM a:b\nRUN x \\\n  # inner\n  && pip install \".[p, q]\"\nCMD [\"y\"]\n")
    assert [i for i, _ in ins] == ["FROM", "RUN", "CMD"]
    assert extras_of(ins[1][1]) == {"p", "q"}
