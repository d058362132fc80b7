r"""The dense layer as forward/backward pairs, and weight initialisers.

A dense (fully connected) layer computes :math:`Z = XW + b` and
:math:`A = f(Z)`:

* ``X`` (N, D), ``W`` (D, M), ``b`` (M,), ``Z`` and ``A`` (N, M).

Backward, given the upstream gradient ``dZ`` (N, M):

* :math:`dX = dZ\,W^\top` (N, D)
* :math:`dW = X^\top dZ` (D, M)
* :math:`db = \sum_n dZ_n` (M,), a sum over the N rows

The mean over examples lives in the loss: its gradient already carries the
1/N, so the layer only sums.
"""
import numpy as np

from utils.activations import get_activation
from utils.shapes import check_shape

INITIALISERS = ("zeros", "normal", "xavier", "he")


def dense_forward(X, W, b):
    """Affine map ``Z = X @ W + b``.

    X : (N, D), W : (D, M), b : (M,). Returns ``(Z, cache)`` with Z (N, M);
    the cache ``(X, W)`` is what :func:`dense_backward` needs.
    """
    W = np.asarray(W)
    check_shape("W", W, (None, None))
    D, M = W.shape
    check_shape("X", X, (None, D))
    check_shape("b", b, (M,))
    return X @ W + b, (X, W)


def dense_backward(dZ, cache, input_grad=True):
    """Gradients of the affine map.

    dZ : (N, M) upstream gradient; cache from :func:`dense_forward`.
    Returns ``(dX, dW, db)`` with shapes (N, D), (D, M), (M,). With
    ``input_grad=False`` (a first layer, whose input is the data) dX is None.
    """
    X, W = cache
    check_shape("dZ", dZ, (X.shape[0], W.shape[1]))
    return (dZ @ W.T if input_grad else None), X.T @ dZ, dZ.sum(axis=0)


def init_weights(D, M, scheme="xavier", rng=None, std=None):
    r"""Initial weights of shape (D, M).

    * ``zeros``: all zero (every unit stays identical: the symmetry problem).
    * ``normal``: :math:`\mathcal N(0, \text{std}^2)`, std 0.01 unless given.
    * ``xavier`` (Glorot and Bengio, 2010): :math:`\mathcal N(0, 2/(D + M))`.
    * ``he`` (He et al., 2015): :math:`\mathcal N(0, 2/D)`, for ReLU layers.

    ``rng`` is a ``numpy.random.Generator``; pass a seeded one.
    """
    if scheme not in INITIALISERS:
        raise ValueError(
            f"unknown initialiser {scheme!r}; valid initialisers are: {', '.join(INITIALISERS)}"
        )
    if scheme == "zeros":
        return np.zeros((D, M))
    if rng is None:
        raise ValueError(f"initialiser {scheme!r} is random: pass rng=np.random.default_rng(seed)")
    if scheme == "normal":
        scale = 0.01 if std is None else std
    elif scheme == "xavier":
        scale = np.sqrt(2.0 / (D + M))
    else:
        scale = np.sqrt(2.0 / D)
    return rng.normal(0.0, scale, size=(D, M))


class Dense:
    """A dense layer with an activation, keeping the cache of its last forward pass.

    ``forward(X)`` stores ``X``, ``Z`` and ``A``; ``backward(dA)`` then fills
    ``dW`` and ``db`` (in place: they keep their identity) and returns ``dX``. ``backward_from_dZ`` skips the
    activation, for a loss that hands over ``dZ`` directly.
    """

    def __init__(self, D, M, activation="sigmoid", init="xavier", rng=None, std=None):
        self.activation = get_activation(activation)
        self.W = init_weights(D, M, init, rng, std)
        self.b = np.zeros(M)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.X = self.Z = self.A = None

    @property
    def shape(self):
        """(D, M): inputs and units."""
        return self.W.shape

    def forward(self, X):
        """X (N, D) -> A (N, M)."""
        self.X = X
        self.Z, _ = dense_forward(X, self.W, self.b)
        self.A = self.activation.forward(self.Z)
        return self.A

    def backward(self, dA, input_grad=True):
        """dA (N, M) -> dX (N, D); fills dW (D, M) and db (M,)."""
        if self.X is None:
            raise RuntimeError("backward called before forward: there is no cache yet")
        return self.backward_from_dZ(self.activation.backward(dA, self.Z, self.A), input_grad)

    def backward_from_dZ(self, dZ, input_grad=True):
        """dZ (N, M) -> dX (N, D); fills dW (D, M) and db (M,) in place.

        With ``input_grad=False`` (the first layer, whose input is the data)
        dX is not computed and None is returned.
        """
        if self.X is None:
            raise RuntimeError("backward called before forward: there is no cache yet")
        dX, dW, db = dense_backward(dZ, (self.X, self.W), input_grad)
        self.dW[...], self.db[...] = dW, db   # in place: the MLP's gradient vector holds them
        return dX

    def __repr__(self):
        D, M = self.shape
        return f"Dense({D} -> {M}, {self.activation.name})"
