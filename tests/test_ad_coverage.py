"""Every primitive has a JVP and a VJP rule; the non-differentiable ones give no tangent."""
import numpy as np
import pytest

import gpuxla  # noqa: F401  (registers every primitive and rule)
from gpuxla.core import primitives as P
from gpuxla.core.graph import PRIMITIVES, constant
from gpuxla.transforms.ad import jvp_rules, vjp_rules

# Primitives whose derivative rule raises, as JAX's does (with the primitive's name).
RAISES = {P.nextafter_p}


@pytest.mark.parametrize("name", sorted(PRIMITIVES))
def test_primitive_has_rules(name):
    p = PRIMITIVES[name]
    assert p in jvp_rules, f"no JVP rule for primitive '{name}' (gpuxla.transforms.ad.jvp_rules)"
    assert p in vjp_rules, f"no VJP rule for primitive '{name}' (gpuxla.transforms.ad.vjp_rules)"


@pytest.mark.parametrize("p", P.GROUP.nondiff, ids=lambda p: p.name)
def test_non_differentiable_rules_give_no_tangent(p):
    x = constant(np.ones(3, np.float32))
    assert jvp_rules[p]([x], [x], x) is None
    assert vjp_rules[p](x, x, x, x) == (None, None)     # (ct, out, *two inputs)


@pytest.mark.parametrize("p", sorted(RAISES, key=lambda p: p.name), ids=lambda p: p.name)
def test_unimplemented_rules_name_primitive_and_mode(p):
    x = constant(np.ones(3, np.float32))
    with pytest.raises(NotImplementedError, match=f"'{p.name}'.*jvp"):
        jvp_rules[p]([x, x], [x, x], x)
    with pytest.raises(NotImplementedError, match=f"'{p.name}'.*vjp"):
        vjp_rules[p](x, x, x, x)
