"""Losses: values against the formulas, gradients against numerical gradients, stability."""
import warnings

import numpy as np
import pytest

from utils import losses
from utils.activations import sigmoid, softmax
from utils.data import one_hot
from utils.gradcheck import numerical_gradient_of, rel_error
from utils.shapes import ShapeError

TOL = 1e-6  # largest relative error, float64, centred differences with h = 1e-5


def probs(rng, shape):
    return sigmoid(rng.normal(size=shape))


@pytest.mark.parametrize(
    "value, grad, make",
    [
        (losses.binary_cross_entropy, losses.binary_cross_entropy_grad,
         lambda r: (probs(r, (7, 1)), r.integers(0, 2, (7, 1)).astype(float))),
        (losses.binary_cross_entropy_with_logits, losses.binary_cross_entropy_with_logits_grad,
         lambda r: (r.normal(size=(7, 2)), r.integers(0, 2, (7, 2)).astype(float))),
        (losses.categorical_cross_entropy, losses.categorical_cross_entropy_grad,
         lambda r: (softmax(r.normal(size=(6, 4))), one_hot(r.integers(0, 4, 6), 4))),
        (losses.softmax_cross_entropy_with_logits, losses.softmax_cross_entropy_with_logits_grad,
         lambda r: (r.normal(size=(6, 4)), one_hot(r.integers(0, 4, 6), 4))),
        (losses.mean_squared_error, losses.mean_squared_error_grad,
         lambda r: (r.normal(size=(5, 3)), r.normal(size=(5, 3)))),
        (losses.half_sum_squared_error, losses.half_sum_squared_error_grad,
         lambda r: (r.normal(size=(5, 3)), r.normal(size=(5, 3)))),
    ],
    ids=["bce", "bce_logits", "cce", "softmax_ce_logits", "mse", "half_sse"],
)
def test_gradient_matches_numerical(value, grad, make, rng):
    """Does each loss gradient agree with a centred numerical gradient, in the prediction's shape?"""
    pred, target = make(rng)
    gold = numerical_gradient_of(lambda p: value(p, target), pred)
    mine = grad(pred, target)
    assert mine.shape == pred.shape
    assert rel_error(mine, gold) < TOL


def test_values_follow_the_formulas(rng):
    """Do the losses equal their written formulas (means over N, the half-SSE a sum)?"""
    y_hat, y = probs(rng, (8, 1)), rng.integers(0, 2, (8, 1)).astype(float)
    gold = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    assert losses.binary_cross_entropy(y_hat, y) == pytest.approx(gold, rel=1e-12)
    z = rng.normal(size=(8, 1))
    assert losses.binary_cross_entropy_with_logits(z, y) == pytest.approx(
        losses.binary_cross_entropy(sigmoid(z), y), rel=1e-10)
    Z, Y = rng.normal(size=(5, 3)), one_hot(rng.integers(0, 3, 5), 3)
    assert losses.softmax_cross_entropy_with_logits(Z, Y) == pytest.approx(
        -np.mean(np.log(np.sum(softmax(Z) * Y, axis=1))), rel=1e-12)
    a, t = rng.normal(size=(4, 2)), rng.normal(size=(4, 2))
    assert losses.mean_squared_error(a, t) == pytest.approx(np.mean((a - t) ** 2))
    assert losses.half_sum_squared_error(a, t) == pytest.approx(0.5 * np.sum((t - a) ** 2))


def test_logit_losses_survive_1000():
    """Are the losses from scores finite and silent for scores of +-1000?"""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bce = losses.binary_cross_entropy_with_logits(np.array([[1000.0], [-1000.0]]),
                                                      np.array([[0.0], [0.0]]))
        ce = losses.softmax_cross_entropy_with_logits(np.array([[1000.0, -1000.0, 0.0]]),
                                                      np.array([[0.0, 1.0, 0.0]]))
    assert bce == pytest.approx(500.0)  # (1000 + 0) / 2
    assert ce == pytest.approx(2000.0)


def test_shape_mismatch_names_both_shapes():
    """Does a mismatched target name both shapes?"""
    with pytest.raises(ShapeError, match=r"\(4, 1\).*\(4,\)"):
        losses.binary_cross_entropy(np.full((4, 1), 0.5), np.zeros(4))


def test_unknown_loss_lists_valid_ones():
    """Does an unknown loss name list the valid ones?"""
    with pytest.raises(ValueError, match="bce, cce, half_sse, mse"):
        losses.get_loss("hinge")
