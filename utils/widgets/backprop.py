"""Notebook 4's backprop stepper: one forward and one backward pass, one number at a time."""
import html

import ipywidgets

from utils import trace
from utils.plotting import draw_network
from utils.widgets.base import Explorer, FigureImage

_FORWARD_COLOUR = "#1f3b73"
_BACKWARD_COLOUR = "#b34700"


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
        X, Y = trace.one_example(net, X, Y)
        self.steps = trace.trace(net, X, Y)
        self.x, self.y = X[0], Y[0]  # (D,), (M,)
        # copies: the picture shows the parameters the trace was made with
        self.weights = [layer.W.copy() for layer in net.layers]
        self.biases = [layer.b.copy() for layer in net.layers]
        n = len(self.steps)
        self.controls["step"] = ipywidgets.IntSlider(
            value=0, min=0, max=n, description="step", style={"description_width": "initial"},
            layout=ipywidgets.Layout(width="420px"),
        )
        self.buttons = {
            "previous": ipywidgets.Button(description="◀ Previous",
                                          layout=ipywidgets.Layout(width="110px")),
            "next": ipywidgets.Button(description="Next ▶", button_style="primary",
                                      layout=ipywidgets.Layout(width="110px")),
            "reset": ipywidgets.Button(description="Reset", layout=ipywidgets.Layout(width="80px")),
        }
        self.buttons["previous"].on_click(self.guarded(lambda _: self.move(-1)))
        self.buttons["next"].on_click(self.guarded(lambda _: self.move(+1)))
        self.buttons["reset"].on_click(self.guarded(lambda _: self.reset()))
        self.picture = FigureImage(figsize=figsize, dpi=dpi)
        self.start()

    def control_rows(self):
        b = self.buttons
        return [ipywidgets.HBox([b["previous"], b["next"], b["reset"], self.controls["step"]])]

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
        known = trace.known(self.steps, k)
        self.buttons["previous"].disabled = k == 0
        self.buttons["next"].disabled = k == n
        self.draw(known, self.current)
        self.readout.value = self.describe(self.current)
        self.picture.render()

    def draw(self, known, step):
        ax = self.picture.axes
        ax.clear()
        sizes = self.net.sizes
        num = trace.num
        # the edge text is written below, one number per edge, so draw_network's is blanked
        blank = [[[""] * W.shape[1] for _ in range(W.shape[0])] for W in self.weights]
        highlight = set(step.nodes) | set(step.edges) if step else set()
        draw_network(sizes, ax=ax, weights=self.weights, edge_labels=blank,
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
                        f"∂ {num(g)}", _BACKWARD_COLOUR)
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
                            color=_BACKWARD_COLOUR if bwd else _FORWARD_COLOUR, zorder=5)
                g = known["db"].get((l, j))
                text, colour = (f"b {num(b[j])}", "#333333") if g is None else (
                    f"∂b {num(g)}", _BACKWARD_COLOUR)
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
            x = ", ".join(trace.num(v) for v in self.x)
            y = ", ".join(trace.num(v) for v in self.y)
            return (f"{head} · inputs x = ({x}), targets y = ({y}) and the weights are set. "
                    "Press <i>Next</i> to start the forward pass.")
        phase = "forward pass" if step.phase == "forward" else "backward pass"
        text = html.escape(str(step))
        text = text[:text.rfind("=")] + f"= <b>{trace.num(step.value)}</b>"
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
        net, X0, Y0 = trace.lecture_2_2_2()
        X = X0 if X is None else X
        Y = Y0 if Y is None else Y
    return BackpropStepper(net, X, Y).box()
