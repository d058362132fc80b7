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
    "01_logistic_regression": {
        "notebook": "logistic_regression",
        # Counts the matches instead of taking their fraction.
        "cells": {"accuracy_impl": (
            "def accuracy(y_pred, y):\n"
            "    return int(np.sum(np.asarray(y_pred) == np.asarray(y)))\n")},
        "failing": ["accuracy_values", "digits_test_accuracy"],
    },
    "02_logic_gates": {
        "notebook": "logic_gates",
        # Updates the caller's weights in place (w += ...): training still works.
        "cells": {"update_impl": (
            'def learning_rule_update(x, y, w, b, lr=1.0, activation="step"):\n'
            "    y_hat = perceptron_forward(x[None, :], w, b, activation)[0]\n"
            "    error = y - y_hat\n"
            "    w += lr * error * x\n"
            "    return w, b + lr * error\n")},
        "failing": ["update_is_pure"],
    },
    "03_xor": {
        "notebook": "xor",
        # Puts the NAND unit first: the network still computes XOR, the hidden layer is wrong.
        "cells": {"xor_hidden_impl": (
            "def xor_hidden(X):\n"
            "    W1, b1, _, _ = xor_weights()\n"
            "    return step(X @ W1 + b1)[:, ::-1]\n")},
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
        "failing": ["backprop_dZ2_values", "backprop_dW2_values", "backprop_db2_values",
                    "backprop_full_values", "train_moons_accuracy"],
    },
    "05_softmax": {
        "notebook": "softmax",
        # A sum over the examples, not a mean.
        "cells": {"cross_entropy_impl": (
            "def cross_entropy(P, Y):\n"
            "    return float(-np.sum(Y * np.log(P)))\n")},
        "failing": ["cross_entropy_values"],
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
