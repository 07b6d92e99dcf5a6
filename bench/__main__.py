"""`python -m bench`: time every workload on gpuxla (eager and jit), NumPy, and JAX/CuPy when
installed; print a table; write JSON lines and a speed-up chart to bench/results/.

    python -m bench --quick                  # < 1 minute on 2 CPU cores, reduced sizes
    python -m bench --only selu,softmax      # substring match on workload names
    python -m bench --platform cuda          # sets GPUXLA_PLATFORM before gpuxla is imported
    python -m bench --kernels --quick        # per-kernel roofline of each workload (static without a GPU)
    python -m bench --host-overhead          # gpuxla's host µs per cached call on the cuda path,
                                             # device work stubbed (runs anywhere; bench/host_overhead.py)
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true",
                   help="smaller sizes and fewer repeats (under a minute on 2 CPU cores)")
    p.add_argument("--only", action="append", default=[], metavar="NAME",
                   help="run workloads whose name contains NAME (repeatable, or a comma list)")
    p.add_argument("--impl", action="append", default=[], metavar="NAME",
                   help="run only implementations whose name contains NAME (numpy always runs, "
                        "as the baseline); e.g. --impl gpuxla-jit")
    p.add_argument("--no-jax", action="store_true", help="do not compare with JAX")
    p.add_argument("--no-cupy", action="store_true", help="do not compare with CuPy")
    p.add_argument("--platform", choices=["cuda", "cpu", "cuda-interpret", "numpy"],
                   help="gpuxla platform (exported as GPUXLA_PLATFORM before gpuxla is imported)")
    p.add_argument("--out", default=os.path.join(HERE, "results"), metavar="DIR",
                   help="where <host>-<date>.jsonl and .png go (default: bench/results)")
    p.add_argument("--tag", default="", help="append -TAG to the result file names "
                   "(<host>-<date>-TAG.jsonl), e.g. to keep CPU and GPU runs apart")
    p.add_argument("--no-save", action="store_true", help="print the table only")
    p.add_argument("--markdown", action="store_true", help="print the table as Markdown too")
    p.add_argument("--threads", type=int, default=None, metavar="N",
                   help="BLAS/OpenMP threads for NumPy and gpuxla's NumPy backend "
                        "(sets OPENBLAS/OMP/MKL_NUM_THREADS before NumPy loads); "
                        "--threads 1 steadies CPU timings on a busy host")
    p.add_argument("--jax-threads", type=int, default=None, metavar="N",
                   help="limit JAX's XLA:CPU to N threads as well (XLA_FLAGS: no multi-threaded Eigen, "
                        "intra_op_parallelism_threads=N); --threads alone leaves JAX on every core")
    p.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                   help="cpu: time each call by the process's CPU time (every thread's, summed) instead of "
                        "the wall clock: steady on a busy host, where other processes take the cores; "
                        "compare libraries so on equal threads (--threads 1 --jax-threads 1)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="give up on one measurement after S seconds (default 10 with --quick, else 300)")
    p.add_argument("--list", action="store_true", help="list workloads and exit")
    p.add_argument("--kernels", action="store_true",
                   help="print the roofline of each workload's jit program, per fused kernel and library "
                        "call (launch shape, bytes moved, flops): measured on a GPU and with --platform cpu, "
                        "else the CUDA kernels' static figures")
    p.add_argument("--bandwidth", type=float, default=None, metavar="GB/S",
                   help="with --kernels: also print each step's time at this memory bandwidth")
    p.add_argument("--host-overhead", action="store_true",
                   help="measure gpuxla's host time per cached jit call on the cuda platform over the fake "
                        "device of tests/fake_cupy.py (no GPU needed); --only filters its workloads")
    p.add_argument("--report", metavar="FILE.jsonl",
                   help="measure nothing: print the table of the last run in FILE (with "
                        "--markdown, as Markdown) and redraw its chart as FILE.png")
    p.add_argument("-v", "--verbose", action="store_true", help="print tracebacks of errors")
    # Hidden: run the gpuxla rows on another JAX-like library (to exercise the harness before
    # gpuxla can run every workload). Only "jax" is supported.
    p.add_argument("--as-gpuxla", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    # The cpu platform's rows measure its native kernels: every program is built before its first
    # call, instead of running on NumPy until hot (tiered), so warm-up calls reach the steady state.
    # (Restored after: tests call main() in their own process.)
    saved = os.environ.get("GPUXLA_CPU_TIERED")
    os.environ.setdefault("GPUXLA_CPU_TIERED", "0")
    try:
        return _main(argv)
    finally:
        if saved is None:
            os.environ.pop("GPUXLA_CPU_TIERED", None)


def _main(argv=None) -> int:
    args = parse_args(argv)
    if args.platform:
        os.environ["GPUXLA_PLATFORM"] = args.platform
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # JAX shares the GPU
    if args.threads:
        if "numpy" in sys.modules:
            print("note: NumPy was loaded before --threads could apply", file=sys.stderr)
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
    if args.jax_threads:
        if "jax" in sys.modules:
            print("note: JAX was loaded before --jax-threads could apply", file=sys.stderr)
        os.environ["XLA_FLAGS"] = " ".join(
            [os.environ.get("XLA_FLAGS", ""), "--xla_cpu_multi_thread_eigen=false",
             f"intra_op_parallelism_threads={args.jax_threads}"]).strip()

    from . import harness, workloads as W

    if args.host_overhead:
        from . import host_overhead
        only = [p.strip() for item in args.only for p in item.split(",") if p.strip()]
        return host_overhead.main(out=args.out, save=not args.no_save, only=only)
    if args.report:
        return report(args, harness)
    chosen = W.select(W.WORKLOADS, args.only)
    if args.list:
        for w in W.WORKLOADS:
            sizes = ", ".join(map(w.label, w.sizes))
            quick = ", ".join(map(w.label, w.quick_sizes))
            print(f"{w.name:20s} {w.doc}\n{'':20s} sizes: {sizes}; --quick: {quick}")
        return 0
    if not chosen:
        print(f"no workload matches --only {args.only}; see --list", file=sys.stderr)
        return 2
    if args.kernels:
        from . import kernels
        return kernels.main(chosen, args.quick, args.bandwidth, measure_cpu=args.platform == "cpu")

    t_start = time.perf_counter()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores = os.cpu_count() or 1
    backends = W.make_backends(jax=not args.no_jax, cupy=not args.no_cupy,
                               as_gpuxla=args.as_gpuxla)
    notes = []
    usable = []
    for b in backends:
        why = W.available(b)
        if why is None:
            usable.append(b)
        else:
            notes.append(f"{b.name} left out: {why}")
    if args.quick:
        reduced = [f"{w.name} {', '.join(map(w.label, w.quick_sizes))} (full: "
                   f"{', '.join(map(w.label, w.sizes))})"
                   for w in chosen if tuple(w.quick_sizes) != tuple(w.sizes)]
        notes.insert(0, "--quick: fewer repeats" + (
            "; reduced sizes for " + "; ".join(reduced) if reduced else ""))
    if args.as_gpuxla:
        notes.insert(0, f"the gpuxla rows run {args.as_gpuxla} standing in for gpuxla "
                        f"(--as-gpuxla={args.as_gpuxla}): not gpuxla's numbers")
    gx_version = W.gpuxla_version(args.as_gpuxla)
    if args.threads:
        notes.append(f"--threads {args.threads}: BLAS/OpenMP limited to {args.threads} "
                     f"thread(s) for NumPy and gpuxla alike" + ("" if args.jax_threads else
                                                                  "; JAX uses every core"))
    if args.clock == "cpu":
        notes.append("--clock cpu: times are the process's CPU time per call (all its threads), not wall time")
    if args.jax_threads:
        notes.append(f"--jax-threads {args.jax_threads}: JAX's XLA:CPU limited to {args.jax_threads} thread(s)")
    if load is not None and load > 0.5 * cores:
        notes.append(f"the host was busy when the run started (load average {load:.1f} on "
                     f"{cores} cores): expect noisy CPU timings")

    platform, warning = platform_report()
    if warning:
        notes.insert(0, warning)
        print(warning, file=sys.stderr)

    cases = W.make_cases(chosen, usable, quick=args.quick, impls=args.impl)
    cfg = harness.TimingConfig.quick() if args.quick else harness.TimingConfig()
    timeout = args.timeout if args.timeout is not None else (10.0 if args.quick else 300.0)
    print(f"gpuxla benchmark: {len(cases)} measurements "
          f"({'quick' if args.quick else 'full'}; gpuxla platform {platform or '?'}, GPUXLA_PLATFORM="
          f"{os.environ.get('GPUXLA_PLATFORM', 'unset')}; gpuxla {gx_version or 'not importable'})",
          file=sys.stderr)
    clock = time.process_time if args.clock == "cpu" else time.perf_counter
    results = harness.run_cases(cases, cfg, timeout_s=timeout, verbose_errors=args.verbose, clock=clock)

    platforms = sorted({r.info.get("platform") for r in results
                        if r.impl.startswith("gpuxla") and r.info.get("platform")})
    title = (f"gpuxla {gx_version or '(not importable)'} vs NumPy"
             f" — platform {', '.join(platforms) or os.environ.get('GPUXLA_PLATFORM', 'default')}"
             f", {'quick' if args.quick else 'full'} run, median of repeats")
    extra = {"loadavg": round(load, 2) if load is not None else None, "cpu_count": cores,
             "blas_threads": args.threads, "jax_threads": args.jax_threads, "clock": args.clock}
    if args.as_gpuxla:
        extra["as_gpuxla"] = args.as_gpuxla
    meta = harness.run_meta(quick=args.quick, gpuxla_version=gx_version, extra=extra)
    elapsed = time.perf_counter() - t_start
    notes.append(f"wall time {elapsed:.1f}s; times are per call after warm-up, device synced; "
                 "compile = first call minus median")
    print()
    print(harness.render_table(results, title=title, notes=notes))
    bandwidth = harness.render_bandwidth(results)
    if bandwidth:
        print(bandwidth)
    if args.markdown:
        print(harness.render_table(results, title=title, notes=notes, markdown=True))
    if not args.no_save:
        stem = harness.default_stem(tag=args.tag)
        path = harness.write_jsonl(results, os.path.join(args.out, stem + ".jsonl"), meta=meta)
        print(f"results: {os.path.relpath(path)}")
        png = harness.write_chart(results, os.path.join(args.out, stem + ".png"), title=title)
        if png:
            print(f"chart:   {os.path.relpath(png)}")
    return 0


def platform_report():
    """(the platform gpuxla runs on, a warning or None). The warning is for a run that expected a
    GPU and silently got the CPU: CuPy installed (the `cuda` extra) or GPUXLA_EXPECT_GPU=1 (the
    Docker image sets it), yet no CUDA device visible, e.g. `docker run` without `--gpus all`.
    An explicit GPUXLA_PLATFORM / --platform is the user's choice and gets no warning."""
    try:
        from gpuxla.backends import get_backend
        platform = get_backend().platform
    except Exception as e:           # the gpuxla rows will show the error themselves
        return None, f"WARNING: gpuxla could not choose a platform: {type(e).__name__}: {e}"
    expect_gpu = (os.environ.get("GPUXLA_EXPECT_GPU", "") not in ("", "0")
                  or importlib.util.find_spec("cupy") is not None)
    if platform != "cuda" and expect_gpu and not os.environ.get("GPUXLA_PLATFORM"):
        return platform, (f"WARNING: no CUDA GPU is visible, so gpuxla runs on its '{platform}' CPU platform "
                          "and these are CPU numbers. In Docker, run the image with `--gpus all`; "
                          "set GPUXLA_PLATFORM to choose a platform on purpose.")
    return platform, None


def report(args, harness) -> int:
    results, meta = harness.load_jsonl(args.report)
    platforms = sorted({r.info.get("platform") for r in results
                        if r.impl.startswith("gpuxla") and r.info.get("platform")})
    devices = sorted({r.info.get("device") for r in results
                      if r.impl.startswith("gpuxla") and r.info.get("device")})
    title = (f"gpuxla {meta.get('gpuxla_version')} vs NumPy {meta.get('numpy_version')} — "
             f"platform {', '.join(platforms) or '?'} ({', '.join(devices) or '?'}), "
             f"{'quick' if meta.get('quick') else 'full'} run {meta.get('timestamp')}")
    print(harness.render_table(results, title=title, markdown=args.markdown))
    print(harness.render_bandwidth(results), end="")
    if not args.no_save:
        png = harness.write_chart(results, os.path.splitext(args.report)[0] + ".png", title=title)
        if png:
            print(f"chart: {os.path.relpath(png)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
