r"""Numerical gradients for checking analytic ones.

The centred difference

.. math:: \frac{\partial f}{\partial x_i} \approx \frac{f(x + h e_i) - f(x - h e_i)}{2h}

has an error of order :math:`h^2`. In float64 with :math:`h = 10^{-5}` it
agrees with a correct analytic gradient to a relative error of about
:math:`10^{-8}` or better on smooth functions; a wrong gradient is off by
far more.
"""
import numpy as np

from utils.shapes import check_same_shape

DEFAULT_TOL = 1e-7


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of the scalar function ``f()`` with respect to the array ``x``.

    ``f`` takes no arguments and reads ``x`` (which is perturbed in place,
    one entry at a time, and restored), so it can close over a network's
    parameters. Returns an array of the shape of ``x``. ``x`` must be a float array.
    """
    x = np.asarray(x)
    if x.dtype.kind != "f":
        raise TypeError(f"x must be a float array to be perturbed, got dtype {x.dtype}")
    grad = np.zeros_like(x, dtype=float)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    for _ in it:
        i = it.multi_index
        old = x[i]
        x[i] = old + h
        f_plus = float(f())
        x[i] = old - h
        f_minus = float(f())
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def numerical_gradient_of(f, x, h=1e-5):
    """Centred-difference gradient of ``f(x)`` at ``x``, for functions that take their input.

    Works on a float64 copy, so ``x`` is left alone. Returns an array of the shape of ``x``.
    """
    x = np.array(x, dtype=float)
    return numerical_gradient(lambda: f(x), x, h)


def rel_error(a, b):
    r"""Relative error of two arrays as wholes, :math:`\|a - b\| / (\|a\| + \|b\|)`; shapes must match.

    Norm-wise rather than entry by entry, so that an entry that is tiny in
    both (where the numerical gradient is mostly rounding noise) cannot
    dominate. Two zero arrays have error 0.
    """
    a, b = check_same_shape("a", a, "b", b)
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


def report(name, analytic, numeric, tol=DEFAULT_TOL):
    """One line comparing an analytic gradient with a numerical one.

    >>> report("dW", np.ones((2, 3)), np.ones((2, 3)))
    'dW (2, 3): relative error 0.0e+00 <= 1e-07  ok'
    """
    analytic, numeric = np.asarray(analytic), np.asarray(numeric)
    if analytic.shape != numeric.shape:
        return f"{name}: analytic shape {analytic.shape} != numerical shape {numeric.shape}  FAIL"
    err = rel_error(analytic, numeric)
    verdict = f"<= {tol:g}  ok" if err <= tol else f">  {tol:g}  FAIL"
    return f"{name} {analytic.shape}: relative error {err:.1e} {verdict}"


def check_mlp(net, X, y, h=1e-5):
    """Relative error of every gradient of an :class:`utils.MLP` on (X, y), by name.

    Runs ``net.backward`` for the analytic gradients and perturbs each
    parameter for the numerical ones. Returns ``{"dW1": err, "db1": err, ...}``.
    """
    Y = net.targets(y)

    def loss():
        net.forward(X)
        return net.loss_value(Y)

    net.forward(X)
    analytic = {k: v.copy() for k, v in net.backward(Y).items()}
    return {
        f"d{name}": rel_error(analytic[f"d{name}"], numerical_gradient(loss, p, h))
        for name, p in net.params.items()
    }
