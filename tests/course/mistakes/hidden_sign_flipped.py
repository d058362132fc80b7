# mistake: sign flipped
# replaces: hidden_backward_impl
# caught by: backprop_dZ1_values, backprop_dW1_values, backprop_db1_values
def hidden_layer_backward(dZ2, cache, params):
    """The sigmoid's derivative written as a(a - 1) instead of a(1 - a)."""
    dZ1 = (dZ2 @ params["W2"].T) * cache["A1"] * (cache["A1"] - 1)
    dW1 = cache["X"].T @ dZ1
    db1 = dZ1.sum(axis=0)
    return dZ1, dW1, db1
