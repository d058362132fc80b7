"""The worked examples the notebooks teach, recomputed through utils: the numbers they quote."""
import numpy as np
import pytest

from utils import MLP
from utils.activations import sigmoid, softmax
from utils.losses import categorical_cross_entropy

X = np.array([[0.12, 0.3]])  # 001: inputs
Y = np.array([[0.1, 0.9]])   # 001: targets
# 001, forward-pass slides, in the (D, M) layout: W[i, j] joins unit i below to unit j above
W1 = np.array([[0.15, 0.2], [0.2, 0.3]])
B1 = np.array([0.1, 0.2])
W2 = np.array([[0.40, 0.45], [0.5, 0.55]])
B2 = np.array([0.2, 0.1])


def lecture_net(W1=W1, B1=B1):
    net = MLP([2, 2, 2], ["sigmoid", "sigmoid"], loss="half_sse")
    return net.set_params(W1=W1, b1=B1, W2=W2, b2=B2)


def test_2_2_2_forward_and_error():
    """Does the 2-2-2 network give the slides' hidden outputs and E = 0.1911?"""
    net = lecture_net()
    net.forward(X)
    np.testing.assert_allclose(net.layers[0].Z, [[0.178, 0.314]], atol=1e-12)
    np.testing.assert_allclose(net.layers[0].A, [[0.544, 0.578]], atol=5e-4)
    assert net.loss_value(Y) == pytest.approx(0.1911, abs=5e-5)


def test_2_2_2_gradients():
    """Are dE/dW2 and dE/dW1 the values the correctly labelled network gives?"""
    net = lecture_net()
    net.forward(X)
    grads = net.backward(Y)
    np.testing.assert_allclose(grads["dW2"], [[0.0686, -0.0293], [0.0728, -0.0311]], atol=5e-5)
    np.testing.assert_allclose(grads["dW1"], [[0.00078, 0.00098], [0.00195, 0.00244]], atol=5e-6)


def test_slides_numbers_come_from_swapped_hidden_outputs():
    """Do the slides' 0.703, 0.0727 and 0.00075 follow from swapping the two hidden outputs?"""
    swapped = lecture_net(W1=W1[:, ::-1], B1=B1[::-1])  # hidden unit 1 now outputs 0.578
    swapped.forward(X)
    assert swapped.layers[1].Z[0, 0] == pytest.approx(0.703, abs=5e-4)
    g = swapped.backward(Y)
    assert g["dW2"][0, 0] == pytest.approx(0.0727, abs=2e-4)
    assert g["dW1"][0, 0] == pytest.approx(0.00075, abs=1.5e-5)
    # the slides multiply rounded factors: 0.578 * 0.221 * 0.569 and 0.12 * 0.2439 * 0.0259
    assert round(0.578 * 0.221 * 0.569, 4) == 0.0727
    assert np.floor(0.12 * 0.2439 * 0.0259 * 1e5) / 1e5 == 0.00075
    # while the correct network's entries differ by more than rounding
    correct = lecture_net()
    correct.forward(X)
    g = correct.backward(Y)
    assert abs(g["dW2"][0, 0] - 0.0727) > 3e-3
    assert abs(g["dW1"][0, 0] - 0.00075) > 2.5e-5


def test_output_layer_printed_with_the_swap_and_corrected():
    """Does the swap give the printed output layer, and the right network 0.7067, 0.6628 / 0.6697, 0.6599?"""
    correct = lecture_net()
    correct.forward(X)
    np.testing.assert_allclose(correct.layers[1].Z, [[0.7067, 0.6628]], atol=5e-5)
    np.testing.assert_allclose(correct.layers[1].A, [[0.6697, 0.6599]], atol=5e-5)
    swapped = lecture_net(W1=W1[:, ::-1], B1=B1[::-1])
    swapped.forward(X)
    np.testing.assert_allclose(swapped.layers[1].Z, [[0.703, 0.659]], atol=5e-4)
    np.testing.assert_allclose(swapped.layers[1].A, [[0.669, 0.659]], atol=5e-4)
    # the error hides the swap: both round to 0.191
    assert round(swapped.loss_value(Y), 3) == round(correct.loss_value(Y), 3) == 0.191
    # W1 is symmetric, so the example cannot tell a transposed W1; W2 is not
    assert np.array_equal(W1, W1.T) and not np.array_equal(W2, W2.T)


def test_1_2_2_1_table_and_its_two_readings():
    """Do the notebook's weights give the 1-2-2-1 table, and does -0.5968 fit y_hat = 0.25 +- 0.2984?"""
    net = MLP([1, 2, 2, 1], ["sigmoid", "sigmoid", "identity"], loss="mse")
    net.set_params(W1=[[0.1, 0.4]], b1=[0.2, 0.3], W2=[[-0.9, 1.0], [0.4, 0.2]], b2=[-0.9, 0.5],
                   W3=[[0.9], [0.7]], b3=[-0.8])
    y_hat = net.forward(np.array([[0.5]]))[0, 0]
    a3, a4 = net.layers[1].A[0]
    np.testing.assert_allclose([a3, a4, a3 * (1 - a3), a4 * (1 - a4)],
                               [0.2392, 0.7661, 0.1820, 0.1792], atol=5e-5)
    assert -2 * (0.25 - y_hat) == pytest.approx(-0.5968, abs=5e-5)   # the right derivative
    assert y_hat == pytest.approx(0.25 - 0.2984, abs=5e-5)
    # dropping the inner -1, 2(y - y_hat), gives the same number at y_hat = 0.25 + 0.2984
    assert 2 * (0.25 - (0.25 + 0.2984)) == pytest.approx(-0.5968)


def test_gradient_descent_subtracts():
    """Does E fall after w - lr * dE/dw and rise after the slides' w + lr * dE/dw?"""
    E = {}
    for sign in (-1, +1):
        net = lecture_net()
        net.forward(X)
        net.backward(Y)
        net.step(-sign * 0.5)  # step(lr) subtracts; step(-lr) adds, as the slides do
        net.forward(X)
        E[sign] = net.loss_value(Y)
    assert E[-1] < 0.19109 < E[+1]


def test_sigmoid_normalisation_softmax_table():
    """Does the -5, -1, 1, 5 table come out, with cross-entropy 0.020621 from its rounded softmax?"""
    z = np.array([-5.0, -1.0, 1.0, 5.0])
    s = sigmoid(z)
    np.testing.assert_allclose(s, [0.00669, 0.26894, 0.73106, 0.99331], atol=5e-6)
    np.testing.assert_allclose(s / s.sum(), [0.00334, 0.13447, 0.36553, 0.49666], atol=1.1e-5)
    p = softmax(z)
    np.testing.assert_allclose(p, [0.00004, 0.00243, 0.01794, 0.97959], atol=5e-6)
    t = np.array([[0.0, 0.0, 0.0, 1.0]])
    # the slide's 0.020621 is -ln of the softmax rounded to 0.97959; unrounded it is 0.020626
    assert categorical_cross_entropy(np.round(p, 5)[None], t) == pytest.approx(0.020621, abs=5e-7)
    assert categorical_cross_entropy(p[None], t) == pytest.approx(0.020626, abs=5e-7)


def test_dog_cat_boat_airplane():
    """Does the sheet's softmax table (Dog -3.44, Cat 1.16, Boat -0.81, Airplane 3.91) come out?"""
    z = np.array([-3.44, 1.16, -0.81, 3.91])
    np.testing.assert_allclose(np.exp(z), [0.0321, 3.1899, 0.4449, 49.8990], atol=5e-5)
    p = softmax(z)
    np.testing.assert_allclose(p, [0.0006, 0.0596, 0.0083, 0.9315], atol=5e-5)
    assert p.sum() == pytest.approx(1.0)
    # cross-entropy if the image shows a cat (index 1)
    assert -np.log(p[1]) == pytest.approx(2.8209, abs=5e-5)
