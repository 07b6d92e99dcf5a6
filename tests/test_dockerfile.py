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
    """Extras named in `pip install ".[a,b]"` or `pip install "<...>.whl)[a,b]"` (quoted or not)."""
    m = re.search(r"pip install\b[^\n]*?(?:\.|\.whl\)?)\[([A-Za-z0-9_,\- ]+)\][\"']?", command)
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


def stages(docker):
    """{stage name: [(INSTRUCTION, arguments)]}; the last (unnamed) stage is the image, ''."""
    out, name = {}, None
    for ins, args in docker:
        if ins == "FROM":
            m = re.fullmatch(r"(\S+)(?:\s+AS\s+(\S+))?", args, flags=re.I)
            name = m.group(2) or ""
            out[name] = [(ins, m.group(1))]
        else:
            out[name].append((ins, args))
    return out


def base_image(docker):
    st = stages(docker)
    image = st[""][0][1]
    while image in st:               # FROM <stage> chains down to the registry image
        image = st[image][0][1]
    return image


def requirements():
    return [line.strip() for line in read("docker/requirements-cuda13.txt").splitlines()
            if line.strip() and not line.startswith("#")]


def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def test_base_image_matches_cupy_cuda_major(docker, project):
    m = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.(\d+)-runtime-ubuntu(\d\d\.\d\d)", base_image(docker))
    assert m, f"expected an nvidia/cuda:X.Y.Z-runtime-ubuntuNN.NN base (a pinned patch version), got {base_image(docker)}"
    cuda = " ".join(project["optional-dependencies"]["cuda13"])
    cupy = re.search(r"cupy-cuda(\d+)x", cuda)
    assert cupy, f"pyproject.toml's cuda13 extra names no cupy-cudaNNx wheel: {cuda!r}"
    assert m.group(1) == cupy.group(1), (
        f"base image CUDA {m.group(1)} but CuPy wheel cupy-cuda{cupy.group(1)}x")


def test_image_installs_the_wheel_not_the_source_tree(docker):
    st = stages(docker)
    build = next(body for name, body in st.items() if name and any("pip wheel" in a for i, a in body if i == "RUN"))
    assert any(i == "COPY" and a.split()[0] == "gpuxla" for i, a in build), "the build stage copies the package"
    image = st[""]
    copied = [a.split() for i, a in image if i == "COPY"]
    sources = [w for words in copied for w in words[:-1] if not w.startswith("--")]
    assert "gpuxla" not in sources and "." not in sources, f"the image copies source: {copied}"
    assert any("--from=" in " ".join(words) for words in copied), "the image takes the wheel from the build stage"
    assert any(i == "RUN" and "python -m bench --list" in a and "/opt/venv/" in a for i, a in image), (
        "the build checks that gpuxla is imported from the installed wheel")


def test_install_line_uses_the_documented_extras(docker, project):
    installs = [extras_of(args) for ins, args in stages(docker)[""] if ins == "RUN" and extras_of(args)]
    assert len(installs) == 1, f"expected one `pip install <wheel>[extras]` line, got {installs}"
    image_extras = installs[0]
    documented = extras_of(readme_docker_section())
    assert documented, "README's Docker subsection shows no `pip install ...[extras]` line"
    assert image_extras == documented, (image_extras, documented)
    assert {"cuda", "bench"} <= image_extras
    assert image_extras <= defined_extras(project), (
        f"extras {image_extras - defined_extras(project)} are not in pyproject.toml")


def test_python_packages_are_pinned_and_cached_before_the_code(docker, project):
    reqs = requirements()
    assert all(re.fullmatch(r"[A-Za-z0-9_.\-]+==[0-9][^\s;]*", r) for r in reqs), reqs
    pinned = {norm(r.split("==")[0]) for r in reqs}
    extras = project["optional-dependencies"]
    wanted = project["dependencies"] + extras["cuda13"] + extras["bench"]
    names = {norm(re.split(r"[<>=!;\[ ]", r, maxsplit=1)[0]) for r in wanted}
    assert names <= pinned, f"not pinned in docker/requirements-cuda13.txt: {names - pinned}"
    image = stages(docker)[""]
    order = [(i, a) for i, a in image if i in ("COPY", "RUN")]
    dep_copy = next(k for k, (i, a) in enumerate(order) if i == "COPY" and "requirements-cuda13.txt" in a)
    dep_install = next(k for k, (i, a) in enumerate(order) if i == "RUN" and "--requirement" in a)
    wheel_copy = next(k for k, (i, a) in enumerate(order) if i == "COPY" and "--from=" in a)
    assert dep_copy < dep_install < wheel_copy, "dependencies must be installed before gpuxla's code arrives"
    wheel_install = next(a for i, a in order if i == "RUN" and extras_of(a))
    assert "--constraint /opt/requirements.txt" in wheel_install


def test_runs_as_a_non_root_user_with_a_kernel_cache_volume(docker):
    image = stages(docker)[""]
    users = [a for i, a in image if i == "USER"]
    assert users and users[-1] not in ("root", "0"), users
    env = " ".join(a for i, a in image if i == "ENV")
    cache = re.search(r"GPUXLA_CACHE_DIR=(\S+)", env).group(1)
    volumes = [v for i, a in image if i == "VOLUME" for v in json.loads(a)]
    assert cache in volumes
    assert cache in readme_docker_section(), "the README names the kernel-cache volume"
    assert "GPUXLA_EXPECT_GPU=1" in env, "the benchmark must warn when the image runs without a GPU"


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
    ubuntu = re.search(r"ubuntu(\d\d)\.(\d\d)", base_image(docker))
    system_python = {"22": (3, 10), "24": (3, 12)}[ubuntu.group(1)]
    need = re.search(r">=\s*(\d+)\.(\d+)", project["requires-python"])
    assert system_python >= (int(need.group(1)), int(need.group(2)))
    assert f"Python {system_python[0]}.{system_python[1]}" in read("docker/requirements-cuda13.txt")


def test_readme_documents_docker_run_with_gpus():
    section = readme_docker_section()
    assert re.search(r"docker run\b[^\n]*--gpus all", section)
    assert "docker build" in section


def test_dockerignore_keeps_the_context_small():
    ignored = {line.strip() for line in read(".dockerignore").splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".git", ".venv"} <= ignored
    assert not {"docker", "bench", "gpuxla"} & ignored, "the build needs these folders"


def test_parser_handles_continuations_and_comments():
    ins = instructions("# c\nFROM a:b\nRUN x \\\n  # inner\n  && pip install \".[p, q]\"\nCMD [\"y\"]\n")
    assert [i for i, _ in ins] == ["FROM", "RUN", "CMD"]
    assert extras_of(ins[1][1]) == {"p", "q"}
    assert extras_of('pip install -c r.txt "$(ls /d/gpuxla-*.whl)[cuda,bench]"') == {"cuda", "bench"}
