# gpuxla benchmark image: CUDA runtime + gpuxla with its `cuda` and `bench` extras.
# The default command runs the benchmark (`python -m bench`); results land in
# /opt/gpuxla/bench/results (mount a folder there to keep them).
#
#   docker build -t gpuxla-bench .
#   docker run --rm --gpus all -v "$PWD/bench/results:/opt/gpuxla/bench/results" gpuxla-bench
#
# The CUDA major version of the base image matches CuPy's wheel in pyproject.toml (cupy-cuda13x):
# CUDA 13 needs a host driver of the R580 series or newer. Everything is installed at build
# time; running the image needs no network (NVRTC compiles gpuxla's kernels locally and the
# kernel cache lives in the container).
FROM nvidia/cuda:13.0.1-runtime-ubuntu24.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    MPLBACKEND=Agg \
    XLA_PYTHON_CLIENT_PREALLOCATE=false

RUN apt-get update \
    && apt-get install -y --no-install-recommends python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

# Ubuntu 24.04's Python is externally managed (PEP 668): install into a venv.
RUN python3 -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH

WORKDIR /opt/gpuxla
COPY . .
RUN pip install ".[cuda,bench]"

# Fail the build, not the first run, if a dependency is missing; build matplotlib's font cache
# now so the first run does not. (CuPy imports without a GPU; no device call is made here.)
RUN python -c "import gpuxla, gpuxla.numpy, cupy, cuda.bindings.nvrtc, matplotlib.pyplot" \
    && python -m bench --list

# Nothing may be fetched at run time.
ENV PIP_NO_INDEX=1

CMD ["python", "-m", "bench"]
