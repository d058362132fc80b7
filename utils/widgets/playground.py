"""Notebook 3's MLP playground: a 2-H-1 network trained on a 2-D data set, drawn as it learns."""
import time

import ipywidgets
import numpy as np

from utils import data, plotting
from utils.mlp import MLP
from utils.widgets.base import Explorer, FigureImage

DATASETS = ("XOR cloud", "XOR (4 points)", "moons", "circles", "spirals")
ACTIVATIONS = ("tanh", "sigmoid", "relu", "leaky_relu")
LEARNING_RATES = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)


def _pale(cmap_name, strength=0.6):
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
        return data.xor()
    if name == "XOR cloud":
        return data.make_xor(100, std=0.15, seed=seed)
    if name == "moons":
        return data.make_moons(150, noise=0.15, seed=seed)
    if name == "circles":
        return data.make_circles(150, noise=0.08, factor=0.5, seed=seed)
    if name == "spirals":
        return data.make_spirals(150, noise=0.1, seed=seed)
    raise ValueError(f"unknown data set {name!r}; valid ones are: {', '.join(DATASETS)}")


class PlaygroundExplorer(Explorer):
    """An MLP playground in the spirit of playground.tensorflow.org: a 2-H-1 network on a 2-D set.

    Changing any control retrains a fresh ``MLP([2, width, 1], activation,
    loss="bce", seed=seed)`` for ``num_epochs`` epochs of full-batch gradient
    descent with step ``lr`` (:meth:`utils.MLP.fit`); the *Train more* button
    continues from the current weights. The picture is redrawn during
    training whenever ``frame_interval`` seconds have passed, at most every
    ``FRAME_EPOCHS`` epochs, so a long run is seen learning; a short one
    (XOR) is drawn once, at the end. :meth:`retrain` does all this from a
    test; ``timings`` keeps the seconds the last training and the last
    drawing took.

    The picture: the network's P(y = 1 | x) over the plane (red = class 1,
    blue = class 0, white = the boundary) with the data and each hidden
    unit's line z = 0 (dashed); the loss per epoch; one small panel per hidden
    unit with its activation over the same plane and its line.
    """

    MAX_WIDTH = 8
    FRAME_EPOCHS = 50  # frames fall on multiples of this many epochs, so no run is mostly drawing

    def __init__(self, dataset="XOR cloud", width=4, activation="tanh", lr=1.0, num_epochs=300,
                 seed=0, resolution=40, dpi=72, frame_interval=0.25):
        super().__init__()
        self.resolution, self.frame_interval = resolution, frame_interval
        style = {"description_width": "initial"}
        self.controls = {
            "dataset": ipywidgets.Dropdown(options=DATASETS, value=dataset,
                                           description="data set", style=style),
            "width": ipywidgets.IntSlider(value=width, min=1, max=self.MAX_WIDTH,
                                          description="hidden width", continuous_update=False,
                                          style=style),
            "activation": ipywidgets.Dropdown(options=ACTIVATIONS, value=activation,
                                              description="activation", style=style),
            "lr": ipywidgets.Dropdown(options=[(str(v), v) for v in LEARNING_RATES], value=lr,
                                      description="learning rate", style=style),
            "num_epochs": ipywidgets.IntSlider(value=num_epochs, min=50, max=5000, step=50,
                                               description="epochs", continuous_update=False,
                                               style=style),
            "seed": ipywidgets.BoundedIntText(value=seed, min=0, max=10**6, description="seed",
                                              style=style, layout=ipywidgets.Layout(width="140px")),
        }
        self.train_button = ipywidgets.Button(
            description="Train more", icon="play",
            tooltip="train `num_epochs` more epochs from the current weights",
        )
        self.train_button.on_click(self.guarded(lambda _: self.train()))
        self.net, self.losses = None, []
        self._build_figure(dpi)
        self.start()

    def control_rows(self):
        c = self.controls
        return [ipywidgets.HBox([c["dataset"], c["width"], c["activation"]]),
                ipywidgets.HBox([c["lr"], c["num_epochs"], c["seed"], self.train_button])]

    # ---- the picture, made once ---------------------------------------------
    def _build_figure(self, dpi):
        from matplotlib.lines import Line2D

        self.picture = FigureImage(figsize=(8.0, 3.5), dpi=dpi)
        pale = _pale("RdBu_r")  # blue = class 0, red = class 1, like the points
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
        xx, yy, self.grid = plotting.decision_grid(self.X, self.resolution, margin=0.4)  # (R*R, 2)
        self.xlim, self.ylim = (xx.min(), xx.max()), (yy.min(), yy.max())
        extent = (*self.xlim, *self.ylim)
        self.points.set_offsets(self.X)
        self.points.set_facecolors([plotting.CLASS_COLOURS[k] for k in self.y])
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
        """Build a fresh network from the controls, train it ``num_epochs`` epochs and redraw."""
        c = {name: w.value for name, w in self.controls.items()}
        self._show_data()
        self.net = MLP([2, c["width"], 1], c["activation"], loss="bce", seed=c["seed"])
        self.losses = []
        return self.train()

    def train(self, num_epochs=None):
        """Train ``num_epochs`` more epochs (default: the control) with ``MLP.fit``, then draw.

        Raises FloatingPointError (from ``fit``) when the loss stops being finite.
        """
        if self.net is None:
            return self.retrain()
        num_epochs = self.controls["num_epochs"].value if num_epochs is None else int(num_epochs)
        start = last_frame = time.perf_counter()

        def record_and_show(epoch, net, history):
            nonlocal last_frame
            self.losses.append(history["loss"][-1])
            done = epoch + 1
            if (done % self.FRAME_EPOCHS == 0 and done < num_epochs
                    and time.perf_counter() - last_frame > self.frame_interval):
                self.draw()
                last_frame = time.perf_counter()

        self.net.fit(self.X, self.y, lr=self.controls["lr"].value, num_epochs=num_epochs,
                     callback=record_and_show)
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
            ends = plotting.line_in_box(W1[:, j], b1[j], self.xlim, self.ylim)
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


def mlp_playground(dataset="XOR cloud", width=4, activation="tanh", lr=1.0, num_epochs=300, seed=0,
                   **kwargs):
    """The MLP playground of notebook 3, trained once with these settings; returns its VBox.

    ``kwargs`` go to :class:`PlaygroundExplorer` (``resolution``, ``dpi``,
    ``frame_interval``); ``box.explorer`` is the explorer.
    """
    return PlaygroundExplorer(dataset, width, activation, lr, num_epochs, seed, **kwargs).box()
