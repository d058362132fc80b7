r"""Rosenblatt's perceptron and its learning rule.

A perceptron is one unit with a hard threshold:
:math:`\hat y = f(\mathbf w \cdot \mathbf x + b)` with ``step`` (outputs 0/1, for
binary targets) or ``sign`` (outputs -1/1, for bipolar targets). Its
decision boundary is the line :math:`\mathbf w \cdot \mathbf x + b = 0`.

The learning rule visits the examples in order and, for each one, moves
the weights towards the right answer:

.. math:: \mathbf w \leftarrow \mathbf w + \eta\,(y - \hat y)\,\mathbf x, \qquad b \leftarrow b + \eta\,(y - \hat y)

A right answer changes nothing. The convergence theorem: if some line
separates the two classes, this rule finds one after finitely many
mistakes; if none does (XOR), it never stops making them.

Shapes: X (N, D), w (D,), b a float, y (N,).
"""
import numpy as np

from utils.activations import sign, step
from utils.shapes import check_shape

_UNITS = {"step": step, "sign": sign}


def _unit(activation):
    try:
        return _UNITS[activation]
    except KeyError:
        raise ValueError(
            f"unknown perceptron activation {activation!r}; valid ones are: step, sign"
        ) from None


def perceptron_predict(X, w, b, activation="step"):
    """Outputs (N,) of a perceptron with weights w (D,) and bias b on inputs X (N, D)."""
    w = np.asarray(w, dtype=float)
    check_shape("w", w, (None,))
    X = check_shape("X", X, (None, w.shape[0]))
    return _unit(activation)(X @ w + b)


def perceptron_update(x, y, w, b, lr=1.0, activation="step"):
    """One learning-rule update on a single example x (D,) with target y.

    Returns ``(w_new, b_new, error)`` where ``error = y - y_hat`` (0 when the
    example was already right). The inputs are not modified.
    """
    w = np.asarray(w, dtype=float)
    x = check_shape("x", x, w.shape)
    y_hat = float(_unit(activation)(x @ w + b))
    error = float(y) - y_hat
    return w + lr * error * x, float(b) + lr * error, error


class Perceptron:
    """A perceptron trained with the classic learning rule, starting from zero weights."""

    def __init__(self, n_inputs, activation="step", lr=1.0):
        _unit(activation)
        self.activation, self.lr = activation, lr
        self.w = np.zeros(n_inputs)
        self.b = 0.0

    def predict(self, X):
        """Outputs (N,) for inputs X (N, D)."""
        return perceptron_predict(X, self.w, self.b, self.activation)

    def errors(self, X, y):
        """How many of the N examples the perceptron gets wrong."""
        return int(np.sum(self.predict(X) != np.asarray(y)))

    def update(self, x, y):
        """Apply the rule to one example; returns its error ``y - y_hat``."""
        self.w, self.b, error = perceptron_update(x, y, self.w, self.b, self.lr, self.activation)
        return error

    def epoch(self, X, y):
        """One pass of the rule over the examples in order; returns the number of updates made."""
        return sum(self.update(x_n, y_n) != 0 for x_n, y_n in zip(X, y))

    def fit(self, X, y, num_epochs=100):
        """Run epochs until an epoch makes no update, or ``num_epochs`` epochs.

        Returns a dict: ``errors`` (examples wrong after each epoch),
        ``updates`` (updates made in each epoch), ``converged`` and ``epochs``
        (epochs run, the last one being the error-free pass when converged).
        """
        X = check_shape("X", X, (None, self.w.shape[0]))
        y = check_shape("y", y, (X.shape[0],))
        history = {"errors": [], "updates": [], "converged": False, "epochs": 0}
        for _ in range(num_epochs):
            updates = self.epoch(X, y)
            history["updates"].append(int(updates))
            history["errors"].append(self.errors(X, y))
            history["epochs"] += 1
            if updates == 0:
                history["converged"] = True
                break
        return history

    def __repr__(self):
        w = np.array2string(self.w, precision=3)
        return f"Perceptron(w={w}, b={self.b:.3g}, activation={self.activation!r}, lr={self.lr})"
