# mistake: divided by N twice
# replaces: hidden_backward_impl
# caught by: backprop_dZ1_values, backprop_dW1_values, backprop_db1_values
def hidden_layer_backward(dZ2, cache, params):
    """The 1/N applied again, although dZ2 already carries it."""
    N = cache["X"].shape[0]
    dZ1 = (dZ2 @ params["W2"].T) * cache["A1"] * (1 - cache["A1"]) / N
    dW1 = cache["X"].T @ dZ1
    db1 = dZ1.sum(axis=0)
    return dZ1, dW1, db1
