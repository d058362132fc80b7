# mistake: forgot to divide by N
# replaces: output_backward_impl
# caught by: backprop_dZ2_values, backprop_dW2_values, backprop_db2_values
def output_layer_backward(cache, Y):
    """dZ2 = A2 - Y: the gradient of the summed loss, not of the mean."""
    dZ2 = cache["A2"] - Y
    dW2 = cache["A1"].T @ dZ2
    db2 = dZ2.sum(axis=0)
    return dZ2, dW2, db2
