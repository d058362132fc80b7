# mistake: transposed
# replaces: output_backward_impl
# caught by: backprop_dW2_shape, backprop_dW2_values
def output_layer_backward(cache, Y):
    """dW2 as dZ2^T A1: (M, H) instead of (H, M)."""
    N = Y.shape[0]
    dZ2 = (cache["A2"] - Y) / N
    dW2 = dZ2.T @ cache["A1"]
    db2 = dZ2.sum(axis=0)
    return dZ2, dW2, db2
