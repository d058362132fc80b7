"""Tests of notebook 2's gate explorer (utils.widgets.gates), driven without a browser."""
import re

import numpy as np
import pytest

from utils import data, perceptron, widgets
from utils.widgets import gates


@pytest.fixture(scope="module")
def box():
    return widgets.gate_explorer()


def load(ex, gate="OR", encoding="bipolar", w=(1.0, 1.0), b=1.0, lr=1.0, num_epochs=20):
    """Set every control with redrawing held back, then draw once (each PNG costs ~0.1 s)."""
    c = ex.controls
    with ex.holding():
        c["gate"].value, c["encoding"].value, c["lr"].value = gate, encoding, lr
        c["w1"].value, c["w2"].value, c["b"].value = w[0], w[1], b
        c["num_epochs"].value = num_epochs
        ex.next_index, ex.used_index = 0, None
    assert ex.last_error is None
    return ex


@pytest.fixture
def ex(box):
    """The module's explorer, put back on the lecture's bipolar OR with w = (1, 1), b = 1."""
    return load(box.explorer)


def marks(ex):
    """The ✓ / ✗ marks of the readout's truth table, in row order."""
    return re.findall("[✓✗]", ex.readout.value)


def test_builder_returns_box_with_controls_and_picture(box):
    """Does the builder return an undisplayed VBox carrying its explorer, controls and a PNG?"""
    ex = box.explorer
    assert {"gate", "encoding", "w1", "w2", "b", "lr", "num_epochs", "step", "train",
            "reset"} <= set(ex.controls)
    assert ex.errors in box.children
    assert ex.picture.widget.value[:8] == b"\x89PNG\r\n\x1a\n"


def test_opens_on_the_lecture_or(ex):
    """Does the lecture's bipolar OR (w1 = w2 = 1, b = 1) get all four rows right?"""
    X, y = data.logic_gate("OR", "bipolar")
    np.testing.assert_array_equal(ex.X, X)
    np.testing.assert_allclose(ex.z, [-1, 1, 1, 3])
    np.testing.assert_array_equal(ex.y_hat, y)
    assert ex.correct.all() and marks(ex) == ["✓"] * 4
    assert "computes OR" in ex.readout.value


def test_moving_a_slider_updates_state_table_and_picture(ex):
    """Does moving b to -1 make the (-1, 1) and (1, -1) rows wrong, in the table and the PNG?"""
    png = ex.picture.widget.value
    ex.controls["b"].value = -1.0
    assert ex.last_error is None
    assert ex.b == -1.0
    gold = perceptron.perceptron_predict(ex.X, [1.0, 1.0], -1.0, "sign")
    np.testing.assert_array_equal(ex.y_hat, gold)
    assert ex.correct.tolist() == [True, False, False, True]
    assert marks(ex) == ["✓", "✗", "✗", "✓"]
    assert "2 of 4 rows wrong" in ex.readout.value
    assert ex.picture.widget.value != png


def test_changing_gate_and_encoding_changes_the_table(ex):
    """Does choosing binary AND load its table, use the step unit and restart the step cycle?"""
    ex.next_index = 2
    ex.controls["gate"].value = "AND"
    ex.controls["encoding"].value = "binary"
    X, y = data.logic_gate("AND", "binary")
    np.testing.assert_array_equal(ex.X, X)
    np.testing.assert_array_equal(ex.y, y)
    assert ex.activation == "step" and ex.next_index == 0
    np.testing.assert_array_equal(ex.y_hat, perceptron.perceptron_predict(X, ex.w, ex.b, "step"))
    assert "AND in binary encoding" in ex.readout.value


def test_step_applies_the_rule_to_the_examples_in_order(box):
    """Does each step update w, b as utils.perceptron_update does, cycling through the rows?"""
    ex = load(box.explorer, "AND", "binary", w=(2.0, 2.0), b=2.0)
    ex.controls["reset"].click()
    assert ex.w.tolist() == [0.0, 0.0] and ex.b == 0.0
    X, y = data.logic_gate("AND", "binary")
    w, b = np.zeros(2), 0.0
    for k in range(5):
        ex.controls["step"].click()
        n = k % 4
        w, b, error = perceptron.perceptron_update(X[n], y[n], w, b, 1.0, "step")
        assert ex.last_error is None
        np.testing.assert_allclose(ex.w, w)
        assert ex.b == pytest.approx(b)
        assert ex.used_index == n and ex.next_index == (n + 1) % 4
        assert f"Step used example {n + 1}:" in ex.readout.value
        assert ("no change" in ex.message) == (error == 0)
    assert "background:#ffe0b3" in ex.readout.value  # the row the step used is shaded


def test_train_reports_convergence(box):
    """Does train on binary AND from zero converge as utils.Perceptron does, and say so?"""
    ex = load(box.explorer, "AND", "binary", w=(0.0, 0.0), b=0.0)
    ex.controls["train"].click()
    gold = perceptron.Perceptron(2, "step")
    history = gold.fit(*data.logic_gate("AND", "binary"), num_epochs=20)
    assert ex.last_error is None
    np.testing.assert_allclose(ex.w, gold.w)
    assert ex.b == gold.b
    assert ex.correct.all()
    assert f"converged after {history['epochs']} epochs" in ex.readout.value


def test_train_reports_no_convergence_on_xor(box):
    """Does train on XOR stop at the epoch cap, report it, and leave rows wrong?"""
    ex = load(box.explorer, "XOR", "binary", num_epochs=7)
    ex.controls["train"].click()
    assert ex.last_error is None
    assert ex.history["epochs"] == 7 and not ex.history["converged"]
    assert "No convergence within 7 epochs" in ex.readout.value
    assert not ex.correct.all()


def test_sliders_widen_when_the_rule_leaves_their_range(box):
    """Do the sliders stretch, rather than clip, when training takes a weight beyond 4?"""
    ex = load(box.explorer, "AND", "binary", w=(0.0, 0.0), b=0.0, lr=2.0)
    ex.controls["train"].click()
    gold = perceptron.Perceptron(2, "step", lr=2.0)
    gold.fit(*data.logic_gate("AND", "binary"), num_epochs=20)
    assert gold.b < -4  # the case this test is about
    assert ex.b == gold.b and ex.controls["b"].min <= gold.b
    ex.controls["b"].min = -4.0  # the fixture's reset cannot shrink the range again


def test_truth_table_marks_rows():
    """Does the HTML truth table mark each row right or wrong and shade the highlighted one?"""
    X, y = data.logic_gate("NOR")
    html = widgets.truth_table_html(X, {"NOR": y}, correct=[True, False, True, True], highlight=1)
    assert re.findall("[✓✗]", html) == ["✓", "✗", "✓", "✓"] and html.count("<tr") == 5
    assert html.count("background:#ffe0b3") == 1


def test_callback_error_is_shown_in_the_error_area(ex, breaks_visibly):
    """Does an exception inside a slider or button callback appear in the error area?"""

    def move(value):
        return lambda: setattr(ex.controls["w1"], "value", value)

    breaks_visibly(ex, gates, "perceptron_update", ex.controls["step"].click, move(0.5))
    breaks_visibly(ex, gates, "perceptron_predict", move(1.0), move(0.5))