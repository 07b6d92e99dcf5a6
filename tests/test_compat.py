"""Running JAX code on gpuxla (#21): `gpuxla.compat.install_jax_aliases`, `python -m gpuxla`, and
optax through the aliases. Each JAX-aliased run is a subprocess, so the `jax` module name never
changes meaning inside the suite (and a real JAX, which optax's install brings along, is never
imported).

Optimizer results are checked against the same training loop written by hand with NumPy
(float64), following optax's documented update rules."""
import json
import os
import pathlib
import subprocess
import sys

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
DATA = pathlib.Path(__file__).resolve().parent / "data" / "compat"


def run_gpuxla(args, tmp_path, input_script=None):
    """`python -m gpuxla ARGS` from a folder outside the checkout; returns stdout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=tmp_path, env=env,
                         timeout=300)
    assert out.returncode == 0, f"exit {out.returncode}\nstdout:\n{out.stdout}\nstderr:\n{out.stderr}"
    return out.stdout


SCRIPT = r'''
import sys
import json
import numpy as np
import jax
import jax.numpy as jnp
from jax import lax, random
from jax.tree_util import DictKey, SequenceKey, keystr, tree_flatten_with_path
from jax.flatten_util import ravel_pytree
from jax.example_libraries import optimizers, stax
import jax.scipy.special

out = {"argv": sys.argv, "name": __name__, "version": jax.__version__}
x = jnp.asarray(json.loads(sys.argv[1]), jnp.float32)
out["grad"] = jax.jit(jax.grad(lambda x: jnp.sum(jnp.sin(x) * x)))(x).tolist()
out["tree"] = jax.tree.map(lambda a: a * 2, {"a": 1, "b": (2, 3)})
out["paths"] = [keystr(p) for p, _ in tree_flatten_with_path({"a": [1, 2], "b": {"c": 3}})[0]]
flat, unravel = ravel_pytree({"w": x, "n": jnp.int32(4)})
out["ravel"] = flat.tolist()
out["isinstance"] = isinstance(x, jax.Array)
out["typing"] = str(jax.typing.ArrayLike is not None)
out["logsumexp"] = float(jax.scipy.special.logsumexp(x))
errors = {}
try:
    jnp.definitely_not_an_api
except AttributeError as e:
    errors["attr"] = str(e)
try:
    import jax.experimental.pjit  # noqa: F401
except ImportError as e:
    errors["module"] = str(e)
try:
    import jax._src.pjit  # noqa: F401
except ImportError as e:
    errors["internal"] = str(e)
out["errors"] = errors
out["hasattr"] = hasattr(jnp, "definitely_not_an_api")
out["pmap"] = jax.pmap(lambda v: v * 2.0)(x[None]).tolist()       # one (simulated) device
try:
    jax.lax.pswapaxes(x, "i", 0)
except NotImplementedError as e:
    errors["pswapaxes"] = str(e)
out["internal_modules_hidden"] = [hasattr(jax, n) for n in ("compiler", "backends", "transforms", "kernels")]
out["jax_core"] = [hasattr(jax.core, "Tracer"), hasattr(jax.core, "graph")]
jax.config.update("jax_enable_x64", False)
print(json.dumps(out))
'''


def test_python_m_gpuxla_runs_a_jax_script(tmp_path):
    script = tmp_path / "jax_script.py"
    script.write_text(SCRIPT)
    xs = [0.5, -1.25, 2.0]
    out = json.loads(run_gpuxla(["-m", "gpuxla", str(script), json.dumps(xs)], tmp_path))
    x = np.asarray(xs, np.float64)
    assert out["argv"] == [str(script), json.dumps(xs)] and out["name"] == "__main__"
    np.testing.assert_allclose(out["grad"], np.cos(x) * x + np.sin(x), rtol=1e-6)
    assert out["tree"] == {"a": 2, "b": [4, 6]}      # (json turns the tuple into a list)
    assert out["paths"] == ["['a'][0]", "['a'][1]", "['b']['c']"]
    np.testing.assert_allclose(out["ravel"], [4.0] + xs)     # dict keys sorted: 'n' before 'w'
    assert out["isinstance"] is True
    np.testing.assert_allclose(out["logsumexp"], np.log(np.sum(np.exp(x))), rtol=1e-6)
    assert out["version"] == "0.10.2"
    errs = out["errors"]
    assert "jax.numpy.definitely_not_an_api is not in gpuxla yet" in errs["attr"]
    assert "jax.experimental.pjit is not in gpuxla yet" in errs["module"]
    assert "internal module" in errs["internal"]
    np.testing.assert_allclose(out["pmap"], [2 * x], rtol=1e-6)
    assert errs["pswapaxes"] == "jax.lax.pswapaxes is not in gpuxla yet"
    assert out["hasattr"] is False
    # gpuxla's own subpackages do not show through; jax.core is JAX's few public names, not gpuxla.core
    assert out["internal_modules_hidden"] == [False] * 4 and out["jax_core"] == [True, False]


def test_install_from_python_and_refuse_after_real_imports(tmp_path):
    code = (
        "import sys, gpuxla\n"
        "from gpuxla.compat import install_jax_aliases, uninstall_jax_aliases\n"
        "install_jax_aliases(); install_jax_aliases()\n"        # twice is fine
        "import jax, jax.numpy as jnp, jax.lax as lax\n"
        "assert jax.numpy.add is gpuxla.numpy.add and jax.lax.add is gpuxla.lax.add\n"
        "assert type(jnp.ones(2)) is gpuxla.Array\n"
        "from jax import tree, typing, dtypes, debug, sharding, flatten_util, ad_checkpoint, test_util\n"
        "from jax.scipy.stats import norm\n"
        "uninstall_jax_aliases()\n"
        "assert 'jax' not in sys.modules\n"
        "sys.modules['jax'] = type(sys)('jax')\n"        # stands for a real JAX imported first
        "try:\n"
        "    install_jax_aliases()\n"
        "except RuntimeError as e:\n"
        "    print('refused:', e)\n")
    out = run_gpuxla(["-c", code], tmp_path)
    assert "refused: install_jax_aliases: JAX is already imported" in out


def test_python_m_gpuxla_usage(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-m", "gpuxla"], capture_output=True, text=True, cwd=tmp_path, env=env)
    assert out.returncode == 2 and "usage: python -m gpuxla script.py" in out.stderr


# --- optax ------------------------------------------------------------------------------------
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5], [-1.0, 2.0, 0.75], [0.1, 0.2, 0.3]])
Y = np.array([1.0, -2.0, 0.5, 3.0])


def _loss_and_grad(w, b):
    p = np.tanh(X @ w + b)
    r = 2.0 / len(Y) * (p - Y) * (1 - p ** 2)
    return np.mean((p - Y) ** 2), X.T @ r, np.sum(r)


def _reference(name, steps):
    """The optax configurations of tests/data/compat/optax_train.py, by hand: optax's update rules
    (scale_by_adam with bias correction, add_decayed_weights, trace, clip_by_global_norm,
    exponential_decay evaluated at the update count)."""
    w, b = np.array([0.1, -0.2, 0.3]), 0.05
    params = [w, np.array(b)]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    losses = []
    for t in range(steps):
        loss, gw, gb = _loss_and_grad(params[0], params[1])
        losses.append(loss)
        g = [gw, np.array(gb)]
        if name == "sgd_momentum":
            m = [gi + 0.9 * mi for gi, mi in zip(g, m)]
            params = [p - 0.02 * mi for p, mi in zip(params, m)]
            continue
        lr, wd = 0.05, 0.0
        if name == "adamw":
            wd = 0.1
        if name == "clip_adam_schedule":
            norm = np.sqrt(sum(np.sum(gi ** 2) for gi in g))
            if norm >= 1.0:
                g = [gi / norm for gi in g]
            lr = 0.1 * 0.5 ** (t / 5)
        m = [0.9 * mi + 0.1 * gi for mi, gi in zip(m, g)]
        v = [0.999 * vi + 0.001 * gi ** 2 for vi, gi in zip(v, g)]
        mhat = [mi / (1 - 0.9 ** (t + 1)) for mi in m]
        vhat = [vi / (1 - 0.999 ** (t + 1)) for vi in v]
        params = [p - lr * (mh / (np.sqrt(vh) + 1e-8) + wd * p) for p, mh, vh in zip(params, mhat, vhat)]
    return params, losses


def test_optax_training_loops_match_numpy(tmp_path):
    import importlib.util
    assert importlib.util.find_spec("optax") is not None, "optax is a test dependency (pyproject.toml [test])"
    steps = 12
    out = json.loads(run_gpuxla(["-m", "gpuxla", str(DATA / "optax_train.py"), str(steps)], tmp_path))
    assert set(out) == {"adam", "adamw", "sgd_momentum", "clip_adam_schedule"}
    # float32 against float64: on the numpy platform the largest relative differences measured
    # are 2.7e-6 (losses) and 8.7e-6 (parameters, Adam divides by sqrt(v)); other platforms sum
    # in other orders, hence 1e-4. A wrong update rule is off by more than 1e-2.
    for name, got in out.items():
        (w, b), losses = _reference(name, steps)
        np.testing.assert_allclose(got["losses"], losses, rtol=1e-4, err_msg=name)
        np.testing.assert_allclose(got["w"], w, rtol=1e-4, atol=1e-5, err_msg=name)
        np.testing.assert_allclose(got["b"], b, rtol=1e-4, atol=1e-5, err_msg=name)
        assert got["losses"][-1] < got["losses"][0] * 0.9, name      # it trains
