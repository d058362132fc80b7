"""Tests of notebook 4's backprop stepper (utils.widgets.backprop), driven without a browser."""
import numpy as np
import pytest

from utils import MLP, widgets


@pytest.fixture(scope="module")
def box():
    return widgets.backprop_stepper()


def test_builds_the_lecture_example(box):
    """Does the default stepper start at step 0 of 29 with the lecture's inputs and targets?"""
    ex = box.explorer
    ex.reset()
    assert ex.last_error is None
    assert len(ex.steps) == 29 and ex.step == 0 and ex.current is None
    assert "Step 0 / 29" in ex.readout.value
    assert "x = (0.12, 0.3)" in ex.readout.value and "y = (0.1, 0.9)" in ex.readout.value
    assert ex.picture.widget.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert ex.buttons["previous"].disabled and not ex.buttons["next"].disabled


def test_setting_the_step_changes_readout_and_picture(box):
    """Does moving the step slider show that step's formula and value and redraw the picture?"""
    ex = box.explorer
    ex.reset()
    before = ex.picture.widget.value
    ex.controls["step"].value = 5
    assert ex.last_error is None
    assert ex.current.name == "z2[0]"
    assert "Step 5 / 29" in ex.readout.value and "forward pass" in ex.readout.value
    assert "z₁^[2]" in ex.readout.value and "<b>0.7067</b>" in ex.readout.value
    after = ex.picture.widget.value
    assert after != before
    ex.controls["step"].value = 6
    assert ex.picture.widget.value != after


def test_buttons_move_and_stop_at_the_ends(box):
    """Do Next, Previous and Reset move the step, and are the buttons disabled at the ends?"""
    ex = box.explorer
    ex.reset()
    ex.buttons["next"].click()
    ex.buttons["next"].click()
    assert ex.step == 2 and ex.current.name == "z1[1]"
    ex.buttons["previous"].click()
    assert ex.step == 1 and "0.12×0.15 + 0.3×0.2 + 0.1" in ex.readout.value
    ex.controls["step"].value = 29
    assert ex.buttons["next"].disabled
    ex.buttons["next"].click()  # click() fires even when disabled; the step must not overshoot
    assert ex.step == 29 and "net.grads" in ex.readout.value
    ex.buttons["reset"].click()
    assert ex.step == 0 and ex.buttons["previous"].disabled


def test_backward_step_shows_the_gradient(box):
    """Does the step for dW2[0, 0] show 0.5444 × 0.126 = 0.0686, the corrected lecture number?"""
    ex = box.explorer
    names = [s.name for s in ex.steps]
    ex.controls["step"].value = names.index("dW2[0, 0]") + 1
    assert "backward pass" in ex.readout.value
    assert "0.5444×0.126" in ex.readout.value and "<b>0.0686</b>" in ex.readout.value
    assert ex.current.edges == (("edge", 1, 0, 0),)


def test_other_networks():
    """Does the stepper take any MLP and one example, e.g. the exercise sheet's 1-2-2-1 network?"""
    net = MLP([1, 2, 2, 1], ["sigmoid", "sigmoid", "identity"], loss="mse", seed=0)
    ex = widgets.backprop_stepper(net, np.array([[0.5]]), np.array([[0.25]])).explorer
    assert len(ex.steps) == (2 * 5 + 1) + (1 + 2 * 5 + 8 + 4)  # 5 units, 8 weights, 4 hidden
    ex.controls["step"].value = len(ex.steps)
    assert ex.last_error is None and "Step 34 / 34" in ex.readout.value


def test_callback_errors_are_shown(box, breaks_visibly):
    """Does an exception inside a callback appear in the error area instead of vanishing?"""
    ex = box.explorer
    ex.reset()

    def move(value):
        return lambda: setattr(ex.controls["step"], "value", value)

    breaks_visibly(ex, ex, "draw", move(3), move(4))