"""The dense layer: forward/backward pairs against numerical gradients, initialisers."""
import numpy as np
import pytest

from utils.gradcheck import numerical_gradient, rel_error
from utils.layers import Dense, dense_backward, dense_forward, init_weights
from utils.shapes import ShapeError

TOL = 1e-7  # largest relative error, float64, centred differences with h = 1e-5


def test_dense_backward_matches_numerical(rng):
    """Do dX, dW and db from dense_backward match numerical gradients, in their variables' shapes?"""
    N, D, M = 5, 3, 4
    X, W, b = rng.normal(size=(N, D)), rng.normal(size=(D, M)), rng.normal(size=M)
    dZ = rng.normal(size=(N, M))

    def f():
        return np.sum(dense_forward(X, W, b)[0] * dZ)

    dX, dW, db = dense_backward(dZ, dense_forward(X, W, b)[1])
    for name, mine, var in [("dX", dX, X), ("dW", dW, W), ("db", db, b)]:
        assert mine.shape == var.shape, name
        assert rel_error(mine, numerical_gradient(f, var)) < TOL, name


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "leaky_relu", "identity", "softmax"])
def test_dense_layer_backward_matches_numerical(activation, rng):
    """Does Dense.backward through its activation match numerical gradients for W, b and X?"""
    layer = Dense(3, 4, activation, "xavier", rng)
    X = rng.normal(size=(6, 3))
    dA = rng.normal(size=(6, 4))

    def f():
        return np.sum(layer.forward(X) * dA)

    layer.forward(X)
    dX = layer.backward(dA)
    dW, db = layer.dW.copy(), layer.db.copy()
    assert rel_error(dW, numerical_gradient(f, layer.W)) < 1e-6
    assert rel_error(db, numerical_gradient(f, layer.b)) < 1e-6
    assert rel_error(dX, numerical_gradient(f, X)) < 1e-6


def test_dense_forward_names_shapes():
    """Does a wrong input width name the expected and the actual shape?"""
    with pytest.raises(ShapeError, match=r"X should have shape \(\?, 3\) but has shape \(5, 2\)"):
        dense_forward(np.zeros((5, 2)), np.zeros((3, 4)), np.zeros(4))
    with pytest.raises(ShapeError, match=r"b should have shape \(4,\) but has shape \(1, 4\)"):
        dense_forward(np.zeros((5, 3)), np.zeros((3, 4)), np.zeros((1, 4)))


def test_backward_before_forward_is_explained():
    """Does backward without a forward pass say so?"""
    with pytest.raises(RuntimeError, match="before forward"):
        Dense(2, 2, init="zeros").backward(np.zeros((1, 2)))


@pytest.mark.parametrize("scheme, var", [("xavier", 2 / (400 + 300)), ("he", 2 / 400), ("normal", 1e-4)])
def test_initialiser_variances(scheme, var):
    """Do the initialisers draw weights of mean 0 with the stated variance?"""
    W = init_weights(400, 300, scheme, np.random.default_rng(0))
    assert W.shape == (400, 300)
    assert abs(W.mean()) < 4 * np.sqrt(var / W.size)
    assert W.var() == pytest.approx(var, rel=0.02)  # 120,000 draws: sd of the estimate ~0.4 %


def test_zeros_and_unknown_initialiser():
    """Are zeros zero, and does an unknown scheme list the valid ones?"""
    assert not init_weights(3, 2, "zeros").any()
    with pytest.raises(ValueError, match="zeros, normal, xavier, he"):
        init_weights(3, 2, "lecun", np.random.default_rng(0))
