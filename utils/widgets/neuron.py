r"""Notebook 1's neuron explorer: one sigmoid neuron on 2-D data, moved by hand or by gradient steps."""
import ipywidgets
import numpy as np

from utils import data, plotting
from utils.activations import sigmoid
from utils.mlp import MLP
from utils.shapes import check_shape
from utils.widgets.base import Explorer, FigureImage, slider


class NeuronExplorer(Explorer):
    r"""One sigmoid neuron on 2-D data: move :math:`w_1, w_2, b` and watch the boundary and the loss.

    The neuron is :math:`a = \sigma(x_1 w_1 + x_2 w_2 + b)`. It is kept as a
    one-unit :class:`utils.MLP` (W1 (2, 1), b1 (1,), sigmoid output, mean
    binary cross-entropy), so the probabilities, the loss, the accuracy and
    the gradient all come from ``utils``.

    Left panel: :math:`a = P(y = 1 \mid x)` over the plane (an image updated
    with ``set_data``), the data, the decision line :math:`w \cdot x + b = 0`
    and the weight vector :math:`w` as an arrow: perpendicular to the line,
    pointing to the side the neuron calls 1. Right panel: every example
    placed on the sigmoid curve at its own :math:`z`.

    X : (N, 2) inputs; y : (N,) labels 0/1. After each update the state is
    in ``w`` (2,), ``b``, ``z`` (N,), ``a`` (N,), ``probabilities`` (R, R),
    ``loss``, ``accuracy`` and ``grads`` (``dw`` (2,), ``db``).
    """

    def __init__(self, X, y, w=(1.0, 1.0), b=0.0, lr=0.5, resolution=80, weight_range=6.0):
        super().__init__()
        self.X = check_shape("X", np.asarray(X, dtype=float), (None, 2))
        self.y = check_shape("y", np.asarray(y), (self.X.shape[0],)).astype(int)
        self.net = MLP([2, 1], activations=["sigmoid"], loss="bce", init="zeros")
        self.Y = self.net.targets(self.y)  # (N, 1)
        r = weight_range
        self.controls = {
            "w1": slider("w1", w[0], -r, r, 0.05),
            "w2": slider("w2", w[1], -r, r, 0.05),
            "b": slider("b", b, -r, r, 0.05),
            "lr": slider("learning rate", lr, 0.05, 5.0, 0.05),
        }
        self.step_button = ipywidgets.Button(description="one gradient step", icon="arrow-down")
        self.step_button.on_click(self.guarded(lambda _: self.gradient_step()))

        self.picture = FigureImage(1, 2, figsize=(10, 4.2), dpi=72,
                                   gridspec_kw={"width_ratios": [1.15, 1]})
        ax, ax_sig = self.picture.axes
        xx, yy, self._grid = plotting.decision_grid(self.X, resolution, margin=0.8)  # (R*R, 2)
        self._grid_shape = xx.shape
        self._lo = np.array([xx.min(), yy.min()])
        self._hi = np.array([xx.max(), yy.max()])
        self._surface = ax.imshow(np.zeros(xx.shape), origin="lower", cmap="RdBu_r", vmin=0, vmax=1,
                                  alpha=0.55, aspect="auto", interpolation="bilinear",
                                  extent=(self._lo[0], self._hi[0], self._lo[1], self._hi[1]))
        self.picture.figure.colorbar(self._surface, ax=ax, label=r"$a = \sigma(z) = P(y=1 \mid x)$")
        plotting.plot_points(self.X, self.y, ax, s=22)
        (self._line,) = ax.plot([], [], "k-", lw=2, label=r"$w \cdot x + b = 0$")
        self._arrow = ax.annotate("", xy=(0, 0), xytext=(0, 0),
                                  arrowprops=dict(arrowstyle="-|>", lw=2, color="k"))
        self._arrow_label = ax.text(0, 0, "$w$", fontsize=13, ha="center", va="center")
        ax.set_xlim(self._lo[0], self._hi[0])
        ax.set_ylim(self._lo[1], self._hi[1])
        ax.legend(loc="upper right", fontsize="small", framealpha=0.9)
        ax.set_title("the plane: probability, boundary and $w$")

        (self._curve,) = ax_sig.plot([], [], color="0.3", lw=1.5, zorder=1)
        ax_sig.axhline(0.5, color="0.6", ls="--", lw=1)
        ax_sig.axvline(0.0, color="0.6", ls="--", lw=1)
        self._on_curve = [
            ax_sig.scatter([], [], s=22, color=plotting.CLASS_COLOURS[k], edgecolors="k",
                           linewidths=0.5, zorder=3, label=f"y = {k}")
            for k in (0, 1)
        ]
        ax_sig.set_ylim(-0.05, 1.05)
        ax_sig.set_xlabel(r"$z = x_1 w_1 + x_2 w_2 + b$")
        ax_sig.set_ylabel(r"$a = \sigma(z)$")
        ax_sig.legend(loc="upper left", fontsize="small")
        ax_sig.set_title("each example on the sigmoid")

        self.observe_controls(["w1", "w2", "b"])
        self.guarded(self.update)()

    def control_rows(self):
        c = self.controls
        return [ipywidgets.HBox([c["w1"], c["w2"], c["b"]]),
                ipywidgets.HBox([self.step_button, c["lr"]])]

    # ---- model ------------------------------------------------------------
    @property
    def w(self):
        """Current weights (2,), read from the sliders."""
        return np.array([self.controls["w1"].value, self.controls["w2"].value])

    @property
    def b(self):
        """Current bias, read from the slider."""
        return float(self.controls["b"].value)

    def set_params(self, w, b):
        """Move the sliders to ``w`` (2,) and ``b`` together, then update once."""
        with self.holding():
            self.controls["w1"].value = float(w[0])
            self.controls["w2"].value = float(w[1])
            self.controls["b"].value = float(b)

    def gradient_step(self):
        """One step of gradient descent on the mean BCE, ``w -= lr * dw``, ``b -= lr * db``."""
        self._load_net()
        self.net.forward(self.X)
        self.net.backward(self.Y)
        self.net.step(self.controls["lr"].value)
        self.set_params(self.net.params["W1"][:, 0], self.net.params["b1"][0])

    def _load_net(self):
        self.net.set_params(W1=self.w[:, None], b1=np.array([self.b]))

    # ---- drawing ----------------------------------------------------------
    def _draw_arrow(self, w, b):
        norm = float(np.hypot(*w))
        if norm == 0:
            self._arrow.set_visible(False)
            self._arrow_label.set_visible(False)
            return
        centre = self.X.mean(axis=0)
        # the point of the line nearest the data's centre, kept inside the view
        foot = centre - (centre @ w + b) / norm**2 * w
        foot = np.clip(foot, self._lo + 0.5, self._hi - 0.5)
        tip = foot + w / norm * 0.2 * float(np.min(self._hi - self._lo))
        self._arrow.xy, self._arrow.xyann = tuple(tip), tuple(foot)
        self._arrow_label.set_position(tuple(tip + (tip - foot) * 0.25))
        self._arrow.set_visible(True)
        self._arrow_label.set_visible(True)

    def update(self):
        w, b = self.w, self.b
        self._load_net()
        self.probabilities = self.net.predict_proba(self._grid)[:, 0].reshape(self._grid_shape)
        self.a = self.net.forward(self.X)[:, 0]  # (N,)
        self.z = self.net.layers[0].Z[:, 0]  # (N,)
        self.loss = float(self.net.loss_value(self.Y))
        self.net.backward(self.Y)
        self.grads = {"dw": self.net.grads["dW1"][:, 0].copy(), "db": float(self.net.grads["db1"][0])}
        self.accuracy = self.net.accuracy(self.X, self.y)

        self._surface.set_data(self.probabilities)
        xlim, ylim = (self._lo[0], self._hi[0]), (self._lo[1], self._hi[1])
        self._line.set_data(*plotting.line_in_box(w, b, xlim, ylim))
        self._draw_arrow(w, b)
        z_max = max(6.0, 1.05 * float(np.max(np.abs(self.z))))
        z_curve = np.linspace(-z_max, z_max, 200)
        self._curve.set_data(z_curve, sigmoid(z_curve))
        for k, dots in enumerate(self._on_curve):
            m = self.y == k
            dots.set_offsets(np.column_stack([self.z[m], self.a[m]]))
        self.picture.axes[1].set_xlim(-z_max, z_max)

        N = self.y.size
        correct = int(round(self.accuracy * N))
        dw = self.grads["dw"]
        self.readout.value = (
            f"<b>z = {w[0]:.2f}&middot;x<sub>1</sub> {_signed(w[1])}&middot;x<sub>2</sub> {_signed(b)}</b>"
            f" &nbsp;|&nbsp; mean BCE loss J = <b>{self.loss:.4f}</b>"
            f" &nbsp;|&nbsp; accuracy = <b>{self.accuracy:.3f}</b> ({correct}/{N} correct)"
            f"<br>gradient: dJ/dw<sub>1</sub> = {dw[0]:+.4f}, dJ/dw<sub>2</sub> = {dw[1]:+.4f},"
            f" dJ/db = {self.grads['db']:+.4f} &nbsp;(a gradient step moves against it)"
        )
        self.picture.render()


def _signed(v):
    """'+ 1.50' or '&minus; 1.50', to write a sum of terms."""
    return f"{'+' if v >= 0 else '&minus;'} {abs(v):.2f}"


def neuron_explorer(X=None, y=None, w=(1.0, 1.0), b=0.0, lr=0.5, seed=0):
    """The neuron explorer of notebook 1: sliders for w1, w2, b and a gradient-step button.

    X : (N, 2), y : (N,) labels 0/1; by default two seeded Gaussian blobs
    from :func:`utils.data.make_blobs` (100 points, overlapping a little).
    Returns the VBox (not displayed); ``box.explorer`` is the
    :class:`NeuronExplorer`.
    """
    if X is None:
        X, y = data.make_blobs(n=100, centers=2, std=1.0, seed=seed)
    return NeuronExplorer(X, y, w=w, b=b, lr=lr).box()
