"""Realistic wrong answers for the autograde round-trip tests, one per assignment.

Each entry names a notebook, the solution cells to replace (by grade_id) with
a plausible student mistake, and the test cells (grade_ids) that must fail
because of it; every other autograded test must still pass. Authors of an
assignment should add an entry for it. Without one, the round-trip test
resets the assignment's last tested answer to the release stub instead.
"""

WRONG_ANSWERS = {
    "00_toy": {
        "notebook": "toy",
        # Thresholds the logits at 0.5 instead of the probabilities: right
        # whenever the bias is 0 (visible test), wrong with a bias (hidden test).
        "cells": {"predict": "def predict(w, b, X):\n    return (X @ w + b > 0.5).astype(int)\n"},
        "failing": ["test_predict"],
    },
    "00_numpy_warmup": {
        "notebook": "numpy_warmup",
        # Forgets keepdims: the (N,) row maxima meet the columns, an error for (3, 4) scores
        # and silently wrong numbers for a square Z.
        "cells": {"row_max_impl": "def shift_by_row_max(Z):\n    return Z - Z.max(axis=1)\n"},
        "failing": ["row_max_values", "row_max_square"],
    },
    "01_logistic_regression": {
        "notebook": "logistic_regression",
        # Counts the matches instead of taking their fraction.
        "cells": {"accuracy_impl": (
            "def accuracy(y_pred, y):\n"
            "    return int(np.sum(np.asarray(y_pred) == np.asarray(y)))\n")},
        "failing": ["accuracy_values", "digits_validation_search", "digits_test_accuracy"],
    },
    "02_logic_gates": {
        "notebook": "logic_gates",
        # Updates the caller's weights in place (w += ...): training still works, but every
        # test that hands it an array now sees the change, and a change is a failure.
        "cells": {"update_impl": (
            'def learning_rule_update(x, y, w, b, lr=1.0, activation="step"):\n'
            "    y_hat = perceptron_forward(x[None, :], w, b, activation)[0]\n"
            "    error = y - y_hat\n"
            "    w += lr * error * x\n"
            "    return w, b + lr * error\n")},
        "failing": ["update_values", "update_is_pure"],
    },
    "03_xor": {
        "notebook": "xor",
        # Puts the NAND unit first: the network still computes XOR, the hidden layer is wrong.
        "cells": {"xor_hidden_impl": (
            "def xor_hidden(X):\n"
            "    W1, b1, _, _ = xor_weights()\n"
            "    return activations.step(X @ W1 + b1)[:, ::-1]\n")},
        "failing": ["xor_hidden_values"],
    },
    "04_backprop": {
        "notebook": "backprop",
        # Forgets the 1/N of the mean: every gradient is N times too large.
        "cells": {"output_backward_impl": (
            "def output_layer_backward(cache, Y):\n"
            '    dZ2 = cache["A2"] - Y\n'
            '    dW2 = cache["A1"].T @ dZ2\n'
            "    db2 = dZ2.sum(axis=0)\n"
            "    return dZ2, dW2, db2\n")},
        "failing": ["backprop_dZ2_values", "backprop_dZ2_saturated", "backprop_dW2_values",
                    "backprop_db2_values", "backprop_full_values", "train_moons_accuracy"],
    },
    "05_softmax": {
        "notebook": "softmax",
        # A sum over the examples, not a mean; and an L2 penalty on the biases too (db gains lam * b),
        # which every training test with lam > 0 then sees.
        "cells": {
            "cross_entropy_impl": (
                "def cross_entropy(P, Y):\n"
                "    return float(-np.sum(Y * np.log(P)))\n"),
            "classifier_loss_and_grads_impl": (
                "def classifier_loss_and_grads(W, b, X, Y, lam=0.0):\n"
                "    Z = X @ W + b\n"
                "    dZ = softmax_cross_entropy_grad(Z, Y)\n"
                "    J = cross_entropy_from_logits(Z, Y) + lam / 2 * np.sum(W ** 2)\n"
                "    return J, X.T @ dZ + lam * W, dZ.sum(axis=0) + lam * b  # penalises b too\n"),
        },
        "failing": ["cross_entropy_values", "classifier_grads_values", "train_softmax_loss",
                    "train_softmax_minibatch"],
    },
    "06_vanishing_gradients": {
        "notebook": "vanishing_gradients",
        # LeCun's variance 1/D where He's 2/D is asked for.
        "cells": {"init_impl": (
            "def xavier_init(D, M, rng):\n"
            "    return rng.normal(0.0, np.sqrt(2.0 / (D + M)), size=(D, M))\n\n\n"
            "def he_init(D, M, rng):\n"
            "    return rng.normal(0.0, np.sqrt(1.0 / D), size=(D, M))\n")},
        "failing": ["he_init_statistics"],
    },
}


# More realistic wrong answers, several per assignment in one submission: overflowing
# formulas that warn, functions that change their arguments in place, off-by-one
# conventions. tests/grading/test_verdicts_property.py grades them with trusted verdicts
# off and on: honest code must never score higher with them on.
WRONG_VARIANTS = {
    "00_toy": {
        "notebook": "toy",
        "cells": {
            "sigmoid": "import numpy as np\n\ndef sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n",
            "train": (
                "def train(X, y, lr=0.1, steps=2000):\n"
                "    X -= X.mean(axis=0)  # centres the caller's data in place\n"
                "    w, b = np.zeros(X.shape[1]), 0.0\n"
                "    for _ in range(steps):\n"
                "        a = sigmoid(X @ w + b)\n"
                "        w, b = w - lr * X.T @ (a - y) / len(y), b - lr * np.mean(a - y)\n"
                "    return w, b\n"),
        },
    },
    "00_numpy_warmup": {
        "notebook": "numpy_warmup",
        "cells": {
            "standardise_impl": (
                "def standardise(X):\n"
                "    X -= X.mean(axis=0)  # centres the caller's X in place\n"
                "    X /= X.std(axis=0)\n"
                "    return X\n"),
            "row_max_impl": (
                "def shift_by_row_max(Z):\n"
                "    E = np.exp(Z)  # overflows (and warns) for scores near 1000\n"
                "    return np.log(E / E.max(axis=1, keepdims=True))\n"),
            "minibatch_impl": (
                "def sample_minibatch(X, y, batch_size, rng):\n"
                "    order = rng.permutation(len(y))\n"
                "    X[:] = X[order]  # shuffles the caller's data in place\n"
                "    y[:] = y[order]\n"
                "    return X[:batch_size], y[:batch_size]\n"),
        },
    },
    "01_logistic_regression": {
        "notebook": "logistic_regression",
        "cells": {
            "sigmoid_impl": "def sigmoid(z):\n    return 1.0 / (1.0 + np.exp(-np.asarray(z, dtype=float)))\n",
            "gradients_impl": (
                "def gradients(X, a, y):\n"
                "    dz = a - y\n"
                "    return X.T @ dz, float(np.sum(dz))  # forgets the 1/N\n"),
            "optimize_impl": (
                "def optimize(w, b, X, y, lr, num_epochs):\n"
                "    costs = []\n"
                "    for _ in range(num_epochs):\n"
                "        a, J = forward(w, b, X, y)\n"
                "        costs.append(J)\n"
                "        dw, db = gradients(X, a, y)\n"
                "        w -= lr * dw  # updates the caller's w in place\n"
                "        b = b - lr * db\n"
                "    return w, b, costs\n"),
        },
    },
    "02_logic_gates": {
        "notebook": "logic_gates",
        "cells": {
            "forward_impl": (
                'def perceptron_forward(X, w, b, activation="step"):\n'
                "    z = X @ w + b\n"
                '    if activation == "step":\n'
                "        return np.where(z > 0, 1.0, 0.0)  # step(0) = 0\n"
                "    return np.sign(z)\n"),
            "line_impl": "def decision_line_x2(x1, w, b):\n    return (w[0] * x1 + b) / w[1]\n",
        },
    },
    "03_xor": {
        "notebook": "xor",
        "cells": {
            "separable_impl": (
                "def separable_on_grid(X, y, grid):\n"
                "    for w1 in grid:\n"
                "        for w2 in grid:\n"
                "            for b in grid:\n"
                "                if np.all((X @ np.array([w1, w2]) + b > 0) == y):  # step(0) = 0\n"
                "                    return True\n"
                "    return False\n"),
            "xor_network_impl": (
                "def xor_network(X):\n"
                "    _, _, W2, b2 = xor_weights()\n"
                "    return activations.step(xor_hidden(X) @ W2 + b2)  # (N, 1), not (N,)\n"),
        },
    },
    "04_backprop": {
        "notebook": "backprop",
        "cells": {
            "hidden_backward_impl": (
                "def hidden_layer_backward(dZ2, cache, params):\n"
                '    dA1 = dZ2 @ params["W2"].T\n'
                '    dZ1 = dA1 * cache["Z1"] * (1 - cache["Z1"])  # the derivative at Z1, not at A1\n'
                '    return dZ1, cache["X"].T @ dZ1, dZ1.sum(axis=0)\n'),
            "centred_difference_impl": (
                "def centred_difference(f, x, h=1e-5):\n"
                "    grad = np.zeros_like(x, dtype=float)\n"
                "    for i in np.ndindex(x.shape):\n"
                "        x[i] += h  # steps the caller's x\n"
                "        f_plus = f(x)\n"
                "        x[i] -= 2 * h\n"
                "        f_minus = f(x)\n"
                "        x[i] += h\n"
                "        grad[i] = (f_plus - f_minus) / (2 * h)\n"
                "    return grad\n"),
            "update_impl": (
                "def gradient_descent_step(params, grads, lr):\n"
                "    for name in params:\n"
                '        params[name] -= lr * grads["d" + name]  # in place\n'
                "    return params\n"),
        },
    },
    "05_softmax": {
        "notebook": "softmax",
        "cells": {
            "softmax_impl": (
                "def softmax(Z):\n"
                "    E = np.exp(Z)  # no shift: overflows for large scores\n"
                "    return E / E.sum(axis=-1, keepdims=True)\n"),
            "accuracy_impl": "def accuracy(P, y):\n    return float(np.mean(np.argmax(P, axis=0) == y))\n",
            "train_softmax_classifier_impl": (
                "def train_softmax_classifier(W, b, X, Y, lr, num_epochs, lam=0.0, batch_size=None, seed=0):\n"
                "    rng, history = np.random.default_rng(seed), []\n"
                "    size = len(X) if batch_size is None else batch_size\n"
                "    for _ in range(num_epochs):\n"
                "        history.append(classifier_loss_and_grads(W, b, X, Y, lam)[0])\n"
                "        shuffled = rng.permutation(len(X))\n"
                "        for first in range(0, len(X), size):\n"
                "            _, dW, db = classifier_loss_and_grads(W, b, X[shuffled[first:first + size]],\n"
                "                                                  Y[shuffled[first:first + size]], lam)\n"
                "            W -= lr * dW  # changes the caller's W and b in place\n"
                "            b -= lr * db\n"
                "    return W, b, history\n"),
        },
    },
    "06_vanishing_gradients": {
        "notebook": "vanishing_gradients",
        "cells": {
            "deep_backward_impl": (
                "def deep_backward(params, cache, Y, activation):\n"
                "    L = len(params) // 2\n"
                "    delta = cache[f\"A{L}\"]  # the cache's array: the next lines overwrite A^[L]\n"
                "    delta -= Y\n"
                "    delta /= Y.shape[0]\n"
                "    grads = {}\n"
                "    for l in range(L, 0, -1):\n"
                "        grads[f\"dW{l}\"] = cache[f\"A{l - 1}\"].T @ delta\n"
                "        grads[f\"db{l}\"] = delta.sum(axis=0)\n"
                "        if l > 1:\n"
                "            f_prime = DERIVATIVES[activation](cache[f\"Z{l - 1}\"])\n"
                "            delta = (delta @ params[f\"W{l}\"].T) * f_prime\n"
                "    return grads\n"),
            "layer_grad_norms_impl": (
                "def layer_grad_norms(net, X, y):\n"
                "    activation = net.layers[0].activation.name\n"
                "    cache = deep_forward(net.params, X, activation)[1]\n"
                "    grads = deep_backward(net.params, cache, net.targets(y), activation)\n"
                "    return np.array([np.sum(grads[f\"dW{l}\"] ** 2)  # the squared norms: no square root\n"
                "                     for l in range(1, len(net.layers) + 1)])\n"),
        },
    },
}
