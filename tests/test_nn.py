"""gpuxla.nn against values baked from JAX 0.10.2 (CPU, float32) and NumPy: activations and their
derivatives at the kinks, stable softmax/logsumexp, one_hot, standardize, initializers (bit for
bit: gpuxla.random is JAX's PRNG) and attention."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import nn, random
from gpuxla.core import dtypes
from gpuxla.nn import initializers as I
from gpuxla.test_util import check_grads

NAN, INF = np.nan, np.inf
X = np.array([-8.0, -1.0, -0.5, 0.0, 0.5, 1.0, 6.0, 30.0], np.float32)

# --- JAX 0.10.2 values -----------------------------------------------------------------------------
ACT = {'celu': [-0.9996645450592041, -0.6321205496788025, -0.39346933364868164, 0.0, 0.5, 1.0, 6.0, 30.0], 'elu': [-0.9996645450592041, -0.6321205496788025, -0.39346933364868164, 0.0, 0.5, 1.0, 6.0, 30.0], 'gelu_exact': [-4.976777233459953e-15, -0.15865527093410492, -0.1542687714099884, 0.0, 0.3457312285900116, 0.8413447141647339, 6.0, 30.0], 'gelu_tanh': [-0.0, -0.15880796313285828, -0.1542859971523285, 0.0, 0.3457140028476715, 0.8411920070648193, 6.0, 30.0], 'hard_sigmoid': [0.0, 0.3333333432674408, 0.4166666865348816, 0.5, 0.5833333730697632, 0.6666666865348816, 1.0, 1.0], 'hard_silu': [-0.0, -0.3333333432674408, -0.2083333432674408, 0.0, 0.2916666865348816, 0.6666666865348816, 6.0, 30.0], 'hard_tanh': [-1.0, -1.0, -0.5, 0.0, 0.5, 1.0, 1.0, 1.0], 'leaky_relu': [-0.07999999821186066, -0.009999999776482582, -0.004999999888241291, 0.0, 0.5, 1.0, 6.0, 30.0], 'log1mexp': [-0.00033551891101524234, -0.4586751461029053, -0.9327521324157715, -INF, -0.9327521324157715, -0.4586751461029053, -0.0024818293750286102, -9.357622912219837e-14], 'log_sigmoid': [-8.000335693359375, -1.3132617473602295, -0.9740769863128662, -0.6931471824645996, -0.4740769863128662, -0.3132616877555847, -0.0024756852071732283, -9.357622912219837e-14], 'mish': [-0.002683250932022929, -0.3034014403820038, -0.22074377536773682, 0.0, 0.37524524331092834, 0.8650984764099121, 5.999927043914795, 30.0], 'relu': [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 6.0, 30.0], 'relu6': [0.0, 0.0, 0.0, 0.0, 0.5, 1.0, 6.0, 6.0], 'selu': [-1.757509469985962, -1.1113307476043701, -0.6917582154273987, 0.0, 0.5253505110740662, 1.0507010221481323, 6.304205894470215, 31.52103042602539], 'sigmoid': [0.00033535013790242374, 0.2689414322376251, 0.3775406777858734, 0.5, 0.622459352016449, 0.7310585975646973, 0.9975274205207825, 1.0], 'silu': [-0.00268280110321939, -0.2689414322376251, -0.1887703388929367, 0.0, 0.3112296760082245, 0.7310585975646973, 5.985164642333984, 30.0], 'soft_sign': [-0.8888888955116272, -0.5, -0.3333333432674408, 0.0, 0.3333333432674408, 0.5, 0.8571428656578064, 0.9677419066429138], 'softplus': [0.00033540636650286615, 0.3132616877555847, 0.4740769863128662, 0.6931471824645996, 0.9740769863128662, 1.3132617473602295, 6.002475738525391, 30.0], 'sparse_plus': [0.0, 0.0, 0.0625, 0.25, 0.5625, 1.0, 6.0, 30.0], 'sparse_sigmoid': [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0], 'squareplus': [0.12310552597045898, 0.6180340051651001, 0.7807763814926147, 1.0, 1.2807763814926147, 1.6180340051651, 6.162277698516846, 30.033296585083008]}
ACT_GRAD = {'celu': [0.00033545494079589844, 0.3678794503211975, 0.6065306663513184, 1.0, 1.0, 1.0, 1.0, 1.0], 'elu': [0.00033545494079589844, 0.3678794503211975, 0.6065306663513184, 1.0, 1.0, 1.0, 1.0, 1.0], 'gelu_exact': [-3.979614896084879e-14, -0.08331547677516937, 0.1325048804283142, 0.5, 0.8674951195716858, 1.0833154916763306, 1.0, 1.0], 'gelu_tanh': [0.0, -0.08296407014131546, 0.1326301097869873, 0.5, 0.8673699498176575, 1.0829639434814453, 1.0, 1.0], 'hard_sigmoid': [0.0, 0.1666666716337204, 0.1666666716337204, 0.1666666716337204, 0.1666666716337204, 0.1666666716337204, 0.0, 0.0], 'hard_silu': [0.0, 0.1666666716337204, 0.3333333432674408, 0.5, 0.6666666865348816, 0.8333333730697632, 1.0, 1.0], 'hard_tanh': [0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0], 'leaky_relu': [0.009999999776482582, 0.009999999776482582, 0.009999999776482582, 1.0, 1.0, 1.0, 1.0, 1.0], 'log_sigmoid': [0.9996643662452698, 0.7310585379600525, 0.622459352016449, 0.5, 0.3775406777858734, 0.26894140243530273, 0.0024726230185478926, 9.357622912219837e-14], 'mish': [-0.002347393659874797, 0.05921675264835358, 0.28951066732406616, 0.6000000238418579, 0.8864244222640991, 1.0490361452102661, 1.0001333951950073, 1.0], 'relu': [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0], 'relu6': [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0], 'selu': [0.0005897631053812802, 0.6467686295509338, 1.0663411617279053, 1.7580993175506592, 1.0507010221481323, 1.0507010221481323, 1.0507010221481323, 1.0507010221481323], 'sigmoid': [0.0003352376807015389, 0.1966119408607483, 0.23500370979309082, 0.25, 0.23500370979309082, 0.1966119259595871, 0.002466465812176466, 0.0], 'silu': [-0.002346551278606057, 0.07232949137687683, 0.260038822889328, 0.5, 0.7399612069129944, 0.9276705384254456, 1.0123262405395508, 1.0], 'soft_sign': [0.012345679104328156, 0.25, 0.444444477558136, 1.0, 0.444444477558136, 0.25, 0.02040816843509674, 0.0010405797511339188], 'softplus': [0.0003353500214871019, 0.26894140243530273, 0.3775406777858734, 0.5, 0.622459352016449, 0.7310585379600525, 0.9975273013114929, 1.0], 'sparse_plus': [0.0, 0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 1.0], 'sparse_sigmoid': [0.0, 0.25, 0.5, 0.5, 0.5, 0.25, 0.0, 0.0], 'squareplus': [0.014928728342056274, 0.27639320492744446, 0.37873217463493347, 0.5, 0.6212677955627441, 0.7236068248748779, 0.974341630935669, 0.9988925457000732]}
SOFTMAX = [[0.0, 0.0, 0.0, 1.0], [0.2849321663379669, 0.2219053953886032, 0.023388655856251717, 0.4697737395763397]]
LOG_SOFTMAX = [[-1.2555041313171387, -1.5055041313171387, -3.7555041313171387, -0.7555040717124939]]
SOFTMAX_GRAD = [[-0.0, -0.0, -0.0, 0.0], [-0.47811734676361084, -0.15045274794101715, 0.007531053852289915, 0.6210389733314514]]
SOFTMAX_WHERE = [[0.3661922216415405, 0.0, 0.030058886855840683, 0.6037489175796509], [0.2917559742927551, 0.22721977531909943, 0.0, 0.48102426528930664]]
LSE = [1000.0, 1.7555041313171387]
LSE_GRAD = [[0.0, 0.0, 0.0, 1.0], [0.2849321663379669, 0.2219053953886032, 0.023388655856251717, 0.4697737395763397]]
LSE_SIGN = (0.31723952293395996, -1.0)
LSE_NEG = NAN
LSE_KEEP = [[0.5, 0.25, -INF, 1.0]]
ONE_HOT = [[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [0.0, 0.0]]]
STANDARDIZE = [[-1.0690417289733887, -0.2672605514526367, 1.3363019227981567], [-0.7070469856262207, -0.7070469856262207, 1.414093017578125]]
STANDARDIZE0 = [[-0.953462541103363, -0.8451542854309082, 0.6201736927032471], [0.953462541103363, 0.8451542854309082, -0.6201736927032471]]
GLU = [[0.0, 0.16979467868804932], [0.8175744414329529, 1.0649409294128418]]
LOGMEANEXP = [0.36920976638793945]
INITS = {'constant': [-7.0, -7.0], 'conv_he_normal': [[[[-0.08376175910234451, 0.045953866094350815, -0.0737573578953743], [-0.08408644795417786, 0.6658563613891602, 0.08043400943279266]], [[1.0076981782913208, 0.5344047546386719, -0.15732508897781372], [0.19404542446136475, -0.3809877634048462, -0.13310827314853668]]], [[[0.4741046726703644, 0.4221796989440918, 0.47584038972854614], [0.29663920402526855, 0.5155278444290161, -0.8970940113067627]], [[0.46104174852371216, -0.8254848122596741, -0.03252202272415161], [-0.7769225239753723, -0.5334110260009766, 0.34687384963035583]]]], 'delta_orthogonal': [[[0.0, 0.0], [0.0, 0.0]], [[0.9661029577255249, 0.25815725326538086], [-0.25815725326538086, 0.9661028981208801]], [[0.0, 0.0], [0.0, 0.0]]], 'glorot_normal': [[0.8847432732582092, 1.0420019626617432, -0.25077056884765625, -0.04559559375047684], [0.10208923369646072, -0.5545685291290283, -0.28619498014450073, 0.28566741943359375], [0.3826204538345337, -0.542525053024292, 1.0877076387405396, -1.0183730125427246]], 'glorot_uniform': [[0.8289182186126709, 0.886157751083374, -0.31053584814071655, -0.05801473930478096], [0.12940874695777893, -0.6193680763244629, -0.3514512777328491, 0.35084980726242065], [0.45692288875579834, -0.6091626882553101, 0.8987006545066833, -0.8790057897567749]], 'he_normal': [[1.3514677286148071, 1.5916844606399536, -0.38305842876434326, -0.06964842975139618], [0.15594390034675598, -0.84711754322052, -0.4371700882911682, 0.43636420369148254], [0.5844624042510986, -0.82872074842453, 1.6615010499954224, -1.5555906295776367]], 'he_uniform': [[1.2661935091018677, 1.3536282777786255, -0.47435131669044495, -0.08861897140741348], [0.19767512381076813, -0.9461002945899963, -0.5368506908416748, 0.5359318852424622], [0.6979612112045288, -0.9305113554000854, 1.3727879524230957, -1.3427034616470337]], 'kaiming_normal': [[1.3514677286148071, 1.5916844606399536, -0.38305842876434326, -0.06964842975139618], [0.15594390034675598, -0.84711754322052, -0.4371700882911682, 0.43636420369148254], [0.5844624042510986, -0.82872074842453, 1.6615010499954224, -1.5555906295776367]], 'lecun_normal': [[0.9556319713592529, 1.1254907846450806, -0.2708631753921509, -0.049248870462179184], [0.1102689802646637, -0.599002480506897, -0.3091259300708771, 0.30855607986450195], [0.4132773280143738, -0.5859940052032471, 1.174858570098877, -1.0999685525894165]], 'lecun_uniform': [[0.895334005355835, 0.9571597576141357, -0.3354170322418213, -0.06266307830810547], [0.13977742195129395, -0.6689939498901367, -0.3796107769012451, 0.37896108627319336], [0.4935331344604492, -0.6579709053039551, 0.9707076549530029, -0.949434757232666]], 'normal': [0.8113210797309875, 1.0126323699951172, -0.21679721772670746, -0.03930867463350296], 'orthogonal': [[0.8337945938110352, -0.0403975211083889, -0.25450924038887024, -0.4882414937019348], [0.5419113039970398, 0.06573481857776642, 0.20781926810741425, 0.8116786479949951], [0.08726231008768082, -0.5748350620269775, 0.7852892875671387, -0.21276894211769104]], 'orthogonal_tall': [[1.7251756191253662, 0.9029731154441833], [-0.46099287271499634, 0.18364065885543823], [0.18721792101860046, -0.9969082474708557], [-0.526596188545227, 0.7464278936386108], [0.7063289284706116, -1.2648849487304688]], 'truncated_normal': [1.4559592008590698, 1.714748740196228, -0.4126753509044647, -0.07503343373537064], 'uniform': [1.895334005355835, 1.9571597576141357, 0.6645829677581787, 0.9373369216918945], 'vs_fan_out_normal': [[1.0262490510940552, 1.280889868736267, -0.2742291986942291, -0.04972197860479355, 0.11136966198682785], [-0.6148031949996948, -0.3132544159889221, 0.3126724660396576, 0.4201714098453522, -0.6009361743927002]], 'vs_geo': [[[0.3764415979385376, 0.40243610739707947, -0.14102549850940704], [-0.02634657919406891, 0.058769166469573975, -0.28127729892730713]], [[-0.1596066802740097, 0.1593335121870041, 0.20750512182712555], [-0.27664268016815186, 0.40813228487968445, -0.39918816089630127]], [[0.11776067316532135, 0.052716515958309174, 0.3356974422931671], [0.3654010593891144, 0.2809772789478302, 0.18971987068653107]], [[0.008285457268357277, -0.39719563722610474, -0.39396941661834717], [0.3851463496685028, 0.01582500897347927, 0.24572183191776276]]], 'xavier_uniform': [[0.8289182186126709, 0.886157751083374, -0.31053584814071655, -0.05801473930478096], [0.12940874695777893, -0.6193680763244629, -0.3514512777328491, 0.35084980726242065], [0.45692288875579834, -0.6091626882553101, 0.8987006545066833, -0.8790057897567749]]}
ATTN = [[-0.7983682751655579, 0.9115666747093201, 0.37255531549453735], [-1.1744928359985352, 0.025493085384368896, -0.36179906129837036], [-0.12575054168701172, -0.8760435581207275, 0.25028520822525024], [-0.30827924609184265, -0.6030270457267761, -0.6136330962181091]]
ATTN_CAUSAL = [[-0.2539271116256714, 1.3134762048721313, 0.5894637107849121, -1.366712212562561], [0.08708135783672333, -0.5059320330619812, 1.3499724864959717, -0.8771275877952576]]


def close(a, b, tol=2e-6, atol=None):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol,
                               atol=tol if atol is None else atol)


ACTS = sorted(ACT)


def _act(name):
    if name == "gelu_tanh":
        return nn.gelu
    if name == "gelu_exact":
        return lambda v: nn.gelu(v, approximate=False)
    return getattr(nn, name)


@pytest.mark.parametrize("name", ACTS)
def test_activation_values_match_jax(name):
    x = np.abs(X) if name == "log1mexp" else X
    out = _act(name)(jnp.asarray(x))
    assert out.dtype == np.float32 and out.shape == X.shape
    close(out, ACT[name], 3e-6, 1e-6)


@pytest.mark.parametrize("name", sorted(ACT_GRAD))
def test_activation_gradients_match_jax_at_kinks(name):
    # X holds the kinks (0, +-1, 6) where JAX's conventions decide the value (relu'(0) = 0 ...)
    close(jax.vmap(jax.grad(_act(name)))(jnp.asarray(X)), ACT_GRAD[name], 3e-6, 1e-6)


def test_activations_integer_and_low_precision_inputs():
    assert nn.sigmoid(jnp.arange(3)).dtype == np.float32
    assert nn.relu(jnp.arange(-2, 2)).dtype == np.int32                   # relu keeps ints, as JAX
    for dt in (np.float16, dtypes.bfloat16):
        out = nn.gelu(jnp.asarray(X[:6], dt))
        assert out.dtype == dt
        close(out, ACT["gelu_tanh"][:6], 2e-2, 2e-2)
    assert nn.softplus(1.0).weak_type


def test_softmax_is_stable_and_matches_jax():
    z = jnp.array([[1.0, -jnp.inf, 3.0, 1000.0], [0.5, 0.25, -2.0, 1.0]])
    close(nn.softmax(z), SOFTMAX)
    close(nn.log_softmax(z[1:]), LOG_SOFTMAX)
    g = jax.grad(lambda v: jnp.sum(nn.softmax(v) * jnp.arange(4.)))(z)
    assert np.isfinite(np.asarray(g)).all()
    close(g, SOFTMAX_GRAD, 1e-5, 1e-6)
    m = jnp.array([[True, False, True, True], [True, True, False, True]])
    close(nn.softmax(jnp.repeat(z[1:], 2, 0), where=m), SOFTMAX_WHERE)
    assert np.isneginf(np.asarray(nn.log_softmax(z[1:], where=m[:1]))[0, 1])
    close(nn.logsumexp(z, axis=1), LSE)
    close(jax.grad(lambda v: jnp.sum(nn.logsumexp(v, axis=1)))(z), LSE_GRAD)
    close(nn.logmeanexp(z[1:], axis=1), LOGMEANEXP)
    close(nn.softmax(z, axis=(0, 1)).sum(), 1.0)
    assert np.isnan(np.asarray(nn.softmax(jnp.full((3,), -jnp.inf)))).all()   # as JAX: 0/0


def test_softmax_of_plus_inf_is_nan_as_in_jax():
    # JAX documents it: "If any input values are +inf, the result will be all NaN" (inf - inf along
    # the slice). Other slices are untouched; a -inf entry is an ordinary zero weight.
    x = jnp.array([[jnp.inf, 0.0, 1.0], [1.0, 2.0, 3.0], [-jnp.inf, 0.0, 1.0]])
    e = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    for f in (nn.softmax, jax.jit(nn.softmax), nn.log_softmax, jax.jit(nn.log_softmax)):
        out = np.asarray(f(x))
        assert np.isnan(out[0]).all(), out
        want = np.log(e) if "log" in f.__name__ else e
        close(out[1], want, 1e-6, 1e-7)
        assert not np.isnan(out[2]).any()
    close(nn.softmax(x[2]), [0.0, np.exp(0) / (1 + np.e), np.e / (1 + np.e)], 1e-6, 1e-7)
    assert np.isnan(np.asarray(nn.softmax(jnp.array([jnp.inf, jnp.inf])))).all()
    # along axis 0 only the first column holds +inf
    cols = np.asarray(nn.softmax(x, axis=0))
    assert np.isnan(cols[:, 0]).all() and np.isfinite(cols[:, 1:]).all()


def test_logsumexp_signs_weights_and_masks():
    from gpuxla.scipy.special import logsumexp
    r, s = logsumexp(jnp.array([1.0, 2.0, 0.5]), b=jnp.array([1.0, -1.0, 2.0]), return_sign=True)
    close(r, LSE_SIGN[0])
    close(s, LSE_SIGN[1])
    assert np.isnan(float(logsumexp(jnp.array([1.0, 2.0]), b=jnp.array([1.0, -1.0]))))
    m = np.array([[True, True, False, True]])
    close(logsumexp(jnp.array([[0.5, 0.25, -2.0, 1.0]]), axis=0, keepdims=True, where=m), LSE_KEEP)
    big = jnp.array([1e30, 1e30], jnp.float32)
    close(logsumexp(big), 1e30 + np.log(2.0), 1e-6)
    assert float(logsumexp(jnp.array([-jnp.inf, -jnp.inf]))) == -np.inf


def test_one_hot_standardize_glu():
    close(nn.one_hot(jnp.array([[0, 2], [-1, 3]]), 3, axis=0), ONE_HOT, 0)
    out = nn.one_hot(jnp.array([1, 0]), 2, dtype=jnp.int32)
    assert out.dtype == np.int32 and out.tolist() == [[0, 1], [1, 0]]
    with pytest.raises(TypeError, match="num_classes"):
        nn.one_hot(jnp.array([1]), 2.5)
    s = jnp.array([[1.0, 2.0, 4.0], [3.0, 3.0, 3.5]])
    close(nn.standardize(s), STANDARDIZE, 1e-5)
    close(nn.standardize(s, axis=0, epsilon=0.1), STANDARDIZE0, 1e-5)
    close(nn.glu(jnp.arange(8.0).reshape(2, 4) / 4), GLU)
    with pytest.raises(ValueError, match="even"):
        nn.glu(jnp.ones((2, 3)))


@pytest.mark.parametrize("name", sorted(INITS))
def test_initializers_bit_for_bit_with_jax(name):
    k0, k1 = random.PRNGKey(0), random.PRNGKey(1)
    make = {
        "conv_he_normal": lambda: I.he_normal()(k1, (2, 2, 2, 3)),
        "vs_fan_out_normal": lambda: I.variance_scaling(2.0, "fan_out", "normal")(k0, (2, 5)),
        "vs_geo": lambda: I.variance_scaling(0.5, "fan_geo_avg", "uniform", in_axis=0, out_axis=1)(k0, (4, 2, 3)),
        "normal": lambda: I.normal(0.5)(k0, (4,)),
        "uniform": lambda: I.uniform(2.0)(k0, (4,)),
        "truncated_normal": lambda: I.truncated_normal(1.0)(k0, (4,)),
        "orthogonal": lambda: I.orthogonal()(k0, (3, 4)),
        "orthogonal_tall": lambda: I.orthogonal(2.0)(k0, (5, 2)),
        "delta_orthogonal": lambda: I.delta_orthogonal()(k0, (3, 2, 2)),
        "constant": lambda: I.constant(-7.0)(k0, (2,)),
    }.get(name, lambda: getattr(I, name)()(k0, (3, 4)))
    out = make()
    assert out.dtype == np.float32
    # orthogonal goes through a QR factorisation: LAPACK rounding, not bits
    close(out, INITS[name], 1e-5 if "orthogonal" in name else 0, 1e-6 if "orthogonal" in name else 0)


def test_initializer_statistics_and_errors():
    w = I.glorot_normal()(random.PRNGKey(2), (200, 300))
    close(float(jnp.var(w)), 2 / 500, 0.05)
    w = I.he_uniform()(random.PRNGKey(3), (3, 3, 64, 32))
    close(float(jnp.var(w)), 2 / (9 * 64), 0.05)
    q = I.orthogonal()(random.PRNGKey(4), (6, 4))
    close(q.T @ q, np.eye(4), 1e-5, 1e-5)
    assert I.zeros(None, (2, 3)).tolist() == [[0.0] * 3] * 2 and I.ones(None, 2, jnp.int32).dtype == np.int32
    with pytest.raises(ValueError, match="in_axis"):
        I.lecun_normal()(random.PRNGKey(0), (5,))
    with pytest.raises(ValueError, match="mode"):
        I.variance_scaling(1.0, "fan_bad", "normal")(random.PRNGKey(0), (2, 2))
    with pytest.raises(ValueError, match="distribution"):
        I.variance_scaling(1.0, "fan_in", "cauchy")


def test_dot_product_attention_matches_jax():
    q = random.normal(random.PRNGKey(3), (2, 4, 4, 8))
    k = random.normal(random.PRNGKey(4), (2, 5, 2, 8))
    v = random.normal(random.PRNGKey(5), (2, 5, 2, 8))
    close(nn.dot_product_attention(q[:, :2, :, :3], k[:, :3, :, :3], v[:, :3, :, :3])[0, 0], ATTN, 1e-5, 1e-6)
    close(nn.dot_product_attention(q[0, :3, :2, :4], k[0, :3, :, :4], v[0, :3, :, :4], is_causal=True)[1],
          ATTN_CAUSAL, 1e-5, 1e-6)


def test_second_order_gradients():
    with dtypes.enable_x64(True):
        x = jnp.asarray(np.array([-1.3, -0.2, 0.4, 2.1]))
        for f in (nn.softplus, nn.silu, nn.gelu, nn.elu, nn.selu, nn.mish, nn.log_sigmoid,
                  lambda v: nn.softmax(v), lambda v: nn.log_softmax(v), lambda v: nn.logsumexp(v),
                  lambda v: nn.standardize(v), lambda v: nn.gelu(v, approximate=False)):
            check_grads(f, (x,), order=2, atol=1e-6, rtol=1e-6)


def test_relu_composes_with_vmap_and_jit():
    x = jnp.asarray(X)
    close(jax.jit(jax.grad(lambda v: jnp.sum(nn.relu(v) ** 2)))(x), 2 * np.maximum(X, 0))
    close(jax.vmap(jax.grad(nn.relu6))(x), ACT_GRAD["relu6"])
    close(jax.jit(nn.softmax)(x), np.exp(X - X.max()) / np.exp(X - X.max()).sum(), 1e-6, 1e-7)
