"""Tests of notebook 1's neuron explorer (utils.widgets.neuron), driven without a browser."""
import re

import numpy as np
import pytest

from utils import activations, data, losses, widgets


@pytest.fixture(scope="module")
def box():
    return widgets.neuron_explorer()


@pytest.fixture
def ex(box):
    """The shared explorer; each test sets the parameters it starts from (a render costs ~0.2 s)."""
    ex = box.explorer
    ex.controls["lr"].value = 0.5
    return ex


def readout_number(ex, label):
    """The number printed after ``label`` in the readout HTML."""
    text = re.sub(r"<[^>]+>", "", ex.readout.value)
    return float(re.search(re.escape(label) + r"\s*=\s*([-+0-9.]+)", text).group(1))


def test_builder_returns_box_with_controls_and_picture(box):
    """Does the builder return an undisplayed VBox carrying its explorer, sliders and PNG?"""
    ex = box.explorer
    assert {"w1", "w2", "b", "lr"} <= set(ex.controls)
    assert ex.picture.widget in box.children
    assert ex.readout in box.children and ex.errors in box.children
    assert ex.picture.widget.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_moving_a_slider_updates_state_readout_and_picture(ex):
    """Does moving w1 change the probabilities, the loss in the readout and the PNG?"""
    ex.set_params([1.0, 1.0], 0.0)
    png, loss, P = ex.picture.widget.value, ex.loss, ex.probabilities.copy()
    ex.controls["w1"].value = -2.0
    assert ex.last_error is None
    np.testing.assert_allclose(ex.w, [-2.0, 1.0])
    assert not np.allclose(ex.probabilities, P)
    assert ex.loss != loss
    assert readout_number(ex, "J") == pytest.approx(ex.loss, abs=1e-4)
    assert ex.picture.widget.value != png


def test_state_matches_the_maths_in_utils(ex):
    """Are the explorer's z, a, loss, accuracy and gradient those of sigmoid + mean BCE?"""
    ex.set_params([-1.5, 0.5], 0.3)
    X, y = ex.X, ex.y
    z = X @ np.array([-1.5, 0.5]) + 0.3  # (N,)
    np.testing.assert_allclose(ex.z, z)
    np.testing.assert_allclose(ex.a, activations.sigmoid(z))
    assert ex.loss == pytest.approx(losses.binary_cross_entropy_with_logits(z, y.astype(float)))
    assert ex.accuracy == pytest.approx(np.mean((z >= 0) == (y == 1)))
    dz = losses.binary_cross_entropy_with_logits_grad(z, y.astype(float))  # (N,)
    np.testing.assert_allclose(ex.grads["dw"], X.T @ dz)
    assert ex.grads["db"] == pytest.approx(dz.sum())
    assert readout_number(ex, "accuracy") == pytest.approx(ex.accuracy, abs=1e-3)


def test_surface_and_line_artists_are_updated_in_place(ex):
    """Do the image and the line artists stay the same objects and show the new boundary?"""
    surface, line = ex._surface, ex._line
    ex.set_params([0.5, -2.0], 1.0)
    assert ex._surface is surface and ex._line is line
    np.testing.assert_allclose(surface.get_array(), ex.probabilities)
    x1, x2 = line.get_data()
    np.testing.assert_allclose(0.5 * np.asarray(x1) - 2.0 * np.asarray(x2) + 1.0, 0.0, atol=1e-12)


def test_vertical_and_missing_boundary(ex):
    """Is the line vertical when w2 = 0, and absent (without error) when w = 0?"""
    ex.set_params([2.0, 0.0], -1.0)
    x1, _ = ex._line.get_data()
    np.testing.assert_allclose(x1, 0.5)
    ex.set_params([0.0, 0.0], 0.0)
    assert ex.last_error is None
    assert len(ex._line.get_data()[0]) == 0
    np.testing.assert_allclose(ex.probabilities, 0.5)
    assert ex.loss == pytest.approx(np.log(2))


def test_gradient_step_moves_against_the_gradient_and_lowers_the_loss(ex):
    """Does one click move (w, b) by -lr * gradient and lower the loss?"""
    ex.set_params([1.0, 1.0], 0.0)
    w, b, loss, g = ex.w, ex.b, ex.loss, dict(ex.grads)
    ex.step_button.click()
    assert ex.last_error is None
    np.testing.assert_allclose(ex.w, w - 0.5 * g["dw"])
    assert ex.b == pytest.approx(b - 0.5 * g["db"])
    assert ex.loss < loss
    assert readout_number(ex, "J") == pytest.approx(ex.loss, abs=1e-4)


def test_callback_error_is_shown_in_the_error_area(ex, breaks_visibly):
    """Does an exception inside a callback appear in the error area and the readout?"""

    def move(value):
        return lambda: setattr(ex.controls["b"], "value", value)

    breaks_visibly(ex, ex.net, "forward", move(0.7), move(0.2))


def test_custom_data_and_shape_errors():
    """Does the builder accept the caller's data and reject X that is not (N, 2)?"""
    X, y = data.make_blobs(n=20, centers=2, seed=3)
    ex = widgets.neuron_explorer(X, y, w=(0.0, 1.0), b=0.0).explorer
    assert ex.z.shape == (20,) and ex.probabilities.ndim == 2
    with pytest.raises(ValueError, match=r"\(\?, 2\)"):
        widgets.NeuronExplorer(np.zeros((5, 3)), np.zeros(5))
