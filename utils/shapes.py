"""Shape checks that name the expected and the actual shape.

The convention itself is stated once, in the docstring of :mod:`utils`.
"""
import numpy as np


class ShapeError(ValueError):
    """An array arrived with a shape other than the one the convention asks for."""


def _fmt(shape):
    parts = ["?" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def check_shape(name, array, expected):
    """Raise :class:`ShapeError` unless ``array.shape`` matches ``expected``.

    ``expected`` is a tuple whose entries are ints or ``None`` (any size).
    Returns the array as a NumPy array, so a call can sit inline.

    >>> check_shape("W", np.zeros((2, 3)), (2, None)).shape
    (2, 3)
    """
    array = np.asarray(array)
    ok = array.ndim == len(expected) and all(
        e is None or e == s for e, s in zip(expected, array.shape)
    )
    if not ok:
        raise ShapeError(
            f"{name} should have shape {_fmt(expected)} but has shape {_fmt(array.shape)}"
        )
    return array


def check_same_shape(name_a, a, name_b, b):
    """Raise :class:`ShapeError` unless ``a`` and ``b`` have the same shape."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ShapeError(
            f"{name_a} and {name_b} should have the same shape, "
            f"but {name_a} is {_fmt(a.shape)} and {name_b} is {_fmt(b.shape)}"
        )
    return a, b
