"""Assertions for the notebooks' tests, with messages that diagnose the mistake.

A graded test compares the student's array (``mine``) with an independent
answer (``gold``: a numerical gradient, or a reference computed another
way) on fresh random inputs. When they differ, :func:`diagnose` names the
kind of mistake without giving the answer away:

=============================  ==============================================
kind                           what the array looks like
=============================  ==============================================
``wrong shape``                any other shape than the variable's
``transposed``                 the answer's transpose
``summed over the wrong axis`` one value per example instead of one per unit,
                               or a kept/missing axis
``forgot to divide by N``      N times the answer (a sum, not a mean)
``divided by N twice``         the answer divided by N
``sign flipped``               minus the answer
``hard-coded``                 the visible example's answer, whatever the input
``not finite``                 NaN or inf
``wrong values``               none of the above
=============================  ==============================================
"""
import numpy as np

MISTAKE_KINDS = (
    "wrong shape",
    "transposed",
    "summed over the wrong axis",
    "forgot to divide by N",
    "divided by N twice",
    "sign flipped",
    "hard-coded",
    "not finite",
    "wrong values",
)


def _as_float_array(name, mine):
    if mine is None:
        raise AssertionError(f"{name} is None: did the function reach its return statement?")
    try:
        return np.array(mine, dtype=float)
    except (TypeError, ValueError):
        raise AssertionError(
            f"{name} should be a NumPy array of numbers, got {type(mine).__name__}"
        ) from None


def _close(a, b, rtol, atol):
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def diagnose(mine, gold, n_examples=None, visible_answer=None, rtol=1e-5, atol=1e-7,
             known_mistakes=None):
    """Name the kind of mistake that turns ``gold`` into ``mine``, or None if they agree.

    mine, gold : arrays; n_examples : N, to recognise a missing or doubled
    mean; visible_answer : the answer to the example shown to students, to
    recognise a hard-coded one; known_mistakes : ``{kind: array}``, what a
    mistake of that kind would return on these inputs, for mistakes that keep
    the shape (a softmax over the wrong axis, say). Returns one of
    :data:`MISTAKE_KINDS` or None.
    """
    for kind in known_mistakes or {}:
        if kind not in MISTAKE_KINDS:
            raise ValueError(f"unknown mistake kind {kind!r}; kinds are: {', '.join(MISTAKE_KINDS)}")
    mine, gold = np.asarray(mine, dtype=float), np.asarray(gold, dtype=float)
    if visible_answer is not None:
        visible = np.asarray(visible_answer, dtype=float)
        if _close(mine, visible, rtol, atol) and not _close(gold, visible, rtol, atol):
            return "hard-coded"
    if mine.shape != gold.shape:
        if gold.ndim == 2 and mine.shape == gold.shape[::-1]:
            return "transposed"
        if mine.size != gold.size or mine.ndim != gold.ndim:
            if gold.ndim == 1 and mine.ndim == 1 and n_examples and mine.size == n_examples:
                return "summed over the wrong axis"
            if mine.size == gold.size and mine.ndim != gold.ndim:
                return "summed over the wrong axis"
        return "wrong shape"
    if not np.all(np.isfinite(mine)):
        return "not finite"
    if _close(mine, gold, rtol, atol):
        return None
    for kind, wrong in (known_mistakes or {}).items():
        if _close(mine, np.asarray(wrong, dtype=float), rtol, atol):
            return kind
    if gold.ndim == 2 and gold.shape[0] == gold.shape[1] and _close(mine, gold.T, rtol, atol):
        return "transposed"
    if n_examples and n_examples > 1:
        if _close(mine, gold * n_examples, rtol, atol):
            return "forgot to divide by N"
        if _close(mine, gold / n_examples, rtol, atol):
            return "divided by N twice"
    if np.any(gold != 0) and _close(mine, -gold, rtol, atol):
        return "sign flipped"
    return "wrong values"


_ADVICE = {
    "wrong shape": "a result has the shape of the variable it stands for",
    "transposed": "check the order of the factors in each matrix product",
    "summed over the wrong axis": "rows are examples: which axis runs over the N examples?",
    "forgot to divide by N": "the cost J is a mean over the N examples, so its gradient is too",
    "divided by N twice": "the 1/N of the mean should appear exactly once",
    "sign flipped": "compare the order of prediction and target in your difference",
    "hard-coded": "the result must be computed from the arguments, not copied from the example",
    "not finite": "look for an overflow (exp of a large number) or a log of 0",
    "wrong values": "work one example through by hand and compare",
}


def assert_matches(mine, gold, name, n_examples=None, visible_answer=None, rtol=1e-5, atol=1e-7,
                   known_mistakes=None, hints=None):
    """Fail with a diagnosis unless ``mine`` matches ``gold`` in shape and values.

    The message names the mistake kind (see :data:`MISTAKE_KINDS`), the
    expected and actual shapes and a hint, but never the expected values.
    ``hints`` maps a kind to the test's own hint for it, where the likely
    mistake behind that kind is known: ``{"sign flipped": "gradient descent
    subtracts the gradient"}``.
    """
    for kind in hints or {}:
        if kind not in MISTAKE_KINDS:
            raise ValueError(f"unknown mistake kind {kind!r}; kinds are: {', '.join(MISTAKE_KINDS)}")
    mine = _as_float_array(name, mine)
    gold = np.asarray(gold, dtype=float)
    kind = diagnose(mine, gold, n_examples, visible_answer, rtol, atol, known_mistakes)
    if kind is None:
        return
    if mine.shape != gold.shape:
        detail = f"expected shape {gold.shape}, got shape {mine.shape}"
    else:
        detail = f"shape {mine.shape} is right but the values are not"
    raise AssertionError(f"{name}: {kind} ({detail}); hint: {(hints or {}).get(kind, _ADVICE[kind])}")


def assert_shape(mine, shape, name):
    """Fail unless ``mine`` is an array of exactly ``shape``; the message names both shapes."""
    mine = _as_float_array(name, mine)
    shape = tuple(shape)
    if mine.shape != shape:
        kind = "transposed" if len(shape) == 2 and mine.shape == shape[::-1] else "wrong shape"
        raise AssertionError(
            f"{name}: {kind} (expected shape {shape}, got shape {mine.shape}); "
            f"hint: {_ADVICE[kind]}"
        )


def assert_choice(answer, options, name):
    """Fail unless ``answer`` is a string of distinct letters from ``options``.

    The format check of a multiple-choice question: its visible test calls it,
    and only a hidden test knows which letters are right, so trying every
    option against the visible test tells a student nothing. The letters may
    come in any order and either case.
    """
    if not isinstance(answer, str) or not answer.strip():
        raise AssertionError(
            f"{name}: expected a string of letters from {options!r}, like {options[0]!r}, "
            f"got {answer!r}"
        )
    letters = answer.replace(" ", "").replace(",", "").lower()
    unknown = sorted(set(letters) - set(options))
    if unknown:
        raise AssertionError(f"{name}: {', '.join(map(repr, unknown))} is not one of the options {options!r}")
    if len(set(letters)) != len(letters):
        raise AssertionError(f"{name}: each letter once, got {answer!r}")


def chosen(answer):
    """Return the set of letters in a multiple-choice ``answer`` (order, case, spaces and commas ignored)."""
    return set(answer.replace(" ", "").replace(",", "").lower())


_IN_PLACE = []  # the objects tests declared with in_place, kept alive so their identity holds


def in_place(value):
    """Declare that the test expects the function it passes ``value`` to change it in place.

    Returns ``value``. Without this declaration, the autograder treats a
    change that a student's function makes to an argument as a mistake
    ("work on a copy"), and the test's own objects never change; with it, the
    change is copied back into ``value``, as it happens in the notebook.
    """
    if not declared_in_place(value):
        _IN_PLACE.append(value)
    return value


def declared_in_place(value):
    """Has a test declared ``value`` with :func:`in_place`?"""
    return any(item is value for item in _IN_PLACE)
