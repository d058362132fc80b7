r"""A step-by-step record of one forward and one backward pass through an MLP.

:func:`trace` runs one example through a :class:`utils.MLP` and returns its
passes one scalar at a time, in the order a person would compute them by
hand: every pre-activation and activation, the loss, then, from the output
back to the input, every :math:`\partial E/\partial a`,
:math:`\partial E/\partial z`, :math:`\partial E/\partial w` and
:math:`\partial E/\partial b`. Each :class:`Step` carries its value, its
formula in symbols and with the numbers put in, and the nodes and edges of
the network diagram it lives on, so that :class:`utils.widgets.BackpropStepper`
can draw it.

Indices follow the course's layout: ``W`` of layer :math:`\ell` is
:math:`(n_{\ell-1}, n_\ell)` and ``W[i, j]`` (symbol :math:`w^{(\ell)}_{ij}`,
1-based) is the weight from unit :math:`i` of layer :math:`\ell-1` into unit
:math:`j` of layer :math:`\ell`. Layer 0 is the input. Code names are
0-based (``dW2[0, 1]``), symbols 1-based (``∂E/∂w₁₂^[2]``).

The values come from the network and the functions in ``utils``
(``Dense``, the activations' ``backward``, the loss's ``grad``,
:func:`utils.layers.dense_backward`); this module adds only the
bookkeeping and the text.

>>> net, X, Y = lecture_2_2_2()
>>> steps = trace(net, X, Y)
>>> len(steps), steps[0]
(29, Step(forward z1[0] = 0.178))
>>> print(steps[0])
z₁^[1] = x₁·w₁₁^[1] + x₂·w₂₁^[1] + b₁^[1] = 0.12×0.15 + 0.3×0.2 + 0.1 = 0.178
"""
from dataclasses import dataclass

import numpy as np

from utils.layers import dense_backward
from utils.mlp import MLP
from utils.shapes import ShapeError

_SUB = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")

# The lectures' 2-2-2 worked example (001): W is (D, M), W[i, j] from unit i into unit j.
LECTURE_2_2_2 = {
    "W1": [[0.15, 0.20], [0.20, 0.30]],
    "b1": [0.10, 0.20],
    "W2": [[0.40, 0.45], [0.50, 0.55]],
    "b2": [0.20, 0.10],
    "X": [[0.12, 0.30]],
    "Y": [[0.10, 0.90]],
}


def lecture_2_2_2():
    """The 2-2-2 sigmoid network of the lectures with its example: ``(net, X (1, 2), Y (1, 2))``.

    Loss: :math:`E = \\frac12\\sum_j (y_j - a_j)^2` (``half_sse``).
    """
    p = LECTURE_2_2_2
    net = MLP([2, 2, 2], ["sigmoid", "sigmoid"], loss="half_sse")
    net.set_params(W1=p["W1"], b1=p["b1"], W2=p["W2"], b2=p["b2"])
    return net, np.array(p["X"], dtype=float), np.array(p["Y"], dtype=float)


@dataclass(frozen=True)
class Step:
    """One scalar of a forward or backward pass.

    phase : ``"forward"`` or ``"backward"``.
    kind : ``"z"``, ``"a"``, ``"loss"``, ``"da"``, ``"dz"``, ``"dW"`` or ``"db"``.
    layer : :math:`\\ell` (1 = first hidden layer; the loss has layer L).
    index : ``(j,)`` for a unit, ``(i, j)`` for a weight, ``()`` for the loss.
    name : 0-based code name, e.g. ``"dW2[0, 1]"``; symbol : 1-based maths name.
    formula : the right-hand side in symbols; numbers : with the values put in.
    nodes : ``("node", layer, unit)`` tuples; edges : ``("edge", layer - 1, i, j)``
        tuples, as :func:`utils.plotting.draw_network` takes them in ``highlight``.
    """

    phase: str
    kind: str
    layer: int
    index: tuple
    name: str
    symbol: str
    value: float
    formula: str
    numbers: str
    nodes: tuple = ()
    edges: tuple = ()

    def __str__(self):
        parts = [self.symbol, self.formula, self.numbers, num(self.value)]
        if self.numbers == parts[-1]:
            del parts[2]
        return " = ".join(parts)

    def __repr__(self):
        return f"Step({self.phase} {self.name} = {num(self.value)})"


def num(v):
    """A number as the trace writes it: 4 significant digits, negatives in brackets when needed."""
    return f"{float(v) + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def _factor(v):
    s = num(v)
    return f"({s})" if s.startswith("-") else s


def _sym(letter, layer=None, *index):
    s = letter + "".join(str(i + 1) for i in index).translate(_SUB)
    if layer is not None:
        s += f"^[{layer}]"
    return s


def _a_sym(layer, i):
    """Activation i of layer ``layer``; layer 0 is the input x."""
    return _sym("x", None, i) if layer == 0 else _sym("a", layer, i)


def _d(sym):
    return f"∂E/∂{sym}"


# the local derivative f'(z) of each element-wise activation, in symbols and with numbers
_DERIV_TEXT = {
    "sigmoid": (lambda a: f"{a}(1 − {a})", lambda z, a: f"{num(a)}×(1 − {num(a)})"),
    "tanh": (lambda a: f"(1 − {a}²)", lambda z, a: f"(1 − {num(a)}²)"),
    "relu": (lambda a: "[z ≥ 0]", lambda z, a: "1" if z >= 0 else "0"),
    "leaky_relu": (lambda a: "(1 if z ≥ 0 else 0.01)", lambda z, a: "1" if z >= 0 else "0.01"),
    "identity": (lambda a: "1", lambda z, a: "1"),
}

_LOSS_TEXT = {
    "half_sse": ("½ Σⱼ (yⱼ − aⱼ)²", lambda a, y: "½[" + " + ".join(
        f"({num(t)} − {num(v)})²" for v, t in zip(a, y)) + "]"),
    "mse": ("(1/M) Σⱼ (aⱼ − yⱼ)²", lambda a, y: f"(1/{len(a)})[" + " + ".join(
        f"({num(v)} − {num(t)})²" for v, t in zip(a, y)) + "]"),
    "bce": ("−Σⱼ [yⱼ log aⱼ + (1 − yⱼ) log(1 − aⱼ)]", lambda a, y: "−[" + " + ".join(
        f"{num(t)}·log {num(v)} + {num(1 - t)}·log {num(1 - v)}" for v, t in zip(a, y)) + "]"),
    "cce": ("−Σⱼ yⱼ log aⱼ", lambda a, y: "−[" + " + ".join(
        f"{num(t)}·log {num(v)}" for v, t in zip(a, y)) + "]"),
}

_DA_TEXT = {
    "half_sse": ("a − y", lambda a, y, M: f"{num(a)} − {num(y)}"),
    "mse": ("2(a − y)/M", lambda a, y, M: f"2×({num(a)} − {num(y)})/{M}"),
    "bce": ("(a − y) / (a(1 − a))",
            lambda a, y, M: f"({num(a)} − {num(y)}) / ({num(a)}×{num(1 - a)})"),
    "cce": ("−y / a", lambda a, y, M: f"−{num(y)} / {num(a)}"),
}


def one_example(net, X, Y):
    """The example as :func:`trace` takes it: ``X`` (1, D) and targets ``Y`` (1, M).

    X : (1, D) or (D,); Y : (1, M), (M,), or a label (see :meth:`utils.MLP.targets`).
    Raises :class:`utils.shapes.ShapeError` for more than one example.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[None, :]
    if X.shape != (1, net.sizes[0]):
        raise ShapeError(
            f"trace follows one example: X should have shape (1, {net.sizes[0]}) "
            f"or ({net.sizes[0]},) but has shape {X.shape}"
        )
    Y = np.atleast_1d(np.asarray(Y, dtype=float))
    if Y.ndim == 1 and Y.size == net.sizes[-1]:
        Y = Y[None, :]
    return X, net.targets(Y)


def trace(net, X, Y):
    """Record a forward and a backward pass of one example through ``net``, one scalar per step.

    net : a :class:`utils.MLP`; X : (1, D) or (D,); Y : targets (1, M) or (M,)
    (or a label, as :meth:`utils.MLP.targets` takes it). Returns a list of
    :class:`Step`. Leaves ``net`` with the caches of this forward pass and
    its ``grads`` filled by ``net.backward``, which the recorded gradients equal.
    """
    X, Y = one_example(net, X, Y)
    steps = []
    L = len(net.layers)
    net.forward(X)
    inputs = [X] + [layer.A for layer in net.layers[:-1]]

    # ---- forward: z then a, layer by layer -------------------------------
    for l, (layer, A_in) in enumerate(zip(net.layers, inputs), 1):
        D, M = layer.shape
        act = layer.activation.name
        for j in range(M):
            terms = " + ".join(f"{_a_sym(l - 1, i)}·{_sym('w', l, i, j)}" for i in range(D))
            nums = " + ".join(f"{_factor(A_in[0, i])}×{_factor(layer.W[i, j])}" for i in range(D))
            steps.append(Step(
                "forward", "z", l, (j,), f"z{l}[{j}]", _sym("z", l, j), float(layer.Z[0, j]),
                f"{terms} + {_sym('b', l, j)}", f"{nums} + {_factor(layer.b[j])}",
                nodes=(("node", l, j),),
                edges=tuple(("edge", l - 1, i, j) for i in range(D)),
            ))
        for j in range(M):
            z = _sym("z", l, j)
            if act == "softmax":
                formula = f"exp({z}) / Σₖ exp(zₖ^[{l}])"
                nums = f"exp({num(layer.Z[0, j])}) / (" + " + ".join(
                    f"exp({num(v)})" for v in layer.Z[0]) + ")"
            else:
                formula, nums = f"{act}({z})", f"{act}({num(layer.Z[0, j])})"
            steps.append(Step(
                "forward", "a", l, (j,), f"a{l}[{j}]", _sym("a", l, j), float(layer.A[0, j]),
                formula, nums, nodes=(("node", l, j),),
            ))

    # ---- the loss ----------------------------------------------------------
    out = net.layers[-1]
    loss_formula, loss_numbers = _LOSS_TEXT.get(
        net.loss.name, (f"{net.loss.name}(a, y)", lambda a, y: f"{net.loss.name}(…)"))
    steps.append(Step(
        "forward", "loss", L, (), "E", "E", float(net.loss_value(Y)),
        loss_formula, loss_numbers(out.A[0], Y[0]),
        nodes=tuple(("node", L, j) for j in range(out.shape[1])),
    ))

    # ---- backward: from the loss to the first layer ------------------------
    dA = net.loss.grad(out.A, Y)
    M_out = out.shape[1]
    da_formula, da_numbers = _DA_TEXT.get(
        net.loss.name, ("∂E/∂a", lambda a, y, M: "…"))
    for j in range(M_out):
        steps.append(Step(
            "backward", "da", L, (j,), f"da{L}[{j}]", _d(_sym("a", L, j)), float(dA[0, j]),
            da_formula.replace("a", _sym("a", L, j)).replace("y", _sym("y", None, j)),
            da_numbers(out.A[0, j], Y[0, j], M_out), nodes=(("node", L, j),),
        ))
    fused = net.loss.link is not None and net.loss.link == out.activation.name
    for l in range(L, 0, -1):
        layer = net.layers[l - 1]
        A_in = inputs[l - 1]
        D, M = layer.shape
        act = layer.activation.name
        if l == L and fused:
            dZ = net.loss.grad_from_link(layer.A, Y)  # the loss hands over dZ directly, as the MLP does
        else:
            dZ = layer.activation.backward(dA, layer.Z, layer.A)
        for j in range(M):
            a, z, da = _sym("a", l, j), _sym("z", l, j), _d(_sym("a", l, j))
            if act == "softmax":
                formula = f"{a}({da} − Σₖ ∂E/∂aₖ·aₖ)"
                nums = f"{num(layer.A[0, j])}×({num(dA[0, j])} − {num(np.dot(dA[0], layer.A[0]))})"
                nodes = tuple(("node", l, k) for k in range(M))
            else:
                sym_d, num_d = _DERIV_TEXT.get(act, (lambda a, act=act: f"{act}'(z)", lambda z, a: "…"))
                formula = f"{da}·{sym_d(a)}"
                nums = f"{_factor(dA[0, j])}×{num_d(layer.Z[0, j], layer.A[0, j])}"
                nodes = (("node", l, j),)
            if l == L and fused:
                formula += f" = {a} − {_sym('y', None, j)}"
                nums = f"{num(layer.A[0, j])} − {num(Y[0, j])}"
            steps.append(Step(
                "backward", "dz", l, (j,), f"dz{l}[{j}]", _d(z), float(dZ[0, j]),
                formula, nums, nodes=nodes,
            ))
        dX, dW, db = dense_backward(dZ, (A_in, layer.W))
        for i in range(D):
            for j in range(M):
                steps.append(Step(
                    "backward", "dW", l, (i, j), f"dW{l}[{i}, {j}]", _d(_sym("w", l, i, j)),
                    float(dW[i, j]), f"{_a_sym(l - 1, i)}·{_d(_sym('z', l, j))}",
                    f"{_factor(A_in[0, i])}×{_factor(dZ[0, j])}",
                    edges=(("edge", l - 1, i, j),),
                ))
        for j in range(M):
            steps.append(Step(
                "backward", "db", l, (j,), f"db{l}[{j}]", _d(_sym("b", l, j)), float(db[j]),
                _d(_sym("z", l, j)), num(dZ[0, j]), nodes=(("node", l, j),),
            ))
        if l > 1:
            for i in range(D):
                terms = " + ".join(f"{_sym('w', l, i, j)}·{_d(_sym('z', l, j))}" for j in range(M))
                nums = " + ".join(f"{_factor(layer.W[i, j])}×{_factor(dZ[0, j])}" for j in range(M))
                steps.append(Step(
                    "backward", "da", l - 1, (i,), f"da{l - 1}[{i}]", _d(_sym("a", l - 1, i)),
                    float(dX[0, i]), terms, nums, nodes=(("node", l - 1, i),),
                    edges=tuple(("edge", l - 1, i, j) for j in range(M)),
                ))
        dA = dX
    net.backward(Y)
    return steps


def known(steps, k):
    """What is known after the first ``k`` steps: ``{kind: {(layer, *index): value}}``.

    Kinds are those of :class:`Step`; the dictionary is empty for each kind
    not reached yet. The widget writes these values on the diagram.
    """
    if not 0 <= k <= len(steps):
        raise IndexError(f"step {k} is outside 0..{len(steps)}")
    out = {kind: {} for kind in ("z", "a", "loss", "da", "dz", "dW", "db")}
    for s in steps[:k]:
        out[s.kind][(s.layer, *s.index)] = s.value
    return out
