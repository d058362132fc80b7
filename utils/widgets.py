"""The notebooks' interactive explorers, built from ipywidgets.

Every builder returns its container (an ``ipywidgets.VBox``) and does not
display it; the notebook's last expression shows it. The container carries
the explorer object as ``box.explorer``, so a test can set a control and
read back the state and the picture without a browser.

Pictures are matplotlib figures rendered with the Agg backend into an
``ipywidgets.Image`` as PNG: one figure per explorer, made once, whose
artists are updated in place and re-rendered after each change. This needs
no extra front-end extension and looks the same in JupyterLab, nbval and
tests.

The maths behind every explorer lives in the other ``utils`` modules; the
callbacks here only call it and draw. An exception inside a callback is
shown in the explorer's error area (and kept as ``explorer.last_error``),
never swallowed.
"""
import html
import io
import threading
import time
import traceback

import ipywidgets as widgets
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from utils import activations as _activations
from utils import data as _data
from utils import losses as _losses
from utils import plotting as _plotting
from utils import trace as _trace
from utils.activations import sigmoid as _sigmoid
from utils.mlp import MLP as _MLP
from utils.perceptron import Perceptron as _Perceptron
from utils.perceptron import perceptron_predict as _perceptron_predict
from utils.perceptron import perceptron_update as _perceptron_update
from utils.plotting import CLASS_COLOURS as _CLASS_COLOURS
from utils.plotting import decision_grid as _decision_grid
from utils.plotting import draw_network as _draw_network
from utils.plotting import plot_points as _plot_points
from utils.shapes import check_shape as _check_shape


class FigureImage:
    """A matplotlib figure shown as a PNG ``ipywidgets.Image``.

    ``axes`` is the array of subplots (or the single Axes). Update artists,
    then call :meth:`render`.
    """

    def __init__(self, nrows=1, ncols=1, figsize=(6, 4), dpi=72, **subplot_kw):
        self.figure = Figure(figsize=figsize, dpi=dpi, layout="constrained")
        FigureCanvasAgg(self.figure)
        self.axes = self.figure.subplots(nrows, ncols, **subplot_kw)
        self.dpi = dpi
        self.widget = widgets.Image(format="png")

    def render(self):
        """Draw the figure and put the PNG bytes into the widget; returns the bytes."""
        buf = io.BytesIO()
        # zlib level 1: at the default level compression takes a third of a frame,
        # for a PNG only about 20 % smaller
        self.figure.savefig(buf, format="png", dpi=self.dpi, pil_kwargs={"compress_level": 1})
        self.widget.value = buf.getvalue()
        return self.widget.value


class Explorer:
    """Shared shell of every explorer: named controls, a picture, a readout and an error area.

    Subclasses fill ``self.controls`` (name -> widget), build ``self.picture``
    (a :class:`FigureImage`) and implement ``update()``, which reads the
    controls, calls the maths in ``utils``, updates the artists, sets
    ``self.readout.value`` and renders.
    """

    def __init__(self):
        self.controls = {}
        self.readout = widgets.HTML()
        self.errors = widgets.Output()
        self.last_error = None
        self.picture = None
        # JupyterLab may deliver widget messages on more than one kernel thread
        # (ipykernel subshells); two callbacks drawing one figure at once leave
        # it blank. Re-entrant, since a callback may move another control.
        self._lock = threading.RLock()

    def guarded(self, callback):
        """Wrap a callback so that an exception is shown in the error area, not lost."""

        def run(*args, **kwargs):
            try:
                with self._lock:
                    result = callback(*args, **kwargs)
            except Exception as exc:  # shown to the user, and kept for tests
                self.last_error = exc
                self.errors.append_stderr(traceback.format_exc())
                self.readout.value = (
                    f"<b style='color:#b00'>Error: {type(exc).__name__}: {exc}</b>"
                )
                return None
            self.last_error = None
            self.errors.outputs = ()
            return result

        return run

    def observe_controls(self, names=None):
        """Re-run ``update`` whenever one of the named controls (all by default) changes value."""
        update = self.guarded(lambda change: self.update())
        for name in names or self.controls:
            self.controls[name].observe(update, names="value")

    def update(self):
        raise NotImplementedError

    def box(self, layout_rows):
        """A VBox of the given rows, the picture, the readout and the error area; carries ``.explorer``."""
        rows = list(layout_rows)
        if self.picture is not None:
            rows.append(self.picture.widget)
        rows += [self.readout, self.errors]
        box = widgets.VBox(rows)
        box.explorer = self
        return box


def slider(description, value, min, max, step=0.1, continuous_update=True, **kwargs):
    """A FloatSlider with the course's defaults (readout to 2 decimals, wide label)."""
    return widgets.FloatSlider(
        value=value, min=min, max=max, step=step, description=description,
        continuous_update=continuous_update, readout_format=".2f",
        style={"description_width": "initial"}, **kwargs,
    )


# ---- notebook 1: the neuron explorer ------------------------------------------


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
        self.X = _check_shape("X", np.asarray(X, dtype=float), (None, 2))
        self.y = _check_shape("y", np.asarray(y), (self.X.shape[0],)).astype(int)
        self.net = _MLP([2, 1], activations=["sigmoid"], loss="bce", init="zeros")
        self.Y = self.net.targets(self.y)  # (N, 1)
        r = weight_range
        self.controls = {
            "w1": slider("w1", w[0], -r, r, 0.05),
            "w2": slider("w2", w[1], -r, r, 0.05),
            "b": slider("b", b, -r, r, 0.05),
            "lr": slider("learning rate", lr, 0.05, 5.0, 0.05),
        }
        self.step_button = widgets.Button(description="one gradient step", icon="arrow-down")
        self.step_button.on_click(self.guarded(lambda _: self.gradient_step()))
        self._quiet = False

        self.picture = FigureImage(1, 2, figsize=(10, 4.2), dpi=72,
                                   gridspec_kw={"width_ratios": [1.15, 1]})
        ax, ax_sig = self.picture.axes
        xx, yy, self._grid = _decision_grid(self.X, resolution, margin=0.8)  # grid (R*R, 2)
        self._grid_shape = xx.shape
        self._lo = np.array([xx.min(), yy.min()])
        self._hi = np.array([xx.max(), yy.max()])
        self._surface = ax.imshow(np.zeros(xx.shape), origin="lower", cmap="RdBu_r", vmin=0, vmax=1,
                                  alpha=0.55, aspect="auto", interpolation="bilinear",
                                  extent=(self._lo[0], self._hi[0], self._lo[1], self._hi[1]))
        self.picture.figure.colorbar(self._surface, ax=ax, label=r"$a = \sigma(z) = P(y=1 \mid x)$")
        _plot_points(self.X, self.y, ax, s=22)
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
            ax_sig.scatter([], [], s=22, color=_CLASS_COLOURS[k], edgecolors="k", linewidths=0.5,
                           zorder=3, label=f"y = {k}")
            for k in (0, 1)
        ]
        ax_sig.set_ylim(-0.05, 1.05)
        ax_sig.set_xlabel(r"$z = x_1 w_1 + x_2 w_2 + b$")
        ax_sig.set_ylabel(r"$a = \sigma(z)$")
        ax_sig.legend(loc="upper left", fontsize="small")
        ax_sig.set_title("each example on the sigmoid")

        self.observe_controls(["w1", "w2", "b"])
        self.update()

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
        self._quiet = True
        try:
            self.controls["w1"].value = float(w[0])
            self.controls["w2"].value = float(w[1])
            self.controls["b"].value = float(b)
        finally:
            self._quiet = False
        self.update()

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
        if self._quiet:
            return
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
        self._line.set_data(*_plotting.line_in_box(w, b, xlim, ylim))
        self._draw_arrow(w, b)
        z_max = max(6.0, 1.05 * float(np.max(np.abs(self.z))))
        z_curve = np.linspace(-z_max, z_max, 200)
        self._curve.set_data(z_curve, _sigmoid(z_curve))
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
        X, y = _data.make_blobs(n=100, centers=2, std=1.0, seed=seed)
    ex = NeuronExplorer(X, y, w=w, b=b, lr=lr)
    c = ex.controls
    return ex.box([
        widgets.HBox([c["w1"], c["w2"], c["b"]]),
        widgets.HBox([ex.step_button, c["lr"]]),
    ])


# ---- notebook 2: the gate explorer ----------------------------------------------


#: The unit that goes with each encoding of a gate: step outputs 0/1, sign outputs -1/1.
GATE_ACTIVATION = {"binary": "step", "bipolar": "sign"}
_GATE_RIGHT, _GATE_WRONG = _plotting.RIGHT_COLOUR, _plotting.WRONG_COLOUR


def _gate_num(v):
    return f"{float(v):g}"


def _gate_linear_text(w, b):
    """'$2x_1 - 1x_2 + 0.5$' for w = (2, -1), b = 0.5 (matplotlib mathtext)."""
    text = f"{_gate_num(w[0])}x_1"
    for v, name in ((w[1], "x_2"), (b, "")):
        text += f" {'-' if v < 0 else '+'} {_gate_num(abs(v))}{name}"
    return f"${text}$"


def truth_table_html(X, columns, correct=None, highlight=None):
    """An HTML truth table: inputs X (N, 2) as x1, x2, then each named column.

    columns : dict header -> values (N,), shown in order.
    correct : optional (N,) booleans; adds a column of ✓ (right) / ✗ (wrong).
    highlight : optional row index (0-based) to shade, e.g. the example a step used.
    """
    X = np.asarray(X)
    cell = "padding:2px 10px;text-align:center;border:1px solid #bbb"
    head = ["x<sub>1</sub>", "x<sub>2</sub>"] + [html.escape(str(k)) for k in columns]
    if correct is not None:
        head.append("right?")
    rows = ["<tr>" + "".join(f"<th style='{cell}'>{h}</th>" for h in head) + "</tr>"]
    for n in range(X.shape[0]):
        cells = [_gate_num(X[n, 0]), _gate_num(X[n, 1])]
        cells += [_gate_num(np.asarray(v)[n]) for v in columns.values()]
        if correct is not None:
            cells.append(f"<b style='color:{_GATE_RIGHT}'>✓</b>" if correct[n]
                         else f"<b style='color:{_GATE_WRONG}'>✗</b>")
        shade = " style='background:#ffe0b3'" if highlight == n else ""
        tds = "".join(f"<td style='{cell}'>{c}</td>" for c in cells)
        rows.append(f"<tr{shade}>{tds}</tr>")
    return "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"


class GateExplorer(Explorer):
    """Notebook 2's explorer: a perceptron over a gate's truth table, set by hand or trained.

    Controls: ``gate`` and ``encoding`` (binary uses the step unit, bipolar
    the sign unit), the sliders ``w1``, ``w2``, ``b``, ``lr``, the
    ``max_epochs`` cap, and the buttons ``step`` (one learning-rule update on
    the next example, cycling through the rows in order), ``train`` (the rule
    until an epoch makes no mistake, or the cap) and ``reset`` (w = 0, b = 0).
    All maths comes from :mod:`utils.perceptron`.

    State for tests: ``X``, ``y``, ``w``, ``b``, ``z``, ``y_hat``, ``correct``
    (each (N,) or (2,)), ``next_index``, ``used_index``, ``message`` and,
    after ``train``, ``history``.
    """

    def __init__(self, gate="OR", encoding="bipolar", w=(1.0, 1.0), b=1.0, lr=1.0, max_epochs=20):
        super().__init__()
        c = self.controls
        c["gate"] = widgets.Dropdown(options=list(_data.GATES), value=str(gate).upper(),
                                     description="gate")
        c["encoding"] = widgets.Dropdown(options=list(_data.ENCODINGS), value=encoding,
                                         description="encoding")
        c["w1"] = slider("w1", w[0], -4, 4)
        c["w2"] = slider("w2", w[1], -4, 4)
        c["b"] = slider("b", b, -4, 4)
        c["lr"] = slider("learning rate", lr, 0.1, 2.0)
        c["max_epochs"] = widgets.BoundedIntText(value=max_epochs, min=1, max=1000,
                                                 description="epoch cap")
        c["step"] = widgets.Button(description="step", tooltip="one learning-rule update")
        c["train"] = widgets.Button(description="train", tooltip="the rule until no mistakes")
        c["reset"] = widgets.Button(description="w = 0, b = 0")
        self.picture = FigureImage(figsize=(4.2, 4.5))
        self.next_index, self.used_index, self.history = 0, None, None
        self.message = "Move the sliders, or press step / train."
        self._holding = False  # True while step/train move several sliders at once

        self.observe_controls(["w1", "w2", "b"])
        new_table = self.guarded(lambda change: self._new_table())
        c["gate"].observe(new_table, names="value")
        c["encoding"].observe(new_table, names="value")
        c["step"].on_click(self.guarded(lambda button: self.step()))
        c["train"].on_click(self.guarded(lambda button: self.train()))
        c["reset"].on_click(self.guarded(lambda button: self.reset()))
        self.guarded(self.update)()

    @property
    def activation(self):
        return GATE_ACTIVATION[self.controls["encoding"].value]

    def step(self):
        """One learning-rule update on the next example (rows in order, then round again)."""
        X, y = self._table()
        n = self.next_index % len(y)
        w, b, error = _perceptron_update(X[n], y[n], self.w, self.b, self.controls["lr"].value,
                                         self.activation)
        y_hat = y[n] - error
        f = _gate_num
        change = ("no change: already right" if error == 0
                  else f"w &larr; ({f(w[0])}, {f(w[1])}), b &larr; {f(b)}")
        self.message = (f"Step used example {n + 1}: x = ({f(X[n, 0])}, {f(X[n, 1])}), "
                        f"target {f(y[n])}, output {f(y_hat)}, error {f(error)}; {change}.")
        self.used_index, self.next_index = n, (n + 1) % len(y)
        self._set_weights(w, b)

    def train(self):
        """Run the rule from the current w, b until an epoch makes no update, or the epoch cap."""
        X, y = self._table()
        cap = self.controls["max_epochs"].value
        unit = _Perceptron(2, self.activation, self.controls["lr"].value)
        unit.w, unit.b = self.w.copy(), self.b
        self.history = unit.fit(X, y, max_epochs=cap)
        updates = sum(self.history["updates"])
        if self.history["converged"]:
            self.message = (f"Trained: converged after {self.history['epochs']} epochs "
                            f"({updates} updates); the last epoch made no mistake.")
        else:
            self.message = (f"No convergence within {cap} epochs ({updates} updates; "
                            f"{self.history['errors'][-1]} of {len(y)} rows still wrong).")
        self.used_index, self.next_index = None, 0
        self._set_weights(unit.w, unit.b)

    def reset(self):
        """Set w = 0, b = 0 and restart the step cycle at the first example."""
        self.message = "Weights set to zero; the next step uses example 1."
        self.used_index, self.next_index = None, 0
        self._set_weights(np.zeros(2), 0.0)

    def _new_table(self):
        self.used_index, self.next_index = None, 0
        self.message = (f"{self.controls['gate'].value} in {self.controls['encoding'].value} "
                        f"encoding, with the {self.activation} unit.")
        self.update()

    def _table(self):
        return _data.logic_gate(self.controls["gate"].value, self.controls["encoding"].value)

    def _set_weights(self, w, b):
        """Move the sliders (widening their range if needed), then redraw once."""
        self._holding = True
        try:
            for name, v in (("w1", w[0]), ("w2", w[1]), ("b", b)):
                s = self.controls[name]
                s.min, s.max = min(s.min, float(v)), max(s.max, float(v))
                s.value = float(v)
        finally:
            self._holding = False
        self.update()

    def update(self):
        if self._holding:
            return
        c = self.controls
        self.w = np.array([c["w1"].value, c["w2"].value])
        self.b = float(c["b"].value)
        self.X, self.y = self._table()
        self.z = self.X @ self.w + self.b  # (4,), shown in the table
        self.y_hat = _perceptron_predict(self.X, self.w, self.b, self.activation)
        self.correct = self.y_hat == self.y

        ax = self.picture.axes
        ax.cla()  # a handful of artists: redrawing is simpler than updating them and as fast
        lim = (-0.6, 1.6) if c["encoding"].value == "binary" else (-1.7, 1.7)
        _plotting.plot_perceptron(self.X, self.y, self.w, self.b, self.activation, ax=ax, lim=lim)
        line = _gate_linear_text(self.w, self.b)
        ax.set_title(f"{c['gate'].value}, line {line} = 0", fontsize=10)
        self.picture.render()

        wrong = int(np.sum(~self.correct))
        if wrong == 0:
            status = f"All {len(self.y)} rows right: this perceptron computes {c['gate'].value}."
        else:
            status = f"{wrong} of {len(self.y)} rows wrong."
            if c["gate"].value == "XOR":
                status += " (No line gets all four XOR rows right; the best is 3 of 4.)"
        table = truth_table_html(self.X, {"z": self.z, "output ŷ": self.y_hat, "target y": self.y},
                                 correct=self.correct, highlight=self.used_index)
        self.readout.value = (f"<p>{self.message}</p><p><b>{status}</b> Next step uses example "
                              f"{self.next_index + 1}.</p>{table}")


def gate_explorer(gate="OR", encoding="bipolar", w=(1.0, 1.0), b=1.0, lr=1.0, max_epochs=20):
    """The gate explorer of notebook 2 (see :class:`GateExplorer`), starting at the lecture's OR.

    Returns a VBox: the controls, then the picture beside the truth table,
    then the error area; ``box.explorer`` is the :class:`GateExplorer`.
    """
    ex = GateExplorer(gate, encoding, w, b, lr, max_epochs)
    c = ex.controls
    rows = [widgets.HBox([c["gate"], c["encoding"]]),
            widgets.HBox([c["w1"], c["w2"], c["b"]]),
            widgets.HBox([c["lr"], c["max_epochs"]]),
            widgets.HBox([c["step"], c["train"], c["reset"]])]
    box = widgets.VBox(rows + [widgets.HBox([ex.picture.widget, ex.readout]), ex.errors])
    # Laid out here rather than with Explorer.box, to put the table beside the picture.
    box.explorer = ex
    return box


# ---- notebook 3: the MLP playground ---------------------------------------------


PLAYGROUND_DATASETS = ("XOR cloud", "XOR (4 points)", "moons", "circles", "spirals")
PLAYGROUND_ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")
PLAYGROUND_LEARNING_RATES = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def _playground_pale(cmap_name, strength=0.6):
    """A lighter copy of a colour map, so that the data points stand out on it."""
    from matplotlib import colormaps
    from matplotlib.colors import ListedColormap

    rgba = colormaps[cmap_name](np.linspace(0, 1, 256))
    rgba[:, :3] = 1 - strength * (1 - rgba[:, :3])
    return ListedColormap(rgba, name=f"pale_{cmap_name}")


def playground_data(name, seed=0):
    """A 2-D data set of the playground, made by ``utils.data``: ``X`` (N, 2), ``y`` (N,) of 0/1.

    ``XOR cloud`` is 100 points scattered (std 0.15) around the four corners
    of the unit square, labelled with the XOR of the corner; ``XOR (4 points)``
    is the truth table itself.
    """
    if name == "XOR (4 points)":
        return _data.xor()
    if name == "XOR cloud":
        return _data.make_xor(100, std=0.15, seed=seed)
    if name == "moons":
        return _data.make_moons(150, noise=0.15, seed=seed)
    if name == "circles":
        return _data.make_circles(150, noise=0.08, factor=0.5, seed=seed)
    if name == "spirals":
        return _data.make_spirals(150, noise=0.1, seed=seed)
    raise ValueError(f"unknown data set {name!r}; valid ones are: {', '.join(PLAYGROUND_DATASETS)}")


class PlaygroundExplorer(Explorer):
    """An MLP playground in the spirit of playground.tensorflow.org: a 2-H-1 network on a 2-D set.

    Changing any control retrains a fresh ``MLP([2, width, 1], activation,
    loss="bce", seed=seed)`` for ``epochs`` epochs of full-batch gradient
    descent with step ``lr``; the *Train more* button continues from the
    current weights. Training runs in chunks and the picture is redrawn
    between chunks whenever ``frame_interval`` seconds have passed, so a long
    run is seen learning; a short one (XOR) is drawn once, at the end.
    :meth:`retrain` does all this from a test; ``timings`` keeps the seconds
    the last training and the last drawing took.

    The picture: the network's P(y = 1 | x) over the plane (red = class 1,
    blue = class 0, white = the boundary) with the data and each hidden
    unit's line z = 0 (dashed); the loss per epoch; one small panel per hidden
    unit with its activation over the same plane and its line.
    """

    MAX_WIDTH = 8
    CHUNK = 50  # epochs between checks of the clock

    def __init__(self, dataset="XOR cloud", width=4, activation="tanh", lr=1.0, epochs=300,
                 seed=0, resolution=40, dpi=72, frame_interval=0.25):
        super().__init__()
        self.resolution, self.frame_interval = resolution, frame_interval
        style = {"description_width": "initial"}
        self.controls = {
            "dataset": widgets.Dropdown(options=PLAYGROUND_DATASETS, value=dataset,
                                        description="data set", style=style),
            "width": widgets.IntSlider(value=width, min=1, max=self.MAX_WIDTH,
                                       description="hidden width", continuous_update=False,
                                       style=style),
            "activation": widgets.Dropdown(options=PLAYGROUND_ACTIVATIONS, value=activation,
                                           description="activation", style=style),
            "lr": widgets.Dropdown(options=PLAYGROUND_LEARNING_RATES, value=lr,
                                   description="learning rate", style=style),
            "epochs": widgets.IntSlider(value=epochs, min=50, max=5000, step=50,
                                        description="epochs", continuous_update=False,
                                        style=style),
            "seed": widgets.BoundedIntText(value=seed, min=0, max=10**6, description="seed",
                                           style=style, layout=widgets.Layout(width="140px")),
        }
        self.train_button = widgets.Button(
            description="Train more", icon="play",
            tooltip="train `epochs` more epochs from the current weights",
        )
        self.train_button.on_click(self.guarded(lambda _: self.train()))
        self.net, self.losses = None, []
        self.timings = {}
        self._build_figure(dpi)
        self.observe_controls()

    # ---- the picture, made once ---------------------------------------------
    def _build_figure(self, dpi):
        from matplotlib.lines import Line2D

        self.picture = FigureImage(figsize=(8.0, 3.5), dpi=dpi)
        pale = _playground_pale("RdBu_r")  # blue = class 0, red = class 1, like the points
        fig = self.picture.figure
        fig.set_layout_engine(None)  # fixed positions: no layout pass before every frame
        ax = self.picture.axes
        ax.set_position([0.07, 0.13, 0.36, 0.8])
        blank = np.full((2, 2), 0.5)
        self.prob_image = ax.imshow(blank, origin="lower", cmap=pale, vmin=0, vmax=1,
                                    aspect="auto", interpolation="bilinear")
        self.unit_lines = [ax.add_line(Line2D([], [], color="k", lw=0.8, ls="--", alpha=0.5))
                           for _ in range(self.MAX_WIDTH)]
        self.points = ax.scatter([], [], s=16, edgecolors="k", linewidths=0.5, zorder=3)
        ax.set_xlabel("x1", fontsize=8, labelpad=1)
        ax.set_ylabel("x2", fontsize=8, labelpad=1)
        ax.locator_params(nbins=4)
        ax.text(0.5, 1.02, "P(y = 1 | x)", transform=ax.transAxes, ha="center", fontsize=10)
        ax.tick_params(labelsize=7)
        self.ax_data = ax

        self.ax_loss = fig.add_axes([0.50, 0.62, 0.47, 0.3])
        (self.loss_line,) = self.ax_loss.plot([], [], color="k", lw=1.2)
        self.ax_loss.text(0.5, 1.04, "training loss (BCE)", transform=self.ax_loss.transAxes,
                          ha="center", fontsize=10)
        self.ax_loss.set_xlabel("epoch", fontsize=8, labelpad=1)
        self.ax_loss.tick_params(labelsize=7)
        self.ax_loss.locator_params(nbins=4)

        self.unit_panels = []
        cols, w, h = 4, 0.1, 0.2
        for j in range(self.MAX_WIDTH):
            r, c = divmod(j, cols)
            uax = fig.add_axes([0.50 + c * (w + 0.025), 0.26 - r * (h + 0.05), w, h])
            im = uax.imshow(blank, origin="lower", cmap=pale, aspect="auto",
                            interpolation="bilinear")
            line = uax.add_line(Line2D([], [], color="k", lw=0.8))
            uax.axis("off")  # no ticks to lay out: these panels are redrawn on every frame
            uax.text(0.5, 1.03, f"h{j + 1}", transform=uax.transAxes, ha="center", fontsize=8)
            self.unit_panels.append((uax, im, line))

    def _show_data(self):
        """Load the chosen data set and fit every panel to it."""
        self.X, self.y = playground_data(self.controls["dataset"].value)
        xx, yy, self.grid = _decision_grid(self.X, self.resolution, margin=0.4)  # grid (R*R, 2)
        self.xlim, self.ylim = (xx.min(), xx.max()), (yy.min(), yy.max())
        extent = (*self.xlim, *self.ylim)
        self.points.set_offsets(self.X)
        self.points.set_facecolors([_CLASS_COLOURS[k] for k in self.y])
        self.points.set_sizes([50 if len(self.y) <= 10 else 14])
        panels = [(self.ax_data, self.prob_image)] + [(a, i) for a, i, _ in self.unit_panels]
        for ax, im in panels:
            im.set_extent(extent)
            ax.set_xlim(self.xlim)
            ax.set_ylim(self.ylim)

    # ---- training -------------------------------------------------------------
    def update(self):
        """Any control changed: start again from scratch."""
        self.retrain()

    def retrain(self):
        """Build a fresh network from the controls, train it ``epochs`` epochs and redraw."""
        c = {name: w.value for name, w in self.controls.items()}
        self._show_data()
        self.net = _MLP([2, c["width"], 1], c["activation"], loss="bce", seed=c["seed"])
        self.losses = []
        return self.train()

    def train(self, num_epochs=None):
        """Train ``num_epochs`` more epochs (default: the epochs control) in chunks, then draw."""
        if self.net is None:
            return self.retrain()
        num_epochs = self.controls["epochs"].value if num_epochs is None else int(num_epochs)
        lr = self.controls["lr"].value
        Y = self.net.targets(self.y)  # (N, 1)
        start = last_frame = time.perf_counter()
        done = 0
        while done < num_epochs:
            for _ in range(min(self.CHUNK, num_epochs - done)):
                loss = float(self.net.train_step(self.X, Y, lr))
                if not np.isfinite(loss):
                    raise FloatingPointError(
                        f"the loss became {loss} at epoch {len(self.losses) + 1}: the learning "
                        f"rate {lr} may be too large for this network; try a smaller one"
                    )
                self.losses.append(loss)
                done += 1
            if done < num_epochs and time.perf_counter() - last_frame > self.frame_interval:
                self.draw()
                last_frame = time.perf_counter()
        self.timings["train"] = time.perf_counter() - start
        return self.draw()

    # ---- drawing --------------------------------------------------------------
    def draw(self):
        """Update every artist from the current network and render; returns the PNG bytes."""
        t0 = time.perf_counter()
        R = self.resolution
        P = self.net.forward(self.grid)  # (R*R, 1)
        H = self.net.layers[0].A  # (R*R, width): the hidden units on the grid
        W1, b1 = self.net.params["W1"], self.net.params["b1"]  # (2, width), (width,)
        width = W1.shape[1]
        self.prob_image.set_data(P.reshape(R, R))
        act = self.net.layers[0].activation.name
        for j, ((uax, im, line), dashed) in enumerate(zip(self.unit_panels, self.unit_lines)):
            on = j < width
            uax.set_visible(on)
            dashed.set_visible(on)
            if not on:
                continue
            h = H[:, j].reshape(R, R)
            im.set_data(h)
            # colour limits that put white where z = 0 (the unit's line): red = on, blue = off
            if act == "sigmoid":
                im.set_clim(0.0, 1.0)
            else:
                top = 1.0 if act == "tanh" else max(float(np.abs(h).max()), 1e-12)
                im.set_clim(-top, top)
            ends = _plotting.line_in_box(W1[:, j], b1[j], self.xlim, self.ylim)
            line.set_data(*ends)
            dashed.set_data(*ends)
        n = len(self.losses)
        self.loss_line.set_data(np.arange(1, n + 1), self.losses)
        self.ax_loss.set_xlim(0, max(n, 1))
        self.ax_loss.set_ylim(0, max(max(self.losses, default=1.0), 1e-3) * 1.05)
        accuracy = self.net.accuracy(self.X, self.y)
        self.readout.value = (
            f"epoch {n} &middot; loss {self.losses[-1] if n else float('nan'):.4f} &middot; "
            f"training accuracy {accuracy:.0%} &middot; {self.net}"
        )
        png = self.picture.render()
        self.timings["draw"] = time.perf_counter() - t0
        return png

    def box(self, layout_rows=None):
        """The controls in two rows, the picture, the readout and the error area."""
        c = self.controls
        rows = layout_rows or [
            widgets.HBox([c["dataset"], c["width"], c["activation"]]),
            widgets.HBox([c["lr"], c["epochs"], c["seed"], self.train_button]),
        ]
        return super().box(rows)


def mlp_playground(dataset="XOR cloud", width=4, activation="tanh", lr=1.0, epochs=300, seed=0,
                   **kwargs):
    """The MLP playground of notebook 3, trained once with these settings; returns its VBox."""
    explorer = PlaygroundExplorer(dataset, width, activation, lr, epochs, seed, **kwargs)
    explorer.guarded(explorer.retrain)()
    return explorer.box()


# ---- notebook 4: the backprop stepper -------------------------------------------


_BP_FORWARD_COLOUR = "#1f3b73"
_BP_BACKWARD_COLOUR = "#b34700"


class BackpropStepper(Explorer):
    """Step through one forward and one backward pass of an MLP, one number at a time.

    The steps come from :func:`utils.trace.trace`. The diagram
    (:func:`utils.plotting.draw_network`) writes inside each node its z and a
    (blue) and, once the backward pass has reached it, ∂E/∂a and ∂E/∂z
    (brown); on each edge its weight and, once known, ∂E/∂w; the current
    quantity's node or edges are orange. The readout gives the step counter,
    the formula with its numbers and the value.

    Controls: ``controls["step"]`` (an IntSlider, 0 = nothing computed yet);
    ``buttons`` Previous / Next / Reset move it.
    """

    def __init__(self, net, X, Y, figsize=(8.4, 3.6), dpi=100):
        super().__init__()
        self.net = net
        X, Y = _trace.one_example(net, X, Y)
        self.steps = _trace.trace(net, X, Y)
        self.x, self.y = X[0], Y[0]  # (D,), (M,)
        # copies: the picture shows the parameters the trace was made with
        self.weights = [layer.W.copy() for layer in net.layers]
        self.biases = [layer.b.copy() for layer in net.layers]
        n = len(self.steps)
        self.controls["step"] = widgets.IntSlider(
            value=0, min=0, max=n, description="step", style={"description_width": "initial"},
            layout=widgets.Layout(width="420px"),
        )
        self.buttons = {
            "previous": widgets.Button(description="◀ Previous",
                                       layout=widgets.Layout(width="110px")),
            "next": widgets.Button(description="Next ▶", button_style="primary",
                                   layout=widgets.Layout(width="110px")),
            "reset": widgets.Button(description="Reset", layout=widgets.Layout(width="80px")),
        }
        self.buttons["previous"].on_click(self.guarded(lambda _: self.move(-1)))
        self.buttons["next"].on_click(self.guarded(lambda _: self.move(+1)))
        self.buttons["reset"].on_click(self.guarded(lambda _: self.reset()))
        self.picture = FigureImage(figsize=figsize, dpi=dpi)
        self.observe_controls()
        self.guarded(self.update)()

    # ---- moving -------------------------------------------------------------
    @property
    def step(self):
        """How many steps have been taken (0 .. len(steps))."""
        return self.controls["step"].value

    @property
    def current(self):
        """The :class:`utils.trace.Step` just taken, or None before the first one."""
        return self.steps[self.step - 1] if self.step else None

    def move(self, by):
        """Take ``by`` steps (negative: back), staying within 0 .. len(steps)."""
        self.controls["step"].value = min(max(self.step + by, 0), len(self.steps))

    def reset(self):
        """Back to step 0: only the inputs and the weights are known."""
        self.controls["step"].value = 0

    # ---- drawing --------------------------------------------------------------
    def update(self):
        k, n = self.step, len(self.steps)
        known = _trace.known(self.steps, k)
        self.buttons["previous"].disabled = k == 0
        self.buttons["next"].disabled = k == n
        self.draw(known, self.current)
        self.readout.value = self.describe(self.current)
        self.picture.render()

    def draw(self, known, step):
        ax = self.picture.axes
        ax.clear()
        sizes = self.net.sizes
        num = _trace.num
        # the edge text is written below, one number per edge, so draw_network's is blanked
        blank = [[[""] * W.shape[1] for _ in range(W.shape[0])] for W in self.weights]
        highlight = set(step.nodes) | set(step.edges) if step else set()
        _draw_network(sizes, ax=ax, weights=self.weights, edge_labels=blank,
                      node_values=[self.x] + [None] * (len(sizes) - 1), highlight=highlight)

        def pos(l, i):  # where draw_network puts unit i of layer l
            return 2.0 * l, (sizes[l] - 1) / 2.0 - i

        box = dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.9)
        for l, W in enumerate(self.weights, 1):
            D, M = W.shape
            for i in range(D):
                for j in range(M):
                    (x0, y0), (x1, y1) = pos(l - 1, i), pos(l, j)
                    t = (j + 1) / (M + 1)  # spread the labels of edges that share a node
                    g = known["dW"].get((l, i, j))
                    text, colour = (f"{num(W[i, j])}", "#333333") if g is None else (
                        f"∂ {num(g)}", _BP_BACKWARD_COLOUR)
                    ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), text, fontsize=8, ha="center",
                            va="center", color=colour, zorder=4, bbox=box)
        for l in range(1, len(sizes)):
            b = self.biases[l - 1]
            for j in range(sizes[l]):
                x0, y0 = pos(l, j)
                bwd = [f"∂{kind[1]} {num(known[kind][(l, j)])}" for kind in ("da", "dz")
                       if (l, j) in known[kind]]
                fwd = [f"{kind} {num(known[kind][(l, j)])}" for kind in ("z", "a")
                       if (l, j) in known[kind]]
                if bwd or fwd:
                    ax.text(x0, y0, "\n".join(bwd or fwd), ha="center", va="center", fontsize=7,
                            color=_BP_BACKWARD_COLOUR if bwd else _BP_FORWARD_COLOUR, zorder=5)
                g = known["db"].get((l, j))
                text, colour = (f"b {num(b[j])}", "#333333") if g is None else (
                    f"∂b {num(g)}", _BP_BACKWARD_COLOUR)
                ax.text(x0, y0 - 0.36, text, ha="center", va="top", fontsize=7, color=colour,
                        zorder=5, bbox=box)
        L = len(sizes) - 1
        for j, t in enumerate(self.y):
            x0, y0 = pos(L, j)
            ax.text(x0 + 0.42, y0, f"y{j + 1} = {num(t)}", ha="left", va="center", fontsize=8)
        left, right = ax.get_xlim()
        bottom, top = ax.get_ylim()
        ax.set_xlim(left, right + 0.7)
        ax.set_ylim(bottom - 0.2, top)
        loss = known["loss"].get((L,))
        ax.set_title("forward: z, a (blue)    backward: ∂E/∂a, ∂E/∂z, ∂E/∂w, ∂E/∂b (brown)"
                     + ("" if loss is None else f"    E = {num(loss)}"), fontsize=9)

    def describe(self, step):
        k, n = self.step, len(self.steps)
        head = f"<b>Step {k} / {n}</b>"
        if step is None:
            x = ", ".join(_trace.num(v) for v in self.x)
            y = ", ".join(_trace.num(v) for v in self.y)
            return (f"{head} · inputs x = ({x}), targets y = ({y}) and the weights are set. "
                    "Press <i>Next</i> to start the forward pass.")
        phase = "forward pass" if step.phase == "forward" else "backward pass"
        text = html.escape(str(step))
        text = text[:text.rfind("=")] + f"= <b>{_trace.num(step.value)}</b>"
        out = (f"{head} · {phase} · code name <code>{html.escape(step.name)}</code><br>"
               f"<span style='font-size:1.15em'>{text}</span>")
        if k == n:
            out += ("<br>The backward pass is complete: these are the numbers in "
                    "<code>net.grads</code>. Gradient descent now subtracts lr × each of them.")
        return out


def backprop_stepper(net=None, X=None, Y=None):
    """Build the backprop stepper for one example ``X`` (1, D) with targets ``Y`` through ``net``.

    With no arguments: the lectures' 2-2-2 example (:func:`utils.trace.lecture_2_2_2`).
    Returns the VBox (``box.explorer`` is the :class:`BackpropStepper`).
    """
    if net is None:
        net, X0, Y0 = _trace.lecture_2_2_2()
        X = X0 if X is None else X
        Y = Y0 if Y is None else Y
    ex = BackpropStepper(net, X, Y)
    b = ex.buttons
    return ex.box([widgets.HBox([b["previous"], b["next"], b["reset"], ex.controls["step"]])])


# ---- notebook 5: the softmax explorer -------------------------------------------


SHEET_CLASSES = ("dog", "cat", "boat", "airplane")
SHEET_SCORES = (-3.44, 1.16, -0.81, 3.91)  # the exercise sheet's scores (lecture 003)


class SoftmaxExplorer(Explorer):
    r"""Class scores -> :math:`e^{z/T}` -> softmax probabilities -> cross-entropy of the true class.

    Controls (``self.controls``): one score slider per class (keyed by the
    class name), ``"temperature"`` and the ``"true_class"`` dropdown.
    The picture holds two bar charts: :math:`e^{z_c/T}`, positive but not
    summing to 1, and :math:`p = \mathrm{softmax}(z / T)`, which sums to 1;
    the true class's bars are orange. The readout gives the loss
    :math:`-\ln p_{\text{true}}`. :meth:`state` returns the numbers drawn.
    """

    TRUE_COLOUR, OTHER_COLOUR = "#ff7f0e", "#8da0cb"

    def __init__(self, classes=SHEET_CLASSES, scores=SHEET_SCORES, temperature=1.0,
                 true_class="cat", score_range=(-8.0, 8.0)):
        super().__init__()
        self.classes = tuple(classes)
        if len(scores) != len(self.classes):
            raise ValueError(f"{len(self.classes)} classes need {len(self.classes)} scores, got {len(scores)}")
        if true_class not in self.classes:
            raise ValueError(f"true_class {true_class!r} is not one of {self.classes}")
        lo, hi = score_range
        for name, z in zip(self.classes, scores):
            self.controls[name] = slider(f"score z ({name})", z, lo, hi, step=0.01)
        self.controls["temperature"] = slider("temperature T", temperature, 0.1, 5.0, step=0.05)
        self.controls["true_class"] = widgets.Dropdown(
            options=list(self.classes), value=true_class, description="true class")

        self.picture = FigureImage(1, 2, figsize=(8, 3.2))
        ax_exp, ax_p = self.picture.axes
        x = np.arange(len(self.classes))
        self.exp_bars = ax_exp.bar(x, np.ones(len(x)), color=self.OTHER_COLOUR)
        self.prob_bars = ax_p.bar(x, np.ones(len(x)), color=self.OTHER_COLOUR)
        self.exp_texts = [ax_exp.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in x]
        self.prob_texts = [ax_p.text(i, 0, "", ha="center", va="bottom", fontsize=9) for i in x]
        for ax in (ax_exp, ax_p):
            ax.set_xticks(x, self.classes)
        ax_p.set_ylim(0, 1.12)
        ax_p.set_ylabel("probability")
        ax_exp.set_ylabel(r"$e^{z/T}$")

        self.observe_controls()
        self.guarded(self.update)()

    def state(self):
        """The numbers on show: scores (C,), exp (C,), probs (C,), the true class index, loss."""
        z = np.array([self.controls[name].value for name in self.classes], dtype=float)  # (C,)
        T = self.controls["temperature"].value
        true = self.classes.index(self.controls["true_class"].value)
        Y = _data.one_hot(np.array([true]), len(self.classes))  # (1, C)
        return {
            "scores": z,
            "exp": np.exp(z / T),  # the sheet's e^z column (at T = 1)
            "probs": _activations.softmax(z, temperature=T),
            "true": true,
            "loss": _losses.softmax_cross_entropy_with_logits((z / T)[None, :], Y),
        }

    def update(self):
        s = self.state()
        ax_exp, ax_p = self.picture.axes
        for i, (e, p) in enumerate(zip(s["exp"], s["probs"])):
            colour = self.TRUE_COLOUR if i == s["true"] else self.OTHER_COLOUR
            for bar, text, h, fmt in ((self.exp_bars[i], self.exp_texts[i], e, "{:.3g}"),
                                      (self.prob_bars[i], self.prob_texts[i], p, "{:.3f}")):
                bar.set_height(h)
                bar.set_color(colour)
                text.set_position((i, h))
                text.set_text(fmt.format(h))
        ax_exp.set_ylim(0, 1.15 * s["exp"].max())
        ax_exp.set_title(rf"$e^{{z/T}}$: positive, but they sum to {s['exp'].sum():.4g}", fontsize=10)
        ax_p.set_title(f"softmax: they sum to {s['probs'].sum():.4f} (orange: true class)", fontsize=10)
        name = self.classes[s["true"]]
        guess = self.classes[int(np.argmax(s["probs"]))]
        self.readout.value = (
            f"true class <b>{name}</b>: p = {s['probs'][s['true']]:.4f}, "
            f"loss = &minus;ln p = <b>{s['loss']:.4f}</b> &nbsp;|&nbsp; prediction (largest p): {guess}"
        )
        self.picture.render()


def softmax_explorer(classes=SHEET_CLASSES, scores=SHEET_SCORES, temperature=1.0, true_class="cat"):
    """Sliders for the class scores and the temperature, a dropdown for the true class.

    Shows e^(z/T) and the softmax probabilities as bars and the cross-entropy
    of the true class. Defaults are the exercise sheet's Dog -3.44, Cat 1.16,
    Boat -0.81, Airplane 3.91 with the cat as the true class. Returns the
    VBox; ``box.explorer`` is the :class:`SoftmaxExplorer`.
    """
    ex = SoftmaxExplorer(classes, scores, temperature, true_class)
    score_sliders = [ex.controls[name] for name in ex.classes]
    half = (len(score_sliders) + 1) // 2
    return ex.box([
        widgets.HBox([widgets.VBox(score_sliders[:half]), widgets.VBox(score_sliders[half:])]),
        widgets.HBox([ex.controls["temperature"], ex.controls["true_class"]]),
    ])


# ---- notebook 6: the vanishing-gradient explorer --------------------------------


VANISHING_ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
# dropdown label -> value; the value names the utils initialiser, and its std for "normal"
VANISHING_INITS = (
    ("Xavier: N(0, 2/(D+M))", "xavier"),
    ("He: N(0, 2/D)", "he"),
    ("normal, std 0.01 (too small)", "normal 0.01"),
    ("normal, std 1 (too large)", "normal 1"),
)
VANISHING_WIDTHS = (2, 4, 8, 16, 32)


def _vg_scheme(init):
    """Dropdown value -> (scheme, std) for :class:`utils.MLP`: "normal 1" -> ("normal", 1.0)."""
    scheme, _, std = init.partition(" ")
    return scheme, (float(std) if std else None)


def _vg_positive(values):
    """A copy with every entry that a log axis cannot show (0, negative, inf, nan) set to nan."""
    v = np.array(values, dtype=float)
    v[~(np.isfinite(v) & (v > 0))] = np.nan
    return v


class VanishingExplorer(Explorer):
    r"""Per-layer gradient norms of a deep network at initialisation, and a short training run.

    Controls (``self.controls``): ``"depth"`` :math:`L`, the number of weight
    layers; ``"width"``, the units in each of the :math:`L - 1` hidden layers;
    ``"activation"`` of the hidden layers (the output is one sigmoid unit with
    binary cross-entropy); ``"init"``, the initialiser.

    Left panel: :math:`\|\partial L / \partial W_\ell\|` for
    :math:`\ell = 1 \dots L` on a log scale, for each seed (thin) and their
    geometric mean (thick), with sigmoid + Xavier at the same depth and width
    as a grey reference and a dotted line that falls by the factor 1/4 per
    layer (the best case of a sigmoid, :math:`\sigma'(z) \le 1/4`). Right
    panel: the training loss of the first seed's network over ``num_epochs``
    epochs of full-batch gradient descent with step ``lr`` (a linear scale;
    a loss far above ln 2 is cut off and its largest value named).

    X : (N, D) inputs; y : (N,) labels 0/1. After each update the state is
    in ``sizes``, ``seed_norms`` (S, L), ``norms`` (L,), ``reference`` (L,),
    ``ratio`` (first layer / last layer), ``losses``, ``accuracy``,
    ``diverged_at`` (the epoch whose loss was not finite, or None), ``net``
    and ``timings``.
    """

    MAX_DEPTH = 20

    def __init__(self, X, y, depth=10, width=16, activation="sigmoid", init="xavier", lr=0.3,
                 num_epochs=50, seeds=(0, 1, 2), dpi=72):
        super().__init__()
        self.X = _check_shape("X", np.asarray(X, dtype=float), (None, None))
        self.y = _check_shape("y", np.asarray(y), (self.X.shape[0],)).astype(int)
        inits = [value for _, value in VANISHING_INITS]
        if activation not in VANISHING_ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {VANISHING_ACTIVATIONS}")
        if init not in inits:
            raise ValueError(f"init {init!r} is not one of {tuple(inits)}")
        if width not in VANISHING_WIDTHS:
            raise ValueError(f"width {width!r} is not one of {VANISHING_WIDTHS}")
        if not 2 <= depth <= self.MAX_DEPTH:
            raise ValueError(f"depth must lie in 2..{self.MAX_DEPTH}, got {depth}")
        if len(seeds) < 1:
            raise ValueError("give at least one seed")
        self.Y = self.y[:, None].astype(float)  # (N, 1): the targets of one sigmoid output
        self.lr, self.num_epochs, self.seeds = float(lr), int(num_epochs), tuple(seeds)
        style = {"description_width": "initial"}
        self.controls = {
            "depth": widgets.IntSlider(value=depth, min=2, max=self.MAX_DEPTH,
                                       description="depth L (layers)", continuous_update=False,
                                       style=style),
            "width": widgets.Dropdown(options=VANISHING_WIDTHS, value=width, description="width",
                                      style=style, layout=widgets.Layout(width="160px")),
            "activation": widgets.Dropdown(options=VANISHING_ACTIVATIONS, value=activation,
                                           description="hidden activation", style=style),
            "init": widgets.Dropdown(options=VANISHING_INITS, value=init,
                                     description="initialisation", style=style),
        }
        self.timings = {}
        self._build_figure(dpi)
        self.observe_controls()
        self.guarded(self.update)()

    # ---- the picture, made once ---------------------------------------------
    def _build_figure(self, dpi):
        from matplotlib.ticker import LogLocator, NullLocator

        self.picture = FigureImage(1, 2, figsize=(9.5, 3.4), dpi=dpi)
        self.picture.figure.set_layout_engine(None)  # fixed positions: no layout pass per update
        ax, ax_loss = self.picture.axes
        ax.set_position([0.08, 0.15, 0.5, 0.75])
        ax_loss.set_position([0.68, 0.15, 0.3, 0.75])
        self.seed_lines = [ax.plot([], [], "-", color="#1f77b4", lw=0.8, alpha=0.35)[0]
                           for _ in self.seeds]
        (self.norm_line,) = ax.plot([], [], "o-", color="#1f77b4", lw=2, ms=4,
                                    label="chosen network")
        (self.reference_line,) = ax.plot([], [], "s--", color="0.55", lw=1.2, ms=3,
                                         label="sigmoid + Xavier")
        (self.quarter_line,) = ax.plot([], [], ":", color="#d62728", lw=1.3,
                                       label="x 1/4 per layer")
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_ylabel(r"$\|\partial L / \partial W_\ell\|$")
        ax.set_title("gradient norms at initialisation", fontsize=10)
        ax.legend(loc="lower right", fontsize="small")
        (self.loss_line,) = ax_loss.plot([], [], color="k", lw=1.5)
        ax_loss.axhline(np.log(2.0), color="0.55", ls="--", lw=1)
        ax_loss.text(0.98, np.log(2.0), "ln 2: guessing", transform=ax_loss.get_yaxis_transform(),
                     ha="right", va="top", fontsize=8, color="0.4")
        self.off_scale = ax_loss.text(0.98, 0.97, "", transform=ax_loss.transAxes, ha="right",
                                      va="top", fontsize=8, color="#b00")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("training loss (BCE)")
        ax_loss.grid(True, alpha=0.3)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(numticks=8))
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more to draw than they say
        ax.grid(True, which="major", alpha=0.3)
        self.ax_norms, self.ax_loss = ax, ax_loss

    # ---- the model ------------------------------------------------------------
    def _net(self, activation, scheme, std, seed):
        return _MLP(self.sizes, activation, loss="bce", init=scheme, seed=seed, std=std)

    def _norms_at_init(self, activation, scheme, std):
        """Per-layer norms (S, L) of dW at initialisation, one row per seed."""
        rows = []
        for seed in self.seeds:
            net = self._net(activation, scheme, std, seed)
            net.forward(self.X)
            net.backward(self.Y)
            rows.append(net.grad_norms())
        return np.array(rows)

    def compute(self):
        """Read the controls, measure the norms, train the first seed's network; returns nothing."""
        c = {name: w.value for name, w in self.controls.items()}
        scheme, std = _vg_scheme(c["init"])
        self.sizes = [self.X.shape[1]] + [c["width"]] * (c["depth"] - 1) + [1]
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):  # a too-large init overflows on purpose: shown, not warned
            self.seed_norms = self._norms_at_init(c["activation"], scheme, std)  # (S, L)
            self.norms = np.exp(np.log(self.seed_norms).mean(axis=0))  # (L,) geometric mean
            reference = self._norms_at_init("sigmoid", "xavier", None)  # (S, L)
            self.reference = np.exp(np.log(reference).mean(axis=0))
            self.ratio = float(self.norms[0] / self.norms[-1])
            self.net = self._net(c["activation"], scheme, std, self.seeds[0])
            self.losses, self.diverged_at = [], None
            for epoch in range(self.num_epochs):
                loss = float(self.net.train_step(self.X, self.Y, self.lr))
                if not np.isfinite(loss):
                    self.diverged_at = epoch
                    break
                self.losses.append(loss)
            diverged = self.diverged_at is not None
            self.accuracy = None if diverged else self.net.accuracy(self.X, self.y)
        self.timings["compute"] = time.perf_counter() - t0

    def update(self):
        self.compute()
        return self.draw()

    # ---- drawing --------------------------------------------------------------
    def draw(self):
        """Put the state into the artists and the readout, and render; returns the PNG bytes."""
        t0 = time.perf_counter()
        L = len(self.sizes) - 1
        layers = np.arange(1, L + 1)
        for line, row in zip(self.seed_lines, self.seed_norms):
            line.set_data(layers, _vg_positive(row))
        norms, reference = _vg_positive(self.norms), _vg_positive(self.reference)
        self.norm_line.set_data(layers, norms)
        self.reference_line.set_data(layers, reference)
        self.quarter_line.set_data(layers, reference[-1] * 0.25 ** (L - layers))
        shown = _vg_positive(np.concatenate([self.seed_norms.ravel(), norms, reference]))
        if np.all(np.isnan(shown)):
            shown = np.array([1e-3, 1.0])
        lo, hi = np.nanmin(shown), np.nanmax(shown)
        ax = self.ax_norms
        ax.set_xlim(0.5, L + 0.5)
        ax.set_xticks(layers if L <= 12 else layers[::2])
        ax.set_ylim(lo / 4, hi * 4)

        epochs = np.arange(1, len(self.losses) + 1)
        self.loss_line.set_data(epochs, self.losses)
        self.ax_loss.set_xlim(0, max(self.num_epochs, 1))
        # a linear scale over the interesting range: a loss far above ln 2 is cut off, and named
        top = 2.5 * np.log(2.0)
        highest = max(self.losses, default=0.0)
        self.ax_loss.set_ylim(0, min(max(highest, np.log(2.0)) * 1.1, top))
        self.off_scale.set_text(f"off the scale: up to {highest:.2g}" if highest > top else "")
        self.ax_loss.set_title(f"training: {self.num_epochs} epochs, lr {self.lr:g}", fontsize=10)

        c = {name: w.value for name, w in self.controls.items()}
        plural = "s" if L != 2 else ""
        hidden = f"{L - 1} hidden layer{plural} of {c['width']} {c['activation']} units"
        parts = [f"L = {L} layers ({hidden} + 1 sigmoid output)"]
        if np.isfinite(self.ratio) and self.ratio > 0:
            parts.append(f"&#8214;dW<sub>1</sub>&#8214; = {self.norms[0]:.1e}, "
                         f"&#8214;dW<sub>{L}</sub>&#8214; = {self.norms[-1]:.1e}, "
                         f"first / last <b>{self.ratio:.1e}</b> "
                         f"(geometric means over {len(self.seeds)} seeds)")
        else:
            parts.append("<b>some gradient norms are 0 or overflowed</b>")
        if self.diverged_at is not None:
            parts.append(f"<b style='color:#b00'>training diverged: the loss was not finite at "
                         f"epoch {self.diverged_at}</b> (the gradients are too large for the "
                         f"step lr = {self.lr:g})")
        elif self.losses:
            parts.append(f"after {len(self.losses)} epochs: loss {self.losses[-1]:.3f}, "
                         f"training accuracy {self.accuracy:.0%}")
        self.readout.value = " &middot; ".join(parts)
        png = self.picture.render()
        self.timings["draw"] = time.perf_counter() - t0
        return png

    def box(self, layout_rows=None):
        """The controls in two rows, the picture, the readout and the error area."""
        c = self.controls
        rows = layout_rows or [
            widgets.HBox([c["depth"], c["width"]]),
            widgets.HBox([c["activation"], c["init"]]),
        ]
        return super().box(rows)


def vanishing_explorer(depth=10, width=16, activation="sigmoid", init="xavier", lr=0.3,
                       num_epochs=50, X=None, y=None, seeds=(0, 1, 2)):
    """The vanishing-gradient explorer of notebook 6; returns its VBox (``box.explorer``).

    Pick the depth, width, hidden activation and initialiser of a network
    ``[D, width, ..., width, 1]``; see its per-layer gradient norms at
    initialisation and a short training run. The data default to 100 moons
    (``utils.data.make_moons(100, noise=0.1, seed=0)``), as in the notebook.
    """
    if X is None:
        X, y = _data.make_moons(100, noise=0.1, seed=0)
    explorer = VanishingExplorer(X, y, depth, width, activation, init, lr, num_epochs, seeds)
    return explorer.box()
