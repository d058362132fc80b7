"""The perceptron: the learning rule, convergence on separable gates, none on XOR."""
import numpy as np
import pytest

from utils import Perceptron, data
from utils.perceptron import perceptron_predict, perceptron_update


@pytest.mark.parametrize("encoding, activation", [("binary", "step"), ("bipolar", "sign")])
@pytest.mark.parametrize("gate", ["AND", "OR", "NAND", "NOR"])
def test_converges_on_separable_gates(gate, encoding, activation):
    """Does the learning rule find a separating line for every linearly separable gate?"""
    X, y = data.logic_gate(gate, encoding)
    p = Perceptron(2, activation)
    history = p.fit(X, y, num_epochs=100)
    assert history["converged"]
    assert history["errors"][-1] == 0
    np.testing.assert_array_equal(p.predict(X), y)


@pytest.mark.parametrize("encoding, activation", [("binary", "step"), ("bipolar", "sign")])
def test_never_converges_on_xor(encoding, activation):
    """Does the learning rule keep making mistakes on XOR, epoch after epoch?"""
    X, y = data.xor(encoding)
    history = Perceptron(2, activation).fit(X, y, num_epochs=500)
    assert not history["converged"]
    assert history["epochs"] == 500
    assert min(history["updates"]) > 0
    assert min(history["errors"]) >= 1


def test_lecture_bipolar_or():
    """Does the lecture's bipolar OR, w1 = w2 = 1 and b = 1, compute OR with a sign unit?"""
    X, y = data.logic_gate("OR", "bipolar")
    np.testing.assert_array_equal(perceptron_predict(X, [1.0, 1.0], 1.0, "sign"), y)


def test_update_rule():
    """Does one update move w by lr * (y - y_hat) * x, and leave a right answer alone?"""
    w, b = np.array([0.5, -0.5]), 0.0
    x = np.array([1.0, 1.0])
    w2, b2, err = perceptron_update(x, 1, w, b, lr=0.5, activation="step")
    assert err == 0 and np.all(w2 == w) and b2 == b  # 0.5 - 0.5 + 0 = 0 -> step gives 1
    w3, b3, err = perceptron_update(x, 0, w, b, lr=0.5, activation="step")
    assert err == -1
    np.testing.assert_allclose(w3, w - 0.5 * x)
    assert b3 == -0.5
    np.testing.assert_allclose(w, [0.5, -0.5])  # inputs untouched


def test_unknown_unit_is_named():
    """Does an unknown perceptron activation list the valid ones?"""
    with pytest.raises(ValueError, match="step, sign"):
        Perceptron(2, "sigmoid")
