"""`python -m bench --kernels`: the static roofline of every chosen workload's gpuxla `jit`
program (gpuxla/compiler/roofline.py), per fused kernel and library call: launch shape, bytes it
must move, the reads of each row, the estimated share of the bandwidth it can reach, flops,
transcendentals, and with --bandwidth the time those bytes take at that rate (the floor a kernel can
reach). Nothing is timed: this runs the same on any machine."""
from . import workloads as W


def main(chosen, quick, bandwidth_gbs=None, out=print):
    import gpuxla
    import gpuxla.numpy as gnp
    from gpuxla.compiler import roofline

    bandwidth = bandwidth_gbs * 1e9 if bandwidth_gbs else None
    for w in chosen:
        for size in w.sizes_for(quick):
            spec = w.make(size)
            if spec.jax is None or spec.mode != "call":
                continue
            fn, args = W._unpack(spec.jax(gpuxla, gnp), spec.args)
            args = W.tree_map(gnp.asarray, args)
            # The CUDA kernels' figures: the active platform's when it is a GPU, else the static
            # report of the numpy platform (fusion and CUDA rendering, nothing compiled).
            on = None if gpuxla.default_backend() == "gpu" else "numpy"
            report = gpuxla.jit(fn).lower(*args).compile(platform=on).kernel_report()
            t = roofline.totals(report)
            out(f"\n{w.name} {w.label(size)}: {len(report)} step(s), {t['bytes accessed'] / 1e6:.3f} MB moved, "
                f"{t['flops'] / 1e6:.3f} MFLOP, {t['transcendentals'] / 1e6:.3f} M transcendentals")
            out(roofline.table(report, bandwidth))
    return 0
