"""The wire format of trusted verdicts: values cross as data, and hostile data is refused."""

import json

import numpy as np
import pytest

from grader import wire
from utils import MLP


@pytest.fixture
def codec():
    return wire.Codec(mlp_class=MLP, opaque=lambda what: ("opaque", what), strict=False)


def round_trip(codec, value):
    return codec.decode(json.loads(wire.dumps(wire.message("values", values={"v": codec.encode(value)})))["values"]["v"])


@pytest.mark.parametrize("value", [
    None, True, 3, -2.5, "text", [1, [2, 3]], (1, "a"), {"a": 1, 2: (3.0,)},
    float("nan"), float("inf"), np.float64(0.25), np.int64(7),
])
def test_plain_values_cross_unchanged(codec, value):
    """Do numbers, strings and containers come back equal, with their types?"""
    mine = round_trip(codec, value)
    if isinstance(value, float) and np.isnan(value):
        assert np.isnan(mine)
    else:
        assert mine == value and type(mine) is type(value.item() if isinstance(value, np.generic) else value)


@pytest.mark.parametrize("array", [np.arange(6.0).reshape(2, 3), np.array(2.5), np.array([True, False]),
                                   np.array(["a", "bc"]), np.zeros((0, 4)), np.arange(4, dtype=np.int8)])
def test_arrays_cross_with_shape_and_dtype(codec, array):
    """Does an array come back with its shape, dtype and values, 0-d and empty ones included?"""
    mine = round_trip(codec, array)
    assert mine.dtype == array.dtype and mine.shape == array.shape and np.array_equal(mine, array)


def test_generator_crosses_with_its_state(codec):
    """Does a random generator come back drawing the same numbers?"""
    rng = np.random.default_rng(5)
    rng.normal(size=3)
    mine = round_trip(codec, rng)
    assert np.array_equal(mine.normal(size=4), rng.normal(size=4))


def test_network_crosses_as_its_state(codec, rng):
    """Does a network come back as the real MLP with the same state, and a subclass as a plain MLP?"""
    class Rigged(MLP):
        def predict(self, X):
            return "always right"

    net = Rigged([2, 3, 1], "tanh", seed=1)
    net.forward(rng.normal(size=(4, 2)))
    mine = round_trip(codec, net)
    assert type(mine) is MLP
    np.testing.assert_array_equal(mine.params["W2"], net.params["W2"])
    np.testing.assert_array_equal(mine.layers[0].A, net.layers[0].A)


def test_a_value_that_is_not_data_becomes_opaque_or_is_refused(codec):
    """Is an object sent as 'unavailable' (opaque on arrival), and refused by a strict codec?"""
    assert round_trip(codec, object()) == ("opaque", "a object")
    with pytest.raises(wire.WireError, match="not plain data"):
        wire.Codec(strict=True).encode(object())


@pytest.mark.parametrize("data, match", [
    ({"npy": "not base64!"}, "malformed array"),
    ({"pickle": "x"}, "unknown value tag"),
    ({"npy": "a", "tuple": []}, "malformed value"),
    ({"rng": {"bit_generator": "Evil"}}, "unknown kind"),
    ({"mlp": {"dict": [["sizes", [2, 1]]]}}, "network"),
    ({"dict": [[[1], 2]]}, "malformed dict"),
])
def test_malformed_data_is_refused(codec, data, match):
    """Is every malformed value refused with a WireError, never another exception?"""
    with pytest.raises(wire.WireError, match=match):
        codec.decode(data)


def test_object_arrays_never_cross(codec):
    """Is an array of Python objects (a pickle in disguise) refused both ways?"""
    import base64
    import io

    assert "unavailable" in codec.encode(np.array([object()], dtype=object))
    buffer = io.BytesIO()
    np.save(buffer, np.array([1, 2]).astype("O"), allow_pickle=True)
    with pytest.raises(wire.WireError):
        codec.decode({"npy": base64.b64encode(buffer.getvalue()).decode()})


def test_nesting_is_bounded(codec):
    """Are values nested deeper than MAX_DEPTH refused, encoding and decoding?"""
    deep = []
    for _ in range(wire.MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(wire.WireError, match="deeper"):
        codec.encode(deep)
    with pytest.raises(wire.WireError, match="deeper"):
        codec.decode(json.loads(json.dumps(deep)))


def test_loads_bounds_size_depth_and_fields():
    """Does loads refuse oversized, deep, non-JSON, unknown-op and extra-field messages as WireError?"""
    with pytest.raises(wire.WireError, match="over the limit"):
        wire.loads('{"op": "values"}' + " " * 100, "values", limit=50)
    with pytest.raises(wire.WireError, match="deeper|not a message"):
        wire.loads("[" * 100_000 + "]" * 100_000, "values")
    with pytest.raises(wire.WireError, match="not a message"):
        wire.loads("{nope", "values")
    with pytest.raises(wire.WireError, match="expected a message with op"):
        wire.loads('{"op": "callback", "id": 0}', "result")
    with pytest.raises(wire.WireError, match="unknown fields"):
        wire.loads('{"op": "result", "value": 1, "args_after": []}', "result")
    assert wire.loads('{"op": "result", "value": 1}', "result") == {"op": "result", "value": 1}


def test_every_message_has_an_op():
    """Does message() build only messages whose fields their op allows?"""
    assert wire.message("get", names=["x"]) == {"op": "get", "names": ["x"]}
    with pytest.raises(wire.WireError):
        wire.message("get", names=["x"], code="print(1)")


def test_fingerprint_sees_changes_inside_containers(codec):
    """Does a fingerprint change when an array inside a dict changes in place, and not otherwise?"""
    params = {"W1": np.zeros((2, 2)), "b1": np.zeros(2)}
    before = codec.fingerprint(params)
    assert codec.fingerprint(params) == before
    params["W1"][0, 0] = 1.0
    assert codec.fingerprint(params) != before


def test_fingerprint_of_a_network_is_its_parameters(codec, rng):
    """Does a forward pass leave a network's fingerprint alone, and a training step change it?"""
    net = MLP([2, 2, 1], seed=0)
    before = codec.fingerprint(net)
    X, Y = rng.normal(size=(3, 2)), np.ones((3, 1))
    net.forward(X)
    net.backward(Y)
    assert codec.fingerprint(net) == before
    net.train_step(X, Y, 0.1)
    assert codec.fingerprint(net) != before


def test_assign_in_place_keeps_identity():
    """Does assign_in_place change arrays, dicts, lists and networks without rebinding them?"""
    array, table, items, net = np.zeros(3), {"a": 1}, [1], MLP([2, 1], seed=0)
    trained = MLP([2, 1], seed=0)
    trained.set_params(W1=np.ones((2, 1)))
    for target, value in [(array, np.ones(3)), (table, {"b": 2}), (items, [2, 3]), (net, trained)]:
        wire.assign_in_place(target, value, MLP)
    assert array.tolist() == [1, 1, 1] and table == {"b": 2} and items == [2, 3]
    np.testing.assert_array_equal(net.params["W1"], np.ones((2, 1)))
    with pytest.raises(wire.WireError, match="cannot replace"):
        wire.assign_in_place(np.zeros(3), np.zeros(4))


@pytest.mark.parametrize("source, binds, reads", [
    ("x = f(y)\n", {"x"}, {"f", "y"}),
    ("def g(a):\n    b = a + c\n    return b\n", {"g"}, {"c"}),
    ("import numpy as np\nz = np.zeros(3)\n", {"np", "z"}, set()),
    ("[q for q in range(3)]\n", set(), set()),
    ("for i in items:\n    total = i\n", {"i", "total"}, {"items"}),
])
def test_cell_names(source, binds, reads):
    """Does cell_names give a cell's top-level bindings and the names it needs from outside?"""
    assert wire.cell_names(source) == (binds, reads)


@pytest.mark.parametrize("source", ["(" * 5000 + ")" * 5000, "x = " + "-" * 200_000 + "1",
                                    "def (:", "%timeit f()", "x" * (wire.MAX_SOURCE + 1)])
def test_cell_names_never_fails_on_a_students_cell(source):
    """Does cell_names answer None, never raise, for deep, huge, or non-Python cells?"""
    assert wire.cell_names(source) is None
