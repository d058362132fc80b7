"""The MLP: every gradient against numerical ones, training, errors, repr."""
import numpy as np
import pytest

from utils import MLP, data
from utils.gradcheck import check_mlp, numerical_gradient
from utils.mlp import gradient_norms_at_init
from utils.shapes import ShapeError

TOL = 1e-6  # largest relative error, float64, centred differences with h = 1e-5


@pytest.mark.parametrize(
    "sizes, activations, loss, targets",
    [
        ([3, 5, 1], "sigmoid", "bce", "binary"),
        ([3, 4, 4, 1], "tanh", "bce", "binary"),
        ([3, 5, 4], "relu", "cce", "labels"),
        ([3, 6, 5, 4], ["leaky_relu", "tanh", "softmax"], "cce", "labels"),
        ([3, 4, 2], "sigmoid", "mse", "real"),
        ([3, 2, 2], ["sigmoid", "sigmoid"], "half_sse", "real"),
        ([3, 4, 1], ["tanh", "sigmoid"], "mse", "real"),
    ],
)
def test_backward_matches_numerical(sizes, activations, loss, targets, rng):
    """Does backward give every dW and db of the loss, for several depths, activations and losses?"""
    net = MLP(sizes, activations, loss, seed=3)
    N = 7
    X = rng.normal(size=(N, sizes[0]))
    y = {
        "binary": rng.integers(0, 2, N),
        "labels": rng.integers(0, sizes[-1], N),
        "real": rng.uniform(0, 1, (N, sizes[-1])),
    }[targets]
    errors = check_mlp(net, X, y)
    assert set(errors) == {f"d{k}" for k in net.params}
    assert max(errors.values()) < TOL, errors
    for name, p in net.params.items():
        assert net.grads[f"d{name}"].shape == p.shape


def test_small_sigmoid_mlp_learns_xor():
    """Does a 2-4-1 sigmoid network learn XOR to 100 % accuracy?"""
    X, y = data.xor()
    net = MLP([2, 4, 1], "sigmoid", "bce", seed=0)
    history = net.fit(X, y, lr=2.0, num_epochs=2000)
    assert history["accuracy"][-1] == 1.0
    assert history["loss"][-1] < 0.05
    np.testing.assert_array_equal(net.predict(X), y)


def test_fit_history_and_determinism():
    """Does fit keep loss, accuracy and per-layer gradient norms, identically on a rerun?"""
    X, y = data.make_moons(100, seed=1)
    runs = []
    for _ in range(2):
        net = MLP([2, 8, 8, 1], "tanh", "bce", seed=5)
        runs.append(net.fit(X, y, lr=0.5, num_epochs=30, batch_size=16, seed=2))
    h = runs[0]
    assert len(h["loss"]) == len(h["accuracy"]) == len(h["grad_norms"]) == 30
    assert np.shape(h["grad_norms"]) == (30, 3)
    assert h["loss"][-1] < h["loss"][0]
    assert runs[0] == runs[1]


def test_softmax_classifier_on_digits():
    """Does a softmax MLP learn the 8x8 digits well on held-out data?"""
    X, y, _ = data.load_digits()
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.25, seed=0)
    net = MLP([64, 32, 10], "relu", "cce", init="he", seed=0)
    net.fit(X_train, y_train, lr=0.5, num_epochs=60, batch_size=64, seed=0)
    assert net.accuracy(X_test, y_test) > 0.93


def test_nan_stops_training_with_a_hint():
    """Does a diverging run stop with a hint about the learning rate?"""
    X, y = data.make_blobs(50, seed=0)
    net = MLP([2, 8, 1], "relu", "mse", seed=0)
    with pytest.raises(FloatingPointError, match="learning rate may be too large"):
        with np.errstate(all="ignore"):
            net.fit(X * 100, y, lr=10.0, num_epochs=200)


def test_bad_input_is_named():
    """Do wrong shapes, names and counts produce messages that say what was expected?"""
    net = MLP([2, 3, 1])
    with pytest.raises(ShapeError, match=r"\(\?, 2\).*\(4, 3\)"):
        net.forward(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="valid activations are"):
        MLP([2, 3, 1], "swish")
    with pytest.raises(ValueError, match="valid losses are"):
        MLP([2, 3, 1], loss="hinge")
    with pytest.raises(ValueError, match="2 layers need 2 activations, got 1"):
        MLP([2, 3, 1], ["relu"])
    with pytest.raises(ShapeError, match="X has 4 rows but y has 3"):
        net.fit(np.zeros((4, 2)), np.zeros(3), num_epochs=1)
    with pytest.raises(ShapeError, match=r"W1 should have shape \(2, 3\) but has shape \(3, 2\)"):
        net.set_params(W1=np.zeros((3, 2)))


@pytest.mark.parametrize("activation, init, std", [("sigmoid", "xavier", None),
                                                    ("relu", "normal", 0.5)])
def test_gradient_norms_at_init_are_those_of_numerical_gradients(activation, init, std, rng):
    """Is row s, column l of gradient_norms_at_init the norm of dJ/dW_l of seed s's fresh net?"""
    sizes, seeds = [3, 5, 4, 1], (0, 7)
    X = rng.normal(size=(6, 3))  # (N, D)
    y = rng.integers(0, 2, 6)  # (N,)
    mine = gradient_norms_at_init(sizes, activation, init, X, y, seeds, std=std)
    gold = np.empty((len(seeds), len(sizes) - 1))  # (S, L)
    for s, seed in enumerate(seeds):
        net = MLP(sizes, activation, loss="bce", init=init, seed=seed, std=std)
        Y = net.targets(y)

        def loss(net=net, Y=Y):
            net.forward(X)
            return net.loss_value(Y)

        for l in range(1, len(sizes)):
            gold[s, l - 1] = np.linalg.norm(numerical_gradient(loss, net.params[f"W{l}"]))
    assert mine.shape == (2, 3)
    np.testing.assert_allclose(mine, gold, rtol=TOL)


def test_gradient_norms_at_init_shrink_through_a_deep_sigmoid_net():
    """Are the first layer's gradients of a 10-layer sigmoid net far smaller than the last's?"""
    X, y = data.make_moons(100, noise=0.1, seed=0)
    mine = gradient_norms_at_init([2] + [16] * 9 + [1], "sigmoid", "xavier", X, y, seeds=(0, 1, 2))
    assert mine.shape == (3, 10)
    assert np.all(mine[:, 0] < 1e-3 * mine[:, -1])


def test_repr_reads_well():
    """Does the repr say sizes, activations, loss, init and parameter count?"""
    net = MLP([2, 4, 1], "tanh", "bce")
    assert repr(net) == (
        "MLP(sizes=[2, 4, 1], activations=['tanh', 'sigmoid'], loss='bce', init='xavier', params=17)"
    )


def test_step_descends():
    """Does one gradient step move each parameter against its gradient?"""
    X, y = data.xor()
    net = MLP([2, 3, 1], seed=1)
    Y = net.targets(y)
    net.forward(X)
    before = net.loss_value(Y)
    old = {k: v.copy() for k, v in net.params.items()}
    grads = {k: v.copy() for k, v in net.backward(Y).items()}
    net.step(0.1)
    for k, v in net.params.items():
        np.testing.assert_allclose(v, old[k] - 0.1 * grads[f"d{k}"])
    net.forward(X)
    assert net.loss_value(Y) < before


def test_state_rebuilds_an_equal_network(rng):
    """Does MLP.from_state(net.state()) give the same parameters, gradients, caches and predictions?"""
    net = MLP([3, 4, 2], "tanh", loss="cce", seed=5)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    net.forward(X)
    net.backward(net.targets(y))
    gold = net.state()
    mine = MLP.from_state(gold).state()
    for key in ("sizes", "activations", "loss", "init", "seed"):
        assert mine[key] == gold[key]
    for group in ("params", "grads"):
        for name in gold[group]:
            np.testing.assert_array_equal(mine[group][name], gold[group][name])
    for cache_mine, cache_gold in zip(mine["caches"], gold["caches"]):
        for k in "XZA":
            np.testing.assert_array_equal(cache_mine[k], cache_gold[k])
    np.testing.assert_array_equal(MLP.from_state(gold).predict(X), net.predict(X))


def test_state_is_a_copy():
    """Does changing a state's arrays leave the network alone?"""
    net = MLP([2, 1], seed=1)
    state = net.state()
    state["params"]["W1"][...] = 99.0
    assert not np.any(net.params["W1"] == 99.0)


@pytest.mark.parametrize("break_it, message", [
    (lambda s: s.pop("params"), "needs sizes"),
    (lambda s: s["params"].pop("b1"), "needs params"),
    (lambda s: s["params"].__setitem__("W1", np.zeros((5, 5))), "W1"),
    (lambda s: s["caches"].pop(), "caches"),
])
def test_from_state_refuses_a_bad_state(break_it, message):
    """Does from_state say what it expected when a state is incomplete or of the wrong shape?"""
    state = MLP([2, 3, 1], seed=0).state()
    break_it(state)
    with pytest.raises((ValueError, ShapeError), match=message):
        MLP.from_state(state)


def test_predict_gives_labels_or_says_why_not():
    """Does predict give int labels for every classifier, and refuse a regression network by name?"""
    X, y = data.xor()
    assert MLP([2, 3, 1], "tanh", "bce", seed=0).predict(X).dtype.kind == "i"
    assert MLP([2, 3, 1], "tanh", "bce", seed=0).predict(X).shape == (4,)
    assert MLP([2, 3, 2], "tanh", "bce", output="sigmoid", seed=0).predict(X).shape == (4, 2)
    assert MLP([2, 3, 3], "tanh", "cce", seed=0).predict(X).shape == (4,)
    with pytest.raises(ValueError, match="loss 'mse': use forward"):
        MLP([2, 3, 1], "tanh", "mse", seed=0).predict(X)
