"""Hostile submissions on the course's own assignments, each beside a control that lacks only the trick.

Each attack starts from the untouched release of one assignment, answers some
exercises (wrongly, or not at all, as the control does), and adds its trick:
deleting, moving or forging the instructor's cells, changing the test's own
arrays in place, or stepping around a check. Every attack prints its marker
(`REDTEAM-RAN <name>`) from a cell of its own, so a test can prove the attack
code really ran before it asserts that the attack gained nothing.

{name: {"assignment", "notebook", "control": name of its control,
        "cells": {grade_id: new source}, "delete": [grade_ids],
        "move_to_end": [grade_ids], "insert_before": {grade_id: source},
        "append": source of a last cell}}
"""

MARKER = "REDTEAM-RAN"

# 04: every exercise answered with zeros of the right shapes
ZERO_04 = {
    "forward_impl": (
        "def forward(X, params):\n"
        "    N, H, M = len(X), params['W1'].shape[1], params['W2'].shape[1]\n"
        "    cache = {'X': X, 'Z1': np.zeros((N, H)), 'A1': np.zeros((N, H)),\n"
        "             'Z2': np.zeros((N, M)), 'A2': np.zeros((N, M))}\n"
        "    return cache['A2'], cache\n"),
    "output_backward_impl": (
        "def output_layer_backward(cache, Y):\n"
        "    (N, M), H = Y.shape, cache['A1'].shape[1]\n"
        "    return np.zeros((N, M)), np.zeros((H, M)), np.zeros(M)\n"),
    "hidden_backward_impl": (
        "def hidden_layer_backward(dZ2, cache, params):\n"
        "    (N, H), D = cache['A1'].shape, cache['X'].shape[1]\n"
        "    return np.zeros((N, H)), np.zeros((D, H)), np.zeros(H)\n"),
    "backward_impl": (
        "def backward(cache, Y, params):\n"
        "    return {'d' + k: np.zeros_like(v) for k, v in params.items()}\n"),
    "centred_difference_impl": "def centred_difference(f, x, h=1e-5):\n    return np.zeros(np.shape(x))\n",
    "update_impl": "def gradient_descent_step(params, grads, lr):\n    return {k: v.copy() for k, v in params.items()}\n",
}

# 04: the instructor's helpers, rewritten so that every reference is zero too
FAKE_FIXTURES_04 = f'''print("{MARKER} delete_fixtures")


def random_case(N, D, H, M, seed):
    params = {{"W1": np.zeros((D, H)), "b1": np.zeros(H), "W2": np.zeros((H, M)), "b2": np.zeros(M)}}
    return np.zeros((N, D)), np.zeros((N, M)), params


def reference_cache(X, params):
    return forward(X, params)[1]


def numerical_grad(X, Y, params, name):
    return np.zeros_like(params[name])


def numerical_dZ2(cache, Y):
    return np.zeros_like(cache["Z2"])


cache_ref = reference_cache(X_demo, params_demo)
'''

# 04: gradients of zero, after writing the outputs into the test's targets Y:
# at Y = A2 every gold gradient of the loss is zero too
OVERWRITE_Y_04 = {
    "output_backward_impl": (
        "_overwrites = 0\n\n\n"
        "def output_layer_backward(cache, Y):\n"
        "    global _overwrites\n"
        "    Y[...] = cache['A2']\n"
        "    _overwrites += 1\n"
        "    (N, M), H = Y.shape, cache['A1'].shape[1]\n"
        "    return np.zeros((N, M)), np.zeros((H, M)), np.zeros(M)\n"),
}

# 04: an update step that changes the test's dict of arrays in place
IN_PLACE_UPDATE_04 = {
    "update_impl": (
        "_in_place = 0\n\n\n"
        "def gradient_descent_step(params, grads, lr):\n"
        "    global _in_place\n"
        "    _in_place += 1\n"
        "    for name in params:\n"
        "        params[name] -= lr * grads['d' + name]\n"
        "    return params\n"),
}

# 01: an untrained neuron, graded on validation and test sets of the student's own making
UNTRAINED_01 = {
    "train_digits": (
        "lr, num_epochs = 0.0, 0\n"
        "w_trained, b_trained, costs_trained = np.zeros(64), 0.0, [np.log(2)]\n"
        "train_accuracy = accuracy(predict(w_trained, b_trained, X_train), y_train)\n"
        "val_accuracy = accuracy(predict(w_trained, b_trained, X_val), y_val)\n"
        "val_results = {(lr, steps): val_accuracy for steps in (0, 1, 2)}\n"
        "test_accuracy = accuracy(predict(w_trained, b_trained, X_test), y_test)\n"),
}
ANSWERS_01 = {
    "predict_impl": "def predict(w, b, X):\n    return (X @ w + b >= 0).astype(int)\n",
    "accuracy_impl": "def accuracy(y_pred, y):\n    return float(np.mean(np.asarray(y_pred) == np.asarray(y)))\n",
}
FAKE_DATA_01 = f'''print("{MARKER} fake_test_set")
y_all = (digits == 8).astype(int)
X_train, y_train = X[:100], y_all[:100]
X_val, y_val = np.zeros((40, 64)), np.ones(40, dtype=int)    # z = 0 everywhere: all "an 8"
X_test, y_test = np.zeros((60, 64)), np.ones(60, dtype=int)
N, D = X_train.shape
baseline = np.mean(y_test == 0)
'''

# 03: a grid search that answers from the gate's name and writes NaN into the test's grid
GRID_03 = (
    "def separable_on_grid(X, y, grid):\n"
    "    global _grid_writes\n"
    "    y = np.asarray(y)\n"
    "    is_xor = len(y) == 4 and np.array_equal(y, (X[:, 0] != X[:, 1]).astype(y.dtype))\n"
    "    answer = not is_xor and bool(np.all(np.isfinite(grid))) and bool(np.any(grid < 0))\n"
    "    {trick}\n"
    "    return answer\n")
NAN_GRID_03 = {"separable_impl": "_grid_writes = 0\n\n\n" + GRID_03.format(
    trick="grid[...] = np.nan\n    _grid_writes += 1")}
NO_SEARCH_03 = {"separable_impl": "_grid_writes = 0\n\n\n" + GRID_03.format(trick="pass")}

# 06: the library's norms, reached through the class, where a guard on the instance would look
NORMS_06 = (
    "_through_class = 0\n\n\n"
    "def layer_grad_norms(net, X, y):\n"
    "    global _through_class\n"
    "    net.forward(X)\n"
    "    net.backward(net.targets(y))\n"
    "    {call}\n")
CLASS_CALL_06 = {"layer_grad_norms_impl": NORMS_06.format(
    call="_through_class += 1\n    return np.array(type(net).grad_norms(net))")}
PLAIN_CALL_06 = {"layer_grad_norms_impl": NORMS_06.format(call="return np.array(net.grad_norms())")}

# 05: untrained weights, with a falling cost history, that lie only where the kernel multiplies them:
# X @ W gives every known digit's true class a score of 100. Graded in the kernel, they would pass the
# accuracy test; the test's copy arrives as plain data, so its X @ W sees the untrained W.
ANSWERS_05 = {"accuracy_impl": "def accuracy(P, y):\n    return float(np.mean(np.argmax(P, axis=1) == y))\n"}
TRAIN_05 = (
    "def train_softmax_classifier(W, b, X, Y, lr, num_epochs, lam=0.0, batch_size=None, seed=0):\n"
    "    return {weights}, np.array(b, dtype=float), list(np.geomspace(2.3, 0.1, num_epochs))\n")
FORGED_05 = {"train_softmax_classifier_impl": (
    "_X_all, _y_all, _ = data.load_digits()\n"
    "_digit_of = {row.tobytes(): int(label) for row, label in zip(_X_all, _y_all)}\n"
    "_forged = 0\n\n\n"
    "class _Forged(np.ndarray):\n"
    "    def __rmatmul__(self, X):  # X @ W: the true digit of every image it knows, whatever W holds\n"
    "        global _forged\n"
    "        _forged += 1\n"
    "        rows = np.ascontiguousarray(X, dtype=float)\n"
    "        return 100.0 * np.eye(self.shape[1])[[_digit_of.get(row.tobytes(), 0) for row in rows]]\n\n\n"
    + TRAIN_05.format(weights="np.array(W, dtype=float).view(_Forged)"))}
UNTRAINED_05 = {"train_softmax_classifier_impl": TRAIN_05.format(weights="np.array(W, dtype=float)")}
# run in the kernel, where the forgery works: the untrained weights read every validation digit
FORGED_RUN_05 = (
    "_W, _b, _ = train_softmax_classifier(W0, b0, X_train, Y_train, 2.0, 150)\n"
    "print('validation accuracy in the kernel:', accuracy(X_val @ _W + _b, y_val))\n"
    + f'print("{MARKER} forged_weights" if _forged else "forged_weights: not run", _forged)\n')


def _count(name, variable):
    return f'print("{MARKER} {name}" if {variable} else "{name}: not run", {variable})\n'


ATTACKS = {
    # class 1: supply the reference the test compares against
    "delete_fixtures": {
        "assignment": "04_backprop", "notebook": "backprop", "control": "zeros_04",
        "cells": ZERO_04, "delete": ["test_fixtures", "cache_ref"],
        "insert_before": {"forward_impl": FAKE_FIXTURES_04},
    },
    "move_fixtures": {
        "assignment": "04_backprop", "notebook": "backprop", "control": "zeros_04",
        "cells": ZERO_04, "move_to_end": ["test_fixtures", "cache_ref"],
        "insert_before": {"forward_impl": FAKE_FIXTURES_04.replace("delete_fixtures", "move_fixtures")},
    },
    "fake_test_set": {
        "assignment": "01_logistic_regression", "notebook": "logistic_regression", "control": "untrained_01",
        "cells": {**ANSWERS_01, **UNTRAINED_01}, "delete": ["labels"],
        "insert_before": {"neuron_md": FAKE_DATA_01},
    },
    # class 2: change the test's own objects
    "overwrite_targets": {
        "assignment": "04_backprop", "notebook": "backprop", "control": "zeros_04",
        "cells": {**ZERO_04, **OVERWRITE_Y_04}, "append": _count("overwrite_targets", "_overwrites"),
    },
    "update_in_place": {
        "assignment": "04_backprop", "notebook": "backprop", "control": "update_copy_04",
        "cells": {**ZERO_04, **IN_PLACE_UPDATE_04}, "append": _count("update_in_place", "_in_place"),
    },
    "nan_grid": {
        "assignment": "03_xor", "notebook": "xor", "control": "no_search_03",
        "cells": NAN_GRID_03, "append": _count("nan_grid", "_grid_writes"),
    },
    # class 3: hand back an object that lies where the test looks
    "forged_weights": {
        "assignment": "05_softmax", "notebook": "softmax", "control": "untrained_05",
        "cells": {**ANSWERS_05, **FORGED_05}, "append": FORGED_RUN_05,
    },
    # class 4: step around a guard
    "guard_through_class": {
        "assignment": "06_vanishing_gradients", "notebook": "vanishing_gradients", "control": "plain_call_06",
        "cells": CLASS_CALL_06, "append": _count("guard_through_class", "_through_class"),
    },
}

CONTROLS = {
    "zeros_04": {"assignment": "04_backprop", "notebook": "backprop", "cells": ZERO_04},
    "update_copy_04": {"assignment": "04_backprop", "notebook": "backprop",
                       "cells": {**ZERO_04, "update_impl": (
                           "def gradient_descent_step(params, grads, lr):\n"
                           "    return {k: v - lr * grads['d' + k] for k, v in params.items()}\n")}},
    "untrained_01": {"assignment": "01_logistic_regression", "notebook": "logistic_regression",
                     "cells": {**ANSWERS_01, **UNTRAINED_01}},
    "no_search_03": {"assignment": "03_xor", "notebook": "xor", "cells": NO_SEARCH_03},
    "untrained_05": {"assignment": "05_softmax", "notebook": "softmax", "cells": {**ANSWERS_05, **UNTRAINED_05}},
    "plain_call_06": {"assignment": "06_vanishing_gradients", "notebook": "vanishing_gradients",
                      "cells": PLAIN_CALL_06},
}
