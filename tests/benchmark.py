"""Speed of the course's NumPy MLP, measured side by side with PyTorch (CPU) and scikit-learn.

Run with ``make bench`` (which installs the comparison libraries), or
``python tests/benchmark.py``. It prints times and ratios measured in one
run on this machine; it is not a test and asserts nothing. The targets it
reports against:

* a full-batch XOR 2-4-1 training step takes 25 us or less, and at least
  3x less time than the same step in PyTorch on the CPU;
* a 2-16-16-1 step on 1000 points is at least as fast as scikit-learn's
  MLPClassifier doing the same full-batch SGD iteration;
* ``import utils`` (without torch) takes under 0.6 s;
* the XOR playground widget retrains from scratch and redraws in 100 ms or less.

Every library runs single-threaded: these problems are far too small for
threads to help, and it keeps the comparison fair.
"""
import os
import statistics
import subprocess
import sys
import time
import timeit

import numpy as np

import utils
from utils import data

REPEATS = 7


def best_us(fn, number):
    """Best of REPEATS timings of ``number`` calls, in microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=REPEATS)) / number * 1e6


def utils_step(sizes, activation, X, y, lr):
    net = utils.MLP(sizes, activation, "bce", seed=0)
    Y = net.targets(y)
    return lambda: net.train_step(X, Y, lr)


def torch_step(sizes, activation, X, y, lr):
    import torch

    unit = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}[activation]
    layers = []
    for D, M in zip(sizes[:-1], sizes[1:]):
        layers += [torch.nn.Linear(D, M, dtype=torch.float64), unit()]
    model = torch.nn.Sequential(*layers[:-1])  # the loss applies the output sigmoid
    Xt = torch.tensor(X)
    Yt = torch.tensor(y, dtype=torch.float64)[:, None]
    loss_fn = torch.nn.BCEWithLogitsLoss()
    opt = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        opt.zero_grad()
        loss = loss_fn(model(Xt), Yt)
        loss.backward()
        opt.step()
        return loss

    return step


def update_us(sizes, activation, X, y, lr, number):
    """One gradient-descent update, as the MLP makes it and parameter by parameter.

    Returns (flat, per-parameter) in microseconds: ``net.step`` moves every
    parameter with one operation on the MLP's private flat vector; the other
    walks the public ``params`` and ``grads`` arrays one by one.
    """
    net = utils.MLP(sizes, activation, "bce", seed=0)
    net.forward(X)
    net.backward(net.targets(y))
    pairs = [(layer.W, layer.dW) for layer in net.layers] + [(layer.b, layer.db) for layer in net.layers]

    def per_parameter():
        for p, dp in pairs:
            p -= lr * dp

    return best_us(lambda: net.step(lr), number), best_us(per_parameter, number)


def sklearn_us_per_iteration(X, y, iterations=200):
    """Full-batch SGD iterations of MLPClassifier(16, 16), ReLU, no momentum or penalty."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    def fit():
        clf = MLPClassifier(
            hidden_layer_sizes=(16, 16), activation="relu", solver="sgd", alpha=0.0,
            batch_size=X.shape[0], learning_rate_init=0.1, momentum=0.0, nesterovs_momentum=False,
            max_iter=iterations, tol=0.0, n_iter_no_change=iterations + 1, shuffle=False,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(X, y)

    return min(timeit.repeat(fit, number=1, repeat=3)) / iterations * 1e6


def import_seconds():
    """Best of 5 fresh interpreters timing ``import utils``."""
    code = "import time; t = time.perf_counter(); import utils; print(time.perf_counter() - t)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 check=True).stdout) for _ in range(5)]
    return min(runs)


def playground_ms():
    """Median time for the XOR playground to retrain from scratch and redraw."""
    from utils import widgets

    if not hasattr(widgets, "mlp_playground"):
        return None
    box = widgets.mlp_playground()
    explorer = box.explorer
    explorer.retrain()  # warm up matplotlib's caches
    runs = []
    for _ in range(10):
        t = time.perf_counter()
        explorer.retrain()
        runs.append((time.perf_counter() - t) * 1e3)
    return statistics.median(runs)


def row(name, value, unit, target, ok):
    print(f"  {name:<52} {value:>10.2f} {unit:<3} target {target:<14} {'met' if ok else 'MISSED'}")


def main():
    import threadpoolctl
    import torch

    torch.set_num_threads(1)
    threadpoolctl.threadpool_limits(1)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, torch {torch.__version__}")
    for pool in threadpoolctl.threadpool_info():
        print(f"  {pool['internal_api']} {pool.get('version')} kernel={pool.get('architecture')}"
              f" threads={pool['num_threads']}")
    print(f"  OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")

    print("\nXOR 2-4-1, full batch (4 points), one training step")
    X, y = data.xor()
    ours = best_us(utils_step([2, 4, 1], "sigmoid", X, y, 0.5), 20000)
    theirs = best_us(torch_step([2, 4, 1], "sigmoid", X, y, 0.5), 2000)
    row("utils step", ours, "us", "<= 25 us", ours <= 25)
    row("PyTorch CPU step", theirs, "us", "", True)
    row("ratio PyTorch / utils", theirs / ours, "x", ">= 3x", theirs / ours >= 3)

    print("\n2-16-16-1, ReLU, full batch (1000 moons points), one training step")
    X, y = data.make_moons(1000, noise=0.2, seed=0)
    ours = best_us(utils_step([2, 16, 16, 1], "relu", X, y, 0.1), 2000)
    sk = sklearn_us_per_iteration(X, y)
    theirs = best_us(torch_step([2, 16, 16, 1], "relu", X, y, 0.1), 1000)
    row("utils step", ours, "us", "", True)
    row("scikit-learn MLPClassifier iteration", sk, "us", "", True)
    row("PyTorch CPU step", theirs, "us", "", True)
    row("ratio scikit-learn / utils", sk / ours, "x", ">= 1x", sk / ours >= 1)

    print("\nThe MLP's flat parameter vector: one update, 2-4-1 and 2-16-16-1")
    for sizes, activation, (Xu, yu) in [([2, 4, 1], "sigmoid", data.xor()),
                                         ([2, 16, 16, 1], "relu", (X, y))]:
        flat, loop = update_us(sizes, activation, Xu, yu, 0.1, 20000)
        row(f"{sizes}: net.step (flat vector)", flat, "us", "", True)
        row(f"{sizes}: parameter by parameter", loop, "us", "", True)
        row(f"{sizes}: ratio per-parameter / flat", loop / flat, "x", "", True)

    print("\nStart-up and widgets")
    secs = import_seconds()
    row("import utils (fresh interpreter, no torch)", secs, "s", "< 0.6 s", secs < 0.6)
    ms = playground_ms()
    if ms is None:
        print("  XOR playground: not built yet")
    else:
        row("XOR playground: retrain from scratch and redraw", ms, "ms", "<= 100 ms", ms <= 100)


if __name__ == "__main__":
    main()
