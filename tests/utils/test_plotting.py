"""Plots: each draws what it says, from utils' numbers."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils import MLP, data, plotting  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_decision_boundary_shades_both_classes():
    """Does the boundary plot shade both classes and draw the 0.5 contour of a trained net?"""
    X, y = data.make_blobs(60, seed=0)
    net = MLP([2, 4, 1], "tanh", seed=0)
    net.fit(X, y, lr=0.5, num_epochs=100)
    ax = plotting.plot_decision_boundary(net.predict_proba, X, y, kind="probability", resolution=50)
    assert len(ax.collections) >= 3  # filled regions, the 0.5 contour, the points
    xx, yy, pts = plotting.decision_grid(X, resolution=50)
    assert xx.shape == (50, 50) and pts.shape == (2500, 2)
    assert pts[:, 0].min() < X[:, 0].min() and pts[:, 1].max() > X[:, 1].max()


def test_history_and_grad_norms():
    """Do the curves plot every epoch, and the gradient norms use a log scale?"""
    X, y = data.xor()
    history = MLP([2, 3, 3, 1], seed=0).fit(X, y, lr=1.0, num_epochs=25)
    loss_ax, acc_ax = plotting.plot_history(history)
    assert len(loss_ax.lines[0].get_ydata()) == 25 and len(acc_ax.lines[0].get_ydata()) == 25
    ax = plotting.plot_grad_norms(history["grad_norms"])
    assert ax.get_yscale() == "log" and len(ax.lines) == 3
    ax = plotting.plot_grad_norms(history["grad_norms"][0])
    np.testing.assert_allclose(ax.lines[0].get_ydata(), history["grad_norms"][0])


def test_line_in_box_handles_slanted_vertical_and_absent_lines():
    """Does line_in_box give points on w . x + b = 0, vertical lines included, and nothing for w = 0?"""
    xs, ys = plotting.line_in_box([1.0, 1.0], 1.0, (-2, 2), (-2, 2))
    np.testing.assert_allclose(1.0 + xs + ys, 0.0)  # the lecture's bipolar OR: 1 + x1 + x2 = 0
    xs, ys = plotting.line_in_box([2.0, 0.0], -1.0, (-2, 2), (-2, 2))
    np.testing.assert_allclose(xs, [0.5, 0.5])
    assert [len(a) for a in plotting.line_in_box([0.0, 0.0], 1.0, (-2, 2), (-2, 2))] == [0, 0]


def test_perceptron_picture_marks_mistakes():
    """Does plot_perceptron draw the line and colour a wrongly classified point red?"""
    X, y = data.logic_gate("AND")
    ax = plotting.plot_perceptron(X, y, [1.0, 1.0], -0.5, "step")  # OR's line: (0,1), (1,0) wrong
    colours = np.concatenate([c.get_facecolors() for c in ax.collections])
    assert len(ax.lines) == 1
    assert sum(np.allclose(c[:3], matplotlib.colors.to_rgb(plotting.WRONG_COLOUR)) for c in colours) == 2


def test_confusion_matrix_writes_counts():
    """Does the confusion matrix write each (true, predicted) count in its cell?"""
    ax = plotting.plot_confusion_matrix(np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]]))
    texts = {(round(t.get_position()[1]), round(t.get_position()[0])): t.get_text() for t in ax.texts}
    assert texts == {(0, 0): "1", (0, 1): "1", (1, 1): "1", (2, 2): "2", (2, 0): "1"}
    assert ax.get_title() == "accuracy 0.667"


def test_network_diagram_shows_values():
    """Does the diagram write node values and edge weights where they belong?"""
    W1 = np.array([[0.15, 0.2], [0.2, 0.3]])
    ax = plotting.draw_network([2, 2, 1], weights=[W1, np.array([[0.4], [0.5]])],
                               node_values=[[0.12, 0.3], [0.544, 0.578], [0.7]])
    texts = {t.get_text() for t in ax.texts}
    assert {"0.120", "0.300", "0.544", "0.578", "0.700", "0.150", "0.400", "0.500"} <= texts
    assert len(ax.patches) == 5  # one circle per node


def test_decision_boundary_is_told_what_predict_returns():
    """Are labels shaded one colour per class, and an unknown kind refused by name?"""
    X, y = data.make_blobs(40, seed=1)
    ax = plotting.plot_decision_boundary(lambda P: (P[:, 0] > 0).astype(int), X, y, kind="labels", resolution=30)
    assert len(ax.collections) >= 2
    with pytest.raises(ValueError, match="kind must be one of"):
        plotting.plot_decision_boundary(lambda P: P[:, 0], X, y, kind="guess")
