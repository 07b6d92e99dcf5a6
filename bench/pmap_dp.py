"""Data-parallel MLP step with pmap on N simulated host devices against N single-device steps.

    python -m bench.pmap_dp                     # N = 1, 2, 4, 8; per-device batch 128
    python -m bench.pmap_dp --devices 2 4 --batch 64 --repeats 20

The step is bench/workloads.py's SGD step of the 784-512-512-10 MLP with the gradients
averaged by `lax.pmean` (params replicated: in_axes None, out_axes None). For each N it prints
the median time of one pmap step over N devices, of N calls of the jitted single-device step on
the same per-device batches (the work pmap replaces), and their ratio (the overhead: splitting
the batch, the engine's all-reduce of the gradients, gathering the results; below 1 where the
devices' programs overlap on the thread pool), and of one jitted step on the whole N x batch.
"""
import argparse
import statistics
import time


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m bench.pmap_dp")
    p.add_argument("--devices", type=int, nargs="+", default=[1, 2, 4, 8])
    p.add_argument("--batch", type=int, default=128, help="examples per device")
    p.add_argument("--repeats", type=int, default=15)
    args = p.parse_args(argv)

    import gpuxla as jax
    import gpuxla.numpy as jnp
    from bench.workloads import mlp_batch, mlp_init, mlp_step

    jax.config.update("jax_num_cpu_devices", max(args.devices))
    step = mlp_step(jax, jnp)
    one = jax.jit(step)

    def dp_step(params, x, y):
        grads = jax.lax.pmean(jax.grad(lambda p: _loss(jnp, p, x, y))(params), "d")
        return [(w - 0.01 * gw, b - 0.01 * gb) for (w, b), (gw, gb) in zip(params, grads)]
    dp = jax.pmap(dp_step, axis_name="d", in_axes=(None, 0, 0), out_axes=None)
    params = [tuple(jnp.asarray(a) for a in layer) for layer in mlp_init()]

    def timed(*fs):
        """Each f's fastest and median time, the fs interleaved so that load on a shared machine
        falls on all of them alike."""
        for f in fs:
            f()
        ts = [[] for _ in fs]
        for _ in range(args.repeats):
            for f, t in zip(fs, ts):
                t0 = time.perf_counter()
                f()
                t.append(time.perf_counter() - t0)
        return [(min(t), statistics.median(t)) for t in ts]

    print(f"platform {jax.default_backend()}, per-device batch {args.batch}; fastest (median) of {args.repeats}")
    print(f"{'N':>3} {'pmap step':>20} {'N x jit step':>20} {'ratio':>13} {'jit on N x batch':>20}")
    for n in args.devices:
        x, y = mlp_batch(n * args.batch)
        xs, ys = x.reshape(n, args.batch, -1), y.reshape(n, args.batch, -1)
        xj, yj = jnp.asarray(xs), jnp.asarray(ys)
        shards = [(jnp.asarray(xs[i]), jnp.asarray(ys[i])) for i in range(n)]
        whole = (jnp.asarray(x), jnp.asarray(y))
        t_dp, t_loop, t_whole = timed(lambda: jax.block_until_ready(dp(params, xj, yj)),
                                      lambda: jax.block_until_ready([one(params, a, b) for a, b in shards]),
                                      lambda: jax.block_until_ready(one(params, *whole)))
        ms = lambda t: f"{t[0] * 1e3:.1f} ({t[1] * 1e3:.1f}) ms"
        ratio = f"{t_dp[0] / t_loop[0]:.2f}x ({t_dp[1] / t_loop[1]:.2f}x)"
        print(f"{n:>3} {ms(t_dp):>20} {ms(t_loop):>20} {ratio:>13} {ms(t_whole):>20}")


def _loss(jnp, params, x, y):
    from bench.workloads import mlp_loss
    return mlp_loss(jnp, params, x, y)


if __name__ == "__main__":
    main()
