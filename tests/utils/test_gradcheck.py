"""Gradient checking: the numerical gradient and the comparison report."""
import numpy as np
import pytest

from utils.gradcheck import numerical_gradient, numerical_gradient_of, rel_error, report


def test_numerical_gradient_of_a_quadratic(rng):
    """Is the centred difference exact (to rounding) on x^T A x, whose gradient is (A + A^T) x?"""
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    mine = numerical_gradient_of(lambda v: v @ A @ v, x)
    np.testing.assert_allclose(mine, (A + A.T) @ x, rtol=1e-8)


def test_numerical_gradient_restores_its_input(rng):
    """Is the perturbed array left exactly as it was?"""
    W = rng.normal(size=(3, 2))
    before = W.copy()
    numerical_gradient(lambda: np.sum(W ** 3), W)
    np.testing.assert_array_equal(W, before)


def test_integer_input_is_refused():
    """Does an integer array, which cannot be perturbed by 1e-5, raise a clear error?"""
    with pytest.raises(TypeError, match="float array"):
        numerical_gradient(lambda: 0.0, np.arange(3))


def test_rel_error_and_report():
    """Does the report say the shape, the error and ok or FAIL in one line?"""
    a = np.array([[1.0, 2.0]])
    assert rel_error(a, a) == 0.0
    assert rel_error(a, 2 * a) == pytest.approx(1 / 3)
    assert report("dW", a, a) == "dW (1, 2): relative error 0.0e+00 <= 1e-07  ok"
    assert report("dW", a, 2 * a).endswith("FAIL")
    assert "shape" in report("dW", a, a.T) and report("dW", a, a.T).endswith("FAIL")
