r"""Losses and their gradients.

Every loss takes predictions and targets of the same shape, (N, M) or (N,),
and returns a float. Its gradient has the shape of the predictions it
differentiates. The reduction is stated in each docstring: cross-entropies
and the mean squared error are means over the N examples; the lectures'
``1/2 * sum of squares`` is a plain sum.

Two pairs have a simple gradient with respect to the scores (logits) that
produce the predictions, and a stable value computed from those scores:

* sigmoid + binary cross-entropy: :math:`\partial L / \partial z = (\sigma(z) - y) / N`
* softmax + categorical cross-entropy: :math:`\partial L / \partial Z = (P - Y) / N`
"""
import numpy as np

from utils.activations import sigmoid, softmax
from utils.shapes import check_same_shape

EPS = 1e-12  # probabilities are clipped to [EPS, 1 - EPS] before a log


def _n(y):
    return y.shape[0] if y.ndim else 1


def binary_cross_entropy(y_hat, y):
    r"""Binary cross-entropy of probabilities, mean over the N examples.

    .. math:: L = -\frac{1}{N}\sum_{n}\left[y_n \log \hat y_n + (1 - y_n)\log(1 - \hat y_n)\right]

    y_hat : (N,) or (N, M) probabilities in (0, 1); y : same shape, 0 or 1.
    With M > 1 outputs the terms are summed over outputs, then averaged over N.
    Probabilities are clipped to [1e-12, 1 - 1e-12] so that log(0) never occurs;
    prefer :func:`binary_cross_entropy_with_logits` when the scores are at hand.
    """
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    p = np.clip(y_hat, EPS, 1 - EPS)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).sum() / _n(y))


def binary_cross_entropy_grad(y_hat, y):
    r""":math:`\partial L/\partial \hat y = \frac{1}{N}\,\frac{\hat y - y}{\hat y(1 - \hat y)}`, shape of ``y_hat``."""
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    p = np.clip(y_hat, EPS, 1 - EPS)
    return (p - y) / (p * (1 - p)) / _n(y)


def binary_cross_entropy_with_logits(z, y):
    r"""Binary cross-entropy computed stably from scores :math:`z` (with :math:`\hat y = \sigma(z)`).

    .. math:: L = \frac{1}{N}\sum_n \left[\log(1 + e^{z_n}) - z_n y_n\right]

    Mean over the N examples. ``np.logaddexp(0, z)`` computes
    :math:`\log(1 + e^{z})` without overflow, so the loss is finite for any
    finite z: no log of 0, no overflow.
    """
    z, y = check_same_shape("z", z, "y", y)
    return float((np.logaddexp(0.0, z) - z * y).sum() / _n(y))


def binary_cross_entropy_with_logits_grad(z, y):
    r""":math:`\partial L/\partial z = (\sigma(z) - y)/N`, shape of ``z``."""
    z, y = check_same_shape("z", z, "y", y)
    return cross_entropy_grad_from_link(sigmoid(z), y)


def cross_entropy_grad_from_link(A, Y):
    r"""Gradient of a cross-entropy with respect to the scores, from its link's outputs.

    .. math:: \frac{\partial L}{\partial Z} = \frac{1}{N}(A - Y)

    A : (N, M) outputs of the link (sigmoid for ``bce``, softmax for ``cce``);
    Y : (N, M) targets. Returns dZ (N, M). The link's derivative cancels the
    loss's denominators, and the mean over the N examples puts the 1/N here.
    """
    return (A - Y) / _n(Y)


def categorical_cross_entropy(P, Y):
    r"""Categorical cross-entropy of probabilities, mean over the N examples.

    .. math:: L = -\frac{1}{N}\sum_n \sum_c Y_{nc} \log P_{nc}

    P : (N, C) probabilities (rows sum to 1); Y : (N, C) one-hot targets.
    Probabilities are clipped at 1e-12 below.
    """
    P, Y = check_same_shape("P", P, "Y", Y)
    return float(-(Y * np.log(np.clip(P, EPS, 1.0))).sum() / _n(Y))


def categorical_cross_entropy_grad(P, Y):
    r""":math:`\partial L/\partial P = -\frac{1}{N}\,Y / P`, shape (N, C)."""
    P, Y = check_same_shape("P", P, "Y", Y)
    return -Y / np.clip(P, EPS, 1.0) / _n(Y)


def softmax_cross_entropy_with_logits(Z, Y):
    r"""Categorical cross-entropy computed stably from scores, mean over N.

    .. math:: L = \frac{1}{N}\sum_n \left[\log\sum_k e^{Z_{nk}} - \sum_c Y_{nc} Z_{nc}\right]

    Z : (N, C) scores; Y : (N, C) one-hot targets. The log-sum-exp subtracts
    each row's maximum, so scores of 1000 are fine.
    """
    Z, Y = check_same_shape("Z", Z, "Y", Y)
    m = Z.max(axis=-1, keepdims=True)
    lse = np.log(np.exp(Z - m).sum(axis=-1, keepdims=True)) + m
    return float(((lse - Z) * Y).sum() / _n(Y))


def softmax_cross_entropy_with_logits_grad(Z, Y):
    r""":math:`\partial L/\partial Z = (\mathrm{softmax}(Z) - Y)/N`, shape (N, C)."""
    Z, Y = check_same_shape("Z", Z, "Y", Y)
    return cross_entropy_grad_from_link(softmax(Z), Y)


def mean_squared_error(y_hat, y):
    r"""Mean squared error, mean over all N x M entries.

    .. math:: L = \frac{1}{NM}\sum_{n,m} (\hat y_{nm} - y_{nm})^2
    """
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    return float(np.mean((y_hat - y) ** 2))


def mean_squared_error_grad(y_hat, y):
    r""":math:`\partial L/\partial \hat y = 2(\hat y - y)/(NM)`, shape of ``y_hat``."""
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    return 2.0 * (y_hat - y) / y.size


def half_sum_squared_error(y_hat, y):
    r"""The lectures' error :math:`E = \frac{1}{2}\sum (t - \hat y)^2`, a sum over every entry (no mean)."""
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    return float(0.5 * np.sum((y - y_hat) ** 2))


def half_sum_squared_error_grad(y_hat, y):
    r""":math:`\partial E/\partial \hat y = \hat y - t`, shape of ``y_hat``."""
    y_hat, y = check_same_shape("y_hat", y_hat, "y", y)
    return y_hat - y


class Loss:
    """A loss as the MLP uses it: ``value(A, Y)`` and ``grad(A, Y)`` (= dA).

    ``link`` names the output activation whose scores give the simple
    gradient ``dZ = (A - Y) / N`` (``grad_from_link``); with that activation,
    ``value_from_logits`` computes the loss stably from the scores.
    """

    def __init__(self, name, value, grad, link=None, value_from_logits=None):
        self.name = name
        self.value = value
        self.grad = grad
        self.link = link
        self.value_from_logits = value_from_logits
        self.grad_from_link = cross_entropy_grad_from_link if link else None

    def __repr__(self):
        return f"Loss({self.name!r})"


LOSSES = {
    loss.name: loss
    for loss in [
        Loss(
            "bce",
            binary_cross_entropy,
            binary_cross_entropy_grad,
            link="sigmoid",
            value_from_logits=binary_cross_entropy_with_logits,
        ),
        Loss(
            "cce",
            categorical_cross_entropy,
            categorical_cross_entropy_grad,
            link="softmax",
            value_from_logits=softmax_cross_entropy_with_logits,
        ),
        Loss("mse", mean_squared_error, mean_squared_error_grad),
        Loss("half_sse", half_sum_squared_error, half_sum_squared_error_grad),
    ]
}


def get_loss(name):
    """Look up a :class:`Loss` by name; an unknown name lists the valid ones."""
    if isinstance(name, Loss):
        return name
    try:
        return LOSSES[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(LOSSES))
        raise ValueError(f"unknown loss {name!r}; valid losses are: {valid}") from None
