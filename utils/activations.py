r"""Activation functions and their derivatives.

Every activation comes as a pair: the function ``f(z)`` and its derivative
``f'(z)``, both element-wise on arrays of any shape, except softmax, which
works row by row on (N, C) scores. For the layers, each is also registered
as an :class:`Activation`, whose ``backward`` turns the upstream gradient
``dA`` into ``dZ``.

Sigmoid and softmax never overflow: scores of +-1000 give finite results
without warnings.
"""
import numpy as np


def identity(z):
    r"""Identity, :math:`f(z) = z`."""
    return np.asarray(z, dtype=float)


def identity_derivative(z):
    r""":math:`f'(z) = 1`."""
    return np.ones_like(z, dtype=float)


def step(z):
    r"""Heaviside step, :math:`f(z) = 1` for :math:`z \ge 0`, else 0 (the lecture's binary step)."""
    return (np.asarray(z) >= 0).astype(float)


def step_derivative(z):
    r"""0 everywhere; at :math:`z = 0` the step has no derivative and we use 0.

    This is why the perceptron cannot be trained by gradient descent.
    """
    return np.zeros_like(z, dtype=float)


def sign(z):
    r"""Sign unit of the bipolar perceptron: 1 for :math:`z > 0`, else -1 (so sign(0) = -1)."""
    return np.where(np.asarray(z) > 0, 1.0, -1.0)


def sign_derivative(z):
    r"""0 everywhere (undefined at 0, where we use 0)."""
    return np.zeros_like(z, dtype=float)


def sigmoid(z):
    r"""Logistic sigmoid :math:`\sigma(z) = 1 / (1 + e^{-z})`, computed without overflow.

    It evaluates :math:`\sigma(z) = \exp(-\log(1 + e^{-z}))`, where
    ``np.logaddexp(0, -z)`` computes :math:`\log(e^0 + e^{-z})` without ever
    forming a large exponential. For z = -1000 the naive formula overflows
    in :math:`e^{1000}`; this one returns 0 (and 1 for z = 1000), silently,
    with relative error a few units in the last place elsewhere.
    """
    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))


def sigmoid_derivative(z, s=None):
    r""":math:`\sigma'(z) = \sigma(z)\,(1 - \sigma(z))`, at most 1/4 (at z = 0).

    ``s`` is :math:`\sigma(z)` when the caller already has it (a layer's output).
    """
    s = sigmoid(z) if s is None else s
    return s * (1.0 - s)


def tanh(z):
    r"""Hyperbolic tangent :math:`(e^z - e^{-z}) / (e^z + e^{-z})`."""
    return np.tanh(z)


def tanh_derivative(z, t=None):
    r""":math:`\tanh'(z) = 1 - \tanh^2(z)`, at most 1 (at z = 0).

    ``t`` is :math:`\tanh(z)` when the caller already has it (a layer's output).
    """
    t = np.tanh(z) if t is None else t
    return 1.0 - t * t


def relu(z):
    r"""Rectified linear unit :math:`\max(0, z)`."""
    return np.maximum(z, 0.0)


def relu_derivative(z):
    r"""1 for :math:`z \ge 0`, else 0 (the lecture's convention at z = 0)."""
    return (np.asarray(z) >= 0).astype(float)


def leaky_relu(z, alpha=0.01):
    r"""Leaky ReLU: :math:`z` for :math:`z \ge 0`, else :math:`\alpha z`."""
    z = np.asarray(z, dtype=float)
    return np.where(z >= 0, z, alpha * z)


def leaky_relu_derivative(z, alpha=0.01):
    r"""1 for :math:`z \ge 0`, else :math:`\alpha`."""
    return np.where(np.asarray(z) >= 0, 1.0, alpha)


def softmax(Z, temperature=1.0):
    r"""Row-wise softmax :math:`p_{nc} = e^{z_{nc}/T} / \sum_k e^{z_{nk}/T}`.

    Parameters
    ----------
    Z : array (N, C) of scores, or (C,) for a single example.
    temperature : T > 0. T > 1 flattens the distribution, T < 1 sharpens it.

    Returns
    -------
    P : array of the same shape as ``Z``; each row is non-negative and sums to 1.

    The row maximum is subtracted first. That changes nothing mathematically
    (it cancels between numerator and denominator) but keeps every exponent
    at most 0, so scores of 1000 do not overflow.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    Z = np.asarray(Z, dtype=float) / temperature
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


def softmax_jacobian(z):
    r"""Jacobian :math:`\partial p_i / \partial z_j = p_i(\delta_{ij} - p_j)` of one row.

    z : (C,) scores. Returns (C, C).
    """
    p = softmax(np.asarray(z, dtype=float))
    return np.diag(p) - np.outer(p, p)


class Activation:
    """An activation as used inside a layer: ``forward(Z)`` and ``backward(dA, Z, A)``.

    ``backward`` returns ``dZ`` with the shape of ``Z``. For element-wise
    activations that is ``dA * f'(Z)``, with ``f'`` the module's own
    derivative function: the diagonal Jacobian becomes an element-wise product.
    """

    def __init__(self, name, forward, backward):
        self.name = name
        self.forward = forward
        self.backward = backward

    def __repr__(self):
        return f"Activation({self.name!r})"


def _softmax_backward(dA, Z, A):
    # Jacobian-vector product of each row: p * (da - <da, p>)
    return A * (dA - (dA * A).sum(axis=1, keepdims=True))


def _elementwise(derivative):
    """The layer backward ``dA * f'(Z)`` of an element-wise activation with derivative ``f'``."""
    return lambda dA, Z, A: dA * derivative(Z)


ACTIVATIONS = {
    a.name: a
    for a in [
        Activation("identity", identity, lambda dA, Z, A: dA),
        Activation("step", step, _elementwise(step_derivative)),
        Activation("sign", sign, _elementwise(sign_derivative)),
        Activation("sigmoid", sigmoid, lambda dA, Z, A: dA * sigmoid_derivative(Z, A)),
        Activation("tanh", tanh, lambda dA, Z, A: dA * tanh_derivative(Z, A)),
        Activation("relu", relu, _elementwise(relu_derivative)),
        Activation("leaky_relu", leaky_relu, _elementwise(leaky_relu_derivative)),
        Activation("softmax", softmax, _softmax_backward),
    ]
}


def get_activation(name):
    """Look up an :class:`Activation` by name; an unknown name lists the valid ones."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        valid = ", ".join(sorted(ACTIVATIONS))
        raise ValueError(f"unknown activation {name!r}; valid activations are: {valid}") from None
