# mistake: hard-coded
# replaces: hidden_backward_impl
# caught by: backprop_dW1_values, backprop_db1_values
# passes visible: backprop_dW1_values, backprop_db1_values
def hidden_layer_backward(dZ2, cache, params):
    """dW1 and db1 copied from the demo output; dZ1 computed."""
    dZ1 = (dZ2 @ params["W2"].T) * cache["A1"] * (1 - cache["A1"])
    dW1 = np.array([[0.00518295385363993, 0.002901826727315244, 0.02714131687783202],
                    [0.0045227527861174625, 0.003036529236676195, 0.02009873340401374]])
    db1 = np.array([0.009190971075722048, 0.007446157291709955, 0.052464959413979176])
    return dZ1, dW1, db1
