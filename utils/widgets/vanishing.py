r"""Notebook 6's vanishing-gradient explorer: per-layer gradient norms of a deep net, and a short run."""
import time

import ipywidgets
import numpy as np

from utils import data
from utils.mlp import MLP, gradient_norms_at_init
from utils.shapes import check_shape
from utils.widgets.base import Explorer, FigureImage

ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu")
#: the initialiser dropdown: label, then the value, ``(init, std)`` as utils.MLP takes them
INITS = (
    ("Xavier: N(0, 2/(D+M))", ("xavier", None)),
    ("He: N(0, 2/D)", ("he", None)),
    ("normal, std 0.01 (too small)", ("normal", 0.01)),
    ("normal, std 1 (too large)", ("normal", 1.0)),
)
WIDTHS = (2, 4, 8, 16, 32)


def _positive(values):
    """A copy with every entry that a log axis cannot show (0, negative, inf, nan) set to nan."""
    v = np.array(values, dtype=float)
    v[~(np.isfinite(v) & (v > 0))] = np.nan
    return v


class VanishingExplorer(Explorer):
    r"""Per-layer gradient norms of a deep network at initialisation, and a short training run.

    Controls (``self.controls``): ``"depth"`` :math:`L`, the number of weight
    layers; ``"width"``, the units in each of the :math:`L - 1` hidden layers;
    ``"activation"`` of the hidden layers (the output is one sigmoid unit with
    binary cross-entropy); ``"init"``, the initialiser, whose value is the
    pair ``(init, std)`` of :class:`utils.MLP` (see ``INITS``).

    Left panel: :math:`\|\partial L / \partial W_\ell\|` for
    :math:`\ell = 1 \dots L` on a log scale
    (:func:`utils.mlp.gradient_norms_at_init`), for each seed (thin) and their
    geometric mean (thick), with sigmoid + Xavier at the same depth and width
    as a grey reference and a dotted line that falls by the factor 1/4 per
    layer (the best case of a sigmoid, :math:`\sigma'(z) \le 1/4`). Right
    panel: the training loss of the first seed's network over ``num_epochs``
    epochs of full-batch gradient descent with step ``lr``
    (:meth:`utils.MLP.fit`; a linear scale, a loss far above ln 2 is cut off
    and its largest value named).

    X : (N, D) inputs; y : (N,) labels 0/1. After each update the state is
    in ``sizes``, ``seed_norms`` (S, L), ``norms`` (L,), ``reference`` (L,),
    ``ratio`` (first layer / last layer), ``losses``, ``accuracy``,
    ``diverged_at`` (the epoch whose loss was not finite, or None), ``net``
    and ``timings``.
    """

    MAX_DEPTH = 20

    def __init__(self, X, y, depth=10, width=16, activation="sigmoid", init="xavier", std=None,
                 lr=0.3, num_epochs=50, seeds=(0, 1, 2), dpi=72):
        super().__init__()
        self.X = check_shape("X", np.asarray(X, dtype=float), (None, None))
        self.y = check_shape("y", np.asarray(y), (self.X.shape[0],)).astype(int)
        inits = [value for _, value in INITS]
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation {activation!r} is not one of {ACTIVATIONS}")
        if (init, std) not in inits:
            raise ValueError(f"init {init!r} with std {std!r} is not one of (init, std) {inits}")
        if width not in WIDTHS:
            raise ValueError(f"width {width!r} is not one of {WIDTHS}")
        if not 2 <= depth <= self.MAX_DEPTH:
            raise ValueError(f"depth must lie in 2..{self.MAX_DEPTH}, got {depth}")
        if len(seeds) < 1:
            raise ValueError("give at least one seed")
        self.lr, self.num_epochs, self.seeds = float(lr), int(num_epochs), tuple(seeds)
        style = {"description_width": "initial"}
        self.controls = {
            "depth": ipywidgets.IntSlider(value=depth, min=2, max=self.MAX_DEPTH,
                                          description="depth L (layers)", continuous_update=False,
                                          style=style),
            "width": ipywidgets.Dropdown(options=[(str(w), w) for w in WIDTHS], value=width,
                                         description="width", style=style,
                                         layout=ipywidgets.Layout(width="160px")),
            "activation": ipywidgets.Dropdown(options=ACTIVATIONS, value=activation,
                                              description="hidden activation", style=style),
            "init": ipywidgets.Dropdown(options=INITS, value=(init, std),
                                        description="initialisation", style=style),
        }
        self._build_figure(dpi)
        self.start()

    def control_rows(self):
        c = self.controls
        return [ipywidgets.HBox([c["depth"], c["width"]]),
                ipywidgets.HBox([c["activation"], c["init"]])]

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
        ax.set_ylabel(r"$\|\partial J / \partial W^{[\ell]}\|$")
        ax.set_title("gradient norms at initialisation", fontsize=10)
        ax.legend(loc="lower right", fontsize="small")
        (self.loss_line,) = ax_loss.plot([], [], color="k", lw=1.5)
        ax_loss.axhline(np.log(2.0), color="0.55", ls="--", lw=1)
        ax_loss.text(0.98, np.log(2.0), "ln 2: guessing", transform=ax_loss.get_yaxis_transform(),
                     ha="right", va="top", fontsize=8, color="0.4")
        self.off_scale = ax_loss.text(0.98, 0.97, "", transform=ax_loss.transAxes, ha="right",
                                      va="top", fontsize=8, color="#b00")
        ax_loss.set_xlabel("epoch")
        ax_loss.set_ylabel("training cost J (BCE)")
        ax_loss.grid(True, alpha=0.3)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(numticks=8))
        ax.yaxis.set_minor_locator(NullLocator())  # minor log ticks cost more to draw than they say
        ax.grid(True, which="major", alpha=0.3)
        self.ax_norms, self.ax_loss = ax, ax_loss

    # ---- the model ------------------------------------------------------------
    def compute(self):
        """Read the controls, measure the norms, train the first seed's network; returns nothing."""
        c = {name: w.value for name, w in self.controls.items()}
        init, std = c["init"]
        self.sizes = [self.X.shape[1]] + [c["width"]] * (c["depth"] - 1) + [1]
        t0 = time.perf_counter()
        with np.errstate(all="ignore"):  # a too-large init overflows on purpose: shown, not warned
            self.seed_norms = gradient_norms_at_init(self.sizes, c["activation"], init, self.X,
                                                     self.y, self.seeds, std=std)  # (S, L)
            self.norms = np.exp(np.log(self.seed_norms).mean(axis=0))  # (L,) geometric mean
            reference = gradient_norms_at_init(self.sizes, "sigmoid", "xavier", self.X, self.y,
                                               self.seeds)  # (S, L)
            self.reference = np.exp(np.log(reference).mean(axis=0))
            self.ratio = float(self.norms[0] / self.norms[-1])
            self.net = MLP(self.sizes, c["activation"], loss="bce", init=init,
                           seed=self.seeds[0], std=std)
            self.losses = []

            def record(epoch, net, history):  # kept also when a later epoch diverges
                self.losses.append(history["loss"][-1])

            try:
                self.net.fit(self.X, self.y, lr=self.lr, num_epochs=self.num_epochs,
                             callback=record)
                self.diverged_at = None
            except FloatingPointError:  # the loss stopped being finite: named in the readout
                self.diverged_at = len(self.losses)
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
            line.set_data(layers, _positive(row))
        norms, reference = _positive(self.norms), _positive(self.reference)
        self.norm_line.set_data(layers, norms)
        self.reference_line.set_data(layers, reference)
        self.quarter_line.set_data(layers, reference[-1] * 0.25 ** (L - layers))
        shown = _positive(np.concatenate([self.seed_norms.ravel(), norms, reference]))
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


def vanishing_explorer(depth=10, width=16, activation="sigmoid", init="xavier", std=None, lr=0.3,
                       num_epochs=50, X=None, y=None, seeds=(0, 1, 2)):
    """The vanishing-gradient explorer of notebook 6; returns its VBox (``box.explorer``).

    Pick the depth, width, hidden activation and initialiser (``init`` and
    ``std`` as :class:`utils.MLP` takes them; one of ``INITS``) of a network
    ``[D, width, ..., width, 1]``; see its per-layer gradient norms at
    initialisation and a short training run. The data default to 100 moons
    (``utils.data.make_moons(100, noise=0.1, seed=0)``), as in the notebook.
    """
    if X is None:
        X, y = data.make_moons(100, noise=0.1, seed=0)
    return VanishingExplorer(X, y, depth, width, activation, init, std, lr, num_epochs, seeds).box()
