"""Tests of notebook 5's softmax explorer (utils.widgets.softmax), driven without a browser."""
import numpy as np
import pytest

from utils import activations, widgets

SHEET = np.array([-3.44, 1.16, -0.81, 3.91])  # dog, cat, boat, airplane


@pytest.fixture
def explorer():
    return widgets.softmax_explorer().explorer


def heights(bars):
    return np.array([bar.get_height() for bar in bars])


def test_opens_on_the_sheet(explorer):
    """Does the explorer open on the sheet's scores, with the cat as the true class?"""
    s = explorer.state()
    assert explorer.last_error is None
    np.testing.assert_allclose(s["scores"], SHEET)
    np.testing.assert_allclose(s["exp"], np.exp(SHEET))
    np.testing.assert_allclose(s["probs"], activations.softmax(SHEET))
    np.testing.assert_allclose(heights(explorer.prob_bars), s["probs"])
    np.testing.assert_allclose(heights(explorer.exp_bars), s["exp"])
    assert s["loss"] == pytest.approx(-np.log(s["probs"][1]))
    assert "cat" in explorer.readout.value and "2.8209" in explorer.readout.value
    assert explorer.picture.widget.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_moving_a_score_redraws(explorer):
    """Does raising the cat's score lift its bar, lower the loss and change the picture?"""
    png, loss = explorer.picture.widget.value, explorer.state()["loss"]
    explorer.controls["cat"].value = 5.0
    s = explorer.state()
    gold = activations.softmax(np.array([-3.44, 5.0, -0.81, 3.91]))
    np.testing.assert_allclose(s["probs"], gold)
    np.testing.assert_allclose(heights(explorer.prob_bars), gold)
    assert s["loss"] < loss
    assert f"{s['loss']:.4f}" in explorer.readout.value
    assert explorer.picture.widget.value != png


def test_temperature_flattens(explorer):
    """Does a temperature of 5 pull the probabilities towards 1/C, and rescale the e^(z/T) bars?"""
    explorer.controls["temperature"].value = 5.0
    s = explorer.state()
    np.testing.assert_allclose(s["probs"], activations.softmax(SHEET, temperature=5.0))
    np.testing.assert_allclose(heights(explorer.exp_bars), np.exp(SHEET / 5.0))
    assert s["probs"].max() < activations.softmax(SHEET).max()
    assert s["probs"].sum() == pytest.approx(1.0)


def test_true_class_dropdown(explorer):
    """Does choosing the airplane as the true class give the sheet's loss 0.0709 and move the highlight?"""
    explorer.controls["true_class"].label = "airplane"
    assert explorer.state()["loss"] == pytest.approx(0.070911, abs=1e-6)
    assert "0.0709" in explorer.readout.value
    colours = [bar.get_facecolor() for bar in explorer.prob_bars]
    assert colours[3] != colours[1]
    assert colours[0] == colours[1] == colours[2]


def test_callback_error_is_shown(explorer, breaks_visibly):
    """Does an exception inside a callback appear in the error area and the readout?"""

    def move(value):
        return lambda: setattr(explorer.controls["dog"], "value", value)

    breaks_visibly(explorer, explorer, "state", move(0.0), move(1.0))


def test_rejects_mismatched_arguments():
    """Does the builder refuse a score list of the wrong length, or an unknown true class?"""
    with pytest.raises(ValueError, match="scores"):
        widgets.softmax_explorer(scores=(1.0, 2.0))
    with pytest.raises(ValueError, match="true_class"):
        widgets.softmax_explorer(true_class="frog")
