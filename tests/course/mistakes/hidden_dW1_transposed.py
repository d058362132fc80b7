# mistake: transposed
# replaces: hidden_backward_impl
# caught by: backprop_dW1_shape, backprop_dW1_values
def hidden_layer_backward(dZ2, cache, params):
    """dW1 as dZ1^T X: (H, D) instead of (D, H)."""
    dZ1 = (dZ2 @ params["W2"].T) * cache["A1"] * (1 - cache["A1"])
    dW1 = dZ1.T @ cache["X"]
    db1 = dZ1.sum(axis=0)
    return dZ1, dW1, db1
