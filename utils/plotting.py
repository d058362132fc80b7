"""Pictures of what a network does: decision boundaries, training curves, gradient norms, diagrams.

Every function draws into a matplotlib ``Axes`` given as ``ax`` (a new
figure is made when it is None) and returns the ``Axes`` (or the tuple of
them), so notebooks and widgets can compose them. The numbers come from
``utils``; nothing here computes maths of its own beyond a grid to draw on.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from utils.perceptron import perceptron_predict

CLASS_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
RIGHT_COLOUR, WRONG_COLOUR = "#2ca02c", "#d62728"  # a point classified right or wrong


def _axes(ax, **subplot_kw):
    if ax is None:
        _, ax = plt.subplots(**subplot_kw)
    return ax


def decision_grid(X, resolution=200, margin=0.5):
    """A grid over the bounding box of X (N, 2), widened by ``margin``.

    Returns ``(xx, yy, points)``: two (R, R) coordinate arrays and the
    (R*R, 2) points to feed a model.
    """
    X = np.asarray(X, dtype=float)
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    return xx, yy, np.column_stack([xx.ravel(), yy.ravel()])


def plot_points(X, y, ax=None, **kwargs):
    """Scatter X (N, 2) coloured by integer label y (N,)."""
    ax = _axes(ax)
    y = np.asarray(y).astype(int)
    labels = np.unique(y)
    for k, label in enumerate(labels):
        m = y == label
        ax.scatter(X[m, 0], X[m, 1], s=kwargs.get("s", 30), c=CLASS_COLOURS[k % 10],
                   edgecolors="k", linewidths=0.5, label=f"y = {label}", zorder=3)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


BOUNDARY_KINDS = ("labels", "probability")


def plot_decision_boundary(predict, X, y, kind, ax=None, resolution=200, margin=0.5, title=None):
    """Shade the regions a classifier assigns to each class, with the data on top.

    ``predict`` maps points (P, 2) to what ``kind`` says it returns:
    ``"labels"``, class labels (P,) (or one-hot/scores (P, C), read by their
    argmax), shaded one colour per class; or ``"probability"``, the
    probability of class 1, (P,) or (P, 1), shaded continuously with the 0.5
    contour drawn as the boundary.
    """
    if kind not in BOUNDARY_KINDS:
        raise ValueError(f"kind must be one of {BOUNDARY_KINDS}, got {kind!r}")
    ax = _axes(ax)
    xx, yy, pts = decision_grid(X, resolution, margin)
    out = np.asarray(predict(pts), dtype=float)
    if out.ndim == 2 and out.shape[1] == 1:
        out = out[:, 0]
    if out.ndim == 2:
        out = out.argmax(axis=1).astype(float)
    zz = out.reshape(xx.shape)
    if kind == "labels":
        k = int(max(zz.max(), np.max(y))) + 1
        ax.contourf(xx, yy, zz, levels=np.arange(k + 1) - 0.5,
                    cmap=ListedColormap(CLASS_COLOURS[:k]), alpha=0.25)
    else:
        ax.contourf(xx, yy, zz, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.35)
    if zz.min() < 0.5 < zz.max():
        ax.contour(xx, yy, zz, levels=[0.5], colors="k", linewidths=1.5)
    plot_points(X, y, ax)
    ax.set_xlim(xx.min(), xx.max())
    ax.set_ylim(yy.min(), yy.max())
    if title:
        ax.set_title(title)
    return ax


def line_in_box(w, b, xlim, ylim):
    r"""End points ``(xs, ys)`` of the line :math:`w_1 x_1 + w_2 x_2 + b = 0` across a box.

    Solves :math:`x_2 = -(w_1 x_1 + b) / w_2` when the line is nearer horizontal
    (:math:`|w_2| \ge |w_1|`), else :math:`x_1 = -(w_2 x_2 + b) / w_1`, so that a
    vertical line (:math:`w_2 = 0`) works too. When w = 0 there is no line
    (z = b everywhere) and both arrays are empty, ready for ``Line2D.set_data``.
    """
    w1, w2 = (float(v) for v in w)
    if w1 == 0 and w2 == 0:
        return np.array([]), np.array([])
    if abs(w2) >= abs(w1):
        xs = np.array(xlim, dtype=float)
        return xs, -(w1 * xs + b) / w2
    ys = np.array(ylim, dtype=float)
    return -(w2 * ys + b) / w1, ys


def plot_perceptron(X, y, w, b, activation="step", ax=None, lim=None, legend=True,
                    resolution=201):
    r"""Picture of a perceptron on 2-D data: its line, its class-1 side, its normal w, its mistakes.

    The region the perceptron calls class 1 is shaded red, the other blue;
    the line :math:`\mathbf w \cdot \mathbf x + b = 0` is black, with the
    normal vector w drawn (to scale 1/‖w‖, only its direction matters) from
    the line towards the side it points to. The points are drawn as in the
    lecture: x for target 1, o for the other target (0 or -1); green if the
    perceptron gets them right, red if wrong.

    X (N, 2), y (N,), w (2,), b a float; ``lim`` is (lo, hi) for both axes
    (default: the data's range widened by 0.6). Returns the Axes.
    """
    ax = _axes(ax, figsize=(3.5, 3.5))
    X, y, w = np.asarray(X, dtype=float), np.asarray(y), np.asarray(w, dtype=float)
    lo, hi = lim if lim is not None else (X.min() - 0.6, X.max() + 0.6)
    grid = np.linspace(lo, hi, resolution)
    xx, yy = np.meshgrid(grid, grid)
    points = np.column_stack([xx.ravel(), yy.ravel()])  # (R*R, 2)
    class1 = (perceptron_predict(points, w, b, activation) == 1).reshape(xx.shape)
    ax.imshow(class1, origin="lower", extent=(lo, hi, lo, hi), vmin=0, vmax=1, alpha=0.15,
              cmap=ListedColormap(CLASS_COLOURS[:2]), interpolation="nearest", aspect="equal")
    if np.any(w != 0):
        ax.plot(*line_in_box(w, b, (lo, hi), (lo, hi)), "k-", lw=2)
        centre = np.array([(lo + hi) / 2, (lo + hi) / 2])
        foot = centre - (centre @ w + b) / (w @ w) * w  # the point of the line nearest the centre
        tip = foot + 0.22 * (hi - lo) * w / np.linalg.norm(w)
        ax.annotate("", xy=tip, xytext=foot, arrowprops=dict(arrowstyle="-|>", lw=2, color="k"))
        ax.text(*(tip + 0.03 * (hi - lo) * w / np.linalg.norm(w)), "w", fontsize=12,
                ha="center", va="center", fontweight="bold")
    right = perceptron_predict(X, w, b, activation) == y
    for is_class1, marker in ((True, "X"), (False, "o")):
        m = (y == 1) == is_class1
        ax.scatter(X[m, 0], X[m, 1], s=150, marker=marker, edgecolors="k", linewidths=1,
                   c=np.where(right[m], RIGHT_COLOUR, WRONG_COLOUR), zorder=3)
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    if len(np.unique(X)) <= 5:  # a truth table: ticks at its input values, fewer to draw
        ax.set_xticks(np.unique(X))
        ax.set_yticks(np.unique(X))
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if legend:
        other = 0 if activation == "step" else -1
        ax.legend(handles=_perceptron_legend(other), loc="upper center",
                  bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=7, frameon=False)
    return ax


def _perceptron_legend(other):
    grey = dict(ls="none", mfc="#bbbbbb", mec="k", ms=8)
    return [Line2D([], [], marker="X", label="target 1", **grey),
            Line2D([], [], marker="o", label=f"target {other}", **grey),
            Patch(fc=RIGHT_COLOUR, ec="k", label="right"),
            Patch(fc=WRONG_COLOUR, ec="k", label="wrong")]


def plot_confusion_matrix(counts, ax=None):
    """Draw a confusion matrix, counts (C, C), as an annotated heat map; returns the Axes.

    Entry (i, j) counts the examples of class i predicted as j, so a perfect
    classifier fills only the diagonal. The title gives the accuracy, the
    diagonal's share.
    """
    counts = np.asarray(counts)
    C = counts.shape[0]
    ax = _axes(ax, figsize=(4.6, 4.2))
    ax.imshow(counts, cmap="Blues")
    for i, j in zip(*np.nonzero(counts)):
        ax.text(j, i, counts[i, j], ha="center", va="center", fontsize=8,
                color="white" if counts[i, j] > counts.max() / 2 else "black")
    ax.set_xticks(range(C))
    ax.set_yticks(range(C))
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"accuracy {np.trace(counts) / counts.sum():.3f}")
    return ax


def plot_history(history, axes=None, label=None):
    """Loss (and accuracy, when recorded) per epoch from :meth:`utils.MLP.fit`'s history."""
    has_acc = bool(history.get("accuracy"))
    if axes is None:
        _, axes = plt.subplots(1, 2 if has_acc else 1, figsize=(10 if has_acc else 5, 3.5))
    axes = np.atleast_1d(axes)
    axes[0].plot(history["loss"], label=label)
    axes[0].set_xlabel("epoch")
    axes[0].set_ylabel("cost J")
    axes[0].set_title("training loss")
    if has_acc and len(axes) > 1:
        axes[1].plot(history["accuracy"], label=label)
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy")
        axes[1].set_ylim(-0.02, 1.02)
        axes[1].set_title("training accuracy")
    if label is not None:
        for a in axes:
            a.legend()
    return tuple(axes)


def plot_grad_norms(grad_norms, ax=None, label=None, **line_kwargs):
    """Per-layer gradient norms on a log scale.

    ``grad_norms`` is one list of per-layer norms (plotted against the layer
    number), or a history of such lists, one per epoch (one line per layer
    over the epochs). ``line_kwargs`` (colour, style...) go to matplotlib.
    """
    ax = _axes(ax)
    g = np.asarray(grad_norms, dtype=float)
    if g.ndim == 1:
        ax.semilogy(np.arange(1, g.size + 1), g, "o-", label=label, **line_kwargs)
        ax.set_xlabel("layer (1 = next to the input)")
        ax.set_xticks(np.arange(1, g.size + 1))
    else:
        for layer in range(g.shape[1]):
            ax.semilogy(g[:, layer], label=f"layer {layer + 1}", **line_kwargs)
        ax.set_xlabel("epoch")
        ax.legend(fontsize="small", ncol=2)
    ax.set_ylabel(r"$\|\partial J / \partial W^{[\ell]}\|$")
    if label is not None and g.ndim == 1:
        ax.legend()
    return ax


def draw_network(sizes, ax=None, weights=None, node_values=None, edge_labels=None,
                 node_labels=None, highlight=None, fmt="{:.3f}"):
    """Draw a layered network with values on its nodes and edges.

    sizes : widths ``[D, H1, ..., M]``.
    weights : optional list of (n_l, n_{l+1}) arrays, one per layer, written
        on the edges (edge width follows |weight|).
    node_values : optional list of (n_l,) arrays, written inside the nodes.
    edge_labels : optional list of (n_l, n_{l+1}) arrays of strings or numbers
        that override ``weights`` as the edge text (e.g. gradients).
    node_labels : optional list of lists of strings, written above the nodes.
    highlight : optional set of ("node", layer, i) / ("edge", layer, i, j)
        tuples drawn in orange, for steppers.
    """
    ax = _axes(ax, figsize=(2.2 * len(sizes) + 1, 1.1 * max(sizes) + 1))
    tallest = max(sizes)
    pos = [np.column_stack([np.full(n, 2.0 * x), (n - 1) / 2.0 - np.arange(n)]) for x, n in enumerate(sizes)]
    highlight = highlight or set()
    for l in range(len(sizes) - 1):
        for i in range(sizes[l]):
            for j in range(sizes[l + 1]):
                (x0, y0), (x1, y1) = pos[l][i], pos[l + 1][j]
                hot = ("edge", l, i, j) in highlight
                w = None if weights is None else float(weights[l][i, j])
                lw = 1.0 if w is None else 0.5 + 2.5 * min(abs(w), 2.0) / 2.0
                colour = "#ff7f0e" if hot else ("#555555" if w is None or w >= 0 else "#1f77b4")
                ax.plot([x0, x1], [y0, y1], color=colour, lw=lw, zorder=1)
                text = None
                if edge_labels is not None:
                    v = edge_labels[l][i][j]
                    text = v if isinstance(v, str) else fmt.format(v)
                elif w is not None:
                    text = fmt.format(w)
                if text:
                    t = 0.3 if i % 2 == 0 else 0.7
                    ax.text(x0 + t * (x1 - x0), y0 + t * (y1 - y0), text, fontsize=8, ha="center",
                            va="center", zorder=4,
                            bbox=dict(boxstyle="round,pad=0.15", fc="white", ec="none", alpha=0.85))
    for l, p in enumerate(pos):
        for i, (x, y) in enumerate(p):
            hot = ("node", l, i) in highlight
            ax.add_patch(plt.Circle((x, y), 0.32, fc="#ffe0b3" if hot else "white",
                                    ec="#ff7f0e" if hot else "k", lw=1.5, zorder=2))
            if node_values is not None and node_values[l] is not None:
                ax.text(x, y, fmt.format(float(np.asarray(node_values[l])[i])), ha="center",
                        va="center", fontsize=8, zorder=3)
            if node_labels is not None:
                ax.text(x, y + 0.42, node_labels[l][i], ha="center", va="bottom", fontsize=9, zorder=3)
    ax.set_xlim(-0.8, 2.0 * (len(sizes) - 1) + 0.8)
    ax.set_ylim(-(tallest - 1) / 2.0 - 0.7, (tallest - 1) / 2.0 + 0.9)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax
