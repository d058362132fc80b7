"""The notebook-test assertions: each mistake kind is recognised and named."""
import numpy as np
import pytest

from utils import checks
from utils.checks import assert_matches, assert_shape, diagnose


@pytest.fixture
def gold(rng):
    return rng.normal(size=(3, 5))


@pytest.mark.parametrize(
    "make, kind",
    [
        (lambda g: g.T, "transposed"),
        (lambda g: g * 8, "forgot to divide by N"),
        (lambda g: g / 8, "divided by N twice"),
        (lambda g: -g, "sign flipped"),
        (lambda g: g[:, :4], "wrong shape"),
        (lambda g: np.where(g > 0, np.inf, g), "not finite"),
        (lambda g: g + 1, "wrong values"),
    ],
)
def test_mistakes_are_named(gold, make, kind):
    """Does assert_matches name the kind of mistake without printing the answer?"""
    mine = make(gold)
    assert diagnose(mine, gold, n_examples=8) == kind
    with pytest.raises(AssertionError) as err:
        assert_matches(mine, gold, "dW1", n_examples=8)
    msg = str(err.value)
    assert msg.startswith(f"dW1: {kind}")
    assert f"{gold[0, 0]:.3f}" not in msg


def test_wrong_axis_and_hard_coding(rng):
    """Are a sum over the wrong axis and a copied visible answer recognised?"""
    dZ = rng.normal(size=(6, 3))
    assert diagnose(dZ.sum(axis=1), dZ.sum(axis=0), n_examples=6) == "summed over the wrong axis"
    assert diagnose(dZ.sum(axis=0, keepdims=True), dZ.sum(axis=0)) == "summed over the wrong axis"
    visible = np.array([0.1, 0.2, 0.3])
    assert diagnose(visible, dZ.sum(axis=0), visible_answer=visible) == "hard-coded"
    assert diagnose(dZ.sum(axis=0), dZ.sum(axis=0)) is None


def test_non_arrays_are_explained():
    """Does a None or a string get a message saying what was expected?"""
    with pytest.raises(AssertionError, match="reach its return"):
        assert_matches(None, np.zeros(2), "db")
    with pytest.raises(AssertionError, match="should be a NumPy array of numbers, got str"):
        assert_matches("abc", np.zeros(2), "db")
    with pytest.raises(AssertionError, match=r"transposed \(expected shape \(2, 3\), got shape \(3, 2\)\)"):
        assert_shape(np.zeros((3, 2)), (2, 3), "W")


def test_known_mistakes_are_named(rng):
    """Is a same-shape mistake the test describes (a softmax over the wrong axis) named as such?"""
    Z = rng.normal(size=(4, 3))
    rows = np.exp(Z) / np.exp(Z).sum(axis=1, keepdims=True)
    columns = np.exp(Z) / np.exp(Z).sum(axis=0, keepdims=True)
    wrong_axis = {"summed over the wrong axis": columns}
    assert diagnose(columns, rows, known_mistakes=wrong_axis) == "summed over the wrong axis"
    assert diagnose(rows, rows, known_mistakes=wrong_axis) is None
    with pytest.raises(ValueError, match="unknown mistake kind 'typo'"):
        diagnose(rows, rows, known_mistakes={"typo": rows})


def test_in_place_declares_by_identity():
    """Does in_place mark exactly the object it is given, and return it unchanged?"""
    params, other = {"W1": np.zeros(2)}, {"W1": np.zeros(2)}
    assert checks.in_place(params) is params
    assert checks.declared_in_place(params) and not checks.declared_in_place(other)


def test_a_test_can_give_its_own_hint_for_a_kind():
    """Does assert_matches use the test's hint for the kind it diagnoses, and refuse unknown kinds?"""
    with pytest.raises(AssertionError, match="subtracts the gradient"):
        assert_matches(-np.ones(3), np.ones(3), "step", hints={"sign flipped": "descent subtracts the gradient"})
    with pytest.raises(ValueError, match="unknown mistake kind"):
        assert_matches(np.ones(3), np.ones(3), "step", hints={"upside down": "?"})


def test_a_choice_is_checked_for_its_form_only():
    """Does assert_choice accept any well-formed answer, right or wrong, and explain a malformed one?"""
    checks.assert_choice("b", "abcd", "answer_q1")
    checks.assert_choice("D, a", "abcd", "answer_q1")
    assert checks.chosen("D, a") == {"a", "d"}
    for bad, message in [("", "expected a string of letters"), (None, "expected a string"),
                         ("ae", "'e' is not one of the options"), ("aa", "each letter once")]:
        with pytest.raises(AssertionError, match=message):
            checks.assert_choice(bad, "abcd", "answer_q1")
