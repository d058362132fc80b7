# mistake: summed over the wrong axis
# replaces: output_backward_impl
# caught by: backprop_db2_values
def output_layer_backward(cache, Y):
    """db2 summed over the units (axis=1), one number per example."""
    N = Y.shape[0]
    dZ2 = (cache["A2"] - Y) / N
    dW2 = cache["A1"].T @ dZ2
    db2 = dZ2.sum(axis=1)
    return dZ2, dW2, db2
