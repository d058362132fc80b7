"""Tests of notebook 3's MLP playground (utils.widgets.playground), driven without a browser."""
import re

import numpy as np
import pytest

import utils
from utils import data, widgets

PNG_HEADER = b"\x89PNG\r\n\x1a\n"


DEFAULTS = {"dataset": "XOR cloud", "width": 4, "activation": "tanh", "lr": 1.0, "num_epochs": 300,
            "seed": 0}


@pytest.fixture(scope="module")
def box():
    return widgets.mlp_playground(**DEFAULTS)


@pytest.fixture
def ex(box, monkeypatch):
    """The shared explorer, back at the default controls with a freshly trained network."""
    ex = box.explorer
    changed = False
    for name, value in DEFAULTS.items():
        if ex.controls[name].value != value:
            ex.controls[name].value = value  # each change retrains
            changed = True
    if not changed:
        ex.guarded(ex.retrain)()
    assert ex.last_error is None
    monkeypatch.setattr(ex, "frame_interval", 100.0)  # one frame per run unless a test asks
    return ex


def readout_text(ex):
    return re.sub(r"<[^>]+>", "", ex.readout.value)


def readout_number(ex, label):
    """The number printed after ``label`` in the readout."""
    return float(re.search(re.escape(label) + r"\s+([-+0-9.]+)", readout_text(ex)).group(1))


def visible_units(ex):
    return sum(uax.get_visible() for uax, _, _ in ex.unit_panels)


def test_builder_returns_box_with_controls_button_and_picture(box):
    """Does the builder return an undisplayed VBox with its explorer, controls, button and PNG?"""
    ex = box.explorer
    assert {"dataset", "width", "activation", "lr", "num_epochs", "seed"} == set(ex.controls)
    assert ex.picture.widget in box.children
    assert ex.readout in box.children and ex.errors in box.children
    assert ex.picture.widget.value[:8] == PNG_HEADER
    assert ex.last_error is None
    assert isinstance(ex.net, utils.MLP) and ex.net.sizes == [2, 4, 1]
    assert len(ex.losses) == 300


def test_training_matches_utils_mlp(ex):
    """Is the playground's network the utils.MLP that full-batch gradient descent gives?"""
    X, y = widgets.playground_data("XOR cloud")
    gold = utils.MLP([2, 4, 1], "tanh", loss="bce", seed=0)
    Y = gold.targets(y)
    gold_losses = [gold.train_step(X, Y, 1.0) for _ in range(300)]
    np.testing.assert_allclose(ex.losses, gold_losses, rtol=1e-10)
    for name, value in gold.params.items():
        np.testing.assert_allclose(ex.net.params[name], value, rtol=1e-10)
    assert readout_number(ex, "epoch") == 300
    assert readout_number(ex, "loss") == pytest.approx(gold_losses[-1], abs=1e-4)
    assert readout_number(ex, "training accuracy") == pytest.approx(100 * gold.accuracy(X, y), abs=0.5)


def test_changing_the_width_retrains_and_redraws(ex):
    """Does a new width give a fresh network, a new readout, a new PNG and one panel per unit?"""
    png, text = ex.picture.widget.value, readout_text(ex)
    assert visible_units(ex) == 4
    ex.controls["width"].value = 2
    assert ex.last_error is None
    assert ex.net.sizes == [2, 2, 1]
    assert len(ex.losses) == 300
    assert visible_units(ex) == 2
    assert readout_text(ex) != text
    assert ex.picture.widget.value != png and ex.picture.widget.value[:8] == PNG_HEADER


def test_picture_shows_the_networks_probabilities_and_hidden_units(ex):
    """Do the image arrays hold P(y = 1) and each hidden unit's activation on the grid?"""
    R = ex.resolution
    P = ex.net.predict_proba(ex.grid)[:, 0].reshape(R, R)
    np.testing.assert_allclose(ex.prob_image.get_array(), P)
    H = np.tanh(ex.grid @ ex.net.params["W1"] + ex.net.params["b1"])  # (R*R, 4)
    for j in range(4):
        np.testing.assert_allclose(ex.unit_panels[j][1].get_array(), H[:, j].reshape(R, R))
    np.testing.assert_allclose(ex.loss_line.get_ydata(), ex.losses)


def test_changing_the_data_set_moves_points_and_extent(ex):
    """Does choosing moons load the moons, move the scatter and refit the image to them?"""
    ex.controls["dataset"].value = "moons"
    X, y = data.make_moons(150, noise=0.15, seed=0)
    np.testing.assert_allclose(ex.X, X)
    np.testing.assert_array_equal(ex.y, y)
    np.testing.assert_allclose(ex.points.get_offsets(), X)
    left, right, bottom, top = ex.prob_image.get_extent()
    assert left < X[:, 0].min() and right > X[:, 0].max()
    assert bottom < X[:, 1].min() and top > X[:, 1].max()
    assert ex.last_error is None


def test_train_button_continues_from_the_current_weights(ex):
    """Does Train more add `num_epochs` epochs to the same run instead of starting again?"""
    before = [loss for loss in ex.losses]
    W1 = ex.net.params["W1"].copy()
    png = ex.picture.widget.value
    ex.controls["num_epochs"].value = 100  # retrains from scratch: 100 epochs
    assert len(ex.losses) == 100
    ex.train_button.click()
    assert ex.last_error is None
    assert len(ex.losses) == 200
    assert not np.allclose(ex.net.params["W1"], W1)
    assert ex.losses[-1] < before[0]
    assert readout_number(ex, "epoch") == 200
    assert ex.picture.widget.value != png


def test_long_runs_are_redrawn_between_chunks(ex, monkeypatch):
    """With frame_interval = 0, is the picture redrawn every FRAME_EPOCHS epochs while it trains?"""
    drawn = []
    draw = ex.draw

    def counting_draw():
        drawn.append(len(ex.losses))
        return draw()

    monkeypatch.setattr(ex, "draw", counting_draw)
    monkeypatch.setattr(ex, "frame_interval", 0.0)
    ex.controls["num_epochs"].value = 200  # a frame every FRAME_EPOCHS = 50 epochs
    assert drawn == [50, 100, 150, 200]


def test_an_error_in_a_callback_is_shown_in_the_error_area(ex, breaks_visibly):
    """Does an exception raised while retraining show up in the error area and the readout?"""

    def move(value):
        return lambda: setattr(ex.controls["seed"], "value", value)

    breaks_visibly(ex, ex, "draw", move(3), move(4))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_a_loss_that_stops_being_finite_is_reported(ex):
    """Does training with NaN weights stop with a FloatingPointError in the error area?"""
    ex.net.set_params(W1=np.full((2, 4), np.nan))
    ex.train_button.click()
    assert isinstance(ex.last_error, FloatingPointError)
    assert "learning rate" in str(ex.last_error)


def test_retraining_records_where_the_time_goes(ex):
    """Does a retrain record its training and drawing times? (Their speed is a figure in tests/benchmark.py.)"""
    ex.retrain()
    assert set(ex.timings) == {"train", "draw"}
    assert all(seconds > 0 for seconds in ex.timings.values())
