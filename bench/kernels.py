"""`python -m bench --kernels`: the static roofline of every chosen workload's gpuxla `jit`
program (gpuxla/compiler/roofline.py), per fused kernel and library call: launch shape, bytes it
must move, the reads of each row, the estimated share of the bandwidth it can reach, flops,
transcendentals, and with --bandwidth the time those bytes take at that rate (the floor a kernel can
reach). On the cuda and cpu platforms each step is also run and timed (Compiled.profile_kernels:
CUDA events on a GPU, the host clock on cpu): its median time, the GB/s its bytes take at that
time and the share of the device's copy bandwidth that is. Elsewhere nothing is timed."""
from . import workloads as W


def main(chosen, quick, bandwidth_gbs=None, out=print, repeats=20, measure_cpu=False):
    """Measured rows on the cuda platform, and on cpu when asked for (`--platform cpu`: its own C++
    kernels, wall time); otherwise -- a host without a GPU by default -- the CUDA kernels' static
    report, which is what tells how the GPU code would do."""
    import gpuxla
    import gpuxla.numpy as gnp
    from gpuxla.backends import get_backend
    from gpuxla.compiler import roofline

    bandwidth = bandwidth_gbs * 1e9 if bandwidth_gbs else None
    platform = get_backend().platform
    measure = platform == "cuda" or (platform == "cpu" and measure_cpu)
    copy_said = False
    for w in chosen:
        for size in w.sizes_for(quick):
            spec = w.make(size)
            if spec.jax is None or spec.mode != "call":
                continue
            fn, args = W._unpack(spec.jax(gpuxla, gnp), spec.args)
            args = W.tree_map(gnp.asarray, args)
            # The CUDA kernels' figures: the active platform's when it is a GPU, else the static
            # report of the numpy platform (fusion and CUDA rendering, nothing compiled).
            # Measured: the active platform's own executable (the cpu platform's C++ kernels).
            on = None if measure or gpuxla.default_backend() == "gpu" else "numpy"
            compiled = gpuxla.jit(fn).lower(*args).compile(platform=on)
            report = None
            if measure:
                try:
                    report = compiled.profile_kernels(*args, repeats=repeats)
                except NotImplementedError as e:    # (the cpu platform fell back to NumPy: no compiler)
                    out(f"(not measured: {e})")
                    measure = False
                else:
                    if not copy_said:
                        out(f"copy bandwidth of this {get_backend().platform} device (read + written): "
                            f"{report[0]['copy_gbs']:.1f} GB/s")
                        copy_said = True
            if report is None:
                report = compiled.kernel_report()
            t = roofline.totals(report)
            out(f"\n{w.name} {w.label(size)}: {len(report)} step(s), {t['bytes accessed'] / 1e6:.3f} MB moved, "
                f"{t['flops'] / 1e6:.3f} MFLOP, {t['transcendentals'] / 1e6:.3f} M transcendentals")
            out(roofline.table(report, bandwidth))
    return 0
