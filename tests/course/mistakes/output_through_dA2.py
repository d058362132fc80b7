# mistake: not finite
# replaces: output_backward_impl
# caught by: backprop_dZ2_saturated
def output_layer_backward(cache, Y):
    """dZ2 through dJ/dA2: right for moderate scores, 0/0 where the sigmoid has saturated."""
    N = Y.shape[0]
    A2 = cache["A2"]
    dA2 = (-Y / A2 + (1 - Y) / (1 - A2)) / N   # (N, M): divides by 0 where A2 is 0.0 or 1.0
    dZ2 = dA2 * A2 * (1 - A2)                  # (N, M)
    dW2 = cache["A1"].T @ dZ2
    db2 = dZ2.sum(axis=0)
    return dZ2, dW2, db2
