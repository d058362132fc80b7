"""Notebook 2's gate explorer: a perceptron over a logic gate's truth table, set by hand or trained.

Also :func:`truth_table_html`, the truth table the notebook shows on its own.
"""
import html

import ipywidgets
import numpy as np

from utils import data, plotting
from utils.perceptron import Perceptron, perceptron_predict, perceptron_update
from utils.widgets.base import Explorer, FigureImage, slider

#: The unit that goes with each encoding of a gate: step outputs 0/1, sign outputs -1/1.
ENCODING_ACTIVATION = {"binary": "step", "bipolar": "sign"}


def _num(v):
    return f"{float(v):g}"


def _linear_text(w, b):
    """'$2x_1 - 1x_2 + 0.5$' for w = (2, -1), b = 0.5 (matplotlib mathtext)."""
    text = f"{_num(w[0])}x_1"
    for v, name in ((w[1], "x_2"), (b, "")):
        text += f" {'-' if v < 0 else '+'} {_num(abs(v))}{name}"
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
        cells = [_num(X[n, 0]), _num(X[n, 1])]
        cells += [_num(np.asarray(v)[n]) for v in columns.values()]
        if correct is not None:
            cells.append(f"<b style='color:{plotting.RIGHT_COLOUR}'>✓</b>" if correct[n]
                         else f"<b style='color:{plotting.WRONG_COLOUR}'>✗</b>")
        shade = " style='background:#ffe0b3'" if highlight == n else ""
        tds = "".join(f"<td style='{cell}'>{c}</td>" for c in cells)
        rows.append(f"<tr{shade}>{tds}</tr>")
    return "<table style='border-collapse:collapse'>" + "".join(rows) + "</table>"


class GateExplorer(Explorer):
    """Notebook 2's explorer: a perceptron over a gate's truth table, set by hand or trained.

    Controls: ``gate`` and ``encoding`` (binary uses the step unit, bipolar
    the sign unit), the sliders ``w1``, ``w2``, ``b``, ``lr``, the
    ``num_epochs`` cap, and the buttons ``step`` (one learning-rule update on
    the next example, cycling through the rows in order), ``train`` (the rule
    until an epoch makes no mistake, or ``num_epochs`` epochs) and ``reset``
    (w = 0, b = 0). All maths comes from :mod:`utils.perceptron`.

    State for tests: ``X``, ``y``, ``w``, ``b``, ``z``, ``y_hat``, ``correct``
    (each (N,) or (2,)), ``next_index``, ``used_index``, ``message`` and,
    after ``train``, ``history``.
    """

    def __init__(self, gate="OR", encoding="bipolar", w=(1.0, 1.0), b=1.0, lr=1.0, num_epochs=20):
        super().__init__()
        c = self.controls
        c["gate"] = ipywidgets.Dropdown(options=list(data.GATES), value=str(gate).upper(),
                                        description="gate")
        c["encoding"] = ipywidgets.Dropdown(options=list(data.ENCODINGS), value=encoding,
                                            description="encoding")
        c["w1"] = slider("w1", w[0], -4, 4)
        c["w2"] = slider("w2", w[1], -4, 4)
        c["b"] = slider("b", b, -4, 4)
        c["lr"] = slider("learning rate", lr, 0.1, 2.0)
        c["num_epochs"] = ipywidgets.BoundedIntText(value=num_epochs, min=1, max=1000,
                                                    description="epoch cap")
        c["step"] = ipywidgets.Button(description="step", tooltip="one learning-rule update")
        c["train"] = ipywidgets.Button(description="train", tooltip="the rule until no mistakes")
        c["reset"] = ipywidgets.Button(description="w = 0, b = 0")
        self.picture = FigureImage(figsize=(4.2, 4.5))
        self.next_index, self.used_index, self.history = 0, None, None
        self.message = "Move the sliders, or press step / train."

        self.observe_controls(["w1", "w2", "b"])
        self.observe_controls(["gate", "encoding"], self._new_table)
        c["step"].on_click(self.guarded(lambda button: self.step()))
        c["train"].on_click(self.guarded(lambda button: self.train()))
        c["reset"].on_click(self.guarded(lambda button: self.reset()))
        self.guarded(self.update)()

    def control_rows(self):
        c = self.controls
        return [ipywidgets.HBox([c["gate"], c["encoding"]]),
                ipywidgets.HBox([c["w1"], c["w2"], c["b"]]),
                ipywidgets.HBox([c["lr"], c["num_epochs"]]),
                ipywidgets.HBox([c["step"], c["train"], c["reset"]])]

    def display_rows(self):
        """The picture beside the truth table (the readout)."""
        return [ipywidgets.HBox([self.picture.widget, self.readout])]

    @property
    def activation(self):
        return ENCODING_ACTIVATION[self.controls["encoding"].value]

    def step(self):
        """One learning-rule update on the next example (rows in order, then round again)."""
        X, y = self._table()
        n = self.next_index % len(y)
        w, b, error = perceptron_update(X[n], y[n], self.w, self.b, self.controls["lr"].value,
                                        self.activation)
        y_hat = y[n] - error
        f = _num
        change = ("no change: already right" if error == 0
                  else f"w &larr; ({f(w[0])}, {f(w[1])}), b &larr; {f(b)}")
        self.message = (f"Step used example {n + 1}: x = ({f(X[n, 0])}, {f(X[n, 1])}), "
                        f"target {f(y[n])}, output {f(y_hat)}, error {f(error)}; {change}.")
        self.used_index, self.next_index = n, (n + 1) % len(y)
        self._set_weights(w, b)

    def train(self):
        """Run the rule from the current w, b until an epoch makes no update, or ``num_epochs``."""
        X, y = self._table()
        cap = self.controls["num_epochs"].value
        unit = Perceptron(2, self.activation, self.controls["lr"].value)
        unit.w, unit.b = self.w.copy(), self.b
        self.history = unit.fit(X, y, num_epochs=cap)
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
        return data.logic_gate(self.controls["gate"].value, self.controls["encoding"].value)

    def _set_weights(self, w, b):
        """Move the sliders (widening their range if needed), then redraw once."""
        with self.holding():
            for name, v in (("w1", w[0]), ("w2", w[1]), ("b", b)):
                s = self.controls[name]
                s.min, s.max = min(s.min, float(v)), max(s.max, float(v))
                s.value = float(v)

    def update(self):
        c = self.controls
        self.w = np.array([c["w1"].value, c["w2"].value])
        self.b = float(c["b"].value)
        self.X, self.y = self._table()
        self.z = self.X @ self.w + self.b  # (4,), shown in the table
        self.y_hat = perceptron_predict(self.X, self.w, self.b, self.activation)
        self.correct = self.y_hat == self.y

        ax = self.picture.axes
        ax.cla()  # a handful of artists: redrawing is simpler than updating them and as fast
        lim = (-0.6, 1.6) if c["encoding"].value == "binary" else (-1.7, 1.7)
        plotting.plot_perceptron(self.X, self.y, self.w, self.b, self.activation, ax=ax, lim=lim)
        line = _linear_text(self.w, self.b)
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


def gate_explorer(gate="OR", encoding="bipolar", w=(1.0, 1.0), b=1.0, lr=1.0, num_epochs=20):
    """The gate explorer of notebook 2 (see :class:`GateExplorer`), starting at the lecture's OR.

    Returns a VBox: the controls, then the picture beside the truth table,
    then the error area; ``box.explorer`` is the :class:`GateExplorer`.
    """
    return GateExplorer(gate, encoding, w, b, lr, num_epochs).box()
