"""lax convolutions and windowed reductions (gpuxla/lax/conv.py, windowed.py) against direct NumPy
loops and values baked from JAX 0.10.2; the lax extras; and the jnp functions of issue #10
(convolve, quantiles, nan-reductions, unique, searchsorted, interp, ...) against NumPy."""
import numpy as np
import pytest

import gpuxla as jax
import gpuxla.numpy as jnp
from gpuxla import lax
from gpuxla.core import dtypes
from gpuxla.test_util import check_grads

import op_table  # noqa: F401  (loads op_table_breadth through the shared table)
from op_table_breadth import _NumpyConvLax as NPL

NAN, INF = np.nan, np.inf

# --- JAX 0.10.2 values -----------------------------------------------------------------------------
LAXREF = {'batch_matmul': [[[0.375, -0.1875], [-0.625, 0.25]], [[0.125, -0.6875], [-0.125, 0.5]]], 'collapse': (2, 20, 3), 'dynamic_update_index': [[0.0, 0.0], [0.0, 0.0], [1.0, 1.0]], 'grad_x': [[-0.3888888955116272, -0.7222222089767456, 1.8333334922790527, 1.9444445371627808], [-0.16666671633720398, 0.27777767181396484, -2.3888888359069824, -3.8333334922790527], [0.4999999403953552, 1.9999998807907104, 1.3888888359069824, -0.8888888955116272], [-0.7777775526046753, -1.6666667461395264, -0.8333332538604736, 1.0555554628372192], [0.5555555820465088, 0.16666662693023682, -1.3333333730697632, -0.055555559694767]], 'maxpool_grad_ties': [[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 4.0]], 'maxpool_same': [[0.5, 0.75, 0.75, -0.25], [0.75, 0.75, 0.5, 0.5], [0.75, 0.5, 0.5, 0.0]], 'minpool_init': [[-0.75, -0.5, -0.75], [-0.5, -0.5, -0.75], [-0.5, -0.75, -0.75], [-0.5, -0.75, -0.75]], 'mulpool': [[0.4375, 1.3125], [0.9375, 0.15625], [1.3125, 1.96875], [0.15625, 0.3125], [1.96875, 0.5625]], 'nhwc_dil': [[[[-0.1666666716337204, 0.4166666865348816], [-1.0, -0.0833333432674408], [0.5833333134651184, -1.0], [1.0833333730697632, 0.4999999403953552], [-0.4166666567325592, 1.0833333730697632], [-0.9166666865348816, 0.5], [-0.25, -0.9166666865348816]], [[0.5, 0.0], [0.3333333432674408, -0.6666666865348816], [0.0833333358168602, 0.3333333432674408], [0.0833333283662796, 0.5], [-0.3333333432674408, 0.0833333283662796], [0.4166666865348816, -0.6666666269302368], [-0.1666666716337204, 0.4166666865348816]], [[0.9166666865348816, -0.75], [0.8333333730697632, 0.4999999403953552], [-0.0833333358168602, 0.8333333730697632], [-1.0833333730697632, 0.16666670143604279], [-1.0833333730697632, -1.0833333730697632], [-0.0833333432674408, -0.1666666567325592], [0.8333333134651184, -0.0833333432674408]], [[-1.0, 0.5833333730697632], [-0.1666666716337204, 0.0833333358168602], [0.4166666865348816, -0.1666666716337204], [-0.3333333432674408, -0.3333333432674408], [0.0833333358168602, -0.3333333432674408], [0.0833333283662796, -0.1666666716337204], [0.3333333134651184, 0.0833333283662796]]], [[[-0.3333333432674408, 0.0833333283662796], [0.4166666865348816, -0.6666666269302368], [-0.1666666716337204, 0.4166666865348816], [-1.0, -0.0833333432674408], [0.5833333134651184, -1.0], [1.0833333730697632, 0.4999999403953552], [-0.4166666567325592, 1.0833333730697632]], [[-0.25, -0.9166666865348816], [0.0, -0.0833333358168602], [0.5, 0.0], [0.3333333432674408, -0.6666666865348816], [0.0833333358168602, 0.3333333432674408], [0.0833333283662796, 0.5], [-0.3333333432674408, 0.0833333283662796]], [[0.1666666716337204, 0.0], [-0.75, -0.3333333432674408], [0.9166666865348816, -0.75], [0.8333333730697632, 0.4999999403953552], [-0.0833333358168602, 0.8333333730697632], [-1.0833333730697632, 0.16666670143604279], [-1.0833333730697632, -1.0833333730697632]], [[1.0833333730697632, -0.4166666865348816], [0.5833333730697632, 0.5], [-1.0, 0.5833333730697632], [-0.1666666716337204, 0.0833333358168602], [0.4166666865348816, -0.1666666716337204], [-0.3333333432674408, -0.3333333432674408], [0.0833333358168602, -0.3333333432674408]]]], 'nhwc_same': [[[[-0.2500000298023224, -0.5833333134651184], [0.16666670143604279, 1.25]], [[0.0833333432674408, -0.1666666567325592], [-1.6666667461395264, 7.450580596923828e-08]], [[0.08333338797092438, 0.7499998807907104], [0.08333340287208557, -0.8333333730697632]], [[0.6666666865348816, -1.2499998807907104], [0.6666667461395264, 0.083333320915699]], [[-0.5, 0.8333333134651184], [0.8333333134651184, -0.3333333432674408]]], [[[-0.75, 0.2500000596046448], [0.8333333134651184, 0.3333333730697632]], [[0.08333340287208557, -0.8333333730697632], [0.6666666865348816, -1.2499998807907104]], [[0.6666667461395264, 0.083333320915699], [0.0833333283662796, 1.4166666269302368]], [[0.0833333432674408, -0.1666666567325592], [-1.6666667461395264, 7.450580596923828e-08]], [[1.4901161193847656e-08, 0.8333333134651184], [0.16666673123836517, -0.9166666865348816]]]], 'patches': [[[[-0.75, 0.0, 0.75], [0.5, -0.5, 0.25], [0.0, 0.75, -0.25], [-0.5, 0.25, -0.75]], [[0.0, 0.75, -0.25], [-0.5, 0.25, -0.75], [0.75, -0.25, 0.5], [0.25, -0.75, 0.0]], [[0.5, -0.5, 0.25], [0.0, 0.75, -0.25], [-0.5, 0.25, -0.75], [0.75, -0.25, 0.5]], [[-0.5, 0.25, -0.75], [0.75, -0.25, 0.5], [0.25, -0.75, 0.0], [-0.25, 0.5, -0.5]], [[-0.5, 0.25, -0.75], [0.75, -0.25, 0.5], [0.25, -0.75, 0.0], [-0.25, 0.5, -0.5]], [[0.25, -0.75, 0.0], [-0.25, 0.5, -0.5], [-0.75, 0.0, 0.75], [0.5, -0.5, 0.25]], [[0.75, -0.25, 0.5], [0.25, -0.75, 0.0], [-0.25, 0.5, -0.5], [-0.75, 0.0, 0.75]], [[-0.25, 0.5, -0.5], [-0.75, 0.0, 0.75], [0.5, -0.5, 0.25], [0.0, 0.75, -0.25]]]], 'patches_nhwc': [[[[0.0, -0.75, 0.0, 0.0, 0.5, -0.5, 0.0, -0.5, 0.25, 0.0, 0.75, -0.25, 0.0, -0.25, 0.5, 0.0, -0.75, 0.0], [-0.75, 0.0, 0.75, 0.5, -0.5, 0.25, -0.5, 0.25, -0.75, 0.75, -0.25, 0.5, -0.25, 0.5, -0.5, -0.75, 0.0, 0.75], [0.0, 0.75, -0.25, -0.5, 0.25, -0.75, 0.25, -0.75, 0.0, -0.25, 0.5, -0.5, 0.5, -0.5, 0.25, 0.0, 0.75, -0.25], [0.75, -0.25, 0.0, 0.25, -0.75, 0.0, -0.75, 0.0, 0.0, 0.5, -0.5, 0.0, -0.5, 0.25, 0.0, 0.75, -0.25, 0.0]], [[0.0, 0.0, 0.75, 0.0, -0.5, 0.25, 0.0, 0.25, -0.75, 0.0, -0.25, 0.5, 0.0, 0.5, -0.5, 0.0, 0.0, 0.75], [0.0, 0.75, -0.25, -0.5, 0.25, -0.75, 0.25, -0.75, 0.0, -0.25, 0.5, -0.5, 0.5, -0.5, 0.25, 0.0, 0.75, -0.25], [0.75, -0.25, 0.5, 0.25, -0.75, 0.0, -0.75, 0.0, 0.75, 0.5, -0.5, 0.25, -0.5, 0.25, -0.75, 0.75, -0.25, 0.5], [-0.25, 0.5, 0.0, -0.75, 0.0, 0.0, 0.0, 0.75, 0.0, -0.5, 0.25, 0.0, 0.25, -0.75, 0.0, -0.25, 0.5, 0.0]], [[0.0, 0.75, -0.25, 0.0, 0.0, 0.0, 0.0, -0.75, 0.0, 0.0, 0.0, 0.0, 0.0, -0.5, 0.25, 0.0, 0.0, 0.0], [0.75, -0.25, 0.5, 0.0, 0.0, 0.0, -0.75, 0.0, 0.75, 0.0, 0.0, 0.0, -0.5, 0.25, -0.75, 0.0, 0.0, 0.0], [-0.25, 0.5, -0.5, 0.0, 0.0, 0.0, 0.0, 0.75, -0.25, 0.0, 0.0, 0.0, 0.25, -0.75, 0.0, 0.0, 0.0, 0.0], [0.5, -0.5, 0.0, 0.0, 0.0, 0.0, 0.75, -0.25, 0.0, 0.0, 0.0, 0.0, -0.75, 0.0, 0.0, 0.0, 0.0, 0.0]]]], 'reduce_generic': [0.75, 0.75, 0.75, 0.5], 'reduce_mul_init': 929867.625, 'reduce_precision_bf16': [1.0, 3.140625, 0.00099945068359375], 'sort_key_val': ([1, 1, 2, 3], [20.0, 40.0, 30.0, 10.0]), 'sumpool_pad_dil': [[0.5, -0.5, 0.25, -0.75], [-0.75, 0.75, 0.5, 0.25], [0.0, -0.25, -0.5, -0.75], [0.75, 0.5, 0.25, 0.0], [-0.5, 0.25, -0.75, 0.0], [0.75, -0.25, 0.5, -0.5]], 'top_k_row': [[[5.0, 5.0], [9.0, 2.0]], [[1, 3], [2, 0]]], 'transpose_pairs': [[[[0.0833333432674408, -0.4166666567325592], [0.0, 0.0], [-0.4166666865348816, 0.1666666865348816], [0.0, 0.0], [0.75, 0.4166666865348816], [0.0, 0.0], [-0.4166666567325592, 0.6666666269302368], [0.0, 0.0]], [[-0.5833333730697632, 0.3333333134651184], [0.0, 0.0], [0.25, -0.5], [0.0, 0.0], [0.25, -0.6666666269302368], [0.0, 0.0], [-0.33333340287208557, 0.3333333432674408], [0.0, 0.0]], [[-0.3333333432674408, -0.1666666716337204], [0.0, 0.0], [0.75, -0.5833333730697632], [0.0, 0.0], [-0.4166666865348816, 0.25], [0.0, 0.0], [0.1666666716337204, -0.6666666269302368], [0.0, 0.0]], [[0.9166667461395264, 0.4999999701976776], [0.0, 0.0], [-1.5, 0.5833333730697632], [0.0, 0.0], [0.8333333730697632, -0.75], [0.0, 0.0], [-0.3333333730697632, 0.25], [0.0, 0.0]], [[-0.1666666716337204, 0.0833333358168602], [0.0, 0.0], [0.75, 0.4166666865348816], [0.0, 0.0], [-0.4166666567325592, 0.6666666269302368], [0.0, 0.0], [-0.4166666865348816, -0.25], [0.0, 0.0]], [[0.0833333432674408, 0.0833333358168602], [0.0, 0.0], [0.25, -0.6666666269302368], [0.0, 0.0], [-0.33333340287208557, 0.3333333432674408], [0.0, 0.0], [0.8333333730697632, 0.7500001192092896], [0.0, 0.0]], [[0.0, -0.25], [0.0, 0.0], [-0.4166666865348816, 0.25], [0.0, 0.0], [0.1666666716337204, -0.6666666269302368], [0.0, 0.0], [-0.4166666865348816, 0.1666666865348816], [0.0, 0.0]], [[-0.75, -0.3333333432674408], [0.0, 0.0], [0.8333333730697632, -0.75], [0.0, 0.0], [-0.3333333730697632, 0.25], [0.0, 0.0], [0.25, -0.5], [0.0, 0.0]]], [[[-0.25, 0.25], [0.0, 0.0], [0.1666666716337204, -0.6666666269302368], [0.0, 0.0], [-0.4166666865348816, 0.1666666865348816], [0.0, 0.0], [0.75, 0.4166666865348816], [0.0, 0.0]], [[-0.0833333283662796, 0.0], [0.0, 0.0], [-0.3333333730697632, 0.25], [0.0, 0.0], [0.25, -0.5], [0.0, 0.0], [0.25, -0.6666666269302368], [0.0, 0.0]], [[-0.0833333358168602, -0.0833333358168602], [0.0, 0.0], [-0.4166666865348816, -0.25], [0.0, 0.0], [0.75, -0.5833333730697632], [0.0, 0.0], [-0.4166666865348816, 0.25], [0.0, 0.0]], [[0.25, 0.1666666716337204], [0.0, 0.0], [0.8333333730697632, 0.7500001192092896], [0.0, 0.0], [-1.5, 0.5833333730697632], [0.0, 0.0], [0.8333333730697632, -0.75], [0.0, 0.0]], [[0.0833333432674408, -0.4166666567325592], [0.0, 0.0], [-0.4166666865348816, 0.1666666865348816], [0.0, 0.0], [0.75, 0.4166666865348816], [0.0, 0.0], [-0.4166666567325592, 0.6666666269302368], [0.0, 0.0]], [[-0.5833333730697632, 0.3333333134651184], [0.0, 0.0], [0.25, -0.5], [0.0, 0.0], [0.25, -0.6666666269302368], [0.0, 0.0], [-0.33333340287208557, 0.3333333432674408], [0.0, 0.0]], [[-0.3333333432674408, -0.1666666716337204], [0.0, 0.0], [0.75, -0.5833333730697632], [0.0, 0.0], [-0.4166666865348816, 0.25], [0.0, 0.0], [0.1666666716337204, -0.6666666269302368], [0.0, 0.0]], [[0.9166667461395264, 0.4999999701976776], [0.0, 0.0], [-1.5, 0.5833333730697632], [0.0, 0.0], [0.8333333730697632, -0.75], [0.0, 0.0], [-0.3333333730697632, 0.25], [0.0, 0.0]]]], 'transpose_same': [[[[0.3333333134651184, 0.25], [-0.08333331346511841, 0.08333331346511841], [-0.7500000596046448, 0.1666666865348816], [0.9166666269302368, -0.9166666865348816]], [[0.0833333432674408, -0.4166666567325592], [-0.4166666865348816, 0.1666666865348816], [0.75, 0.4166666269302368], [-0.4166666567325592, 0.6666666865348816]], [[-0.5833333730697632, 0.3333333730697632], [0.2499999850988388, -0.5000000596046448], [0.2500000298023224, -0.6666666269302368], [-0.3333333730697632, 0.3333333432674408]], [[-0.3333333432674408, -0.1666666716337204], [0.75, -0.5833333730697632], [-0.4166666865348816, 0.25], [0.1666666865348816, -0.6666666269302368]], [[0.9166667461395264, 0.5], [-1.5000001192092896, 0.5833333730697632], [0.8333333134651184, -0.75], [-0.3333333134651184, 0.2500000298023224]], [[-0.1666666716337204, 0.0833333358168602], [0.75, 0.4166666269302368], [-0.4166666567325592, 0.6666666865348816], [-0.4166666865348816, -0.25]], [[0.0833333432674408, 0.0833333358168602], [0.2500000298023224, -0.6666666269302368], [-0.3333333730697632, 0.3333333432674408], [0.8333334922790527, 0.75]], [[0.0, -0.25], [-0.4166666865348816, 0.25], [0.1666666865348816, -0.6666666269302368], [-0.4166666865348816, 0.1666666865348816]], [[-0.7500000596046448, -0.3333333134651184], [0.8333333134651184, -0.75], [-0.3333333134651184, 0.2500000298023224], [0.2499999850988388, -0.5000000596046448]], [[0.75, 0.5833333134651184], [-0.4166666567325592, 0.6666666865348816], [-0.4166666865348816, -0.25], [0.75, -0.5833333730697632]]], [[[0.3333333432674408, -0.4166666865348816], [0.5833333134651184, 0.5833333730697632], [-0.08333331346511841, 0.08333331346511841], [-0.7500000596046448, 0.1666666865348816]], [[-0.25, 0.25], [0.1666666865348816, -0.6666666269302368], [-0.4166666865348816, 0.1666666865348816], [0.75, 0.4166666269302368]], [[-0.0833333432674408, 0.0], [-0.3333333134651184, 0.2500000298023224], [0.2499999850988388, -0.5000000596046448], [0.2500000298023224, -0.6666666269302368]], [[-0.0833333358168602, -0.0833333358168602], [-0.4166666865348816, -0.25], [0.75, -0.5833333730697632], [-0.4166666865348816, 0.25]], [[0.2499999701976776, 0.1666666567325592], [0.8333334922790527, 0.75], [-1.5000001192092896, 0.5833333730697632], [0.8333333134651184, -0.75]], [[0.0833333432674408, -0.4166666567325592], [-0.4166666865348816, 0.1666666865348816], [0.75, 0.4166666269302368], [-0.4166666567325592, 0.6666666865348816]], [[-0.5833333730697632, 0.3333333730697632], [0.2499999850988388, -0.5000000596046448], [0.2500000298023224, -0.6666666269302368], [-0.3333333730697632, 0.3333333432674408]], [[-0.3333333432674408, -0.1666666716337204], [0.75, -0.5833333730697632], [-0.4166666865348816, 0.25], [0.1666666865348816, -0.6666666269302368]], [[0.9166667461395264, 0.5], [-1.5000001192092896, 0.5833333730697632], [0.8333333134651184, -0.75], [-0.3333333134651184, 0.2500000298023224]], [[-0.1666666716337204, 0.0833333358168602], [0.75, 0.4166666269302368], [-0.4166666567325592, 0.6666666865348816], [-0.4166666865348816, -0.25]]]], 'transpose_valid_tk': [[[[0.3333333134651184, 0.25], [0.25, -0.25], [0.3333333432674408, -0.25], [-0.25, 0.0], [-0.8333333730697632, -0.1666666567325592], [-0.1666666567325592, -0.3333333134651184], [0.3333333432674408, -0.0833333358168602], [-0.0833333358168602, -0.0833333358168602]], [[-1.0833333730697632, 0.6666667461395264], [0.6666667461395264, 0.3333333432674408], [0.3333333432674408, -0.0833333358168602], [-0.0833333358168602, -0.0833333358168602], [2.9802322387695312e-08, 0.3333333134651184], [0.3333333134651184, 0.6666666269302368], [0.2499999701976776, 0.1666666567325592], [0.1666666567325592, -0.3333333432674408]], [[0.6666666865348816, -0.2500000298023224], [-0.2500000298023224, 0.0833333283662796], [-0.9166666865348816, 0.1666666865348816], [0.1666666865348816, -0.8333333134651184], [1.0, -1.1666667461395264], [-1.1666667461395264, 7.450580596923828e-09], [-1.1666667461395264, 1.0], [1.0, 0.25]], [[0.1666666716337204, -0.9166666865348816], [-0.9166666865348816, 0.5], [-0.2499999701976776, 0.6666666865348816], [0.6666666865348816, 0.7499999403953552], [0.4999999701976776, 0.5], [0.5, -0.75], [0.6666666865348816, -0.2500000298023224], [-0.2500000298023224, 0.0833333283662796]], [[-0.9166666865348816, 0.1666666865348816], [0.1666666865348816, -0.8333333134651184], [1.0, -1.1666667461395264], [-1.1666667461395264, 7.450580596923828e-09], [-1.1666667461395264, 1.0], [1.0, 0.25], [0.1666666716337204, -0.9166666865348816], [-0.9166666865348816, 0.5]], [[-0.5833333134651184, 1.0833333730697632], [1.0833333730697632, 0.6666666269302368], [0.1666666567325592, 0.25], [0.25, -0.5], [0.3333333432674408, -2.9802322387695312e-08], [-2.9802322387695312e-08, 0.0833333283662796], [-0.0833333358168602, 0.3333333432674408], [0.3333333432674408, -0.5]], [[0.5833333134651184, -0.8333333730697632], [-0.8333333730697632, -0.1666666567325592], [-0.0833333358168602, 0.3333333432674408], [0.3333333432674408, -0.0833333358168602], [-0.1666666716337204, -0.8333333730697632], [-0.8333333730697632, 0.5833333730697632], [-0.25, 0.3333333432674408], [0.3333333432674408, 0.0833333358168602]]], [[[0.3333333432674408, -0.4166666865348816], [-0.4166666865348816, 0.0833333358168602], [0.3333333134651184, 0.25], [0.25, -0.25], [0.3333333432674408, -0.25], [-0.25, 0.0], [-0.8333333730697632, -0.1666666567325592], [-0.1666666567325592, -0.3333333134651184]], [[0.4166666865348816, -0.3333333432674408], [-0.3333333432674408, 0.1666666567325592], [-1.0833333730697632, 0.6666667461395264], [0.6666667461395264, 0.3333333432674408], [0.3333333432674408, -0.0833333358168602], [-0.0833333358168602, -0.0833333358168602], [2.9802322387695312e-08, 0.3333333134651184], [0.3333333134651184, 0.6666666269302368]], [[0.4999999701976776, 0.5], [0.5, -0.75], [0.6666666865348816, -0.2500000298023224], [-0.2500000298023224, 0.0833333283662796], [-0.9166666865348816, 0.1666666865348816], [0.1666666865348816, -0.8333333134651184], [1.0, -1.1666667461395264], [-1.1666667461395264, 7.450580596923828e-09]], [[-1.1666667461395264, 1.0], [1.0, 0.25], [0.1666666716337204, -0.9166666865348816], [-0.9166666865348816, 0.5], [-0.2499999701976776, 0.6666666865348816], [0.6666666865348816, 0.7499999403953552], [0.4999999701976776, 0.5], [0.5, -0.75]], [[0.6666666865348816, -0.2500000298023224], [-0.2500000298023224, 0.0833333283662796], [-0.9166666865348816, 0.1666666865348816], [0.1666666865348816, -0.8333333134651184], [1.0, -1.1666667461395264], [-1.1666667461395264, 7.450580596923828e-09], [-1.1666667461395264, 1.0], [1.0, 0.25]], [[-0.1666666716337204, -1.0], [-1.0, 0.6666666865348816], [-0.5833333134651184, 1.0833333730697632], [1.0833333730697632, 0.6666666269302368], [0.1666666567325592, 0.25], [0.25, -0.5], [0.3333333432674408, -2.9802322387695312e-08], [-2.9802322387695312e-08, 0.0833333283662796]], [[0.0833333358168602, 0.3333333432674408], [0.3333333432674408, -0.25], [0.5833333134651184, -0.8333333730697632], [-0.8333333730697632, -0.1666666567325592], [-0.0833333358168602, 0.3333333432674408], [0.3333333432674408, -0.0833333358168602], [-0.1666666716337204, -0.8333333730697632], [-0.8333333730697632, 0.5833333730697632]]]]}


def close(a, b, tol=1e-5):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


X = (np.arange(2 * 5 * 4 * 3, dtype=np.float32).reshape(2, 5, 4, 3) % 7 - 3) / 4      # NHWC
W = (np.arange(3 * 2 * 3 * 2, dtype=np.float32).reshape(3, 2, 3, 2) % 5 - 2) / 3      # HWIO
NHWC = ("NHWC", "HWIO", "NHWC")


# --- convolutions ----------------------------------------------------------------------------------
CONV_CASES = [  # (lhs shape, rhs shape, kwargs)
    ((2, 3, 6, 5), (4, 3, 3, 2), dict(window_strides=(1, 1), padding="VALID")),
    ((1, 2, 7, 6), (3, 2, 3, 3), dict(window_strides=(2, 3), padding="SAME")),
    ((1, 2, 6, 5), (3, 2, 2, 3), dict(window_strides=(2, 1), padding="SAME_LOWER")),
    ((1, 2, 8, 7), (2, 2, 3, 3), dict(window_strides=(1, 2), padding=((2, -1), (1, 0)))),
    ((1, 2, 5, 5), (2, 2, 3, 2), dict(window_strides=(1, 1), padding=((1, 2), (2, 1)), lhs_dilation=(2, 1), rhs_dilation=(1, 2))),
    ((2, 4, 5, 5), (6, 2, 3, 3), dict(window_strides=(1, 1), padding="SAME", feature_group_count=2)),
    ((4, 3, 5, 5), (6, 3, 2, 2), dict(window_strides=(1, 1), padding="VALID", batch_group_count=2)),
    ((2, 6, 5, 3), (3, 2, 3, 4), dict(window_strides=(1, 1), padding="SAME", dimension_numbers=NHWC)),
    ((2, 3, 10), (5, 3, 4), dict(window_strides=(3,), padding=((1, 2),))),
    ((1, 2, 4, 4, 3), (2, 2, 2, 2, 2), dict(window_strides=(1, 1, 1), padding="VALID")),
    ((3, 7, 2, 6), (2, 2, 4, 3), dict(window_strides=(1, 2), padding="SAME", dimension_numbers=("HNCW", "WIOH", "CWNH"))),
]


@pytest.mark.parametrize("i", range(len(CONV_CASES)))
def test_conv_matches_numpy_loops(i):
    ls, rs, kw = CONV_CASES[i]
    rng = np.random.default_rng(i)
    x, w = rng.normal(size=ls).astype(np.float32), rng.normal(size=rs).astype(np.float32)
    got = lax.conv_general_dilated(x, w, **kw)
    want = NPL.conv_general_dilated(x, w, **kw)
    assert got.dtype == np.float32
    close(got, want, 2e-5)


def test_conv_values_and_gradients_match_jax():
    hp = lax.Precision.HIGHEST
    close(lax.conv_general_dilated(X, W, (1, 2), "SAME", dimension_numbers=NHWC, precision=hp), LAXREF["nhwc_same"])
    close(lax.conv_general_dilated(X, W, (1, 1), ((2, 1), (0, 1)), lhs_dilation=(1, 2), rhs_dilation=(2, 1),
                                   dimension_numbers=NHWC), LAXREF["nhwc_dil"])
    close(lax.conv_transpose(X, W, (2, 1), "SAME"), LAXREF["transpose_same"])
    close(lax.conv_transpose(X, np.transpose(W, (0, 1, 3, 2))[:, :, :, :3], (1, 2), "VALID", transpose_kernel=True),
          LAXREF["transpose_valid_tk"])
    close(lax.conv_transpose(X, W, (2, 2), ((1, 0), (2, 1)), rhs_dilation=(1, 2)), LAXREF["transpose_pairs"])
    close(lax.conv_general_dilated_patches(np.transpose(X, (0, 3, 1, 2))[:1, :2], (2, 2), (1, 1), "VALID"),
          LAXREF["patches"])
    close(lax.conv_general_dilated_patches(X[:1], (2, 3), (2, 1), "SAME", dimension_numbers=("NHWC", "OIHW", "NHWC")),
          LAXREF["patches_nhwc"])
    g = jax.grad(lambda a: jnp.sum(lax.conv_general_dilated(a, W, (2, 1), "SAME", dimension_numbers=NHWC) ** 2))(X)
    close(g[0, :, :, 0], LAXREF["grad_x"], 3e-5)
    assert lax.conv_transpose_shape_tuple(X.shape, W.shape, (2, 1), "SAME", NHWC) == np.shape(LAXREF["transpose_same"])
    assert lax.conv_general_shape_tuple(X.shape, W.shape, (1, 2), "SAME", NHWC) == np.shape(LAXREF["nhwc_same"])


def test_conv_helpers_and_errors():
    x, w = np.ones((1, 1, 5), np.float32), np.ones((1, 1, 2), np.float32)
    close(lax.conv(np.arange(5.0, dtype=np.float32).reshape(1, 1, 5), w, (1,), "VALID"), [[[1, 3, 5, 7]]])
    close(lax.conv_with_general_padding(x, w, (1,), ((1, 1),), (2,), (1,)),
          NPL.conv_general_dilated(x, w, (1,), ((1, 1),), (2,), (1,)))
    dn = lax.conv_dimension_numbers((1, 5, 5, 3), (3, 3, 3, 8), NHWC)
    assert dn == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    assert lax.padtype_to_pads((5, 6), (3, 2), (2, 1), "SAME") == [(1, 1), (0, 1)]
    with pytest.raises(ValueError, match="feature_group_count"):
        lax.conv_general_dilated(np.ones((1, 3, 4, 4)), np.ones((2, 2, 3, 3)), (1, 1), "SAME", feature_group_count=2)
    with pytest.raises(ValueError, match="String padding"):
        lax.conv_general_dilated(x, w, (1,), "SAME", lhs_dilation=(2,))
    with pytest.raises(TypeError, match="dimension_numbers"):
        lax.conv_general_dilated(np.ones((1, 4, 4, 3)), np.ones((3, 3, 3, 2)), (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHW"))
    with pytest.raises(ValueError, match="smaller than"):
        lax.conv_general_dilated(x, np.ones((1, 1, 9), np.float32), (1,), "VALID")


def test_conv_grad_vmap_jit():
    with dtypes.enable_x64(True):
        rng = np.random.default_rng(0)
        x, w = rng.normal(size=(2, 2, 5, 4)), rng.normal(size=(3, 2, 3, 2))
        f = lambda a, b: lax.conv_general_dilated(a, b, (2, 1), ((1, 1), (0, 1)), rhs_dilation=(1, 2))
        check_grads(f, (x, w), order=2, atol=1e-6, rtol=1e-6)
        g = lambda a, b: lax.conv_general_dilated(a, b, (1, 1), "SAME", feature_group_count=2, dimension_numbers=NHWC)
        check_grads(g, (rng.normal(size=(1, 4, 3, 4)), rng.normal(size=(2, 2, 2, 4))), order=1, atol=1e-6, rtol=1e-6)
        per = [f(x[i:i + 1], w)[0] for i in range(2)]
        close(jax.vmap(lambda a: f(a[None], w)[0])(x), np.stack([np.asarray(p) for p in per]), 1e-12)
        close(jax.jit(f)(x, w), f(x, w), 1e-12)


# --- windowed reductions -----------------------------------------------------------------------------
WINDOW_CASES = [  # (shape, init, op, window, strides, padding, base_dilation, window_dilation)
    ((2, 1, 4, 6), -INF, "max", (1, 1, 2, 2), (1, 1, 2, 2), "VALID", None, None),
    ((5, 6), -INF, "max", (3, 3), (2, 2), "SAME", None, None),
    ((2, 4, 7), 0.0, "add", (1, 2, 3), (1, 1, 2), "VALID", None, None),
    ((3, 5), 0.0, "add", (2, 2), (1, 2), ((1, 0), (0, 1)), (2, 1), (1, 2)),
    ((4, 5), INF, "min", (2, 3), (1, 1), ((0, 1), (2, 0)), None, (2, 1)),
    ((3, 4), 1.0, "mul", (2, 2), (1, 2), "SAME", None, None),
    ((6,), 2.0, "max", (3,), (2,), "VALID", (2,), None),
]


@pytest.mark.parametrize("i", range(len(WINDOW_CASES)))
def test_reduce_window_matches_numpy_loops(i):
    shape, init, op, *rest = WINDOW_CASES[i]
    x = np.random.default_rng(i).normal(size=shape).astype(np.float32)
    fn = {"max": lax.max, "min": lax.min, "add": lax.add, "mul": lax.mul}[op]
    close(lax.reduce_window(x, init, fn, *rest), NPL.reduce_window(x, init, op, *rest), 1e-6)


def test_reduce_window_matches_jax():
    x0 = X[0, :, :, 0]
    close(lax.reduce_window(x0, -jnp.inf, lax.max, (3, 2), (2, 1), "SAME"), LAXREF["maxpool_same"], 0)
    close(lax.reduce_window(x0, 0.0, lax.add, (2, 2), (1, 2), ((1, 2), (0, 1)), (1, 2), (2, 1)), LAXREF["sumpool_pad_dil"], 1e-6)
    close(lax.reduce_window(x0, 0.5, lax.min, (2, 2), (1, 1), "VALID"), LAXREF["minpool_init"], 0)
    close(lax.reduce_window(x0 + 1, 1.0, lax.mul, (1, 3), (1, 1), "VALID"), LAXREF["mulpool"], 1e-6)
    # a tied window sends its whole cotangent to its first maximum, as JAX's select-and-scatter
    t = jnp.array([[1., 1., 0., 2.], [1., 0., 2., 2.], [5., 5., 3., 3.], [5., 5., 3., 4.]])
    g = jax.grad(lambda a: jnp.sum(lax.reduce_window(a, -jnp.inf, lax.max, (2, 2), (2, 2), "VALID")
                                   * jnp.array([[1., 2.], [3., 4.]])))(t)
    close(g, LAXREF["maxpool_grad_ties"], 0)
    nan_pool = lax.reduce_window(jnp.array([1.0, jnp.nan, 0.0]), -jnp.inf, lax.max, (2,), (1,), "VALID")
    assert np.isnan(np.asarray(nan_pool)).all()                            # NaN wins, as max does
    custom = lax.reduce_window(x0, 0.0, lambda a, b: a + 2 * b, (2, 1), (1, 1), "VALID")   # any binary function
    assert custom.shape == (4, 4)
    assert lax.reduce_window_shape_tuple((5, 4), (3, 2), (2, 1), ((1, 1), (0, 1))) == (3, 4)


def test_avg_pool_grad_and_vmap():
    with dtypes.enable_x64(True):
        x = np.random.default_rng(0).normal(size=(2, 3, 6, 5))
        pool = lambda a: lax.reduce_window(a, 0.0, lax.add, (1, 1, 2, 2), (1, 1, 2, 1), "SAME") / 4
        check_grads(pool, (x,), order=2, atol=1e-7, rtol=1e-7)
        mx = lambda a: lax.reduce_window(a, -jnp.inf, lax.max, (1, 1, 3, 3), (1, 1, 2, 2), "VALID")
        check_grads(mx, (x,), order=1, atol=1e-7, rtol=1e-7)
        close(jax.vmap(mx)(x[:, None]), np.stack([np.asarray(mx(x[i:i + 1])) for i in range(2)]), 0)


# --- lax extras --------------------------------------------------------------------------------------
def test_lax_extras_match_jax():
    x0 = X[0, :, :, 0]
    close(lax.reduce(x0, -jnp.inf, lax.max, (0,)), LAXREF["reduce_generic"], 0)
    close(lax.reduce(x0 + 2, 2.0, lax.mul, (0, 1)), LAXREF["reduce_mul_init"], 1e-6)
    close(lax.reduce(x0, 0.0, lambda a, b: a + b, (1,)), x0.sum(1), 1e-6)          # generic path
    k, v = lax.sort_key_val(jnp.array([3, 1, 2, 1]), jnp.array([10., 20., 30., 40.]))
    assert k.tolist() == LAXREF["sort_key_val"][0] and v.tolist() == LAXREF["sort_key_val"][1]
    close(lax.reduce_precision(jnp.array([1.0 + 2 ** -9, 3.14159265, 1e-3]), 8, 7), LAXREF["reduce_precision_bf16"], 0)
    assert lax.collapse(X, 1, 3).shape == tuple(LAXREF["collapse"])
    close(lax.batch_matmul(X[:, :2, :2, 0], X[:, :2, :2, 1]), LAXREF["batch_matmul"], 1e-6)
    close(lax.dynamic_update_index_in_dim(jnp.zeros((3, 2)), jnp.ones(2), -1, 0), LAXREF["dynamic_update_index"], 0)
    assert [a.shape for a in lax.split(X, (1, 3, 1), axis=1)] == [(2, 1, 4, 3), (2, 3, 4, 3), (2, 1, 4, 3)]
    assert len(lax.unstack(X, 2)) == 4 and lax.stack([X, X], 1).shape == (2, 2, 5, 4, 3)
    assert lax.broadcast_to_rank(jnp.ones(3), 3).shape == (1, 1, 3)
    close(lax.reduce_xor(jnp.array([[1, 2], [4, 4]], jnp.int32), (1,)), [3, 0], 0)
    close(lax.index_take(X[0, :, :, 0], (jnp.array([0, 4]), jnp.array([1, 3])), (0, 1)), [X[0, 0, 1, 0], X[0, 4, 3, 0]], 0)
    assert lax.empty((2, 3), jnp.float32).shape == (2, 3)
    for name in ("dynamic_slice", "dynamic_update_slice", "select", "sort", "top_k", "cumsum", "rsqrt", "integer_pow",
                 "clamp", "broadcast_in_dim", "reshape", "transpose", "pad", "concatenate", "iota",
                 "convert_element_type", "bitcast_convert_type", "stop_gradient", "conv", "reduce_window"):
        assert callable(getattr(lax, name)), name


# --- jnp functions of issue #10 against NumPy ----------------------------------------------------------
R = np.random.default_rng(0)
A7, B4 = R.normal(size=7).astype(np.float32), R.normal(size=4).astype(np.float32)
M = R.normal(size=(3, 5)).astype(np.float32)
MN = M.copy()
MN[0, 1] = MN[2, 4] = np.nan
SRT = np.sort(R.normal(size=6)).astype(np.float32)
INTS = np.array([3, 1, 2, 3, 1, 5, 2], np.int32)
Q = np.array([0.1, 0.5, 0.9], np.float32)


@pytest.mark.parametrize("mode", ["full", "same", "valid"])
def test_convolve_correlate_every_length_pair(mode):
    for n in range(1, 7):
        for m in range(1, 7):
            a, v = R.normal(size=n), R.normal(size=m)
            for f in ("convolve", "correlate"):
                close(getattr(jnp, f)(a.astype(np.float32), v.astype(np.float32), mode=mode),
                      getattr(np, f)(a, v, mode=mode), 1e-5)
    assert jnp.convolve(INTS, INTS[:3]).dtype == np.float32                  # JAX: float results


JNP_CASES = {
    "median": lambda j: j.median(M, axis=1), "median_keep": lambda j: j.median(M, axis=0, keepdims=True),
    "quantile": lambda j: j.quantile(M, Q), "quantile_lower": lambda j: j.quantile(M, Q, axis=1, method="lower"),
    "quantile_higher": lambda j: j.quantile(M, 0.4, method="higher"), "quantile_nearest": lambda j: j.quantile(A7, 0.4, method="nearest"),
    "quantile_midpoint": lambda j: j.quantile(A7, Q, method="midpoint"), "percentile": lambda j: j.percentile(M, 75.0, axis=1),
    "average_w": lambda j: j.average(M, axis=1, weights=np.arange(1., 6.)),
    "average_ret": lambda j: j.average(M, axis=0, weights=np.arange(1., 4.), returned=True),
    "nanmean": lambda j: j.nanmean(MN, axis=1), "nansum": lambda j: j.nansum(MN), "nanmax": lambda j: j.nanmax(MN, axis=0),
    "nanstd": lambda j: j.nanstd(MN, axis=1), "nanmedian": lambda j: j.nanmedian(MN, axis=1),
    "nanquantile": lambda j: j.nanquantile(MN, Q, axis=0), "nanpercentile": lambda j: j.nanpercentile(MN, 30.0),
    "nanquantile_keep": lambda j: j.nanquantile(MN, 0.5, axis=1, keepdims=True, method="lower"),
    "unique": lambda j: j.unique(INTS, return_index=True, return_inverse=True, return_counts=True),
    "argwhere": lambda j: j.argwhere(M > 0), "nonzero": lambda j: j.nonzero(M > 0),
    "searchsorted": lambda j: j.searchsorted(SRT, A7), "searchsorted_r": lambda j: j.searchsorted(SRT, SRT[2:4], side="right"),
    "digitize": lambda j: j.digitize(A7, SRT), "digitize_right": lambda j: j.digitize(A7, SRT, right=True),
    "digitize_decreasing": lambda j: j.digitize(A7, SRT[::-1]), "digitize_dec_right": lambda j: j.digitize(A7, SRT[::-1], right=True),
    "interp": lambda j: j.interp(A7, SRT, np.arange(6.0)), "interp_lr": lambda j: j.interp(A7, SRT, np.arange(6.0), -1.0, 9.0),
    "interp_period": lambda j: j.interp(np.array([-1.0, 0.3, 2.7, 370.0]), np.array([270.0, 0.0, 90.0, 180.0]),
                                        np.array([4., 1., 2., 3.]), period=360),
    "polyval": lambda j: j.polyval(B4, A7), "cross": lambda j: j.cross(M[:, :3], M[::-1, 2:]),
    "cross_axis": lambda j: j.cross(M[:, :3].T, M[:, 2:].T, axis=0), "kron": lambda j: j.kron(M[:2, :2], B4.reshape(2, 2)),
    "isclose": lambda j: j.isclose(np.array([np.nan, 1.0, np.inf, 1.0]), np.array([np.nan, 1.0, np.inf, 1.1]), equal_nan=True),
    "round2": lambda j: j.round(M * 100, 2), "round_neg": lambda j: j.round(M * 1000, -2),
    "sinc": lambda j: j.sinc(np.array([0.0, 0.5, -1.5, 1e-8, 3.0], np.float32)),
    "hypot": lambda j: j.hypot(np.array([3.0, np.inf, np.nan, 0.0, 3e30], np.float32), np.array([4.0, np.nan, np.inf, 0.0, 4e30], np.float32)),
    "arctan2": lambda j: j.arctan2(np.array([0.0, -0.0, 0.0, -0.0, 1.0]), np.array([0.0, 0.0, -0.0, -0.0, -1.0])),
    "logaddexp": lambda j: j.logaddexp(np.array([-np.inf, np.inf, -np.inf, 1.0, 800.0]), np.array([-np.inf, np.inf, 2.0, 3.0, 799.0])),
    "logaddexp2": lambda j: j.logaddexp2(A7, 0.5), "heaviside": lambda j: j.heaviside(np.array([-1.0, 0.0, 2.0]), 0.5),
    "copysign": lambda j: j.copysign(np.array([1.0, 2.0, -3.0]), np.array([-0.0, 0.0, -1.0])),
    "nextafter": lambda j: j.nextafter(A7, np.float32(0)), "frexp": lambda j: j.frexp(np.array([0.0, 1.0, -3.5, np.inf, 1e30], np.float32)),
    "ldexp": lambda j: j.ldexp(np.array([0.5, -0.875, 1.0], np.float32), np.array([1, 3, -130])),
}


@pytest.mark.parametrize("name", sorted(JNP_CASES))
def test_jnp_breadth_matches_numpy(name):
    got, want = JNP_CASES[name](jnp), JNP_CASES[name](np)
    got = got if isinstance(got, tuple) else (got,)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert g.shape == w.shape, (g.shape, w.shape)
        if w.dtype.kind == "f":
            np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=2e-6, atol=1e-6, equal_nan=True)
        else:
            np.testing.assert_array_equal(g, w)


def test_jnp_breadth_jax_specifics():
    assert jnp.logaddexp(1.0, 0).weak_type                               # JAX keeps the weak type
    assert jnp.unique(INTS, size=6, fill_value=-1).tolist() == [1, 2, 3, 5, -1, -1]
    assert [a.tolist() for a in jnp.nonzero(INTS > 2, size=5)] == [[0, 3, 5, 0, 0]]
    assert jnp.allclose(A7, A7 * (1 + 1e-6)) and not jnp.allclose(A7, A7 + 1)
    assert jnp.array_equal(MN, MN, equal_nan=True) and not jnp.array_equal(INTS, INTS[:3])
    assert jnp.average(INTS).dtype == np.float32 and jnp.percentile(INTS, 50).dtype == np.float32
    with pytest.raises(ValueError, match="period"):
        jnp.interp(jnp.ones(2), jnp.arange(2.0), jnp.arange(2.0), period=0)
    with dtypes.enable_x64(True):
        check_grads(lambda a, v: jnp.convolve(a, v, mode="same"), (R.normal(size=6), R.normal(size=3)), order=2)
        check_grads(lambda a: jnp.quantile(a, np.array([0.2, 0.7])), (R.normal(size=9),), order=1)
        check_grads(lambda x: jnp.interp(x, np.array([0.0, 1.0, 3.0]), np.array([1.0, -1.0, 2.0])),
                    (np.array([0.3, 1.4, 2.2]),), order=1)
        check_grads(lambda a, b: jnp.hypot(a, b) + jnp.logaddexp(a, b), (R.normal(size=4), R.normal(size=4)), order=2)


def test_integer_pow_refuses_negative_powers_of_integers():
    # JAX: "Integers cannot be raised to negative powers, got integer_pow(int32[3], -1)" (a TypeError
    # of the primitive's dtype rule), for lax.integer_pow and jnp.power / ** with a concrete exponent.
    k = jnp.arange(1, 4)
    for f in (lambda: lax.integer_pow(k, -1), lambda: jnp.power(k, -2), lambda: k ** -1,
              lambda: jax.jit(lambda v: lax.integer_pow(v, -3))(k), lambda: jax.vmap(lambda v: v ** -1)(k),
              lambda: lax.integer_pow(jnp.arange(3, dtype=jnp.uint8), -1)):
        with pytest.raises(TypeError, match=r"Integers cannot be raised to negative powers, got integer_pow\("):
            f()
    np.testing.assert_array_equal(np.asarray(lax.integer_pow(k, 3)), [1, 8, 27])
    np.testing.assert_allclose(np.asarray(lax.integer_pow(jnp.array([2.0, 4.0]), -1)), [0.5, 0.25])
    np.testing.assert_allclose(np.asarray(jnp.array([2.0, 4.0]) ** -2), [0.25, 0.0625])
