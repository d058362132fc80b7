"""The explorers' shared shell (utils.widgets.base): holding the redraw, errors, the one layout."""
import ipywidgets
import pytest

from utils.widgets.base import Explorer, FigureImage


class Counting(Explorer):
    """Two sliders; ``update`` records what it saw instead of drawing."""

    def __init__(self):
        super().__init__()
        self.controls = {"a": ipywidgets.IntSlider(), "b": ipywidgets.IntSlider()}
        self.picture = FigureImage(figsize=(1, 1))
        self.seen = []
        self.observe_controls()

    def update(self):
        self.seen.append((self.controls["a"].value, self.controls["b"].value))

    def control_rows(self):
        return [ipywidgets.HBox([self.controls["a"], self.controls["b"]])]


def test_each_change_updates_once():
    """Does moving one control run update once, with the new value?"""
    ex = Counting()
    ex.controls["a"].value = 3
    assert ex.seen == [(3, 0)]


def test_holding_updates_once_after_all_controls_moved():
    """Does holding() run update once, at the end of the outermost block, with every new value?"""
    ex = Counting()
    with ex.holding():
        ex.controls["a"].value = 1
        with ex.holding():
            ex.controls["b"].value = 2
        assert ex.seen == []
        ex.controls["a"].value = 5
    assert ex.seen == [(5, 2)]
    ex.controls["b"].value = 7  # the hold is over
    assert ex.seen == [(5, 2), (5, 7)]


def test_an_error_inside_holding_skips_the_update_and_releases_the_hold():
    """Does an exception in a held block propagate without an update, and leave nothing held?"""
    ex = Counting()
    with pytest.raises(KeyError):
        with ex.holding():
            ex.controls["a"].value = 1
            raise KeyError("on purpose")
    assert ex.seen == []
    ex.controls["b"].value = 2
    assert ex.seen == [(1, 2)]


def test_box_lays_out_controls_picture_readout_errors(breaks_visibly):
    """Is the box the control rows, the picture, the readout and the error area, carrying .explorer?"""
    ex = Counting()
    box = ex.box()
    assert box.explorer is ex
    assert box.children[1:] == (ex.picture.widget, ex.readout, ex.errors)
    assert box.children[0].children == (ex.controls["a"], ex.controls["b"])
    breaks_visibly(ex, ex, "update", lambda: setattr(ex.controls["a"], "value", 9),
                   lambda: setattr(ex.controls["a"], "value", 8))
