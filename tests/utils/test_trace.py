"""Tests of utils.trace: the step-by-step record of a forward and a backward pass."""
import numpy as np
import pytest

from utils import MLP, gradcheck, trace
from utils.shapes import ShapeError

NETS = [
    ([2, 2, 2], ["sigmoid", "sigmoid"], "half_sse"),
    ([2, 3, 1], ["relu", "sigmoid"], "bce"),
    ([3, 4, 3], ["tanh", "softmax"], "cce"),
    ([1, 2, 2, 1], ["sigmoid", "sigmoid", "identity"], "mse"),
]


def _example(sizes, loss, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(1, sizes[0]))
    if loss == "cce":
        Y = np.eye(sizes[-1])[[rng.integers(sizes[-1])]]
    elif loss == "bce":
        Y = rng.integers(0, 2, size=(1, sizes[-1])).astype(float)
    else:
        Y = rng.uniform(size=(1, sizes[-1]))
    return X, Y


def _by_kind(steps, kind, layer, shape):
    out = np.full(shape, np.nan)
    for s in steps:
        if s.kind == kind and s.layer == layer:
            out[s.index] = s.value
    return out


def test_lecture_example_numbers():
    """Does the trace of the lectures' 2-2-2 example give its forward numbers and E = 0.1911?"""
    net, X, Y = trace.lecture_2_2_2()
    steps = trace.trace(net, X, Y)
    value = {s.name: s.value for s in steps}
    assert value["z1[0]"] == pytest.approx(0.178, abs=1e-12)
    assert value["z1[1]"] == pytest.approx(0.314, abs=1e-12)
    assert value["a1[0]"] == pytest.approx(0.5444, abs=1e-4)
    assert value["a1[1]"] == pytest.approx(0.5779, abs=1e-4)
    assert value["E"] == pytest.approx(0.1911, abs=1e-4)
    assert value["dW2[0, 0]"] == pytest.approx(0.0686, abs=1e-4)
    assert value["dW1[0, 0]"] == pytest.approx(0.00078, abs=1e-5)


@pytest.mark.parametrize("sizes, acts, loss", NETS)
def test_gradients_match_mlp_and_numerical(sizes, acts, loss):
    """Does every dW and db in the trace equal net.grads and a centred numerical gradient?"""
    net = MLP(sizes, acts, loss=loss, seed=3)
    X, Y = _example(sizes, loss, seed=4)
    steps = trace.trace(net, X, Y)
    grads = {k: v.copy() for k, v in net.grads.items()}

    def loss_value():
        net.forward(X)
        return net.loss_value(Y)

    for l in range(1, len(sizes)):
        mine_W = _by_kind(steps, "dW", l, (sizes[l - 1], sizes[l]))
        mine_b = _by_kind(steps, "db", l, (sizes[l],))
        np.testing.assert_allclose(mine_W, grads[f"dW{l}"], rtol=1e-12, atol=1e-14)
        np.testing.assert_allclose(mine_b, grads[f"db{l}"], rtol=1e-12, atol=1e-14)
        gold = gradcheck.numerical_gradient(loss_value, net.params[f"W{l}"])
        assert gradcheck.rel_error(mine_W, gold) < 1e-6


@pytest.mark.parametrize("sizes, acts, loss", NETS)
def test_forward_values_and_intermediate_gradients(sizes, acts, loss):
    """Do z, a, dz and da in the trace equal the layers' caches and dz @ W.T?"""
    net = MLP(sizes, acts, loss=loss, seed=5)
    X, Y = _example(sizes, loss, seed=6)
    steps = trace.trace(net, X, Y)
    for l, layer in enumerate(net.layers, 1):
        M = layer.shape[1]
        np.testing.assert_allclose(_by_kind(steps, "z", l, (M,)), layer.Z[0], rtol=1e-12)
        np.testing.assert_allclose(_by_kind(steps, "a", l, (M,)), layer.A[0], rtol=1e-12)
    for l in range(len(sizes) - 1, 1, -1):
        dz = _by_kind(steps, "dz", l, (sizes[l],))
        da_prev = _by_kind(steps, "da", l - 1, (sizes[l - 1],))
        np.testing.assert_allclose(da_prev, dz @ net.layers[l - 1].W.T, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("sizes, acts, loss", NETS)
def test_step_count_order_and_places(sizes, acts, loss):
    """Does the trace go forward, then backward, one step per scalar, on nodes and edges that exist?"""
    net = MLP(sizes, acts, loss=loss, seed=0)
    X, Y = _example(sizes, loss, seed=1)
    steps = trace.trace(net, X, Y)
    units = sum(sizes[1:])
    weights = sum(d * m for d, m in zip(sizes[:-1], sizes[1:]))
    hidden = sum(sizes[1:-1])
    assert len(steps) == (2 * units + 1) + (sizes[-1] + 2 * units + weights + hidden)
    phases = [s.phase for s in steps]
    assert phases == sorted(phases, key=lambda p: p != "forward")
    assert steps[2 * units].kind == "loss"
    for s in steps:
        for _, l, i in s.nodes:
            assert 0 <= l < len(sizes) and 0 <= i < sizes[l], s
        for _, l, i, j in s.edges:
            assert 0 <= i < sizes[l] and 0 <= j < sizes[l + 1], s
        assert s.nodes or s.edges, s


def test_step_text():
    """Does a step print its symbol, its formula with the numbers put in, and its value?"""
    net, X, Y = trace.lecture_2_2_2()
    steps = trace.trace(net, X, Y)
    assert str(steps[0]) == (
        "z₁^[1] = x₁·w₁₁^[1] + x₂·w₂₁^[1] + b₁^[1] = 0.12×0.15 + 0.3×0.2 + 0.1 = 0.178")
    dw = next(s for s in steps if s.name == "dW2[1, 0]")
    assert dw.symbol == "∂E/∂w₂₁^[2]" and dw.edges == (("edge", 1, 1, 0),)
    assert "0.5779×0.126" in dw.numbers
    assert repr(steps[8]) == "Step(forward E = 0.1911)"


def test_known_collects_the_first_k_steps():
    """Does known(steps, k) hold exactly the values of the first k steps?"""
    net, X, Y = trace.lecture_2_2_2()
    steps = trace.trace(net, X, Y)
    assert all(not v for v in trace.known(steps, 0).values())
    k5 = trace.known(steps, 5)
    assert set(k5["z"]) == {(1, 0), (1, 1), (2, 0)} and set(k5["a"]) == {(1, 0), (1, 1)}
    full = trace.known(steps, len(steps))
    assert len(full["dW"]) == 8 and full["loss"][(2,)] == pytest.approx(0.19109, abs=1e-5)
    with pytest.raises(IndexError):
        trace.known(steps, len(steps) + 1)


def test_one_example_only():
    """Does the trace refuse a batch, naming the shape it wants and the shape it got?"""
    net = MLP([2, 2, 1], "sigmoid", loss="bce")
    with pytest.raises(ShapeError, match=r"\(1, 2\).*\(3, 2\)"):
        trace.trace(net, np.zeros((3, 2)), np.zeros((3, 1)))


def test_accepts_vectors_and_labels():
    """Does the trace take x as (D,), targets as (M,) and a class label for a softmax output?"""
    net = MLP([2, 3, 3], ["tanh", "softmax"], loss="cce", seed=2)
    by_label = trace.trace(net, [0.5, -1.0], 2)
    by_row = trace.trace(net, [[0.5, -1.0]], [[0.0, 0.0, 1.0]])
    assert [s.value for s in by_label] == [s.value for s in by_row]
