"""Data sets: logic gates, seeded 2-D toy sets, and real 8x8 digit images.

Every function returns ``X`` (N, D) as float64 and ``y`` (N,) as integer
labels. The random ones take a ``seed`` and give the same numbers every
time. Nothing is downloaded: the digits ship inside scikit-learn.
"""
import importlib.util
import os

import numpy as np

from utils.shapes import check_shape

_INPUTS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
_TRUTH = {
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "NOR": [1, 0, 0, 0],
    "XOR": [0, 1, 1, 0],
}
GATES = tuple(_TRUTH)
ENCODINGS = ("binary", "bipolar")


def logic_gate(name, encoding="binary"):
    """Truth table of a two-input gate: ``X`` (4, 2) and ``y`` (4,).

    ``name`` is one of AND, OR, NAND, NOR, XOR (any case). ``binary`` uses
    {0, 1} for inputs and outputs; ``bipolar`` maps 0 to -1, as the
    perceptron with a sign unit expects. Rows are (0,0), (0,1), (1,0), (1,1).
    """
    key = str(name).upper()
    if key not in _TRUTH:
        raise ValueError(f"unknown gate {name!r}; valid gates are: {', '.join(GATES)}")
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown encoding {encoding!r}; valid encodings are: binary, bipolar")
    X, y = _INPUTS.copy(), np.array(_TRUTH[key])
    if encoding == "bipolar":
        return 2 * X - 1, 2 * y - 1
    return X, y


def xor(encoding="binary"):
    """The XOR truth table, ``X`` (4, 2) and ``y`` (4,)."""
    return logic_gate("XOR", encoding)


def make_xor(n=100, std=0.15, seed=0):
    """A cloud of XOR: ``n`` points scattered (``std``) around the corners of the unit square,
    each labelled with the XOR of its corner."""
    corners = np.array([[0, 0], [0, 1], [1, 1], [1, 0]], dtype=float)  # XOR of corner k is k % 2
    X, k = make_blobs(n, centers=corners, std=std, seed=seed)
    return X, k % 2


def make_moons(n=200, noise=0.1, seed=0):
    """Two interleaving half circles; ``n`` points split evenly, Gaussian ``noise``."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = np.linspace(0, np.pi, n0)
    t1 = np.linspace(0, np.pi, n - n0)
    X = np.vstack([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        np.column_stack([1 - np.cos(t1), 0.5 - np.sin(t1)]),
    ])
    y = np.repeat([0, 1], [n0, n - n0])
    return _shuffled(X + rng.normal(0, noise, X.shape), y, rng)


def make_circles(n=200, noise=0.05, factor=0.5, seed=0):
    """A small circle (label 1) inside a large one (label 0); ``factor`` is the radius ratio."""
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t0 = np.linspace(0, 2 * np.pi, n0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, n - n0, endpoint=False)
    X = np.vstack([
        np.column_stack([np.cos(t0), np.sin(t0)]),
        factor * np.column_stack([np.cos(t1), np.sin(t1)]),
    ])
    y = np.repeat([0, 1], [n0, n - n0])
    return _shuffled(X + rng.normal(0, noise, X.shape), y, rng)


def make_spirals(n=200, classes=2, noise=0.2, turns=1.0, seed=0):
    """``classes`` interleaved spiral arms, ``n`` points in all (as in CS231n's spiral data)."""
    rng = np.random.default_rng(seed)
    sizes = np.full(classes, n // classes)
    sizes[: n % classes] += 1
    X, y = [], []
    for c, m in enumerate(sizes):
        r = np.linspace(0.05, 1, m)
        t = np.linspace(0, 2 * np.pi * turns, m) + 2 * np.pi * c / classes + rng.normal(0, noise, m)
        X.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
        y.append(np.full(m, c))
    return _shuffled(np.vstack(X), np.concatenate(y), rng)


def make_blobs(n=200, centers=2, std=0.6, seed=0):
    """Gaussian blobs around ``centers`` (a count, or a (K, 2) array of centres)."""
    rng = np.random.default_rng(seed)
    if np.ndim(centers) == 0:
        angles = 2 * np.pi * np.arange(int(centers)) / int(centers)
        centers = 2.0 * np.column_stack([np.cos(angles), np.sin(angles)])
    centers = check_shape("centers", np.asarray(centers, dtype=float), (None, None))
    K = centers.shape[0]
    y = np.arange(n) % K
    X = centers[y] + rng.normal(0, std, (n, centers.shape[1]))
    return _shuffled(X, y, rng)


def _shuffled(X, y, rng):
    order = rng.permutation(len(y))
    return X[order], y[order].astype(int)


def load_digits():
    """The 1,797 handwritten 8x8 digits that ship with scikit-learn.

    Returns ``X`` (1797, 64) with pixel intensities scaled to [0, 1] (each
    image flattened row by row), ``y`` (1797,) the digit 0-9, and ``images``
    (1797, 8, 8). Read from scikit-learn's own files, never downloaded.
    """
    # scikit-learn's own file, read without importing scikit-learn (half a second)
    spec = importlib.util.find_spec("sklearn")
    folders = list(spec.submodule_search_locations or []) if spec else []
    paths = [os.path.join(f, "datasets", "data", "digits.csv.gz") for f in folders]
    path = next((p for p in paths if os.path.isfile(p)), None)
    if path is None:
        from sklearn.datasets import load_digits as _load

        d = _load()
        return d.data / 16.0, d.target.astype(int), d.images / 16.0
    table = np.loadtxt(path, delimiter=",")  # (1797, 65): 64 pixels in 0..16, then the digit
    X = table[:, :-1] / 16.0
    return X, table[:, -1].astype(int), X.reshape(-1, 8, 8)


def train_test_split(X, y, test_fraction=0.25, seed=0):
    """Shuffle with ``seed`` and split into ``X_train, X_test, y_train, y_test``."""
    X = np.asarray(X)
    y = check_shape("y", y, (X.shape[0],) + np.shape(y)[1:])
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie strictly between 0 and 1, got {test_fraction}")
    order = np.random.default_rng(seed).permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, train = order[:n_test], order[n_test:]
    return X[train], X[test], y[train], y[test]


def one_hot(y, num_classes=None):
    """Integer labels (N,) -> one-hot rows (N, C); C defaults to ``max(y) + 1``."""
    y = check_shape("y", y, (None,))
    if y.size and (y.dtype.kind not in "iu" and not np.all(y == np.round(y))):
        raise ValueError("one_hot needs integer labels")
    y = y.astype(int)
    C = int(y.max()) + 1 if num_classes is None else int(num_classes)
    if y.size and (y.min() < 0 or y.max() >= C):
        raise ValueError(f"labels must lie in 0..{C - 1}, got {y.min()}..{y.max()}")
    return np.eye(C)[y]
