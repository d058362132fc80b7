r"""Notebook 5's softmax explorer: class scores -> :math:`e^{z/T}` -> probabilities -> cross-entropy."""
import ipywidgets
import numpy as np

from utils import data
from utils.activations import softmax
from utils.losses import softmax_cross_entropy_with_logits
from utils.widgets.base import Explorer, FigureImage, slider

SHEET_CLASSES = ("dog", "cat", "boat", "airplane")
SHEET_SCORES = (-3.44, 1.16, -0.81, 3.91)  # the exercise sheet's scores (lecture 003)


class SoftmaxExplorer(Explorer):
    r"""Class scores -> :math:`e^{z/T}` -> softmax probabilities -> cross-entropy of the true class.

    Controls (``self.controls``): one score slider per class (keyed by the
    class name), ``"temperature"`` and the ``"true_class"`` dropdown (labels
    the class names, values their indices 0 .. C-1).
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
        self.controls["true_class"] = ipywidgets.Dropdown(
            options=[(name, c) for c, name in enumerate(self.classes)],
            value=self.classes.index(true_class), description="true class")

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

        self.start()

    def control_rows(self):
        """The score sliders in two columns, then the temperature and the true class."""
        score_sliders = [self.controls[name] for name in self.classes]
        half = (len(score_sliders) + 1) // 2
        return [
            ipywidgets.HBox([ipywidgets.VBox(score_sliders[:half]),
                             ipywidgets.VBox(score_sliders[half:])]),
            ipywidgets.HBox([self.controls["temperature"], self.controls["true_class"]]),
        ]

    def state(self):
        """The numbers on show: scores (C,), exp (C,), probs (C,), the true class index, loss."""
        z = np.array([self.controls[name].value for name in self.classes], dtype=float)  # (C,)
        T = self.controls["temperature"].value
        true = self.controls["true_class"].value
        Y = data.one_hot(np.array([true]), len(self.classes))  # (1, C)
        return {
            "scores": z,
            "exp": np.exp(z / T),  # the sheet's e^z column (at T = 1)
            "probs": softmax(z, temperature=T),
            "true": true,
            "loss": softmax_cross_entropy_with_logits((z / T)[None, :], Y),
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
    return SoftmaxExplorer(classes, scores, temperature, true_class).box()
