"""The done-when programs of issue #10, written for JAX and run unchanged on gpuxla (the module
objects `jax`, `jnp` are parameters): an MLP with jax.nn and initializers, a CNN layer with
lax.conv_general_dilated and pooling, logistic regression with scipy.special.expit, Gaussian-
process regression with linalg.cholesky/solve, and spectral filtering with fft. Their numbers
are compared with JAX 0.10.2's (CPU, float32), baked below."""
import numpy as np
import pytest

import gpuxla
import gpuxla.numpy as gnp


def mlp(jax, jnp):
    """A 2-layer MLP classifier: nn.initializers, relu, log_softmax, one_hot, jit(grad), SGD."""
    init_w, init_b = jax.nn.initializers.glorot_normal(), jax.nn.initializers.zeros
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(0), 3)
    params = [(init_w(k1, (4, 16)), init_b(k1, (16,))), (init_w(k2, (16, 3)), init_b(k2, (3,)))]
    x = jax.random.normal(k3, (32, 4))
    y = jnp.argmax(x[:, :3] + 0.5 * x[:, 3:], axis=1)

    def loss(params, x, y):
        h = x
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w + b)
        w, b = params[-1]
        logp = jax.nn.log_softmax(h @ w + b)
        return -jnp.mean(jnp.sum(jax.nn.one_hot(y, 3) * logp, axis=-1))

    step = jax.jit(lambda p, x, y: jax.tree_util.tree_map(lambda a, g: a - 0.5 * g, p, jax.grad(loss)(p, x, y)))
    losses = []
    for _ in range(5):
        losses.append(float(loss(params, x, y)))
        params = step(params, x, y)
    return {"losses": losses, "w1": np.asarray(params[0][0][:2, :4]).tolist(), "b2": np.asarray(params[1][1]).tolist()}


def cnn(jax, jnp):
    """A conv layer + max pool + avg pool + dense head, NHWC, its loss and gradients."""
    lax = jax.lax
    k1, k2, k3 = jax.random.split(jax.random.PRNGKey(1), 3)
    x = jax.random.normal(k1, (2, 8, 8, 3))
    w = jax.nn.initializers.he_normal()(k2, (3, 3, 3, 4))
    dense = jax.nn.initializers.lecun_normal()(k3, (4, 2))

    def forward(w, dense, x):
        h = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC"))
        h = jax.nn.relu(h)
        h = lax.reduce_window(h, -jnp.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
        h = lax.reduce_window(h, 0.0, lax.add, (1, 2, 2, 1), (1, 2, 2, 1), "VALID") / 4.0
        h = jnp.mean(h, axis=(1, 2))
        return h @ dense

    def loss(w, dense):
        return jnp.mean((forward(w, dense, x) - jnp.array([[1.0, -1.0], [0.5, 0.25]])) ** 2)

    l, (gw, gd) = jax.value_and_grad(loss, argnums=(0, 1))(w, dense)
    out = forward(w, dense, x)
    return {"out": np.asarray(out).tolist(), "loss": float(l), "gw": np.asarray(gw[:, :, 0, 0]).tolist(),
            "gd": np.asarray(gd).tolist()}


def logreg(jax, jnp):
    """Logistic regression with scipy.special.expit, trained by gradient descent under jit."""
    from_special = jax.scipy.special
    kx, kw = jax.random.split(jax.random.PRNGKey(2))
    X = jax.random.normal(kx, (64, 3))
    true_w = jnp.array([1.5, -2.0, 0.5])
    y = (from_special.expit(X @ true_w + 0.3) > 0.5).astype(jnp.float32)

    def nll(params):
        w, b = params
        p = from_special.expit(X @ w + b)
        return -jnp.mean(from_special.xlogy(y, p) + from_special.xlog1py(1 - y, -p))

    params = (jnp.zeros(3), 0.0)
    update = jax.jit(lambda p: jax.tree_util.tree_map(lambda a, g: a - 1.0 * g, p, jax.grad(nll)(p)))
    hist = []
    for i in range(30):
        if i % 10 == 0:
            hist.append(float(nll(params)))
        params = update(params)
    return {"nll": hist, "w": np.asarray(params[0]).tolist(), "b": float(params[1]),
            "logsumexp": float(from_special.logsumexp(X[:, 0]))}


def gp(jax, jnp):
    """Gaussian-process regression: RBF kernel, Cholesky, triangular solves, the log marginal
    likelihood and its gradient with respect to the hyperparameters, predictive mean and var."""
    L_ = jnp.linalg
    x = jnp.linspace(-3.0, 3.0, 12)
    y = jnp.sin(x) + 0.1 * jnp.cos(3 * x)
    xs = jnp.array([-2.5, 0.1, 1.7])

    def kernel(a, b, ls, amp):
        d = a[:, None] - b[None, :]
        return amp ** 2 * jnp.exp(-0.5 * (d / ls) ** 2)

    def nlml(theta):
        ls, amp, noise = jnp.exp(theta)
        K = kernel(x, x, ls, amp) + (noise ** 2 + 1e-6) * jnp.eye(x.shape[0])
        L = L_.cholesky(K)
        alpha = jax.scipy.linalg.cho_solve((L, True), y)
        return 0.5 * y @ alpha + jnp.sum(jnp.log(jnp.diag(L))) + 0.5 * x.shape[0] * jnp.log(2 * jnp.pi)

    theta = jnp.log(jnp.array([1.0, 1.0, 0.1]))
    val, g = jax.value_and_grad(nlml)(theta)
    ls, amp, noise = jnp.exp(theta)
    K = kernel(x, x, ls, amp) + noise ** 2 * jnp.eye(x.shape[0])
    Ks = kernel(xs, x, ls, amp)
    mean = Ks @ L_.solve(K, y)
    var = amp ** 2 - jnp.sum(Ks * L_.solve(K, Ks.T).T, axis=1)
    sign, logdet = L_.slogdet(K)
    return {"nlml": float(val), "grad": np.asarray(g).tolist(), "mean": np.asarray(mean).tolist(),
            "var": np.asarray(var).tolist(), "logdet": float(logdet), "sign": float(sign)}


def spectral(jax, jnp):
    """Low-pass filtering through rfft/irfft, a spectrum, and the gradient of a spectral loss."""
    n = 64
    t = jnp.arange(n) / n
    key = jax.random.PRNGKey(3)
    signal = jnp.sin(2 * jnp.pi * 3 * t) + 0.5 * jnp.sin(2 * jnp.pi * 17 * t) + 0.2 * jax.random.normal(key, (n,))
    freqs = jnp.fft.rfftfreq(n, 1.0 / n)
    X = jnp.fft.rfft(signal)
    filtered = jnp.fft.irfft(jnp.where(freqs < 8, X, 0), n)
    power = jnp.abs(X) ** 2 / n

    def loss(s):
        S = jnp.fft.rfft(s)
        return jnp.sum(jnp.abs(S[8:]) ** 2) / n + jnp.sum(jnp.real(jnp.fft.ifft(jnp.fft.fft(s) * 0.5)) ** 2)

    g = jax.grad(loss)(signal)
    peak = int(jnp.argmax(power[1:]) + 1)
    return {"filtered": np.asarray(filtered[:8]).tolist(), "power_peak": peak, "power": np.asarray(power[:6]).tolist(),
            "grad": np.asarray(g[:6]).tolist(), "loss": float(loss(signal))}


PROGRAMS = {"mlp": mlp, "cnn": cnn, "logreg": logreg, "gp": gp, "spectral": spectral}

# JAX 0.10.2's results of the same source (`PROGRAMS[name](jax, jax.numpy)`)
JAX = {'mlp': {'losses': [1.3279379606246948, 0.9994897246360779, 0.8218858242034912, 0.7009455561637878, 0.6140872240066528], 'w1': [[0.18700242042541504, -0.30475032329559326, -0.20121464133262634, -0.3210587203502655], [0.12050509452819824, -0.1630576103925705, 0.4097745418548584, -0.10091892629861832]], 'b2': [-0.14073824882507324, 0.01835061050951481, 0.12238763272762299]}, 'cnn': {'out': [[-0.06747584044933319, 0.6654661297798157], [-0.08222635835409164, 0.6472224593162537]], 'loss': 1.1025137901306152, 'gw': [[0.028444593772292137, -0.021012531593441963, 0.1069304347038269], [0.006163131911307573, -0.1832946240901947, -0.08930777758359909], [-0.0938148945569992, -0.016853971406817436, 0.10402941703796387]], 'gd': [[-1.1505730152130127, 1.4566806554794312], [-1.1118935346603394, 1.4328126907348633], [-1.1622898578643799, 1.4506992101669312], [-1.3998119831085205, 1.7880895137786865]]}, 'logreg': {'nll': [0.6931474804878235, 0.2702276110649109, 0.20806840062141418], 'w': [1.561173915863037, -2.6909372806549072, 0.7929835319519043], 'b': 0.43668144941329956, 'logsumexp': 4.750797271728516}, 'gp': {'nlml': 1.920419692993164, 'grad': [-7.962250232696533, 5.15626859664917, 3.60806941986084], 'mean': [-0.5357974767684937, 0.17661994695663452, 1.0179346799850464], 'var': [0.007157564163208008, 0.006015598773956299, 0.006177067756652832], 'logdet': -21.44936752319336, 'sign': 1.0}, 'spectral': {'filtered': [0.05813886970281601, 0.33964404463768005, 0.6040446758270264, 0.8234388828277588, 0.9681694507598877, 1.0148283243179321, 0.9542096853256226, 0.7954897284507751], 'power_peak': 3, 'power': [0.004662468098104, 0.03158179670572281, 0.015132474713027477, 14.622342109680176, 0.0006398539408110082, 0.08530986309051514], 'grad': [-0.4833921194076538, 1.2953619956970215, 0.2063688039779663, 0.20095810294151306, 0.5369856953620911, 1.1935904026031494], 'loss': 15.998210906982422}}


def _compare(got, want, path):
    if isinstance(want, dict):
        assert set(got) == set(want), path
        for k in want:
            _compare(got[k], want[k], f"{path}.{k}")
    elif isinstance(want, int) and not isinstance(want, bool):
        assert got == want, path
    else:
        np.testing.assert_allclose(np.asarray(got, np.float64), np.asarray(want, np.float64), rtol=3e-5, atol=2e-6,
                                   err_msg=path)


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_matches_jax(name):
    _compare(PROGRAMS[name](gpuxla, gnp), JAX[name], name)
