# mistake: summed over the wrong axis
# replaces: hidden_backward_impl
# caught by: backprop_db1_values
def hidden_layer_backward(dZ2, cache, params):
    """db1 summed over the hidden units (axis=1), one number per example."""
    dZ1 = (dZ2 @ params["W2"].T) * cache["A1"] * (1 - cache["A1"])
    dW1 = cache["X"].T @ dZ1
    db1 = dZ1.sum(axis=1)
    return dZ1, dW1, db1
