# gpuxla benchmark image: NVIDIA's CUDA runtime, gpuxla installed from its wheel with the `cuda`
# and `bench` extras, the benchmark harness, and nothing of the source tree. The default command
# runs the benchmark (`python -m bench`); results land in /opt/gpuxla/bench/results.
#
#   docker build -t gpuxla-bench .
#   docker run --rm --gpus all -v "$PWD/bench/results:/opt/gpuxla/bench/results" \
#       --user "$(id -u):$(id -g)" gpuxla-bench
#
# The CUDA major version of the base image matches CuPy's wheel in pyproject.toml's `cuda13` extra
# (cupy-cuda13x): CUDA 13 needs a host driver of the R580 series or newer. Everything is installed
# at build time; running the image needs no network (NVRTC compiles gpuxla's kernels locally, into
# the kernel-cache volume /var/cache/gpuxla).

# ---- base: Ubuntu 24.04's Python 3.12 in a venv (the system Python is externally managed, PEP 668)
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04 AS base

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

# ---- build: the wheel, from the package sources only
FROM base AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE MANIFEST.in ./
COPY gpuxla ./gpuxla
RUN pip wheel --no-deps --wheel-dir /dist .

# ---- the image
FROM base

# The pinned dependencies first, in their own layer: a change to gpuxla's code rebuilds only the
# layers below this one.
COPY docker/requirements-cuda13.txt /opt/requirements.txt
RUN pip install --requirement /opt/requirements.txt

# gpuxla from its wheel, its extras held to the same pins (nothing new is resolved here).
COPY --from=build /dist /tmp/dist
RUN pip install --constraint /opt/requirements.txt "$(ls /tmp/dist/gpuxla-*.whl)[cuda,bench]" \
    && rm -rf /tmp/dist

# A non-root user; the kernel cache is a volume that any user id can write (`docker run --user`),
# and the results folder belongs to that user.
RUN useradd --create-home --shell /usr/sbin/nologin gpuxla \
    && mkdir -p /var/cache/gpuxla /opt/gpuxla/bench/results \
    && chmod 1777 /var/cache/gpuxla \
    && chown -R gpuxla:gpuxla /opt/gpuxla
WORKDIR /opt/gpuxla
COPY --chown=gpuxla:gpuxla bench ./bench

# GPUXLA_EXPECT_GPU: the benchmark warns loudly when no GPU is visible (a run without --gpus).
ENV GPUXLA_CACHE_DIR=/var/cache/gpuxla \
    GPUXLA_EXPECT_GPU=1 \
    MPLBACKEND=Agg \
    MPLCONFIGDIR=/tmp/matplotlib \
    XLA_PYTHON_CLIENT_PREALLOCATE=false
VOLUME ["/var/cache/gpuxla"]
USER gpuxla

# Fail the build, not the first run, if a dependency is missing or gpuxla is imported from
# anywhere but the installed wheel; build matplotlib's font cache now so the first run does not.
# (CuPy imports without a GPU; no device call is made here.)
RUN python -c "import gpuxla, gpuxla.core, gpuxla.numpy, cupy, cuda.bindings.nvrtc, matplotlib.pyplot; \
assert gpuxla.__file__.startswith('/opt/venv/'), gpuxla.__file__" \
    && python -m bench --list

# Nothing may be fetched at run time.
ENV PIP_NO_INDEX=1

CMD ["python", "-m", "bench"]
