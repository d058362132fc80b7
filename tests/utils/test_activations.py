"""Activations: values, derivatives against numerical gradients, stability at +-1000."""
import warnings

import numpy as np
import pytest

from utils import activations as act
from utils.gradcheck import numerical_gradient_of, rel_error

TOL = 1e-6  # largest relative error, float64, centred differences with h = 1e-5

ELEMENTWISE = [
    (act.identity, act.identity_derivative),
    (act.sigmoid, act.sigmoid_derivative),
    (act.tanh, act.tanh_derivative),
    (act.relu, act.relu_derivative),
    (act.leaky_relu, act.leaky_relu_derivative),
    (act.step, act.step_derivative),
    (act.sign, act.sign_derivative),
]


def away_from_kinks(rng, shape):
    """Points at least 0.05 from 0, where relu, step and sign have no derivative."""
    z = rng.normal(0, 1.5, shape)
    return np.where(np.abs(z) < 0.05, 0.5, z)


@pytest.mark.parametrize("f, df", ELEMENTWISE, ids=lambda f: getattr(f, "__name__", ""))
def test_derivative_matches_numerical(f, df, rng):
    """Does each derivative agree with a centred numerical gradient?"""
    z = away_from_kinks(rng, (5, 3))
    gold = numerical_gradient_of(lambda v: f(v).sum(), z)
    mine = df(z)
    assert mine.shape == z.shape
    assert rel_error(mine, gold) < TOL


@pytest.mark.parametrize("name", sorted(act.ACTIVATIONS))
def test_layer_backward_matches_numerical(name, rng):
    """Does Activation.backward give dZ = dL/dZ for L = sum(dA * f(Z))?"""
    a = act.get_activation(name)
    Z = away_from_kinks(rng, (4, 3))
    dA = rng.normal(size=Z.shape)
    gold = numerical_gradient_of(lambda v: np.sum(dA * a.forward(v)), Z)
    mine = a.backward(dA, Z, a.forward(Z))
    assert mine.shape == Z.shape
    assert rel_error(mine, gold) < TOL


def test_sigmoid_values():
    """Does sigmoid give the textbook values, and 1/4 as its largest slope?"""
    z = np.array([-5.0, -1.0, 0.0, 1.0, 5.0])
    gold = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(act.sigmoid(z), gold, rtol=1e-15)
    assert act.sigmoid_derivative(0.0) == 0.25
    assert np.all(act.sigmoid_derivative(np.linspace(-10, 10, 1001)) <= 0.25)


def test_sigmoid_survives_1000():
    """Does sigmoid stay finite, exact and silent at z = +-1000?"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mine = act.sigmoid(np.array([-1000.0, 1000.0]))
        slope = act.sigmoid_derivative(np.array([-1000.0, 1000.0]))
    np.testing.assert_array_equal(mine, [0.0, 1.0])
    np.testing.assert_array_equal(slope, [0.0, 0.0])
    # the small side keeps its relative precision
    assert act.sigmoid(-700.0) == pytest.approx(np.exp(-700.0), rel=1e-12)


def test_softmax_survives_1000():
    """Does softmax stay finite and silent for scores of +-1000?"""
    Z = np.array([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, -1000.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        P = act.softmax(Z)
    assert np.all(np.isfinite(P))
    np.testing.assert_allclose(P, [[1, 0, 0], [0.5, 0.5, 0]], atol=1e-300)


def test_softmax_rows(rng):
    """Is softmax row-wise: rows sum to 1 and a per-row shift changes nothing?"""
    Z = rng.normal(size=(6, 4))
    P = act.softmax(Z)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    np.testing.assert_allclose(act.softmax(Z + rng.normal(size=(6, 1)) * 100), P, rtol=1e-12)
    np.testing.assert_allclose(act.softmax(Z[0]), P[0])


def test_softmax_temperature():
    """Does temperature flatten (T > 1) and sharpen (T < 1) the distribution?"""
    z = np.array([1.0, 2.0, 3.0])
    assert act.softmax(z, temperature=100).max() < act.softmax(z).max() < act.softmax(z, 0.1).max()
    with pytest.raises(ValueError, match="temperature must be positive"):
        act.softmax(z, temperature=0)


def test_softmax_jacobian_matches_numerical(rng):
    """Is the softmax Jacobian p_i (delta_ij - p_j)?"""
    z = rng.normal(size=4)
    gold = np.stack([numerical_gradient_of(lambda v, i=i: act.softmax(v)[i], z) for i in range(4)])
    assert rel_error(act.softmax_jacobian(z), gold) < TOL


def test_unknown_activation_lists_valid_ones():
    """Does an unknown name list the valid activations?"""
    with pytest.raises(ValueError) as err:
        act.get_activation("swish")
    msg = str(err.value)
    assert "'swish'" in msg
    for name in ("identity", "leaky_relu", "relu", "sigmoid", "sign", "softmax", "step", "tanh"):
        assert name in msg


def test_perceptron_units_follow_the_lecture():
    """Do step(0) = 1 (the binary step) and sign(0) = -1 (the bipolar perceptron) hold?"""
    assert act.step(0.0) == 1.0 and act.step(-0.1) == 0.0
    assert act.sign(0.0) == -1.0 and act.sign(0.1) == 1.0
