# mistake: hard-coded
# replaces: output_backward_impl
# caught by: backprop_dZ2_values, backprop_dW2_values, backprop_db2_values
# passes visible: backprop_dZ2_values, backprop_dW2_values, backprop_db2_values
def output_layer_backward(cache, Y):
    """The demo's answers, copied from the demo output instead of computed."""
    dZ2 = np.array([[0.17136745064981546], [-0.07988203265790461],
                    [-0.06553205336712264], [0.18339707491434018]])
    dW2 = np.array([[0.09998582668004224], [0.07865134336484386], [0.12560090680718036]])
    db2 = np.array([0.20935043953912838])
    return dZ2, dW2, db2
