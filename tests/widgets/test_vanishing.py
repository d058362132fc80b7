"""Tests of notebook 6's vanishing-gradient explorer (utils.widgets.vanishing), without a browser."""
import numpy as np
import pytest

from utils import MLP, data, widgets

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def explorer():
    return widgets.vanishing_explorer().explorer


def geometric_mean_norms(sizes, activation, init, seeds=(0, 1, 2), std=None):
    """Per-layer ||dW|| at initialisation on the explorer's moons, geometric mean over the seeds."""
    X, y = data.make_moons(100, noise=0.1, seed=0)
    rows = []
    for seed in seeds:
        net = MLP(sizes, activation, loss="bce", init=init, seed=seed, std=std)
        net.forward(X)
        grads = net.backward(net.targets(y))
        rows.append([np.linalg.norm(grads[f"dW{i}"]) for i in range(1, len(sizes))])
    return np.exp(np.log(rows).mean(axis=0))


def test_opens_on_a_deep_sigmoid_net(explorer):
    """Does the explorer open on 10 sigmoid layers whose first-layer gradient is ~1e-5 of the last's?"""
    assert explorer.last_error is None
    assert explorer.sizes == [2] + [16] * 9 + [1]
    gold = geometric_mean_norms(explorer.sizes, "sigmoid", "xavier")
    np.testing.assert_allclose(explorer.norms, gold, rtol=1e-10)
    np.testing.assert_allclose(explorer.norm_line.get_ydata(), gold, rtol=1e-10)
    np.testing.assert_array_equal(explorer.norm_line.get_xdata(), np.arange(1, 11))
    assert explorer.ratio == pytest.approx(gold[0] / gold[-1])
    assert explorer.ratio < 1e-4
    assert f"{explorer.ratio:.1e}" in explorer.readout.value
    assert len(explorer.losses) == 50 and explorer.diverged_at is None
    assert explorer.losses[-1] == pytest.approx(np.log(2.0), abs=0.01)  # stalled at guessing
    assert explorer.picture.widget.value[:8] == PNG


def test_relu_with_he_keeps_gradients_and_learns(explorer):
    """Does switching to ReLU with He init keep the norms of order one, redraw in place, and learn?"""
    line, png, stalled = explorer.norm_line, explorer.picture.widget.value, explorer.losses[-1]
    readout = explorer.readout.value
    explorer.controls["activation"].value = "relu"
    explorer.controls["init"].value = ("he", None)
    assert explorer.last_error is None
    gold = geometric_mean_norms(explorer.sizes, "relu", "he")
    np.testing.assert_allclose(explorer.norms, gold, rtol=1e-10)
    assert explorer.norm_line is line  # the same artist, with new data
    np.testing.assert_allclose(line.get_ydata(), gold, rtol=1e-10)
    assert 0.1 <= explorer.ratio <= 10
    assert explorer.losses[-1] < 0.5 * stalled
    assert "relu" in explorer.readout.value and explorer.readout.value != readout
    assert explorer.picture.widget.value != png


def test_depth_slider_changes_the_network(explorer):
    """Does a depth of 4 give a 4-layer network, 4 points on the line and new x ticks?"""
    explorer.controls["depth"].value = 4
    assert explorer.sizes == [2, 16, 16, 16, 1]
    assert explorer.norms.shape == (4,) and len(explorer.net.layers) == 4
    np.testing.assert_array_equal(explorer.norm_line.get_xdata(), [1, 2, 3, 4])
    np.testing.assert_array_equal(explorer.ax_norms.get_xticks(), [1, 2, 3, 4])
    assert "L = 4 layers" in explorer.readout.value


def test_too_large_init_explodes_and_diverges(explorer):
    """Does a std-1 normal init on ReLU give huge norms and a training run that is stopped and named?"""
    explorer.controls["activation"].value = "relu"
    explorer.controls["init"].value = ("normal", 1.0)
    assert explorer.last_error is None
    np.testing.assert_allclose(explorer.norms,
                               geometric_mean_norms(explorer.sizes, "relu", "normal", std=1.0),
                               rtol=1e-10)
    assert explorer.norms.min() > 100  # He init gives about 0.1 here
    assert explorer.diverged_at is not None and explorer.accuracy is None
    assert len(explorer.losses) == explorer.diverged_at
    assert "diverged" in explorer.readout.value


def test_callback_error_is_shown(explorer, breaks_visibly):
    """Does an exception inside a callback appear in the error area and the readout?"""

    def move(value):
        return lambda: setattr(explorer.controls["width"], "value", value)

    breaks_visibly(explorer, explorer, "compute", move(8), move(4))
    assert explorer.sizes[1] == 4


def test_rejects_unknown_choices():
    """Does the builder refuse an unknown activation, initialiser, width or depth?"""
    with pytest.raises(ValueError, match="activation"):
        widgets.vanishing_explorer(activation="softplus")
    with pytest.raises(ValueError, match="init"):
        widgets.vanishing_explorer(init="lecun")
    with pytest.raises(ValueError, match="width"):
        widgets.vanishing_explorer(width=3)
    with pytest.raises(ValueError, match="depth"):
        widgets.vanishing_explorer(depth=1)
