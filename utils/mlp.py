r"""A multi-layer perceptron of any depth, built from :class:`utils.layers.Dense`.

Also :func:`gradient_norms_at_init`, the per-layer gradient norms of fresh
networks over several seeds (notebook 6).

>>> MLP([2, 4, 1], activations="tanh", loss="bce", seed=0)
MLP(sizes=[2, 4, 1], activations=['tanh', 'sigmoid'], loss='bce', init='xavier', params=17)
>>> MLP([2, 2, 2], activations=["sigmoid", "sigmoid"], loss="half_sse")
MLP(sizes=[2, 2, 2], activations=['sigmoid', 'sigmoid'], loss='half_sse', init='xavier', params=12)

``activations`` is one name per layer, or a single name for the hidden
layers, in which case the output activation is ``output``, or else the one
that matches the loss (sigmoid for ``bce``, softmax for ``cce``, identity
for the squared errors).

``sizes`` lists the widths from the input to the output: ``[D, H1, ..., M]``.
``params`` maps ``W1, b1, W2, ...`` to the live arrays (views into one flat
parameter vector: change them in place or with ``set_params``, never by
rebinding ``layer.W``); after ``backward``, ``grads`` maps ``dW1, db1, ...``
to copies of the gradients, of the same shapes.

Targets: an (N, M) array, or (N,) labels, which become an (N, 1) column of
0/1 for one output or one-hot rows for a softmax output.
"""
import numpy as np

from utils.layers import Dense
from utils.losses import get_loss
from utils.shapes import ShapeError, check_shape

_STATE_KEYS_MESSAGE = ("a network state needs sizes, activations, loss, params, grads and caches; "
                       "got {got}")


def _keys(state):
    return sorted(state) if isinstance(state, dict) else type(state).__name__


class MLP:
    """A fully connected network: ``Dense`` layers, one loss, plain gradient descent."""

    def __init__(self, sizes, activations="sigmoid", loss="bce", output=None, init="xavier",
                 seed=0, std=None):
        sizes = [int(s) for s in sizes]
        if len(sizes) < 2 or min(sizes) < 1:
            raise ValueError(f"sizes must list at least an input and an output width >= 1, got {sizes}")
        L = len(sizes) - 1
        loss = get_loss(loss)
        if isinstance(activations, str):
            # one name for the hidden layers; the output unit follows the loss
            output = output or loss.link or "identity"
            activations = [activations] * (L - 1) + [output]
        elif output is not None:
            raise ValueError("give the output activation either in the list or as output=, not both")
        activations = list(activations)
        if len(activations) != L:
            raise ValueError(
                f"{L} layers need {L} activations, got {len(activations)}: {activations}"
            )
        self.sizes, self.init, self.seed = sizes, init, seed
        rng = np.random.default_rng(seed)
        self.layers = [
            Dense(D, M, act, init, rng, std) for D, M, act in zip(sizes[:-1], sizes[1:], activations)
        ]
        self._pack()
        self.loss = loss
        out = self.layers[-1].activation.name
        self._fused = self.loss.link == out
        if self.loss.name == "cce" and out != "softmax":
            raise ValueError(f"loss 'cce' needs a softmax output layer, got {out!r}")

    # ---- parameters -------------------------------------------------------
    def _pack(self):
        # All parameters are views into one flat vector, and all gradients into
        # another, so that a gradient-descent step is one vector operation.
        total = sum(layer.W.size + layer.b.size for layer in self.layers)
        self._theta, self._dtheta = np.empty(total), np.zeros(total)
        at = 0
        for layer in self.layers:
            for name in ("W", "b"):
                value = getattr(layer, name)
                view = self._theta[at:at + value.size].reshape(value.shape)
                view[...] = value
                setattr(layer, name, view)
                setattr(layer, "d" + name, self._dtheta[at:at + value.size].reshape(value.shape))
                at += value.size

    @property
    def params(self):
        """``{"W1": (D, H1), "b1": (H1,), ...}``, the live arrays."""
        p = {}
        for i, layer in enumerate(self.layers, 1):
            p[f"W{i}"], p[f"b{i}"] = layer.W, layer.b
        return p

    @property
    def grads(self):
        """``{"dW1": ..., "db1": ...}`` from the last backward pass, shaped like ``params``.

        These are copies, so they keep their values through later passes.
        """
        g = {}
        for i, layer in enumerate(self.layers, 1):
            g[f"dW{i}"], g[f"db{i}"] = layer.dW.copy(), layer.db.copy()
        return g

    def set_params(self, **params):
        """Overwrite parameters by name, e.g. ``set_params(W1=..., b2=...)``; shapes must match."""
        current = self.params
        for name, value in params.items():
            if name not in current:
                raise KeyError(f"no parameter {name!r}; parameters are {', '.join(current)}")
            value = check_shape(name, np.asarray(value, dtype=float), current[name].shape)
            current[name][...] = value
        return self

    # ---- state ------------------------------------------------------------
    def state(self):
        """The network as plain data: what it is and every array it holds, by name.

        Returns a dict with ``sizes``, ``activations`` (one name per layer),
        ``loss``, ``init`` and ``seed``; ``params`` and ``grads`` as in
        :attr:`params` and :attr:`grads` (copies); ``caches``, one
        ``{"X", "Z", "A"}`` per layer from the last forward pass (None before
        one). :meth:`from_state` rebuilds an equal network from it.
        """
        return {
            "sizes": list(self.sizes),
            "activations": [layer.activation.name for layer in self.layers],
            "loss": self.loss.name,
            "init": self.init,
            "seed": self.seed,
            "params": {name: p.copy() for name, p in self.params.items()},
            "grads": self.grads,
            "caches": [{"X": layer.X, "Z": layer.Z, "A": layer.A} for layer in self.layers],
        }

    @classmethod
    def from_state(cls, state):
        """Rebuild a network from :meth:`state`; raise ValueError or ShapeError on a bad state."""
        try:
            sizes, names, loss = state["sizes"], state["activations"], state["loss"]
        except (KeyError, TypeError):
            raise ValueError(_STATE_KEYS_MESSAGE.format(got=_keys(state))) from None
        return cls(sizes, list(names), loss=loss, init="zeros").load_state(state)

    def load_state(self, state):
        """Take the parameters, gradients and caches of :meth:`state`, in place; returns self.

        The state must be of a network with the same sizes, activations and loss.
        """
        try:
            params, grads, caches = state["params"], state["grads"], state["caches"]
            same = (list(state["sizes"]) == self.sizes and state["loss"] == self.loss.name
                    and list(state["activations"]) == [la.activation.name for la in self.layers])
        except (KeyError, TypeError):
            raise ValueError(_STATE_KEYS_MESSAGE.format(got=_keys(state))) from None
        if not same:
            raise ValueError(f"a state of {state['sizes']} {state['activations']} {state['loss']!r} "
                             f"cannot be loaded into {self!r}")
        if set(params) != set(self.params) or set(grads) != {"d" + n for n in self.params}:
            raise ValueError(f"a state of {self.sizes} needs params {sorted(self.params)} and their grads")
        if len(caches) != len(self.layers):
            raise ValueError(f"a state of {len(self.layers)} layers needs as many caches, got {len(caches)}")
        self.set_params(**params)
        for i, layer in enumerate(self.layers, 1):
            for name in ("W", "b"):
                value = np.asarray(grads[f"d{name}{i}"], dtype=float)
                getattr(layer, "d" + name)[...] = check_shape(f"d{name}{i}", value,
                                                             getattr(layer, name).shape)
        for layer, cache in zip(self.layers, caches):
            X, Z, A = (cache[k] for k in "XZA")
            if X is not None:  # a forward pass has run: its cache must fit the layer
                D, M = layer.shape
                N = check_shape("X", np.asarray(X), (None, D)).shape[0]
                check_shape("Z", np.asarray(Z), (N, M))
                check_shape("A", np.asarray(A), (N, M))
            layer.X, layer.Z, layer.A = X, Z, A
        self.init, self.seed = state.get("init", self.init), state.get("seed", self.seed)
        return self

    # ---- passes -----------------------------------------------------------
    def forward(self, X):
        """X (N, D) -> output activations (N, M); every layer keeps its cache."""
        check_shape("X", X, (None, self.sizes[0]))
        return self._forward(X)

    def _forward(self, X):
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def targets(self, y):
        """Turn labels (N,) or targets (N, M) into the (N, M) array the loss compares with."""
        y = np.asarray(y)
        M = self.sizes[-1]
        if y.ndim == 1:
            if M == 1:
                return y.astype(float)[:, None]
            if self.layers[-1].activation.name == "softmax":
                labels = y.astype(int)
                if labels.min() < 0 or labels.max() >= M:
                    raise ValueError(f"labels must lie in 0..{M - 1}, got {labels.min()}..{labels.max()}")
                return np.eye(M)[labels]
        return check_shape("y", y, (None, M)).astype(float)

    def loss_value(self, Y):
        """Loss of the last forward pass against targets Y (N, M); stable from scores when it can be."""
        out = self.layers[-1]
        if self._fused:
            return self.loss.value_from_logits(out.Z, Y)
        return self.loss.value(out.A, Y)

    def backward(self, Y):
        """Backpropagate the loss against Y (N, M) through the cached forward pass; returns ``grads``."""
        out = self.layers[-1]
        if out.A is None:
            raise RuntimeError("backward called before forward: there is no cache yet")
        if Y.shape != out.A.shape:
            raise ShapeError(f"targets should have shape {out.A.shape} but have shape {Y.shape}")
        self._backprop(Y)
        return self.grads

    def _backprop(self, Y):
        out, last = self.layers[-1], len(self.layers) - 1
        if self._fused:  # sigmoid + bce or softmax + cce: the loss hands over dZ
            dX = out.backward_from_dZ(self.loss.grad_from_link(out.A, Y), input_grad=last > 0)
        else:
            dX = out.backward(self.loss.grad(out.A, Y), input_grad=last > 0)
        for i in range(last - 1, -1, -1):
            dX = self.layers[i].backward(dX, input_grad=i > 0)

    def step(self, lr):
        """One gradient-descent update: every parameter moves against its gradient, ``p -= lr * dp``."""
        self._theta -= lr * self._dtheta

    def train_step(self, X, Y, lr):
        """Forward, loss, backward and update on X (N, D) and Y (N, M); returns the loss before the update."""
        check_shape("X", X, (None, self.sizes[0]))
        if Y.shape != (X.shape[0], self.sizes[-1]):
            raise ShapeError(f"Y should have shape {(X.shape[0], self.sizes[-1])} but has shape {Y.shape}")
        self._forward(X)
        loss = self.loss_value(Y)
        self._backprop(Y)
        self._theta -= lr * self._dtheta
        return loss

    def grad_norms(self):
        """Frobenius norm of each layer's dW from the last backward pass, first layer first."""
        return [float(np.sqrt(np.sum(layer.dW * layer.dW))) for layer in self.layers]

    # ---- training and prediction -------------------------------------------
    def fit(self, X, y, lr=0.1, num_epochs=1000, batch_size=None, seed=0, callback=None):
        """Train by (mini-batch) gradient descent and return the history.

        X : (N, D); y : labels (N,) or targets (N, M). ``batch_size=None`` uses
        the full batch; otherwise batches are drawn from a permutation seeded by
        ``seed``. ``callback(epoch, net, history)``, if given, runs after each
        epoch and may return True to stop early.

        Returns a dict of per-epoch lists: ``loss`` and ``accuracy`` (on the
        training set, as each step saw it before updating: the mean over the
        epoch's batches, weighted by batch size; accuracy for classification
        losses only) and ``grad_norms`` (one list of per-layer norms of dW per
        epoch, from its last step).

        Raises FloatingPointError when the loss stops being finite.
        """
        X = np.asarray(check_shape("X", X, (None, self.sizes[0])), dtype=float)
        Y = self.targets(y)
        if Y.shape[0] != X.shape[0]:
            raise ShapeError(f"X has {X.shape[0]} rows but y has {Y.shape[0]}")
        N = X.shape[0]
        rng = np.random.default_rng(seed)
        history = {"loss": [], "accuracy": [], "grad_norms": []}
        classify = self.loss.name in ("bce", "cce")
        for epoch in range(num_epochs):
            # loss and accuracy are those of the parameters before each update,
            # read off the forward pass that the step makes anyway
            if batch_size is None or batch_size >= N:
                loss = self.train_step(X, Y, lr)
                hits = self._hits(Y)
            else:
                loss = hits = 0.0
                for idx in np.array_split(rng.permutation(N), int(np.ceil(N / batch_size))):
                    loss += self.train_step(X[idx], Y[idx], lr) * len(idx) / N
                    hits += self._hits(Y[idx]) * len(idx) / N
            if not np.isfinite(loss):
                raise FloatingPointError(
                    f"the loss became {loss} at epoch {epoch} with learning rate {lr}: "
                    "the learning rate may be too large (try a tenth of it), "
                    "the initial weights too large (try init='xavier' or 'he'), "
                    "or the inputs may need scaling"
                )
            history["loss"].append(loss)
            history["grad_norms"].append(self.grad_norms())
            if classify:
                history["accuracy"].append(hits)
            if callback is not None and callback(epoch, self, history):
                break
        return history

    def _hits(self, Y):
        """Fraction of the last forward pass's predictions that match the targets Y (N, M)."""
        A = self.layers[-1].A
        if A.shape[1] == 1:
            return float(np.mean((A >= 0.5) == (Y >= 0.5)))
        return float(np.mean(A.argmax(axis=1) == Y.argmax(axis=1)))

    def predict_proba(self, X):
        """Output activations (N, M) for inputs X (N, D)."""
        return self.forward(X)

    def predict(self, X):
        """Class labels for inputs X (N, D): an int array (N,), or (N, M) for several sigmoid outputs.

        ``bce`` thresholds each probability at 0.5; ``cce`` takes the most
        probable class. A network with a squared-error loss is not a
        classifier: read its outputs with ``predict_proba`` or ``forward``.
        """
        if self.loss.name not in ("bce", "cce"):
            raise ValueError(f"predict gives class labels, for a network with loss 'bce' or 'cce'; "
                             f"this one has loss {self.loss.name!r}: use forward(X) for its outputs")
        A = self.forward(X)
        if self.loss.name == "cce":
            return A.argmax(axis=1)
        labels = (A >= 0.5).astype(int)
        return labels[:, 0] if labels.shape[1] == 1 else labels

    def accuracy(self, X, y):
        """Fraction of examples whose predicted label equals the label in y (labels or one-hot)."""
        y = np.asarray(y)
        if y.ndim == 2:
            y = y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0]
        return float(np.mean(self.predict(X) == y))

    def __repr__(self):
        acts = [layer.activation.name for layer in self.layers]
        n = sum(p.size for p in self.params.values())
        return (
            f"MLP(sizes={self.sizes}, activations={acts}, loss={self.loss.name!r}, "
            f"init={self.init!r}, params={n})"
        )


def gradient_norms_at_init(sizes, activation, init, X, y, seeds, std=None, loss="bce"):
    r"""Per-layer gradient norms of freshly initialised networks, one network per seed.

    For each seed :math:`s`, builds ``MLP(sizes, activation, loss=loss,
    init=init, seed=s, std=std)``, runs one forward and one backward pass on
    the whole batch, without updating, and records for every layer
    :math:`\ell = 1 \dots L` the Frobenius norm

    .. math:: \Big\| \frac{\partial J}{\partial W_\ell} \Big\|
              = \sqrt{\sum_{i,j} \Big(\frac{\partial J}{\partial W_\ell}\Big)_{ij}^2}

    where :math:`J` is the loss, a mean over the N examples (as
    :meth:`MLP.grad_norms` gives it). How these norms shrink or grow from the
    last layer to the first is the vanishing (or exploding) gradient.

    sizes : ``[D, H1, ..., M]``, L = len(sizes) - 1 weight layers.
    activation, init, std, loss : as :class:`MLP` takes them.
    X : (N, D) inputs; y : labels (N,) or targets (N, M), as :meth:`MLP.fit` takes them.
    seeds : S seeds.

    Returns an (S, L) array: row s for ``seeds[s]``, column ``l - 1`` for
    layer l (first layer first). A too-large init may overflow to inf or nan
    entries (with numpy's warning), rather than raise.
    """
    L = len(sizes) - 1
    rows = []
    for seed in seeds:
        net = MLP(sizes, activation, loss=loss, init=init, seed=seed, std=std)
        net.forward(X)
        net.backward(net.targets(y))
        rows.append(net.grad_norms())
    return np.array(rows, dtype=float).reshape(len(seeds), L)
