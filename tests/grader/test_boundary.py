"""The grader uses only the public names of utils, so a refactor inside utils breaks nothing silently.

A network crosses the process boundary of trusted verdicts as ``MLP.state()``
and comes back through ``MLP.from_state`` (STYLE.md, "Boundaries are public").
These tests fail in a second when that stops being true: when a module of
grader/ names a private attribute of anything in utils, or when the way an MLP
stores its parameters leaks into its state or onto the wire.
"""

import ast
import json
import pathlib
import re

import numpy as np
import pytest

from grader import wire
from utils import MLP, data

ROOT = pathlib.Path(__file__).resolve().parents[2]


def private_names_of_utils():
    """Every single-underscore name utils defines: module functions, attributes, methods."""
    names = set()
    for path in (ROOT / "utils").rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            name = None
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                name = node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                name = node.attr
            if name and re.fullmatch(r"_[a-zA-Z]\w*", name):
                names.add(name)
    return names


def test_the_grader_reads_no_private_attribute_of_utils():
    """Does no module of grader/ name a private attribute that utils defines (such as _theta)?"""
    private = private_names_of_utils()
    assert "_theta" in private and "_backprop" in private  # the scan sees what it should
    found = []
    for path in sorted((ROOT / "grader").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in private:
                owner = node.value.id if isinstance(node.value, ast.Name) else ""
                if owner not in ("self", "cls"):  # the grader's own private attributes
                    found.append(f"{path.name}:{node.lineno}: .{node.attr}")
    assert not found, "grader/ reads private attributes of utils:\n" + "\n".join(found)


def trained_net():
    X, y = data.xor()
    net = MLP([2, 3, 1], "tanh", loss="bce", seed=3)
    net.fit(X, y, lr=0.5, num_epochs=5)
    net.forward(X)
    net.backward(net.targets(y))
    return net


def on_the_wire(net):
    codec = wire.Codec(mlp_class=MLP)
    return json.loads(wire.dumps(wire.message("values", values={"net": codec.encode(net)})))


def unflattened(net):
    """The same network with its parameters and gradients stored layer by layer, as a refactor might."""
    for layer in net.layers:
        layer.W, layer.b = layer.W.copy(), layer.b.copy()
        layer.dW, layer.db = layer.dW.copy(), layer.db.copy()
    return net


def assert_same_state(mine, gold):
    assert {k: mine[k] for k in ("sizes", "activations", "loss", "init", "seed")} == \
        {k: gold[k] for k in ("sizes", "activations", "loss", "init", "seed")}
    for group in ("params", "grads"):
        assert mine[group].keys() == gold[group].keys()
        for name in gold[group]:
            np.testing.assert_array_equal(mine[group][name], gold[group][name])
    for mine_cache, gold_cache in zip(mine["caches"], gold["caches"]):
        for key in "XZA":
            np.testing.assert_array_equal(mine_cache[key], gold_cache[key])


def test_a_storage_refactor_leaves_the_state_and_the_wire_unchanged():
    """Stored layer by layer instead of in one flat vector, is the network's state and message the same?"""
    gold = trained_net()
    mine = unflattened(trained_net())
    assert_same_state(mine.state(), gold.state())
    assert on_the_wire(mine) == on_the_wire(gold)
    back = wire.Codec(mlp_class=MLP).decode(on_the_wire(mine)["values"]["net"])
    assert_same_state(back.state(), gold.state())


def test_the_state_names_every_array_by_layer():
    """Does MLP.state() hold W1..WL, b1..bL, their gradients and one cache per layer, as plain arrays?"""
    state = trained_net().state()
    assert sorted(state["params"]) == ["W1", "W2", "b1", "b2"]
    assert sorted(state["grads"]) == ["dW1", "dW2", "db1", "db2"]
    assert len(state["caches"]) == 2 and all(set(c) == set("XZA") for c in state["caches"])
    assert state["params"]["W1"].shape == state["grads"]["dW1"].shape == (2, 3)


def test_a_state_that_does_not_fit_is_refused_by_name():
    """Is a state with a missing key or a wrong shape refused with a message, not half loaded?"""
    state = trained_net().state()
    with pytest.raises(ValueError, match="needs sizes, activations, loss"):
        MLP.from_state({"sizes": [2, 3, 1]})
    state["params"]["W1"] = np.zeros((3, 2))
    with pytest.raises(ValueError, match=r"W1 should have shape \(2, 3\)"):
        MLP.from_state(state)
