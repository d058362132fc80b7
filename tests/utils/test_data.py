"""Data sets: truth tables, seeded toy sets, the digits, splits and one-hot."""
import numpy as np
import pytest

from utils import data


def test_truth_tables():
    """Do the gates give their truth tables, in binary and bipolar encodings?"""
    X, y = data.logic_gate("nand")
    np.testing.assert_array_equal(X, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(y, [1, 1, 1, 0])
    Xb, yb = data.logic_gate("XOR", "bipolar")
    np.testing.assert_array_equal(Xb, 2 * X - 1)
    np.testing.assert_array_equal(yb, [-1, 1, 1, -1])
    with pytest.raises(ValueError, match="AND, OR, NAND, NOR, XOR"):
        data.logic_gate("IMPLIES")


@pytest.mark.parametrize(
    "make", [data.make_moons, data.make_circles, data.make_spirals, data.make_blobs, data.make_xor]
)
def test_toy_sets_are_seeded(make):
    """Does each 2-D set give the same points for the same seed and other points for another?"""
    X1, y1 = make(n=101, seed=7)
    X2, y2 = make(n=101, seed=7)
    X3, _ = make(n=101, seed=8)
    assert X1.shape == (101, 2) and y1.shape == (101,)
    np.testing.assert_array_equal(X1, X2)
    np.testing.assert_array_equal(y1, y2)
    assert not np.allclose(X1, X3)
    assert set(np.unique(y1)) == {0, 1}


def test_xor_cloud_labels_its_corners():
    """Is each point of the XOR cloud labelled with the XOR of the corner it scatters around?"""
    X, y = data.make_xor(200, std=0.1, seed=0)
    corner = np.round(np.clip(X, 0, 1)).astype(int)
    np.testing.assert_array_equal(y, corner[:, 0] ^ corner[:, 1])


def test_digits_ship_with_the_package():
    """Are the 8x8 digits there without a download, scaled to [0, 1]?"""
    X, y, images = data.load_digits()
    assert X.shape == (1797, 64) and y.shape == (1797,) and images.shape == (1797, 8, 8)
    assert X.min() == 0 and X.max() == 1
    np.testing.assert_array_equal(X[5], images[5].ravel())
    assert set(y) == set(range(10))


def test_digits_are_scikit_learns_digits():
    """Are the digits read from scikit-learn's file exactly what its loader gives, scaled?"""
    from sklearn.datasets import load_digits

    X, y, images = data.load_digits()
    reference = load_digits()
    np.testing.assert_array_equal(X, reference.data / 16.0)
    np.testing.assert_array_equal(y, reference.target)
    np.testing.assert_array_equal(images, reference.images / 16.0)


def test_split_and_one_hot():
    """Does the split keep every row once, and one_hot give one 1 per row?"""
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, 0.3, seed=0)
    assert len(y_test) == 3 and len(y_train) == 7
    assert sorted(np.concatenate([y_train, y_test])) == list(range(10))
    np.testing.assert_array_equal(X_test[:, 0], 2 * y_test)
    Y = data.one_hot(np.array([2, 0, 1]), 4)
    np.testing.assert_array_equal(Y, [[0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]])
    with pytest.raises(ValueError, match=r"0\.\.1"):
        data.one_hot(np.array([0, 2]), 2)
