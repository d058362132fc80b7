"""The shared NumPy toolkit of the neural-network course.

The shape convention, stated once for the whole course
------------------------------------------------------
Rows are examples. With N examples, D input features, M units in a layer
and C classes:

======================  ===========  =========================================
what                    shape        note
======================  ===========  =========================================
inputs ``X``            (N, D)       one example per row
weights ``W``           (D, M)       column m holds the weights into unit m
biases ``b``            (M,)         broadcast over the N rows
pre-activations ``Z``   (N, M)       ``Z = X @ W + b``
activations ``A``       (N, M)       ``A = f(Z)``, element-wise (softmax: row-wise)
logits                  (N, C)       scores before softmax
integer labels ``y``    (N,)         values in ``0 .. C-1`` (or 0/1 for one output)
one-hot targets ``Y``   (N, C)
a single neuron         w: (D,)      the M = 1 case written as a vector;
                        b: scalar    ``z = X @ w + b`` has shape (N,)
======================  ===========  =========================================

A gradient has the shape of what it differentiates and is named after it:
``dW1`` has the shape of ``W1``, ``dZ`` the shape of ``Z``.

Losses are means over the N examples unless a docstring says otherwise (the
lectures' ``1/2 * sum of squares`` is a sum). Wrong shapes raise
:class:`utils.shapes.ShapeError`, which names the expected and the actual
shape; nothing is silently reshaped.

Modules
-------
``activations``  activation functions and their derivatives
``losses``       losses and their gradients
``layers``       the dense layer (forward/backward pairs) and initialisers
``mlp``          the multi-layer perceptron of any depth
``perceptron``   Rosenblatt's perceptron and its learning rule
``gradcheck``    centred numerical gradients and relative errors
``trace``        a forward and backward pass recorded one quantity at a time
``data``         logic gates, 2-D toy sets, the 8x8 digits images
``checks``       assertions with diagnoses, used by the notebooks' tests
``plotting``     decision boundaries, curves, network diagrams (matplotlib)
``widgets``      the notebooks' interactive explorers (ipywidgets), one module each

``plotting`` and ``widgets`` import matplotlib and ipywidgets, so they load
on first use (``utils.plotting`` or ``from utils import plotting``) to keep
``import utils`` fast.
"""
import importlib

from utils import (
    activations,
    checks,
    data,
    gradcheck,
    layers,
    losses,
    mlp,
    perceptron,
    shapes,
    trace,
)
from utils.mlp import MLP
from utils.perceptron import Perceptron

__all__ = [
    "MLP",
    "Perceptron",
    "activations",
    "checks",
    "data",
    "gradcheck",
    "layers",
    "losses",
    "mlp",
    "perceptron",
    "plotting",
    "shapes",
    "trace",
    "widgets",
]

_LAZY = ("plotting", "widgets")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f"utils.{name}")
    raise AttributeError(f"module 'utils' has no attribute {name!r}")
